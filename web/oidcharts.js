// Small charts of a device's numeric extra OIDs on its page, one per OID, over the range the
// traffic charts show (traffic.js says which, through onRangeChange): the average as a line,
// the min-max spread as a faint band. Gauges, integers and timeticks are their values
// (timeticks read as durations), counters their rate per second. From
// GET /api/devices/{id}/history?oids=all; in the live range, loaded again every 30 s. A drag
// across a chart zooms every chart of the page, as on the traffic charts.
//
// OIDs come from users and types from devices: they reach the page only as text (chart titles
// drawn on the canvas, textContent and attributes).

import { fetchOidHistory } from './api.js';
import { el } from './dom.js';
import { formatCount, formatDateTime, formatPerSecond, formatUptime } from './format.js';
import { rowsFromOidSeries } from './series.js';
import { onThemeChange, theme, withAlpha } from './theme.js';
import { applyChartTheme, timeAxis } from './traffic.js';
import { attachDragZoom } from './zoom.js';

/** How often the live range is loaded again. */
const LIVE_REFRESH_MS = 30_000;
/** Points asked for per chart: the charts are small. */
const MAX_POINTS = 600;

/** A value of an OID as text: a duration for timeticks, "/s" for counters ('' for no number). */
export function oidValueText(value, type, perSecond) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '';
  if (perSecond) return formatPerSecond(value);
  if (type === 'timeticks') return formatUptime(value);
  return formatCount(value);
}

/** A chart's title: the OID and what its values are. */
export function oidTitle(oid, type, perSecond) {
  const what = String(type ?? 'value');
  return `${oid} (${perSecond ? `${what}, per second` : what})`;
}

function dataset(role, colour) {
  const band = role !== 'avg';
  return {
    role,
    band,
    label: role,
    data: [],
    borderColor: band ? 'transparent' : colour,
    backgroundColor: band ? withAlpha(colour, 0.19) : colour,
    borderWidth: band ? 0 : 1.5,
    pointRadius: 0,
    pointHoverRadius: band ? 0 : 3,
    tension: 0,
    spanGaps: false,
    fill: role === 'max' ? '-1' : false,
    order: band ? 2 : 1,
  };
}

function chartConfig(entry) {
  const colour = theme().in;
  return {
    type: 'line',
    data: { datasets: [dataset('avg', colour), dataset('min', colour), dataset('max', colour)] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: timeAxis(),
        y: { grace: '5%', ticks: { callback: (v) => oidValueText(v, entry.type, entry.perSecond) } },
      },
      plugins: {
        title: { display: true, text: oidTitle(entry.oid, entry.type, entry.perSecond) },
        legend: { display: false },
        tooltip: {
          filter: (item) => item.dataset.role === 'avg' && item.parsed.y !== null,
          callbacks: {
            title: (items) => (items.length > 0 ? formatDateTime(items[0].parsed.x) : ''),
            label: (item) => {
              const at = (role) => item.chart.data.datasets.find((d) => d.role === role)?.data[item.dataIndex]?.y ?? null;
              const text = (v) => oidValueText(v, entry.type, entry.perSecond);
              const [min, max] = [at('min'), at('max')];
              const spread = min !== null && max !== null && min !== max ? `, min ${text(min)}, max ${text(max)}` : '';
              return `${min !== max ? 'avg ' : ''}${text(item.parsed.y)}${spread}`;
            },
          },
        },
      },
    },
  };
}

/**
 * The extra OIDs' charts of the device page.
 *
 * `elements`: {section, list, note} (see index.html); `view`: the page's TrafficView, whose
 * range they follow and whose zoom a drag uses.
 */
export class OidCharts {
  constructor(elements, view) {
    this.ui = elements;
    this.view = view;
    /** oid -> {oid, type, perSecond, card, chart} */
    this.charts = new Map();
    /** {target, live, fromMs, toMs} followed, or null. */
    this.shown = null;
    /** Bumped whenever what is shown changes: answers for an older one are dropped. */
    this.generation = 0;
    this.abort = null;
    this.timer = null;
    view.onRangeChange((shown) => this.follow(shown));
    onThemeChange((t) => this.applyTheme(t));
  }

  /** The traffic view shows `shown` now (null: nothing). */
  follow(shown) {
    this.generation += 1;
    this.abort?.abort();
    clearTimeout(this.timer);
    this.timer = null;
    if (!shown || shown.target.id !== this.shown?.target.id) this.removeAll();
    this.shown = shown;
    if (!shown) return;
    this.load(this.generation);
  }

  async load(generation) {
    const { target, live } = this.shown;
    let { fromMs, toMs } = this.shown;
    if (live) {
      // The live range moves: the same span, ending now.
      const span = toMs - fromMs;
      toMs = Date.now();
      fromMs = toMs - span;
    }
    this.abort = new AbortController();
    this.setState('loading');
    try {
      const oids = await fetchOidHistory(target.id, fromMs, toMs, MAX_POINTS, this.abort.signal);
      if (generation !== this.generation) return;
      this.draw(oids, fromMs, toMs);
      this.ui.note.textContent = '';
      this.setState('ready');
    } catch (err) {
      if (generation !== this.generation) return;
      this.ui.note.textContent = `Extra OIDs' history unavailable: ${String(err?.message ?? err)}`;
      this.ui.section.hidden = false;
      this.setState('error');
    }
    if (live) this.timer = setTimeout(() => generation === this.generation && this.load(generation), LIVE_REFRESH_MS);
  }

  setState(state) {
    this.ui.section.dataset.state = state;
  }

  /** Draws the answer's series ({oid: {type, per_second, points}}) over [fromMs, toMs]. */
  draw(oids, fromMs, toMs) {
    const names = Object.keys(oids).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    for (const [oid, entry] of [...this.charts]) {
      const series = oids[oid];
      // Gone, or its type changed (its title and axis would be wrong): drawn anew.
      if (!series || String(series.type) !== entry.type || Boolean(series.per_second) !== entry.perSecond) this.remove(oid);
    }
    if (typeof Chart === 'undefined') {
      this.ui.note.textContent = 'Chart.js failed to load.';
      return;
    }
    for (const oid of names) {
      const series = oids[oid];
      const entry = this.charts.get(oid) ?? this.add(oid, String(series.type), Boolean(series.per_second));
      const rows = rowsFromOidSeries(series);
      for (const d of entry.chart.data.datasets) d.data = rows.map((r) => ({ x: r.t, y: r[d.role] }));
      entry.chart.options.scales.x.min = fromMs;
      entry.chart.options.scales.x.max = toMs;
      entry.chart.update('none');
    }
    // Keep the cards in OID order.
    this.ui.list.replaceChildren(...names.map((oid) => this.charts.get(oid).card));
    this.ui.section.hidden = names.length === 0;
  }

  add(oid, type, perSecond) {
    const card = el('figure', 'chart-card');
    card.dataset.oid = oid;
    const wrap = el('div', 'chart');
    const canvas = el('canvas');
    canvas.dataset.oid = oid;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${oidTitle(oid, type, perSecond)} over the chosen range`);
    const box = el('div', 'zoom-selection');
    box.hidden = true;
    box.setAttribute('aria-hidden', 'true');
    wrap.append(canvas, box);
    card.append(wrap);
    const entry = { oid, type, perSecond, card, chart: null };
    entry.chart = new Chart(canvas, chartConfig(entry));
    applyChartTheme(entry.chart, theme());
    attachDragZoom(entry.chart, box, (from, to) => this.view.zoomTo(from, to));
    this.charts.set(oid, entry);
    return entry;
  }

  remove(oid) {
    const entry = this.charts.get(oid);
    if (!entry) return;
    entry.chart.destroy();
    entry.card.remove();
    this.charts.delete(oid);
  }

  removeAll() {
    for (const oid of [...this.charts.keys()]) this.remove(oid);
    this.ui.list.replaceChildren();
    this.ui.note.textContent = '';
    this.ui.section.hidden = true;
  }

  applyTheme(t) {
    for (const entry of this.charts.values()) {
      for (const d of entry.chart.data.datasets) {
        if (d.band) d.backgroundColor = withAlpha(t.in, 0.19);
        else {
          d.borderColor = t.in;
          d.backgroundColor = t.in;
        }
      }
      applyChartTheme(entry.chart, t);
      entry.chart.update('none');
    }
  }
}
