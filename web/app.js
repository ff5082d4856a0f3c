// netpulse dashboard: device list/form over /api/devices, live samples over /ws, traffic
// charts (traffic.js) live or over a range from the history API, the device's logs (logs.js)
// with a live tail, removed devices' kept history, unknown log sources (unknown.js).
// All server-provided strings reach the DOM through textContent only.

import { readError } from './api.js';
import { el } from './dom.js';
import { askConfirm, askDeleteDevice } from './dialogs.js';
import { clock, formatBps, formatDateTime, formatUptime } from './format.js';
import { LogsView } from './logs.js';
import { endsInGap, liveRow, pushLive } from './series.js';
import { attachTabs } from './tabs.js';
import { TrafficView } from './traffic.js';
import { UnknownSources } from './unknown.js';

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

const state = {
  role: null, // the signed-in user's role: 'viewer', 'operator' or 'admin'
  username: null,
  devices: new Map(), // id -> device JSON
  buffers: new Map(), // id -> { series: Map(ifIndex -> {name, rows}), lastSampleMs, uptimeTicks, values, failure }
  selected: null, // device id (string) or null
  removed: new Map(), // id -> removed device with kept history (GET /api/history/removed)
  selectedRemoved: null, // id of the removed device whose history is shown, or null
  view: null, // the TrafficView of the detail panel
  logs: null, // the LogsView of the detail panel's Logs tab
};

const $ = (sel) => document.querySelector(sel);

// ---------- message fields ----------

const messageTime = (msg) => (typeof msg.time_ms === 'number' && Number.isFinite(msg.time_ms) ? msg.time_ms : Date.now());

const displayValue = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? ''));

// ---------- per-device buffers ----------

function bufferFor(id) {
  let buf = state.buffers.get(id);
  if (!buf) {
    buf = { series: new Map(), lastSampleMs: null, uptimeTicks: null, values: [], failure: null };
    state.buffers.set(id, buf);
  }
  return buf;
}

function seriesFor(buf, index) {
  let s = buf.series.get(index);
  if (!s) {
    s = { name: null, rows: [] };
    buf.series.set(index, s);
  }
  return s;
}

// The live rows of an interface, oldest first (what traffic.js draws in the live range).
const liveRows = (id, index) => state.buffers.get(id)?.series.get(index)?.rows ?? [];

function recordSample(msg) {
  const buf = bufferFor(msg.device);
  const timeMs = messageTime(msg);
  const touched = [];
  for (const iface of Array.isArray(msg.interfaces) ? msg.interfaces : []) {
    if (!Number.isInteger(iface.index)) continue;
    const series = seriesFor(buf, iface.index);
    if (typeof iface.name === 'string' && iface.name.length > 0) series.name = iface.name;
    const row = liveRow(timeMs, iface.in_bps, iface.out_bps);
    // No rate yet: skip on an empty series, otherwise keep the nulls so the chart shows a gap.
    if (row.inAvg === null && row.outAvg === null && series.rows.length === 0) continue;
    pushLive(series.rows, row);
    touched.push(iface.index);
  }
  buf.lastSampleMs = timeMs;
  buf.uptimeTicks = msg.uptime_ticks ?? null;
  buf.values = Array.isArray(msg.values) ? msg.values : [];
  buf.failure = null;
  return touched;
}

function recordFailure(msg) {
  const buf = bufferFor(msg.device);
  const timeMs = messageTime(msg);
  buf.failure = { timeMs, reason: String(msg.reason ?? 'unknown') };
  for (const series of buf.series.values()) {
    if (!endsInGap(series.rows)) pushLive(series.rows, liveRow(timeMs, null, null));
  }
}

// ---------- device list ----------

// Reachability transition: update the device's badge.
function onStatus(msg) {
  state.logs.onStatus(msg);
  const device = state.devices.get(String(msg.device));
  if (!device) return;
  device.status = { state: msg.state, since_ms: msg.time_ms, reason: msg.reason };
  renderDeviceList();
}

function renderDeviceList() {
  const list = $('#devices');
  const devices = [...state.devices.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  list.replaceChildren(...devices.map(deviceItem));
  $('#devices-empty').hidden = devices.length > 0;
}

function deviceItem(device) {
  const id = String(device.id);
  const li = el('li', 'device');
  li.dataset.deviceId = id;
  li.tabIndex = 0;
  li.classList.toggle('selected', id === state.selected);
  li.classList.toggle('failing', Boolean(state.buffers.get(id)?.failure));
  li.setAttribute('aria-current', id === state.selected ? 'true' : 'false');

  const info = el('div', 'device-info');
  const reach = String(device.status?.state ?? 'unknown');
  const badge = el('span', 'device-state', reach);
  badge.dataset.state = reach;
  if (device.status?.reason) badge.title = String(device.status.reason);
  info.append(
    badge,
    el('span', 'device-name', device.name),
    el('span', 'device-address', device.address),
    el('span', 'device-meta', `SNMP v${device.version} · every ${device.interval} s`),
  );
  li.append(info);
  // Viewers get no controls they may not use (the server refuses them anyway).
  if (canChangeDevices()) {
    const del = el('button', 'delete', 'Delete');
    del.type = 'button';
    del.addEventListener('click', (ev) => {
      ev.stopPropagation();
      deleteDevice(device);
    });
    li.append(del);
  }
  li.addEventListener('click', () => selectDevice(id));
  li.addEventListener('keydown', (ev) => {
    if (ev.target === li && (ev.key === 'Enter' || ev.key === ' ')) {
      ev.preventDefault();
      selectDevice(id);
    }
  });
  return li;
}

function upsertDevice(device) {
  if (!device || device.id === undefined || device.id === null) return;
  const known = state.devices.get(String(device.id));
  if (!device.status && known?.status) device.status = known.status;
  state.devices.set(String(device.id), device);
  renderDeviceList();
  if (state.selected === null && state.selectedRemoved === null) selectDevice(String(device.id));
  else if (state.selected === String(device.id)) renderDetailHeader();
}

function removeDevice(id) {
  state.devices.delete(id);
  state.buffers.delete(id);
  if (state.selected === id) {
    const next = state.devices.keys().next();
    state.selected = null;
    if (next.done) renderDetail();
    else selectDevice(next.value);
  }
  renderDeviceList();
}

// Marks the selected entry of a list (devices or removed devices).
function markSelected(list, id) {
  for (const li of list.children) {
    const on = li.dataset.deviceId === id;
    li.classList.toggle('selected', on);
    li.setAttribute('aria-current', on ? 'true' : 'false');
  }
}

function selectDevice(id) {
  if (state.selected === id && state.selectedRemoved === null) return;
  state.selected = id;
  state.selectedRemoved = null;
  markSelected($('#devices'), id);
  markSelected($('#removed'), null);
  renderDetail();
  if (id) loadInterfaces(id);
}

// ---------- REST ----------

async function loadDevices() {
  const errorBox = $('#list-error');
  try {
    const res = await fetch('/api/devices', { headers: { Accept: 'application/json' } });
    if (res.status === 401) return showLogin();
    if (!res.ok) throw new Error(`loading devices failed (HTTP ${res.status})`);
    const list = await res.json();
    state.devices = new Map((Array.isArray(list) ? list : []).map((d) => [String(d.id), d]));
    errorBox.textContent = '';
  } catch (err) {
    errorBox.textContent = err.message;
    return;
  }
  const keepSelection = state.selected !== null && state.devices.has(state.selected);
  if (!keepSelection) state.selected = null;
  renderDeviceList();
  if (keepSelection) renderDetailHeader();
  else if (state.selectedRemoved !== null) return; // a removed device's history stays shown
  else if (state.devices.size > 0) selectDevice(state.devices.keys().next().value);
  else renderDetail();
}

// Asks whether to keep the history, then deletes the device (and its history if so chosen).
async function deleteDevice(device) {
  const choice = await askDeleteDevice(device);
  if (choice !== 'keep' && choice !== 'delete') return;
  const id = String(device.id);
  const errorBox = $('#list-error');
  try {
    const res = await fetch(`/api/devices/${encodeURIComponent(id)}?history=${choice}`, { method: 'DELETE' });
    if (!res.ok && res.status !== 404) throw new Error((await readError(res)).message);
    errorBox.textContent = '';
    removeDevice(id);
  } catch (err) {
    errorBox.textContent = err.message;
  }
  loadRemoved();
}

// ---------- removed devices (kept history) ----------

async function loadRemoved() {
  const errorBox = $('#removed-error');
  try {
    const res = await fetch('/api/history/removed', { headers: { Accept: 'application/json' } });
    if (res.status === 401) return;
    if (!res.ok) throw new Error(`loading removed devices failed: ${(await readError(res)).message}`);
    const list = await res.json();
    state.removed = new Map((Array.isArray(list) ? list : []).map((r) => [String(r.id), r]));
    errorBox.textContent = '';
  } catch (err) {
    errorBox.textContent = err.message;
    return;
  }
  renderRemovedList();
  if (state.selectedRemoved !== null && !state.removed.has(state.selectedRemoved)) {
    // Its history was deleted (here or elsewhere): show a device instead, if there is one.
    state.selectedRemoved = null;
    const first = state.devices.keys().next();
    if (first.done) renderDetail();
    else selectDevice(first.value);
  }
}

function renderRemovedList() {
  const list = $('#removed');
  const entries = [...state.removed.values()].sort((a, b) => (Number(b.removed_ms) || 0) - (Number(a.removed_ms) || 0));
  list.replaceChildren(...entries.map(removedItem));
  $('#removed-empty').hidden = entries.length > 0;
}

function removedItem(entry) {
  const id = String(entry.id);
  const li = el('li', 'device removed-device');
  li.dataset.deviceId = id;
  li.tabIndex = 0;
  li.classList.toggle('selected', id === state.selectedRemoved);
  li.setAttribute('aria-current', id === state.selectedRemoved ? 'true' : 'false');
  const info = el('div', 'device-info');
  const removedAt = Number.isFinite(entry.removed_ms) ? formatDateTime(entry.removed_ms) : 'unknown';
  info.append(
    el('span', 'device-name', String(entry.name ?? id)),
    el('span', 'device-address', String(entry.address ?? '')),
    el('span', 'device-meta', `removed ${removedAt}`),
  );
  li.append(info);
  if (canChangeDevices()) {
    const del = el('button', 'delete', 'Delete history');
    del.type = 'button';
    del.addEventListener('click', (ev) => {
      ev.stopPropagation();
      deleteKeptHistory(entry);
    });
    li.append(del);
  }
  li.addEventListener('click', () => selectRemoved(id));
  li.addEventListener('keydown', (ev) => {
    if (ev.target === li && (ev.key === 'Enter' || ev.key === ' ')) {
      ev.preventDefault();
      selectRemoved(id);
    }
  });
  return li;
}

function selectRemoved(id) {
  if (state.selectedRemoved === id) return;
  state.selectedRemoved = id;
  state.selected = null;
  markSelected($('#devices'), null);
  markSelected($('#removed'), id);
  renderDetail();
}

async function deleteKeptHistory(entry) {
  const id = String(entry.id);
  const confirmed = await askConfirm({
    title: 'Delete history?',
    text: `The stored traffic history of ${entry.name ?? id} (${entry.address ?? ''}) will be deleted for good.`,
    confirm: 'Delete history',
  });
  if (!confirmed) return;
  const errorBox = $('#removed-error');
  try {
    const res = await fetch(`/api/history/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (!res.ok && res.status !== 404) throw new Error((await readError(res)).message);
    errorBox.textContent = '';
    state.removed.delete(id);
    renderRemovedList();
  } catch (err) {
    errorBox.textContent = err.message;
  }
  loadRemoved();
}

// ---------- add-device form ----------

const splitList = (text) => text.split(/[\s,]+/).filter((s) => s.length > 0);

function readForm(form) {
  const f = form.elements;
  // Interfaces by ifIndex ("2") or by name ("eth0"); names are sent as strings.
  const ifaceTokens = splitList(f.interfaces.value).map((t) => (/^\d+$/.test(t) ? Number(t) : t));
  if (ifaceTokens.some((t) => t === 0)) {
    throw Object.assign(new Error('an ifIndex starts at 1'), { field: 'interfaces' });
  }
  return {
    name: f.name.value.trim(),
    address: f.address.value.trim(),
    version: f.version.value,
    community: f.community.value,
    interval: f.interval.value === '' ? null : Number(f.interval.value),
    interfaces: ifaceTokens,
    oids: splitList(f.oids.value),
    log_sources: splitList(f.log_sources.value),
  };
}

function showFormError(form, message, field) {
  $('#form-error').textContent = message;
  const input = field ? form.elements.namedItem(field) : null;
  if (input instanceof Element) input.setAttribute('aria-invalid', 'true');
}

function clearFormError(form) {
  $('#form-error').textContent = '';
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

async function submitDevice(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  clearFormError(form);
  let body;
  try {
    body = readForm(form);
  } catch (err) {
    showFormError(form, err.message, err.field);
    return;
  }
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const res = await fetch('/api/devices', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) {
      const { message, field } = await readError(res);
      showFormError(form, message, field);
      return;
    }
    const device = await res.json().catch(() => null);
    form.reset();
    upsertDevice(device);
    await loadDevices();
  } catch (err) {
    showFormError(form, `network error: ${err.message}`, null);
  } finally {
    button.disabled = false;
  }
}

// "Add as device" on an unknown log source: its address in the form, the name to type next.
function addUnknownSource(address) {
  const form = $('#add-device');
  if (!form) return;
  clearFormError(form);
  form.elements.address.value = address;
  form.elements.name.focus();
}

// ---------- detail panel ----------

function renderDetail() {
  const removed = state.selectedRemoved === null ? null : state.removed.get(state.selectedRemoved);
  const device = removed ? null : state.devices.get(state.selected);
  $('#no-selection').hidden = Boolean(device || removed);
  $('#device-detail').hidden = !(device || removed);
  if (removed) return renderRemovedDetail(removed);
  if (!device) {
    state.view.clear();
    state.logs.clear();
    return;
  }
  const detail = $('#device-detail');
  detail.dataset.kind = 'device';
  $('#live-facts').hidden = false;
  renderDetailHeader();
  const buf = bufferFor(state.selected);
  const indices = new Set([...(device.interfaces || []), ...buf.series.keys()]);
  const interfaces = [...indices]
    .filter(Number.isInteger)
    .sort((a, b) => a - b)
    .map((index) => liveInterface(index, buf.series.get(index)?.name));
  state.view.show({ id: state.selected, live: true, endMs: null }, interfaces);
  state.logs.show({ id: state.selected, live: true });
  renderStatus();
}

// A live device's interface for the charts; its history is asked for by ifIndex.
const liveInterface = (index, name) => ({ index, name: name || null, query: String(index) });

// A removed device: its kept history only, from the interfaces it was polling.
function renderRemovedDetail(entry) {
  const detail = $('#device-detail');
  detail.dataset.kind = 'removed';
  $('#live-facts').hidden = true;
  $('#interfaces').hidden = true;
  $('#oid-values').hidden = true;
  $('#detail-title').textContent = String(entry.name ?? entry.id);
  const removedAt = Number.isFinite(entry.removed_ms) ? formatDateTime(entry.removed_ms) : 'unknown';
  $('#detail-meta').textContent = `${String(entry.address ?? '')} · removed ${removedAt} · kept history`;
  const interfaces = (Array.isArray(entry.interfaces) ? entry.interfaces : [])
    .filter((i) => Number.isInteger(i?.index))
    .map((i) => {
      const key = typeof i.key === 'string' ? i.key : '';
      // By its stable key when it has one (the same series across renumbering), else by ifIndex.
      return { index: i.index, name: key || null, query: key && !/^\d+$/.test(key) ? key : String(i.index) };
    });
  const endMs = Number.isFinite(entry.removed_ms) ? Math.min(entry.removed_ms, Date.now()) : null;
  state.view.show({ id: String(entry.id), live: false, endMs }, interfaces);
  state.view.showEmpty('No interfaces were recorded for this device.');
  state.logs.show({ id: String(entry.id), live: false });
}

function renderDetailHeader() {
  const device = state.devices.get(state.selected);
  if (!device || state.selectedRemoved !== null) return;
  $('#detail-title').textContent = device.name;
  const sources = Array.isArray(device.log_sources) && device.log_sources.length > 0
    ? ` · logs also from ${device.log_sources.map(String).join(', ')}` : '';
  $('#detail-meta').textContent = `${device.address} · SNMP v${device.version} · every ${device.interval} s${sources}`;
  // What the device says about itself: untrusted text, shown as text.
  const system = device.system ?? {};
  $('#sys-name').textContent = String(system.name || '–');
  $('#sys-descr').textContent = String(system.descr || '–');
  $('#sys-location').textContent = String(system.location || '–');
}

// The selected device's interfaces as discovery found them.
async function loadInterfaces(id) {
  const table = $('#interfaces');
  const res = await fetch(`/api/devices/${encodeURIComponent(id)}/interfaces`);
  if (!res.ok || state.selected !== id) return;
  const list = await res.json();
  if (state.selected !== id || !Array.isArray(list)) return;
  // Polled interfaces get a chart (with their history) even before a live sample names them.
  const buf = bufferFor(id);
  for (const i of list) {
    if (!i.polled || !Number.isInteger(i.index)) continue;
    const name = buf.series.get(i.index)?.name || (typeof i.key === 'string' ? i.key : null);
    state.view.addInterface(liveInterface(i.index, name));
    state.view.rename(i.index, name);
  }
  const rows = list.map((i) => {
    const tr = el('tr');
    tr.dataset.ifIndex = String(i.index);
    const speed = typeof i.speed_bps === 'number' && i.speed_bps > 0 ? formatBps(i.speed_bps) : '–';
    for (const cell of [i.key, i.alias, i.index, speed, `${i.admin_status} / ${i.oper_status}`, i.polled ? 'yes' : 'no']) {
      tr.append(el('td', null, String(cell ?? '')));
    }
    return tr;
  });
  table.querySelector('tbody').replaceChildren(...rows);
  table.hidden = rows.length === 0;
}

function renderStatus() {
  const buf = bufferFor(state.selected);
  $('#last-sample').textContent = buf.lastSampleMs === null ? 'no samples yet' : new Date(buf.lastSampleMs).toLocaleString();
  $('#uptime').textContent = formatUptime(buf.uptimeTicks);
  const failure = $('#last-failure');
  failure.hidden = !buf.failure;
  failure.textContent = buf.failure ? `failed at ${clock(buf.failure.timeMs)}: ${buf.failure.reason}` : '';
  const ok = $('#last-ok');
  ok.hidden = Boolean(buf.failure);
  ok.textContent = buf.lastSampleMs === null ? '–' : 'ok';
  renderValues(buf.values);
}

function renderValues(values) {
  const table = $('#oid-values');
  table.hidden = values.length === 0;
  table.tBodies[0].replaceChildren(
    ...values.map((v) => {
      const tr = el('tr');
      tr.append(el('td', 'oid', String(v.oid ?? '')), el('td', 'type', String(v.type ?? '')), el('td', 'value', displayValue(v.value)));
      return tr;
    }),
  );
}

// ---------- live updates ----------

function handleMessage(raw) {
  let msg;
  try {
    msg = JSON.parse(raw);
  } catch {
    return;
  }
  if (!msg || typeof msg !== 'object') return;
  switch (msg.type) {
    case 'sample': return onSample(msg);
    case 'failure': return onFailure(msg);
    case 'status': return onStatus(msg);
    case 'log': return state.logs.onLog(msg);
    case 'lagged': return state.logs.resync();
    case 'device_added':
      upsertDevice(msg.device);
      // Added again under a removed device's name: it is no longer a removed one.
      if (state.removed.has(String(msg.device?.id))) loadRemoved();
      return;
    case 'device_removed':
      removeDevice(String(msg.device));
      return loadRemoved();
    default: // unknown message types are ignored
  }
}

function onSample(msg) {
  msg.device = String(msg.device);
  const touched = recordSample(msg);
  setFailing(msg.device, false);
  if (msg.device !== state.selected) return;
  const buf = bufferFor(msg.device);
  for (const index of touched) {
    const name = buf.series.get(index)?.name;
    state.view.addInterface(liveInterface(index, name));
    state.view.rename(index, name);
  }
  // Only the live range moves; a past range stays as it was loaded.
  state.view.liveChanged(touched);
  renderStatus();
}

function onFailure(msg) {
  msg.device = String(msg.device);
  recordFailure(msg);
  setFailing(msg.device, true);
  if (msg.device !== state.selected) return;
  state.view.liveChanged();
  renderStatus();
}

function setFailing(id, failing) {
  const li = [...$('#devices').children].find((node) => node.dataset.deviceId === id);
  if (li) li.classList.toggle('failing', failing);
}

function setWsStatus(live) {
  const status = $('#ws-status');
  status.textContent = live ? 'live' : 'reconnecting';
  status.dataset.state = live ? 'live' : 'down';
}

function connect() {
  let backoff = BACKOFF_MIN_MS;
  let everOpened = false;
  const open = () => {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/ws`);
    ws.addEventListener('open', () => {
      backoff = BACKOFF_MIN_MS;
      setWsStatus(true);
      if (everOpened) {
        // Resync adds and removes (and log entries) missed while disconnected.
        loadDevices();
        loadRemoved();
        state.logs.resync();
      }
      everOpened = true;
    });
    ws.addEventListener('message', (ev) => handleMessage(ev.data));
    ws.addEventListener('close', () => {
      setWsStatus(false);
      setTimeout(open, backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    });
  };
  open();
}

// ---------- sign-in, roles, users ----------

const canChangeDevices = () => state.role === 'operator' || state.role === 'admin';

function showLogin(message) {
  $('#app').hidden = true;
  $('#login').hidden = false;
  $('#logout').hidden = true;
  $('#whoami').textContent = '';
  $('#login-error').textContent = message ?? '';
  $('#login-form').elements.username.focus();
}

async function submitLogin(ev) {
  ev.preventDefault();
  const f = ev.target.elements;
  const res = await fetch('/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: f.username.value.trim(), password: f.password.value }),
  });
  if (res.ok) {
    location.reload();
    return;
  }
  const { message } = await readError(res);
  $('#login-error').textContent = message;
}

async function logout() {
  await fetch('/api/logout', { method: 'POST' });
  location.reload();
}

async function loadUsers() {
  const res = await fetch('/api/users');
  if (!res.ok) return;
  const users = await res.json();
  const list = $('#users');
  list.replaceChildren(...users.map((u) => {
    const li = el('li', 'user');
    li.dataset.username = String(u.username);
    li.append(el('span', 'user-name', String(u.username)), el('span', 'user-role muted', String(u.role)));
    if (u.username !== state.username) {
      const del = el('button', 'delete', 'Delete');
      del.type = 'button';
      del.addEventListener('click', async () => {
        if (!confirm(`Delete user "${u.username}"?`)) return;
        const r = await fetch(`/api/users/${encodeURIComponent(u.username)}`, { method: 'DELETE' });
        if (!r.ok) $('#user-error').textContent = (await readError(r)).message;
        loadUsers();
      });
      li.append(del);
    }
    return li;
  }));
}

async function submitUser(ev) {
  ev.preventDefault();
  const form = ev.target;
  const f = form.elements;
  const res = await fetch('/api/users', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: f.username.value.trim(), password: f.password.value, role: f.role.value }),
  });
  if (res.ok) {
    form.reset();
    $('#user-error').textContent = '';
    loadUsers();
  } else {
    $('#user-error').textContent = (await readError(res)).message;
  }
}

function startApp(me) {
  state.username = String(me.username);
  state.role = String(me.role);
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#whoami').textContent = `${state.username} (${state.role})`;
  $('#logout').hidden = false;
  if (canChangeDevices()) {
    $('#unknown-panel').hidden = false;
    new UnknownSources(
      { list: $('#unknown-sources'), empty: $('#unknown-empty'), error: $('#unknown-error') },
      addUnknownSource,
    ).start();
  } else {
    $('#add-device-panel').remove();
    $('#unknown-panel').remove();
  }
  if (state.role === 'admin') {
    $('#users-panel').hidden = false;
    loadUsers();
  } else {
    $('#users-panel').remove();
  }
  loadDevices();
  loadRemoved();
  connect();
}

// ---------- start ----------

async function init() {
  if (typeof Chart !== 'undefined') {
    Chart.defaults.color = '#9fb0c3';
    Chart.defaults.borderColor = 'rgba(159, 176, 195, 0.12)';
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  }
  $('#login-form').addEventListener('submit', submitLogin);
  $('#logout').addEventListener('click', logout);
  $('#add-user').addEventListener('submit', submitUser);
  state.view = new TrafficView({
    bar: $('#range-bar'),
    customForm: $('#custom-range'),
    zoomReset: $('#zoom-reset'),
    exportCsv: $('#export-csv'),
    exportJson: $('#export-json'),
    label: $('#range-label'),
    error: $('#range-error'),
    charts: $('#charts'),
    empty: $('#charts-empty'),
  }, liveRows);
  state.logs = new LogsView({
    controls: $('#log-controls'),
    status: $('#log-status'),
    error: $('#log-error'),
    table: $('#log-table'),
    older: $('#log-older'),
  });
  attachTabs($('#detail-tabs'), (tab) => state.logs.setActive(tab === 'logs'));
  const form = $('#add-device');
  form.addEventListener('submit', submitDevice);
  form.addEventListener('input', (ev) => ev.target.removeAttribute?.('aria-invalid'));
  setWsStatus(false);
  const res = await fetch('/api/me');
  if (res.status === 401) return showLogin();
  if (!res.ok) return showLogin('netpulse is not reachable; try again');
  startApp(await res.json());
}

init();
