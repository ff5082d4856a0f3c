// The Logs tab of a device: its timeline (syslog, traps, reachability, configuration
// changes) newest first from GET /api/devices/{id}/logs, filtered by severity and text on
// the server, paged back with "Load older", and tailed live from /ws `log` and `status`
// messages that pass the same filters. A removed device's kept timeline has no live tail.
// At most MAX_ROWS entries stay in the table.

import { fetchLogs } from './api.js';
import { entryBody, entryKey, entryMatches, statusEntry } from './logentry.js';

/** Entries asked for per page. */
const PAGE = 100;
/** Most entries the API gives at once. */
/** Most entries kept in the table; the oldest go first (or the newest, when paging back). */
const MAX_ROWS = 500;
/** Quiet time after typing before the search runs. */
const SEARCH_DELAY_MS = 300;

export class LogsView {
  /**
   * @param els {controls, status, error, table, older}: the filter form (select `severity`,
   *   input `q`, checkbox `tail`), the status line, the error line, the table of entries and
   *   the "Load older" button.
   */
  constructor(els) {
    this.els = els;
    this.device = null; // {id, live} of the device shown, or null
    this.active = false; // the Logs tab is the one shown
    this.loadedFor = null; // the device whose timeline the table holds
    this.keys = new Set(); // entryKey of every entry in the table
    this.nextBefore = null; // the API cursor of the oldest entry shown when there are older ones, else null
    this.pending = null; // live entries that came while the first page loads, or null
    this.generation = 0; // bumped by every reload: late answers of an older one are dropped
    this.abort = null;
    this.searchTimer = null;
    this.paused = false; // paging back pushed the newest entries out: the tail waits

    const f = els.controls.elements;
    els.controls.addEventListener('submit', (ev) => ev.preventDefault());
    f.severity.addEventListener('change', () => this.reload());
    f.q.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.reload(), SEARCH_DELAY_MS);
    });
    // Turned back on: start again from the newest, so nothing missed meanwhile is left out.
    f.tail.addEventListener('change', () => {
      if (f.tail.checked) this.reload();
      else this.renderStatus();
    });
    els.older.addEventListener('click', () => this.loadOlder());
  }

  /** Shows the timeline of `device` ({id, live}); loads it when the tab is shown. */
  show(device) {
    if (this.device?.id === device.id && this.device.live === device.live) return;
    this.device = { id: device.id, live: device.live };
    this.els.controls.elements.tail.closest('label').hidden = !device.live;
    this.empty();
    if (this.active) this.reload();
  }

  /** Nothing selected. */
  clear() {
    this.device = null;
    this.empty();
  }

  /** The Logs tab was shown (true) or hidden. */
  setActive(active) {
    this.active = active;
    if (active && this.device && this.loadedFor !== this.device.id) this.reload();
  }

  /** After /ws reconnected or fell behind: what came meanwhile may be missing. */
  resync() {
    if (!this.device?.live || !this.tailing()) return;
    if (this.active) this.reload();
    else this.empty(); // loaded again when the tab is shown
  }

  /** A /ws `status` message: shown as the status entry the recorder stores for it. */
  onStatus(msg) {
    this.onLog(statusEntry(msg));
  }

  tailing() {
    return this.els.controls.elements.tail.checked && !this.paused;
  }

  /** A /ws `log` message (the entry's fields, its `device` says whose). */
  onLog(entry) {
    if (!this.device?.live || String(entry.device) !== this.device.id || this.loadedFor !== this.device.id) return;
    if (!this.tailing()) return;
    const f = this.els.controls.elements;
    if (!entryMatches(entry, f.severity.value, f.q.value)) return;
    if (this.pending) {
      this.pending.push(entry);
      return;
    }
    this.insert(entry);
    this.trimOldest();
    this.renderStatus();
  }

  // Empties the table and forgets the loaded timeline.
  empty() {
    this.generation += 1;
    this.abort?.abort();
    this.abort = null;
    this.loadedFor = null;
    this.pending = null;
    this.paused = false;
    this.keys.clear();
    this.nextBefore = null;
    for (const body of [...this.els.table.tBodies]) body.remove();
    this.els.older.hidden = true;
    this.els.error.textContent = '';
    this.els.status.textContent = '';
  }

  /** Loads the newest page for the current filters. */
  async reload() {
    clearTimeout(this.searchTimer);
    if (!this.device) return;
    // Paging back had stopped the tail; from the newest again, it runs again.
    if (this.paused) this.els.controls.elements.tail.checked = true;
    this.empty();
    const generation = this.generation;
    const { id } = this.device;
    this.loadedFor = id;
    this.pending = [];
    this.abort = new AbortController();
    this.els.status.textContent = 'Loading…';
    this.els.table.setAttribute('aria-busy', 'true');
    try {
      const page = await fetchLogs(id, this.filters(), this.abort.signal);
      if (generation !== this.generation) return;
      for (const entry of Array.isArray(page.entries) ? page.entries : []) this.append(entry);
      this.nextBefore = typeof page.next_before === 'string' ? page.next_before : null;
      for (const entry of this.pending) this.insert(entry);
      this.trimOldest();
    } catch (err) {
      if (generation !== this.generation) return;
      this.loadedFor = null; // tried again when the tab is shown again
      this.els.error.textContent = `loading logs failed: ${err.message}`;
    } finally {
      if (generation === this.generation) {
        this.pending = null;
        this.els.table.removeAttribute('aria-busy');
        this.renderStatus();
      }
    }
  }

  /** Loads the page after the oldest entry shown (the API's cursor: nothing is skipped). */
  async loadOlder() {
    if (this.nextBefore === null || !this.device || this.pending) return;
    const generation = this.generation;
    const button = this.els.older;
    button.disabled = true;
    try {
      const page = await fetchLogs(this.device.id, { ...this.filters(), before: this.nextBefore }, this.abort?.signal);
      if (generation !== this.generation) return;
      for (const entry of Array.isArray(page.entries) ? page.entries : []) this.append(entry);
      this.nextBefore = typeof page.next_before === 'string' ? page.next_before : null;
      this.els.error.textContent = '';
      this.trimNewest();
    } catch (err) {
      if (generation === this.generation) this.els.error.textContent = `loading older logs failed: ${err.message}`;
    } finally {
      button.disabled = false;
      if (generation === this.generation) this.renderStatus();
    }
  }

  filters() {
    const f = this.els.controls.elements;
    return { severity: f.severity.value, q: f.q.value.trim(), limit: PAGE };
  }

  // Adds an entry after all the others (pages come newest first); false when already shown.
  append(entry) {
    if (!entry || this.keys.has(entryKey(entry))) return false;
    this.keys.add(entryKey(entry));
    this.els.table.append(entryBody(entry));
    return true;
  }

  // Adds a live entry in time order: above every entry not newer than it (so on top, as a rule).
  insert(entry) {
    if (this.keys.has(entryKey(entry))) return;
    this.keys.add(entryKey(entry));
    const time = Number(entry.time_ms);
    const before = [...this.els.table.tBodies].find((b) => Number(b.dataset.timeMs) <= time) ?? null;
    this.els.table.insertBefore(entryBody(entry), before);
  }

  // Over MAX_ROWS after live entries: drop the oldest; "Load older" picks up from there.
  trimOldest() {
    const bodies = this.els.table.tBodies;
    if (bodies.length <= MAX_ROWS) return;
    while (bodies.length > MAX_ROWS) this.drop(bodies[bodies.length - 1]);
    this.nextBefore = bodies[bodies.length - 1].dataset.cursor;
  }

  // Over MAX_ROWS after paging back: drop the newest; the live tail waits until turned on again.
  trimNewest() {
    const bodies = this.els.table.tBodies;
    if (bodies.length <= MAX_ROWS) return;
    while (bodies.length > MAX_ROWS) this.drop(bodies[0]);
    if (this.device?.live) {
      this.paused = true;
      this.els.controls.elements.tail.checked = false;
    }
  }

  drop(body) {
    this.keys.delete(body.dataset.key);
    body.remove();
  }

  // The status line is announced: it changes on loads, filters and the first live entry,
  // not with every entry the tail adds.
  renderStatus() {
    this.els.older.hidden = this.nextBefore === null;
    const f = this.els.controls.elements;
    const filtered = f.severity.value !== '' || f.q.value.trim() !== '';
    const parts = [];
    if (this.els.table.tBodies.length === 0) parts.push(filtered ? 'No entries match.' : 'No entries yet.');
    else parts.push(this.nextBefore === null ? 'Newest first; no older entries.' : 'Newest first.');
    if (this.device?.live && !this.tailing()) parts.push(this.paused ? 'Live tail off: older entries shown.' : 'Live tail off.');
    const status = parts.join(' ');
    if (this.els.status.textContent !== status) this.els.status.textContent = status;
  }
}
