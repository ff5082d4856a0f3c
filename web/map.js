// The map (#/map): the devices as nodes and their LLDP / CDP links as edges (GET
// /api/topology), laid out automatically, or where the user dragged them (saved per user with
// PUT /api/map/layout). Each link is coloured and sized by its utilisation, moved every second
// by the one-second live view of the devices on the map (the page asks /ws for it while the
// map is shown, for the devices on screen); down devices and links are red. A table under the
// map lists every link with its ends and utilisation, for reading and for screen readers.
//
// The graph library (cytoscape) is loaded when the map is first shown. Node labels are drawn
// as text on the canvas; every other device string reaches the DOM through textContent.

import { readError } from './api.js';
import { $, el } from './dom.js';
import {
  band, BAND_COLOURS, edgeWidth, elementsOf, LinkRates, linkedOnly, percent,
} from './maplinks.js';

/** Quiet time after a drag before the layout is saved. */
const SAVE_DELAY_MS = 800;
/** Quiet time after panning or zooming before the live view follows the devices on screen. */
const VIEWPORT_DELAY_MS = 400;
/** The live view covers at most this many devices (the gateway's limit per client). */
const MAX_LIVE = 1000;

const STYLE = [
  {
    selector: 'node',
    style: {
      label: 'data(label)',
      'font-size': 11,
      'text-valign': 'bottom',
      'text-margin-y': 4,
      'background-color': '#4c6ef5',
      width: 22,
      height: 22,
      color: '#555',
      'text-wrap': 'ellipsis',
      'text-max-width': '140px',
    },
  },
  { selector: 'node[kind = "unknown"]', style: { shape: 'round-rectangle', 'background-color': '#adb5bd' } },
  { selector: 'node[state = "down"]', style: { 'background-color': BAND_COLOURS.down } },
  {
    selector: 'edge',
    style: {
      width: 'data(width)',
      'line-color': BAND_COLOURS.idle,
      'curve-style': 'bezier',
    },
  },
  ...['low', 'busy', 'hot'].map((b) => ({ selector: `edge[band = "${b}"]`, style: { 'line-color': BAND_COLOURS[b] } })),
  { selector: 'edge[band = "down"]', style: { 'line-color': BAND_COLOURS.down, 'line-style': 'dashed' } },
  { selector: ':selected', style: { 'overlay-opacity': 0.15 } },
];

let loadingLibrary = null;
function library() {
  loadingLibrary ??= import('/vendor/cytoscape/cytoscape.esm.min.mjs').then((m) => m.default);
  return loadingLibrary;
}

export class MapPage {
  /**
   * @param elements {view, canvas, status, error, links (tbody), reset (button), count}
   * @param onLiveChange called when the devices the map shows live change
   */
  constructor(elements, onLiveChange) {
    this.e = elements;
    this.onLiveChange = onLiveChange;
    this.cy = null;
    this.rates = new LinkRates([]);
    this.rows = new Map(); // link id -> <tr>
    this.shown = false;
    this.saveTimer = null;
    this.viewportTimer = null;
    this.positions = {};
    this.loaded = false;
    elements.reset.addEventListener('click', () => this.resetLayout());
  }

  /**
   * The devices whose live view the map needs while it is shown: those on screen (a link off
   * screen at one end is measured at the other).
   */
  liveDevices() {
    if (!this.shown) return [];
    const linked = this.rates.devices();
    if (!this.cy) return linked.slice(0, MAX_LIVE);
    const { x1, x2, y1, y2 } = this.cy.extent();
    return linked.filter((id) => {
      const p = this.cy.getElementById(id).position();
      return p.x >= x1 && p.x <= x2 && p.y >= y1 && p.y <= y2;
    }).slice(0, MAX_LIVE);
  }

  show(visible) {
    this.shown = visible;
    this.e.view.hidden = !visible;
    if (visible) this.load();
  }

  /** Loads the topology and the user's layout, and draws them. */
  async load() {
    this.e.error.textContent = '';
    let topology;
    try {
      const [topo, layout] = await Promise.all([fetch('/api/topology'), fetch('/api/map/layout')]);
      if (!topo.ok) throw new Error(`loading the topology failed: ${(await readError(topo)).message}`);
      topology = await topo.json();
      this.positions = layout.ok ? ((await layout.json())?.positions ?? {}) : {};
    } catch (err) {
      this.e.error.textContent = err.message;
      return;
    }
    const { nodes, edges, left } = linkedOnly(elementsOf(topology, this.positions));
    this.rates = new LinkRates(edges);
    this.renderTable(nodes, edges);
    this.e.count.textContent = `${nodes.length} nodes, ${edges.length} links`
      + (left > 0 ? ` (${left} device${left === 1 ? '' : 's'} without neighbours not shown)` : '');
    const cytoscape = await library().catch((err) => {
      this.e.error.textContent = `the map library did not load: ${err.message}`;
      return null;
    });
    if (!cytoscape || !this.shown) return;
    this.cy?.destroy();
    const placed = nodes.length > 0 && nodes.every((n) => n.position);
    this.cy = cytoscape({
      container: this.e.canvas,
      elements: [...nodes, ...edges],
      style: STYLE,
      layout: placed ? { name: 'preset' } : { name: 'cose', animate: false, randomize: false, nodeDimensionsIncludeLabels: true },
      wheelSensitivity: 0.3,
    });
    // Nodes the user placed stay where they were put; the others where the layout put them.
    for (const node of nodes) {
      if (node.position) this.cy.getElementById(node.data.id).position(node.position);
    }
    // Once the user places a node, the whole layout is kept as it stands.
    this.cy.on('dragfree', 'node', () => {
      this.cy.nodes().forEach((n) => {
        this.positions[n.id()] = { ...n.position() };
      });
      this.saveSoon();
    });
    // Panning and zooming change the devices on screen, and so the live view asked for.
    this.cy.on('viewport', () => {
      clearTimeout(this.viewportTimer);
      this.viewportTimer = setTimeout(() => this.onLiveChange(), VIEWPORT_DELAY_MS);
    });
    this.cy.on('tap', 'node', (ev) => {
      const id = ev.target.id();
      if (ev.target.data('kind') === 'device') location.hash = `#/device/${encodeURIComponent(id)}`;
    });
    this.e.canvas.dataset.ready = 'true';
    this.loaded = true;
    this.onLiveChange();
  }

  saveSoon() {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(async () => {
      const res = await fetch('/api/map/layout', {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ positions: this.positions }),
      }).catch(() => null);
      this.e.status.textContent = res?.ok ? 'Layout saved.' : 'The layout could not be saved.';
    }, SAVE_DELAY_MS);
  }

  async resetLayout() {
    await fetch('/api/map/layout', { method: 'DELETE' }).catch(() => null);
    this.positions = {};
    this.e.status.textContent = 'Layout reset.';
    if (this.shown) this.load();
  }

  renderTable(nodes, edges) {
    const names = new Map(nodes.map((n) => [n.data.id, n.data.label]));
    this.rows = new Map();
    const rows = edges.map((edge) => {
      const d = edge.data;
      const tr = el('tr');
      tr.dataset.link = d.id;
      tr.append(
        el('td', 'map-end', `${names.get(d.source) ?? d.source} ${d.sourcePort}`),
        el('td', 'map-end', `${names.get(d.target) ?? d.target} ${d.targetPort}`),
        el('td', 'num map-util'),
      );
      this.rows.set(d.id, tr);
      this.fillRow(tr, d.utilisation, d.down);
      return tr;
    });
    this.e.links.replaceChildren(...rows);
  }

  fillRow(tr, utilisation, down) {
    const cell = tr.cells[2];
    const value = down ? `down${utilisation === null ? '' : ` · ${percent(utilisation)}`}` : percent(utilisation);
    if (cell.textContent !== value) cell.textContent = value;
    tr.dataset.band = band(utilisation, down);
  }

  apply(changed) {
    if (changed.size === 0) return;
    this.cy?.batch(() => {
      for (const [id, { utilisation, down }] of changed) {
        this.cy.getElementById(id).data({ utilisation, down, band: band(utilisation, down), width: edgeWidth(utilisation) });
      }
    });
    for (const [id, { utilisation, down }] of changed) {
      const tr = this.rows.get(id);
      if (tr) this.fillRow(tr, utilisation, down);
    }
  }

  /** A /ws sample (live or not). */
  onSample(msg) {
    if (!this.shown || !this.loaded) return;
    this.apply(this.rates.onSample(msg));
  }

  /** A /ws reachability change. */
  onStatus(msg) {
    if (!this.loaded) return;
    const device = String(msg.device);
    this.cy?.getElementById(device).data('state', String(msg.state));
    this.apply(this.rates.onStatus(device, String(msg.state)));
  }

  /** Devices were added or removed: the map is drawn again when shown. */
  devicesChanged() {
    if (this.shown) this.load();
  }
}

/** The map's legend, built once. */
export function renderLegend(container) {
  const items = [
    ['low', 'under 50 %'], ['busy', '50–80 %'], ['hot', 'over 80 %'], ['idle', 'no figure'], ['down', 'down'],
  ].map(([b, label]) => {
    const li = el('li');
    const swatch = el('span', 'map-swatch');
    swatch.style.background = BAND_COLOURS[b];
    li.append(swatch, el('span', undefined, label));
    return li;
  });
  container.replaceChildren(...items);
}

export const mapElements = () => ({
  view: $('#map-view'),
  canvas: $('#map-canvas'),
  status: $('#map-status'),
  error: $('#map-error'),
  links: $('#map-links tbody'),
  reset: $('#map-reset'),
  count: $('#map-count'),
});
