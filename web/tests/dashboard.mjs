// Browser check of the netpulse dashboard, driven in headless Chromium by playwright-core.
// Run by the Rust end-to-end test (tests/tests/browser.rs) against a live stack:
//   NETPULSE_ADMIN=admin:<password> NETPULSE_VIEWER=<user>:<password> \
//   NETPULSE_SYSLOG=<syslog host:port> NETPULSE_SIM=<simulated device host:port> \
//   NETPULSE_HOSTILE=<simulated device host:port> NETPULSE_TEST_OUTPUT=<folder> \
//   node web/tests/dashboard.mjs <gateway base URL> <snmpd host:port> [screenshot.png]
// With a screenshot path, it also saves <path>-1h.png, -drag.png, -logs.png and -removed.png;
// in NETPULSE_TEST_OUTPUT it saves overview.png and device.png (and -dark variants).
// When it needs the test to act (restart the gateway, silence the simulated device), it
// prints `CONTROL <command> [args]` and waits for `OK` or `ERR <message>` on standard input.
// It uses the page as people would: the admin signs in (after a wrong password), tries a bad
// device, adds a real one whose name is hostile markup and watches its chart fill from /ws;
// opens its Logs tab and sees syslog sent from the device's extra log source address arrive
// live (markup in it shown as text), filters by severity, searches, pages back, opens an
// entry; sees an unknown source listed and turns it into the add-device form's address;
// looks at its stored history over other ranges (1 h, a drag to zoom, a custom range), sees
// the 95th percentile and exports the range as CSV and JSON; a viewer signs in and sees the
// device but no controls, and the server refuses a change made behind the page's back; then
// a viewer makes an API token, uses it and revokes it; then
// the admin deletes the device keeping its history, views that history (traffic and logs)
// under Removed devices and deletes it. The wall-screen part: the admin discovers a simulated
// device and adds it with the interfaces chosen, sees it up on the overview (its rates from
// the /ws frames the overview takes), its chart move, its one-second live view (its samples
// one by one), its interface table and settings, sees it go down and come back on the
// overview, and the page reconnect by itself after the gateway restarts.
// Prints one line per check; exits non-zero with the reason on the first failure.

import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { formatBps } from '../format.js';
import { check, control, launchChromium } from './harness.mjs';

const [base, agent, screenshot] = process.argv.slice(2);
if (!base || !agent) {
  console.error('usage: dashboard.mjs <base URL> <snmpd host:port> [screenshot.png]');
  process.exit(2);
}

const outputDir = process.env.NETPULSE_TEST_OUTPUT || null;
const simAgent = process.env.NETPULSE_SIM || null;

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

// The overview's row of a device.
const deviceRow = (page, id) => page.locator(`#devices tbody tr[data-device-id="${id}"]`);

/** Goes to the overview by its link in the header. */
async function showOverview(page) {
  await page.click('#nav-overview');
  await page.locator('#overview-view').waitFor({ state: 'visible' });
}

/** Opens a device's page from its row on the overview. */
async function openDevice(page, id) {
  if (await page.locator('#overview-view').isHidden()) await showOverview(page);
  await deviceRow(page, id).click();
  await page.waitForFunction((d) => location.hash === `#/device/${encodeURIComponent(d)}`
    && !document.querySelector('#device-detail')?.hidden, id);
}

// A simulated device whose own texts are hostile markup (NETPULSE_HOSTILE=<host:port>).
const hostileAgent = process.env.NETPULSE_HOSTILE;
const SYS_DESCR = '<img src=x onerror="window.__pwned=1">router';
const SYS_LOCATION = '<script>window.__pwned=2</script>rack 1';
const IF_ALIAS = '<img src=x onerror="window.__pwned=3"><script>window.__pwned=4</script>';

const HOSTILE_NAME = 'lab <img src=x onerror="window.__pwned=1">';

// ---------- syslog ----------

// The logs receiver (NETPULSE_SYSLOG=<host:port>). Every 127/8 address is this machine's:
// the lab device lists DEVICE_SOURCE as an extra log source; UNKNOWN_SOURCE matches no device.
const [syslogHost, syslogPort] = (process.env.NETPULSE_SYSLOG ?? '').split(/:(?=\d+$)/);
const DEVICE_SOURCE = '127.0.0.5';
const UNKNOWN_SOURCE = '127.0.0.6';
const SEVERITIES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug'];

/** An RFC 5424 line from facility user at `severity`. */
function syslogLine(severity, message, { app = 'linkd', structuredData = '-' } = {}) {
  return `<${8 + SEVERITIES.indexOf(severity)}>1 ${new Date().toISOString()} edge-7 ${app} 42 - ${structuredData} ${message}`;
}

/** Sends syslog lines over UDP from the local address `from`, in order. */
async function sendSyslog(from, lines) {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: from, port: 0 }, resolve);
    });
    for (const line of lines) {
      await new Promise((resolve, reject) => socket.send(Buffer.from(line), Number(syslogPort), syslogHost, (e) => (e ? reject(e) : resolve())));
    }
  } finally {
    socket.close();
  }
}

/** Sends syslog lines over one TCP connection (newline framing) from the local address `from`. */
async function sendSyslogTcp(from, lines) {
  const socket = net.createConnection({ host: syslogHost, port: Number(syslogPort), localAddress: from });
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', resolve);
    socket.end(lines.map((line) => `${line}\n`).join(''));
  });
}

// The entries the Logs table shows, top to bottom.
function logRows(page) {
  return page.evaluate(() => [...document.querySelectorAll('#log-table tbody.log-entry')].map((b) => ({
    time: b.querySelector('.log-time')?.textContent,
    severity: b.querySelector('.log-severity .severity')?.textContent,
    severityAttr: b.querySelector('.log-severity .severity')?.dataset.severity,
    kind: b.querySelector('.log-kind')?.textContent,
    source: b.querySelector('.log-source')?.textContent,
    message: b.querySelector('.log-message')?.textContent,
  })));
}

// Waits until the Logs table satisfies `condition`; returns its rows then.
async function waitForLogs(page, condition, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await logRows(page);
    const busy = await page.locator('#log-table[aria-busy="true"]').count() > 0;
    if (!busy && condition(rows)) return rows;
    if (Date.now() > deadline) {
      const said = await page.evaluate(() => `${document.querySelector('#log-status')?.textContent} ${document.querySelector('#log-error')?.textContent}`);
      throw new Error(`check failed: ${what} (the table shows ${JSON.stringify(rows.slice(0, 8))}, ${rows.length} rows; "${said}")`);
    }
    await page.waitForTimeout(200);
  }
}

// Waits until the API has stored entries matching `q` for `device` (at least `count`).
async function waitForStored(page, device, q, count, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await page.evaluate(async ([id, text]) => {
      const res = await fetch(`/api/devices/${encodeURIComponent(id)}/logs?limit=1000&q=${encodeURIComponent(text)}`);
      return res.ok ? (await res.json()).entries.length : -1;
    }, [device, q]);
    if (n >= count) return n;
    if (Date.now() > deadline) throw new Error(`check failed: ${what} (${n} stored)`);
    await page.waitForTimeout(250);
  }
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

// Every address the pages asked for (requests and WebSockets): all must be the gateway's.
const requested = [];
function watchRequests(page) {
  page.on('request', (r) => requested.push(r.url()));
  page.on('websocket', (ws) => requested.push(ws.url()));
}
// What the admin's page sent over /ws.
const sentFrames = [];
// What it received over /ws: {at: Date.now() on arrival, msg: the parsed message}.
const receivedFrames = [];
const parseFrame = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};
// The samples of `device` among the received messages `from` on: those that came alone, and
// those that came in a `frame`.
function samplesOf(device, from = 0) {
  const alone = [];
  const framed = [];
  for (const { at, msg } of receivedFrames) {
    if (at < from) continue;
    if (msg?.type === 'sample' && msg.device === device) alone.push(msg);
    if (msg?.type === 'frame' && Array.isArray(msg.samples)) {
      framed.push(...msg.samples.filter((x) => x?.type === 'sample' && x.device === device));
    }
  }
  return { alone, framed };
}

const browser = await launchChromium();
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
  watchRequests(page);
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => sentFrames.push(String(f.payload)));
    ws.on('framereceived', (f) => receivedFrames.push({ at: Date.now(), msg: parseFrame(String(f.payload)) }));
  });

  await signIn(page, adminUser, 'not-the-password');
  await page.waitForFunction(() => document.querySelector('#login-error')?.textContent.trim().length > 0);
  check(await page.locator('#login-error').textContent() === 'wrong user name or password', 'a wrong password is refused');
  await signIn(page, adminUser, adminPassword);
  await page.waitForFunction(() => document.querySelector('#ws-status')?.textContent === 'live', null, { timeout: 30000 });
  check(true, 'after signing in, the live indicator shows "live" once /ws is connected');
  check((await page.locator('#whoami').textContent()).includes('admin'), 'the page says who is signed in');
  check(await page.locator('#users-panel').isVisible(), 'an admin sees the users panel');

  check(await page.locator('#overview-view').isVisible() && await page.evaluate(() => location.hash === '' || location.hash === '#/'),
    'the overview is the landing view');

  // Bad input: the error names the problem at the field and marks it; nothing is added.
  const form = page.locator('form#add-device');
  await form.locator('input[name=name]').fill('');
  await form.locator('input[name=address]').fill(agent);
  await form.locator('button[type=submit]').click();
  await page.waitForFunction(() => document.querySelector('#add-name-error')?.textContent.trim().length > 0);
  check(await form.locator('input[name=name]').getAttribute('aria-invalid') === 'true'
    && await form.locator('input[name=name]').getAttribute('aria-describedby') === 'add-name-error'
    && await page.evaluate(() => document.activeElement?.id === 'add-name'),
    `empty name is refused at its field ("${await page.locator('#add-name-error').textContent()}"), marked, described and focused`);
  check(await page.locator('#devices tbody tr').count() === 0, 'nothing was added');
  await form.locator('input[name=name]').fill('x');
  await form.locator('input[name=interval]').fill('0');
  await form.locator('button[type=submit]').click();
  check(await form.locator('input[name=interval]').getAttribute('aria-invalid') === 'true'
    && (await page.locator('#add-interval-error').textContent()).includes('1 to 86400')
    && await form.locator('input[name=name]').getAttribute('aria-invalid') === null,
    'an interval of 0 is refused at its field; typing cleared the name\'s mark');

  await form.locator('input[name=name]').fill(HOSTILE_NAME);
  await form.locator('input[name=address]').fill(agent);
  await form.locator('input[name=interval]').fill('1');
  await form.locator('input[name=interfaces]').fill('1');
  // sysName (text: no chart) and sysUpTime (timeticks: a chart of its own).
  await form.locator('input[name=oids]').fill('1.3.6.1.2.1.1.5.0, 1.3.6.1.2.1.1.3.0');
  await form.locator('input[name=log_sources]').fill(`${DEVICE_SOURCE}, not-an-address`);
  await form.locator('button[type=submit]').click();
  await page.waitForFunction(() => document.querySelector('#add-device input[name=log_sources]')?.getAttribute('aria-invalid') === 'true');
  check(await form.locator('input[name=log_sources]').getAttribute('aria-invalid') === 'true'
    && (await page.locator('#add-log_sources-error').textContent()).includes('not-an-address'),
    `the server refuses a bad extra log source address, shown at its field ("${await page.locator('#add-log_sources-error').textContent()}")`);
  check(await page.locator('#devices tbody tr').count() === 0, 'nothing was added');
  await form.locator('input[name=log_sources]').fill(DEVICE_SOURCE);
  await form.locator('button[type=submit]').click();
  const firstRow = page.locator('#devices tbody tr[data-device-id]').first();
  await firstRow.waitFor({ timeout: 30000 });
  check(await firstRow.locator('.device-name').textContent() === HOSTILE_NAME, 'the new device is listed with its name shown as text');
  check(await page.locator('#devices img').count() === 0, 'markup in the name is not rendered');
  check(await page.locator('#add-log_sources-error').textContent() === ''
    && await form.locator('[aria-invalid]').count() === 0, 'once added, no field is marked');
  const labId = await firstRow.getAttribute('data-device-id');

  await openDevice(page, labId);
  const canvas = page.locator('#charts canvas[data-if-index="1"]');
  await canvas.waitFor({ timeout: 30000 });
  // Two rated samples make a line: the chart moves from /ws without a reload.
  await waitForChart(page, 1, (s) => s.range === 'live' && s.in >= 2 && s.out >= 2, 'the ifIndex 1 chart has live in and out points');
  check(true, 'the ifIndex 1 chart has live in and out points');
  await page.waitForFunction(() => document.querySelector('#detail-status .device-state')?.textContent === 'up', null, { timeout: 30000 });
  check(true, 'the device page shows it as up');
  // snmpd answers its interface counters from a cache for a few seconds: the poll statistics
  // show the period learned from its readings.
  await page.waitForFunction(
    () => /^\d+\.\d s \(\d+ cached readings\)$/.test(document.querySelector('#poll-cache')?.textContent ?? ''),
    null, { timeout: 30000 });
  check(true, `the agent's counter cache is shown (${await page.locator('#poll-cache').textContent()})`);
  const last = await page.locator('#last-sample').textContent();
  check(last && last !== 'no samples yet', `last sample time is shown (${last})`);
  // Errors and discards per second, polled with the octets, in the interface table (opened
  // again: the table lists what discovery found, which may have finished after the first visit).
  await openDevice(page, labId);
  await page.waitForFunction(() => {
    const row = document.querySelector('#interfaces tr[data-if-index="1"]');
    const per = /^in [\d.]+[kMG]?\/s · out [\d.]+[kMG]?\/s$/;
    return per.test(row?.querySelector('td.if-errors')?.textContent ?? '') && per.test(row?.querySelector('td.if-discards')?.textContent ?? '');
  }, null, { timeout: 30000 });
  check(true, `the interface table shows errors and discards per second (${await page.locator('#interfaces tr[data-if-index="1"] td.if-errors').textContent()})`);
  // The numeric extra OID gets a chart over the chosen range; the text one does not.
  await page.click('#range-bar button[data-range="1h"]');
  await page.waitForFunction(() => {
    const oidCanvas = document.querySelector('#oid-charts canvas[data-oid="1.3.6.1.2.1.1.3.0"]');
    const chart = oidCanvas && window.Chart.getChart(oidCanvas);
    return (chart?.data.datasets[0].data.filter((p) => p.y !== null).length ?? 0) > 0;
  }, null, { timeout: 30000 });
  check(await page.locator('#oid-charts').isVisible() && await page.locator('#oid-charts canvas').count() === 1
    && (await page.locator('#oid-charts canvas').getAttribute('aria-label')).startsWith('1.3.6.1.2.1.1.3.0 (timeticks)'),
  'sysUpTime, a numeric extra OID, is charted over the chosen range; sysName, text, is not');
  await page.click('#range-bar button[data-range="live"]');
  if (screenshot) await page.screenshot({ path: screenshot });

  check(await page.evaluate(() => window.__pwned === undefined), 'no script from a device name ran');
  check(pageErrors.length === 0, `no script errors on the page ${pageErrors.join('; ')}`);

  // ---------- logs ----------

  const tag = Date.now().toString(36);
  const logRequests = [];
  page.on('request', (r) => {
    if (/\/api\/devices\/[^/]+\/logs\?/.test(r.url())) logRequests.push(r.url());
  });
  // A source no device has: listed for the admin as an unknown source.
  const STRANGER_TEXT = `<script>window.__pwned=7</script>stranger ${tag}`;
  await sendSyslog(UNKNOWN_SOURCE, [syslogLine('notice', STRANGER_TEXT, { app: 'who' })]);

  check((await page.locator('#detail-meta').textContent()).includes(`logs also from ${DEVICE_SOURCE}`),
    'the device shows its extra log source address');
  const trafficTab = page.locator('#tab-traffic');
  const logsTab = page.locator('#tab-logs');
  await trafficTab.focus();
  await page.keyboard.press('ArrowRight');
  check(await logsTab.getAttribute('aria-selected') === 'true' && await page.evaluate(() => document.activeElement?.id === 'tab-logs'),
    'the arrow key moves to the Logs tab and selects it');
  check(await page.locator('#panel-logs').isVisible() && await page.locator('#panel-traffic').isHidden()
    && await logsTab.getAttribute('tabindex') === '0' && await trafficTab.getAttribute('tabindex') === '-1',
    'the Logs panel shows in place of the traffic, and only the chosen tab is in the Tab order');
  await page.waitForFunction(() => {
    const status = document.querySelector('#log-status')?.textContent ?? '';
    return status.length > 0 && !status.startsWith('Loading');
  });
  check(await page.locator('#log-controls input[name=tail]').isChecked(), 'live tail is on by default');
  check(await page.locator('#log-controls select[name=severity]').inputValue() === '', 'the severity filter starts at "any"');

  // Live tail: three messages from the device's extra address, without reloading the tab.
  const requestsBefore = logRequests.length;
  const INFO = `alpha-${tag} interface counters cleared`;
  const WARNING = `link eth0 down ${tag}`;
  const HOSTILE_LOG = `<img src=x onerror="window.__pwned=5"><script>window.__pwned=6</script> bad ${tag}`;
  const HOSTILE_SD = `[meta@32473 note="<b>bold</b> ${tag}"]`;
  const sentAt = Date.now();
  await sendSyslog(DEVICE_SOURCE, [
    syslogLine('info', INFO),
    syslogLine('warning', WARNING),
    syslogLine('error', HOSTILE_LOG, { app: '<i>app</i>', structuredData: HOSTILE_SD }),
  ]);
  let rows = await waitForLogs(page, (r) => [INFO, WARNING, HOSTILE_LOG].every((m) => r.some((x) => x.message === m)),
    'the sent messages appear in the Logs tab');
  check(logRequests.length === requestsBefore,
    `the Logs tab lists messages sent to the receiver within ${((Date.now() - sentAt) / 1000).toFixed(1)} s, live over /ws (no reload)`);
  const warningRow = rows.find((r) => r.message === WARNING);
  check(warningRow.severity === 'warning' && warningRow.severityAttr === 'warning' && warningRow.kind === 'syslog'
    && warningRow.source === 'linkd @ edge-7',
    `the entry shows its severity as a word, its kind and app @ host (${JSON.stringify(warningRow)})`);
  check(rows.findIndex((r) => r.message === HOSTILE_LOG) < rows.findIndex((r) => r.message === INFO), 'newer entries are on top');
  check(rows.find((r) => r.message === HOSTILE_LOG).source === '<i>app</i> @ edge-7', 'a message with markup is drawn literally, app name too');
  check(await page.locator('#log-table img, #log-table script, #log-table i, #log-table b').count() === 0
    && await page.evaluate(() => window.__pwned === undefined), 'no element was made and no script ran from a log message');

  // Every field of an entry, behind its button.
  const hostileBody = page.locator('#log-table tbody.log-entry', { hasText: `bad ${tag}` });
  const toggle = hostileBody.locator('button.log-toggle');
  check(await toggle.getAttribute('aria-expanded') === 'false' && await hostileBody.locator('tr.log-detail').isHidden(), 'an entry starts folded');
  await toggle.focus();
  await page.keyboard.press('Enter');
  await hostileBody.locator('tr.log-detail').waitFor({ state: 'visible' });
  const fields = await hostileBody.locator('.log-fields').evaluate((dl) => Object.fromEntries(
    [...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])));
  check(await toggle.getAttribute('aria-expanded') === 'true', 'its button (keyboard) unfolds the entry');
  check(fields['Structured data'] === HOSTILE_SD && fields.Raw?.includes(HOSTILE_LOG) && fields.Facility === 'user (1)'
    && fields['Process id'] === '42' && fields.Source?.startsWith(`${DEVICE_SOURCE}:`),
    `the unfolded entry shows every field, structured data and raw text literally (${Object.keys(fields).join(', ')})`);
  check(await page.locator('#log-table img, #log-table script, #log-table b').count() === 0 && await page.evaluate(() => window.__pwned === undefined),
    'nothing in the unfolded entry became markup or ran');
  if (screenshot) await page.screenshot({ path: screenshot.replace(/(\.png)?$/, '-logs.png') });

  // What does not parse is kept, flagged, with the reason.
  const GARBAGE = `not syslog at all ${tag}`;
  await sendSyslog(DEVICE_SOURCE, [GARBAGE]);
  rows = await waitForLogs(page, (r) => r.some((x) => x.message.endsWith(GARBAGE)), 'a message that does not parse is listed');
  check(rows.find((x) => x.message.endsWith(GARBAGE)).message === `unparsed ${GARBAGE}`, 'a message that does not parse is listed, flagged "unparsed"');
  const garbageBody = page.locator('#log-table tbody.log-entry', { hasText: GARBAGE });
  await garbageBody.locator('button.log-toggle').click();
  const garbageFields = await garbageBody.locator('.log-fields').evaluate((dl) => Object.fromEntries(
    [...dl.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])));
  check(typeof garbageFields['Parse error'] === 'string' && garbageFields['Parse error'].length > 0 && garbageFields.Raw === GARBAGE,
    `unfolded, it shows why it did not parse ("${garbageFields['Parse error']}") and the raw text`);

  // Stored reachability changes are in the same timeline.
  for (const deadline = Date.now() + 30000; ;) {
    rows = await logRows(page);
    if (rows.some((r) => r.kind === 'status' && r.message === 'device up')) break;
    if (Date.now() > deadline) throw new Error(`check failed: the timeline shows "device up" (${JSON.stringify(rows.slice(0, 8))})`);
    // Not stored yet when the tab loaded: load it again, as turning the live tail off and on does.
    await page.locator('#log-controls input[name=tail]').uncheck();
    await page.locator('#log-controls input[name=tail]').check();
    await page.waitForTimeout(1000);
  }
  check(rows.find((r) => r.kind === 'status').severity === 'notice', 'the timeline holds the device\'s reachability change ("device up", notice)');

  // Severity filter: warning and above hides the info message, also for entries still to come.
  await page.locator('#log-controls select[name=severity]').selectOption('warning');
  rows = await waitForLogs(page, (r) => !r.some((x) => x.message === INFO) && r.some((x) => x.message === WARNING),
    'the severity filter hides lower severities');
  check(rows.every((r) => SEVERITIES.indexOf(r.severity) <= SEVERITIES.indexOf('warning')),
    `"warning and above" hides the info message and shows only warning or worse (${rows.length} rows)`);
  const LATE_INFO = `late-info ${tag}`;
  const LATE_CRITICAL = `late-critical ${tag}`;
  await sendSyslog(DEVICE_SOURCE, [syslogLine('info', LATE_INFO), syslogLine('critical', LATE_CRITICAL)]);
  await waitForStored(page, labId, LATE_INFO, 1, 'the late info message is stored');
  rows = await waitForLogs(page, (r) => r.some((x) => x.message === LATE_CRITICAL), 'a critical message comes live through the filter');
  check(!rows.some((r) => r.message === LATE_INFO), 'the live tail applies the filter: a new critical message shows, a new info message does not');
  await page.locator('#log-controls select[name=severity]').selectOption('');

  // Search by a word, case-insensitive, after typing stops.
  await page.locator('#log-controls input[name=q]').fill(`ALPHA-${tag.toUpperCase()}`);
  rows = await waitForLogs(page, (r) => r.length === 1 && r[0].message === INFO, 'the search finds the message');
  check(true, 'searching a word finds the one message holding it (case-insensitive)');

  // Paging: 120 matches, 100 per page; "Load older" brings the rest. Sent over TCP: a burst
  // of datagrams could overflow the receiver's socket on a busy machine.
  const bulk = Array.from({ length: 120 }, (_, i) => syslogLine('debug', `bulk-${tag} #${String(i).padStart(3, '0')}`));
  await sendSyslogTcp(DEVICE_SOURCE, bulk);
  await waitForStored(page, labId, `bulk-${tag}`, 120, 'the 120 bulk messages are stored', 60000);
  await page.locator('#log-controls input[name=q]').fill(`bulk-${tag}`);
  rows = await waitForLogs(page, (r) => r.length === 100 && r.every((x) => x.message.startsWith(`bulk-${tag}`)), 'the first page of the search');
  check(await page.locator('#log-older').isVisible(), 'a search with 120 matches shows the newest 100 and offers "Load older"');
  // They were sent within a millisecond or two: pages end inside a millisecond.
  await page.click('#log-older');
  rows = await waitForLogs(page, (r) => r.length === 120, '"Load older" brings the rest');
  const numbers = rows.map((r) => r.message.slice(-3));
  check(new Set(numbers).size === 120, '"Load older" adds the 20 older entries without repeats, even of the same millisecond');
  await page.locator('#log-older').waitFor({ state: 'hidden' });
  check((await page.locator('#log-status').textContent()).includes('no older entries'), 'then there is nothing older, and the page says so');
  await page.locator('#log-controls input[name=q]').fill('');
  // Cleared: the newest page of everything (120 rows before).
  await waitForLogs(page, (r) => r.length === 100, 'the search is cleared');

  // The unknown source: listed for the admin; "Add as device" starts the form with its address.
  await showOverview(page);
  const stranger = page.locator(`#unknown-sources li[data-address="${UNKNOWN_SOURCE}"]`);
  await stranger.waitFor({ timeout: 40000 });
  check((await stranger.locator('.device-address').textContent()) === UNKNOWN_SOURCE
    && /^\d+ messages? · last \d{4}-/.test(await stranger.locator('.device-meta').textContent()),
    `the unknown source is listed with its count and last time ("${await stranger.locator('.device-meta').textContent()}")`);
  check(await stranger.locator('.unknown-latest').textContent() === STRANGER_TEXT
    && await page.locator('#unknown-panel script').count() === 0 && await page.evaluate(() => window.__pwned === undefined),
    'its latest message is shown as text');
  await stranger.getByRole('button', { name: 'Add as device' }).click();
  check(await form.locator('input[name=address]').inputValue() === UNKNOWN_SOURCE
    && await page.evaluate(() => document.activeElement?.name === 'name' && document.activeElement.closest('form')?.id === 'add-device'),
    '"Add as device" fills the address in the add-device form and puts the cursor in its name');

  // Added (no agent answers there): its messages now go to it, and it goes down, live.
  await page.keyboard.type('stranger');
  // Polled every 3 s, it is down after three failures: time enough to open its Logs tab first.
  await form.locator('input[name=interval]').fill('3');
  await form.locator('button[type=submit]').click();
  const addedAt = Date.now();
  const strangerRow = page.locator('#devices tbody tr[data-device-id]')
    .filter({ has: page.locator('.device-name', { hasText: /^stranger$/ }) });
  await strangerRow.waitFor();
  await strangerRow.click();
  await page.locator('#tab-logs').click();
  await page.waitForFunction(() => document.querySelector('#detail-title')?.textContent === 'stranger'
    && !document.querySelector('#panel-logs').hidden
    && !['', 'Loading…'].includes(document.querySelector('#log-status')?.textContent));
  const strangerLoads = logRequests.length;
  const downAtLoad = (await logRows(page)).some((x) => x.kind === 'status');
  const ADOPTED = `adopted ${tag}`;
  // The receiver learns of the new device from the registry: send until a message lands.
  for (let i = 0; ; i += 1) {
    await sendSyslog(UNKNOWN_SOURCE, [syslogLine('warning', `${ADOPTED} #${i}`)]);
    const landed = await page.waitForFunction((t) => [...document.querySelectorAll('#log-table .log-message')]
      .some((m) => m.textContent.startsWith(t)), ADOPTED, { timeout: 3000 }).then(() => true, () => false);
    if (landed) break;
    if (i === 10) throw new Error('check failed: a message from the added address reaches its Logs tab');
  }
  check(logRequests.length === strangerLoads, 'once the unknown source is a device, its messages arrive live in that device\'s Logs tab');
  rows = await waitForLogs(page, (r) => r.some((x) => x.kind === 'status' && x.message.startsWith('device down')),
    'the new device\'s "device down" shows', 60000);
  const down = rows.find((x) => x.kind === 'status');
  check(!downAtLoad && logRequests.length === strangerLoads && down.severity === 'error',
    `its reachability change arrives live as a status entry ("${down.message}", ${down.severity}, ${((Date.now() - addedAt) / 1000).toFixed(1)} s after adding)`);
  await page.click('#delete-device');
  await page.locator('#delete-dialog').getByRole('button', { name: 'Delete with history' }).click();
  await page.locator('#overview-view').waitFor({ state: 'visible' });
  await strangerRow.waitFor({ state: 'detached' });
  check(true, 'the Delete button of a device page deletes it and goes back to the overview');

  await openDevice(page, labId);
  await trafficTab.click();
  check(await page.locator('#panel-traffic').isVisible() && await page.locator('#panel-logs').isHidden(), 'the Traffic tab shows the charts again');
  await waitForChart(page, 1, (s) => s.range === 'live' && s.in >= 2, 'the chart still draws after the Logs tab');
  check(pageErrors.length === 0, `no script errors on the page ${pageErrors.join('; ')}`);

  if (hostileAgent) {
    await showOverview(page);
    await form.locator('input[name=name]').fill('hostile-texts');
    await form.locator('input[name=address]').fill(hostileAgent);
    await form.locator('input[name=interval]').fill('2');
    await form.locator('input[name=interfaces]').fill('');
    await form.locator('input[name=oids]').fill('');
    await form.locator('button[type=submit]').click();
    const hostileRow = deviceRow(page, 'hostile-texts');
    await hostileRow.waitFor({ timeout: 30000 });
    // Discovery reads the texts; reload the device page until they are there.
    await openDevice(page, 'hostile-texts');
    for (let i = 0; i < 40; i += 1) {
      if (await page.locator('#sys-descr').textContent() === SYS_DESCR) break;
      await page.waitForTimeout(500);
      await page.reload();
      await page.locator('#device-detail').waitFor({ state: 'visible', timeout: 30000 });
    }
    await page.waitForFunction((t) => document.querySelector('#sys-descr')?.textContent === t, SYS_DESCR, { timeout: 30000 });
    check(true, 'sysDescr with an <img onerror> is shown literally');
    check(await page.locator('#sys-location').textContent() === SYS_LOCATION, 'sysLocation with a <script> is shown literally');
    await page.waitForFunction((t) => [...document.querySelectorAll('#interfaces td')].some((td) => td.textContent === t), IF_ALIAS, { timeout: 30000 });
    check(true, 'ifAlias with markup is shown literally in the interfaces table');
    check(await page.locator('#device-detail img, #device-detail script').count() === 0, 'no element was made from device text');
    check(await page.evaluate(() => window.__pwned === undefined), 'no script from device text ran');
    await showOverview(page);
    check(await page.locator('#devices img, #devices script').count() === 0
      && (await deviceRow(page, 'hostile-texts').locator('.device-sysname').count()) === 1, 'the overview shows device texts as text too');
  }

  // ---------- history: ranges, zoom, percentile, export ----------

  // The live range starts with what is stored: after a reload, points older than the page.
  // The device is polled every second; let it collect a few samples first.
  await openDevice(page, labId);
  await waitForChart(page, 1, (s) => s.range === 'live' && s.in >= 6, 'the device has a few seconds of samples');
  const reloadedAt = Date.now();
  // The address keeps the view: a reload opens the same device page.
  await page.reload();
  await page.locator('#device-detail').waitFor({ state: 'visible', timeout: 30000 });
  check(await page.locator('#detail-title').textContent() === HOSTILE_NAME, 'after a reload, the address opens the same device page');
  const shown = await waitForChart(page, 1, (s) => s.range === 'live' && s.state === 'ready' && s.oldestWithData < reloadedAt - 4000,
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
  await canvas.scrollIntoViewIfNeeded();
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

  // ---------- the wall screen: discovery, live view, down and up, a gateway restart ----------

  if (simAgent) {
    await showOverview(page);
    const counts = () => page.evaluate(() => Object.fromEntries(['up', 'down', 'unknown', 'total']
      .map((s) => [s, Number(document.querySelector(`#count-${s}`)?.textContent)])));
    const before = await counts();
    check(before.total === await page.locator('#devices tbody tr').count(), `the overview counts its devices (${JSON.stringify(before)})`);

    // Discover first: the interfaces the device reports, with checkboxes.
    await form.locator('input[name=name]').fill('');
    await form.locator('input[name=address]').fill(simAgent);
    await form.locator('input[name=interval]').fill('5');
    await form.locator('input[name=interfaces]').fill('');
    await form.locator('input[name=oids]').fill('');
    await form.locator('input[name=log_sources]').fill('');
    await page.click('#discover');
    const found = page.locator('#discovered-table tbody tr');
    await page.locator('#discovered').waitFor({ state: 'visible', timeout: 60000 });
    const discovered = await found.evaluateAll((trs) => trs.map((tr) => ({
      name: tr.querySelector('.if-name')?.textContent,
      oper: tr.querySelector('.if-oper')?.textContent,
      speed: tr.cells[3]?.textContent,
      checked: tr.querySelector('input[type=checkbox]')?.checked,
      label: tr.querySelector('input[type=checkbox]')?.getAttribute('aria-label'),
    })));
    check(discovered.length === 3 && discovered.map((d) => d.name).join(',') === 'eth0,eth1,eth2'
      && discovered.every((d) => d.oper === 'up' && /bit\/s$/.test(d.speed) && d.label === `Poll ${d.name}`),
    `"Discover" lists the device's interfaces with alias, speed and oper status (${JSON.stringify(discovered)})`);
    check(discovered.every((d) => d.checked), 'the interfaces the device\'s selection would poll start checked');
    check(await form.locator('input[name=interfaces]').isHidden(), 'after discovery the checkboxes replace the typed interface list');
    await page.locator('#discovered-table input[value="eth2"]').uncheck();
    await form.locator('input[name=name]').fill('edge-sim');
    const [posted] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/devices'),
      form.locator('button[type=submit]').click(),
    ]);
    const sent = JSON.parse(posted.postData());
    check(JSON.stringify(sent.interfaces) === '["eth0","eth1"]' && sent.interval === 5,
      `saving sends the checked interfaces by name (${JSON.stringify(sent.interfaces)}, every ${sent.interval} s)`);
    const simAddedAt = Date.now();
    const simRow = deviceRow(page, 'edge-sim');
    await simRow.waitFor({ timeout: 30000 });
    check(await page.locator('#discovered').isHidden() && await form.locator('input[name=interfaces]').isVisible(), 'the form is ready for the next device');

    // Up on the overview, with numbers and a sparkline, from /ws.
    await page.waitForFunction(() => document.querySelector('#devices tr[data-device-id="edge-sim"] .device-state')?.textContent === 'up',
      null, { timeout: 30000 });
    const upCounts = await counts();
    check(upCounts.up === before.up + 1 && upCounts.total === before.total + 1,
      `edge-sim comes up on the overview ${((Date.now() - simAddedAt) / 1000).toFixed(1)} s after adding; the up count goes ${before.up} → ${upCounts.up}`);
    check(await simRow.locator('.status-icon').textContent() === '✓', 'up is said with a symbol and a word, not colour alone');
    await page.waitForFunction(() => /\d/.test(document.querySelector('#devices tr[data-device-id="edge-sim"] .rate-in')?.textContent ?? ''),
      null, { timeout: 15000 });
    // "in 10.2 Mbit/s out 4.1 Mbit/s"
    const ratesShown = async () => (await simRow.locator('.cell-rates .rate').allTextContents()).join(' ');
    const firstRatesAt = Date.now();
    const firstRates = await ratesShown();
    const sparkStart = Number(await simRow.locator('canvas.sparkline').getAttribute('data-points'));
    await page.waitForFunction(([n]) => Number(document.querySelector('#devices tr[data-device-id="edge-sim"] canvas.sparkline')?.dataset.points) > n,
      [sparkStart], { timeout: 12000 });
    check(true, `its rates show on the overview (${firstRates}) and its sparkline grows with the next poll`);
    // The overview takes samples in frames, at most one a second: its subscription says so,
    // and the rates it shows are those of samples that came in frames, none alone.
    const overviewSubscribe = sentFrames.map(parseFrame).filter((m) => m?.type === 'subscribe').at(-1);
    check(overviewSubscribe?.frames === true && JSON.stringify(overviewSubscribe.every_sample) === '[]'
      && JSON.stringify(overviewSubscribe.live) === '[]',
    `on the overview the page subscribes with "frames": true and no device one by one (${JSON.stringify(overviewSubscribe)})`);
    await page.waitForFunction((r) => [...document.querySelectorAll('#devices tr[data-device-id="edge-sim"] .cell-rates .rate')]
      .map((node) => node.textContent).join(' ') !== r, firstRates, { timeout: 15000 });
    const shownRates = await ratesShown();
    const fromFrame = (x) => `in ${formatBps(x.in_bps)} out ${formatBps(x.out_bps)}` === shownRates;
    // The message is in hand a moment after the page drew it, at most.
    for (const until = Date.now() + 3000; Date.now() < until && !samplesOf('edge-sim', firstRatesAt).framed.some(fromFrame);) {
      await page.waitForTimeout(100);
    }
    const overviewSamples = samplesOf('edge-sim', firstRatesAt);
    const frameCount = receivedFrames.filter(({ at, msg }) => at >= firstRatesAt && msg?.type === 'frame' && msg.samples?.length > 0).length;
    check(overviewSamples.framed.some((x) => x.live !== true && fromFrame(x)) && overviewSamples.alone.length === 0,
      `the overview's rates of edge-sim change as frames arrive (${firstRates} → ${shownRates}; `
      + `${frameCount} frames with samples, ${overviewSamples.framed.length} of edge-sim, none alone)`);
    const busiest = await simRow.locator('.busiest li .busiest-name').allTextContents();
    check(busiest.length === 2 && busiest.every((n) => ['eth0', 'eth1'].includes(n)), `its busiest interfaces are listed by name (${busiest.join(', ')})`);
    check(/^\d\d:\d\d:\d\d$|^\d+d /.test(await simRow.locator('.device-uptime').textContent()), 'its uptime is shown');

    // Sorting and filtering.
    await page.locator('#overview-filter input[name=q]').fill('edge-s');
    check(await page.locator('#devices tbody tr').count() === 1 && await simRow.isVisible(), 'the text filter narrows the table');
    await page.locator('#overview-filter input[name=q]').fill('');
    await page.locator('#overview-filter select[name=state]').selectOption('down');
    check(await simRow.count() === 0, 'the status filter hides devices that are up');
    await page.locator('#overview-filter select[name=state]').selectOption('');
    const nameHeader = page.locator('#devices th[data-sort="name"]');
    await nameHeader.locator('button').focus();
    await page.keyboard.press('Enter');
    const names = await page.locator('#devices tbody .device-name').allTextContents();
    check(await nameHeader.getAttribute('aria-sort') === 'ascending'
      && names.join('\n') === [...names].sort((a, b) => a.localeCompare(b)).join('\n'),
    'Enter on the Device header sorts by name (aria-sort="ascending")');
    await page.keyboard.press('Enter');
    check(await nameHeader.getAttribute('aria-sort') === 'descending', 'again: descending');
    await page.click('#devices th[data-sort="status"] button');

    // The device page from the keyboard; the chart moves within two polls.
    await simRow.focus();
    const framesAtOpen = sentFrames.length;
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash === '#/device/edge-sim' && !document.querySelector('#device-detail').hidden);
    check(true, 'Enter on a focused row opens the device page (#/device/edge-sim)');
    const pageOpened = Date.now();
    await waitForChart(page, 1, (s) => s.range === 'live' && s.in >= 2 && s.out >= 2, 'the eth0 chart moves', 12000);
    check(true, `the eth0 chart draws its samples within ${((Date.now() - pageOpened) / 1000).toFixed(1)} s (interval 5 s)`);

    // The one-second live view.
    await page.locator('#live-indicator').waitFor({ state: 'visible', timeout: 20000 });
    check(await page.locator('#live-indicator').textContent() === 'live 1 s', 'the "live 1 s" indicator shows while live samples arrive');
    const liveFrom = await chartState(page, 1);
    const liveStart = Date.now();
    const liveNow = await waitForChart(page, 1, (s) => s.points >= liveFrom.points + 4, 'four new live points', 5500);
    check(true, `the live chart gets ${liveNow.points - liveFrom.points} new live points in ${((Date.now() - liveStart) / 1000).toFixed(1)} s`);
    const oneByOne = samplesOf('edge-sim', liveStart);
    const liveAlone = oneByOne.alone.filter((x) => x.live === true).length;
    check(liveAlone > 0 && oneByOne.framed.length === 0,
      `the open device's samples come one by one, not in frames (${liveAlone} live and ${oneByOne.alone.length - liveAlone} normal alone, ${oneByOne.framed.length} in frames)`);
    const lastLivePoll = Number(await control('live-polls edge-sim'));
    check(Number.isFinite(lastLivePoll) && Date.now() - lastLivePoll < 2500,
      `with the device page open the scheduler publishes live poll jobs on netpulse.poll.edge-sim (last ${Date.now() - lastLivePoll} ms ago)`);
    const subscribe = sentFrames.slice(framesAtOpen).map(parseFrame).find((m) => m?.type === 'subscribe');
    check(subscribe?.devices === '*' && JSON.stringify(subscribe.live) === '["edge-sim"]' && subscribe.kinds.includes('status')
      && subscribe.frames === true && JSON.stringify(subscribe.every_sample) === '["edge-sim"]',
    `opening the page tells the gateway over /ws which device it shows, and that its samples come one by one (${JSON.stringify(subscribe)})`);

    // The interface table: sortable, utilisation, a checkbox per interface choosing the charts.
    const ifaceRows = () => page.locator('#interfaces tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      name: tr.cells[1].textContent, speed: tr.cells[3].textContent, oper: tr.cells[4].textContent,
      in: tr.cells[5].textContent, out: tr.cells[6].textContent, util: tr.cells[7].textContent,
      checked: tr.querySelector('input').checked, disabled: tr.querySelector('input').disabled,
    })));
    await page.waitForFunction(() => document.querySelectorAll('#interfaces tbody tr').length === 3
      && /bit\/s/.test(document.querySelector('#interfaces tbody tr td:nth-child(6)')?.textContent ?? ''), null, { timeout: 15000 });
    let ifaces = await ifaceRows();
    check(ifaces.map((i) => i.name).join(',') === 'eth0,eth1,eth2' && ifaces[0].util.endsWith('%') && ifaces[0].oper === 'up'
      && ifaces[2].in === 'not polled' && ifaces[2].disabled && ifaces[0].checked && ifaces[1].checked,
    `the interface table shows name, speed, oper status, rates and utilisation (${JSON.stringify(ifaces[0])}); eth2 is not polled`);
    await page.click('#interfaces th[data-sort="name"] button');
    ifaces = await ifaceRows();
    check(await page.locator('#interfaces th[data-sort="name"]').getAttribute('aria-sort') === 'descending' && ifaces[0].name === 'eth2',
      'clicking the Name header sorts the interfaces the other way (aria-sort="descending")');
    await page.click('#interfaces th[data-sort="in"] button');
    check(await page.locator('#interfaces th[data-sort="in"]').getAttribute('aria-sort') === 'descending'
      && await page.locator('#interfaces th[data-sort="name"]').getAttribute('aria-sort') === null, 'sorting by In rate moves aria-sort there');
    const totalState = () => page.evaluate(() => {
      const chart = window.Chart.getChart(document.querySelector('#chart-total canvas'));
      return chart ? { datasets: chart.data.datasets.length, stacked: chart.options.scales.y.stacked, points: chart.data.datasets[0]?.data.length ?? 0 } : null;
    });
    await page.waitForFunction(() => (window.Chart.getChart(document.querySelector('#chart-total canvas'))?.data.datasets.length ?? 0) === 4);
    const total = await totalState();
    check(total.stacked === true && total.points > 0, `a stacked total chart draws in and out of each charted interface (${total.datasets} datasets)`);
    await page.locator('#interfaces tr[data-if-index="1"] input[type=checkbox]').uncheck();
    await page.waitForFunction(() => !document.querySelector('#charts canvas[data-if-index="1"]')
      && (window.Chart.getChart(document.querySelector('#chart-total canvas'))?.data.datasets.length ?? 0) === 2);
    check(true, 'unchecking an interface takes its chart away (and out of the total)');
    await page.locator('#interfaces tr[data-if-index="1"] input[type=checkbox]').check();
    await page.locator('#charts canvas[data-if-index="1"]').waitFor();
    check(true, 'checking it again brings its chart back');

    if (outputDir) {
      await page.screenshot({ path: path.join(outputDir, 'device.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(13, 17, 23)');
      // The scheme's change event comes a moment after the styles.
      const darkIn = await page.waitForFunction(() => {
        const colour = window.Chart.getChart(document.querySelector('#charts canvas[data-if-index="1"]')).data.datasets[0].borderColor;
        return colour === getComputedStyle(document.documentElement).getPropertyValue('--chart-in').trim() && colour;
      }, null, { timeout: 5000 }).then((h) => h.jsonValue(), () => null);
      check(darkIn !== null, `in the dark theme the charts take their colours from the page's CSS properties (${darkIn})`);
      await page.screenshot({ path: path.join(outputDir, 'device-dark.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'light' });
    }

    // Test SNMP: the values the device answers, as a table.
    await page.click('#test-snmp');
    await page.waitForFunction(() => !document.querySelector('#test-values')?.hidden || document.querySelector('#test-error')?.textContent,
      null, { timeout: 30000 });
    const testError = await page.locator('#test-error').textContent();
    const testValues = await page.locator('#test-values tbody tr').count();
    check(testError === '' && testValues > 0 && await page.locator('#test-interfaces tbody tr').count() >= 2,
      `"Test SNMP" shows what the device answered (${testValues} values; "${await page.locator('#test-status').textContent()}"${testError})`);

    // Settings: the API's error at its field, then a change saved.
    await page.click('#tab-settings');
    const settings = page.locator('#settings-form');
    check(await settings.locator('input[name=interval]').inputValue() === '5'
      && await settings.locator('input[name=interfaces]').inputValue() === 'eth0, eth1', 'the Settings tab shows the device\'s settings');
    await settings.locator('input[name=address]').fill(`${simAgent.split(':')[0]}:70000`);
    await settings.locator('button[type=submit]').click();
    await page.waitForFunction(() => document.querySelector('#set-address-error')?.textContent.length > 0);
    check(await settings.locator('input[name=address]').getAttribute('aria-invalid') === 'true',
      `the server's refusal shows at the address field ("${await page.locator('#set-address-error').textContent()}")`);
    await settings.locator('input[name=address]').fill(simAgent);
    await settings.locator('input[name=log_sources]').fill('127.0.0.9');
    await settings.locator('button[type=submit]').click();
    await page.waitForFunction(() => document.querySelector('#settings-status')?.textContent.startsWith('Saved'));
    check((await page.locator('#detail-meta').textContent()).includes('logs also from 127.0.0.9')
      && await settings.locator('[aria-invalid]').count() === 0, 'a change saved with PATCH shows on the device page');
    await page.click('#tab-traffic');

    // Back on the overview the live view ends; the device goes silent, then down.
    const framesAtLeave = sentFrames.length;
    await page.goBack();
    await page.locator('#overview-view').waitFor({ state: 'visible' });
    check(true, 'the browser\'s Back button returns to the overview');
    await page.waitForFunction(() => document.querySelector('#live-indicator').hidden);
    const leave = sentFrames.slice(framesAtLeave).map(parseFrame).find((m) => m?.type === 'subscribe');
    const leftAt = Date.now();
    check(leave && JSON.stringify(leave.live) === '[]' && JSON.stringify(leave.every_sample) === '[]' && leave.devices === '*',
      'leaving the page sends "live": [] and "every_sample": [] and keeps every device');
    await control('silence 0');
    const silencedAt = Date.now();
    await page.waitForFunction(() => document.querySelector('#devices tr[data-device-id="edge-sim"] .device-state')?.textContent === 'down',
      null, { timeout: 90000 });
    const downCounts = await counts();
    // Down takes longer than the 10 s the live polling has to stop in; wait out the rest if not.
    await page.waitForTimeout(Math.max(0, leftAt + 12000 - Date.now()));
    const lastAfterLeave = Number(await control('live-polls edge-sim')) - leftAt;
    check(lastAfterLeave <= 10000, lastAfterLeave <= 0
      ? 'the live poll jobs on netpulse.poll.edge-sim stop as the page leaves the device'
      : `the live poll jobs on netpulse.poll.edge-sim stop ${(lastAfterLeave / 1000).toFixed(1)} s after the page left the device (at most 10 s)`);
    check(downCounts.down === upCounts.down + 1 && downCounts.up === upCounts.up - 1,
      `silenced, edge-sim goes down on the overview after ${((Date.now() - silencedAt) / 1000).toFixed(1)} s; up ${upCounts.up} → ${downCounts.up}, down ${upCounts.down} → ${downCounts.down}`);
    const downRow = await simRow.evaluate((tr) => ({
      first: tr.parentElement.firstElementChild === tr,
      cls: tr.classList.contains('down'),
      icon: tr.querySelector('.status-icon')?.textContent,
      since: tr.querySelector('.status-since')?.textContent ?? '',
      alarm: document.querySelector('.count[data-state="down"]').classList.contains('alarm'),
    }));
    check(downRow.first && downRow.cls && downRow.icon === '✕' && downRow.since.startsWith('since ') && downRow.alarm,
      `the down device sorts first and stands out: colour, the word, a ✕ and since when ("${downRow.since}")`);
    if (outputDir) {
      await page.screenshot({ path: path.join(outputDir, 'overview.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(13, 17, 23)');
      await page.screenshot({ path: path.join(outputDir, 'overview-dark.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'light' });
    }
    await control('wake 0');
    await page.waitForFunction(() => document.querySelector('#devices tr[data-device-id="edge-sim"] .device-state')?.textContent === 'up',
      null, { timeout: 30000 });
    check((await counts()).up === upCounts.up, 'woken, it comes back up and the counts with it');

    // The gateway restarts: the page reconnects by itself, resynchronises, and data flows again.
    await page.evaluate(() => {
      window.__wsStates = [];
      const pill = document.querySelector('#ws-status');
      new MutationObserver(() => window.__wsStates.push(pill.textContent)).observe(pill, { childList: true, characterData: true, subtree: true });
    });
    const reloadsBefore = requested.filter((u) => new URL(u).pathname === '/api/devices').length;
    await control('restart-gateway');
    await page.waitForFunction(() => window.__wsStates.includes('reconnecting')
      && window.__wsStates.lastIndexOf('live') > window.__wsStates.indexOf('reconnecting'), null, { timeout: 30000 });
    const uptimeAfter = await simRow.locator('.device-uptime').textContent();
    await page.waitForFunction((u) => document.querySelector('#devices tr[data-device-id="edge-sim"] .device-uptime')?.textContent !== u,
      uptimeAfter, { timeout: 20000 });
    check(await page.locator('#login').isHidden() && await page.locator('#app').isVisible()
      && requested.filter((u) => new URL(u).pathname === '/api/devices').length > reloadsBefore,
    `after the gateway restarts the page reconnects by itself (pill: ${await page.evaluate(() => window.__wsStates.join(' → '))}), reloads the devices and samples flow again, still signed in`);
  }

  // A viewer sees the device and its traffic, but no controls; the server refuses changes.
  const viewer = await (await browser.newContext()).newPage();
  viewer.setDefaultTimeout(30000);
  viewer.on('pageerror', (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
  watchRequests(viewer);
  await signIn(viewer, viewerUser, viewerPassword);
  await deviceRow(viewer, labId).waitFor({ timeout: 30000 });
  check(await viewer.locator('form#add-device').count() === 0, 'a viewer has no add-device form');
  check(await viewer.locator('#users-panel').count() === 0, 'a viewer has no users panel');
  await openDevice(viewer, labId);
  await viewer.waitForFunction(() => document.querySelector('#charts canvas[data-if-index="1"]'), null, { timeout: 30000 });
  check(true, 'a viewer sees the traffic chart');
  check(await viewer.locator('#tab-settings').count() === 0 && await viewer.locator('#panel-settings').count() === 0
    && await viewer.locator('#test-snmp').count() === 0 && await viewer.locator('#delete-device, button.delete').count() === 0
    && await viewer.locator('[role=tab]').count() === 2,
  'a viewer has no edit controls: no Settings tab, no Test SNMP, no Delete');
  const refused = await viewer.evaluate(async () => (await fetch('/api/devices', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'x', address: '192.0.2.1' }),
  })).status);
  check(refused === 403, `the server refuses a viewer's change (${refused})`);
  check(await viewer.locator('#unknown-panel').count() === 0, 'a viewer has no unknown log sources panel');
  const unknownStatus = await viewer.evaluate(async () => (await fetch('/api/logs/unknown-sources')).status);
  check(unknownStatus === 403, `the server does not list unknown sources to a viewer (${unknownStatus})`);
  await viewer.locator('#tab-logs').click();
  await waitForLogs(viewer, (r) => r.some((x) => x.message.startsWith(`bulk-${tag}`)), 'a viewer reads the logs');
  check(true, 'a viewer reads the device\'s logs in the Logs tab');

  // The viewer makes an API token in the tokens panel: a viewer token, shown once, its
  // (hostile) name as text; it works as a bearer token, then the viewer revokes it.
  await showOverview(viewer);
  const roles = await viewer.locator('#add-token select[name=role] option').allTextContents();
  check(JSON.stringify(roles) === '["viewer"]', `a viewer may give a token only the viewer role (${roles})`);
  const tokenName = `<img src=x onerror="window.__tokenXss=1"> ci ${tag}`;
  await viewer.locator('#add-token input[name=name]').fill(tokenName);
  await viewer.locator('#add-token button[type=submit]').click();
  await viewer.locator('#token-made').waitFor({ state: 'visible' });
  const tokenText = await viewer.locator('#token-text').textContent();
  check(tokenText.startsWith('np_'), 'the new token is shown, with a warning that it is shown once');
  const tokenItem = viewer.locator('#tokens li.token');
  await tokenItem.waitFor();
  check(await tokenItem.locator('.user-name').textContent() === tokenName
    && !(await viewer.evaluate(() => window.__tokenXss)), 'the token is listed, its hostile name as text');
  const withToken = await viewer.evaluate(async (t) => (await fetch('/api/devices', {
    credentials: 'omit', headers: { Authorization: `Bearer ${t}` },
  })).status, tokenText);
  check(withToken === 200, `the token reads the API (${withToken})`);
  await viewer.reload();
  await tokenItem.waitFor();
  check(!(await viewer.content()).includes(tokenText), 'after a reload the token is listed but never shown again');
  await tokenItem.getByRole('button', { name: /^Revoke token/ }).click();
  await viewer.locator('#confirm-dialog').getByRole('button', { name: 'Revoke token' }).click();
  await tokenItem.waitFor({ state: 'detached' });
  const revokedStatus = await viewer.evaluate(async (t) => (await fetch('/api/devices', {
    credentials: 'omit', headers: { Authorization: `Bearer ${t}` },
  })).status, tokenText);
  check(revokedStatus === 401, `a revoked token is refused (${revokedStatus})`);

  // ---------- deleting, keeping the history ----------

  const dialog = page.locator('#delete-dialog');
  await openDevice(page, labId);
  await page.click('#delete-device');
  await dialog.waitFor({ state: 'visible' });
  check(await page.locator('#delete-dialog-title').textContent() === 'Keep its history?', 'deleting asks "Keep its history?" in a dialog');
  check(await page.locator('#delete-dialog-device').textContent() === `${HOSTILE_NAME} (${agent})`, 'the dialog names the device as text');
  check(await page.evaluate(() => document.activeElement?.closest('#delete-dialog') !== null), 'the dialog takes the keyboard focus');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  check(await page.evaluate((id) => location.hash === `#/device/${id}`, labId) && await page.locator('#detail-title').textContent() === HOSTILE_NAME,
    'Escape closes the dialog and deletes nothing');
  await page.click('#delete-device');
  await dialog.waitFor({ state: 'visible' });
  await dialog.getByRole('button', { name: 'Delete, keep history' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => !document.querySelector(`#devices tr[data-device-id="${id}"]`) && location.hash === '#/', labId, { timeout: 30000 });
  check(true, 'deleting removes the device from the overview, where the page goes back to');
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
  await page.locator('#tab-logs').click();
  await page.locator('#log-controls select[name=severity]').selectOption('warning');
  rows = await waitForLogs(page, (r) => r.some((x) => x.message === WARNING) && r.some((x) => x.message === LATE_CRITICAL),
    'the removed device\'s logs load');
  check(await page.locator('#log-controls input[name=tail]').isHidden(), 'a removed device\'s kept logs are in its Logs tab, without a live tail');
  await page.locator('#log-controls select[name=severity]').selectOption('');
  await page.locator('#log-controls input[name=q]').fill('the device');
  rows = await waitForLogs(page, (r) => r.some((x) => x.kind === 'config'), 'configuration changes are in the timeline');
  check(true, `configuration changes are in its timeline ("${rows.find((x) => x.kind === 'config').message}")`);
  await page.locator('#log-controls input[name=q]').fill('');
  await showOverview(page);

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
    const other = deviceRow(page, 'hostile-texts');
    await openDevice(page, 'hostile-texts');
    await page.click('#delete-device');
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByRole('button', { name: 'Delete with history' }).click();
    await other.waitFor({ state: 'detached', timeout: 30000 });
    const listed = await page.evaluate(async () => (await (await fetch('/api/history/removed')).json()).map((r) => r.id));
    check(!listed.includes('hostile-texts') && await page.locator('ul#removed li[data-device-id="hostile-texts"]').count() === 0,
      '"Delete with history" keeps nothing under Removed devices');
  }
  check(pageErrors.length === 0, `no script errors on the page ${pageErrors.join('; ')}`);
  const origin = new URL(base);
  const elsewhere = requested.filter((u) => {
    const url = new URL(u);
    return ['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol) && url.host !== origin.host;
  });
  check(requested.length > 0 && elsewhere.length === 0,
    `all ${requested.length} requests of the pages went to the gateway (${origin.host}): nothing from elsewhere ${elsewhere.slice(0, 5).join(' ')}`);
} catch (err) {
  failed = true;
  console.error(String(err && err.stack ? err.stack : err));
  if (pageErrors.length > 0) console.error(`errors on the page:\n${pageErrors.join('\n')}`);
  if (consoleErrors.length > 0) console.error(`browser console errors:\n${consoleErrors.join('\n')}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
