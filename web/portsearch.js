// The port search in the header of every page: as the user types, the interfaces of the whole
// fleet matching the text (GET /api/interfaces: name, alias, description, device name, tags)
// are listed under the box, best match first; choosing one opens its device's page on it
// (#/device/<id>/if/<ifIndex>). A combobox for keyboards and screen readers: arrows move, Enter
// opens, Escape closes. Device strings reach the DOM through textContent only.

import { el } from './dom.js';
import { formatBps } from './format.js';

/** Quiet time after a key before asking. */
const TYPE_DELAY_MS = 150;
/** Matches listed. */
const SHOWN = 8;

export const interfaceHref = (row) => `#/device/${encodeURIComponent(String(row.device?.id))}/if/${Number(row.index)}`;

export class PortSearch {
  /** @param elements {input, list, status} */
  constructor(elements) {
    this.e = elements;
    this.rows = [];
    this.active = -1;
    this.timer = null;
    this.asked = 0; // the latest request's number: older answers are dropped
    const { input } = elements;
    input.addEventListener('input', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.search(), TYPE_DELAY_MS);
    });
    input.addEventListener('keydown', (ev) => this.onKey(ev));
    input.addEventListener('blur', () => setTimeout(() => this.close(), 150));
    input.addEventListener('focus', () => {
      if (this.rows.length > 0) this.open();
    });
  }

  async search() {
    const q = this.e.input.value.trim();
    const number = ++this.asked;
    if (!q) {
      this.rows = [];
      this.close();
      return;
    }
    let answer;
    try {
      const res = await fetch(`/api/interfaces?${new URLSearchParams({ q, limit: String(SHOWN) })}`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      answer = await res.json();
    } catch (err) {
      if (number === this.asked) this.e.status.textContent = `search failed: ${err.message}`;
      return;
    }
    if (number !== this.asked) return;
    this.rows = Array.isArray(answer?.interfaces) ? answer.interfaces : [];
    const total = Number(answer?.total) || 0;
    this.e.status.textContent = total === 0
      ? 'No interface matches.'
      : `${total} interface${total === 1 ? '' : 's'} match${total === 1 ? 'es' : ''}${total > this.rows.length ? `, first ${this.rows.length} shown` : ''}.`;
    this.active = this.rows.length > 0 ? 0 : -1;
    this.render();
    this.open();
  }

  render() {
    const items = this.rows.map((row, i) => {
      const li = el('li', 'search-hit');
      li.id = `port-hit-${i}`;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', String(i === this.active));
      li.dataset.device = String(row.device?.id ?? '');
      li.dataset.ifIndex = String(row.index);
      const rates = row.rates;
      const traffic = rates && (rates.in_bps !== null || rates.out_bps !== null)
        ? `${formatBps(rates.in_bps ?? 0)} / ${formatBps(rates.out_bps ?? 0)}`
        : '';
      li.append(
        el('span', 'hit-if', String(row.key ?? row.index)),
        el('span', 'hit-device', String(row.device?.name ?? '')),
        el('span', 'hit-alias', String(row.alias || row.descr || '')),
        el('span', 'hit-rate', traffic),
      );
      // mousedown: before the input's blur closes the list.
      li.addEventListener('mousedown', (ev) => {
        ev.preventDefault();
        this.choose(i);
      });
      return li;
    });
    this.e.list.replaceChildren(...items);
    this.e.input.setAttribute('aria-activedescendant', this.active >= 0 ? `port-hit-${this.active}` : '');
  }

  open() {
    this.e.list.hidden = this.rows.length === 0;
    this.e.input.setAttribute('aria-expanded', String(!this.e.list.hidden));
  }

  close() {
    this.e.list.hidden = true;
    this.e.input.setAttribute('aria-expanded', 'false');
  }

  choose(i) {
    const row = this.rows[i];
    if (!row) return;
    this.close();
    this.e.input.value = '';
    this.rows = [];
    location.hash = interfaceHref(row);
  }

  onKey(ev) {
    if (ev.key === 'Escape') {
      this.close();
      return;
    }
    if (ev.key === 'Enter') {
      ev.preventDefault();
      if (this.active >= 0) this.choose(this.active);
      return;
    }
    const step = ev.key === 'ArrowDown' ? 1 : ev.key === 'ArrowUp' ? -1 : 0;
    if (step === 0 || this.rows.length === 0) return;
    ev.preventDefault();
    this.active = (this.active + step + this.rows.length) % this.rows.length;
    this.render();
    this.open();
  }
}
