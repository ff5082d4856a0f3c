// netpulse dashboard, the main module: it routes, follows /ws and starts the views. Views by
// the address's hash, so back, forward and reload work: #/ the overview (overview.js: every
// device, live), #/device/<id> a device (devicepage.js: header, traffic charts of traffic.js
// with the interface table of ifacetable.js, the Logs tab of logs.js, the Settings tab of
// settings.js; #/device/<id>/if/<n> opens it on one interface, as the header's port search of
// portsearch.js does), #/removed/<id> a removed device's kept
// history, #/alerts the alerts (alerts.js, which also keeps the header's count of firing
// alerts and the device page's alert list), #/top the busiest links (top.js), #/map the
// topology map (map.js, whose devices the page shows live while it is open). Live data over /ws (socket.js): every device's
// samples and status for the overview, alert changes, and one-second live samples of the
// device whose page is open. Samples come in frames, at most one a tick, but the open
// device's come one by one (the subscription and the frames' unpacking: wsmessages.js).
// After a reconnect, or when the gateway says this page lagged, everything is loaded again. The state the modules share is in pagestate.js; sign-in in
// signin.js, the users panel in users.js, the API tokens panel in tokens.js.
// All server-provided strings reach the DOM through textContent only.

import { AddDeviceForm } from './addform.js';
import { AlertsPage } from './alerts.js';
import { readError } from './api.js';
import {
  closeDetail, liveInterface, loadInterfaces, onInterfaceToggle, renderDetail, renderDetailHeader,
  renderLiveIndicator, renderStatus,
} from './devicepage.js';
import { askConfirm, askDeleteDevice } from './dialogs.js';
import { $, el } from './dom.js';
import { formatDateTime } from './format.js';
import { InterfaceTable } from './ifacetable.js';
import { LogsView } from './logs.js';
import { OidCharts } from './oidcharts.js';
import { OverviewView } from './overview.js';
import {
  bufferFor, canChangeDevices, liveRows, recordFailure, recordSample, state,
} from './pagestate.js';
import { SettingsForm, SnmpTest } from './settings.js';
import { LiveSocket } from './socket.js';
import { MapPage, mapElements, renderLegend } from './map.js';
import { PortSearch } from './portsearch.js';
import { TopPage, topElements } from './top.js';
import { showLogin, startSignIn } from './signin.js';
import { attachTabs } from './tabs.js';
import { startTheme } from './theme.js';
import { TrafficView } from './traffic.js';
import { UnknownSources } from './unknown.js';
import { TokensPanel } from './tokens.js';
import { UsersPanel } from './users.js';
import { framedSamples, subscribeMessage } from './wsmessages.js';

// ---------- routing ----------

function parseRoute() {
  const hash = location.hash;
  if (hash === '#/alerts') return { view: 'alerts', id: null };
  if (hash === '#/top') return { view: 'top', id: null };
  if (hash === '#/map') return { view: 'map', id: null };
  const onInterface = /^#\/device\/([^/]+)\/if\/(\d+)$/.exec(hash);
  const match = onInterface ?? /^#\/(device|removed)\/(.+)$/.exec(hash);
  if (match) {
    try {
      if (onInterface) return { view: 'device', id: decodeURIComponent(match[1]), ifIndex: Number(match[2]) };
      return { view: match[1], id: decodeURIComponent(match[2]) };
    } catch {
      // a malformed address: the overview
    }
  }
  return { view: 'overview', id: null };
}

const deviceHref = (id) => `#/device/${encodeURIComponent(id)}`;

/** Marks (and charts, when polled) the interface the address names on the device page. */
function focusInterface(index) {
  state.ifaces.focus(index);
}

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
  $('#nav-top').setAttribute('aria-current', view === 'top' ? 'page' : 'false');
  $('#nav-map').setAttribute('aria-current', view === 'map' ? 'page' : 'false');
  state.alerts?.setRoute(state.route);
  state.top?.show(view === 'top');
  state.map?.show(view === 'map');
  if (onDevice) {
    renderDetail();
    if (Number.isInteger(state.route.ifIndex)) focusInterface(state.route.ifIndex);
  } else {
    closeDetail();
    const titles = { alerts: 'Alerts · netpulse', top: 'Top links · netpulse', map: 'Map · netpulse' };
    document.title = titles[view] ?? 'netpulse';
  }
  state.socket?.resubscribe();
  renderLiveIndicator();
}

/**
 * What the page asks /ws for: every device's data, and the live samples of the open device or
 * of the devices on the map.
 */
function subscription() {
  const onMap = state.route.view === 'map' && state.map ? state.map.liveDevices() : [];
  return subscribeMessage(state.route, onMap);
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
    case 'sample': return onSamples([msg]);
    case 'frame': return onSamples(framedSamples(msg));
    case 'failure': return onFailure(msg);
    case 'status': return onStatus(msg);
    case 'log': return state.logs.onLog(msg);
    case 'lagged': return resyncSoon();
    case 'alert': return state.alerts?.onMessage(msg);
    case 'device_added':
      upsertDevice(msg.device);
      state.map?.devicesChanged();
      // Added again under a removed device's name: it is no longer a removed one.
      if (state.removed.has(String(msg.device?.id))) loadRemoved();
      return;
    case 'device_removed':
      removeDevice(String(msg.device));
      state.map?.devicesChanged();
      return loadRemoved();
    default: // unknown message types are ignored
  }
}

/**
 * Samples from /ws: one sent alone, or those of a frame. Each goes to the overview, the map, the
 * buffers and the open device's charts; what depends only on their having come (the top
 * page's refresh, the live indicator, the open device's status and interface rates) is done
 * once for all of them.
 */
function onSamples(samples) {
  if (samples.length === 0) return;
  let live = false;
  let shown = false;
  for (const msg of samples) {
    if (takeSample(msg)) shown = true;
    if (msg.live === true) live = true;
  }
  state.top?.onSample();
  if (live) renderLiveIndicator();
  if (!shown) return;
  const latest = state.overview.traffic.get(state.shown.id);
  if (latest) state.ifaces.setRates(latest.interfaces);
  renderStatus();
}

// One sample's own work; true when it is of the device whose page is open.
function takeSample(msg) {
  msg.device = String(msg.device);
  state.overview.onSample(msg);
  state.map?.onSample(msg);
  const touched = recordSample(msg);
  if (msg.live === true) {
    if (state.live.device !== msg.device) state.live = { device: msg.device, lastMs: 0, count: 0 };
    state.live.lastMs = Date.now();
    state.live.count += 1;
  }
  if (state.shown?.kind !== 'device' || msg.device !== state.shown.id) return false;
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
  return true;
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
  state.map?.onStatus(msg);
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
  new TokensPanel({
    panel: $('#tokens-panel'),
    list: $('#tokens'),
    empty: $('#tokens-empty'),
    form: $('#add-token'),
    error: $('#token-error'),
    made: $('#token-made'),
    madeText: $('#token-text'),
    copy: $('#token-copy'),
  }, { username: state.username, role: state.role }).start();
  attachTabs($('#detail-tabs'), (tab) => state.logs.setActive(tab === 'logs'));
  state.alerts = new AlertsPage(
    { view: $('#alerts-view'), count: $('#alert-count'), nav: $('#nav-alerts'), device: $('#device-alerts') },
    { role: state.role, devices: () => state.devices },
  );
  state.alerts.start();

  state.top = new TopPage(topElements());
  renderLegend($('#map-legend'));
  state.map = new MapPage(mapElements(), () => state.socket?.resubscribe());
  $('.port-search').hidden = false;
  new PortSearch({ input: $('#port-search'), list: $('#port-hits'), status: $('#port-search-status') });

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
