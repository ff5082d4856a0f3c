// The overview, the landing view: every device in one table (status with symbol, word and
// since when, name and sysName, address, uptime, total in/out rate, a sparkline of the last
// hour, its three busiest interfaces, its tags), counts of up / down / unknown at the top,
// sortable by the column headers and filterable by text, tag (`tag:NAME` in the text filter)
// and status. Live from /ws: samples move the rates and sparklines, status messages move
// rows. Down devices sort first by default.
//
// Device strings (names, sysName, interface names, tags) reach the DOM as text only.

import { el } from './dom.js';
import { formatBps, formatUptime, num } from './format.js';
import { errorRates } from './ifacetable.js';
import { drawSparkline, SPARK_WINDOW_MS } from './sparkline.js';
import { reachability, renderStatusBadge } from './status.js';
import { onThemeChange, theme } from './theme.js';

/** Quiet time that gathers changes into one render. */
const RENDER_DELAY_MS = 200;
/** Refresh of "since ... (n min ago)" texts. */
const TICK_MS = 15_000;
/** Sparklines fetched at once. */
const SPARK_CONCURRENCY = 4;

const STATE_RANK = { down: 0, unknown: 1, up: 2 };

/**
 * A device's traffic as the gateway sends it, the same shape in a device's `latest` (GET
 * /api/devices) and a /ws sample (totals included), as the page keeps it: `{timeMs,
 * uptimeTicks, inBps, outBps, interfaces: [{index, name, speedBps, inBps, outBps, inErrors,
 * outErrors, inDiscards, outDiscards}]}` (errors and discards per second, null without).
 */
export function trafficOf(source) {
  if (!source || typeof source !== 'object') return null;
  const interfaces = (Array.isArray(source.interfaces) ? source.interfaces : [])
    .filter((i) => Number.isInteger(i?.index))
    .map((i) => ({
      index: i.index,
      name: typeof i.name === 'string' && i.name ? i.name : null,
      speedBps: num(i.speed_bps),
      inBps: num(i.in_bps),
      outBps: num(i.out_bps),
      // Errors and discards per second, when the device polls them.
      ...errorRates(i),
    }));
  return {
    timeMs: num(source.time_ms),
    uptimeTicks: num(source.uptime_ticks),
    inBps: num(source.in_bps),
    outBps: num(source.out_bps),
    interfaces,
  };
}

/**
 * The text filter read: words `tag:NAME` ask for devices carrying tag NAME (every one named,
 * when several; compared lower-cased, as tags are kept); the rest, trimmed, is text to find
 * as before. `{text, tags}`, both lower-cased.
 */
export function parseFilter(q) {
  const lower = String(q).toLowerCase();
  const tags = [];
  for (const [, tag] of lower.matchAll(/(?:^|\s)tag:(\S+)/g)) if (!tags.includes(tag)) tags.push(tag);
  return { text: lower.replace(/(?:^|\s)tag:\S*/g, ' ').trim(), tags };
}

/** A device's tags (GET /api/devices `tags`), as strings. */
const tagsOf = (device) => (Array.isArray(device?.tags) ? device.tags.map(String) : []);

const busiest = (traffic) => (traffic?.interfaces ?? [])
  .filter((i) => i.inBps !== null || i.outBps !== null)
  .sort((a, b) => ((b.inBps ?? 0) + (b.outBps ?? 0)) - ((a.inBps ?? 0) + (a.outBps ?? 0)))
  .slice(0, 3);

const SORTS = {
  status: (a, b) => STATE_RANK[reachability(a.device)] - STATE_RANK[reachability(b.device)],
  name: (a, b) => String(a.device.name).localeCompare(String(b.device.name)),
  address: (a, b) => String(a.device.address).localeCompare(String(b.device.address), undefined, { numeric: true }),
  traffic: (a, b) => ((a.traffic?.inBps ?? -1) + (a.traffic?.outBps ?? 0)) - ((b.traffic?.inBps ?? -1) + (b.traffic?.outBps ?? 0)),
};

export class OverviewView {
  /**
   * @param els {table, empty, shown, filter, counts, error}: the devices table, the
   *   "no devices" note, the "n of m shown" line, the filter form (input `q`, select
   *   `state`), the group of count buttons, the error line.
   * @param onOpen called with a device id when a row is chosen.
   */
  constructor(els, onOpen) {
    this.els = els;
    this.onOpen = onOpen;
    this.devices = new Map(); // id -> device JSON
    this.traffic = new Map(); // id -> trafficOf(...)
    this.sparks = new Map(); // id -> [{t, in, out}] oldest first
    this.rows = new Map(); // id -> {tr, cells...}
    this.dirtySparks = new Set();
    /** Status first (down on top) unless the user chose another column; `desc` flips it. */
    this.sort = { key: 'status', desc: false };
    this.timer = null;
    this.colours = theme();
    this.bind();
    onThemeChange((t) => {
      this.colours = t;
      for (const id of this.rows.keys()) this.dirtySparks.add(id);
      this.scheduleRender();
    });
    setInterval(() => this.scheduleRender(), TICK_MS);
  }

  bind() {
    const { table, filter, counts } = this.els;
    for (const th of table.tHead.querySelectorAll('th[data-sort]')) {
      th.querySelector('button').addEventListener('click', () => {
        const key = th.dataset.sort;
        this.sort = { key, desc: this.sort.key === key ? !this.sort.desc : key === 'traffic' };
        this.render();
      });
    }
    filter.addEventListener('submit', (ev) => ev.preventDefault());
    filter.addEventListener('input', () => this.render());
    for (const button of counts.querySelectorAll('button[data-state]')) {
      button.addEventListener('click', () => {
        const select = filter.elements.state;
        select.value = select.value === button.dataset.state ? '' : button.dataset.state;
        this.render();
      });
    }
  }

  /** Every device (GET /api/devices): their `latest` gives numbers at once. */
  setDevices(list) {
    this.devices = new Map(list.map((d) => [String(d.id), d]));
    for (const [id, device] of this.devices) {
      const latest = trafficOf(device.latest);
      const known = this.traffic.get(id);
      // Keep what /ws brought if it is newer than the list's summary.
      if (latest && !(known && (known.timeMs ?? 0) > (latest.timeMs ?? 0))) this.traffic.set(id, latest);
    }
    for (const id of [...this.traffic.keys()]) if (!this.devices.has(id)) this.forget(id);
    this.render();
  }

  upsert(device) {
    const id = String(device.id);
    this.devices.set(id, device);
    const latest = trafficOf(device.latest);
    if (latest && !this.traffic.has(id)) this.traffic.set(id, latest);
    if (!this.sparks.has(id)) this.loadSparklines([id]);
    this.scheduleRender();
  }

  forget(id) {
    this.devices.delete(id);
    this.traffic.delete(id);
    this.sparks.delete(id);
    this.rows.get(id)?.tr.remove();
    this.rows.delete(id);
    this.scheduleRender();
  }

  /** A /ws sample: rates now; normal (not live) samples also extend the sparkline. */
  onSample(msg) {
    const id = String(msg.device);
    if (!this.devices.has(id)) return;
    const traffic = trafficOf(msg);
    const known = this.traffic.get(id);
    // Names and speeds come once discovery knows the interface: keep the ones known.
    for (const i of traffic.interfaces) {
      const old = known?.interfaces.find((k) => k.index === i.index);
      i.name ??= old?.name ?? null;
      i.speedBps ??= old?.speedBps ?? null;
    }
    this.traffic.set(id, traffic);
    if (msg.live !== true && (traffic.inBps !== null || traffic.outBps !== null)) {
      const points = this.sparks.get(id);
      if (points) {
        points.push({ t: traffic.timeMs ?? Date.now(), in: traffic.inBps, out: traffic.outBps });
        const cut = Date.now() - SPARK_WINDOW_MS;
        while (points.length > 0 && points[0].t < cut) points.shift();
      }
    }
    this.dirtySparks.add(id);
    this.scheduleRender();
  }

  /** A /ws status message: the row's badge, counts and order. */
  onStatus(msg) {
    const device = this.devices.get(String(msg.device));
    if (!device) return;
    device.status = { ...(device.status ?? {}), state: msg.state, since_ms: msg.time_ms, reason: msg.reason ?? null };
    this.render();
  }

  /** Loads the last hour of each device's totals (all devices when `ids` is not given). */
  async loadSparklines(ids = [...this.devices.keys()]) {
    const queue = [...ids];
    const worker = async () => {
      while (queue.length > 0) {
        const id = queue.shift();
        try {
          const res = await fetch(`/api/devices/${encodeURIComponent(id)}/sparkline?minutes=60`, { headers: { Accept: 'application/json' } });
          if (!res.ok) continue;
          const body = await res.json();
          const points = (Array.isArray(body?.points) ? body.points : [])
            .filter((p) => num(p?.time_ms) !== null)
            .map((p) => ({ t: p.time_ms, in: num(p.in_bps), out: num(p.out_bps) }));
          // Samples that came while it loaded stay after the stored minutes.
          const lastStored = points.at(-1)?.t ?? -Infinity;
          const live = (this.sparks.get(id) ?? []).filter((p) => p.t > lastStored);
          if (!this.devices.has(id)) continue;
          this.sparks.set(id, [...points, ...live]);
          this.dirtySparks.add(id);
          this.scheduleRender();
        } catch {
          // A sparkline is an extra: the row works without it.
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SPARK_CONCURRENCY, queue.length) }, worker));
  }

  scheduleRender() {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.render();
    }, RENDER_DELAY_MS);
  }

  /** The devices the filters let through, in the chosen order. */
  visible() {
    const f = this.els.filter.elements;
    const { text: q, tags: wantedTags } = parseFilter(f.q.value);
    const wanted = f.state.value;
    const items = [...this.devices.entries()].map(([id, device]) => ({ id, device, traffic: this.traffic.get(id) }));
    const shown = items.filter(({ device, traffic }) => {
      if (wanted && reachability(device) !== wanted) return false;
      const tags = tagsOf(device);
      if (!wantedTags.every((t) => tags.some((have) => have.toLowerCase() === t))) return false;
      if (!q) return true;
      const texts = [device.name, device.address, device.id, device.system?.name, ...tags, ...(traffic?.interfaces ?? []).map((i) => i.name)];
      return texts.some((t) => typeof t === 'string' && t.toLowerCase().includes(q));
    });
    const compare = SORTS[this.sort.key] ?? SORTS.status;
    const sign = this.sort.desc ? -1 : 1;
    shown.sort((a, b) => sign * compare(a, b) || SORTS.name(a, b));
    return { shown, total: items.length };
  }

  render() {
    clearTimeout(this.timer);
    this.timer = null;
    const { table, empty, shown: shownLine, counts } = this.els;
    const { shown, total: all } = this.visible();
    const tbody = table.tBodies[0];
    // Reuse each device's row (focus stays on it), only putting rows in order.
    const ordered = shown.map(({ id, device, traffic }) => {
      const row = this.rowFor(id);
      this.fill(row, device, traffic);
      return row.tr;
    });
    const current = [...tbody.children];
    if (current.length !== ordered.length || current.some((tr, i) => tr !== ordered[i])) {
      const focused = document.activeElement;
      tbody.replaceChildren(...ordered);
      if (focused && ordered.includes(focused)) focused.focus();
    }
    for (const { id } of shown) {
      if (this.dirtySparks.has(id)) this.drawSpark(id);
    }
    this.dirtySparks.clear();
    empty.hidden = all > 0;
    shownLine.textContent = all === 0 ? '' : shown.length === all ? `${all} ${all === 1 ? 'device' : 'devices'}` : `${shown.length} of ${all} devices shown`;
    for (const th of table.tHead.querySelectorAll('th[data-sort]')) {
      if (th.dataset.sort === this.sort.key) th.setAttribute('aria-sort', this.sort.desc ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
    const tally = { up: 0, down: 0, unknown: 0 };
    for (const device of this.devices.values()) tally[reachability(device)] += 1;
    for (const [state, n] of Object.entries(tally)) document.getElementById(`count-${state}`).textContent = String(n);
    document.getElementById('count-total').textContent = String(all);
    const wanted = this.els.filter.elements.state.value;
    for (const button of counts.querySelectorAll('button[data-state]')) {
      button.setAttribute('aria-pressed', String(button.dataset.state === wanted && wanted !== ''));
      button.classList.toggle('alarm', button.dataset.state === 'down' && tally.down > 0);
    }
  }

  rowFor(id) {
    let row = this.rows.get(id);
    if (row) return row;
    const tr = el('tr', 'device-row');
    tr.dataset.deviceId = id;
    tr.tabIndex = 0;
    const cell = (className) => {
      const td = el('td', className);
      tr.append(td);
      return td;
    };
    row = { tr };
    row.status = cell('cell-status');
    row.statusBadge = el('span', 'status');
    row.status.append(row.statusBadge);
    const who = cell('cell-device');
    row.name = el('span', 'device-name');
    row.sysName = el('span', 'device-sysname muted');
    row.tags = el('span', 'device-tags muted');
    who.append(row.name, row.sysName, row.tags);
    row.address = el('span', 'device-address');
    cell('cell-address').append(row.address);
    row.uptime = cell('cell-uptime device-uptime');
    const rates = cell('cell-rates num');
    row.inRate = el('span', 'rate rate-in');
    row.outRate = el('span', 'rate rate-out');
    rates.append(row.inRate, row.outRate);
    row.spark = el('canvas', 'sparkline');
    row.spark.setAttribute('role', 'img');
    cell('cell-spark').append(row.spark);
    row.busiest = el('ol', 'busiest');
    cell('cell-busiest').append(row.busiest);
    tr.addEventListener('click', () => this.onOpen(id));
    tr.addEventListener('keydown', (ev) => {
      if (ev.target === tr && (ev.key === 'Enter' || ev.key === ' ')) {
        ev.preventDefault();
        this.onOpen(id);
      }
    });
    this.rows.set(id, row);
    this.dirtySparks.add(id);
    return row;
  }

  fill(row, device, latest) {
    const state = reachability(device);
    // A down device's last rates are history, not what it carries now: not shown as current.
    const traffic = state === 'down' ? null : latest;
    row.tr.dataset.state = state;
    row.tr.classList.toggle('down', state === 'down');
    renderStatusBadge(row.statusBadge, device);
    setText(row.name, String(device.name ?? device.id));
    setText(row.sysName, device.system?.name ? `sysName ${String(device.system.name)}` : '');
    const tags = tagsOf(device);
    setText(row.tags, tags.length > 0 ? `tags ${tags.join(', ')}` : '');
    setText(row.address, String(device.address ?? ''));
    setText(row.uptime, formatUptime(traffic?.uptimeTicks ?? null));
    const rate = (v) => (v === null || v === undefined ? '–' : formatBps(v));
    setText(row.inRate, `in ${rate(traffic?.inBps)}`);
    setText(row.outRate, `out ${rate(traffic?.outBps)}`);
    row.tr.setAttribute('aria-label', `${String(device.name ?? device.id)}: ${state}, in ${rate(traffic?.inBps)}, out ${rate(traffic?.outBps)}`);
    const top = busiest(traffic);
    const items = top.map((i) => {
      const li = el('li');
      li.append(el('span', 'busiest-name', i.name ?? `ifIndex ${i.index}`), el('span', 'busiest-rate', formatBps(Math.max(i.inBps ?? 0, i.outBps ?? 0))));
      return li;
    });
    const signature = top.map((i) => `${i.name}|${Math.round(i.inBps ?? 0)}|${Math.round(i.outBps ?? 0)}`).join(';');
    if (row.busiest.dataset.signature !== signature) {
      row.busiest.dataset.signature = signature;
      row.busiest.replaceChildren(...items);
    }
  }

  drawSpark(id) {
    const row = this.rows.get(id);
    if (!row) return;
    const points = this.sparks.get(id) ?? [];
    drawSparkline(row.spark, points, Date.now(), this.colours);
    row.spark.dataset.points = String(points.length);
    const last = points.at(-1);
    row.spark.setAttribute('aria-label', last
      ? `last hour of traffic, latest in ${formatBps(last.in) || 'no data'}, out ${formatBps(last.out) || 'no data'}`
      : 'last hour of traffic: no data yet');
  }
}

// Writes text only when it changed (no needless layout on every sample).
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
