// Unit tests of the pure helpers behind the device page's errors and discards (ifacetable.js)
// and its extra OIDs' charts (oidcharts.js, series.js, format.js) (run from web/:
// `node --test tests/`).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { formatCount, formatPerSecond } from '../format.js';
import { errorPair, errorRates, pairTotal } from '../ifacetable.js';
import { oidTitle, oidValueText } from '../oidcharts.js';
import { rowsFromOidSeries } from '../series.js';

describe('errors and discards per second', () => {
  test('read from the one traffic shape of a /ws sample and a device\'s latest', () => {
    const ws = { index: 1, in_errors_ps: 0.5, out_errors_ps: 0, in_discards_ps: 12.25 };
    assert.deepEqual(errorRates(ws), { inErrors: 0.5, outErrors: 0, inDiscards: 12.25, outDiscards: null });
    assert.deepEqual(errorRates({ index: 1, in_bps: 5 }), { inErrors: null, outErrors: null, inDiscards: null, outDiscards: null });
    assert.deepEqual(errorRates(undefined), { inErrors: null, outErrors: null, inDiscards: null, outDiscards: null });
    // Anything but a finite number is no rate.
    assert.equal(errorRates({ in_errors_ps: '3' }).inErrors, null);
    assert.equal(errorRates({ in_errors_ps: Infinity }).inErrors, null);
  });

  test('shown as text, both directions, a dash without rates', () => {
    assert.equal(errorPair(0.5, 0), 'in 0.5/s · out 0/s');
    assert.equal(errorPair(1250, null), 'in 1.25k/s · out –');
    assert.equal(errorPair(null, null), '–');
    assert.equal(pairTotal(null, null), null);
    assert.equal(pairTotal(2, null), 2);
    assert.equal(pairTotal(2, 0.5), 2.5);
  });

  test('counts and rates read with SI prefixes', () => {
    const cases = [[0, '0'], [0.25, '0.25'], [1 / 3, '0.33'], [7.5, '7.5'], [950, '950'], [999.96, '1k'],
      [1250, '1.25k'], [12_345_678, '12.3M'], [-3, '-3']];
    for (const [value, text] of cases) assert.equal(formatCount(value), text, String(value));
    assert.equal(formatPerSecond(0.5), '0.5/s');
    assert.equal(formatPerSecond(null), '');
    assert.equal(formatPerSecond(NaN), '');
  });
});

describe('extra OIDs', () => {
  test('an answer\'s series becomes rows, gaps kept', () => {
    const series = {
      type: 'unsigned32',
      per_second: false,
      points: [
        { time_ms: 1000, value: { min: 1, avg: 2, max: 3 } },
        { time_ms: 2000, value: null },
        { time_ms: 'x', value: { min: 1, avg: 1, max: 1 } },
      ],
    };
    assert.deepEqual(rowsFromOidSeries(series), [
      { t: 1000, avg: 2, min: 1, max: 3 },
      { t: 2000, avg: null, min: null, max: null },
    ]);
    assert.deepEqual(rowsFromOidSeries(null), []);
    assert.deepEqual(rowsFromOidSeries({ points: 'nope' }), []);
  });

  test('values read as their type says', () => {
    assert.equal(oidValueText(9_123_456, 'timeticks', false), '1d 01:20:34');
    assert.equal(oidValueText(5.5, 'counter64', true), '5.5/s');
    assert.equal(oidValueText(123_456, 'unsigned32', false), '123k');
    assert.equal(oidValueText(-2, 'integer', false), '-2');
    assert.equal(oidValueText(null, 'integer', false), '');
    assert.equal(oidTitle('1.3.6.1.2.1.1.3.0', 'timeticks', false), '1.3.6.1.2.1.1.3.0 (timeticks)');
    assert.equal(oidTitle('1.3.6.1.2.1.4.3.0', 'counter32', true), '1.3.6.1.2.1.4.3.0 (counter32, per second)');
    // A type from a device is text, whatever it holds.
    assert.equal(oidTitle('1.3.6.1.4.1.9', '<b>x</b>', false), '1.3.6.1.4.1.9 (<b>x</b>)');
  });
});
