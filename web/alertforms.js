// What the alerting forms (rules, channels, silences, and the ack and silence dialogs) share:
// building fields whose controls are named as the API's fields (so that an error the server
// names with {"error", "field"} shows next to its control, via deviceform.js's
// showFieldError), reading a form's values into a plain object for alertformat.js, filling a
// form from one, and submitting with errors shown where they belong. Labels and options are
// text only.

import { ApiError } from './api.js';
import { clearFieldErrors, clearOnInput, FieldError, showFieldError } from './deviceform.js';
import { el } from './dom.js';

/** The id of the control named `name` in the form whose ids start with `prefix`. */
export const controlId = (prefix, name) => `${prefix}-${name.replaceAll('.', '-')}`;

/**
 * A field: label, `control` (given the id and name, and described by its error element and
 * hint), an optional hint, and the error element under it. For a fieldset, `label` is its
 * legend.
 */
export function field(prefix, name, label, control, { hint = null } = {}) {
  const id = controlId(prefix, name);
  control.id = id;
  control.name = name;
  const described = [`${id}-error`];
  const wrap = el('div', 'field');
  wrap.dataset.field = name;
  if (control instanceof HTMLFieldSetElement) {
    control.prepend(el('legend', null, label));
    wrap.append(control);
  } else {
    const labelEl = el('label', null, label);
    labelEl.htmlFor = id;
    wrap.append(labelEl, control);
  }
  if (hint) {
    const hintEl = el('p', 'muted hint', hint);
    hintEl.id = `${id}-hint`;
    described.push(hintEl.id);
    wrap.append(hintEl);
  }
  control.setAttribute('aria-describedby', described.join(' '));
  const error = el('p', 'field-error');
  error.id = `${id}-error`;
  error.setAttribute('aria-live', 'polite');
  wrap.append(error);
  return wrap;
}

/** An input of `type` with the given properties (placeholder, maxLength, value...). */
export function input(type, props = {}) {
  const node = el('input');
  node.type = type;
  Object.assign(node, props);
  return node;
}

/** A select of `options` ([value, label] pairs); `multiple` for a list to choose several. */
export function select(options, { multiple = false, size = 0 } = {}) {
  const node = el('select');
  node.multiple = multiple;
  if (size > 0) node.size = size;
  setOptions(node, options);
  return node;
}

/** Replaces the options of `node` ([value, label] pairs), keeping what was selected. */
export function setOptions(node, options) {
  const chosen = new Set([...node.selectedOptions].map((o) => o.value));
  node.replaceChildren(...options.map(([value, label]) => {
    const option = new Option(String(label), String(value));
    option.selected = chosen.has(String(value));
    return option;
  }));
}

/** A fieldset of checkboxes named `name`, one per [value, label]. */
export function checkboxes(name, options) {
  const set = el('fieldset', 'checks');
  for (const [value, label] of options) {
    const box = input('checkbox', { name, value: String(value) });
    const labelEl = el('label', 'check');
    labelEl.append(box, ` ${label}`);
    set.append(labelEl);
  }
  return set;
}

/** A row of fields side by side. */
export function row(...fields) {
  const node = el('div', 'row');
  node.append(...fields);
  return node;
}

/** A group of fields shown only for some value of a choice (see showGroups). */
export function group(key, values, ...fields) {
  const node = el('div', 'field-group');
  node.dataset[key] = values.join(' ');
  node.append(...fields);
  return node;
}

/** Shows the groups of `form` whose data-`key` lists `value`, and disables the others' controls. */
export function showGroups(form, key, value) {
  for (const node of form.querySelectorAll(`[data-${key}]`)) {
    const on = node.dataset[key].split(' ').includes(value);
    node.hidden = !on;
    for (const control of node.querySelectorAll('input, select, textarea')) control.disabled = !on;
  }
}

/**
 * The values of `form`'s enabled named controls: a multiple select or a set of checkboxes
 * gives an array of strings, anything else its value.
 */
export function readValues(form) {
  const values = {};
  for (const control of form.elements) {
    if (!control.name || control.disabled || control instanceof HTMLFieldSetElement || control instanceof HTMLButtonElement) continue;
    if (control instanceof HTMLSelectElement && control.multiple) {
      values[control.name] = [...control.selectedOptions].map((o) => o.value);
    } else if (control.type === 'checkbox') {
      values[control.name] ??= [];
      if (control.checked) values[control.name].push(control.value);
    } else if (control.type === 'radio') {
      if (control.checked) values[control.name] = control.value;
    } else {
      values[control.name] = control.value;
    }
  }
  return values;
}

/** Fills `form`'s named controls from `values` (as readValues gives them). */
export function setValues(form, values) {
  for (const control of form.elements) {
    if (!control.name || !(control.name in values) || control instanceof HTMLFieldSetElement) continue;
    const value = values[control.name];
    const many = Array.isArray(value) ? value.map(String) : [String(value ?? '')];
    if (control instanceof HTMLSelectElement && control.multiple) {
      // Keep a chosen value the list does not offer (a removed device, say) as its id.
      for (const v of many) if (v && ![...control.options].some((o) => o.value === v)) control.add(new Option(v, v));
      for (const o of control.options) o.selected = many.includes(o.value);
    } else if (control.type === 'checkbox' || control.type === 'radio') {
      control.checked = many.includes(control.value);
    } else if (control instanceof HTMLSelectElement) {
      if (many[0] !== '') control.value = many[0];
    } else {
      control.value = many[0];
    }
  }
}

/** A form's shell: the form (novalidate, ids from `id`), its status and error elements. */
export function formShell(id, label) {
  const form = el('form', 'device-form alert-form');
  form.id = id;
  form.noValidate = true;
  form.autocomplete = 'off';
  form.setAttribute('aria-label', label);
  const status = el('p', 'muted');
  status.id = `${id}-status`;
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  const error = el('p', 'error');
  error.id = `${id}-error`;
  error.setAttribute('role', 'alert');
  clearOnInput(form);
  return { form, status, error };
}

/** A button of `type` with text (and class). */
export function button(label, className, type = 'button') {
  const node = el('button', className, label);
  node.type = type;
  return node;
}

/**
 * Runs `send` (which builds a body and calls the API) for `form`: clears old errors, keeps
 * the submit button disabled meanwhile, and shows a FieldError or an API refusal next to the
 * field it names (or in `errorBox`), focusing it. True when `send` succeeded.
 */
export async function submitForm(form, errorBox, send) {
  clearFieldErrors(form, errorBox);
  const submit = form.querySelector('button[type=submit]');
  if (submit) submit.disabled = true;
  try {
    await send();
    return true;
  } catch (err) {
    if (err instanceof FieldError || err instanceof ApiError) {
      showFieldError(form, errorBox, err.field, err.message)?.focus();
    } else {
      errorBox.textContent = `network error: ${err.message}`;
    }
    return false;
  } finally {
    if (submit) submit.disabled = false;
  }
}

/** Shows `err` (an ApiError or a network error) in `box`. */
export function showError(box, err) {
  box.textContent = err instanceof ApiError ? err.message : `network error: ${err.message}`;
}
