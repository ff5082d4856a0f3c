// The add-device form (operators and admins): checks at each field, then POST /api/devices;
// the server's {"error", "field"} shows at its field. "Discover" first asks the device
// through POST /api/discover (the form's body; the name may still be empty) and lists the
// interfaces it reports, checked as the device's selection would poll them; saving then
// polls the checked ones, by name (their stable key). Saving without discovery works too.
// Interface names and aliases come from the device: text only.

import { readError } from './api.js';
import { el } from './dom.js';
import { clearFieldErrors, clearOnInput, FieldError, readDeviceForm, showFieldError } from './deviceform.js';
import { formatBps } from './format.js';

const postJson = (url, body) => fetch(url, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
  body: JSON.stringify(body),
});

export class AddDeviceForm {
  /** @param onAdded called with the device the server answered with. */
  constructor(form, onAdded) {
    this.form = form;
    this.onAdded = onAdded;
    this.formError = form.querySelector('#form-error');
    this.discoverStatus = form.querySelector('#discover-status');
    this.discovered = form.querySelector('#discovered');
    this.discoverButton = form.querySelector('#discover');
    /** The interfaces of the last discovery (their rows hold the checkboxes), or null. */
    this.found = null;
    this.generation = 0;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    this.discoverButton.addEventListener('click', () => this.discover());
    form.querySelector('#discover-clear').addEventListener('click', () => this.forgetDiscovery());
    clearOnInput(form);
    // Another device to ask: what was found no longer applies.
    for (const name of ['address', 'version', 'community']) {
      form.elements[name].addEventListener('change', () => {
        if (this.found) this.forgetDiscovery('The address or credentials changed: discover again, or type the interfaces.');
      });
    }
  }

  /** Starts a new device at `address` (an unknown log source): the name is asked next. */
  startWith(address) {
    clearFieldErrors(this.form, this.formError);
    this.forgetDiscovery();
    this.form.elements.address.value = address;
    this.form.elements.name.focus();
  }

  fail(err) {
    const input = showFieldError(this.form, this.formError, err.field, err.message);
    input?.focus();
  }

  async discover() {
    clearFieldErrors(this.form, this.formError);
    let body;
    try {
      body = readDeviceForm(this.form, { nameOptional: true });
    } catch (err) {
      if (err instanceof FieldError) return this.fail(err);
      throw err;
    }
    delete body.interfaces; // discovery lists them all, marking the ones this selection polls
    const generation = ++this.generation;
    this.discoverButton.disabled = true;
    this.discoverStatus.textContent = `Asking ${body.address}…`;
    try {
      const res = await postJson('/api/discover', body);
      if (generation !== this.generation) return;
      if (!res.ok) {
        const { message, field } = await readError(res);
        this.discoverStatus.textContent = '';
        if (field && field !== 'body') this.fail({ field, message });
        else this.formError.textContent = `Discovery failed: ${message}`;
        return;
      }
      this.showDiscovery(await res.json());
    } catch (err) {
      if (generation === this.generation) {
        this.discoverStatus.textContent = '';
        this.formError.textContent = `Discovery failed: ${err.message}`;
      }
    } finally {
      if (generation === this.generation) this.discoverButton.disabled = false;
    }
  }

  showDiscovery(answer) {
    const interfaces = (Array.isArray(answer?.interfaces) ? answer.interfaces : []).filter((i) => Number.isInteger(i?.index));
    const system = answer?.system ?? {};
    this.found = interfaces;
    const about = [system.name && `sysName ${system.name}`, system.descr, system.location && `at ${system.location}`]
      .filter((t) => typeof t === 'string' && t).join(' · ');
    this.form.querySelector('#discovered-system').textContent = about;
    const rows = interfaces.map((i) => {
      const key = String(i.key ?? i.name ?? i.index);
      const tr = el('tr');
      tr.dataset.key = key;
      const box = el('input');
      box.type = 'checkbox';
      box.name = 'discovered-interface';
      box.value = key;
      box.checked = Boolean(i.polled);
      box.setAttribute('aria-label', `Poll ${key}`);
      const check = el('td');
      check.append(box);
      const speed = typeof i.speed_bps === 'number' && i.speed_bps > 0 ? formatBps(i.speed_bps) : '–';
      tr.append(check, el('td', 'if-name', key), el('td', 'if-alias', String(i.alias ?? '')), el('td', 'num', speed),
        el('td', 'if-oper', String(i.oper_status ?? '')));
      return tr;
    });
    this.discovered.querySelector('tbody').replaceChildren(...rows);
    this.discovered.hidden = false;
    // The checkboxes now say which interfaces: the typed list is not used.
    this.form.querySelector('#add-interfaces-field').hidden = true;
    const polled = interfaces.filter((i) => i.polled).length;
    this.discoverStatus.textContent = `Found ${interfaces.length} ${interfaces.length === 1 ? 'interface' : 'interfaces'}; ${polled} checked.`;
  }

  forgetDiscovery(note = '') {
    this.generation += 1;
    this.found = null;
    this.discoverButton.disabled = false;
    this.discovered.hidden = true;
    this.discovered.querySelector('tbody').replaceChildren();
    this.form.querySelector('#add-interfaces-field').hidden = false;
    this.discoverStatus.textContent = note;
  }

  async submit() {
    clearFieldErrors(this.form, this.formError);
    let body;
    try {
      body = readDeviceForm(this.form);
      if (this.found) {
        body.interfaces = [...this.discovered.querySelectorAll('input[name="discovered-interface"]:checked')].map((b) => b.value);
        if (body.interfaces.length === 0 && this.found.length > 0) {
          throw new FieldError(null, 'Check at least one interface to poll (or forget the discovery to poll every interface that is up).');
        }
      }
    } catch (err) {
      if (err instanceof FieldError) return this.fail(err);
      throw err;
    }
    const button = this.form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const res = await postJson('/api/devices', body);
      if (!res.ok) {
        const { message, field } = await readError(res);
        // A discovered interface the server refuses: there is no text field to mark.
        this.fail({ field: field === 'interfaces' && this.found ? null : field, message });
        return;
      }
      const device = await res.json().catch(() => null);
      this.form.reset();
      this.forgetDiscovery();
      this.onAdded(device);
    } catch (err) {
      this.formError.textContent = `network error: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }
}
