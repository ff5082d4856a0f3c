// One entry of a device's timeline (syslog, trap, status, config; the LogEntry of
// shared/src/logs.rs): its filters as the server applies them, and its rows in the Logs
// table. Everything in an entry may come from a device: it reaches the page as text only.

import { el } from './dom.js';
import { formatDateTime, formatUptime } from './format.js';

/** Severities, most severe first (the index is the syslog code). */
export const SEVERITIES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug'];

const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'ntp', 'audit', 'alert', 'clock', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
];

const text = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? ''));
const rank = (severity) => {
  const i = SEVERITIES.indexOf(severity);
  return i < 0 ? SEVERITIES.length : i;
};
const varbinds = (entry) => (Array.isArray(entry.trap?.varbinds) ? entry.trap.varbinds : []);

/**
 * True when `entry` passes the filters as the server's do: `severity` and more severe, `q`
 * a case-insensitive substring of the message, host, app, msgid, trap OID or a varbind.
 */
export function entryMatches(entry, severity, q) {
  if (severity && rank(entry.severity) > rank(severity)) return false;
  const needle = q.trim().toLowerCase();
  if (!needle) return true;
  const fields = [entry.message, entry.host, entry.app, entry.msgid, entry.trap?.trap_oid];
  if (fields.some((f) => typeof f === 'string' && f.toLowerCase().includes(needle))) return true;
  // The server compares each varbind's value as JSON ({"type": ..., "value": ...}).
  return varbinds(entry).some((vb) => JSON.stringify({ type: vb.type, value: vb.value }).toLowerCase().includes(needle));
}

/**
 * What makes an entry the same one when it arrives twice (on /ws and in a page): its id, or
 * for a reachability change (its id on /ws is made up here) the time and state.
 */
export const entryKey = (entry) => (entry.kind === 'status' ? `status:${entry.time_ms}:${entry.severity}` : `id:${entry.id}`);

/** The timeline entry of a /ws `status` message, as the recorder stores it. */
export function statusEntry(msg) {
  const [severity, message] = msg.state === 'down' ? ['error', `device down: ${text(msg.reason)}`]
    : msg.state === 'up' ? ['notice', 'device up'] : ['info', 'reachability unknown'];
  const timeMs = Number.isFinite(msg.time_ms) ? msg.time_ms : Date.now();
  return { id: `status-${timeMs}`, device: String(msg.device), time_ms: timeMs, received_ms: timeMs, kind: 'status', severity, message };
}

let detailCount = 0;

/**
 * The entry as one <tbody>: a summary row (time, severity as a word and a colour, kind,
 * app and host, message) with a button that shows a second row holding every field.
 */
export function entryBody(entry) {
  const body = el('tbody', 'log-entry');
  body.dataset.key = entryKey(entry);
  body.dataset.timeMs = String(entry.time_ms);
  // Where "Load older" goes on from when this is the oldest row shown (the API's cursor).
  body.dataset.cursor = `${entry.time_ms}:${entry.id}`;
  body.dataset.severity = text(entry.severity);
  const detailId = `log-detail-${(detailCount += 1)}`;

  const toggle = el('button', 'log-toggle');
  toggle.type = 'button';
  toggle.setAttribute('aria-expanded', 'false');
  toggle.setAttribute('aria-controls', detailId);
  toggle.setAttribute('aria-label', 'Details');
  const expand = el('td', 'log-expand');
  expand.append(toggle);
  const label = el('span', 'severity', text(entry.severity));
  label.dataset.severity = text(entry.severity);
  const severity = el('td', 'log-severity');
  severity.append(label);
  const message = el('td', 'log-message', text(entry.message));
  if (entry.parse_error) message.prepend(el('span', 'parse-flag', 'unparsed'), ' ');
  const source = [entry.app, entry.host].filter((v) => typeof v === 'string' && v).join(' @ ') || sourceHost(entry.source);
  const row = el('tr', 'log-summary');
  row.append(
    expand,
    el('td', 'log-time', Number.isFinite(entry.time_ms) ? formatDateTime(entry.time_ms) : '–'),
    severity,
    el('td', 'log-kind', text(entry.kind)),
    el('td', 'log-source', source),
    message,
  );

  const detail = el('tr', 'log-detail');
  detail.id = detailId;
  detail.hidden = true;
  const detailCell = el('td');
  detailCell.colSpan = 6;
  detail.append(detailCell);
  toggle.addEventListener('click', () => {
    const open = detail.hidden;
    if (open && !detailCell.firstChild) detailCell.append(entryFields(entry));
    detail.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
  });
  body.append(row, detail);
  return body;
}

// "192.0.2.1:514" -> "192.0.2.1"; "[2001:db8::1]:514" -> "2001:db8::1".
function sourceHost(source) {
  if (typeof source !== 'string') return '';
  const v6 = /^\[(.*)\]:\d+$/.exec(source);
  if (v6) return v6[1];
  return /^[^:]*:\d+$/.test(source) ? source.replace(/:\d+$/, '') : source;
}

// Every field of an entry, as a description list (long texts in <pre>, varbinds as a table).
function entryFields(entry) {
  const list = el('dl', 'log-fields');
  const add = (name, value, block = false) => {
    if (value === undefined || value === null || value === '') return;
    const dd = el('dd');
    if (value instanceof Node) dd.append(value);
    else if (block) dd.append(el('pre', null, text(value)));
    else dd.textContent = text(value);
    const item = el('div');
    item.append(el('dt', null, name), dd);
    list.append(item);
  };
  const when = (ms) => (Number.isFinite(ms) ? `${formatDateTime(ms)} (${new Date(ms).toISOString()})` : null);
  add('Time', when(entry.time_ms));
  add('Received', when(entry.received_ms));
  add('Kind', entry.kind);
  add('Severity', entry.severity);
  add('Facility', Number.isInteger(entry.facility) ? `${FACILITIES[entry.facility] ?? 'unknown'} (${entry.facility})` : entry.facility);
  add('Source', entry.source);
  add('Host', entry.host);
  add('App', entry.app);
  add('Process id', entry.procid);
  add('Message id', entry.msgid);
  add('Message', entry.message, true);
  add('Structured data', entry.structured_data, true);
  const trap = entry.trap;
  if (trap && typeof trap === 'object') {
    add('SNMP', `v${text(trap.version)} ${text(trap.pdu)}`);
    add('Trap OID', trap.trap_oid);
    add('Sender uptime', Number.isFinite(trap.uptime_ticks) ? formatUptime(trap.uptime_ticks) : null);
    if (varbinds(entry).length > 0) add('Varbinds', varbindTable(varbinds(entry)));
  }
  add('Raw', entry.raw, true);
  add('Parse error', entry.parse_error);
  add('Entry id', entry.id);
  return list;
}

function varbindTable(list) {
  const table = el('table', 'varbinds');
  const head = el('tr');
  for (const name of ['OID', 'Type', 'Value']) {
    const th = el('th', null, name);
    th.scope = 'col';
    head.append(th);
  }
  table.append(el('thead'), el('tbody'));
  table.tHead.append(head);
  for (const vb of list) {
    const tr = el('tr');
    tr.append(el('td', 'oid', text(vb?.oid)), el('td', null, text(vb?.type)), el('td', 'value', text(vb?.value)));
    table.tBodies[0].append(tr);
  }
  return table;
}
