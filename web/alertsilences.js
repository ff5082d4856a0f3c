// The Alerts page's silences panel: silences and maintenance windows in table#silences
// (active, upcoming, weekly; what they cover, when, why, who), and for operators and admins
// the form #silence-form to make one — one-off (from, to) or weekly (days, start time,
// duration, time zone) — and Delete. Comments, names and users are text only.

import { apiJson } from './api.js';
import { askConfirm } from './dialogs.js';
import { el } from './dom.js';
import { WEEKDAYS, scopeText, silenceBody, silenceStatus, silenceWhen } from './alertformat.js';
import {
  button, checkboxes, field, formShell, group, input, readValues, row, select, setOptions,
  showError, showGroups, submitForm,
} from './alertforms.js';
import { toLocalInput } from './format.js';

const P = 'silence';
const STATUS_RANK = { active: 0, upcoming: 1, weekly: 2, expired: 3 };

/** The browser's time zone (what a weekly window defaults to). */
const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

export class SilencesPanel {
  /**
   * @param section the panel's element (filled here)
   * @param options {canWrite, deviceOptions() → [[id, name]], ruleOptions() → [[id, name]],
   *   deviceName(id), ruleName(id)}
   */
  constructor(section, options) {
    this.options = options;
    this.silences = [];
    this.table = el('table', 'data-table silences');
    this.table.id = 'silences';
    const head = el('thead');
    const tr = el('tr');
    for (const name of ['Status', 'Covers', 'When', 'Comment', 'By', '']) {
      const th = el('th', null, name);
      th.scope = 'col';
      tr.append(th);
    }
    head.append(tr);
    this.table.append(el('caption', 'visually-hidden', 'Silences and maintenance windows'), head, el('tbody'));
    this.empty = el('p', 'muted', 'No silences.');
    this.error = el('p', 'error');
    this.error.id = 'silences-error';
    this.error.setAttribute('role', 'alert');
    const wrap = el('div', 'table-scroll');
    wrap.append(this.table);
    section.append(this.error, wrap, this.empty);
    if (options.canWrite) section.append(this.buildForm());
  }

  async load() {
    try {
      const list = await apiJson('GET', '/api/silences');
      this.silences = Array.isArray(list) ? list : [];
      this.error.textContent = '';
    } catch (err) {
      showError(this.error, err);
      return;
    }
    this.render();
  }

  render() {
    const now = Date.now();
    const names = { deviceName: this.options.deviceName, ruleName: this.options.ruleName };
    const items = this.silences.map((s) => ({ s, status: silenceStatus(s, now) }))
      .sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || (Number(a.s.from_ms) || 0) - (Number(b.s.from_ms) || 0));
    const rows = items.map(({ s, status }) => {
      const tr = el('tr');
      tr.dataset.silenceId = String(s.id);
      tr.dataset.status = status;
      const statusCell = el('td', 'silence-status');
      statusCell.append(el('span', `silence-state silence-${status}`, status));
      if (s.weekly && status === 'active') statusCell.append(el('span', 'alert-mark', 'weekly'));
      const actions = el('td', 'actions');
      if (this.options.canWrite) {
        const del = button('Delete', 'delete');
        del.setAttribute('aria-label', `Delete silence ${String(s.comment || s.id)}`);
        del.addEventListener('click', () => this.remove(s));
        actions.append(del);
      }
      tr.append(
        statusCell,
        el('td', 'silence-scope', scopeText(s.scope ?? {}, names)),
        el('td', 'silence-when', silenceWhen(s, now)),
        el('td', 'silence-comment', String(s.comment ?? '')),
        el('td', 'silence-by', String(s.created_by ?? '')),
        actions,
      );
      return tr;
    });
    this.table.tBodies[0].replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
  }

  /** The device and rule choices of the form, again. */
  refreshChoices() {
    if (!this.form) return;
    const f = this.form.elements;
    setOptions(f.namedItem('scope.devices'), this.options.deviceOptions());
    setOptions(f.namedItem('scope.rules'), this.options.ruleOptions());
  }

  buildForm() {
    const { form, status, error } = formShell('silence-form', 'Silence');
    this.form = form;
    const mode = select([['once', 'once'], ['weekly', 'every week']]);
    const scope = el('fieldset', 'scope-set');
    scope.append(
      field(P, 'scope.devices', 'Devices', select([], { multiple: true, size: 4 })),
      field(P, 'scope.tags', 'Tags (comma separated)', input('text', { placeholder: 'core, edge' })),
      field(P, 'scope.rules', 'Rules', select([], { multiple: true, size: 4 })),
    );
    const zones = el('datalist');
    zones.id = 'silence-zones';
    for (const zone of typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []) zones.append(new Option(zone, zone));
    const zone = input('text', { placeholder: 'Europe/Paris' });
    zone.setAttribute('list', zones.id);
    const buttons = el('div', 'form-buttons');
    buttons.append(button('Add silence', null, 'submit'));
    form.append(
      el('h3', null, 'Add a silence'),
      field(P, 'mode', 'Repeats', mode),
      field(P, 'scope', 'Covers (alerts matching every list given)', scope),
      group('mode', ['weekly'],
        field(P, 'weekly.days', 'Days', checkboxes('days', WEEKDAYS.map((d) => [d, d]))),
        row(
          field(P, 'weekly.time', 'Starts at (local)', input('time')),
          field(P, 'weekly.duration_s', 'Lasts', input('text', { placeholder: '2h, 90m' })),
          field(P, 'weekly.time_zone', 'Time zone', zone),
        )),
      row(
        field(P, 'from', 'From (empty: now)', input('datetime-local')),
        field(P, 'to', 'To', input('datetime-local'), { hint: 'For a weekly window: until when it recurs (empty: for good).' }),
      ),
      field(P, 'comment', 'Comment', input('text', { maxLength: 500, placeholder: 'why' })),
      zones, buttons, status, error,
    );
    mode.addEventListener('change', () => this.modeChanged());
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      status.textContent = '';
      const ok = await submitForm(form, error, () => apiJson('POST', '/api/silences', silenceBody(readValues(form), Date.now())));
      if (!ok) return;
      this.reset();
      status.textContent = 'Silence added.';
      this.load();
    });
    this.reset();
    return form;
  }

  // An empty form: one hour from now, or a weekly window in the browser's time zone.
  reset() {
    const f = this.form.elements;
    this.form.reset();
    this.refreshChoices();
    for (const name of ['scope.devices', 'scope.rules']) for (const o of f.namedItem(name).options) o.selected = false;
    this.suggestedTo = '';
    f.namedItem('weekly.time_zone').value = localZone();
    f.namedItem('weekly.duration_s').value = '2h';
    this.modeChanged();
  }

  // A one-off silence is offered an end an hour from now; a weekly window recurs for good
  // unless an end is typed (the offered one is taken back).
  modeChanged() {
    const f = this.form.elements;
    const to = f.namedItem('to');
    const weekly = f.namedItem('mode').value === 'weekly';
    if (weekly && to.value === this.suggestedTo) to.value = '';
    if (!weekly && to.value === '') {
      this.suggestedTo = toLocalInput(Date.now() + 3_600_000).slice(0, 16);
      to.value = this.suggestedTo;
    }
    showGroups(this.form, 'mode', f.namedItem('mode').value);
  }

  async remove(silence) {
    const confirmed = await askConfirm({
      title: 'Delete silence?',
      text: `The silence ${silence.comment ? `"${String(silence.comment)}"` : String(silence.id)} will be deleted; matching alerts notify again.`,
      confirm: 'Delete silence',
    });
    if (!confirmed) return;
    try {
      await apiJson('DELETE', `/api/silences/${encodeURIComponent(silence.id)}`);
    } catch (err) {
      showError(this.error, err);
      return;
    }
    this.load();
  }
}
