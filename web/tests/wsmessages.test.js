// Unit tests of wsmessages.js (run from web/: `node --test tests/`): the subscription the page
// sends for each view, and the samples it takes out of a /ws frame.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { KINDS, framedSamples, subscribeMessage } from '../wsmessages.js';

describe('the subscription', () => {
  test('the overview: every device, samples in frames, nothing live, nothing one by one', () => {
    assert.deepEqual(subscribeMessage({ view: 'overview', id: null }), {
      type: 'subscribe', devices: '*', kinds: KINDS, live: [], frames: true, every_sample: [],
    });
  });

  test('a device page: that device live, and its samples one by one', () => {
    const sent = subscribeMessage({ view: 'device', id: 'core-1', ifIndex: 3 });
    assert.deepEqual(sent.live, ['core-1']);
    assert.deepEqual(sent.every_sample, ['core-1']);
    assert.equal(sent.frames, true);
    assert.equal(sent.devices, '*');
    assert.ok(sent.kinds.includes('sample'), 'frames come only to a subscription of samples');
  });

  test('the map: its devices live, in frames', () => {
    const sent = subscribeMessage({ view: 'map', id: null }, ['a', 'b']);
    assert.deepEqual(sent.live, ['a', 'b']);
    assert.deepEqual(sent.every_sample, []);
  });

  test('a removed device has nothing live', () => {
    const sent = subscribeMessage({ view: 'removed', id: 'old-1' });
    assert.deepEqual(sent.live, []);
    assert.deepEqual(sent.every_sample, []);
  });

  test('the same route gives the same text (the socket sends only a changed one)', () => {
    const route = { view: 'device', id: 'x' };
    assert.equal(JSON.stringify(subscribeMessage(route)), JSON.stringify(subscribeMessage({ ...route })));
  });
});

describe('a frame', () => {
  const sample = (device, live) => ({ type: 'sample', device, time_ms: 1, interfaces: [], values: [], ...(live ? { live } : {}) });

  test('its samples, in order, live ones included', () => {
    const samples = [sample('a'), sample('b'), sample('a', true)];
    assert.deepEqual(framedSamples({ type: 'frame', tick: 7, samples }), samples);
  });

  test('what is no sample message is left out', () => {
    const kept = sample('a');
    const msg = { type: 'frame', tick: 1, samples: [null, 3, 'sample', [], { type: 'status', device: 'a' }, { device: 'b' }, kept] };
    assert.deepEqual(framedSamples(msg), [kept]);
  });

  test('no samples from a message that is no frame, or whose samples are not a list', () => {
    for (const msg of [null, undefined, 'frame', { type: 'sample', samples: [sample('a')] },
      { type: 'frame' }, { type: 'frame', samples: { 0: sample('a') } }, { type: 'frame', samples: [] }]) {
      assert.deepEqual(framedSamples(msg), []);
    }
  });
});
