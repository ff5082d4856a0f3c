// The Alerts page's channels panel: where notifications go (webhooks, e-mail, Alertmanager),
// each with its health — a failing channel is marked "failing" with its last error — in
// table#alert-channels; admins add one with #channel-form and delete one (refused with 409
// while rules use it). URLs come without their secrets; names and errors are text only.

import { apiJson } from './api.js';
import { askConfirm } from './dialogs.js';
import { el } from './dom.js';
import { channelBody, channelHealth } from './alertformat.js';
import { button, field, formShell, group, input, readValues, select, showError, showGroups, submitForm } from './alertforms.js';

const P = 'channel';

export class ChannelsPanel {
  /**
   * @param section the panel's element (filled here)
   * @param options {canWrite (admins), onChange()} onChange: the channels changed (rules name them)
   */
  constructor(section, options) {
    this.options = options;
    this.channels = [];
    this.table = el('table', 'data-table alert-channels');
    this.table.id = 'alert-channels';
    const head = el('thead');
    const tr = el('tr');
    for (const name of ['Name', 'Kind', 'Destination', 'Health', '']) {
      const th = el('th', null, name);
      th.scope = 'col';
      tr.append(th);
    }
    head.append(tr);
    this.table.append(el('caption', 'visually-hidden', 'Notification channels'), head, el('tbody'));
    this.empty = el('p', 'muted', 'No channels yet: alerts show here only.');
    this.error = el('p', 'error');
    this.error.id = 'channels-error';
    this.error.setAttribute('role', 'alert');
    const wrap = el('div', 'table-scroll');
    wrap.append(this.table);
    section.append(this.error, wrap, this.empty);
    if (options.canWrite) section.append(this.buildForm());
  }

  async load() {
    try {
      const list = await apiJson('GET', '/api/alert-channels');
      this.channels = Array.isArray(list) ? list : [];
      this.error.textContent = '';
    } catch (err) {
      showError(this.error, err);
      return;
    }
    this.render();
    this.options.onChange();
  }

  render() {
    const now = Date.now();
    const rows = [...this.channels].sort((a, b) => String(a.name).localeCompare(String(b.name))).map((channel) => {
      const tr = el('tr');
      tr.dataset.channelId = String(channel.id);
      const health = channelHealth(channel.health, now);
      tr.dataset.health = health.state;
      const where = channel.kind === 'email'
        ? (Array.isArray(channel.to) ? channel.to.map(String).join(', ') : '')
        : String(channel.url ?? '');
      const healthCell = el('td', 'channel-health');
      healthCell.append(el('span', `health health-${health.state}`, health.text));
      const actions = el('td', 'actions');
      if (this.options.canWrite) {
        const del = button('Delete', 'delete');
        del.setAttribute('aria-label', `Delete channel ${String(channel.name ?? '')}`);
        del.addEventListener('click', () => this.remove(channel));
        actions.append(del);
      }
      tr.append(
        el('td', 'channel-name', String(channel.name ?? '')),
        el('td', 'channel-kind', String(channel.kind ?? '')),
        el('td', 'channel-target', where),
        healthCell,
        actions,
      );
      return tr;
    });
    this.table.tBodies[0].replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
  }

  buildForm() {
    const { form, status, error } = formShell('channel-form', 'Notification channel');
    this.form = form;
    this.formStatus = status;
    this.formError = error;
    const kind = select([['webhook', 'webhook'], ['email', 'e-mail'], ['alertmanager', 'Alertmanager']]);
    const buttons = el('div', 'form-buttons');
    buttons.append(button('Add channel', null, 'submit'));
    form.append(
      el('h3', null, 'Add a channel'),
      field(P, 'name', 'Name', input('text', { maxLength: 64 })),
      field(P, 'kind', 'Kind', kind),
      group('channel', ['webhook', 'alertmanager'],
        field(P, 'url', 'URL', input('url', { placeholder: 'https://hooks.example/…' }),
          { hint: 'Shown afterwards without its path, query or password.' })),
      group('channel', ['email'], field(P, 'to', 'To (comma separated)', input('text', { placeholder: 'noc@example.net' }))),
      buttons, status, error,
    );
    kind.addEventListener('change', () => showGroups(form, 'channel', kind.value));
    showGroups(form, 'channel', kind.value);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      status.textContent = '';
      const ok = await submitForm(form, error, () => apiJson('POST', '/api/alert-channels', channelBody(readValues(form))));
      if (!ok) return;
      form.reset();
      showGroups(form, 'channel', kind.value);
      status.textContent = 'Channel added.';
      this.load();
    });
    return form;
  }

  async remove(channel) {
    const confirmed = await askConfirm({
      title: 'Delete channel?',
      text: `The channel ${String(channel.name ?? channel.id)} will be deleted.`,
      confirm: 'Delete channel',
    });
    if (!confirmed) return;
    try {
      await apiJson('DELETE', `/api/alert-channels/${encodeURIComponent(channel.id)}`);
    } catch (err) {
      // 409: rules still use it; the server says which.
      showError(this.error, err);
      return;
    }
    this.load();
  }
}
