// Unit tests of alertformat.js, the pure half of the dashboard's alerting (run from web/:
// `node --test tests/`).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  ackBody, alertLine, alertMarks, alertSilenceBody, channelBody, channelHealth, conditionText,
  durationInput, firingSummary, formatAlertValue, formatSeconds, parseDuration, parseWeekly,
  relativeTime, ruleBody, ruleValues, scopeText, silenceBody, silenceStatus, silenceWhen, sortAlerts,
} from '../alertformat.js';
import { FieldError } from '../deviceform.js';

const NOW = Date.UTC(2026, 3, 1, 12, 0, 0);
const HOSTILE = 'lab <img src=x onerror="window.__pwned=1">';

const alert = (fields) => ({
  id: 'a1', rule: 'r1', rule_name: 'Uplink hot', kind: 'utilisation', severity: 'warning',
  device: 'core-1', device_name: 'core 1', device_address: '192.0.2.1:161', interfaces: [],
  state: 'firing', flapping: false, value: null, summary: '', started_ms: NOW - 600_000,
  since_ms: NOW - 300_000, silenced: false, notifications: 0, ...fields,
});

/** Asserts that `fn` throws a FieldError naming `field`. */
function throwsAt(fn, field) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof FieldError, `a FieldError, not ${err}`);
    assert.equal(err.field, field, err.message);
    assert.ok(err.message.length > 0);
    return true;
  });
}

describe('alerts', () => {
  test('firing first, then the worst, then the newest', () => {
    const list = [
      alert({ id: 'p', state: 'pending', severity: 'critical' }),
      alert({ id: 'w', severity: 'warning' }),
      alert({ id: 'c-old', severity: 'critical', since_ms: NOW - 900_000 }),
      alert({ id: 'c-new', severity: 'critical', since_ms: NOW - 60_000 }),
      alert({ id: 'i', severity: 'info' }),
    ];
    assert.deepEqual(sortAlerts(list).map((a) => a.id), ['c-new', 'c-old', 'w', 'i', 'p']);
    assert.equal(list[0].id, 'p', 'the input is left as it was');
  });

  test('the firing count and its worst severity', () => {
    assert.deepEqual(firingSummary([]), { count: 0, worst: null });
    assert.deepEqual(firingSummary(null), { count: 0, worst: null });
    assert.deepEqual(firingSummary([
      alert({ severity: 'info' }), alert({ state: 'pending', severity: 'critical' }), alert({ severity: 'warning' }),
    ]), { count: 2, worst: 'warning' });
  });

  test('marks: flapping, silenced, acked', () => {
    assert.deepEqual(alertMarks(alert({})), []);
    assert.deepEqual(alertMarks(alert({ flapping: true, silenced: true, acked_by: 'ann' })), ['flapping', 'silenced', 'acked']);
    assert.deepEqual(alertMarks(alert({ acked_by: '' })), []);
  });

  test('values in the unit of their kind', () => {
    assert.equal(formatAlertValue('utilisation', 87.456), '87.5 %');
    assert.equal(formatAlertValue('utilisation', 250.4), '250 %');
    assert.equal(formatAlertValue('errors', 12), '12 /s');
    assert.equal(formatAlertValue('errors', 0.012345), '0.0123 /s');
    assert.equal(formatAlertValue('oid', 4242), '4242');
    assert.equal(formatAlertValue('device_down', null), '');
    assert.equal(formatAlertValue('oid', NaN), '');
  });

  test('relative times, past and future', () => {
    assert.equal(relativeTime(NOW - 2000, NOW), 'just now');
    assert.equal(relativeTime(NOW + 2000, NOW), 'just now');
    assert.equal(relativeTime(NOW - 42_000, NOW), '42 s ago');
    assert.equal(relativeTime(NOW - 5 * 60_000, NOW), '5 min ago');
    assert.equal(relativeTime(NOW - 3 * 3_600_000, NOW), '3 h ago');
    assert.equal(relativeTime(NOW + 2 * 3_600_000, NOW), 'in 2 h');
    assert.equal(relativeTime(NOW + 90_000, NOW), 'in 1 min');
    assert.equal(relativeTime(undefined, NOW), '');
  });

  test('spans of seconds in two units at most', () => {
    assert.equal(formatSeconds(45), '45 s');
    assert.equal(formatSeconds(300), '5 min');
    assert.equal(formatSeconds(5400), '1 h 30 min');
    assert.equal(formatSeconds(3600), '1 h');
    assert.equal(formatSeconds(86_400 + 4 * 3600 + 61), '1 d 4 h');
    assert.equal(formatSeconds(86_400 + 60), '1 d');
    assert.equal(formatSeconds(-1), '');
  });

  test('one line per alert, names kept as the text they are', () => {
    const line = alertLine(alert({
      severity: 'critical', interfaces: ['eth0', 'eth1'], value: 87.5, acked_by: 'ann',
      rule_name: `${HOSTILE} rule`, device_name: HOSTILE,
    }), NOW);
    assert.equal(line, `CRITICAL firing (acked): ${HOSTILE} rule on ${HOSTILE} [eth0, eth1] = 87.5 %, since 5 min ago`);
    assert.equal(alertLine(alert({ kind: 'device_down', state: 'pending', device_name: '' }), NOW),
      'WARNING pending: Uplink hot on core-1, since 5 min ago');
  });
});

describe('durations', () => {
  test('what people type', () => {
    for (const [input, seconds] of [
      ['', null], ['  ', null], ['0', 0], ['90', 90], ['30s', 30], ['5m', 300], ['5 min', 300],
      ['1h30m', 5400], ['1h 30m', 5400], ['1.5h', 5400], ['2d', 172_800], ['1w', 604_800], ['10sec', 10],
    ]) assert.equal(parseDuration(input), seconds, input);
    for (const input of ['x', '5x', 'h', '1h30', '-5m', '5ms']) assert.ok(Number.isNaN(parseDuration(input)), input);
  });

  test('shown back as typed, and read again the same', () => {
    for (const [seconds, text] of [[0, '0'], [45, '45s'], [300, '5m'], [5400, '1h30m'], [90_061, '1d1h1m1s']]) {
      assert.equal(durationInput(seconds), text);
      assert.equal(parseDuration(text), seconds);
    }
  });
});

describe('rule bodies', () => {
  const base = {
    name: ' Uplink hot ', kind: 'utilisation', severity: 'warning', scope: 'all', 'scope.devices': [],
    'scope.tags': '', channels: ['c1'], for_s: '5m', repeat_s: '', flap_threshold: '', flap_window_s: '',
    direction: 'in', above_pct: '80', clear_below_pct: '70',
  };

  test('a utilisation rule', () => {
    assert.deepEqual(ruleBody(base), {
      name: 'Uplink hot', kind: 'utilisation', severity: 'warning', scope: 'all',
      direction: 'in', above_pct: 80, clear_below_pct: 70, channels: ['c1'], for_s: 300, repeat_s: 0,
    });
    const auto = ruleBody({ ...base, clear_below_pct: '' });
    assert.equal('clear_below_pct' in auto, false, 'left to the server');
  });

  test('each kind sends its own fields only', () => {
    const common = { ...base, direction: undefined, above_pct: undefined, clear_below_pct: undefined };
    const own = (values) => {
      const body = ruleBody({ ...common, ...values });
      for (const k of ['name', 'kind', 'severity', 'scope', 'channels', 'for_s', 'repeat_s']) delete body[k];
      return body;
    };
    assert.deepEqual(own({ kind: 'device_down' }), {});
    assert.deepEqual(own({ kind: 'interface_down' }), {});
    assert.deepEqual(own({ kind: 'errors', counter: 'in_discards', above_per_s: '2.5' }), { counter: 'in_discards', above_per_s: 2.5 });
    assert.deepEqual(own({ kind: 'errors', above_per_s: '0' }), { counter: 'any', above_per_s: 0 });
    assert.deepEqual(own({ kind: 'oid', oid: ' 1.3.6.1.4.1.9.2 ', above: '', below: '10' }), { oid: '1.3.6.1.4.1.9.2', below: 10 });
    assert.deepEqual(own({ kind: 'poll_failing', reason: 'auth' }), { reason: 'auth' });
    assert.deepEqual(own({ kind: 'poll_failing' }), { reason: 'any' });
    assert.deepEqual(own({ kind: 'device_down', flap_threshold: '3', flap_window_s: '15m' }), { flap_threshold: 3, flap_window_s: 900 });
  });

  test('scopes: all, devices, tags', () => {
    assert.deepEqual(ruleBody({ ...base, scope: 'devices', 'scope.devices': ['core-1', 'edge-2'] }).scope, { devices: ['core-1', 'edge-2'] });
    assert.deepEqual(ruleBody({ ...base, scope: 'tags', 'scope.tags': 'Core, edge core' }).scope, { tags: ['core', 'edge'] });
  });

  test('errors name the field at fault', () => {
    for (const [values, field] of [
      [{ name: '  ' }, 'name'],
      [{ name: 'x'.repeat(65) }, 'name'],
      [{ kind: 'nope' }, 'kind'],
      [{ severity: '' }, 'severity'],
      [{ scope: 'devices' }, 'scope.devices'],
      [{ scope: 'tags', 'scope.tags': ' , ' }, 'scope.tags'],
      [{ scope: 'some' }, 'scope'],
      [{ direction: 'up' }, 'direction'],
      [{ above_pct: '' }, 'above_pct'],
      [{ above_pct: '0' }, 'above_pct'],
      [{ above_pct: 'lots' }, 'above_pct'],
      [{ clear_below_pct: '90' }, 'clear_below_pct'],
      [{ kind: 'errors', above_per_s: '-1' }, 'above_per_s'],
      [{ kind: 'errors', counter: 'crc', above_per_s: '1' }, 'counter'],
      [{ kind: 'oid', oid: 'sysName.0', above: '1' }, 'oid'],
      [{ kind: 'oid', oid: '1.3.6.1', above: '', below: '' }, 'above'],
      [{ kind: 'poll_failing', reason: 'dns' }, 'reason'],
      [{ for_s: 'soon' }, 'for_s'],
      [{ for_s: '8d' }, 'for_s'],
      [{ repeat_s: '-1' }, 'repeat_s'],
      [{ flap_threshold: '0' }, 'flap_threshold'],
      [{ flap_threshold: '2.5' }, 'flap_threshold'],
      [{ flap_window_s: '5s' }, 'flap_window_s'],
    ]) throwsAt(() => ruleBody({ ...base, ...values }), field);
  });

  test('a rule read back into the form gives the same rule', () => {
    for (const rule of [
      { name: 'hot', kind: 'utilisation', severity: 'warning', scope: { tags: ['core'] }, channels: ['c1'], for_s: 30, repeat_s: 3600, flap_threshold: 5, flap_window_s: 600, direction: 'either', above_pct: 80, clear_below_pct: 60 },
      { name: 'down', kind: 'device_down', severity: 'critical', scope: 'all', channels: [], for_s: 0, repeat_s: 0, flap_threshold: 3, flap_window_s: 120 },
      { name: 'temp', kind: 'oid', severity: 'info', scope: { devices: ['core-1'] }, channels: [], for_s: 60, repeat_s: 0, flap_threshold: 5, flap_window_s: 600, oid: '1.3.6.1.4.1.9.9.13.1.3.1.3.1', above: 70, below: 5 },
      { name: 'errs', kind: 'errors', severity: 'warning', scope: 'all', channels: ['c1', 'c2'], for_s: 0, repeat_s: 0, flap_threshold: 5, flap_window_s: 600, counter: 'out_errors', above_per_s: 0.5 },
      { name: 'auth', kind: 'poll_failing', severity: 'warning', scope: 'all', channels: [], for_s: 300, repeat_s: 0, flap_threshold: 5, flap_window_s: 600, reason: 'auth' },
    ]) {
      assert.deepEqual(ruleBody(ruleValues({ id: 'r9', ...rule })), rule, rule.name);
    }
  });

  test('what a rule watches, and where, in words', () => {
    assert.equal(conditionText({ kind: 'utilisation', direction: 'in', above_pct: 80, clear_below_pct: 70 }), 'utilisation in above 80 % (clears below 70 %)');
    assert.equal(conditionText({ kind: 'errors', counter: 'in_discards', above_per_s: 2 }), 'in discards errors above 2 /s');
    assert.equal(conditionText({ kind: 'oid', oid: '1.3.6.1', above: 9, below: 1 }), '1.3.6.1 above 9 or below 1');
    assert.equal(conditionText({ kind: 'poll_failing', reason: 'timeout' }), 'polls failing (timeout)');
    assert.equal(conditionText({ kind: 'device_down' }), 'device down');
    const names = { deviceName: (id) => ({ 'core-1': HOSTILE })[id] ?? id, ruleName: (id) => `rule ${id}` };
    assert.equal(scopeText('all', names), 'all devices');
    assert.equal(scopeText({ devices: ['core-1', 'gone'] }, names), `devices: ${HOSTILE}, gone`);
    assert.equal(scopeText({ tags: ['core'], rules: ['r1'] }, names), 'tags: core; rules: rule r1');
  });
});

describe('channels', () => {
  test('health: failing with its last error, ok, or unused', () => {
    const failing = channelHealth({ failing: true, last_error: 'HTTP 500 <b>', last_attempt_ms: NOW - 60_000, sent: 3, failed: 2 }, NOW);
    assert.equal(failing.state, 'failing');
    assert.equal(failing.text, 'failing: HTTP 500 <b> (sent 3, failed 2, last 1 min ago)');
    assert.deepEqual(channelHealth({ failing: false, last_attempt_ms: NOW, sent: 1, failed: 0 }, NOW), { state: 'ok', text: 'ok (sent 1, failed 0, last just now)' });
    assert.equal(channelHealth(null, NOW).state, 'unused');
  });

  test('bodies by kind, errors at their field', () => {
    assert.deepEqual(channelBody({ name: ' hook ', kind: 'webhook', url: ' https://hooks.example/T0?token=s ', to: 'x' }),
      { name: 'hook', kind: 'webhook', url: 'https://hooks.example/T0?token=s' });
    assert.deepEqual(channelBody({ name: 'noc', kind: 'email', to: 'a@example.net, b@example.net' }),
      { name: 'noc', kind: 'email', to: ['a@example.net', 'b@example.net'] });
    throwsAt(() => channelBody({ name: '', kind: 'webhook', url: 'https://x' }), 'name');
    throwsAt(() => channelBody({ name: 'a', kind: 'sms' }), 'kind');
    throwsAt(() => channelBody({ name: 'a', kind: 'alertmanager', url: 'ftp://x' }), 'url');
    throwsAt(() => channelBody({ name: 'a', kind: 'email', to: '' }), 'to');
    throwsAt(() => channelBody({ name: 'a', kind: 'email', to: 'nobody' }), 'to');
  });
});

describe('silences', () => {
  const weekly = { mode: 'weekly', 'scope.tags': 'core', days: ['sun', 'mon'], 'weekly.time': '02:00', 'weekly.duration_s': '2h', 'weekly.time_zone': 'Europe/Paris', from: '', to: '', comment: ' patching ' };

  test('a weekly window from the form', () => {
    assert.deepEqual(parseWeekly(weekly), { days: ['mon', 'sun'], time: '02:00', duration_s: 7200, time_zone: 'Europe/Paris' });
    assert.equal(parseWeekly({ ...weekly, 'weekly.time_zone': ' ' }).time_zone, 'UTC');
    assert.equal(parseWeekly({ ...weekly, 'weekly.time': '23:30:00' }).time, '23:30');
    for (const [values, field] of [
      [{ days: [] }, 'weekly.days'],
      [{ days: ['someday'] }, 'weekly.days'],
      [{ 'weekly.time': '25:00' }, 'weekly.time'],
      [{ 'weekly.time': '' }, 'weekly.time'],
      [{ 'weekly.duration_s': '30s' }, 'weekly.duration_s'],
      [{ 'weekly.duration_s': '8d' }, 'weekly.duration_s'],
      [{ 'weekly.duration_s': 'long' }, 'weekly.duration_s'],
      [{ 'weekly.time_zone': 'Mars/Olympus' }, 'weekly.time_zone'],
    ]) throwsAt(() => parseWeekly({ ...weekly, ...values }), field);
  });

  test('weekly bodies need no end', () => {
    assert.deepEqual(silenceBody(weekly, NOW), {
      scope: { tags: ['core'] },
      weekly: { days: ['mon', 'sun'], time: '02:00', duration_s: 7200, time_zone: 'Europe/Paris' },
      comment: 'patching',
    });
    const until = silenceBody({ ...weekly, to: '2026-12-31T00:00' }, NOW);
    assert.equal(until.to, new Date('2026-12-31T00:00').getTime() / 1000);
  });

  test('one-off bodies: from now or from a time, to a later time', () => {
    const values = { mode: 'once', 'scope.devices': ['core-1'], 'scope.rules': ['r1'], 'scope.tags': '', from: '', to: '2026-04-01T15:00', comment: '' };
    const local = (t) => new Date(t).getTime() / 1000;
    const at = new Date('2026-04-01T14:00').getTime(); // the form's times are local
    const soon = silenceBody(values, at);
    assert.deepEqual(soon, { scope: { devices: ['core-1'], rules: ['r1'] }, to: local('2026-04-01T15:00'), comment: '' });
    const later = silenceBody({ ...values, from: '2026-04-02T01:00', to: '2026-04-02T03:30' }, at);
    assert.equal(later.from, local('2026-04-02T01:00'));
    assert.equal(later.to, local('2026-04-02T03:30'));
    assert.equal('weekly' in later, false);
    throwsAt(() => silenceBody({ ...values, 'scope.devices': [], 'scope.rules': [] }, at), 'scope');
    throwsAt(() => silenceBody({ ...values, to: '' }, at), 'to');
    throwsAt(() => silenceBody({ ...values, from: '2026-04-02T05:00', to: '2026-04-02T03:00' }, at), 'to');
    throwsAt(() => silenceBody(values, new Date('2026-04-01T16:00').getTime()), 'to');
    throwsAt(() => silenceBody({ ...values, from: 'tomorrow' }, at), 'from');
    throwsAt(() => silenceBody({ ...values, comment: 'x'.repeat(501) }, at), 'comment');
  });

  test('an alert silenced from its row: its device and rule, from now', () => {
    assert.deepEqual(alertSilenceBody(alert({}), '3600', ' cable swap ', NOW), {
      scope: { devices: ['core-1'], rules: ['r1'] },
      to: NOW / 1000 + 3600,
      comment: 'cable swap',
    });
    throwsAt(() => alertSilenceBody(alert({}), '', '', NOW), 'duration');
    assert.deepEqual(ackBody('  on it '), { comment: 'on it' });
    throwsAt(() => ackBody('x'.repeat(501)), 'comment');
  });

  test('where a silence stands, and when it holds', () => {
    const hour = 3_600_000;
    assert.equal(silenceStatus({ from_ms: NOW - hour, to_ms: NOW + hour, active: true }, NOW), 'active');
    assert.equal(silenceStatus({ from_ms: NOW + hour, to_ms: NOW + 2 * hour, active: false }, NOW), 'upcoming');
    assert.equal(silenceStatus({ from_ms: NOW - hour, to_ms: NOW + 99 * hour, active: false, weekly: { days: ['sun'] } }, NOW), 'weekly');
    assert.equal(silenceStatus({ from_ms: NOW - 2 * hour, to_ms: NOW - hour, active: false }, NOW), 'expired');
    const w = { days: ['sat', 'sun'], time: '02:00', duration_s: 7200, time_zone: 'Europe/Paris' };
    assert.equal(silenceWhen({ from_ms: NOW - hour, to_ms: NOW + 3650 * 24 * hour, weekly: w }, NOW), 'sat, sun at 02:00 for 2 h (Europe/Paris)');
    assert.match(silenceWhen({ from_ms: NOW - hour, to_ms: NOW + 2 * hour }, NOW), /^until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in 2 h\)$/);
    assert.match(silenceWhen({ from_ms: NOW + hour, to_ms: NOW + 2 * hour }, NOW), /^\d{4}-.* to \d{4}-/);
  });
});
