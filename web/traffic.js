// Traffic charts of one device, one per interface, over a chosen time range: "Live 15 min"
// (stored history of the last 15 minutes, then samples from /ws as they come), a fixed span
// (1 h to 30 d), or a custom span typed in or dragged on a chart. Ranges other than live come
// from the history API: the average in and out as lines, the min-max spread as a faint band,
// the 95th percentile of each direction as a dashed line. The shown range exports as CSV or
// JSON. A removed device's kept history uses the same view without the live range. Above the
// per-interface charts, one chart stacks the charted interfaces' totals: in above the axis,
// out below it. Colours come from the page's theme (theme.js) and follow it. Other views
// that follow the same range (oidcharts.js) listen with onRangeChange.
//
// Strings from devices (interface names) reach the page only as text: chart titles drawn on
// the canvas, textContent and attributes.

import { fetchHistory } from './api.js';
import { el } from './dom.js';
import { attachDragZoom } from './zoom.js';
import { downloadText, historyCsv } from './export.js';
import { DAY, HOUR, fileStamp, formatBps, formatDateTime, formatDuration, formatTick, fromLocalInput, timeTicks, toLocalInput } from './format.js';
import { LIVE_WINDOW_MS, mergeLive, percentile95, rowsFromHistory } from './series.js';
import { onThemeChange, theme, withAlpha } from './theme.js';

/** Quiet time gathering redraws of the total chart. */
const TOTAL_DELAY_MS = 100;

/** Span of each fixed range; `custom` has its own from and to. */
const SPANS = { live: LIVE_WINDOW_MS, '1h': HOUR, '6h': 6 * HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY };
/** The API answers at most this many points per request in this view. */
const MAX_POINTS = 5000;
/** The narrowest span a drag zooms to. */
const MIN_ZOOM_MS = 10_000;

// Which row field each dataset draws, by the dataset's role.
const ROW_FIELD = {
  in: 'inAvg', out: 'outAvg', 'in-min': 'inMin', 'in-max': 'inMax', 'out-min': 'outMin', 'out-max': 'outMax',
};

// A point with gaps on both sides has no line to show it: draw it as a dot.
function isolatedRadius(ctx) {
  if (ctx.type !== 'data') return 0;
  const data = ctx.dataset.data;
  const i = ctx.dataIndex;
  const gap = (j) => typeof data[j]?.y !== 'number';
  return gap(i) || !(gap(i - 1) && gap(i + 1)) ? 0 : 2;
}

function lineDataset(role, color) {
  return {
    role,
    label: role,
    data: [],
    borderColor: color,
    backgroundColor: color,
    borderWidth: 1.5,
    pointRadius: isolatedRadius,
    pointHoverRadius: 3,
    tension: 0,
    spanGaps: false,
    fill: false,
    order: 1,
  };
}

// The min-max spread: the max line fills down to the min line just before it.
function bandDataset(role, color, fill) {
  return {
    role,
    band: true,
    label: role,
    data: [],
    borderWidth: 0,
    borderColor: 'transparent',
    backgroundColor: withAlpha(color, 0.19),
    pointRadius: 0,
    pointHoverRadius: 0,
    tension: 0,
    spanGaps: false,
    fill,
    order: 3,
  };
}

function percentileDataset(role, color) {
  return {
    role,
    label: role,
    data: [],
    borderColor: color,
    backgroundColor: color,
    borderDash: [6, 4],
    borderWidth: 1,
    pointRadius: 0,
    pointHoverRadius: 0,
    tension: 0,
    spanGaps: false,
    fill: false,
    order: 2,
  };
}

const chartTitle = (iface) => (iface.name ? `${iface.name} (ifIndex ${iface.index})` : `ifIndex ${iface.index}`);

function tooltipLabel(item) {
  const role = item.dataset.role;
  const datasets = item.chart.data.datasets;
  const at = (r) => datasets.find((d) => d.role === r)?.data[item.dataIndex]?.y ?? null;
  const min = at(`${role}-min`);
  const max = at(`${role}-max`);
  const spread = min !== null && max !== null ? `, min ${formatBps(min)}, max ${formatBps(max)}` : '';
  return `${role}: ${min !== null ? 'avg ' : ''}${formatBps(item.parsed.y)}${spread}`;
}

// Legend: "in" and "out" show and hide their spread with them; the spreads have no entry.
function legendClick(_ev, item, legend) {
  const chart = legend.chart;
  const role = chart.data.datasets[item.datasetIndex].role;
  const visible = chart.isDatasetVisible(item.datasetIndex);
  chart.data.datasets.forEach((d, i) => {
    if (d.role === role || d.role === `${role}-min` || d.role === `${role}-max`) chart.setDatasetVisibility(i, !visible);
  });
  chart.update('none');
}

// The colours of a per-interface chart's datasets, by role.
function roleColour(role, t) {
  return role === 'in' || role.startsWith('in-') || role === 'p95-in' ? t.in : t.out;
}

/** Axis, grid and title colours of any chart, from the theme. */
export function applyChartTheme(chart, t) {
  const { x, y } = chart.options.scales;
  for (const scale of [x, y]) {
    scale.ticks.color = t.text;
    scale.grid = { ...(scale.grid ?? {}), color: t.grid };
    scale.border = { ...(scale.border ?? {}), color: t.grid };
  }
  chart.options.plugins.title.color = t.title;
  chart.options.plugins.legend.labels.color = t.text;
}

/** An x axis of Unix milliseconds with round local-time ticks. */
export function timeAxis() {
  return {
    type: 'linear',
    afterBuildTicks: (scale) => {
      scale.ticks = timeTicks(scale.min, scale.max, 7).map((value) => ({ value }));
    },
    ticks: {
      maxRotation: 0,
      autoSkip: false,
      callback: (value, _i, ticks) => formatTick(value, ticks.length > 1 ? ticks[1].value - ticks[0].value : DAY),
    },
  };
}

function chartConfig(iface) {
  const colours = theme();
  return {
    type: 'line',
    data: {
      datasets: [
        lineDataset('in', colours.in),
        lineDataset('out', colours.out),
        bandDataset('in-min', colours.in, false),
        bandDataset('in-max', colours.in, '-1'),
        bandDataset('out-min', colours.out, false),
        bandDataset('out-max', colours.out, '-1'),
        percentileDataset('p95-in', colours.in),
        percentileDataset('p95-out', colours.out),
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      // Every dataset has a point at each time, so "index" finds the same time in each.
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: timeAxis(),
        y: { beginAtZero: true, grace: '5%', ticks: { callback: (v) => formatBps(v) } },
      },
      plugins: {
        title: { display: true, text: chartTitle(iface) },
        legend: {
          labels: { boxHeight: 2, filter: (item, data) => !data.datasets[item.datasetIndex].band },
          onClick: legendClick,
        },
        tooltip: {
          filter: (item) => (item.dataset.role === 'in' || item.dataset.role === 'out') && item.parsed.y !== null,
          callbacks: {
            title: (items) => (items.length > 0 ? formatDateTime(items[0].parsed.x) : ''),
            label: tooltipLabel,
          },
        },
      },
    },
  };
}

// The stacked total: per interface an "in" dataset above the axis and an "out" one below.
function totalConfig() {
  return {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      scales: {
        x: timeAxis(),
        y: { stacked: true, grace: '5%', ticks: { callback: (v) => formatBps(Math.abs(v)) } },
      },
      plugins: {
        title: { display: true, text: 'Total of the charted interfaces, stacked (in above the axis, out below)' },
        legend: {
          labels: { boxHeight: 8, filter: (item, data) => data.datasets[item.datasetIndex].stack === 'in' },
          // An interface's entry shows and hides both its directions.
          onClick: (_ev, item, legend) => {
            const chart = legend.chart;
            const index = chart.data.datasets[item.datasetIndex].ifIndex;
            const visible = chart.isDatasetVisible(item.datasetIndex);
            chart.data.datasets.forEach((d, i) => {
              if (d.ifIndex === index) chart.setDatasetVisibility(i, !visible);
            });
            chart.update('none');
          },
        },
        tooltip: {
          filter: (item) => item.parsed.y !== null,
          callbacks: {
            title: (items) => (items.length > 0 ? formatDateTime(items[0].parsed.x) : ''),
            label: (item) => `${item.dataset.label}: ${formatBps(Math.abs(item.parsed.y))}`,
          },
        },
      },
    },
  };
}

/**
 * The charts and the range bar of the detail panel.
 *
 * `elements`: the range bar's parts and the charts container (see index.html).
 * `liveRows(deviceId, ifIndex)`: the rows /ws has brought for an interface, oldest first.
 */
export class TrafficView {
  constructor(elements, liveRows) {
    this.ui = elements;
    this.liveRows = liveRows;
    /** { id, live, endMs, label }: whose history; `live` offers the live range; ranges end at endMs (null: now). */
    this.target = null;
    /** { key, fromMs, toMs } (live has no fixed span). */
    this.range = { key: 'live' };
    /** Ranges to go back to, most recent last (drags push, "Reset zoom" pops). */
    this.zoomStack = [];
    /** ifIndex -> chart entry. */
    this.entries = new Map();
    /** Bumped whenever what is shown changes: answers for an older one are dropped. */
    this.generation = 0;
    this.abort = null;
    this.customOpen = false;
    /** The stacked total chart {card, chart, note}, while interfaces are charted. */
    this.total = null;
    this.totalTimer = null;
    /** Called with the shown target and range whenever they change (see onRangeChange). */
    this.rangeListeners = [];
    this.bind();
    onThemeChange((t) => this.applyTheme(t));
  }

  /** New colours (the colour scheme changed): every chart takes them. */
  applyTheme(t) {
    for (const entry of this.entries.values()) {
      for (const d of entry.chart.data.datasets) {
        const colour = roleColour(d.role, t);
        if (d.band) d.backgroundColor = withAlpha(colour, 0.19);
        else {
          d.borderColor = colour;
          d.backgroundColor = colour;
        }
      }
      applyChartTheme(entry.chart, t);
      entry.chart.update('none');
    }
    if (this.total) {
      applyChartTheme(this.total.chart, t);
      this.drawTotal();
    }
  }

  bind() {
    const { bar, customForm, zoomReset, exportCsv, exportJson } = this.ui;
    for (const button of bar.querySelectorAll('button[data-range]')) {
      button.addEventListener('click', () => this.choose(button.dataset.range));
    }
    customForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.applyCustom();
    });
    customForm.addEventListener('input', (ev) => ev.target.removeAttribute?.('aria-invalid'));
    zoomReset.addEventListener('click', () => this.unzoom());
    exportCsv.addEventListener('click', () => this.exportAs('csv'));
    exportJson.addEventListener('click', () => this.exportAs('json'));
  }

  get isLive() {
    return this.range.key === 'live';
  }

  /** Shows `target`'s charts for `interfaces` ([{index, name, query}]), from its default range. */
  show(target, interfaces) {
    this.clear();
    this.target = target;
    this.zoomStack = [];
    this.customOpen = false;
    this.range = target.live ? { key: 'live' } : this.fixedRange('1h');
    for (const iface of interfaces) this.addInterface(iface, false);
    this.reload();
  }

  /**
   * Calls `listener({target, live, fromMs, toMs})` whenever the target or its range changes,
   * and `listener(null)` when nothing is shown any more.
   */
  onRangeChange(listener) {
    this.rangeListeners.push(listener);
  }

  notifyRange() {
    const shown = this.target ? { target: this.target, live: this.isLive, ...this.window() } : null;
    for (const listener of this.rangeListeners) listener(shown);
  }

  /** Removes every chart and forgets the target. */
  clear() {
    this.generation += 1;
    this.abort?.abort();
    this.abort = null;
    for (const entry of this.entries.values()) entry.chart.destroy();
    this.entries.clear();
    this.ui.charts.replaceChildren();
    this.dropTotal();
    this.target = null;
    this.ui.empty.hidden = true;
    this.setError('');
    this.notifyRange();
  }

  /** Adds a chart for an interface not shown yet and loads it for the current range. */
  addInterface(iface, load = true) {
    if (!this.target || this.entries.has(iface.index)) return;
    if (typeof Chart === 'undefined') {
      this.setError('Chart.js failed to load.');
      return;
    }
    const card = el('figure', 'chart-card');
    card.dataset.ifIndex = String(iface.index);
    const wrap = el('div', 'chart');
    wrap.dataset.state = 'loading';
    const canvas = el('canvas');
    canvas.dataset.ifIndex = String(iface.index);
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${chartTitle(iface)} traffic, in and out`);
    const box = el('div', 'zoom-selection');
    box.hidden = true;
    box.setAttribute('aria-hidden', 'true');
    wrap.append(canvas, box);
    const note = el('figcaption', 'chart-note muted');
    card.append(wrap, note);
    // Keep the charts in ifIndex order.
    const after = [...this.ui.charts.children].find((c) => Number(c.dataset.ifIndex) > iface.index);
    this.ui.charts.insertBefore(card, after ?? null);
    const entry = {
      ...iface, card, wrap, note, chart: null, body: null, stored: [], state: 'loading', error: null, pending: Promise.resolve(),
    };
    entry.chart = new Chart(canvas, chartConfig(iface));
    applyChartTheme(entry.chart, theme());
    attachDragZoom(entry.chart, box, (from, to) => this.zoomTo(from, to));
    this.entries.set(iface.index, entry);
    this.ensureTotal();
    this.scheduleTotal();
    this.ui.empty.hidden = true;
    this.renderBar();
    if (load) this.load(entry);
  }

  /** Whether an interface has a chart. */
  has(index) {
    return this.entries.has(index);
  }

  /** Removes an interface's chart. */
  removeInterface(index) {
    const entry = this.entries.get(index);
    if (!entry) return;
    entry.chart.destroy();
    entry.card.remove();
    this.entries.delete(index);
    this.renderBar();
    if (this.entries.size === 0) this.dropTotal();
    else this.scheduleTotal();
  }

  // ---------- the stacked total ----------

  ensureTotal() {
    if (this.total || !this.ui.total) return;
    const card = el('figure', 'chart-card total-card');
    const wrap = el('div', 'chart');
    const canvas = el('canvas');
    canvas.dataset.total = 'true';
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', 'Total traffic of the charted interfaces, stacked per interface, in and out');
    const box = el('div', 'zoom-selection');
    box.hidden = true;
    box.setAttribute('aria-hidden', 'true');
    wrap.append(canvas, box);
    const note = el('figcaption', 'chart-note muted');
    card.append(wrap, note);
    this.ui.total.replaceChildren(card);
    const chart = new Chart(canvas, totalConfig());
    applyChartTheme(chart, theme());
    attachDragZoom(chart, box, (from, to) => this.zoomTo(from, to));
    this.total = { card, chart, note };
  }

  dropTotal() {
    clearTimeout(this.totalTimer);
    this.totalTimer = null;
    if (!this.total) return;
    this.total.chart.destroy();
    this.total = null;
    this.ui.total?.replaceChildren();
  }

  scheduleTotal() {
    if (this.totalTimer !== null || !this.total) return;
    this.totalTimer = setTimeout(() => {
      this.totalTimer = null;
      this.drawTotal();
    }, TOTAL_DELAY_MS);
  }

  drawTotal() {
    if (!this.total) return;
    const t = theme();
    const entries = [...this.entries.values()].sort((a, b) => a.index - b.index);
    const datasets = [];
    let last = 0;
    entries.forEach((entry, n) => {
      const rows = entry.rows ?? [];
      last = Math.max(last, rows.at(-1)?.t ?? 0);
      const colour = t.series[n % t.series.length] || t.in;
      const name = entry.name || `ifIndex ${entry.index}`;
      for (const [stack, field, sign] of [['in', 'inAvg', 1], ['out', 'outAvg', -1]]) {
        datasets.push({
          label: `${name} ${stack}`,
          ifIndex: entry.index,
          stack,
          data: rows.map((r) => ({ x: r.t, y: r[field] === null ? null : sign * r[field] })),
          borderColor: colour,
          backgroundColor: withAlpha(colour, stack === 'in' ? 0.45 : 0.25),
          borderWidth: 1,
          pointRadius: 0,
          pointHoverRadius: 2,
          tension: 0,
          spanGaps: false,
          fill: 'stack',
        });
      }
    });
    const chart = this.total.chart;
    // Keep hidden interfaces hidden across redraws.
    const hidden = new Set(chart.data.datasets.filter((_d, i) => !chart.isDatasetVisible(i)).map((d) => `${d.ifIndex}`));
    chart.data.datasets = datasets;
    datasets.forEach((d, i) => {
      if (hidden.has(`${d.ifIndex}`)) chart.setDatasetVisibility(i, false);
    });
    const { fromMs, toMs } = this.isLive
      ? { toMs: Math.max(Date.now(), last), fromMs: Math.max(Date.now(), last) - LIVE_WINDOW_MS }
      : this.range;
    chart.options.scales.x.min = fromMs;
    chart.options.scales.x.max = toMs;
    chart.update('none');
    this.total.note.textContent = `${entries.length} ${entries.length === 1 ? 'interface' : 'interfaces'} stacked`;
  }

  /** Names a chart's interface once it is known. */
  rename(index, name) {
    const entry = this.entries.get(index);
    if (!entry || !name || entry.name === name) return;
    entry.name = name;
    entry.chart.options.plugins.title.text = chartTitle(entry);
    entry.chart.canvas.setAttribute('aria-label', `${chartTitle(entry)} traffic, in and out`);
    entry.chart.update('none');
  }

  /** New live rows arrived: redraw, in the live range only (a past range stays as it is). */
  liveChanged(indices) {
    if (!this.isLive || !this.target) return;
    for (const index of indices ?? this.entries.keys()) {
      const entry = this.entries.get(index);
      if (entry) this.draw(entry);
    }
  }

  /** Says there is nothing to chart (a removed device that recorded no interfaces). */
  showEmpty(text) {
    this.ui.empty.textContent = text;
    this.ui.empty.hidden = this.entries.size > 0;
  }

  // ---------- ranges ----------

  /** A fixed span ending now, or at the target's end (a removed device: when it was removed). */
  fixedRange(key) {
    const toMs = this.target?.endMs ?? Date.now();
    return { key, fromMs: toMs - SPANS[key], toMs };
  }

  /** The span the charts show now. */
  window() {
    if (!this.isLive) return { fromMs: this.range.fromMs, toMs: this.range.toMs };
    const toMs = Date.now();
    return { fromMs: toMs - LIVE_WINDOW_MS, toMs };
  }

  /** A click on a range button. */
  choose(key) {
    if (!this.target) return;
    if (key === 'custom') {
      this.customOpen = true;
      const { fromMs, toMs } = this.window();
      this.ui.customForm.elements.from.value = toLocalInput(fromMs);
      this.ui.customForm.elements.to.value = toLocalInput(toMs);
      this.renderBar();
      this.ui.customForm.elements.from.focus();
      return;
    }
    if (key === 'live' && !this.target.live) return;
    this.customOpen = false;
    this.zoomStack = [];
    this.setRange(key === 'live' ? { key } : this.fixedRange(key));
  }

  applyCustom() {
    const f = this.ui.customForm.elements;
    const fromMs = fromLocalInput(f.from.value);
    const toMs = fromLocalInput(f.to.value);
    const bad = (input, message) => {
      input.setAttribute('aria-invalid', 'true');
      this.setError(message);
    };
    if (fromMs === null) return bad(f.from, 'Enter a start date and time.');
    if (toMs === null) return bad(f.to, 'Enter an end date and time.');
    if (fromMs >= toMs) return bad(f.from, 'The start must be before the end.');
    this.zoomStack = [];
    this.setRange({ key: 'custom', fromMs, toMs });
  }

  /** A drag selected [fromMs, toMs] on a chart. */
  zoomTo(fromMs, toMs) {
    if (toMs - fromMs < MIN_ZOOM_MS) {
      const middle = (fromMs + toMs) / 2;
      fromMs = Math.round(middle - MIN_ZOOM_MS / 2);
      toMs = fromMs + MIN_ZOOM_MS;
    }
    this.zoomStack.push(this.range);
    this.customOpen = false;
    this.setRange({ key: 'custom', fromMs, toMs });
  }

  unzoom() {
    const previous = this.zoomStack.pop();
    if (previous) this.setRange(previous);
  }

  setRange(range) {
    this.range = range;
    if (range.key === 'custom') {
      this.ui.customForm.elements.from.value = toLocalInput(range.fromMs);
      this.ui.customForm.elements.to.value = toLocalInput(range.toMs);
    }
    this.reload();
  }

  /** Loads every chart for the current range. */
  reload() {
    this.generation += 1;
    this.abort?.abort();
    this.abort = new AbortController();
    this.setError('');
    this.renderBar();
    for (const entry of this.entries.values()) this.load(entry);
    this.notifyRange();
  }

  renderBar() {
    const { bar, customForm, zoomReset, exportCsv, exportJson, label, charts } = this.ui;
    const key = this.range.key;
    for (const button of bar.querySelectorAll('button[data-range]')) {
      const k = button.dataset.range;
      button.hidden = k === 'live' && !this.target?.live;
      button.setAttribute('aria-pressed', String(k === key || (k === 'custom' && this.customOpen)));
    }
    customForm.hidden = !(this.customOpen || key === 'custom');
    zoomReset.hidden = this.zoomStack.length === 0;
    exportCsv.disabled = this.entries.size === 0;
    exportJson.disabled = this.entries.size === 0;
    charts.dataset.range = key;
    if (this.isLive) {
      label.textContent = 'Last 15 minutes, then live';
    } else {
      const { fromMs, toMs } = this.range;
      const end = this.target && this.target.endMs !== null && toMs === this.target.endMs ? ' (until it was removed)' : '';
      label.textContent = `${formatDateTime(fromMs)} – ${formatDateTime(toMs)}${end}, ${formatDuration(toMs - fromMs)}`;
    }
  }

  setError(text) {
    this.ui.error.textContent = text;
  }

  // ---------- loading and drawing ----------

  maxPoints(entry) {
    const width = entry.chart.chartArea?.width || entry.wrap.clientWidth || 600;
    return Math.max(60, Math.min(MAX_POINTS, Math.round(width)));
  }

  load(entry) {
    const generation = this.generation;
    const { fromMs, toMs } = this.window();
    entry.body = null;
    entry.stored = [];
    entry.error = null;
    this.setState(entry, 'loading');
    this.draw(entry); // nothing of the previous range stays on screen
    entry.pending = (async () => {
      try {
        const body = await fetchHistory(this.target.id, entry.query, fromMs, toMs, this.maxPoints(entry), this.abort?.signal);
        if (generation !== this.generation) return;
        entry.body = body;
        entry.stored = rowsFromHistory(body);
        this.setState(entry, 'ready');
      } catch (err) {
        if (generation !== this.generation) return;
        entry.error = String(err?.message ?? err);
        this.setState(entry, 'error');
      }
      this.draw(entry);
    })();
  }

  setState(entry, state) {
    entry.state = state;
    entry.wrap.dataset.state = state;
  }

  draw(entry) {
    let rows;
    let p95;
    let fromMs;
    let toMs;
    if (this.isLive) {
      const live = this.liveRows(this.target.id, entry.index);
      toMs = Math.max(Date.now(), live.at(-1)?.t ?? 0);
      fromMs = toMs - LIVE_WINDOW_MS;
      rows = mergeLive(entry.stored, live, fromMs);
      p95 = { in: percentile95(rows.map((r) => r.inAvg)), out: percentile95(rows.map((r) => r.outAvg)) };
    } else {
      rows = entry.stored;
      ({ fromMs, toMs } = this.range);
      const n = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
      p95 = { in: n(entry.body?.p95_in_bps), out: n(entry.body?.p95_out_bps) };
    }
    const chart = entry.chart;
    for (const dataset of chart.data.datasets) {
      const field = ROW_FIELD[dataset.role];
      if (field) {
        dataset.data = rows.map((r) => ({ x: r.t, y: r[field] }));
      } else {
        const side = dataset.role === 'p95-in' ? 'in' : 'out';
        const value = entry.state === 'loading' && !this.isLive ? null : p95[side];
        dataset.data = rows.map((r) => ({ x: r.t, y: value }));
        dataset.label = `95th ${side}: ${value === null ? 'no data' : formatBps(value)}`;
      }
    }
    chart.options.scales.x.min = fromMs;
    chart.options.scales.x.max = toMs;
    chart.update('none');
    entry.rows = rows;
    this.scheduleTotal();
    this.describe(entry, rows, p95);
  }

  // The line under a chart: what it shows, or why it shows nothing.
  describe(entry, rows, p95) {
    const parts = [];
    if (entry.state === 'loading') parts.push('Loading history…');
    if (entry.state === 'error') parts.push(`History unavailable: ${entry.error}${this.isLive ? ' (live samples only)' : ''}`);
    const hasData = rows.some((r) => r.inAvg !== null || r.outAvg !== null);
    if (entry.state !== 'loading' || this.isLive) {
      if (hasData) {
        parts.push(`95th percentile: in ${formatBps(p95.in) || 'no data'}, out ${formatBps(p95.out) || 'no data'}`);
      } else if (entry.state === 'ready') {
        parts.push(this.isLive ? 'No samples in the last 15 minutes yet.' : 'No stored data in this range.');
      }
    }
    if (entry.state === 'ready' && !this.isLive && entry.body) {
      const step = Number(entry.body.step_ms);
      parts.push(`${String(entry.body.resolution ?? '')} data${Number.isFinite(step) && step > 0 ? `, one point per ${formatDuration(step)}` : ''}`);
    }
    entry.note.textContent = parts.join(' · ');
  }

  // ---------- export ----------

  /** Downloads the shown range as the API answered it: `csv` or `json`. */
  async exportAs(kind) {
    if (!this.target || this.entries.size === 0) return;
    const entries = [...this.entries.values()];
    const bodies = {};
    let { fromMs, toMs } = this.window();
    this.setError('');
    try {
      if (this.isLive) {
        // The live range moves: ask for it as it is now.
        const answers = await Promise.all(entries.map((e) => fetchHistory(this.target.id, e.query, fromMs, toMs, this.maxPoints(e))));
        entries.forEach((e, i) => {
          bodies[e.query] = answers[i];
        });
      } else {
        ({ fromMs, toMs } = this.range);
        await Promise.all(entries.map((e) => e.pending));
        for (const e of entries) if (e.body) bodies[e.query] = e.body;
      }
    } catch (err) {
      this.setError(`Export failed: ${err.message}`);
      return;
    }
    if (Object.keys(bodies).length === 0) {
      this.setError('Nothing to export: the history could not be loaded.');
      return;
    }
    const name = `${this.target.id}-${fileStamp(fromMs)}-${fileStamp(toMs)}.${kind}`;
    if (kind === 'csv') downloadText(name, 'text/csv', historyCsv(bodies));
    else downloadText(name, 'application/json', `${JSON.stringify(bodies, null, 2)}\n`);
  }
}
