// netpulse dashboard: device list/form over /api/devices, live interface charts over /ws.
// All server-provided strings reach the DOM through textContent only.

const MAX_POINTS = 360;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const COLORS = { in: '#4fc3f7', out: '#ffb74d' };

const state = {
  role: null, // the signed-in user's role: 'viewer', 'operator' or 'admin'
  username: null,
  devices: new Map(), // id -> device JSON
  buffers: new Map(), // id -> { series: Map(ifIndex -> {labels, in, out}), lastSampleMs, uptimeTicks, values, failure }
  selected: null, // device id (string) or null
  charts: new Map(), // ifIndex -> Chart, for the selected device only
};

const $ = (sel) => document.querySelector(sel);
const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

// ---------- formatting ----------

const pad2 = (n) => String(n).padStart(2, '0');

function clock(ms) {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function formatBps(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '';
  const units = ['bps', 'kbps', 'Mbps', 'Gbps', 'Tbps'];
  let v = Math.abs(value);
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  const digits = v >= 100 || (i === 0 && v >= 10) ? 0 : 1;
  return `${(Math.sign(value) * v).toFixed(digits)} ${units[i]}`;
}

function formatUptime(ticks) {
  if (typeof ticks !== 'number' || !Number.isFinite(ticks)) return '–';
  const total = Math.floor(ticks / 100); // TimeTicks are hundredths of a second
  const days = Math.floor(total / 86400);
  const hms = `${pad2(Math.floor((total % 86400) / 3600))}:${pad2(Math.floor((total % 3600) / 60))}:${pad2(total % 60)}`;
  return days > 0 ? `${days}d ${hms}` : hms;
}

const messageTime = (msg) => (typeof msg.time_ms === 'number' && Number.isFinite(msg.time_ms) ? msg.time_ms : Date.now());

const displayValue = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? ''));

const asRate = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

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
    s = { labels: [], in: [], out: [] };
    buf.series.set(index, s);
  }
  return s;
}

// Arrays are shared with Chart.js datasets, so they are mutated in place.
function pushPoint(series, label, inBps, outBps) {
  series.labels.push(label);
  series.in.push(inBps);
  series.out.push(outBps);
  if (series.labels.length > MAX_POINTS) {
    series.labels.shift();
    series.in.shift();
    series.out.shift();
  }
}

function recordSample(msg) {
  const buf = bufferFor(msg.device);
  const timeMs = messageTime(msg);
  const label = clock(timeMs);
  const touched = [];
  for (const iface of Array.isArray(msg.interfaces) ? msg.interfaces : []) {
    if (!Number.isInteger(iface.index)) continue;
    const series = seriesFor(buf, iface.index);
    if (typeof iface.name === 'string' && iface.name.length > 0) series.name = iface.name;
    const inBps = asRate(iface.in_bps);
    const outBps = asRate(iface.out_bps);
    // No rate yet: skip on an empty series, otherwise push nulls so the chart shows a gap.
    if (inBps === null && outBps === null && series.labels.length === 0) continue;
    pushPoint(series, label, inBps, outBps);
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
  const label = clock(timeMs);
  for (const series of buf.series.values()) {
    const last = series.labels.length - 1;
    if (last >= 0 && (series.in[last] !== null || series.out[last] !== null)) {
      pushPoint(series, label, null, null);
    }
  }
}

// ---------- device list ----------

// Reachability transition: update the device's badge.
function onStatus(msg) {
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
  if (state.selected === null) selectDevice(String(device.id));
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

function selectDevice(id) {
  if (state.selected === id) return;
  state.selected = id;
  for (const li of $('#devices').children) {
    const on = li.dataset.deviceId === id;
    li.classList.toggle('selected', on);
    li.setAttribute('aria-current', on ? 'true' : 'false');
  }
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
  else if (state.devices.size > 0) selectDevice(state.devices.keys().next().value);
  else renderDetail();
}

async function deleteDevice(device) {
  if (!confirm(`Delete device "${device.name}" (${device.address})?`)) return;
  const id = String(device.id);
  const errorBox = $('#list-error');
  try {
    const res = await fetch(`/api/devices/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (!res.ok && res.status !== 404) throw new Error((await readError(res)).message);
    errorBox.textContent = '';
    removeDevice(id);
  } catch (err) {
    errorBox.textContent = err.message;
  }
}

// Reads the server's {"error", "field"} body, tolerating anything else.
async function readError(res) {
  const body = await res.json().catch(() => null);
  return {
    message: typeof body?.error === 'string' ? body.error : `request failed (HTTP ${res.status})`,
    field: typeof body?.field === 'string' ? body.field : null,
  };
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

// ---------- detail panel ----------

function renderDetail() {
  destroyCharts();
  const device = state.devices.get(state.selected);
  $('#no-selection').hidden = Boolean(device);
  $('#device-detail').hidden = !device;
  if (!device) return;
  renderDetailHeader();
  const buf = bufferFor(state.selected);
  const indices = new Set([...(device.interfaces || []), ...buf.series.keys()]);
  for (const index of [...indices].filter(Number.isInteger).sort((a, b) => a - b)) ensureChart(index);
  renderStatus();
}

function renderDetailHeader() {
  const device = state.devices.get(state.selected);
  if (!device) return;
  $('#detail-title').textContent = device.name;
  $('#detail-meta').textContent = `${device.address} · SNMP v${device.version} · every ${device.interval} s`;
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

// ---------- charts ----------

function ensureChart(index) {
  if (state.charts.has(index)) return state.charts.get(index);
  const container = $('#charts');
  if (typeof Chart === 'undefined') {
    if (!container.querySelector('.chart-missing')) container.append(el('p', 'error chart-missing', 'Chart.js failed to load.'));
    return null;
  }
  const series = seriesFor(bufferFor(state.selected), index);
  const wrap = el('div', 'chart');
  const canvas = el('canvas');
  canvas.dataset.ifIndex = String(index);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `ifIndex ${index} traffic, in and out`);
  wrap.append(canvas);
  container.append(wrap);
  const chart = new Chart(canvas, chartConfig(index, series));
  state.charts.set(index, chart);
  return chart;
}

function dataset(label, data) {
  return {
    label,
    data,
    borderColor: COLORS[label],
    backgroundColor: `${COLORS[label]}33`,
    borderWidth: 1.5,
    pointRadius: 0,
    tension: 0.2,
    fill: false,
  };
}

// "eth0 (ifIndex 2)" once discovery has named the interface, else "ifIndex 2".
function chartTitle(index, series) {
  return series.name ? `${series.name} (ifIndex ${index})` : `ifIndex ${index}`;
}

function chartConfig(index, series) {
  return {
    type: 'line',
    data: { labels: series.labels, datasets: [dataset('in', series.in), dataset('out', series.out)] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { type: 'category', ticks: { autoSkip: true, maxTicksLimit: 8, maxRotation: 0 } },
        y: { beginAtZero: true, ticks: { callback: (v) => formatBps(v) } },
      },
      plugins: {
        title: { display: true, text: chartTitle(index, series) },
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${formatBps(ctx.parsed.y)}` } },
      },
    },
  };
}

function destroyCharts() {
  for (const chart of state.charts.values()) chart.destroy();
  state.charts.clear();
  $('#charts').replaceChildren();
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
    case 'device_added': return upsertDevice(msg.device);
    case 'device_removed': return removeDevice(String(msg.device));
    default: // unknown message types are ignored
  }
}

function onSample(msg) {
  msg.device = String(msg.device);
  const touched = recordSample(msg);
  setFailing(msg.device, false);
  if (msg.device !== state.selected) return;
  for (const index of touched) ensureChart(index);
  const buf = bufferFor(msg.device);
  for (const [index, chart] of state.charts) {
    chart.options.plugins.title.text = chartTitle(index, seriesFor(buf, index));
    chart.update('none');
  }
  renderStatus();
}

function onFailure(msg) {
  msg.device = String(msg.device);
  recordFailure(msg);
  setFailing(msg.device, true);
  if (msg.device !== state.selected) return;
  for (const chart of state.charts.values()) chart.update('none');
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
      if (everOpened) loadDevices(); // resync adds/removes missed while disconnected
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
  if (!canChangeDevices()) $('#add-device-panel').remove();
  if (state.role === 'admin') {
    $('#users-panel').hidden = false;
    loadUsers();
  } else {
    $('#users-panel').remove();
  }
  loadDevices();
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
