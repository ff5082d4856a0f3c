// The rows every traffic chart draws, whether they came from the history API or live from /ws:
//   { t, inAvg, inMin, inMax, outAvg, outMin, outMax }
// t is Unix milliseconds; rates are bits per second; null where there is no data (a gap).
// A live row is one measured rate: its min and max are null (nothing to spread).

import { num } from './format.js';

/** How far back the live view reaches. */
export const LIVE_WINDOW_MS = 15 * 60 * 1000;
/** Most live rows kept per interface (a device polled every second fills 900). */
const LIVE_MAX_ROWS = 5000;

/** The rows of a history API answer, oldest first. */
export function rowsFromHistory(body) {
  const points = Array.isArray(body?.points) ? body.points : [];
  return points
    .filter((p) => num(p?.time_ms) !== null)
    .map((p) => ({
      t: p.time_ms,
      inAvg: num(p.in_bps?.avg),
      inMin: num(p.in_bps?.min),
      inMax: num(p.in_bps?.max),
      outAvg: num(p.out_bps?.avg),
      outMin: num(p.out_bps?.min),
      outMax: num(p.out_bps?.max),
    }));
}

/** A row of one live sample; null rates make a gap. */
export function liveRow(t, inBps, outBps) {
  return { t, inAvg: num(inBps), inMin: null, inMax: null, outAvg: num(outBps), outMin: null, outMax: null };
}

/** Appends a live row, dropping rows older than the live window. */
export function pushLive(rows, row) {
  rows.push(row);
  let drop = 0;
  while (drop < rows.length && rows[drop].t < row.t - LIVE_WINDOW_MS) drop += 1;
  drop = Math.max(drop, rows.length - LIVE_MAX_ROWS);
  if (drop > 0) rows.splice(0, drop);
}

/** Whether the last row is a gap already (no point in a second one). */
export const endsInGap = (rows) => rows.length === 0 || (rows.at(-1).inAvg === null && rows.at(-1).outAvg === null);

/**
 * The live view: stored rows from before the first live row (the history API fills what the
 * page did not see), then the live rows; nothing before `fromMs`.
 */
export function mergeLive(stored, live, fromMs) {
  const cut = live.length > 0 ? live[0].t : Infinity;
  return [...stored.filter((r) => r.t < cut), ...live].filter((r) => r.t >= fromMs);
}

/**
 * The 95th percentile as transit billing computes it (as the recorder does): sort the values,
 * drop the top 5 %, take the highest left. Nulls are ignored; null when nothing is left.
 */
export function percentile95(values) {
  const sorted = values.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  return sorted[Math.ceil(sorted.length * 0.95) - 1];
}

/**
 * The rows of one extra OID's series in a history answer (`oids[oid]`), oldest first:
 * `{ t, avg, min, max }`, null where there is no value (a gap).
 */
export function rowsFromOidSeries(series) {
  const points = Array.isArray(series?.points) ? series.points : [];
  return points
    .filter((p) => num(p?.time_ms) !== null)
    .map((p) => ({ t: p.time_ms, avg: num(p.value?.avg), min: num(p.value?.min), max: num(p.value?.max) }));
}
