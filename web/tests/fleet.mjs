// Browser check of the fleet views, driven in headless Chromium by playwright-core. Run by the
// Rust end-to-end test (tests/tests/fleet.rs) against a live stack polling netpulse-sim
// devices wired in an LLDP ring, one of them also wired to a simulated device netpulse does
// not poll whose sysName is markup:
//   NETPULSE_ADMIN=admin:<password> NETPULSE_EXPECT=<json> node web/tests/fleet.mjs <base URL>
// NETPULSE_EXPECT is {"search": text, "device": id, "ifIndex": n, "ifName": name,
// "links": n, "hostile": text, "hot": device id, "hostileAlias": text}: a text the port
// search finds first on that device's interface; how many links the map has; the unknown
// neighbour's name; a device whose traffic the test will raise; an alias holding markup that
// a search for "backup via" lists.
// When it needs the simulated rates changed it prints `CONTROL hot` or `CONTROL calm` and
// waits for `OK` or `ERR <message>` on standard input.
// The admin types in the header's search box: the matches list under it; Enter opens the
// device page on that interface (marked in the interface table and charted). The Top links
// page lists the busiest interfaces. The map draws the topology: every link listed with its
// ends, the unknown neighbour's markup name shown as text; when the test raises a device's
// traffic its links turn hot (red) within seconds, and calm again after. Nothing in device
// strings runs. Screenshots go to NETPULSE_TEST_OUTPUT when set.
// Prints one line per check; exits non-zero with the reason on the first failure.

import path from 'node:path';
import { check, control, launchChromium } from './harness.mjs';

const [base] = process.argv.slice(2);
if (!base) {
  console.error('usage: fleet.mjs <base URL>');
  process.exit(2);
}
const [adminUser, adminPassword] = (process.env.NETPULSE_ADMIN ?? '').split(/:(.*)/s);
const expect = JSON.parse(process.env.NETPULSE_EXPECT ?? '{}');
const outputDir = process.env.NETPULSE_TEST_OUTPUT || null;

async function waitFor(page, fn, arg, what, timeout = 30000, show = async () => '') {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 200 });
  } catch {
    throw new Error(`check failed: ${what} within ${timeout / 1000} s ${await show()}`);
  }
  console.log(`ok - ${what}`);
}

const mapRows = (page) => page.evaluate(() => [...document.querySelectorAll('#map-links tbody tr')]
  .map((tr) => ({ id: tr.dataset.link, band: tr.dataset.band, ends: [...tr.cells].slice(0, 2).map((c) => c.textContent), util: tr.cells[2].textContent })));

const browser = await launchChromium();
let failed = false;
const pageErrors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(30000);
  page.on('pageerror', (err) => pageErrors.push(String(err?.stack ?? err)));
  await page.goto(base);
  const form = page.locator('form#login-form');
  await form.locator('input[name=username]').fill(adminUser);
  await form.locator('input[name=password]').fill(adminPassword);
  await form.locator('button[type=submit]').click();
  await page.waitForFunction(() => document.querySelector('#ws-status')?.textContent === 'live');

  // ---------- the header's port search ----------
  const box = page.locator('#port-search');
  check(await box.isVisible(), 'the header has a port search box on the overview');
  await box.fill(expect.search);
  await waitFor(page, () => !document.querySelector('#port-hits').hidden
    && document.querySelectorAll('#port-hits .search-hit').length > 0, null, 'matches list under the search box as one types');
  const first = await page.evaluate(() => {
    const hit = document.querySelector('#port-hits .search-hit');
    return { device: hit.dataset.device, ifIndex: Number(hit.dataset.ifIndex), text: hit.textContent, selected: hit.getAttribute('aria-selected') };
  });
  check(first.device === expect.device && first.ifIndex === expect.ifIndex,
    `the best match is ${expect.device} ifIndex ${expect.ifIndex} (got ${first.device} ${first.ifIndex})`);
  check(first.selected === 'true', 'the first match is the active option');
  await box.press('Enter');
  await waitFor(page, (want) => location.hash === `#/device/${encodeURIComponent(want.device)}/if/${want.ifIndex}`
    && !document.querySelector('#device-detail')?.hidden, expect, 'Enter opens the device page on the interface');
  await waitFor(page, (index) => {
    const row = document.querySelector(`#interfaces tbody tr[data-if-index="${index}"]`);
    return row?.classList.contains('if-focused') && row.getAttribute('aria-current') === 'true'
      && row.querySelector('input[type=checkbox]')?.checked;
  }, expect.ifIndex, 'the interface is marked in the interface table and charted');
  check((await page.locator('#interfaces tr.if-focused td.if-name').textContent()) === expect.ifName,
    `the marked row is ${expect.ifName}`);
  check(await box.isVisible(), 'the search box is in the header of the device page too');
  await box.fill('backup via');
  await waitFor(page, (alias) => [...document.querySelectorAll('#port-hits .hit-alias')]
    .some((span) => span.textContent === alias), expect.hostileAlias, 'an alias holding markup is listed as text');
  check(await page.evaluate(() => document.querySelector('#port-hits img, #port-hits script') === null
    && window.__pwned === undefined), 'nothing in it became an element or ran');
  await box.press('Escape');
  check(await page.locator('#port-hits').isHidden(), 'Escape closes the list');
  if (outputDir) await page.screenshot({ path: path.join(outputDir, 'search.png') });

  // ---------- top links ----------
  await page.click('#nav-top');
  await waitFor(page, () => document.querySelectorAll('#top-table tbody tr').length >= 3, null, 'the Top links page lists the busiest interfaces');
  const topDevice = await page.evaluate(() => document.querySelector('#top-table tbody tr')?.dataset.device);
  console.log(`top link: ${topDevice}`);

  // ---------- the map ----------
  await page.click('#nav-map');
  await waitFor(page, () => document.querySelector('#map-canvas')?.dataset.ready === 'true'
    && document.querySelector('#map-canvas canvas') !== null, null, 'the map draws the topology on a canvas');
  let rows = await mapRows(page);
  check(rows.length === expect.links, `the map has the ${expect.links} links of the simulated wiring (got ${rows.length})`);
  const hostileRow = rows.find((r) => r.ends.some((e) => e.includes(expect.hostile)));
  check(hostileRow !== undefined, 'the unknown neighbour\'s markup name is shown as text in the links table');
  check(await page.evaluate(() => window.__pwned === undefined
    && document.querySelector('#map-view img, #map-view script') === null), 'nothing in a neighbour\'s name became an element or ran');
  const hot = (r) => r.id.includes(expect.hot);
  check(rows.filter(hot).length >= 2, `${expect.hot} has links on the map`);
  await waitFor(page, (d) => [...document.querySelectorAll('#map-links tbody tr')]
    .filter((tr) => tr.dataset.link.includes(d)).every((tr) => tr.dataset.band === 'low'), expect.hot,
  'the links are green at the simulator\'s low rates', 30000, async () => JSON.stringify(await mapRows(page)));
  if (outputDir) await page.screenshot({ path: path.join(outputDir, 'map-calm.png') });
  await control('hot');
  await waitFor(page, (d) => [...document.querySelectorAll('#map-links tbody tr')]
    .filter((tr) => tr.dataset.link.includes(d)).every((tr) => tr.dataset.band === 'hot'), expect.hot,
  'its links turn hot (red) as the simulator\'s rates rise', 30000, async () => JSON.stringify(await mapRows(page)));
  rows = await mapRows(page);
  check(rows.filter(hot).every((r) => /^\d+ %$/.test(r.util) && Number.parseInt(r.util, 10) >= 80), 'and say so in figures');
  const edgeColour = await page.evaluate(() => getComputedStyle(document.querySelector('#map-links tbody tr[data-band="hot"] td.map-util')).color);
  check(edgeColour !== '', `a hot link's figure is coloured (${edgeColour})`);
  if (outputDir) await page.screenshot({ path: path.join(outputDir, 'map-hot.png') });
  await control('calm');
  await waitFor(page, (d) => [...document.querySelectorAll('#map-links tbody tr')]
    .filter((tr) => tr.dataset.link.includes(d)).every((tr) => tr.dataset.band === 'low'), expect.hot,
  'and green again when they fall', 30000, async () => JSON.stringify(await mapRows(page)));
  check(pageErrors.length === 0, `no script error on the page ${pageErrors.join(' | ')}`);
} catch (err) {
  failed = true;
  console.error(String(err?.message ?? err));
  if (pageErrors.length > 0) console.error(`page errors: ${pageErrors.join(' | ')}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
