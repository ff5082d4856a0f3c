// The map's update cost in the page, for `make bench-fleet`: a ring of 1,000 devices and 1,000
// links in cytoscape (headless: the graph model without drawing), updated as the page updates
// it each second, from the one-second live samples of every device on the map (10 interfaces
// each). Prints the time per second of updates, and the time to build the graph.
// Run from web/: `node bench/map.mjs [links]`.

import cytoscape from 'cytoscape';

import { band, edgeWidth, elementsOf, LinkRates } from '../maplinks.js';

const LINKS = Number(process.argv[2]) || 1000;
const INTERFACES = 10;
const SECONDS = 30;

const topology = { nodes: [], links: [] };
for (let n = 0; n < LINKS; n += 1) {
  topology.nodes.push({ id: `dev-${n}`, kind: 'device', name: `dev-${n}`, state: 'up' });
  const next = (n + 1) % LINKS;
  topology.links.push({
    id: `dev-${n}/if:${INTERFACES}--dev-${next}/if:1`,
    source: { node: `dev-${n}`, if_index: INTERFACES, port: `xe-0/0/${INTERFACES}` },
    target: { node: `dev-${next}`, if_index: 1, port: 'xe-0/0/1' },
    speed_bps: 10e9, state: 'up', utilisation: null, protocols: ['lldp'],
  });
}

const built = performance.now();
const { nodes, edges } = elementsOf(topology);
const cy = cytoscape({ headless: true, elements: [...nodes, ...edges] });
const rates = new LinkRates(edges);
const buildMs = performance.now() - built;

// The samples of one second, parsed from /ws text as the page receives them.
const samples = (second) => nodes.map((node, n) => JSON.stringify({
  type: 'sample', device: node.data.id, time_ms: second * 1000, live: true,
  interfaces: Array.from({ length: INTERFACES }, (_, i) => ({
    index: i + 1, speed_bps: 10e9, in_octets: '0', out_octets: '0',
    in_bps: ((n * 7919 + i * 104729 + second * 31337) % 9e9), out_bps: 1e8, oper_status: 'up',
  })),
}));

const times = [];
for (let second = 0; second < SECONDS; second += 1) {
  const texts = samples(second);
  const started = performance.now();
  for (const text of texts) {
    const changed = rates.onSample(JSON.parse(text));
    cy.batch(() => {
      for (const [id, { utilisation, down }] of changed) {
        cy.getElementById(id).data({ utilisation, down, band: band(utilisation, down), width: edgeWidth(utilisation) });
      }
    });
  }
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
const at = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
console.log(`map in the page: ${nodes.length} nodes, ${edges.length} links built in ${buildMs.toFixed(1)} ms`);
console.log(`map in the page: one second of live samples (${nodes.length} devices x ${INTERFACES} interfaces) `
  + `applied in p50 ${at(0.5).toFixed(1)} ms, max ${at(1).toFixed(1)} ms per second (graph model; drawing not included)`);
