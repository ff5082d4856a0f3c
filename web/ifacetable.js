// The interface table of a device page: name, alias, speed, oper status, in and out rate,
// utilisation (the larger of in and out over the speed), errors and discards per second (in
// and out), sortable by its column headers (aria-sort), with a checkbox per interface choosing
// which get a chart. Rates follow the device's samples. Names and aliases come from the
// device: text only.

import { el } from './dom.js';
import { formatBps, formatPerSecond, num } from './format.js';

/** Utilisation in percent: the busier direction over the speed; null when unknown. */
export function utilisation(inBps, outBps, speedBps) {
  if (!(speedBps > 0) || (inBps === null && outBps === null)) return null;
  return (Math.max(inBps ?? 0, outBps ?? 0) / speedBps) * 100;
}

const formatPercent = (p) => (p === null ? '–' : `${p < 10 ? p.toFixed(1) : Math.round(p)} %`);

/**
 * Errors or discards of an interface as the table shows them: "in 0.5/s · out 0/s"; '–' when
 * neither direction has a rate (not polled: the device's poll_errors is off, or no rate yet).
 */
export function errorPair(inPs, outPs) {
  if (inPs === null && outPs === null) return '–';
  const one = (v) => (v === null ? '–' : formatPerSecond(v));
  return `in ${one(inPs)} · out ${one(outPs)}`;
}

/** Both directions added up, for sorting; null when neither has a rate. */
export const pairTotal = (a, b) => (a === null && b === null ? null : (a ?? 0) + (b ?? 0));

/**
 * The errors and discards per second of an interface as the gateway sends it (a /ws sample's
 * or a device's `latest`: `in_errors_ps`, ...), as this table and the overview keep them
 * (`inErrors`, ...); null where there is none.
 */
export function errorRates(i) {
  return {
    inErrors: num(i?.in_errors_ps),
    outErrors: num(i?.out_errors_ps),
    inDiscards: num(i?.in_discards_ps),
    outDiscards: num(i?.out_discards_ps),
  };
}

const text = (v) => String(v ?? '');
// What each column sorts by: text, or a number (null: unknown, always last).
const SORTS = {
  name: { text: (i) => i.key },
  alias: { text: (i) => i.alias },
  speed: { number: (i) => i.speed },
  oper: { text: (i) => i.oper },
  in: { number: (i) => i.inBps },
  out: { number: (i) => i.outBps },
  util: { number: (i) => i.util },
  errors: { number: (i) => pairTotal(i.inErrors, i.outErrors) },
  discards: { number: (i) => pairTotal(i.inDiscards, i.outDiscards) },
};

/** Compares two rows by `sort` ({key, desc}); unknown numbers go last either way. */
function compareBy(sort, a, b) {
  const column = SORTS[sort.key] ?? SORTS.name;
  const sign = sort.desc ? -1 : 1;
  if (column.text) return sign * text(column.text(a)).localeCompare(text(column.text(b)), undefined, { numeric: true });
  const [x, y] = [column.number(a), column.number(b)];
  if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
  return sign * (x - y);
}

export class InterfaceTable {
  /**
   * @param table the <table> (see index.html: th[data-sort] with a button each).
   * @param onToggle called with (iface, checked) when a checkbox changes; iface is
   *   {index, name, query}.
   */
  constructor(table, onToggle) {
    this.table = table;
    this.onToggle = onToggle;
    this.items = new Map(); // ifIndex -> row model
    this.sort = { key: 'name', desc: false };
    for (const th of table.tHead.querySelectorAll('th[data-sort]')) {
      th.querySelector('button').addEventListener('click', () => {
        const key = th.dataset.sort;
        // Numbers start with the largest, words with A.
        const numeric = ['speed', 'in', 'out', 'util', 'errors', 'discards'].includes(key);
        this.sort = { key, desc: this.sort.key === key ? !this.sort.desc : numeric };
        this.render();
      });
    }
  }

  clear() {
    this.focused = null;
    this.items.clear();
    this.table.tBodies[0].replaceChildren();
    this.table.hidden = true;
  }

  /**
   * The interfaces discovery found (GET /api/devices/{id}/interfaces); `chosen(index)` says
   * whether one has a chart.
   */
  setInterfaces(list, chosen) {
    const old = this.items;
    this.items = new Map();
    for (const i of list) {
      if (!Number.isInteger(i?.index)) continue;
      const known = old.get(i.index);
      const item = known ?? { index: i.index, row: null };
      Object.assign(item, {
        key: typeof i.key === 'string' && i.key ? i.key : String(i.index),
        alias: text(i.alias),
        speed: num(i.speed_bps) > 0 ? i.speed_bps : null,
        oper: text(i.oper_status),
        polled: Boolean(i.polled),
        inBps: known?.inBps ?? null,
        outBps: known?.outBps ?? null,
        inErrors: known?.inErrors ?? null,
        outErrors: known?.outErrors ?? null,
        inDiscards: known?.inDiscards ?? null,
        outDiscards: known?.outDiscards ?? null,
      });
      item.util = utilisation(item.inBps, item.outBps, item.speed);
      this.items.set(i.index, item);
    }
    this.render(chosen);
  }

  /** The rates of a device's traffic as the overview keeps it (overview.js `trafficOf`). */
  setRates(interfaces) {
    let changed = false;
    for (const i of interfaces) {
      const item = this.items.get(i.index);
      if (!item) continue;
      const { inBps, outBps, inErrors, outErrors, inDiscards, outDiscards } = i;
      Object.assign(item, { inBps, outBps, inErrors, outErrors, inDiscards, outDiscards });
      if (item.speed === null && i.speedBps > 0) item.speed = i.speedBps;
      item.util = utilisation(item.inBps, item.outBps, item.speed);
      changed = true;
    }
    if (changed) this.render();
  }

  /**
   * Marks the interface `index` (the one the address names), scrolls it into view and charts
   * it if it is polled; again once the interfaces are known if they are not yet.
   */
  focus(index) {
    this.focused = index;
    for (const item of this.items.values()) {
      if (!item.row) continue;
      const on = item.index === index;
      item.row.classList.toggle('if-focused', on);
      if (on) item.row.setAttribute('aria-current', 'true');
      else item.row.removeAttribute('aria-current');
    }
    const item = this.items.get(index);
    if (!item?.row) return;
    item.row.scrollIntoView({ block: 'center' });
    const box = item.row.querySelector('input[type=checkbox]');
    if (box && item.polled && !box.checked) {
      box.checked = true;
      box.dispatchEvent(new Event('change'));
    }
  }

  /** Ticks a checkbox from outside (a chart added because a sample named it). */
  setChecked(index, checked) {
    const box = this.items.get(index)?.row?.querySelector('input[type=checkbox]');
    if (box) box.checked = checked;
  }

  render(chosen) {
    const items = [...this.items.values()];
    items.sort((a, b) => compareBy(this.sort, a, b) || a.index - b.index);
    const rows = items.map((item) => {
      if (!item.row) item.row = this.makeRow(item, chosen ? chosen(item.index) : item.polled);
      else if (chosen) item.row.querySelector('input').checked = chosen(item.index);
      this.fill(item);
      return item.row;
    });
    const tbody = this.table.tBodies[0];
    const current = [...tbody.children];
    if (current.length !== rows.length || current.some((r, i) => r !== rows[i])) {
      const focused = document.activeElement;
      tbody.replaceChildren(...rows);
      if (focused && tbody.contains(focused)) focused.focus();
    }
    this.table.hidden = rows.length === 0;
    for (const th of this.table.tHead.querySelectorAll('th[data-sort]')) {
      if (th.dataset.sort === this.sort.key) th.setAttribute('aria-sort', this.sort.desc ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    }
  }

  makeRow(item, checked) {
    const tr = el('tr');
    tr.dataset.ifIndex = String(item.index);
    const box = el('input');
    box.type = 'checkbox';
    box.checked = checked;
    box.disabled = !item.polled;
    box.setAttribute('aria-label', `Chart ${item.key}${item.polled ? '' : ' (not polled)'}`);
    box.addEventListener('change', () => this.onToggle({ index: item.index, name: item.key, query: String(item.index) }, box.checked));
    const check = el('td', 'if-chart');
    check.append(box);
    tr.append(check);
    for (const className of ['if-name', 'if-alias', 'num if-speed', 'if-oper', 'num if-in', 'num if-out', 'num if-util', 'num if-errors', 'num if-discards']) tr.append(el('td', className));
    return tr;
  }

  fill(item) {
    const cells = item.row.cells;
    const set = (i, value) => {
      if (cells[i].textContent !== value) cells[i].textContent = value;
    };
    set(1, item.key);
    set(2, item.alias);
    set(3, item.speed === null ? '–' : formatBps(item.speed));
    set(4, item.oper);
    cells[4].dataset.oper = item.oper;
    const rate = (v) => (!item.polled ? 'not polled' : v === null ? '–' : formatBps(v));
    set(5, rate(item.inBps));
    set(6, rate(item.outBps));
    set(7, item.polled ? formatPercent(item.util) : '–');
    set(8, item.polled ? errorPair(item.inErrors, item.outErrors) : '–');
    set(9, item.polled ? errorPair(item.inDiscards, item.outDiscards) : '–');
  }
}
