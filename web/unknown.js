// The "Unknown log sources" panel (operators and admins): addresses that sent syslog or
// traps matching no device, from GET /api/logs/unknown-sources, refreshed every 10 s while
// the page is visible. "Add as device" puts the address in the add-device form. The
// addresses and message texts are device data: text only.

import { fetchUnknownSources } from './api.js';
import { el } from './dom.js';
import { formatDateTime } from './format.js';

const REFRESH_MS = 10_000;

export class UnknownSources {
  /**
   * @param els {list, empty, error}: the list, the "none" note and the error line.
   * @param onAdd called with an address when "Add as device" is chosen.
   */
  constructor(els, onAdd) {
    this.els = els;
    this.onAdd = onAdd;
    this.loading = false;
  }

  /** Loads the list now and then every 10 s while the page is visible. */
  start() {
    this.load();
    setInterval(() => {
      if (document.visibilityState === 'visible') this.load();
    }, REFRESH_MS);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.load();
    });
  }

  async load() {
    if (this.loading) return;
    this.loading = true;
    try {
      const list = await fetchUnknownSources();
      this.render(Array.isArray(list) ? list : []);
      this.els.error.textContent = '';
    } catch (err) {
      this.els.error.textContent = `loading unknown sources failed: ${err.message}`;
    } finally {
      this.loading = false;
    }
  }

  render(sources) {
    const list = this.els.list;
    // The button that has the focus keeps it across a refresh.
    const active = document.activeElement;
    const focused = list.contains(active) ? active.closest('li[data-address]')?.dataset.address ?? null : null;
    list.replaceChildren(...sources.map((s) => this.item(s)));
    this.els.empty.hidden = sources.length > 0;
    if (focused !== null) {
      [...list.children].find((li) => li.dataset.address === focused)?.querySelector('button')?.focus();
    }
  }

  item(source) {
    const address = String(source.address ?? '');
    const li = el('li', 'unknown-source');
    li.dataset.address = address;
    const recent = Array.isArray(source.recent) ? source.recent : [];
    const latest = recent[recent.length - 1];
    const count = Number(source.count) || 0;
    const last = Number.isFinite(source.last_ms) ? formatDateTime(source.last_ms) : 'unknown';
    const info = el('div', 'device-info');
    info.append(
      el('span', 'device-address', address),
      el('span', 'device-meta', `${count} ${count === 1 ? 'message' : 'messages'} · last ${last}`),
    );
    if (latest) {
      const text = el('span', 'unknown-latest', String(latest.text ?? ''));
      text.title = `${String(latest.kind ?? '')}: ${String(latest.text ?? '')}`;
      info.append(text);
    }
    const add = el('button', 'add-source', 'Add as device');
    add.type = 'button';
    add.setAttribute('aria-label', `Add as device: ${address}`);
    add.addEventListener('click', () => this.onAdd(address));
    li.append(info, add);
    return li;
  }
}
