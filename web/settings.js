// A device's Settings tab (operators and admins): its fields in a form, saved with
// PATCH /api/devices/{id} (errors at the field the server names), and the "Test SNMP"
// button: POST /api/devices/{id}/test, its values in a table or the exact error text.
// Values and names in a test's answer come from the device: text only.

import { readError } from './api.js';
import { el } from './dom.js';
import { clearFieldErrors, clearOnInput, FieldError, readDeviceForm, showFieldError, tagsText } from './deviceform.js';
import { formatDateTime, formatUptime } from './format.js';

const list = (v) => (Array.isArray(v) ? v.map(String).join(', ') : '');

export class SettingsForm {
  /** @param onSaved called with the device the server answered with. */
  constructor(form, onSaved) {
    this.form = form;
    this.onSaved = onSaved;
    this.formError = form.querySelector('#settings-error');
    this.status = form.querySelector('#settings-status');
    this.device = null;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    form.addEventListener('reset', (ev) => {
      ev.preventDefault();
      if (this.device) this.fill(this.device);
    });
    clearOnInput(form);
    form.addEventListener('input', () => {
      this.status.textContent = '';
    });
  }

  /** Shows `device`'s settings, unless the same device's form is being edited. */
  show(device, { force = false } = {}) {
    const same = this.device && String(this.device.id) === String(device.id);
    this.device = device;
    if (same && !force && this.form.contains(document.activeElement)) return;
    this.fill(device);
    if (!same) this.status.textContent = '';
  }

  fill(device) {
    const f = this.form.elements;
    clearFieldErrors(this.form, this.formError);
    f.name.value = String(device.name ?? '');
    f.address.value = String(device.address ?? '');
    f.version.value = String(device.version ?? '2c');
    f.interval.value = String(device.interval ?? '');
    f.community.value = '';
    f.community.placeholder = device.community_set ? 'set (unchanged)' : '';
    f.interfaces.value = list(device.interfaces);
    f.oids.value = list(device.oids);
    f.log_sources.value = list(device.log_sources);
    f.tags.value = tagsText(device.tags);
    f.poll_errors.checked = device.poll_errors !== false;
  }

  async submit() {
    if (!this.device) return;
    clearFieldErrors(this.form, this.formError);
    this.status.textContent = '';
    let body;
    try {
      body = readDeviceForm(this.form, { keepEmptyCommunity: true });
    } catch (err) {
      if (err instanceof FieldError) {
        showFieldError(this.form, this.formError, err.field, err.message)?.focus();
        return;
      }
      throw err;
    }
    // SNMPv3 devices keep their version and keys (this form has no fields for them).
    if (this.device.version === '3') delete body.version;
    const button = this.form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const res = await fetch(`/api/devices/${encodeURIComponent(this.device.id)}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) {
        const { message, field } = await readError(res);
        showFieldError(this.form, this.formError, field, message)?.focus();
        return;
      }
      const device = await res.json();
      this.device = device;
      this.fill(device);
      this.status.textContent = `Saved at ${formatDateTime(Date.now())}.`;
      this.onSaved(device);
    } catch (err) {
      this.formError.textContent = `network error: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }
}

const displayValue = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? ''));

export class SnmpTest {
  /** @param els {button, section, status, error, values, interfaces, close} */
  constructor(els) {
    this.els = els;
    this.deviceId = null;
    this.generation = 0;
    els.button.addEventListener('click', () => this.run());
    els.close.addEventListener('click', () => this.hide());
  }

  /** A device page opened: no result of another device stays. */
  show(deviceId) {
    if (this.deviceId === deviceId) return;
    this.deviceId = deviceId;
    this.hide();
  }

  hide() {
    this.generation += 1;
    this.els.section.hidden = true;
    this.els.button.disabled = false;
  }

  async run() {
    if (!this.deviceId) return;
    const { button, section, status, error, values, interfaces } = this.els;
    const generation = ++this.generation;
    section.hidden = false;
    error.textContent = '';
    values.hidden = true;
    interfaces.hidden = true;
    status.textContent = 'Asking the device…';
    button.disabled = true;
    try {
      const res = await fetch(`/api/devices/${encodeURIComponent(this.deviceId)}/test`, { method: 'POST', headers: { Accept: 'application/json' } });
      if (generation !== this.generation) return;
      if (!res.ok) {
        status.textContent = '';
        error.textContent = (await readError(res)).message;
        return;
      }
      const answer = await res.json();
      if (generation !== this.generation) return;
      this.render(answer);
    } catch (err) {
      if (generation === this.generation) {
        status.textContent = '';
        error.textContent = `network error: ${err.message}`;
      }
    } finally {
      if (generation === this.generation) button.disabled = false;
    }
  }

  render(answer) {
    const { status, values, interfaces } = this.els;
    const rows = Array.isArray(answer?.values) ? answer.values : [];
    values.tBodies[0].replaceChildren(...rows.map((v) => {
      const tr = el('tr');
      tr.append(el('td', 'oid', String(v?.oid ?? '')), el('td', 'type', String(v?.type ?? '')), el('td', 'value', displayValue(v?.value)));
      return tr;
    }));
    values.hidden = rows.length === 0;
    const ifaces = Array.isArray(answer?.interfaces) ? answer.interfaces : [];
    interfaces.tBodies[0].replaceChildren(...ifaces.map((i) => {
      const tr = el('tr');
      tr.append(el('td', null, String(i?.index ?? '')), el('td', null, String(i?.name ?? '')),
        el('td', 'num', String(i?.in_octets ?? '')), el('td', 'num', String(i?.out_octets ?? '')));
      return tr;
    }));
    interfaces.hidden = ifaces.length === 0;
    const took = Number.isFinite(answer?.duration_ms) ? ` in ${answer.duration_ms} ms` : '';
    const at = Number.isFinite(answer?.time_ms) ? formatDateTime(answer.time_ms) : formatDateTime(Date.now());
    status.textContent = `Answered${took} at ${at}; sysUpTime ${formatUptime(answer?.uptime_ticks)}; ${rows.length} values, ${ifaces.length} interfaces.`;
  }
}
