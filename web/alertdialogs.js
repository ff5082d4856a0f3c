// The two questions an alert's buttons ask, as modal <dialog>s made here: "Ack" asks for a
// comment (#ack-dialog, form #ack-form), "Silence" for how long and why (#alert-silence-dialog,
// form #alert-silence-form) and silences that device and rule. Each stays open on a refusal,
// showing the error at the field the server names; Escape or Cancel closes it. The alert
// they are about is shown as text.

import { apiJson } from './api.js';
import { ackBody, alertSilenceBody } from './alertformat.js';
import { button, field, formShell, readValues, select, submitForm } from './alertforms.js';
import { el } from './dom.js';

/** Choices of the Silence dialog: [seconds, label]; one hour is chosen first. */
const SILENCE_DURATIONS = [
  [900, '15 min'], [3600, '1 h'], [7200, '2 h'], [14_400, '4 h'], [28_800, '8 h'],
  [86_400, '1 day'], [259_200, '3 days'], [604_800, '1 week'],
];

class AlertDialog {
  /** @param fields the fields of its form; send(values, alert) → a promise of the API call */
  constructor(id, title, submitLabel, fields, send) {
    this.dialog = el('dialog', 'dialog');
    this.dialog.id = id;
    const { form, error } = formShell(id.replace(/-dialog$/, '-form'), title);
    this.form = form;
    this.error = error;
    const heading = el('h2', null, title);
    heading.id = `${id}-title`;
    this.about = el('p', 'dialog-about');
    this.about.id = `${id}-about`;
    this.dialog.setAttribute('aria-labelledby', heading.id);
    this.dialog.setAttribute('aria-describedby', this.about.id);
    const buttons = el('div', 'dialog-buttons');
    const cancel = button('Cancel');
    cancel.value = 'cancel';
    buttons.append(button(submitLabel, 'primary', 'submit'), cancel);
    form.append(heading, this.about, ...fields, error, buttons);
    this.dialog.append(form);
    document.body.append(this.dialog);
    cancel.addEventListener('click', () => this.dialog.close('cancel'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const alert = this.alert;
      const ok = await submitForm(form, error, () => send(readValues(form), alert));
      if (ok) this.dialog.close('ok');
    });
  }

  /** Asks about `alert` (described by `line`); resolves to true once the server took it. */
  ask(alert, line) {
    this.alert = alert;
    this.form.reset();
    this.error.textContent = '';
    for (const node of this.form.querySelectorAll('.field-error')) node.textContent = '';
    for (const node of this.form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
    this.about.textContent = line;
    return new Promise((resolve) => {
      this.dialog.returnValue = '';
      this.dialog.addEventListener('close', () => resolve(this.dialog.returnValue === 'ok'), { once: true });
      this.dialog.showModal();
    });
  }
}

/** The "Ack" dialog: POST /api/alerts/{id}/ack with a comment. */
export function ackDialog() {
  const comment = el('textarea');
  comment.maxLength = 500;
  comment.rows = 3;
  comment.placeholder = 'who is on it, what is being done';
  return new AlertDialog('ack-dialog', 'Acknowledge alert', 'Acknowledge',
    [field('ack', 'comment', 'Comment', comment)],
    (values, alert) => apiJson('POST', `/api/alerts/${encodeURIComponent(alert.id)}/ack`, ackBody(values.comment)));
}

/** The "Silence" dialog: a silence of the alert's device and rule, from now for a while. */
export function silenceDialog() {
  const duration = select(SILENCE_DURATIONS.map(([s, label]) => [String(s), label]));
  const comment = el('input');
  comment.type = 'text';
  comment.maxLength = 500;
  comment.placeholder = 'why';
  const dialog = new AlertDialog('alert-silence-dialog', 'Silence alert', 'Silence',
    [field('quiet', 'duration', 'For', duration), field('quiet', 'comment', 'Comment', comment)],
    (values, alert) => apiJson('POST', '/api/silences', alertSilenceBody(alert, values.duration, values.comment, Date.now())));
  // One hour unless chosen otherwise (form.reset() goes back to the default selected option).
  duration.options[1].defaultSelected = true;
  return dialog;
}
