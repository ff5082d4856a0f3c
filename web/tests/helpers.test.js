// Unit tests of the dashboard's pure helpers: numbers and times as the page prints them
// (format.js), the rows behind every traffic chart and the 95th percentile (series.js), the
// CSV export (export.js), and what the overview reads of a device (overview.js) (run from
// web/: `node --test tests/`).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { historyCsv, CSV_HEADER } from '../export.js';
import {
  formatAgo, formatBps, formatCount, formatDuration, formatPerSecond, formatUptime, num, timeTicks,
} from '../format.js';
import { utilisation } from '../ifacetable.js';
import { parseFilter, trafficOf } from '../overview.js';
import { LIVE_WINDOW_MS, liveRow, mergeLive, percentile95, pushLive, rowsFromHistory } from '../series.js';

describe('numbers as the page prints them', () => {
  test('num keeps finite numbers only', () => {
    assert.equal(num(0), 0);
    assert.equal(num(-2.5), -2.5);
    for (const v of [null, undefined, NaN, Infinity, '5', {}]) assert.equal(num(v), null);
  });

  test('rates get an SI prefix and about three digits', () => {
    assert.equal(formatBps(0), '0 bit/s');
    assert.equal(formatBps(950), '950 bit/s');
    assert.equal(formatBps(1250), '1.25 kbit/s');
    assert.equal(formatBps(12_345_678), '12.3 Mbit/s');
    assert.equal(formatBps(400e9), '400 Gbit/s');
    assert.equal(formatBps(999_960), '1 Mbit/s', 'a rate rounding to 1000 moves up a unit');
    assert.equal(formatBps(-1500), '-1.5 kbit/s');
    assert.equal(formatBps(null), '');
    assert.equal(formatBps('12'), '');
  });

  test('counts and events per second', () => {
    assert.equal(formatCount(0.25), '0.25');
    assert.equal(formatCount(7.5), '7.5');
    assert.equal(formatCount(1250), '1.25k');
    assert.equal(formatCount(12_300_000), '12.3M');
    assert.equal(formatPerSecond(0), '0/s');
    assert.equal(formatPerSecond(1200), '1.2k/s');
    assert.equal(formatPerSecond(undefined), '');
  });

  test('uptime, spans and ages', () => {
    assert.equal(formatUptime(0), '00:00:00');
    assert.equal(formatUptime(((3 * 86400) + (4 * 3600) + (5 * 60) + 6) * 100), '3d 04:05:06');
    assert.equal(formatUptime(null), '–');
    assert.equal(formatDuration(90_000), '1.5 min');
    assert.equal(formatDuration(15 * 60_000), '15 min');
    assert.equal(formatDuration(7 * 86_400_000), '7 d');
    assert.equal(formatDuration(42_000), '42 s');
    assert.equal(formatAgo(2000), 'just now');
    assert.equal(formatAgo(42_000), '42 s ago');
    assert.equal(formatAgo(5 * 60_000), '5 min ago');
    assert.equal(formatAgo(3 * 3_600_000), '3 h ago');
    assert.equal(formatAgo(-1), 'just now', 'a clock a little ahead is not the future');
  });

  test('time axis ticks are round, ordered, within the range and not too many', () => {
    const min = Date.UTC(2026, 0, 28, 12, 0, 7);
    const max = min + 3_600_000;
    const ticks = timeTicks(min, max, 8);
    assert.ok(ticks.length > 0 && ticks.length <= 8, `${ticks.length} ticks`);
    assert.ok(ticks.every((t, i) => t >= min && t <= max && (i === 0 || t > ticks[i - 1])));
    assert.ok(ticks.every((t) => t % 60_000 === 0), 'on whole minutes');
    assert.deepEqual(timeTicks(max, min, 8), [], 'an empty range has none');
  });
});

describe('the rows behind a traffic chart', () => {
  test('a history answer becomes rows, gaps kept as nulls', () => {
    const rows = rowsFromHistory({
      points: [
        { time_ms: 1000, in_bps: { min: 1, avg: 2, max: 3 }, out_bps: { min: 4, avg: 5, max: 6 } },
        { time_ms: 2000, in_bps: null, out_bps: null },
        { time_ms: 'late' },
      ],
    });
    assert.deepEqual(rows, [
      { t: 1000, inAvg: 2, inMin: 1, inMax: 3, outAvg: 5, outMin: 4, outMax: 6 },
      { t: 2000, inAvg: null, inMin: null, inMax: null, outAvg: null, outMin: null, outMax: null },
    ]);
    assert.deepEqual(rowsFromHistory({ outcome: 'failed' }), []);
  });

  test('live rows keep the last 15 minutes, after the stored ones they follow', () => {
    const rows = [];
    pushLive(rows, liveRow(0, 1, 1));
    pushLive(rows, liveRow(LIVE_WINDOW_MS / 2, 2, 2));
    pushLive(rows, liveRow(LIVE_WINDOW_MS + 1, 3, 3));
    assert.deepEqual(rows.map((r) => r.t), [LIVE_WINDOW_MS / 2, LIVE_WINDOW_MS + 1]);
    const stored = [liveRow(100, 9, 9), liveRow(LIVE_WINDOW_MS / 2, 8, 8)];
    assert.deepEqual(mergeLive(stored, rows, 50).map((r) => r.t), [100, LIVE_WINDOW_MS / 2, LIVE_WINDOW_MS + 1],
      'a stored row at the first live time gives way to the live one');
  });

  test('the 95th percentile drops the top 5 % as transit billing does', () => {
    assert.equal(percentile95([]), null);
    assert.equal(percentile95([null, NaN]), null);
    assert.equal(percentile95([7]), 7);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile95(hundred.reverse()), 95);
    assert.equal(percentile95([5, 5, 5, 5, 100]), 100, 'five values: nothing is dropped');
    assert.equal(percentile95([...Array(19).fill(1), 50]), 1, 'twenty values: the top one is dropped');
  });
});

describe('the CSV export', () => {
  test('one row per point, empty cells for gaps, device text defused', () => {
    const csv = historyCsv({
      eth0: { points: [{ time_ms: 0, in_bps: { min: 1, avg: 2, max: 3 }, out_bps: null }] },
      '=cmd|"x",y': { points: [{ time_ms: 60_000, in_bps: { min: 0, avg: 0, max: 0 }, out_bps: { min: 1, avg: 1, max: 1 } }] },
    });
    assert.equal(csv, [
      CSV_HEADER,
      'eth0,1970-01-01T00:00:00.000Z,1,2,3,,,',
      `"'=cmd|""x"",y",1970-01-01T00:01:00.000Z,0,0,0,1,1,1`,
      '',
    ].join('\r\n'));
  });
});

describe('what the overview reads of a device', () => {
  test('traffic reads the one shape of a /ws sample and a device\'s latest, totals included', () => {
    const sample = {
      time_ms: 5, uptime_ticks: 100, in_bps: 100, out_bps: 75,
      interfaces: [
        { index: 1, name: 'eth0', speed_bps: 1e9, in_bps: 100, out_bps: 50, in_errors_ps: 0.5 },
        { index: 2, name: '', in_bps: null, out_bps: 25 },
        { index: 'x' },
      ],
    };
    const traffic = trafficOf(sample);
    assert.equal(traffic.inBps, 100);
    assert.equal(traffic.outBps, 75);
    assert.equal(traffic.timeMs, 5);
    assert.deepEqual(traffic.interfaces.map((i) => [i.index, i.name, i.speedBps, i.inErrors]), [[1, 'eth0', 1e9, 0.5], [2, null, null, null]]);
    // The totals are the gateway's: the page does not add them up again.
    assert.equal(trafficOf({ in_bps: 7, out_bps: null, interfaces: [{ index: 1, in_bps: 3 }] }).inBps, 7);
    assert.equal(trafficOf({ interfaces: [{ index: 1, in_bps: 3 }] }).inBps, null);
    assert.equal(trafficOf(null), null);
  });

  test('the filter reads tag: words apart from the text', () => {
    assert.deepEqual(parseFilter('  Core tag:DC1 tag:edge tag:dc1 '), { text: 'core', tags: ['dc1', 'edge'] });
    assert.deepEqual(parseFilter(''), { text: '', tags: [] });
  });

  test('utilisation is the busier direction over the speed', () => {
    assert.equal(utilisation(250e6, 500e6, 1e9), 50);
    assert.equal(utilisation(null, 10, 100), 10);
    assert.equal(utilisation(null, null, 100), null);
    assert.equal(utilisation(10, 10, 0), null, 'no speed, no utilisation');
  });
});
