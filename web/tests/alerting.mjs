// Browser check of the dashboard's alerting, driven in headless Chromium by playwright-core.
// Run by the Rust end-to-end test (tests/tests/alerts_browser.rs) against a live stack and
// the alerter, after it has made (through the API) a device named with markup, a webhook
// channel and a device_down rule named with markup that fires at once:
//   NETPULSE_ADMIN=admin:<password> NETPULSE_DEVICE_ID=<id> NETPULSE_DEVICE_NAME=<name> \
//   NETPULSE_RULE_ID=<id> NETPULSE_RULE_NAME=<name> node web/tests/alerting.mjs <gateway base URL>
// When it needs the device to go down or come back it prints `CONTROL down` or `CONTROL up`
// and waits for `OK` or `ERR <message>` on standard input.
// The admin signs in and sees no alert counted in the header; the device goes down: the
// header counts one firing alert and the Alerts page lists it, its rule and device names
// shown as text; the device's page lists it too. The admin acknowledges it from its row
// (the row then says acked by admin, and so does GET /api/alerts), silences it from its row
// (a silence of that device and rule is listed as active, and the row says silenced); the
// device comes back: the count goes back to 0 and the alert moves to the history. Nothing in
// the names becomes an element or runs.
// Prints one line per check; exits non-zero with the reason on the first failure.

import { check, control, launchChromium } from './harness.mjs';

const [base] = process.argv.slice(2);
if (!base) {
  console.error('usage: alerting.mjs <base URL>');
  process.exit(2);
}
const [adminUser, adminPassword] = (process.env.NETPULSE_ADMIN ?? '').split(/:(.*)/s);
const DEVICE_ID = process.env.NETPULSE_DEVICE_ID;
const DEVICE_NAME = process.env.NETPULSE_DEVICE_NAME;
const RULE_ID = process.env.NETPULSE_RULE_ID;
const RULE_NAME = process.env.NETPULSE_RULE_NAME;
const ACK_COMMENT = '<i>on it</i>';
const SILENCE_COMMENT = '<u>maintenance</u>';
/** How long the device may take to be seen down (three missed polls) and the alert to fire. */
const FIRE_MS = 60000;

/** Waits until `fn` (run in the page with `arg`) is truthy; fails naming `what` and what `show` says. */
async function waitFor(page, fn, arg, what, timeout = 30000, show = () => '') {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 200 });
  } catch {
    throw new Error(`check failed: ${what} within ${timeout / 1000} s ${await show()}`);
  }
}

// What the header and the active alerts table show, for failure messages and checks.
const header = (page) => page.evaluate(() => {
  const badge = document.querySelector('#alert-count');
  return { count: badge?.textContent, hidden: badge?.hidden, severity: badge?.dataset.severity,
    label: document.querySelector('#nav-alerts')?.getAttribute('aria-label') };
});
const activeRows = (page) => page.evaluate(() => [...document.querySelectorAll('#active-alerts tr[data-alert-id]')].map((tr) => ({
  id: tr.dataset.alertId,
  state: tr.dataset.state,
  severity: tr.dataset.severity,
  marks: [...tr.querySelectorAll('.alert-mark')].map((m) => m.dataset.mark),
  rule: tr.querySelector('.alert-rule-name')?.textContent,
  device: tr.querySelector('.alert-device a')?.textContent,
  href: tr.querySelector('.alert-device a')?.getAttribute('href'),
  acked: tr.querySelector('.alert-acked')?.textContent,
  buttons: [...tr.querySelectorAll('button')].map((b) => b.className),
})));
const rowsSaid = async (page) => `(rows ${JSON.stringify(await activeRows(page))}; header ${JSON.stringify(await header(page))})`;
const getJson = (page, path) => page.evaluate(async (p) => {
  const res = await fetch(p);
  return { status: res.status, body: res.ok ? await res.json() : await res.text() };
}, path);

// No element made from the names, comments or anything else shown.
const INJECTED = 'img, script, b, i, u, iframe, object';

const browser = await launchChromium();
let failed = false;
const pageErrors = [];
const consoleErrors = [];
const dialogs = []; // alert(), confirm(), prompt(): none should open
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(30000);
  page.on('pageerror', (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });

  // Signed in, the first GET /api/alerts answers: nothing fires, nothing is counted.
  await page.goto(base);
  const login = page.locator('form#login-form');
  await login.waitFor();
  await login.locator('input[name=username]').fill(adminUser);
  await login.locator('input[name=password]').fill(adminPassword);
  const firstAlerts = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/alerts' && r.request().method() === 'GET');
  await login.locator('button[type=submit]').click();
  check((await firstAlerts).status() === 200, 'signed in, the page asks for the active alerts');
  await waitFor(page, () => document.querySelector('#ws-status')?.textContent === 'live', null, '/ws is live');
  let counted = await header(page);
  check(counted.hidden && counted.count === '0' && counted.label === 'Alerts',
    `before anything fires the header counts 0 firing alerts, hidden (${JSON.stringify(counted)})`);

  // The Alerts page from the header: no active alert, the rule listed by its name as text.
  await page.click('#nav-alerts');
  await page.locator('#alerts-view').waitFor({ state: 'visible' });
  check(await page.evaluate(() => location.hash) === '#/alerts' && await page.title() === 'Alerts · netpulse'
    && await page.locator('#nav-alerts').getAttribute('aria-current') === 'page',
  'the header\'s Alerts link opens the Alerts page (#/alerts)');
  const ruleRow = page.locator(`#alert-rules tr[data-rule-id="${RULE_ID}"]`);
  await ruleRow.waitFor();
  check(await ruleRow.locator('.rule-name').textContent() === RULE_NAME && await page.locator('#alert-rules b').count() === 0,
    `the rules panel lists the rule by its name as text (${RULE_NAME})`);
  await page.locator('#active-alerts-empty').waitFor({ state: 'visible' });
  check(await page.locator('#active-alerts tr[data-alert-id]').count() === 0, 'no active alert is listed while the device is up');

  // The device goes down: the alert fires, live.
  await control('down');
  const downAt = Date.now();
  const firingRow = `#active-alerts tr[data-alert-id][data-state="firing"]`;
  await waitFor(page, (sel) => document.querySelector(sel), firingRow, 'the Alerts page lists a firing alert', FIRE_MS, () => rowsSaid(page));
  let rows = await activeRows(page);
  check(rows.length === 1 && rows[0].severity === 'critical' && rows[0].marks.length === 0,
    `the device down, the Alerts page lists its firing alert after ${((Date.now() - downAt) / 1000).toFixed(1)} s, critical, without a reload (${JSON.stringify(rows[0])})`);
  const alertId = rows[0].id;
  const row = page.locator(`#active-alerts tr[data-alert-id="${alertId}"]`);
  await waitFor(page, () => document.querySelector('#alert-count')?.textContent === '1' && !document.querySelector('#alert-count').hidden,
    null, 'the header counts the firing alert', 10000, async () => JSON.stringify(await header(page)));
  counted = await header(page);
  check(counted.severity === 'critical' && counted.label === 'Alerts, 1 firing',
    `the header counts 1 firing alert, coloured by its severity (${JSON.stringify(counted)})`);

  // Hostile names are text.
  check(rows[0].rule === RULE_NAME && rows[0].device === DEVICE_NAME && rows[0].href === `#/device/${encodeURIComponent(DEVICE_ID)}`,
    `the row shows the rule name "${rows[0].rule}" and the device name "${rows[0].device}" literally, linked to the device`);
  check(await page.locator(`#alerts-view :is(${INJECTED})`).count() === 0
    && await page.evaluate(() => document.title) === 'Alerts · netpulse' && dialogs.length === 0,
  'no element was made from the names (no img or b in the Alerts page), the title is unchanged, no alert() ran');

  // The device's page lists its alert, as text.
  await row.locator('.alert-device a').click();
  await waitFor(page, (id) => location.hash === `#/device/${encodeURIComponent(id)}` && !document.querySelector('#device-detail')?.hidden,
    DEVICE_ID, 'the device link opens its page');
  const deviceAlert = page.locator(`#device-alerts li[data-alert-id="${alertId}"]`);
  await deviceAlert.waitFor({ state: 'visible' });
  const line = await deviceAlert.textContent();
  check(line.startsWith('CRITICAL firing: ') && line.includes(`${RULE_NAME} on ${DEVICE_NAME}`)
    && await deviceAlert.getAttribute('data-state') === 'firing' && await page.locator(`#device-alerts :is(${INJECTED})`).count() === 0,
  `the device's page lists its active alert as text ("${line}")`);
  check(await page.title() === `${DEVICE_NAME} · netpulse` && dialogs.length === 0, 'its page title is the name as text; no alert() ran');
  await page.click('#nav-alerts');
  await page.locator('#alerts-view').waitFor({ state: 'visible' });
  await row.waitFor();

  // Ack from the row: a dialog asks for a comment; the row then says acked by admin.
  await row.locator('button.ack').click();
  const ackDialog = page.locator('#ack-dialog');
  await ackDialog.waitFor({ state: 'visible' });
  const about = await page.locator('#ack-dialog-about').textContent();
  check(about.includes(`${RULE_NAME} on ${DEVICE_NAME}`) && await ackDialog.locator(INJECTED).count() === 0,
    `"Ack" opens a dialog naming the alert as text ("${about}")`);
  await page.locator('#ack-form [name=comment]').fill(ACK_COMMENT);
  await page.locator('#ack-form button[type=submit]').click();
  await ackDialog.waitFor({ state: 'hidden' });
  await waitFor(page, (id) => {
    const tr = document.querySelector(`#active-alerts tr[data-alert-id="${id}"]`);
    return tr?.querySelector('.alert-mark[data-mark="acked"]') && !tr.querySelector('button.ack');
  }, alertId, 'the row shows the alert acked', 15000, () => rowsSaid(page));
  rows = await activeRows(page);
  check(rows[0].acked === `admin${ACK_COMMENT}` && rows[0].state === 'firing' && rows[0].buttons.join(' ').includes('silence'),
    `acknowledged, the row is marked acked, says by admin with the comment as text ("${rows[0].acked}") and offers no Ack button`);
  let api = await getJson(page, '/api/alerts');
  const acked = Array.isArray(api.body) ? api.body.find((a) => a.id === alertId) : null;
  check(acked?.acked_by === 'admin' && acked.ack_comment === ACK_COMMENT && acked.state === 'firing',
    `GET /api/alerts says acked_by "${acked?.acked_by}", comment "${acked?.ack_comment}"`);

  // Silence from the row: a dialog asks how long and why; a silence of that device and rule.
  await row.locator('button.silence').click();
  const silenceDialog = page.locator('#alert-silence-dialog');
  await silenceDialog.waitFor({ state: 'visible' });
  check(await page.locator('#alert-silence-form [name=duration]').inputValue() === '3600', '"Silence" opens a dialog, one hour chosen first');
  await page.locator('#alert-silence-form [name=duration]').selectOption('900');
  await page.locator('#alert-silence-form [name=comment]').fill(SILENCE_COMMENT);
  const silencedAt = Date.now();
  await page.locator('#alert-silence-form button[type=submit]').click();
  await silenceDialog.waitFor({ state: 'hidden' });
  api = await getJson(page, '/api/silences');
  const made = Array.isArray(api.body) ? api.body : [];
  const silence = made[0];
  const span = silence ? (silence.to_ms - silence.from_ms) / 1000 : 0;
  check(made.length === 1 && JSON.stringify(silence.scope) === JSON.stringify({ devices: [DEVICE_ID], rules: [RULE_ID] })
    && silence.active === true && silence.created_by === 'admin' && silence.comment === SILENCE_COMMENT && Math.abs(span - 900) <= 2,
  `GET /api/silences lists one active silence of that device and rule, by admin, for ${span.toFixed(0)} s (${JSON.stringify(silence)})`);
  await waitFor(page, (id) => document.querySelector(`#active-alerts tr[data-alert-id="${id}"] .alert-mark[data-mark="silenced"]`),
    alertId, 'the row shows the alert silenced', 45000, () => rowsSaid(page));
  rows = await activeRows(page);
  check(rows[0].state === 'firing' && rows[0].marks.includes('silenced') && rows[0].marks.includes('acked'),
    `the row is marked silenced ${((Date.now() - silencedAt) / 1000).toFixed(1)} s after, still firing and acked (${rows[0].marks.join(', ')})`);
  const silenceRow = page.locator(`#silences tr[data-silence-id="${silence.id}"]`);
  await silenceRow.waitFor();
  const covers = await silenceRow.locator('.silence-scope').textContent();
  check(await silenceRow.getAttribute('data-status') === 'active' && covers === `devices: ${DEVICE_NAME}; rules: ${RULE_NAME}`
    && await silenceRow.locator('.silence-comment').textContent() === SILENCE_COMMENT
    && await page.locator(`#silences :is(${INJECTED})`).count() === 0,
  `the silences panel lists it as active, covering "${covers}", its comment as text`);
  counted = await header(page);
  check(counted.count === '1' && !counted.hidden, 'silenced, it still fires and is still counted');

  // The device comes back: resolved, no longer counted, in the history.
  await control('up');
  const upAt = Date.now();
  await waitFor(page, () => document.querySelector('#alert-count')?.hidden && document.querySelector('#alert-count')?.textContent === '0'
    && document.querySelectorAll('#active-alerts tr[data-alert-id]').length === 0, null,
  'the alert resolves and the header count goes back to 0', FIRE_MS, () => rowsSaid(page));
  counted = await header(page);
  check(counted.label === 'Alerts', `the device back, the alert leaves the page and the header count goes back to 0 after ${((Date.now() - upAt) / 1000).toFixed(1)} s`);
  const historyRow = page.locator(`#alert-history tr[data-alert-id="${alertId}"]`);
  await historyRow.waitFor({ timeout: 15000 });
  check(await historyRow.locator('.alert-rule-name').textContent() === RULE_NAME
    && await historyRow.locator('.device-link').textContent() === DEVICE_NAME,
  'the resolved alert is in the recent history, its names as text');

  check(await page.locator(`#alerts-view :is(${INJECTED}), #device-alerts :is(${INJECTED})`).count() === 0
    && await page.evaluate(() => document.title) === 'Alerts · netpulse',
  'at the end still no element made from any name or comment, and the title unchanged');
  check(dialogs.length === 0, `no alert(), confirm() or prompt() opened ${dialogs.join('; ')}`);
  check(pageErrors.length === 0, `no script errors on the page ${pageErrors.join('; ')}`);
} catch (err) {
  failed = true;
  console.error(String(err && err.stack ? err.stack : err));
  if (pageErrors.length > 0) console.error(`errors on the page:\n${pageErrors.join('\n')}`);
  if (consoleErrors.length > 0) console.error(`browser console errors:\n${consoleErrors.join('\n')}`);
  if (dialogs.length > 0) console.error(`dialogs opened:\n${dialogs.join('\n')}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
