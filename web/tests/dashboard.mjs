// Browser check of the netpulse dashboard, driven in headless Chromium by playwright-core.
// Run by the Rust end-to-end test (tests/tests/browser.rs) against a live stack:
//   NETPULSE_ADMIN=admin:<password> NETPULSE_VIEWER=<user>:<password> \
//   node web/tests/dashboard.mjs <gateway base URL> <snmpd host:port> [screenshot.png]
// With a screenshot path, it also saves <path>-1h.png, -drag.png and -removed.png.
// It uses the page as people would: the admin signs in (after a wrong password), tries a bad
// device, adds a real one whose name is hostile markup and watches its chart fill from /ws;
// looks at its stored history over other ranges (1 h, a drag to zoom, a custom range), sees
// the 95th percentile and exports the range as CSV and JSON; a viewer signs in and sees the
// device but no controls, and the server refuses a change made behind the page's back; then
// the admin deletes the device keeping its history, views that history under Removed devices
// and deletes it.
// Prints one line per check; exits non-zero with the reason on the first failure.

import { readFile } from 'node:fs/promises';
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

const CSV_HEADER = 'interface,time,in_min_bps,in_avg_bps,in_max_bps,out_min_bps,out_avg_bps,out_max_bps';
const HOUR_MS = 3_600_000;

// What the chart of one interface shows, read from the page's Chart.js instance.
function chartState(page, ifIndex) {
  return page.evaluate((i) => {
    const canvas = document.querySelector(`#charts canvas[data-if-index="${i}"]`);
    const chart = canvas && window.Chart && window.Chart.getChart(canvas);
    if (!chart) return null;
    const dataset = (role) => chart.data.datasets.find((d) => d.role === role);
    const numbers = (role) => (dataset(role)?.data ?? []).map((p) => p.y).filter((y) => typeof y === 'number');
    const xs = (dataset('in')?.data ?? []).map((p) => p.x);
    return {
      state: canvas.closest('.chart')?.dataset.state,
      range: document.querySelector('#charts')?.dataset.range,
      min: chart.options.scales.x.min,
      max: chart.options.scales.x.max,
      points: xs.length,
      firstX: xs[0],
      oldestWithData: (dataset('in')?.data ?? []).find((p) => typeof p.y === 'number')?.x,
      in: numbers('in').length,
      out: numbers('out').length,
      spread: numbers('in-max').length + numbers('out-max').length,
      p95In: { label: dataset('p95-in')?.label, points: numbers('p95-in').length, dash: dataset('p95-in')?.borderDash },
      p95Out: { label: dataset('p95-out')?.label, points: numbers('p95-out').length },
      note: canvas.closest('figure')?.querySelector('.chart-note')?.textContent ?? '',
    };
  }, ifIndex);
}

// Waits until the chart of `ifIndex` satisfies `condition`; returns what it shows then.
async function waitForChart(page, ifIndex, condition, what, timeoutMs = 45000) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  for (;;) {
    last = await chartState(page, ifIndex);
    if (last && condition(last)) return last;
    if (Date.now() > deadline) throw new Error(`check failed: ${what} (chart shows ${JSON.stringify(last)})`);
    await page.waitForTimeout(250);
  }
}

// Downloads what clicking `selector` offers; returns the file name and text.
async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.click(selector)]);
  return { name: file.suggestedFilename(), text: await readFile(await file.path(), 'utf8') };
}

// A local time as a datetime-local input takes it.
function localInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
const pageErrors = [];
const consoleErrors = []; // shown when a check fails (some are expected: a refused sign-in is a 401)
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // The whole stack runs beside this browser on a small machine: allow for a slow moment.
  page.setDefaultTimeout(30000);
  page.on('pageerror', (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
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
  const firstRow = page.locator('ul#devices li[data-device-id]').first();
  await firstRow.waitFor({ timeout: 30000 });
  check(await firstRow.locator('.device-name').textContent() === HOSTILE_NAME, 'the new device is listed with its name shown as text');
  check(await page.locator('ul#devices img').count() === 0, 'markup in the name is not rendered');
  const labId = await firstRow.getAttribute('data-device-id');
  const row = page.locator(`ul#devices li[data-device-id="${labId}"]`);

  await row.click();
  const canvas = page.locator('#charts canvas[data-if-index="1"]');
  await canvas.waitFor({ timeout: 30000 });
  // Two rated samples make a line: the chart moves from /ws without a reload.
  await waitForChart(page, 1, (s) => s.range === 'live' && s.in >= 2 && s.out >= 2, 'the ifIndex 1 chart has live in and out points');
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

  // ---------- history: ranges, zoom, percentile, export ----------

  // The live range starts with what is stored: after a reload, points older than the page.
  // The device is polled every second; let it collect a few samples first.
  await row.click();
  await waitForChart(page, 1, (s) => s.range === 'live' && s.in >= 6, 'the device has a few seconds of samples');
  const reloadedAt = Date.now();
  await page.reload();
  await row.waitFor({ timeout: 30000 });
  await row.click();
  let shown = await waitForChart(page, 1, (s) => s.range === 'live' && s.state === 'ready' && s.oldestWithData < reloadedAt - 4000,
    'the live range is filled from the history API');
  check(true, `the live range first shows the stored last 15 minutes (${shown.in} points, the oldest ${Math.round((reloadedAt - shown.oldestWithData) / 1000)} s before the page loaded)`);
  check(shown.max - shown.min === 15 * 60 * 1000, 'the live range spans 15 minutes');

  // "1 h": the stored points of the polled device (polled every second; a few are on disk by now).
  let hour = null;
  for (const deadline = Date.now() + 60000; !hour;) {
    await page.click('#range-bar button[data-range="1h"]');
    const s = await waitForChart(page, 1, (c) => c.range === '1h' && (c.state === 'ready' || c.state === 'error'), 'the 1 h range loads');
    if (s.state === 'ready' && s.in >= 2 && s.out >= 2) hour = s;
    else if (Date.now() > deadline) throw new Error(`check failed: "1 h" draws stored points (${JSON.stringify(s)})`);
    else await page.waitForTimeout(1000);
  }
  check(hour.max - hour.min === HOUR_MS, 'choosing "1 h" shows one hour');
  check(await page.locator('#range-bar button[data-range="1h"]').getAttribute('aria-pressed') === 'true', 'the "1 h" button shows as chosen');
  check(hour.in >= 2 && hour.out >= 2, `choosing "1 h" draws stored points from the history API (${hour.in} in, ${hour.out} out)`);
  check(hour.spread > 0, 'the min-max spread of each step is drawn');
  check(/^95th in: \d/.test(hour.p95In.label) && /^95th out: \d/.test(hour.p95Out.label),
    `the 95th percentile lines are labelled ("${hour.p95In.label}", "${hour.p95Out.label}")`);
  check(hour.p95In.points >= 2 && hour.p95Out.points >= 2 && Array.isArray(hour.p95In.dash) && hour.p95In.dash.length > 0,
    'the 95th percentile of each direction is a dashed line across the range');
  check(hour.note.includes('95th percentile: in '), `the chart says its 95th percentiles in text ("${hour.note}")`);

  if (screenshot) await page.screenshot({ path: screenshot.replace(/(\.png)?$/, '-1h.png') });

  // Live samples keep coming but leave a past range alone.
  const sampleText = await page.locator('#last-sample').textContent();
  await page.waitForFunction((t) => document.querySelector('#last-sample')?.textContent !== t, sampleText, { timeout: 30000 });
  const after = await chartState(page, 1);
  check(after.points === hour.points && after.firstX === hour.firstX && after.in === hour.in && after.min === hour.min,
    'a live sample does not change the 1 h range');

  // Export: the same data the API returned, as CSV and as JSON.
  const csv = await download(page, '#export-csv');
  const lines = csv.text.split(/\r?\n/).filter((l) => l.length > 0);
  check(lines[0] === CSV_HEADER, 'the CSV export starts with the header');
  const dataRows = lines.slice(1).map((l) => l.split(','));
  check(dataRows.length > 0 && dataRows.every((r) => r.length === 8 && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(r[1])),
    `the CSV has ${dataRows.length} rows with ISO-8601 UTC times`);
  check(dataRows.some((r) => r[3] !== '' && Number.isFinite(Number(r[3]))), 'the CSV has rows with data');
  check(new RegExp(`^${labId}-\\d{8}T\\d{6}Z-\\d{8}T\\d{6}Z\\.csv$`).test(csv.name), `the CSV file is named after the device and range (${csv.name})`);
  const json = await download(page, '#export-json');
  const exported = JSON.parse(json.text);
  check(Array.isArray(exported['1']?.points) && exported['1'].points.length === dataRows.length && 'p95_in_bps' in exported['1'],
    'the JSON export holds the API answer for each interface');

  // Drag across the chart: the selected span becomes a custom range.
  const area = await page.evaluate(() => {
    const c = document.querySelector('#charts canvas[data-if-index="1"]');
    const a = window.Chart.getChart(c).chartArea;
    return { left: a.left, right: a.right, top: a.top, bottom: a.bottom };
  });
  const box = await canvas.boundingBox();
  const y = box.y + (area.top + area.bottom) / 2;
  await page.mouse.move(box.x + area.left + (area.right - area.left) * 0.5, y);
  await page.mouse.down();
  // Past the right edge: the selection stops at the end of the range, where the samples are.
  await page.mouse.move(box.x + area.right + 30, y, { steps: 8 });
  check(await page.locator('#charts .zoom-selection').first().isVisible(), 'dragging shows the selected span');
  if (screenshot) await page.screenshot({ path: screenshot.replace(/(\.png)?$/, '-drag.png') });
  await page.mouse.up();
  const zoomed = await waitForChart(page, 1, (s) => s.range === 'custom' && s.state === 'ready', 'a drag switches to a custom range');
  const span = zoomed.max - zoomed.min;
  check(span > 0 && span < HOUR_MS * 0.6 && zoomed.max <= hour.max + 1000,
    `a drag on a chart switches to a custom range with a narrower span (${Math.round(span / 1000)} s)`);
  check(zoomed.in >= 1, 'the zoomed range draws its stored points');
  check(await page.locator('#range-bar button[data-range="custom"]').getAttribute('aria-pressed') === 'true'
    && (await page.locator('#custom-range input[name=from]').inputValue()) !== '', 'the custom range shows its from and to');
  await page.click('#zoom-reset');
  const back = await waitForChart(page, 1, (s) => s.range === '1h' && s.state === 'ready', '"Reset zoom" returns to the 1 h range');
  check(back.min === hour.min && back.max === hour.max, '"Reset zoom" returns to the previous range');
  check(await page.locator('#zoom-reset').isHidden(), 'with nothing to go back to, "Reset zoom" is gone');

  // A custom range typed in.
  await page.click('#range-bar button[data-range="custom"]');
  const now = Date.now();
  await page.locator('#custom-range input[name=from]').fill(localInput(now - 10 * 60 * 1000));
  await page.locator('#custom-range input[name=to]').fill(localInput(now));
  await page.click('#custom-range button[type=submit]');
  const custom = await waitForChart(page, 1, (s) => s.range === 'custom' && s.state === 'ready' && Math.abs(s.max - s.min - 600000) < 2000,
    'a custom range applies');
  check(custom.in >= 1, 'a typed custom range (the last 10 min) draws stored points');
  await page.click('#range-bar button[data-range="live"]');
  await waitForChart(page, 1, (s) => s.range === 'live' && s.in >= 2, 'back to live');
  check(true, 'choosing "Live 15 min" goes back to live');

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

  // ---------- deleting, keeping the history ----------

  const dialog = page.locator('#delete-dialog');
  await row.locator('button.delete').click();
  await dialog.waitFor({ state: 'visible' });
  check(await page.locator('#delete-dialog-title').textContent() === 'Keep its history?', 'deleting asks "Keep its history?" in a dialog');
  check(await page.locator('#delete-dialog-device').textContent() === `${HOSTILE_NAME} (${agent})`, 'the dialog names the device as text');
  check(await page.evaluate(() => document.activeElement?.closest('#delete-dialog') !== null), 'the dialog takes the keyboard focus');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  check(await row.count() === 1, 'Escape closes the dialog and deletes nothing');
  await row.locator('button.delete').click();
  await dialog.waitFor({ state: 'visible' });
  await dialog.getByRole('button', { name: 'Delete, keep history' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => !document.querySelector(`ul#devices li[data-device-id="${id}"]`), labId, { timeout: 30000 });
  check(true, 'deleting removes the device from the list');
  const removedRow = page.locator(`ul#removed li[data-device-id="${labId}"]`);
  await removedRow.waitFor({ timeout: 30000 });
  check(await removedRow.locator('.device-name').textContent() === HOSTILE_NAME, 'with its history kept, it is listed under Removed devices by name (as text)');
  check((await removedRow.locator('.device-meta').textContent()).startsWith('removed '), 'the removed device shows when it was removed');
  check(await page.locator('ul#removed img').count() === 0, 'no element was made from the removed device\'s name');
  await removedRow.click();
  await page.waitForFunction(() => document.querySelector('#device-detail')?.dataset.kind === 'removed', null, { timeout: 30000 });
  check(await page.locator('#range-bar button[data-range="live"]').isHidden(), 'a removed device has no live range');
  const kept = await waitForChart(page, 1, (s) => s.state === 'ready' && s.in >= 1, 'the removed device\'s history draws');
  check(kept.range === '1h', `its kept history still draws (${kept.in} points in the hour before removal)`);
  if (screenshot) await page.screenshot({ path: screenshot.replace(/(\.png)?$/, '-removed.png') });
  const keptCsv = await download(page, '#export-csv');
  check(keptCsv.text.startsWith(`${CSV_HEADER}\r\n`) && keptCsv.text.trim().split(/\r?\n/).length > 1, 'its kept history exports');

  // The viewer's page hears of the removal over /ws: the list, but no delete button.
  const viewerRemoved = viewer.locator(`ul#removed li[data-device-id="${labId}"]`);
  await viewerRemoved.waitFor({ timeout: 30000 });
  check(true, 'a viewer sees the removed device (the list refreshes on device_removed)');
  check(await viewer.locator('ul#removed button.delete').count() === 0, 'a viewer has no "Delete history" button');
  await viewer.close();

  // "Delete history": asked once more, then gone, also from the API.
  await removedRow.locator('button.delete').click();
  const confirmDialog = page.locator('#confirm-dialog');
  await confirmDialog.waitFor({ state: 'visible' });
  await confirmDialog.getByRole('button', { name: 'Delete history' }).click();
  await removedRow.waitFor({ state: 'detached', timeout: 30000 });
  check(true, '"Delete history" removes it from Removed devices');
  const gone = await page.evaluate(async (id) => (await fetch(`/api/devices/${id}/history?interface=1`)).status, labId);
  check(gone === 404, `its history is gone from the API (${gone})`);

  // "Delete with history": nothing is kept.
  if (hostileAgent) {
    const other = page.locator('ul#devices li[data-device-id="hostile-texts"]');
    await other.locator('button.delete').click();
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByRole('button', { name: 'Delete with history' }).click();
    await other.waitFor({ state: 'detached', timeout: 30000 });
    const listed = await page.evaluate(async () => (await (await fetch('/api/history/removed')).json()).map((r) => r.id));
    check(!listed.includes('hostile-texts') && await page.locator('ul#removed li[data-device-id="hostile-texts"]').count() === 0,
      '"Delete with history" keeps nothing under Removed devices');
  }
  check(pageErrors.length === 0, `no script errors on the page ${pageErrors.join('; ')}`);
} catch (err) {
  failed = true;
  console.error(String(err && err.stack ? err.stack : err));
  if (pageErrors.length > 0) console.error(`errors on the page:\n${pageErrors.join('\n')}`);
  if (consoleErrors.length > 0) console.error(`browser console errors:\n${consoleErrors.join('\n')}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
