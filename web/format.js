// Formatting for the dashboard: rates in SI bit/s, times and durations, time-axis ticks.
// Pure functions of their arguments (and the browser's time zone), no DOM.

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A finite number as it is, anything else (null, NaN, a string) as null. */
export const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export const pad2 = (n) => String(n).padStart(2, '0');

/** "HH:MM:SS" in local time. */
export function clock(ms) {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** "YYYY-MM-DD HH:MM:SS" in local time. */
export function formatDateTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${clock(ms)}`;
}

const BPS_UNITS = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];

/**
 * A rate in bits per second with an SI prefix (steps of 1000) and about three significant
 * digits: 950 bit/s, 1.25 kbit/s, 12.3 Mbit/s, 400 Gbit/s. '' for anything not a number.
 */
export function formatBps(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '';
  let v = Math.abs(value);
  let i = 0;
  while (v >= 1000 && i < BPS_UNITS.length - 1) {
    v /= 1000;
    i += 1;
  }
  const digitsFor = (x) => (x >= 100 ? 0 : x >= 10 ? 1 : 2);
  let text = v.toFixed(i === 0 ? Math.min(1, digitsFor(v)) : digitsFor(v));
  // 999.96 kbit/s rounds to "1000": say 1 Mbit/s instead.
  if (Number(text) >= 1000 && i < BPS_UNITS.length - 1) {
    v /= 1000;
    i += 1;
    text = v.toFixed(digitsFor(v));
  }
  if (text.includes('.')) text = text.replace(/\.?0+$/, '');
  return `${value < 0 && Number(text) !== 0 ? '-' : ''}${text} ${BPS_UNITS[i]}`;
}

/** sysUpTime (hundredths of a second) as "3d 04:05:06". */
export function formatUptime(ticks) {
  if (typeof ticks !== 'number' || !Number.isFinite(ticks)) return '–';
  const total = Math.floor(ticks / 100);
  const days = Math.floor(total / 86400);
  const hms = `${pad2(Math.floor((total % 86400) / 3600))}:${pad2(Math.floor((total % 3600) / 60))}:${pad2(total % 60)}`;
  return days > 0 ? `${days}d ${hms}` : hms;
}

/** A span of time in its largest whole unit: "90 s", "15 min", "6 h", "7 d". */
export function formatDuration(ms) {
  for (const [size, unit] of [[DAY, 'd'], [HOUR, 'h'], [MINUTE, 'min']]) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  }
  if (ms >= HOUR) return `${(ms / HOUR).toFixed(1)} h`;
  if (ms >= MINUTE) return `${(ms / MINUTE).toFixed(1)} min`;
  return `${Math.round(ms / SECOND)} s`;
}

/** A UTC time for file names: "20260128T124000Z". */
export function fileStamp(ms) {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

/** The value a datetime-local input shows for a time: "YYYY-MM-DDTHH:MM:SS", local. */
export function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${clock(ms)}`;
}

/** The time a datetime-local input holds (local time), or null when it holds none. */
export function fromLocalInput(text) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) return null;
  const ms = new Date(text).getTime(); // a date-time without an offset is local time
  return Number.isFinite(ms) ? ms : null;
}

const TICK_STEPS = [
  ...[1, 2, 5, 10, 15, 30].map((n) => n * SECOND),
  ...[1, 2, 5, 10, 15, 30].map((n) => n * MINUTE),
  ...[1, 2, 3, 6, 12].map((n) => n * HOUR),
  ...[1, 2, 7, 14, 30].map((n) => n * DAY),
];

/** Tick times for a time axis over [min, max]: at most about `maxCount`, on round local times. */
export function timeTicks(min, max, maxCount) {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) return [];
  const span = max - min;
  const step = TICK_STEPS.find((s) => span / s <= maxCount) ?? Math.ceil(span / maxCount / DAY) * DAY;
  // Round in local time: shift by the zone's offset, round, shift back.
  const offset = -new Date(min).getTimezoneOffset() * MINUTE;
  const ticks = [];
  for (let t = Math.ceil((min + offset) / step) * step - offset; t <= max; t += step) ticks.push(t);
  return ticks;
}

/** A tick label for a time axis whose ticks are `step` apart. */
export function formatTick(ms, step) {
  const d = new Date(ms);
  const day = () => d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  if (step >= DAY) return day();
  if (step < MINUTE) return clock(ms);
  if (step >= HOUR && d.getHours() === 0 && d.getMinutes() === 0) return day();
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** How long ago, roughly: "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(ms) {
  if (!Number.isFinite(ms) || ms < 0) return 'just now';
  if (ms < 5 * SECOND) return 'just now';
  if (ms < MINUTE) return `${Math.floor(ms / SECOND)} s ago`;
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min ago`;
  if (ms < DAY) return `${Math.floor(ms / HOUR)} h ago`;
  return `${Math.floor(ms / DAY)} d ago`;
}

const SI_PREFIXES = ['', 'k', 'M', 'G', 'T', 'P'];

/**
 * A count with an SI prefix (steps of 1000) and about three significant digits: 0, 0.25, 7.5,
 * 950, 1.25k, 12.3M. '' for anything not a number.
 */
export function formatCount(value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '';
  let v = Math.abs(value);
  let i = 0;
  while (v >= 1000 && i < SI_PREFIXES.length - 1) {
    v /= 1000;
    i += 1;
  }
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  let text = v.toFixed(digits);
  if (Number(text) >= 1000 && i < SI_PREFIXES.length - 1) {
    v /= 1000;
    i += 1;
    text = v.toFixed(2);
  }
  if (text.includes('.')) text = text.replace(/\.?0+$/, '');
  return `${value < 0 && Number(text) !== 0 ? '-' : ''}${text}${SI_PREFIXES[i]}`;
}

/** Events per second (errors, discards, counter OIDs): "0/s", "0.25/s", "1.2k/s". */
export function formatPerSecond(value) {
  const text = formatCount(value);
  return text === '' ? '' : `${text}/s`;
}
