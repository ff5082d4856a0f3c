// A device's reachability as the page shows it: never by colour alone, always a symbol and
// the word (up / down / unknown), and since when.

import { el } from './dom.js';
import { formatAgo, formatDateTime } from './format.js';

const SYMBOLS = { up: '✓', down: '✕', unknown: '?' };

/** 'up', 'down' or 'unknown' from a device's `status` (anything else is unknown). */
export function reachability(device) {
  const s = device?.status?.state;
  return s === 'up' || s === 'down' ? s : 'unknown';
}

/** "since 12:03:04 (5 min ago)", or '' when the time is not known. */
export function sinceText(device, now = Date.now()) {
  const since = device?.status?.since_ms;
  if (typeof since !== 'number' || !Number.isFinite(since) || since <= 0) return '';
  return `since ${formatDateTime(since)} (${formatAgo(now - since)})`;
}

/**
 * Fills `node` with the status badge of `device`: a symbol (hidden from screen readers, the
 * word says it), the word in `.device-state`, and the time since it holds in `.status-since`.
 */
export function renderStatusBadge(node, device, { since = true } = {}) {
  const state = reachability(device);
  node.dataset.state = state;
  const word = el('span', 'device-state', state);
  word.dataset.state = state;
  const icon = el('span', 'status-icon', SYMBOLS[state]);
  icon.setAttribute('aria-hidden', 'true');
  const parts = [icon, word];
  const text = since ? sinceText(device) : '';
  if (text) parts.push(el('span', 'status-since', text));
  node.replaceChildren(...parts);
  const reason = device?.status?.reason ?? device?.status?.last_error;
  node.title = state === 'down' && reason ? `down: ${String(reason)}` : '';
}
