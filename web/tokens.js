// The API tokens panel (every signed-in user): one's tokens (an admin's: everyone's) with a
// revoke button, and the form that makes one. A new token is shown once, with a copy button.

import { readError } from './api.js';
import { askConfirm } from './dialogs.js';
import { el } from './dom.js';
import { formatDateTime } from './format.js';

const ROLES = ['viewer', 'operator', 'admin'];

/** The roles a user of `role` may give a token: theirs and the ones below. */
export function rolesUpTo(role) {
  const top = ROLES.indexOf(role);
  return top < 0 ? ['viewer'] : ROLES.slice(0, top + 1);
}

/** "never", "expired", or the expiry as a local date and time. */
export function expiryText(token) {
  if (token.expired) return 'expired';
  return typeof token.expires_ms === 'number' ? `expires ${formatDateTime(token.expires_ms)}` : 'never expires';
}

export class TokensPanel {
  /**
   * @param {{panel: HTMLElement, list: HTMLElement, empty: HTMLElement, form: HTMLFormElement,
   *          error: HTMLElement, made: HTMLElement, madeText: HTMLElement, copy: HTMLButtonElement}} els
   * @param {{username: string, role: string}} me the signed-in user
   */
  constructor(els, me) {
    this.els = els;
    this.me = me;
  }

  start() {
    const select = this.els.form.elements.role;
    select.replaceChildren(...rolesUpTo(this.me.role).map((r) => {
      const option = el('option', '', r);
      option.value = r;
      return option;
    }));
    select.value = this.me.role;
    this.els.form.addEventListener('submit', (ev) => this.submit(ev));
    this.els.copy.addEventListener('click', () => navigator.clipboard?.writeText(this.els.madeText.textContent));
    this.load();
  }

  async load() {
    const res = await fetch('/api/tokens');
    if (!res.ok) return;
    const tokens = await res.json();
    this.els.list.replaceChildren(...tokens.map((t) => this.item(t)));
    this.els.empty.hidden = tokens.length > 0;
  }

  item(t) {
    const li = el('li', 'user token');
    li.dataset.id = String(t.id);
    li.append(el('span', 'user-name', String(t.name)), el('span', 'user-role muted', String(t.role)));
    if (t.owner !== this.me.username) li.append(el('span', 'muted', `of ${String(t.owner)}`));
    li.append(el('span', t.expired ? 'error' : 'muted', expiryText(t)));
    const used = typeof t.last_used_ms === 'number' ? `last used ${formatDateTime(t.last_used_ms)}` : 'never used';
    li.append(el('span', 'muted', used));
    const revoke = el('button', 'delete', 'Revoke');
    revoke.type = 'button';
    revoke.setAttribute('aria-label', `Revoke token ${String(t.name)}`);
    revoke.addEventListener('click', () => this.revoke(t));
    li.append(revoke);
    return li;
  }

  async revoke(t) {
    const confirmed = await askConfirm({
      title: 'Revoke token?',
      text: `Scripts using the token ${String(t.name)} will be refused from now on.`,
      confirm: 'Revoke token',
    });
    if (!confirmed) return;
    const res = await fetch(`/api/tokens/${encodeURIComponent(t.id)}`, { method: 'DELETE' });
    this.els.error.textContent = res.ok ? '' : (await readError(res)).message;
    this.load();
  }

  async submit(ev) {
    ev.preventDefault();
    const form = this.els.form;
    const f = form.elements;
    const days = f.expiry.value === 'never' ? null : Number(f.expiry.value);
    const res = await fetch('/api/tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: f.name.value.trim(), role: f.role.value, expires_in_days: days }),
    });
    if (!res.ok) {
      this.els.error.textContent = (await readError(res)).message;
      return;
    }
    const made = await res.json();
    form.reset();
    f.role.value = this.me.role;
    this.els.error.textContent = '';
    this.els.madeText.textContent = String(made.token);
    this.els.made.hidden = false;
    this.load();
  }
}
