// Alerting, the pure half: what the Alerts page, the header count and a device page's alert
// list show of alerts, rules, channels and silences, and the API bodies built from the
// values of the rule and silence forms. Functions of their arguments only (no DOM), so that
// Node's test runner covers them (web/tests/alerts.test.js). Form values are plain objects
// keyed by the API's field names (`scope.devices`, `weekly.time`...): a multiple select gives
// an array of strings, anything else its text.

import { FieldError, splitList } from './deviceform.js';
import { formatAgo, formatDateTime } from './format.js';

export const SEVERITIES = ['critical', 'warning', 'info'];
export const RULE_KINDS = ['device_down', 'interface_down', 'utilisation', 'errors', 'oid', 'poll_failing'];
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
export const DIRECTIONS = ['either', 'in', 'out'];
export const COUNTERS = ['any', 'in_errors', 'out_errors', 'in_discards', 'out_discards'];
export const REASONS = ['any', 'auth', 'timeout'];
/** What people read for a rule's kind. */
export const KIND_LABELS = {
  device_down: 'device down',
  interface_down: 'interface down',
  utilisation: 'utilisation',
  errors: 'errors / discards',
  oid: 'OID value',
  poll_failing: 'polls failing',
};
/** Longest name of a rule or channel, and comment of a silence or an ack (as the server). */
export const MAX_NAME_CHARS = 64;
export const MAX_COMMENT_CHARS = 500;
/** Longest for_s, repeat_s, flapping window and weekly window: a week. */
export const MAX_SECONDS = 7 * 86_400;

const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };
const STATE_RANK = { firing: 0, pending: 1, resolved: 2 };
const finite = (v) => typeof v === 'number' && Number.isFinite(v);
const text = (v) => (v === undefined || v === null ? '' : String(v));
const list = (v) => (Array.isArray(v) ? v.map(String) : []);

// ---------- alerts ----------

/** Pending and firing alerts in the order to show them: firing first, worst, newest. */
export function sortAlerts(alerts) {
  return [...alerts].sort((a, b) => (STATE_RANK[a.state] ?? 3) - (STATE_RANK[b.state] ?? 3)
    || (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3)
    || (Number(b.since_ms) || 0) - (Number(a.since_ms) || 0)
    || text(a.id).localeCompare(text(b.id)));
}

/** How many alerts are firing, and the worst severity among them (null when none). */
export function firingSummary(alerts) {
  const firing = (Array.isArray(alerts) ? alerts : []).filter((a) => a?.state === 'firing');
  const worst = firing.map((a) => a.severity).sort((x, y) => (SEVERITY_RANK[x] ?? 3) - (SEVERITY_RANK[y] ?? 3))[0];
  return { count: firing.length, worst: worst ?? null };
}

/** The marks beside an alert's state: 'flapping', 'silenced', 'acked', as they apply. */
export function alertMarks(alert) {
  const marks = [];
  if (alert?.flapping === true) marks.push('flapping');
  if (alert?.silenced === true) marks.push('silenced');
  if (alert?.acked_by) marks.push('acked');
  return marks;
}

/** An alert's value in its rule kind's unit: "87.5 %", "12 /s", "42"; '' when it has none. */
export function formatAlertValue(kind, value) {
  if (!finite(value)) return '';
  const rounded = Math.abs(value) >= 100 ? value.toFixed(0) : String(Number(value.toPrecision(3)));
  if (kind === 'utilisation') return `${rounded} %`;
  if (kind === 'errors') return `${rounded} /s`;
  return rounded;
}

/** How far `thenMs` is from `nowMs` in words: "just now", "5 min ago", "in 2 h". */
export function relativeTime(thenMs, nowMs) {
  if (!finite(thenMs)) return '';
  const ago = nowMs - thenMs;
  if (ago >= -5000) return formatAgo(ago);
  return `in ${formatAgo(-ago).replace(/ ago$/, '')}`;
}

/** Seconds as people say them, two units at most: "45 s", "5 min", "1 h 30 min", "2 d 4 h". */
export function formatSeconds(seconds) {
  if (!finite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const units = [[86_400, 'd'], [3600, 'h'], [60, 'min'], [1, 's']];
  const parts = [];
  let rest = s;
  for (const [size, unit] of units) {
    if (parts.length === 2) break;
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${unit}`);
    else if (parts.length > 0) break;
    rest -= n * size;
  }
  return parts.join(' ');
}

/**
 * One line for an alert, as a device page lists them and as screen readers hear a row:
 * "CRITICAL firing (acked): Uplink hot on core-1 [eth0, eth1] = 87.5 %, since 5 min ago".
 */
export function alertLine(alert, nowMs) {
  const marks = alertMarks(alert);
  const state = `${text(alert.state)}${marks.length > 0 ? ` (${marks.join(', ')})` : ''}`;
  const ifaces = list(alert.interfaces);
  const where = `${text(alert.device_name || alert.device)}${ifaces.length > 0 ? ` [${ifaces.join(', ')}]` : ''}`;
  const value = formatAlertValue(alert.kind, alert.value);
  const since = relativeTime(alert.since_ms, nowMs);
  return `${text(alert.severity).toUpperCase()} ${state}: ${text(alert.rule_name)} on ${where}`
    + `${value ? ` = ${value}` : ''}${since ? `, since ${since}` : ''}`;
}

// ---------- durations ----------

const DURATION_UNITS = { s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * Seconds from what people type: "90" (seconds), "30s", "5m", "1h30m", "1.5h", "2d".
 * null for an empty text; NaN when it is not a duration.
 */
export function parseDuration(input) {
  const t = text(input).trim().toLowerCase().replace(/\s+/g, '');
  if (t === '') return null;
  if (/^\d+$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)(sec|min|s|m|h|d|w)/gy;
  let total = 0;
  let matched = 0;
  for (const m of t.matchAll(re)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    matched += m[0].length;
  }
  return matched === t.length ? Math.round(total) : NaN;
}

/** Seconds as a duration input shows them: 0 → "0", 300 → "5m", 5400 → "1h30m", 45 → "45s". */
export function durationInput(seconds) {
  if (!finite(seconds) || seconds <= 0) return '0';
  let rest = Math.round(seconds);
  let out = '';
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]]) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

// A duration field's seconds within [min, max], or `fallback` when empty.
function durationField(values, field, { min = 0, max = MAX_SECONDS, fallback = null } = {}) {
  const seconds = parseDuration(values[field]);
  if (seconds === null) return fallback;
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) {
    throw new FieldError(field, `A duration from ${formatSeconds(min) || '0 s'} to ${formatSeconds(max)}: 90 (seconds), 30s, 5m, 1h30m, 2d.`);
  }
  return seconds;
}

// A number field: null when empty; a FieldError when not a number.
function numberField(values, field) {
  const t = text(values[field]).trim();
  if (t === '') return null;
  const n = Number(t);
  if (!Number.isFinite(n)) throw new FieldError(field, 'Enter a number.');
  return n;
}

// ---------- rules ----------

/**
 * The body of POST /api/alert-rules (or PUT) from the rule form's values. Checks what needs
 * no server; throws a FieldError naming the first field at fault, in the order of the form.
 */
export function ruleBody(values) {
  const name = text(values.name).trim();
  if (name === '') throw new FieldError('name', 'Enter a name.');
  if ([...name].length > MAX_NAME_CHARS) throw new FieldError('name', `A name has at most ${MAX_NAME_CHARS} characters.`);
  const kind = text(values.kind);
  if (!RULE_KINDS.includes(kind)) throw new FieldError('kind', 'Choose what the rule watches.');
  const severity = text(values.severity);
  if (!SEVERITIES.includes(severity)) throw new FieldError('severity', 'Choose critical, warning or info.');
  const body = { name, kind, severity, scope: scopeOf(values) };
  Object.assign(body, conditionOf(kind, values));
  body.channels = list(values.channels).filter((c) => c !== '');
  body.for_s = durationField(values, 'for_s', { fallback: 0 });
  body.repeat_s = durationField(values, 'repeat_s', { fallback: 0 });
  const threshold = numberField(values, 'flap_threshold');
  if (threshold !== null) {
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > 1000) {
      throw new FieldError('flap_threshold', 'Whole changes from 1 to 1000.');
    }
    body.flap_threshold = threshold;
  }
  const window = durationField(values, 'flap_window_s', { min: 10 });
  if (window !== null) body.flap_window_s = window;
  return body;
}

function scopeOf(values) {
  const mode = text(values.scope) || 'all';
  if (mode === 'all') return 'all';
  if (mode === 'devices') {
    const devices = list(values['scope.devices']).filter((d) => d !== '');
    if (devices.length === 0) throw new FieldError('scope.devices', 'Choose at least one device.');
    return { devices };
  }
  if (mode === 'tags') {
    const tags = [...new Set(splitList(text(values['scope.tags'])).map((t) => t.toLowerCase()))];
    if (tags.length === 0) throw new FieldError('scope.tags', 'Enter at least one tag.');
    return { tags };
  }
  throw new FieldError('scope', 'Choose all devices, some devices or tags.');
}

function conditionOf(kind, values) {
  const choice = (field, allowed) => {
    const v = text(values[field]) || allowed[0];
    if (!allowed.includes(v)) throw new FieldError(field, `One of ${allowed.join(', ')}.`);
    return v;
  };
  switch (kind) {
    case 'utilisation': {
      const direction = choice('direction', DIRECTIONS);
      const above = numberField(values, 'above_pct');
      if (above === null || above <= 0 || above > 1000) throw new FieldError('above_pct', 'Enter a percentage above 0.');
      const clear = numberField(values, 'clear_below_pct');
      if (clear !== null && (clear < 0 || clear > above)) {
        throw new FieldError('clear_below_pct', 'A percentage from 0 to the one it fires above.');
      }
      return clear === null ? { direction, above_pct: above } : { direction, above_pct: above, clear_below_pct: clear };
    }
    case 'errors': {
      const counter = choice('counter', COUNTERS);
      const above = numberField(values, 'above_per_s');
      if (above === null || above < 0) throw new FieldError('above_per_s', 'Enter a number of 0 or more.');
      return { counter, above_per_s: above };
    }
    case 'oid': {
      const oid = text(values.oid).trim();
      if (!/^\.?\d+(\.\d+)+$/.test(oid)) throw new FieldError('oid', 'An OID in dotted numbers, one of the device\'s extra OIDs (1.3.6.1.4.1…).');
      const above = numberField(values, 'above');
      const below = numberField(values, 'below');
      if (above === null && below === null) throw new FieldError('above', 'Give a threshold: above, below or both.');
      const body = { oid };
      if (above !== null) body.above = above;
      if (below !== null) body.below = below;
      return body;
    }
    case 'poll_failing':
      return { reason: choice('reason', REASONS) };
    default:
      return {};
  }
}

/** The rule form's values for editing `rule` (the inverse of ruleBody). */
export function ruleValues(rule) {
  const scope = rule?.scope;
  const number = (v) => (finite(v) ? String(v) : '');
  return {
    name: text(rule?.name),
    kind: text(rule?.kind),
    severity: text(rule?.severity),
    scope: scope === 'all' || !scope ? 'all' : Array.isArray(scope.devices) ? 'devices' : 'tags',
    'scope.devices': list(scope?.devices),
    'scope.tags': list(scope?.tags).join(', '),
    channels: list(rule?.channels),
    for_s: durationInput(rule?.for_s),
    repeat_s: durationInput(rule?.repeat_s),
    flap_threshold: number(rule?.flap_threshold),
    flap_window_s: finite(rule?.flap_window_s) ? durationInput(rule.flap_window_s) : '',
    direction: text(rule?.direction),
    above_pct: number(rule?.above_pct),
    clear_below_pct: number(rule?.clear_below_pct),
    counter: text(rule?.counter),
    above_per_s: number(rule?.above_per_s),
    oid: text(rule?.oid),
    above: number(rule?.above),
    below: number(rule?.below),
    reason: text(rule?.reason),
  };
}

/** What a rule watches, in words: "utilisation in above 80 % (clears below 70 %)". */
export function conditionText(rule) {
  switch (rule?.kind) {
    case 'utilisation': {
      const clear = finite(rule.clear_below_pct) ? ` (clears below ${rule.clear_below_pct} %)` : '';
      return `utilisation ${text(rule.direction || 'either')} above ${text(rule.above_pct)} %${clear}`;
    }
    case 'errors':
      return `${text(rule.counter || 'any').replaceAll('_', ' ')} errors above ${text(rule.above_per_s)} /s`;
    case 'oid': {
      const limits = [finite(rule.above) ? `above ${rule.above}` : '', finite(rule.below) ? `below ${rule.below}` : ''];
      return `${text(rule.oid)} ${limits.filter(Boolean).join(' or ')}`.trim();
    }
    case 'poll_failing':
      return `polls failing (${text(rule.reason || 'any')})`;
    default:
      return KIND_LABELS[rule?.kind] ?? text(rule?.kind);
  }
}

/**
 * A rule's or silence's scope in words, naming devices by `deviceName(id)` and rules by
 * `ruleName(id)`: "all devices", "devices: core-1, edge-2", "tags: core; rules: Uplink hot".
 */
export function scopeText(scope, { deviceName = (id) => id, ruleName = (id) => id } = {}) {
  if (scope === 'all' || scope === undefined || scope === null) return 'all devices';
  const parts = [];
  const devices = list(scope.devices);
  const tags = list(scope.tags);
  const rules = list(scope.rules);
  if (devices.length > 0) parts.push(`devices: ${devices.map((d) => text(deviceName(d))).join(', ')}`);
  if (tags.length > 0) parts.push(`tags: ${tags.join(', ')}`);
  if (rules.length > 0) parts.push(`rules: ${rules.map((r) => text(ruleName(r))).join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : 'nothing';
}

// ---------- channels ----------

/**
 * A channel's health for people: `{state: 'failing' | 'ok' | 'unused', text}`. A failing
 * channel says so with its last error.
 */
export function channelHealth(health, nowMs) {
  if (!health || typeof health !== 'object') return { state: 'unused', text: 'nothing sent yet' };
  const counts = `sent ${finite(health.sent) ? health.sent : 0}, failed ${finite(health.failed) ? health.failed : 0}`;
  const when = finite(health.last_attempt_ms) ? `, last ${relativeTime(health.last_attempt_ms, nowMs)}` : '';
  if (health.failing === true) {
    const error = text(health.last_error) || 'unknown error';
    return { state: 'failing', text: `failing: ${error} (${counts}${when})` };
  }
  return { state: 'ok', text: `ok (${counts}${when})` };
}

/** The body of POST /api/alert-channels from the channel form's values. */
export function channelBody(values) {
  const name = text(values.name).trim();
  if (name === '') throw new FieldError('name', 'Enter a name.');
  if ([...name].length > MAX_NAME_CHARS) throw new FieldError('name', `A name has at most ${MAX_NAME_CHARS} characters.`);
  const kind = text(values.kind);
  if (kind === 'email') {
    const to = splitList(text(values.to));
    if (to.length === 0) throw new FieldError('to', 'Enter at least one e-mail address.');
    const bad = to.find((a) => !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(a));
    if (bad !== undefined) throw new FieldError('to', `${JSON.stringify(bad)} is not an e-mail address.`);
    return { name, kind, to };
  }
  if (kind !== 'webhook' && kind !== 'alertmanager') throw new FieldError('kind', 'Choose webhook, email or alertmanager.');
  const url = text(values.url).trim();
  if (!/^https?:\/\/[^\s/?#]+/i.test(url) || /\s/.test(url)) throw new FieldError('url', 'An http:// or https:// URL.');
  return { name, kind, url };
}

// ---------- silences ----------

/** The weekly window of the silence form's values: `{days, time, duration_s, time_zone}`. */
export function parseWeekly(values) {
  const days = WEEKDAYS.filter((d) => list(values.days).map((x) => x.toLowerCase()).includes(d));
  if (days.length === 0) throw new FieldError('weekly.days', 'Choose at least one day.');
  const time = text(values['weekly.time']).trim().slice(0, 5);
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(time)) throw new FieldError('weekly.time', 'A local start time, HH:MM.');
  const seconds = parseDuration(values['weekly.duration_s']);
  if (!Number.isInteger(seconds) || seconds < 60 || seconds > MAX_SECONDS) {
    throw new FieldError('weekly.duration_s', 'How long each window lasts, 1 min to 7 d: 2h, 90m, 1d.');
  }
  const timeZone = text(values['weekly.time_zone']).trim() || 'UTC';
  if (!knownTimeZone(timeZone)) {
    throw new FieldError('weekly.time_zone', `${JSON.stringify(timeZone)} is not a known time zone (e.g. Europe/Paris, UTC).`);
  }
  return { days, time, duration_s: seconds, time_zone: timeZone };
}

function knownTimeZone(name) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name }).format(0);
    return true;
  } catch {
    return false;
  }
}

// A local date-time text ("YYYY-MM-DDTHH:MM") as Unix seconds; null when empty.
function localTimeField(values, field) {
  const t = text(values[field]).trim();
  if (t === '') return null;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(t) ? new Date(t).getTime() : NaN;
  if (!Number.isFinite(ms)) throw new FieldError(field, 'A date and time.');
  return Math.floor(ms / 1000);
}

/**
 * The body of POST /api/silences from the silence form's values (`mode` 'once' or 'weekly';
 * `from` and `to` local date-times as a datetime-local input holds them). A one-off needs an
 * end after its start (now when none); a weekly window may leave both out.
 */
export function silenceBody(values, nowMs) {
  const scope = {};
  const devices = list(values['scope.devices']).filter((d) => d !== '');
  const tags = [...new Set(splitList(text(values['scope.tags'])).map((t) => t.toLowerCase()))];
  const rules = list(values['scope.rules']).filter((r) => r !== '');
  if (devices.length > 0) scope.devices = devices;
  if (tags.length > 0) scope.tags = tags;
  if (rules.length > 0) scope.rules = rules;
  if (Object.keys(scope).length === 0) throw new FieldError('scope', 'Choose at least one device, tag or rule.');
  const body = { scope };
  const weekly = text(values.mode) === 'weekly';
  if (weekly) body.weekly = parseWeekly(values);
  const from = localTimeField(values, 'from');
  const to = localTimeField(values, 'to');
  if (to === null && !weekly) throw new FieldError('to', 'Enter when the silence ends.');
  const start = from ?? Math.floor(nowMs / 1000);
  if (to !== null && to <= start) throw new FieldError('to', from === null ? 'The end must be in the future.' : 'The end must be after the start.');
  if (from !== null) body.from = from;
  if (to !== null) body.to = to;
  body.comment = commentOf(values.comment);
  return body;
}

function commentOf(value) {
  const comment = text(value).trim();
  if ([...comment].length > MAX_COMMENT_CHARS) throw new FieldError('comment', `At most ${MAX_COMMENT_CHARS} characters.`);
  return comment;
}

/** The body of the silence an alert's "Silence" button makes: its device and rule, from now. */
export function alertSilenceBody(alert, durationS, comment, nowMs) {
  const seconds = Number(durationS);
  if (!Number.isInteger(seconds) || seconds <= 0) throw new FieldError('duration', 'Choose how long.');
  return {
    scope: { devices: [text(alert.device)], rules: [text(alert.rule)] },
    to: Math.floor(nowMs / 1000) + seconds,
    comment: commentOf(comment),
  };
}

/** The body of POST /api/alerts/{id}/ack. */
export const ackBody = (comment) => ({ comment: commentOf(comment) });

/**
 * Where a silence stands: 'active' (in force now), 'upcoming', 'weekly' (a recurring window,
 * not in one now), or 'expired'.
 */
export function silenceStatus(silence, nowMs) {
  if (silence?.active === true) return 'active';
  if (finite(silence?.to_ms) && silence.to_ms <= nowMs) return 'expired';
  if (silence?.weekly) return 'weekly';
  if (finite(silence?.from_ms) && silence.from_ms > nowMs) return 'upcoming';
  return 'active';
}

/** A silence's time in words: "until 2026-05-01 10:00:00", "sat, sun at 02:00 for 2 h (Europe/Paris)". */
export function silenceWhen(silence, nowMs) {
  const w = silence?.weekly;
  const from = finite(silence?.from_ms) ? silence.from_ms : null;
  const to = finite(silence?.to_ms) ? silence.to_ms : null;
  if (w) {
    const days = list(w.days).join(', ');
    const until = to !== null && to - nowMs < 5 * 365 * 86_400_000 ? `, until ${formatDateTime(to)}` : '';
    const starting = from !== null && from > nowMs ? `, from ${formatDateTime(from)}` : '';
    return `${days} at ${text(w.time)} for ${formatSeconds(w.duration_s)} (${text(w.time_zone)})${starting}${until}`;
  }
  if (from !== null && from > nowMs) return `${formatDateTime(from)} to ${to === null ? '?' : formatDateTime(to)}`;
  return to === null ? '' : `until ${formatDateTime(to)} (${relativeTime(to, nowMs)})`;
}
