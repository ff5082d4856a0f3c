// The device page: its header and facts, the poll statistics, the interface table, the
// traffic and extra OID charts, the latest values, and a removed device's kept history.

import { $, el } from './dom.js';
import { clock, formatBps, formatDateTime, formatUptime } from './format.js';
import { bufferFor, state } from './pagestate.js';
import { renderStatusBadge } from './status.js';

/** The live indicator goes out when no live sample came for this long. */
const LIVE_STALE_MS = 2500;

/** A value of the latest values table as text (objects as JSON). */
const displayValue = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? ''));

export function closeDetail() {
  if (state.shown === null) return;
  state.shown = null;
  clearTimeout(state.pollStatsTimer);
  state.view.clear();
  state.logs.clear();
  state.ifaces.clear();
  state.snmpTest?.show(null);
}

/** Shows the device (or removed device) the route names; nothing if not known (yet). */
export function renderDetail() {
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
export const liveInterface = (index, name) => ({ index, name: name || null, query: String(index) });

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

export function renderDetailHeader() {
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
export async function loadInterfaces(id) {
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
  // Opened on one interface (#/device/<id>/if/<n>): that one is marked and charted.
  if (state.route.id === id && Number.isInteger(state.route.ifIndex)) state.ifaces.focus(state.route.ifIndex);
  const latest = state.overview.traffic.get(id);
  if (latest) state.ifaces.setRates(latest.interfaces);
}

export function onInterfaceToggle(iface, checked) {
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

export function renderStatus() {
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
export function renderLiveIndicator() {
  const node = $('#live-indicator');
  const on = state.route.view === 'device' && state.live.device === state.route.id && Date.now() - state.live.lastMs < LIVE_STALE_MS;
  node.hidden = !on;
  node.dataset.count = String(state.live.device === state.route.id ? state.live.count : 0);
}
