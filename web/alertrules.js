// The Alerts page's rules panel: every alert rule in table#alert-rules (what it watches, how
// bad, on which devices, whom it tells, for how long), and for operators and admins the form
// #rule-form to add one or edit one (the fields of its kind shown), and Delete. Rule and
// device names are text only.

import { apiJson } from './api.js';
import { askConfirm } from './dialogs.js';
import { el } from './dom.js';
import {
  COUNTERS, DIRECTIONS, KIND_LABELS, REASONS, RULE_KINDS, SEVERITIES,
  conditionText, formatSeconds, ruleBody, ruleValues, scopeText,
} from './alertformat.js';
import {
  button, field, formShell, group, input, readValues, row, select, setOptions, setValues,
  showError, showGroups, submitForm,
} from './alertforms.js';

const P = 'rule';
const pairs = (items) => items.map((v) => [v, v]);

export class RulesPanel {
  /**
   * @param section the panel's element (filled here)
   * @param options {canWrite, deviceOptions() → [[id, name]], deviceName(id), channels() →
   *   [channel], onChange()} onChange: the rules changed (silences name them)
   */
  constructor(section, options) {
    this.options = options;
    this.rules = [];
    this.editing = null; // the id of the rule the form edits, or null for a new one
    this.table = el('table', 'data-table alert-rules');
    this.table.id = 'alert-rules';
    const caption = el('caption', 'visually-hidden', 'Alert rules');
    const head = el('thead');
    const tr = el('tr');
    for (const name of ['Name', 'Watches', 'Severity', 'Devices', 'Channels', 'For', '']) {
      const th = el('th', null, name);
      th.scope = 'col';
      tr.append(th);
    }
    head.append(tr);
    this.table.append(caption, head, el('tbody'));
    this.empty = el('p', 'muted', 'No rules yet.');
    this.error = el('p', 'error');
    this.error.id = 'rules-error';
    this.error.setAttribute('role', 'alert');
    const wrap = el('div', 'table-scroll');
    wrap.append(this.table);
    section.append(this.error, wrap, this.empty);
    if (options.canWrite) section.append(this.buildForm());
  }

  /** A rule's name by id (its id when unknown). */
  ruleName(id) {
    return this.rules.find((r) => String(r.id) === String(id))?.name ?? id;
  }

  /** [id, name] pairs of every rule, by name. */
  ruleOptions() {
    return this.rules.map((r) => [String(r.id), String(r.name ?? r.id)]).sort((a, b) => a[1].localeCompare(b[1]));
  }

  async load() {
    try {
      const list = await apiJson('GET', '/api/alert-rules');
      this.rules = Array.isArray(list) ? list : [];
      this.error.textContent = '';
    } catch (err) {
      showError(this.error, err);
      return;
    }
    this.render();
    this.options.onChange();
  }

  /** The device and channel choices of the form, again (devices or channels changed). */
  refreshChoices() {
    if (!this.form) return;
    const f = this.form.elements;
    setOptions(f.namedItem('scope.devices'), this.options.deviceOptions());
    setOptions(f.namedItem('channels'), this.options.channels().map((c) => [String(c.id), String(c.name ?? c.id)]));
  }

  render() {
    const channelName = (id) => this.options.channels().find((c) => String(c.id) === String(id))?.name ?? id;
    const rows = [...this.rules].sort((a, b) => String(a.name).localeCompare(String(b.name))).map((rule) => {
      const tr = el('tr');
      tr.dataset.ruleId = String(rule.id);
      const severity = el('span', 'severity', String(rule.severity ?? ''));
      severity.dataset.severity = String(rule.severity ?? '');
      const channels = Array.isArray(rule.channels) ? rule.channels.map((c) => String(channelName(c))).join(', ') : '';
      const cells = [
        el('td', 'rule-name', String(rule.name ?? '')),
        el('td', 'rule-condition', conditionText(rule)),
        el('td'),
        el('td', 'rule-scope', scopeText(rule.scope, { deviceName: this.options.deviceName })),
        el('td', 'rule-channels', channels || 'none'),
        el('td', 'rule-for', Number(rule.for_s) > 0 ? formatSeconds(rule.for_s) : 'at once'),
        el('td', 'actions'),
      ];
      cells[2].append(severity);
      if (this.options.canWrite) {
        const edit = button('Edit', 'edit');
        edit.setAttribute('aria-label', `Edit rule ${String(rule.name ?? '')}`);
        edit.addEventListener('click', () => this.edit(rule));
        const del = button('Delete', 'delete');
        del.setAttribute('aria-label', `Delete rule ${String(rule.name ?? '')}`);
        del.addEventListener('click', () => this.remove(rule));
        cells[6].append(edit, del);
      }
      tr.append(...cells);
      return tr;
    });
    this.table.tBodies[0].replaceChildren(...rows);
    this.empty.hidden = rows.length > 0;
  }

  buildForm() {
    const { form, status, error } = formShell('rule-form', 'Alert rule');
    this.form = form;
    this.formStatus = status;
    this.formError = error;
    this.legend = el('h3', null, 'Add a rule');
    const kindOptions = RULE_KINDS.map((k) => [k, KIND_LABELS[k]]);
    const scope = select([['all', 'all devices'], ['devices', 'these devices'], ['tags', 'devices with these tags']]);
    const kind = select(kindOptions);
    this.submit = button('Add rule', null, 'submit');
    this.cancel = button('Cancel', 'link');
    this.cancel.id = 'rule-cancel';
    this.cancel.hidden = true;
    const buttons = el('div', 'form-buttons');
    buttons.append(this.submit, this.cancel);
    form.append(
      this.legend,
      field(P, 'name', 'Name', input('text', { maxLength: 64, required: true })),
      row(
        field(P, 'kind', 'Watches', kind),
        field(P, 'severity', 'Severity', select(pairs(SEVERITIES))),
      ),
      group('kinds', ['utilisation'],
        row(
          field(P, 'direction', 'Direction', select(pairs(DIRECTIONS))),
          field(P, 'above_pct', 'Above (%)', input('number', { min: 0, max: 1000, step: 'any' })),
          field(P, 'clear_below_pct', 'Clears below (%)', input('number', { min: 0, max: 1000, step: 'any', placeholder: 'auto' })),
        )),
      group('kinds', ['errors'],
        row(
          field(P, 'counter', 'Counter', select(COUNTERS.map((c) => [c, c.replaceAll('_', ' ')]))),
          field(P, 'above_per_s', 'Above (per second)', input('number', { min: 0, step: 'any' })),
        )),
      group('kinds', ['oid'],
        field(P, 'oid', 'OID (one of the device\'s extra OIDs)', input('text', { placeholder: '1.3.6.1.4.1.2021.10.1.5.1' })),
        row(
          field(P, 'above', 'Above', input('number', { step: 'any' })),
          field(P, 'below', 'Below', input('number', { step: 'any' })),
        )),
      group('kinds', ['poll_failing'], field(P, 'reason', 'Failures', select(pairs(REASONS)))),
      field(P, 'scope', 'Devices', scope),
      group('scope', ['devices'], field(P, 'scope.devices', 'Choose devices', select([], { multiple: true, size: 5 }))),
      group('scope', ['tags'], field(P, 'scope.tags', 'Tags (comma separated)', input('text', { placeholder: 'core, edge' }))),
      field(P, 'channels', 'Notify (channels; none: shown here only)', select([], { multiple: true, size: 3 })),
      row(
        field(P, 'for_s', 'For', input('text', { placeholder: '0, 30s, 5m', value: '0' }), { hint: 'How long it must hold first.' }),
        field(P, 'repeat_s', 'Repeat every', input('text', { placeholder: '0 (never), 1h', value: '0' }), { hint: 'While firing and not acked.' }),
      ),
      row(
        field(P, 'flap_threshold', 'Flapping after (changes)', input('number', { min: 1, max: 1000, step: 1, placeholder: '5' })),
        field(P, 'flap_window_s', 'within', input('text', { placeholder: '10m' })),
      ),
      buttons, status, error,
    );
    kind.addEventListener('change', () => showGroups(form, 'kinds', kind.value));
    scope.addEventListener('change', () => showGroups(form, 'scope', scope.value));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.save();
    });
    this.cancel.addEventListener('click', () => this.reset());
    this.reset();
    return form;
  }

  // Back to an empty "Add a rule" form.
  reset() {
    this.editing = null;
    this.form.reset();
    this.refreshChoices();
    setValues(this.form, { 'scope.devices': [], channels: [], severity: 'warning' });
    this.legend.textContent = 'Add a rule';
    this.submit.textContent = 'Add rule';
    this.cancel.hidden = true;
    this.formError.textContent = '';
    this.syncGroups();
  }

  syncGroups() {
    const f = this.form.elements;
    showGroups(this.form, 'kinds', f.namedItem('kind').value);
    showGroups(this.form, 'scope', f.namedItem('scope').value);
  }

  edit(rule) {
    this.reset();
    this.editing = String(rule.id);
    setValues(this.form, ruleValues(rule));
    this.legend.textContent = `Edit rule ${String(rule.name ?? '')}`;
    this.submit.textContent = 'Save rule';
    this.cancel.hidden = false;
    this.formStatus.textContent = '';
    this.syncGroups();
    this.form.scrollIntoView({ block: 'nearest' });
    this.form.elements.namedItem('name').focus();
  }

  async save() {
    this.formStatus.textContent = '';
    const editing = this.editing;
    const ok = await submitForm(this.form, this.formError, async () => {
      const body = ruleBody(readValues(this.form));
      if (editing) await apiJson('PUT', `/api/alert-rules/${encodeURIComponent(editing)}`, body);
      else await apiJson('POST', '/api/alert-rules', body);
    });
    if (!ok) return;
    this.reset();
    this.formStatus.textContent = editing ? 'Rule saved.' : 'Rule added.';
    this.load();
  }

  async remove(rule) {
    const confirmed = await askConfirm({
      title: 'Delete rule?',
      text: `The rule ${String(rule.name ?? rule.id)} will be deleted; its alerts resolve.`,
      confirm: 'Delete rule',
    });
    if (!confirmed) return;
    try {
      await apiJson('DELETE', `/api/alert-rules/${encodeURIComponent(rule.id)}`);
      if (this.editing === String(rule.id)) this.reset();
    } catch (err) {
      showError(this.error, err);
      return;
    }
    this.load();
  }
}
