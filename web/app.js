// netpulse dashboard, the main module. Views by the address's hash, so back, forward and
// reload work: #/ the overview (overview.js: every device, live), #/device/<id> a device
// (header, traffic charts of traffic.js with the interface table of ifacetable.js, the Logs
// tab of logs.js, the Settings tab of settings.js), #/removed/<id> a removed device's kept
// history, #/alerts the alerts (alerts.js, which also keeps the header's count of firing
// alerts and the device page's alert list). Live data over /ws (socket.js): every device's
// samples and status for the overview, alert changes, and one-second live samples of the
// device whose page is open. After a reconnect, or when the gateway says this page lagged,
// everything is loaded again.
// All server-provided strings reach the DOM through textContent only.

import { AddDeviceForm } from './addform.js';
import { AlertsPage } from './alerts.js';
import { readError } from './api.js';
import { askConfirm, askDeleteDevice } from './dialogs.js';
import { $, el } from './dom.js';
import { clock, formatBps, formatDateTime, formatUptime } from './format.js';
import { InterfaceTable } from './ifacetable.js';
import { LogsView } from './logs.js';
import { OidCharts } from './oidcharts.js';
import { OverviewView } from './overview.js';
import { endsInGap, liveRow, pushLive } from './series.js';
import { SettingsForm, SnmpTest } from './settings.js';
import { LiveSocket } from './socket.js';
import { showLogin, startSignIn } from './signin.js';
import { renderStatusBadge } from './status.js';
import { attachTabs } from './tabs.js';
import { startTheme } from './theme.js';
import { TrafficView } from './traffic.js';
import { UnknownSources } from './unknown.js';
import { UsersPanel } from './users.js';

/** The live indicator goes out when no live sample came for this long. */
const LIVE_STALE_MS = 2500;
const KINDS = ['sample', 'failure', 'status', 'log', 'device_added', 'device_removed', 'lagged', 'alert'];

const state = {
  role: null, // the signed-in user's role: 'viewer', 'operator' or 'admin'
  username: null,
  devices: new Map(), // id -> device JSON
  pollStatsTimer: null, // re-reads the shown device's poll statistics
  devicesLoaded: false,
  buffers: new Map(), // id -> { series: Map(ifIndex -> {name, rows}), lastSampleMs, uptimeTicks, values, failure }
  route: { view: 'overview', id: null }, // from the address's hash
  shown: null, // {kind: 'device' | 'removed', id} the device page shows, or null
  unchecked: new Set(), // ifIndex values the user took off the charts of the shown device
  removed: new Map(), // id -> removed device with kept history (GET /api/history/removed)
  live: { device: null, lastMs: 0, count: 0 }, // live samples of the shown device
  overview: null,
  view: null, // the TrafficView of the device page
  oidCharts: null, // the extra OIDs' charts of the device page (follow `view`)
  logs: null, // the LogsView of the device page's Logs tab
  ifaces: null, // the InterfaceTable of the device page
  settings: null,
  snmpTest: null,
  addForm: null,
  alerts: null, // the AlertsPage: the Alerts page, the header's count, a device's alerts
  socket: null,
};

const canChangeDevices = () => state.role === 'operator' || state.role === 'admin';

// ---------- message fields ----------

const messageTime = (msg) => (typeof msg.time_ms === 'number' && Number.isFinite(msg.time_ms) ? msg.time_ms : Date.now());

const displayValue = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? ''));

// ---------- per-device live buffers (what the live charts draw) ----------

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
    // A live and a normal sample can be of the same poll time: one point.
    if (series.rows.at(-1)?.t === timeMs) continue;
    pushLive(series.rows, row);
    touched.push(iface.index);
  }
  buf.lastSampleMs = Math.max(buf.lastSampleMs ?? 0, timeMs);
  buf.uptimeTicks = msg.uptime_ticks ?? null;
  if (Array.isArray(msg.values) && (msg.values.length > 0 || msg.live !== true)) buf.values = msg.values;
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

// ---------- routing ----------

function parseRoute() {
  const hash = location.hash;
  if (hash === '#/alerts') return { view: 'alerts', id: null };
  const match = /^#\/(device|removed)\/(.+)$/.exec(hash);
  if (match) {
    try {
      return { view: match[1], id: decodeURIComponent(match[2]) };
    } catch {
      // a malformed address: the overview
    }
  }
  return { view: 'overview', id: null };
}

const deviceHref = (id) => `#/device/${encodeURIComponent(id)}`;

function openDevice(id) {
  location.hash = deviceHref(id);
}

function applyRoute() {
  state.route = parseRoute();
  const { view } = state.route;
  const onDevice = view === 'device' || view === 'removed';
  $('#overview-view').hidden = view !== 'overview';
  $('#device-view').hidden = !onDevice;
  $('#nav-overview').setAttribute('aria-current', view === 'overview' ? 'page' : 'false');
  state.alerts?.setRoute(state.route);
  if (onDevice) {
    renderDetail();
  } else {
    closeDetail();
    document.title = view === 'alerts' ? 'Alerts · netpulse' : 'netpulse';
  }
  state.socket?.resubscribe();
  renderLiveIndicator();
}

/** What the page asks /ws for: every device's data, and the open device's live samples. */
function subscription() {
  const live = state.route.view === 'device' && state.route.id !== null ? [state.route.id] : [];
  return { type: 'subscribe', devices: '*', kinds: KINDS, live };
}

// ---------- device page ----------

function closeDetail() {
  if (state.shown === null) return;
  state.shown = null;
  clearTimeout(state.pollStatsTimer);
  state.view.clear();
  state.logs.clear();
  state.ifaces.clear();
  state.snmpTest?.show(null);
}

/** Shows the device (or removed device) the route names; nothing if not known (yet). */
function renderDetail() {
  const { view, id } = state.route;
  const device = view === 'device' ? state.devices.get(id) : null;
  const removed = view === 'removed' ? state.removed.get(id) : null;
  const known = Boolean(device || removed);
  $('#device-detail').hidden = !known;
  // Unknown until the lists have loaded: say so only then.
  $('#no-selection').hidden = known || !state.devicesLoaded;
  if (!known) {
    closeDetail();
    return;
  }
  const kind = device ? 'device' : 'removed';
  if (state.shown?.kind === kind && state.shown.id === id) {
    if (device) renderDetailHeader();
    return;
  }
  closeDetail();
  state.shown = { kind, id };
  state.unchecked = new Set();
  if (removed) {
    renderRemovedDetail(removed);
    return;
  }
  $('#device-detail').dataset.kind = 'device';
  $('#live-facts').hidden = false;
  for (const node of document.querySelectorAll('.device-actions button, #tab-settings')) node.hidden = false;
  renderDetailHeader();
  const buf = bufferFor(id);
  const indices = new Set([...(device.interfaces || []), ...buf.series.keys()]);
  const interfaces = [...indices]
    .filter(Number.isInteger)
    .sort((a, b) => a - b)
    .map((index) => liveInterface(index, buf.series.get(index)?.name));
  state.view.show({ id, live: true, endMs: null }, interfaces);
  state.logs.show({ id, live: true });
  state.snmpTest?.show(id);
  renderStatus();
  loadInterfaces(id);
  loadPollStats(id);
}

// The shown device's poll statistics (since the gateway started), read again every 10 s.
async function loadPollStats(id) {
  clearTimeout(state.pollStatsTimer);
  let stats;
  try {
    const res = await fetch(`/api/devices/${encodeURIComponent(id)}`);
    if (res.ok) stats = (await res.json()).poll_stats;
  } catch {
    // Shown again at the next try.
  }
  if (state.shown?.kind !== 'device' || state.shown.id !== id) return;
  state.pollStatsTimer = setTimeout(() => loadPollStats(id), 10_000);
  if (!stats) return;
  const count = (v) => (Number.isFinite(v) ? String(v) : '–');
  $('#poll-duration').textContent = Number.isFinite(stats.last_duration_ms) ? `${stats.last_duration_ms} ms` : '–';
  $('#poll-counts').textContent = `${count(stats.polls)} / ${count(stats.failures)}`;
  $('#poll-retries').textContent = `${count(stats.retries)} / ${count(stats.timeouts)}`;
  const bad = Object.entries(stats.bad_replies ?? {})
    .filter(([, n]) => Number.isFinite(n))
    .map(([kind, n]) => `${n} ${String(kind).replaceAll('_', ' ')}`);
  $('#poll-bad').textContent = bad.length > 0 ? bad.join(', ') : 'none';
  $('#poll-bulk').textContent = Number.isFinite(stats.max_repetitions)
    ? (stats.max_repetitions === 0 ? 'none (SNMPv1)' : String(stats.max_repetitions)) : '–';
  // How long the agent keeps answering the same counters, as learned from its readings.
  const cached = Number.isFinite(stats.cached_readings) ? stats.cached_readings : 0;
  $('#poll-cache').textContent = Number.isFinite(stats.cache_period_ms)
    ? `${(stats.cache_period_ms / 1000).toFixed(1)} s (${cached} cached readings)`
    : (cached > 0 ? `${cached} cached readings` : 'none seen');
  // SNMPv3: the agent's engine ID, and a warning when other devices report the same one.
  const engine = typeof stats.engine_id === 'string' ? stats.engine_id : null;
  const shared = (Array.isArray(stats.engine_id_shared_with) ? stats.engine_id_shared_with : [])
    .filter((other) => typeof other === 'string');
  $('#poll-engine-row').hidden = engine === null;
  const cell = $('#poll-engine');
  cell.replaceChildren(engine ?? '–');
  if (shared.length > 0) {
    const warning = el('span', 'failure', ` also reported by ${shared.join(', ')}: give each agent its own engine ID`);
    warning.setAttribute('role', 'alert');
    cell.append(warning);
  }
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
  $('#test-result').hidden = true;
  for (const node of document.querySelectorAll('.device-actions button, #tab-settings')) node.hidden = true;
  if ($('#tab-settings')?.getAttribute('aria-selected') === 'true') $('#tab-traffic').click();
  $('#detail-status').replaceChildren(el('span', 'device-state', 'removed'));
  $('#detail-status').dataset.state = 'removed';
  $('#detail-title').textContent = String(entry.name ?? entry.id);
  document.title = `${String(entry.name ?? entry.id)} (removed) · netpulse`;
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
  if (state.shown?.kind !== 'device') return;
  const device = state.devices.get(state.shown.id);
  if (!device) return;
  $('#detail-title').textContent = device.name;
  document.title = `${device.name} · netpulse`;
  renderStatusBadge($('#detail-status'), device);
  const sources = Array.isArray(device.log_sources) && device.log_sources.length > 0
    ? ` · logs also from ${device.log_sources.map(String).join(', ')}` : '';
  $('#detail-meta').textContent = `${device.address} · SNMP v${device.version} · every ${device.interval} s${sources}`;
  // What the device says about itself: untrusted text, shown as text.
  const system = device.system ?? {};
  $('#sys-name').textContent = String(system.name || '–');
  $('#sys-descr').textContent = String(system.descr || '–');
  $('#sys-location').textContent = String(system.location || '–');
  state.settings?.show(device);
}

// The shown device's interfaces as discovery found them: the interface table, and a chart
// for each polled one (unless taken off).
async function loadInterfaces(id) {
  let list;
  try {
    const res = await fetch(`/api/devices/${encodeURIComponent(id)}/interfaces`);
    if (!res.ok) return;
    list = await res.json();
  } catch {
    return;
  }
  if (state.shown?.kind !== 'device' || state.shown.id !== id || !Array.isArray(list)) return;
  const buf = bufferFor(id);
  for (const i of list) {
    if (!i.polled || !Number.isInteger(i.index) || state.unchecked.has(i.index)) continue;
    const name = buf.series.get(i.index)?.name || (typeof i.key === 'string' ? i.key : null);
    state.view.addInterface(liveInterface(i.index, name));
    state.view.rename(i.index, name);
  }
  state.ifaces.setInterfaces(list, (index) => state.view.has(index));
  const latest = state.overview.traffic.get(id);
  if (latest) state.ifaces.setRates(latest.interfaces);
}

function onInterfaceToggle(iface, checked) {
  if (state.shown?.kind !== 'device') return;
  if (checked) {
    state.unchecked.delete(iface.index);
    const name = bufferFor(state.shown.id).series.get(iface.index)?.name || iface.name;
    state.view.addInterface(liveInterface(iface.index, name));
  } else {
    state.unchecked.add(iface.index);
    state.view.removeInterface(iface.index);
  }
}

function renderStatus() {
  if (state.shown?.kind !== 'device') return;
  const id = state.shown.id;
  const buf = bufferFor(id);
  const latest = state.overview.traffic.get(id);
  const lastMs = buf.lastSampleMs ?? latest?.timeMs ?? null;
  $('#last-sample').textContent = lastMs === null ? 'no samples yet' : new Date(lastMs).toLocaleString();
  $('#uptime').textContent = formatUptime(buf.uptimeTicks ?? latest?.uptimeTicks ?? null);
  const rate = (v) => (v === null || v === undefined ? '–' : formatBps(v));
  $('#detail-rates').textContent = latest ? `in ${rate(latest.inBps)} · out ${rate(latest.outBps)}` : '–';
  const failure = $('#last-failure');
  failure.hidden = !buf.failure;
  failure.textContent = buf.failure ? `failed at ${clock(buf.failure.timeMs)}: ${buf.failure.reason}` : '';
  const ok = $('#last-ok');
  ok.hidden = Boolean(buf.failure);
  ok.textContent = lastMs === null ? '–' : 'ok';
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

// "live 1 s" while the open device's live samples arrive.
function renderLiveIndicator() {
  const node = $('#live-indicator');
  const on = state.route.view === 'device' && state.live.device === state.route.id && Date.now() - state.live.lastMs < LIVE_STALE_MS;
  node.hidden = !on;
  node.dataset.count = String(state.live.device === state.route.id ? state.live.count : 0);
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
    case 'lagged': return resyncSoon();
    case 'alert': return state.alerts?.onMessage(msg);
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
  state.overview.onSample(msg);
  const touched = recordSample(msg);
  if (msg.live === true) {
    if (state.live.device !== msg.device) state.live = { device: msg.device, lastMs: 0, count: 0 };
    state.live.lastMs = Date.now();
    state.live.count += 1;
    renderLiveIndicator();
  }
  if (state.shown?.kind !== 'device' || msg.device !== state.shown.id) return;
  const buf = bufferFor(msg.device);
  for (const index of touched) {
    const name = buf.series.get(index)?.name;
    if (!state.unchecked.has(index) && !state.view.has(index)) {
      state.view.addInterface(liveInterface(index, name));
      state.ifaces.setChecked(index, true);
    }
    state.view.rename(index, name);
  }
  // Only the live range moves; a past range stays as it was loaded.
  state.view.liveChanged(touched);
  const latest = state.overview.traffic.get(msg.device);
  if (latest) state.ifaces.setRates(latest.interfaces);
  renderStatus();
}

function onFailure(msg) {
  msg.device = String(msg.device);
  recordFailure(msg);
  if (state.shown?.kind !== 'device' || msg.device !== state.shown.id) return;
  state.view.liveChanged();
  renderStatus();
}

// Reachability transition: the overview's row and counts, the device page's badge, its log.
function onStatus(msg) {
  state.logs.onStatus(msg);
  // The overview holds the same device objects: it updates their status.
  state.overview.onStatus(msg);
  renderDetailHeader();
}

function setWsStatus(live) {
  const status = $('#ws-status');
  status.textContent = live ? 'live' : 'reconnecting';
  status.dataset.state = live ? 'live' : 'down';
}

/**
 * After a reconnect or a `lagged` message: messages were missed. Load the devices (with
 * their latest rates and status), sparklines, removed devices, the open device's interfaces,
 * charts and logs again.
 */
async function resync() {
  // Live rows have a hole now: the stored history fills the live range instead.
  for (const buf of state.buffers.values()) for (const series of buf.series.values()) series.rows = [];
  const ok = await loadDevices();
  if (!ok) return;
  state.overview.loadSparklines();
  loadRemoved();
  state.logs.resync();
  state.alerts?.refresh({ everything: true });
  if (state.shown?.kind === 'device') {
    state.view.reload();
    loadInterfaces(state.shown.id);
  }
}

/** Quiet time after a resync before another (a client that keeps lagging reloads less). */
const RESYNC_GAP_MS = 3000;
let resyncing = false;
let resyncAgain = false;

// A resync now, or once the one under way (and a short gap) is over.
function resyncSoon() {
  if (resyncing) {
    resyncAgain = true;
    return;
  }
  resyncing = true;
  resync().finally(() => setTimeout(() => {
    resyncing = false;
    if (resyncAgain) {
      resyncAgain = false;
      resyncSoon();
    }
  }, RESYNC_GAP_MS));
}

// ---------- device list ----------

function upsertDevice(device) {
  if (!device || device.id === undefined || device.id === null) return;
  const id = String(device.id);
  const known = state.devices.get(id);
  if (!device.status && known?.status) device.status = known.status;
  state.devices.set(id, device);
  state.overview.upsert(device);
  if (state.route.view === 'device' && state.route.id === id) renderDetail();
}

function removeDevice(id) {
  state.devices.delete(id);
  state.buffers.delete(id);
  state.overview.forget(id);
  if (state.route.view === 'device' && state.route.id === id) location.hash = '#/';
}

// ---------- REST ----------

/** After /ws was refused: if the session is over, back to the sign-in form (a gateway that is
 * away answers nothing, and the socket goes on trying). */
async function checkSession() {
  const res = await fetch('/api/me').catch(() => null);
  if (res?.status === 401) {
    state.socket?.stop();
    showLogin('Your session ended: sign in again.');
  }
}

/** Loads every device; false when that failed (the error is shown). */
async function loadDevices() {
  const errorBox = $('#list-error');
  try {
    const res = await fetch('/api/devices', { headers: { Accept: 'application/json' } });
    if (res.status === 401) {
      showLogin('Your session ended: sign in again.');
      return false;
    }
    if (!res.ok) throw new Error(`loading devices failed (HTTP ${res.status})`);
    const list = await res.json();
    const devices = Array.isArray(list) ? list : [];
    state.devices = new Map(devices.map((d) => [String(d.id), d]));
    state.overview.setDevices(devices);
    errorBox.textContent = '';
  } catch (err) {
    errorBox.textContent = err.message;
    return false;
  }
  state.devicesLoaded = true;
  state.alerts?.devicesChanged();
  if (state.route.view === 'device') {
    if (state.devices.has(state.route.id)) renderDetail();
    else location.hash = '#/';
  } else if (state.route.view === 'removed') {
    renderDetail();
  }
  return true;
}

// Asks whether to keep the history, then deletes the shown device (and its history if so chosen).
async function deleteShownDevice() {
  if (state.shown?.kind !== 'device') return;
  const device = state.devices.get(state.shown.id);
  if (!device) return;
  const choice = await askDeleteDevice(device);
  if (choice !== 'keep' && choice !== 'delete') return;
  const id = String(device.id);
  const errorBox = $('#range-error');
  try {
    const res = await fetch(`/api/devices/${encodeURIComponent(id)}?history=${choice}`, { method: 'DELETE' });
    if (!res.ok && res.status !== 404) throw new Error((await readError(res)).message);
    errorBox.textContent = '';
    removeDevice(id);
    location.hash = '#/';
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
  if (state.route.view === 'removed') {
    // Its history was deleted (here or elsewhere): back to the overview.
    if (!state.removed.has(state.route.id)) location.hash = '#/';
    else renderDetail();
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
  const open = () => {
    location.hash = `#/removed/${encodeURIComponent(id)}`;
  };
  li.addEventListener('click', open);
  li.addEventListener('keydown', (ev) => {
    if (ev.target === li && (ev.key === 'Enter' || ev.key === ' ')) {
      ev.preventDefault();
      open();
    }
  });
  return li;
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

// ---------- roles ----------

function startApp(me) {
  state.username = String(me.username);
  state.role = String(me.role);
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#whoami').textContent = `${state.username} (${state.role})`;
  $('#logout').hidden = false;

  // Viewers get no controls they may not use (the server refuses them anyway).
  if (canChangeDevices()) {
    $('#unknown-panel').hidden = false;
    state.addForm = new AddDeviceForm($('#add-device'), (device) => {
      upsertDevice(device);
      loadDevices();
    });
    new UnknownSources(
      { list: $('#unknown-sources'), empty: $('#unknown-empty'), error: $('#unknown-error') },
      (address) => {
        $('#add-device-panel').scrollIntoView({ block: 'nearest' });
        state.addForm.startWith(address);
      },
    ).start();
    state.settings = new SettingsForm($('#settings-form'), (device) => {
      upsertDevice(device);
      renderDetailHeader();
    });
    state.snmpTest = new SnmpTest({
      button: $('#test-snmp'),
      section: $('#test-result'),
      status: $('#test-status'),
      error: $('#test-error'),
      values: $('#test-values'),
      interfaces: $('#test-interfaces'),
      close: $('#test-close'),
    });
    $('#delete-device').addEventListener('click', deleteShownDevice);
  } else {
    for (const sel of ['#add-device-panel', '#unknown-panel', '#tab-settings', '#panel-settings', '.device-actions', '#test-result']) $(sel).remove();
  }
  if (state.role === 'admin') {
    new UsersPanel({
      panel: $('#users-panel'),
      list: $('#users'),
      form: $('#add-user'),
      error: $('#user-error'),
    }, state.username).start();
  } else {
    $('#users-panel').remove();
  }
  attachTabs($('#detail-tabs'), (tab) => state.logs.setActive(tab === 'logs'));
  state.alerts = new AlertsPage(
    { view: $('#alerts-view'), count: $('#alert-count'), nav: $('#nav-alerts'), device: $('#device-alerts') },
    { role: state.role, devices: () => state.devices },
  );
  state.alerts.start();

  window.addEventListener('hashchange', applyRoute);
  applyRoute();
  loadDevices().then((ok) => {
    if (ok) state.overview.loadSparklines();
  });
  loadRemoved();
  state.socket = new LiveSocket({
    onMessage: handleMessage,
    onState: setWsStatus,
    onOpen: (reconnected) => {
      if (reconnected) resyncSoon();
    },
    onRefused: checkSession,
  }, subscription);
  state.socket.start();
  setInterval(renderLiveIndicator, 500);
}

// ---------- start ----------

async function init() {
  startTheme();
  startSignIn();
  state.overview = new OverviewView({
    table: $('#devices'),
    empty: $('#devices-empty'),
    shown: $('#overview-shown'),
    filter: $('#overview-filter'),
    counts: $('.counts'),
    error: $('#list-error'),
  }, openDevice);
  state.view = new TrafficView({
    bar: $('#range-bar'),
    customForm: $('#custom-range'),
    zoomReset: $('#zoom-reset'),
    exportCsv: $('#export-csv'),
    exportJson: $('#export-json'),
    label: $('#range-label'),
    error: $('#range-error'),
    charts: $('#charts'),
    total: $('#chart-total'),
    empty: $('#charts-empty'),
  }, liveRows);
  // The extra OIDs' charts follow the traffic charts' range.
  state.oidCharts = new OidCharts({
    section: $('#oid-charts'),
    list: $('#oid-chart-list'),
    note: $('#oid-charts-note'),
  }, state.view);
  state.logs = new LogsView({
    controls: $('#log-controls'),
    status: $('#log-status'),
    error: $('#log-error'),
    table: $('#log-table'),
    older: $('#log-older'),
  });
  state.ifaces = new InterfaceTable($('#interfaces'), onInterfaceToggle);
  setWsStatus(false);
  const res = await fetch('/api/me');
  if (res.status === 401) return showLogin();
  if (!res.ok) return showLogin('netpulse is not reachable; try again');
  startApp(await res.json());
}

init();
