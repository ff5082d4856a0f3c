// What the add-device form and a device's Settings tab share: reading their fields into an
// API body with the obvious checks made before asking the server, and showing errors at the
// field they concern (the error element named by the input's aria-describedby, and
// aria-invalid), whether found here or named by the server's {"error", "field"}.

/** Words separated by commas or white space. */
export const splitList = (text) => text.split(/[\s,]+/).filter((s) => s.length > 0);

/** An error found before asking the server, naming its field. */
export class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

const OID = /^\.?\d+(\.\d+)+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
/** A tag as the server takes it: 1 to 32 ASCII letters, digits and -_.:/ (kept lower-cased). */
const TAG = /^[A-Za-z0-9_.:/-]{1,32}$/;
/** Most tags one device may carry. */
export const MAX_TAGS = 16;

/**
 * The tags in `text` (separated by commas or white space) as the server keeps them:
 * lower-cased, repeats dropped, order kept. Throws a FieldError on "tags" naming the first
 * bad tag, or when there are more than MAX_TAGS.
 */
export function parseTags(text) {
  const given = splitList(text);
  if (given.length > MAX_TAGS) throw new FieldError('tags', `At most ${MAX_TAGS} tags.`);
  const tags = [];
  for (const raw of given) {
    if (!TAG.test(raw)) {
      throw new FieldError('tags', `${JSON.stringify(raw)} is not a tag: 1 to 32 letters, digits and - _ . : /`);
    }
    const tag = raw.toLowerCase();
    if (!tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

/** Tags as a Tags input shows them. */
export const tagsText = (tags) => (Array.isArray(tags) ? tags.map(String).join(', ') : '');

/**
 * The device body of `form` (inputs named as the API's fields; `tags` a comma- or
 * space-separated list, sent as a list). Checks what needs no server;
 * throws a FieldError for the first problem found, in the order of the form.
 * `nameOptional`: discovery needs no name. `keepEmptyCommunity`: an empty community is left
 * out (Settings: keep the one set).
 */
export function readDeviceForm(form, { nameOptional = false, keepEmptyCommunity = false } = {}) {
  const f = form.elements;
  const body = {};
  const name = f.name.value.trim();
  if (name === '') {
    if (!nameOptional) throw new FieldError('name', 'Enter a name.');
  } else {
    if (name.length > 64) throw new FieldError('name', 'A name has at most 64 characters.');
    if (!/[A-Za-z0-9]/.test(name)) throw new FieldError('name', 'A name needs at least one letter or digit.');
    body.name = name;
  }
  const address = f.address.value.trim();
  if (address === '') throw new FieldError('address', 'Enter an address: an IP address or host name, with :port if not 161.');
  if (/\s/.test(address)) throw new FieldError('address', 'An address has no spaces.');
  body.address = address;
  body.version = f.version.value;
  const community = f.community.value;
  if (community !== '' || !keepEmptyCommunity) {
    if (community === '') throw new FieldError('community', 'Enter a community (public if unsure).');
    if (community.length > 128 || !PRINTABLE_ASCII.test(community)) {
      throw new FieldError('community', 'A community is 1 to 128 printable ASCII characters.');
    }
    body.community = community;
  }
  const interval = f.interval.value.trim();
  if (interval !== '') {
    const seconds = Number(interval);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86400) {
      throw new FieldError('interval', 'The interval is whole seconds from 1 to 86400.');
    }
    body.interval = seconds;
  }
  // Interfaces by ifIndex ("2") or by name ("eth0"); names are sent as strings.
  const interfaces = splitList(f.interfaces.value).map((t) => (/^\d+$/.test(t) ? Number(t) : t));
  if (interfaces.some((t) => t === 0)) throw new FieldError('interfaces', 'An ifIndex starts at 1.');
  body.interfaces = interfaces;
  const oids = splitList(f.oids.value);
  const badOid = oids.find((o) => !OID.test(o));
  if (badOid !== undefined) throw new FieldError('oids', `"${badOid}" is not an OID in dotted numbers (1.3.6.1.2.1.1.5.0).`);
  if (oids.length > 128) throw new FieldError('oids', 'At most 128 extra OIDs.');
  body.oids = oids;
  body.log_sources = splitList(f.log_sources.value);
  // Only a form with a Tags input sends tags: one without it leaves the device's tags alone.
  const tags = f.namedItem('tags');
  if (tags) body.tags = parseTags(tags.value);
  // Likewise for polling error and discard counters (on unless unticked).
  const errors = f.namedItem('poll_errors');
  if (errors) body.poll_errors = errors.checked;
  return body;
}

/** The input of `form` a server `field` names ("v3.user" names no input here): or null. */
function inputFor(form, field) {
  if (!field) return null;
  const input = form.elements.namedItem(field);
  return input instanceof HTMLElement ? input : null;
}

// The error element under an input: the describedby id ending in "-error".
function errorElementOf(input) {
  const ids = (input.getAttribute('aria-describedby') ?? '').split(/\s+/);
  const id = ids.find((i) => i.endsWith('-error'));
  return id ? document.getElementById(id) : null;
}

/**
 * Shows `message` at `field`'s input (marked aria-invalid, the message in its error
 * element); without such an input, in `formError`. Returns the input, or null.
 */
export function showFieldError(form, formError, field, message) {
  const input = inputFor(form, field);
  const box = input ? errorElementOf(input) : null;
  if (input && box) {
    input.setAttribute('aria-invalid', 'true');
    box.textContent = message;
    return input;
  }
  formError.textContent = field && field !== 'body' ? `${field}: ${message}` : message;
  return null;
}

/** Clears every field's error and the form's. */
export function clearFieldErrors(form, formError) {
  formError.textContent = '';
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    const box = errorElementOf(input);
    if (box) box.textContent = '';
  }
}

/** Typing in a marked field clears its mark and message. */
export function clearOnInput(form) {
  form.addEventListener('input', (ev) => {
    const input = ev.target;
    if (!(input instanceof HTMLElement) || input.getAttribute('aria-invalid') !== 'true') return;
    input.removeAttribute('aria-invalid');
    const box = errorElementOf(input);
    if (box) box.textContent = '';
  });
}
