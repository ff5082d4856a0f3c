// The page's state, shared by its modules: who is signed in, the devices, what the address
// asks to show, the device page's views, and each device's live buffers (the samples from /ws
// that the live charts draw).

import { endsInGap, liveRow, pushLive } from './series.js';

export const state = {
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
  top: null, // the TopPage (#/top)
  map: null, // the MapPage (#/map)
};

export const canChangeDevices = () => state.role === 'operator' || state.role === 'admin';

const messageTime = (msg) => (typeof msg.time_ms === 'number' && Number.isFinite(msg.time_ms) ? msg.time_ms : Date.now());


// ---------- per-device live buffers (what the live charts draw) ----------

export function bufferFor(id) {
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
export const liveRows = (id, index) => state.buffers.get(id)?.series.get(index)?.rows ?? [];

export function recordSample(msg) {
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

export function recordFailure(msg) {
  const buf = bufferFor(msg.device);
  const timeMs = messageTime(msg);
  buf.failure = { timeMs, reason: String(msg.reason ?? 'unknown') };
  for (const series of buf.series.values()) {
    if (!endsInGap(series.rows)) pushLive(series.rows, liveRow(timeMs, null, null));
  }
}
