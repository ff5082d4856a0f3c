// Top links (#/top): the busiest interfaces of the whole fleet (GET /api/top), by utilisation,
// bits per second or errors, in, out or either way. Kept live: every /ws sample may change the
// ranking, so the list is asked for again at most once a second while samples come.
// Device strings reach the DOM through textContent only.

import { readError } from './api.js';
import { $, el } from './dom.js';
import { formatBps } from './format.js';
import { band, percent } from './maplinks.js';

/** Least time between two refreshes of the list. */
const REFRESH_MS = 1000;

const ifHref = (row) => `#/device/${encodeURIComponent(String(row.device?.id))}/if/${Number(row.index)}`;

/** The figure of a row as the list shows it. */
export function shownValue(by, value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  if (by === 'utilisation') return percent(value);
  if (by === 'bps') return formatBps(value);
  return `${value < 10 ? value.toFixed(2) : Math.round(value)} /s`;
}

export class TopPage {
  /** @param elements {view, form, body, error, updated} */
  constructor(elements) {
    this.e = elements;
    this.shown = false;
    this.timer = null;
    this.last = 0;
    this.busy = false;
    elements.form.addEventListener('change', () => this.refresh());
    elements.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.refresh();
    });
  }

  show(visible) {
    this.shown = visible;
    this.e.view.hidden = !visible;
    if (visible) this.refresh();
  }

  /** A /ws sample: the ranking may have changed. */
  onSample() {
    if (!this.shown || this.timer !== null) return;
    const wait = Math.max(0, this.last + REFRESH_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh();
    }, wait);
  }

  query() {
    const form = new FormData(this.e.form);
    const params = new URLSearchParams();
    for (const key of ['by', 'direction', 'limit']) params.set(key, String(form.get(key) ?? ''));
    return params;
  }

  async refresh() {
    if (!this.shown || this.busy) return;
    this.busy = true;
    this.last = Date.now();
    const params = this.query();
    try {
      const res = await fetch(`/api/top?${params}`);
      if (!res.ok) throw new Error((await readError(res)).message);
      const answer = await res.json();
      this.render(params.get('by'), Array.isArray(answer?.interfaces) ? answer.interfaces : []);
      this.e.error.textContent = '';
      this.e.updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      this.e.error.textContent = err.message;
    } finally {
      this.busy = false;
    }
  }

  render(by, rows) {
    const trs = rows.map((row, i) => {
      const tr = el('tr');
      tr.dataset.device = String(row.device?.id ?? '');
      tr.dataset.ifIndex = String(row.index);
      const link = el('a', undefined, String(row.key ?? row.index));
      link.href = ifHref(row);
      const name = el('td', 'top-if');
      name.append(link);
      const rates = row.rates ?? {};
      const utilisation = Math.max(rates.in_utilisation ?? -1, rates.out_utilisation ?? -1);
      const value = el('td', 'num top-value', shownValue(by, row.value));
      value.dataset.band = band(utilisation >= 0 ? utilisation : null, false);
      tr.append(
        el('td', 'num', String(i + 1)),
        el('td', 'top-device', String(row.device?.name ?? row.device?.id ?? '')),
        name,
        el('td', 'top-alias', String(row.alias || row.descr || '')),
        value,
        el('td', 'num', rates.in_bps === null || rates.in_bps === undefined ? '–' : formatBps(rates.in_bps)),
        el('td', 'num', rates.out_bps === null || rates.out_bps === undefined ? '–' : formatBps(rates.out_bps)),
      );
      return tr;
    });
    this.e.body.replaceChildren(...trs);
    this.e.view.querySelector('.top-empty').hidden = trs.length > 0;
  }
}

export const topElements = () => ({
  view: $('#top-view'),
  form: $('#top-form'),
  body: $('#top-table tbody'),
  error: $('#top-error'),
  updated: $('#top-updated'),
});
