// The users panel (admins only): every user with a delete button (not for oneself), and the
// form that adds one.

import { readError } from './api.js';
import { askConfirm } from './dialogs.js';
import { el } from './dom.js';

export class UsersPanel {
  /**
   * @param {{panel: HTMLElement, list: HTMLElement, form: HTMLFormElement, error: HTMLElement}} els
   * @param {string} username the signed-in user, who may not delete themselves here
   */
  constructor(els, username) {
    this.els = els;
    this.username = username;
  }

  start() {
    this.els.panel.hidden = false;
    this.els.form.addEventListener('submit', (ev) => this.submit(ev));
    this.load();
  }

  async load() {
    const res = await fetch('/api/users');
    if (!res.ok) return;
    const users = await res.json();
    this.els.list.replaceChildren(...users.map((u) => this.item(u)));
  }

  item(u) {
    const li = el('li', 'user');
    li.dataset.username = String(u.username);
    li.append(el('span', 'user-name', String(u.username)), el('span', 'user-role muted', String(u.role)));
    if (u.username !== this.username) {
      const del = el('button', 'delete', 'Delete');
      del.type = 'button';
      del.setAttribute('aria-label', `Delete user ${String(u.username)}`);
      del.addEventListener('click', () => this.remove(u.username));
      li.append(del);
    }
    return li;
  }

  async remove(username) {
    const confirmed = await askConfirm({ title: 'Delete user?', text: `The user ${String(username)} will be deleted.`, confirm: 'Delete user' });
    if (!confirmed) return;
    const res = await fetch(`/api/users/${encodeURIComponent(username)}`, { method: 'DELETE' });
    if (!res.ok) this.els.error.textContent = (await readError(res)).message;
    this.load();
  }

  async submit(ev) {
    ev.preventDefault();
    const form = this.els.form;
    const f = form.elements;
    const res = await fetch('/api/users', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: f.username.value.trim(), password: f.password.value, role: f.role.value }),
    });
    if (res.ok) {
      form.reset();
      this.els.error.textContent = '';
      this.load();
    } else {
      this.els.error.textContent = (await readError(res)).message;
    }
  }
}
