// Unit tests of maplinks.js, the map's arithmetic (run from web/: `node --test tests/`).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  band, edgeWidth, elementsOf, LinkRates, linkedOnly, percent,
} from '../maplinks.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

const topology = {
  nodes: [
    { id: 'a', kind: 'device', name: 'core 1', state: 'up' },
    { id: 'b', kind: 'device', name: 'edge 1', state: 'up' },
    { id: 'neighbour:x', kind: 'unknown', name: HOSTILE },
  ],
  links: [
    {
      id: 'a/if:1--b/if:2',
      source: { node: 'a', if_index: 1, port: 'eth1' },
      target: { node: 'b', if_index: 2, port: 'eth2' },
      speed_bps: 1000, state: 'up', utilisation: 0.1, protocols: ['lldp'],
    },
    {
      id: 'a/if:3--neighbour:x/port:p7',
      source: { node: 'a', if_index: 3, port: 'eth3' },
      target: { node: 'neighbour:x', port: 'p7' },
      speed_bps: 1000, state: 'unknown', utilisation: null, protocols: ['cdp'],
    },
    { id: 'dangling', source: { node: 'a' }, target: { node: 'nowhere' } },
  ],
};

describe('link look', () => {
  test('bands and widths follow utilisation; down wins', () => {
    assert.equal(band(null, false), 'idle');
    assert.equal(band(0.2, false), 'low');
    assert.equal(band(0.5, false), 'busy');
    assert.equal(band(0.95, false), 'hot');
    assert.equal(band(0.1, true), 'down');
    assert.equal(edgeWidth(null), 2);
    assert.equal(edgeWidth(0.5), 7);
    assert.equal(edgeWidth(3), 12, 'capped');
    assert.equal(percent(0.456), '46 %');
    assert.equal(percent(0.012), '1.2 %');
    assert.equal(percent(undefined), '–');
  });
});

describe('elementsOf', () => {
  test('nodes and edges from a topology, saved positions kept, dangling links left out', () => {
    const { nodes, edges } = elementsOf(topology, { b: { x: 10, y: 20 }, a: { x: 'x', y: 1 } });
    assert.deepEqual(nodes.map((n) => n.data.id), ['a', 'b', 'neighbour:x']);
    assert.equal(nodes[2].data.label, HOSTILE, 'kept as text: drawn as a label');
    assert.deepEqual(nodes[1].position, { x: 10, y: 20 });
    assert.equal(nodes[0].position, undefined, 'a bad position is ignored');
    assert.deepEqual(edges.map((e) => e.data.id), ['a/if:1--b/if:2', 'a/if:3--neighbour:x/port:p7']);
    assert.equal(edges[0].data.band, 'low');
    assert.equal(edges[1].data.targetIf, null);
  });
});

describe('linkedOnly', () => {
  test('devices no link touches are left out and counted', () => {
    const lone = { ...topology, nodes: [...topology.nodes, { id: 'c', kind: 'device', name: 'alone' }] };
    const { nodes, edges, left } = linkedOnly(elementsOf(lone));
    assert.deepEqual(nodes.map((n) => n.data.id), ['a', 'b', 'neighbour:x']);
    assert.equal(edges.length, 2);
    assert.equal(left, 1);
  });
});

describe('LinkRates', () => {
  test('a sample moves the links it ends; the busier end and direction win', () => {
    const { edges } = elementsOf(topology);
    const rates = new LinkRates(edges);
    assert.deepEqual(rates.devices().sort(), ['a', 'b']);
    let changed = rates.onSample({
      device: 'a', interfaces: [{ index: 1, in_bps: 300, out_bps: 600, speed_bps: 1000, oper_status: 'up' }, { index: 9, in_bps: 1 }],
    });
    assert.deepEqual([...changed.keys()], ['a/if:1--b/if:2']);
    assert.deepEqual(changed.get('a/if:1--b/if:2'), { utilisation: 0.6, down: false });
    changed = rates.onSample({ device: 'b', interfaces: [{ index: 2, in_bps: 900, out_bps: 100, oper_status: 'up' }] });
    assert.deepEqual(changed.get('a/if:1--b/if:2'), { utilisation: 0.9, down: false }, 'speed from the topology');
    changed = rates.onSample({ device: 'b', interfaces: [{ index: 2, in_bps: 0, out_bps: 0, oper_status: 'down' }] });
    assert.deepEqual(changed.get('a/if:1--b/if:2'), { utilisation: 0.6, down: true });
    changed = rates.onStatus('a', 'down');
    assert.equal(changed.size, 2, 'both links of a');
    assert.equal(changed.get('a/if:3--neighbour:x/port:p7').down, true);
    assert.equal(rates.onStatus('a', 'up').get('a/if:3--neighbour:x/port:p7').down, false);
  });
});
