// Browser check of the netpulse dashboard, driven in headless Chromium by playwright-core.
// Run by the Rust end-to-end test (tests/tests/browser.rs) against a live stack:
//   NETPULSE_ADMIN=admin:<password> NETPULSE_VIEWER=<user>:<password> \
//   node web/tests/dashboard.mjs <gateway base URL> <snmpd host:port> [screenshot.png]
// It uses the page as people would: the admin signs in (after a wrong password), tries a bad
// device, adds a real one whose name is hostile markup and watches its chart fill from /ws;
// a viewer signs in and sees the device but no controls, and the server refuses a change
// made behind the page's back; then the admin deletes the device.
// Prints one line per check; exits non-zero with the reason on the first failure.

import { chromium } from 'playwright-core';

const [base, agent, screenshot] = process.argv.slice(2);
if (!base || !agent) {
  console.error('usage: dashboard.mjs <base URL> <snmpd host:port> [screenshot.png]');
  process.exit(2);
}

const [adminUser, adminPassword] = (process.env.NETPULSE_ADMIN ?? '').split(/:(.*)/s);
const [viewerUser, viewerPassword] = (process.env.NETPULSE_VIEWER ?? '').split(/:(.*)/s);

async function signIn(page, user, password) {
  await page.goto(base);
  const form = page.locator('form#login-form');
  await form.waitFor({ timeout: 30000 });
  await form.locator('input[name=username]').fill(user);
  await form.locator('input[name=password]').fill(password);
  await form.locator('button[type=submit]').click();
}

// A simulated device whose own texts are hostile markup (NETPULSE_HOSTILE=<host:port>).
const hostileAgent = process.env.NETPULSE_HOSTILE;
const SYS_DESCR = '<img src=x onerror="window.__pwned=1">router';
const SYS_LOCATION = '<script>window.__pwned=2</script>rack 1';
const IF_ALIAS = '<img src=x onerror="window.__pwned=3"><script>window.__pwned=4</script>';

const HOSTILE_NAME = 'lab <img src=x onerror="window.__pwned=1">';

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // The whole stack runs beside this browser on a small machine: allow for a slow moment.
  page.setDefaultTimeout(30000);
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('dialog', (dialog) => dialog.accept());

  await signIn(page, adminUser, 'not-the-password');
  await page.waitForFunction(() => document.querySelector('#login-error')?.textContent.trim().length > 0);
  check(await page.locator('#login-error').textContent() === 'wrong user name or password', 'a wrong password is refused');
  await signIn(page, adminUser, adminPassword);
  await page.waitForFunction(() => document.querySelector('#ws-status')?.textContent === 'live', null, { timeout: 30000 });
  check(true, 'after signing in, the live indicator shows "live" once /ws is connected');
  check((await page.locator('#whoami').textContent()).includes('admin'), 'the page says who is signed in');
  check(await page.locator('#users-panel').isVisible(), 'an admin sees the users panel');

  // Bad input: the error names the problem and marks the field; nothing is added.
  const form = page.locator('form#add-device');
  await form.locator('input[name=name]').fill('');
  await form.locator('input[name=address]').fill(agent);
  await form.locator('button[type=submit]').click();
  await page.waitForFunction(() => document.querySelector('#form-error')?.textContent.trim().length > 0);
  check(await form.locator('input[name=name]').getAttribute('aria-invalid') === 'true', 'empty name is refused and the name field is marked');
  check(await page.locator('ul#devices li').count() === 0, 'nothing was added');

  await form.locator('input[name=name]').fill(HOSTILE_NAME);
  await form.locator('input[name=address]').fill(agent);
  await form.locator('input[name=interval]').fill('1');
  await form.locator('input[name=interfaces]').fill('1');
  await form.locator('input[name=oids]').fill('1.3.6.1.2.1.1.5.0');
  await form.locator('button[type=submit]').click();
  const row = page.locator('ul#devices li[data-device-id]').first();
  await row.waitFor({ timeout: 30000 });
  check(await row.locator('.device-name').textContent() === HOSTILE_NAME, 'the new device is listed with its name shown as text');
  check(await page.locator('ul#devices img').count() === 0, 'markup in the name is not rendered');

  await row.click();
  const canvas = page.locator('#charts canvas[data-if-index="1"]');
  await canvas.waitFor({ timeout: 30000 });
  // Two rated samples make a line: the chart moves from /ws without a reload.
  await page.waitForFunction(() => {
    const c = document.querySelector('#charts canvas[data-if-index="1"]');
    const chart = c && window.Chart && window.Chart.getChart(c);
    if (!chart) return false;
    return chart.data.datasets.every((d) => d.data.filter((v) => typeof v === 'number').length >= 2);
  }, null, { timeout: 30000 });
  check(true, 'the ifIndex 1 chart has live in and out points');
  await page.waitForFunction(() => document.querySelector('ul#devices li[data-device-id] .device-state')?.textContent === 'up', null, { timeout: 30000 });
  check(true, 'the device shows as up');
  const last = await page.locator('#last-sample').textContent();
  check(last && last !== 'no samples yet', `last sample time is shown (${last})`);
  if (screenshot) await page.screenshot({ path: screenshot });

  check(await page.evaluate(() => window.__pwned === undefined), 'no script from a device name ran');
  check(pageErrors.length === 0, `no script errors on the page ${pageErrors.join('; ')}`);

  if (hostileAgent) {
    await form.locator('input[name=name]').fill('hostile-texts');
    await form.locator('input[name=address]').fill(hostileAgent);
    await form.locator('input[name=interval]').fill('2');
    await form.locator('input[name=interfaces]').fill('');
    await form.locator('input[name=oids]').fill('');
    await form.locator('button[type=submit]').click();
    const hostileRow = page.locator('ul#devices li[data-device-id="hostile-texts"]');
    await hostileRow.waitFor({ timeout: 30000 });
    // Discovery reads the texts; reload the device list until they are there.
    for (let i = 0; i < 40; i += 1) {
      await hostileRow.click();
      if (await page.locator('#sys-descr').textContent() === SYS_DESCR) break;
      await page.waitForTimeout(500);
      await page.evaluate(() => fetch('/api/devices').then((r) => r.json()).then(() => null));
      await page.reload();
      await page.locator('ul#devices li[data-device-id="hostile-texts"]').waitFor({ timeout: 30000 });
    }
    await page.locator('ul#devices li[data-device-id="hostile-texts"]').click();
    await page.waitForFunction((t) => document.querySelector('#sys-descr')?.textContent === t, SYS_DESCR, { timeout: 30000 });
    check(true, 'sysDescr with an <img onerror> is shown literally');
    check(await page.locator('#sys-location').textContent() === SYS_LOCATION, 'sysLocation with a <script> is shown literally');
    await page.waitForFunction((t) => [...document.querySelectorAll('#interfaces td')].some((td) => td.textContent === t), IF_ALIAS, { timeout: 30000 });
    check(true, 'ifAlias with markup is shown literally in the interfaces table');
    check(await page.locator('#device-detail img, #device-detail script').count() === 0, 'no element was made from device text');
    check(await page.evaluate(() => window.__pwned === undefined), 'no script from device text ran');
    await page.locator('ul#devices li[data-device-id]').first().click();
  }

  // A viewer sees the device and its traffic, but no controls; the server refuses changes.
  const viewer = await (await browser.newContext()).newPage();
  viewer.setDefaultTimeout(30000);
  await signIn(viewer, viewerUser, viewerPassword);
  await viewer.locator('ul#devices li[data-device-id]').first().waitFor({ timeout: 30000 });
  check(await viewer.locator('form#add-device').count() === 0, 'a viewer has no add-device form');
  check(await viewer.locator('ul#devices button.delete').count() === 0, 'a viewer has no delete buttons');
  check(await viewer.locator('#users-panel').count() === 0, 'a viewer has no users panel');
  await viewer.waitForFunction(() => document.querySelector('#charts canvas[data-if-index="1"]'), null, { timeout: 30000 });
  check(true, 'a viewer sees the traffic chart');
  const refused = await viewer.evaluate(async () => (await fetch('/api/devices', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'x', address: '192.0.2.1' }),
  })).status);
  check(refused === 403, `the server refuses a viewer's change (${refused})`);
  await viewer.close();

  const deletedId = await row.getAttribute('data-device-id');
  await row.locator('button.delete').click();
  await page.waitForFunction((id) => !document.querySelector(`ul#devices li[data-device-id="${id}"]`), deletedId, { timeout: 30000 });
  check(true, 'deleting removes the device from the list');
} catch (err) {
  failed = true;
  console.error(String(err && err.stack ? err.stack : err));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
