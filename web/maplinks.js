// The map's arithmetic, apart from the page so that it is tested without a browser: the
// colour and width of a link from its utilisation, the graph elements of a topology (GET
// /api/topology) with saved positions, and what a /ws sample changes of the links.

/** Utilisation from which a link is drawn amber, and red. */
export const BUSY = 0.5;
export const HOT = 0.8;

/** The band of a utilisation: 'idle' (no figure), 'low', 'busy', 'hot', or 'down'. */
export function band(utilisation, down) {
  if (down) return 'down';
  if (typeof utilisation !== 'number' || !Number.isFinite(utilisation)) return 'idle';
  if (utilisation >= HOT) return 'hot';
  if (utilisation >= BUSY) return 'busy';
  return 'low';
}

/** Line colour of each band (also the legend's). */
export const BAND_COLOURS = {
  idle: '#8a94a6',
  low: '#2e9e5b',
  busy: '#e0a100',
  hot: '#d9480f',
  down: '#c92a2a',
};

/** Line width in pixels: 2 idle, growing with utilisation to 12 at full. */
export function edgeWidth(utilisation) {
  if (typeof utilisation !== 'number' || !Number.isFinite(utilisation)) return 2;
  return 2 + 10 * Math.min(Math.max(utilisation, 0), 1);
}

/** A utilisation as a percentage for people ('–' without one). */
export function percent(utilisation) {
  if (typeof utilisation !== 'number' || !Number.isFinite(utilisation)) return '–';
  const p = utilisation * 100;
  return `${p < 10 ? p.toFixed(1) : Math.round(p)} %`;
}

const text = (v) => (typeof v === 'string' ? v : v === null || v === undefined ? '' : String(v));

/**
 * The graph's elements: a node per topology node and an edge per link, each edge with the
 * ends it is measured at. Positions saved by the user are kept for the nodes they name.
 * @returns {{nodes: object[], edges: object[]}} cytoscape element definitions
 */
export function elementsOf(topology, positions = {}) {
  const nodes = [];
  const edges = [];
  const ids = new Set();
  for (const node of Array.isArray(topology?.nodes) ? topology.nodes : []) {
    const id = text(node.id);
    if (!id || ids.has(id)) continue;
    ids.add(id);
    const element = {
      group: 'nodes',
      data: {
        id,
        label: text(node.name) || id,
        kind: node.kind === 'device' ? 'device' : 'unknown',
        state: text(node.state) || 'unknown',
        platform: text(node.platform),
      },
    };
    const at = positions?.[id];
    if (at && Number.isFinite(at.x) && Number.isFinite(at.y)) element.position = { x: at.x, y: at.y };
    nodes.push(element);
  }
  for (const link of Array.isArray(topology?.links) ? topology.links : []) {
    const source = text(link?.source?.node);
    const target = text(link?.target?.node);
    if (!ids.has(source) || !ids.has(target)) continue;
    const utilisation = typeof link.utilisation === 'number' ? link.utilisation : null;
    const down = link.state === 'down';
    edges.push({
      group: 'edges',
      data: {
        id: text(link.id),
        source,
        target,
        sourcePort: text(link.source.port),
        targetPort: text(link.target.port),
        sourceIf: Number.isInteger(link.source.if_index) ? link.source.if_index : null,
        targetIf: Number.isInteger(link.target.if_index) ? link.target.if_index : null,
        speed: Number.isFinite(link.speed_bps) ? link.speed_bps : null,
        utilisation,
        down,
        band: band(utilisation, down),
        width: edgeWidth(utilisation),
      },
    });
  }
  return { nodes, edges };
}

/**
 * The elements without the nodes no edge touches (devices without neighbours: a map of
 * thousands of isolated nodes says nothing), and how many were left out.
 */
export function linkedOnly({ nodes, edges }) {
  const touched = new Set();
  for (const edge of edges) {
    touched.add(edge.data.source);
    touched.add(edge.data.target);
  }
  const kept = nodes.filter((n) => touched.has(n.data.id));
  return { nodes: kept, edges, left: nodes.length - kept.length };
}

/**
 * Keeps each link's ends' latest rates, and gives the links a sample changes.
 * Each link is measured at the ends netpulse polls: its utilisation is the highest of either
 * end's in or out over its speed.
 */
export class LinkRates {
  /** @param edges the edges of `elementsOf` */
  constructor(edges) {
    this.links = new Map(); // link id -> {ends: [{device, index}], speed, down}
    this.byEnd = new Map(); // "device\u0000index" -> [link id]
    this.ends = new Map(); // "device\u0000index" -> {utilisation, down}
    this.devicesDown = new Set();
    for (const edge of edges) {
      const d = edge.data;
      const ends = [];
      if (d.sourceIf !== null) ends.push({ device: d.source, index: d.sourceIf });
      if (d.targetIf !== null) ends.push({ device: d.target, index: d.targetIf });
      this.links.set(d.id, { ends, nodes: [d.source, d.target], speed: d.speed, down: d.down, utilisation: d.utilisation });
      for (const end of ends) {
        const key = `${end.device}\u0000${end.index}`;
        if (!this.byEnd.has(key)) this.byEnd.set(key, []);
        this.byEnd.get(key).push(d.id);
      }
    }
  }

  /** The devices at either end of some link (those whose live view the map needs). */
  devices() {
    const devices = new Set();
    for (const link of this.links.values()) for (const end of link.ends) devices.add(end.device);
    return [...devices];
  }

  /**
   * A /ws sample: each interface at a link's end updates that link.
   * @returns {Map<string, {utilisation: number|null, down: boolean}>} the links it changed
   */
  onSample(msg) {
    const changed = new Map();
    const device = text(msg?.device);
    for (const i of Array.isArray(msg?.interfaces) ? msg.interfaces : []) {
      const key = `${device}\u0000${i?.index}`;
      const links = this.byEnd.get(key);
      if (!links) continue;
      const link = this.links.get(links[0]);
      const speed = Number.isFinite(i.speed_bps) && i.speed_bps > 0 ? i.speed_bps : link?.speed;
      const rates = [i.in_bps, i.out_bps].filter((v) => typeof v === 'number' && Number.isFinite(v));
      const utilisation = speed > 0 && rates.length > 0 ? Math.max(...rates) / speed : null;
      const down = typeof i.oper_status === 'string' ? i.oper_status !== 'up' : null;
      this.ends.set(key, { utilisation, down });
      for (const id of links) changed.set(id, this.measure(id));
    }
    return changed;
  }

  /** A device's reachability changed: the links it ends. */
  onStatus(device, state) {
    if (state === 'down') this.devicesDown.add(device);
    else this.devicesDown.delete(device);
    const changed = new Map();
    for (const [id, link] of this.links) {
      if (link.nodes.includes(device)) changed.set(id, this.measure(id));
    }
    return changed;
  }

  measure(id) {
    const link = this.links.get(id);
    let utilisation = null;
    let down = false;
    let known = false;
    if (link.nodes.some((n) => this.devicesDown.has(n))) down = true;
    for (const end of link.ends) {
      const seen = this.ends.get(`${end.device}\u0000${end.index}`);
      if (!seen) continue;
      known = true;
      if (seen.down) down = true;
      if (seen.utilisation !== null) utilisation = Math.max(utilisation ?? 0, seen.utilisation);
    }
    if (!known) {
      utilisation = link.utilisation;
      down = down || link.down;
    }
    return { utilisation, down };
  }
}
