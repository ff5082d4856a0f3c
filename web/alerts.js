// Alerting on the dashboard. The Alerts page (#/alerts, section#alerts-view): pending and
// firing alerts in table#active-alerts (worst first; for operators and admins an "Ack" and a
// "Silence" button on each row), what resolved in the last 24 h in table#alert-history, and
// the rules, silences and channels panels (alertrules.js, alertsilences.js,
// alertchannels.js). On every page: the count of firing alerts on the header's Alerts link
// (#alert-count), and on a device's page its own active alerts (#device-alerts).
//
// Live: each /ws `alert` message asks for GET /api/alerts again (messages within 300 ms make
// one request), and every 30 s anyway in case a message was missed. Alert, rule, device and
// user strings reach the DOM as text only.

import { apiJson } from './api.js';
import { ackDialog, silenceDialog } from './alertdialogs.js';
import { ChannelsPanel } from './alertchannels.js';
import { alertLine, alertMarks, firingSummary, formatAlertValue, formatSeconds, relativeTime, sortAlerts } from './alertformat.js';
import { button, showError } from './alertforms.js';
import { RulesPanel } from './alertrules.js';
import { SilencesPanel } from './alertsilences.js';
import { el } from './dom.js';
import { formatDateTime } from './format.js';

/** Alert messages within this long make one GET /api/alerts. */
const GATHER_MS = 300;
/** GET /api/alerts this often even when no message came (a missed one is caught up). */
const FALLBACK_MS = 30_000;
/** "since 5 min ago" texts are redrawn this often. */
const TICK_MS = 15_000;
/** The history table covers this long back. */
const HISTORY_MS = 24 * 3_600_000;

const deviceHref = (id) => `#/device/${encodeURIComponent(id)}`;
const strings = (v) => (Array.isArray(v) ? v.map(String) : []);

// A table with a visually hidden caption and these column headings, in a scroll box.
function table(id, caption, columns) {
  const node = el('table', 'data-table alerts-table');
  node.id = id;
  const tr = el('tr');
  for (const name of columns) {
    const th = el('th', name === 'Value' ? 'num' : null);
    if (name) th.textContent = name;
    else th.append(el('span', 'visually-hidden', 'Actions'));
    th.scope = 'col';
    tr.append(th);
  }
  const head = el('thead');
  head.append(tr);
  node.append(el('caption', 'visually-hidden', caption), head, el('tbody'));
  const wrap = el('div', 'table-scroll');
  wrap.append(node);
  return { node, wrap };
}

// A panel section with a heading.
function panel(id, title) {
  const section = el('section', 'panel');
  section.id = id;
  const heading = el('h2', null, title);
  heading.id = `${id}-title`;
  section.setAttribute('aria-labelledby', heading.id);
  section.append(heading);
  return section;
}

// The severity word with its colour (style.css `.severity`).
function severityBadge(severity) {
  const badge = el('span', 'severity', String(severity ?? ''));
  badge.dataset.severity = String(severity ?? '');
  return badge;
}

// A link to a device's page, named as the alert names it.
function deviceLink(alert) {
  const link = el('a', 'device-link', String(alert.device_name || alert.device || ''));
  link.href = deviceHref(String(alert.device ?? ''));
  return link;
}

// A time as "5 min ago", its date and time on hover.
function when(ms, now) {
  const node = el('span', 'alert-time', relativeTime(ms, now));
  if (Number.isFinite(ms)) node.title = formatDateTime(ms);
  return node;
}

export class AlertsPage {
  /**
   * @param els {view: section#alerts-view, count: #alert-count, nav: the Alerts link,
   *   device: #device-alerts}
   * @param options {role, devices() → Map(id → device)}
   */
  constructor(els, { role, devices }) {
    this.els = els;
    this.devices = devices;
    this.canAct = role === 'operator' || role === 'admin';
    this.active = []; // pending and firing alerts, as GET /api/alerts gave them
    this.history = []; // resolved in the last 24 h
    this.shown = false; // the Alerts page is open
    this.deviceId = null; // the device whose page is open
    this.gathering = null; // the timer of the next GET /api/alerts after a message
    this.stale = { history: false, channels: false };
    this.generation = 0; // of GET /api/alerts, so that a late answer does not win
    this.build(role);
  }

  build(role) {
    const active = panel('active-alerts-panel', 'Active alerts');
    this.error = el('p', 'error');
    this.error.id = 'alerts-error';
    this.error.setAttribute('role', 'alert');
    this.activeTable = table('active-alerts', 'Pending and firing alerts, worst first',
      ['Severity', 'State', 'Rule', 'Device', 'Interfaces', 'Value', 'Since', 'Acked by', '']);
    this.activeEmpty = el('p', 'muted', 'No active alerts.');
    this.activeEmpty.id = 'active-alerts-empty';
    active.append(this.error, this.activeTable.wrap, this.activeEmpty);

    const history = panel('alert-history-panel', 'Recent history (24 h)');
    this.historyError = el('p', 'error');
    this.historyError.setAttribute('role', 'alert');
    this.historyTable = table('alert-history', 'Alerts resolved in the last 24 hours, latest first',
      ['Severity', 'Rule', 'Device', 'Interfaces', 'Started', 'Resolved', 'Lasted', 'Acked by']);
    this.historyEmpty = el('p', 'muted', 'Nothing resolved in the last 24 hours.');
    history.append(this.historyError, this.historyTable.wrap, this.historyEmpty);

    const deviceOptions = () => [...this.devices().entries()]
      .map(([id, d]) => [String(id), String(d?.name ?? id)])
      .sort((a, b) => a[1].localeCompare(b[1]));
    const deviceName = (id) => this.devices().get(String(id))?.name ?? id;
    const panels = el('div', 'alert-panels');
    const rulesSection = panel('rules-panel', 'Rules');
    const silencesSection = panel('silences-panel', 'Silences');
    const channelsSection = panel('channels-panel', 'Channels');
    panels.append(rulesSection, silencesSection, channelsSection);
    this.channels = new ChannelsPanel(channelsSection, {
      canWrite: role === 'admin',
      onChange: () => {
        this.rules.refreshChoices();
        this.rules.render();
      },
    });
    this.rules = new RulesPanel(rulesSection, {
      canWrite: this.canAct,
      deviceOptions,
      deviceName,
      channels: () => this.channels.channels,
      onChange: () => {
        this.silences.refreshChoices();
        this.silences.render();
      },
    });
    this.silences = new SilencesPanel(silencesSection, {
      canWrite: this.canAct,
      deviceOptions,
      deviceName,
      ruleOptions: () => this.rules.ruleOptions(),
      ruleName: (id) => this.rules.ruleName(id),
    });
    this.els.view.replaceChildren(active, history, panels);

    const device = this.els.device;
    this.deviceList = el('ul', 'device-alert-list');
    this.deviceList.setAttribute('aria-label', 'Active alerts of this device');
    const all = el('a', 'all-alerts', 'All alerts');
    all.href = '#/alerts';
    const head = el('div', 'device-alerts-head');
    head.append(el('h3', null, 'Active alerts'), all);
    device.replaceChildren(head, this.deviceList);
    device.hidden = true;

    if (this.canAct) {
      this.ackDialog = ackDialog();
      this.silenceDialog = silenceDialog();
    }
  }

  /** First load, then the fallback refresh and the clock of the relative times. */
  start() {
    this.loadActive();
    setInterval(() => this.refresh({ everything: true }), FALLBACK_MS);
    setInterval(() => this.renderActive(), TICK_MS);
  }

  /** The page's route changed: shows the Alerts page or a device's alerts as it says. */
  setRoute(route) {
    const shown = route.view === 'alerts';
    this.deviceId = route.view === 'device' ? String(route.id) : null;
    this.els.view.hidden = !shown;
    this.els.nav.setAttribute('aria-current', shown ? 'page' : 'false');
    this.renderDevice();
    if (shown && !this.shown) {
      this.rules.refreshChoices();
      this.silences.refreshChoices();
      this.channels.load().then(() => this.rules.load()).then(() => this.silences.load());
      this.loadHistory();
      this.loadActive();
    }
    this.shown = shown;
  }

  /** The device list was loaded again: the forms' device choices and the names shown. */
  devicesChanged() {
    this.rules.refreshChoices();
    this.silences.refreshChoices();
    if (!this.shown) return;
    this.rules.render();
    this.silences.render();
  }

  /** A /ws message of type `alert`: GET /api/alerts soon (once for a burst). */
  onMessage(msg) {
    if (msg.event === 'resolved') this.stale.history = true;
    if (msg.event === 'notified') this.stale.channels = true;
    if (this.gathering !== null) return;
    this.gathering = setTimeout(() => {
      this.gathering = null;
      this.refresh();
    }, GATHER_MS);
  }

  /** Loads the active alerts again, and what the open page shows that may have changed. */
  refresh({ everything = false } = {}) {
    this.loadActive();
    if (!this.shown) return;
    if (everything || this.stale.history) this.loadHistory();
    if (everything || this.stale.channels) this.channels.load();
    if (everything) this.silences.load();
    this.stale = { history: false, channels: false };
  }

  async loadActive() {
    const generation = ++this.generation;
    try {
      const list = await apiJson('GET', '/api/alerts');
      if (generation !== this.generation) return;
      this.active = sortAlerts(Array.isArray(list) ? list.filter((a) => a && typeof a === 'object') : []);
      this.error.textContent = '';
    } catch (err) {
      if (generation === this.generation) showError(this.error, err);
      return;
    }
    this.renderCount();
    this.renderActive();
  }

  async loadHistory() {
    const to = Date.now();
    const params = new URLSearchParams({
      state: 'resolved',
      from: String(Math.floor((to - HISTORY_MS) / 1000)),
      to: String(Math.ceil(to / 1000)),
    });
    try {
      const list = await apiJson('GET', `/api/alerts?${params}`);
      this.history = (Array.isArray(list) ? list : [])
        .sort((a, b) => (Number(b.resolved_ms) || 0) - (Number(a.resolved_ms) || 0));
      this.historyError.textContent = '';
    } catch (err) {
      showError(this.historyError, err);
      return;
    }
    this.renderHistory();
  }

  renderCount() {
    const { count, worst } = firingSummary(this.active);
    const badge = this.els.count;
    badge.textContent = String(count);
    badge.hidden = count === 0;
    badge.dataset.severity = worst ?? '';
    this.els.nav.setAttribute('aria-label', count > 0 ? `Alerts, ${count} firing` : 'Alerts');
  }

  renderActive() {
    const now = Date.now();
    const rows = this.active.map((alert) => this.activeRow(alert, now));
    this.activeTable.node.tBodies[0].replaceChildren(...rows);
    this.activeEmpty.hidden = rows.length > 0;
    this.renderDevice(now);
  }

  activeRow(alert, now) {
    const tr = el('tr', 'alert-row');
    tr.dataset.alertId = String(alert.id);
    tr.dataset.severity = String(alert.severity ?? '');
    tr.dataset.state = String(alert.state ?? '');
    const state = el('td', 'alert-state');
    state.append(el('span', 'alert-state-word', String(alert.state ?? '')));
    for (const mark of alertMarks(alert)) {
      const node = el('span', 'alert-mark', mark);
      node.dataset.mark = mark;
      state.append(node);
    }
    const rule = el('td', 'alert-rule');
    rule.append(el('span', 'alert-rule-name', String(alert.rule_name ?? '')));
    if (alert.summary) rule.append(el('span', 'alert-summary muted', String(alert.summary)));
    const device = el('td', 'alert-device');
    device.append(deviceLink(alert));
    const since = el('td', 'alert-since');
    since.append(when(alert.since_ms, now));
    const acked = el('td', 'alert-acked', String(alert.acked_by ?? ''));
    if (alert.ack_comment) acked.append(el('span', 'alert-ack-comment muted', String(alert.ack_comment)));
    const actions = el('td', 'actions');
    if (this.canAct) {
      const what = `${String(alert.rule_name ?? '')} on ${String(alert.device_name ?? '')}`;
      if (!alert.acked_by) {
        const ack = button('Ack', 'ack');
        ack.setAttribute('aria-label', `Acknowledge ${what}`);
        ack.addEventListener('click', () => this.ack(alert));
        actions.append(ack);
      }
      const silence = button('Silence', 'silence');
      silence.setAttribute('aria-label', `Silence ${what}`);
      silence.addEventListener('click', () => this.silence(alert));
      actions.append(silence);
    }
    const severity = el('td', 'alert-severity');
    severity.append(severityBadge(alert.severity));
    tr.append(
      severity, state, rule, device,
      el('td', 'alert-interfaces', strings(alert.interfaces).join(', ')),
      el('td', 'alert-value num', formatAlertValue(alert.kind, alert.value)),
      since, acked, actions,
    );
    return tr;
  }

  renderHistory() {
    const now = Date.now();
    const rows = this.history.map((alert) => {
      const tr = el('tr');
      tr.dataset.alertId = String(alert.id);
      tr.dataset.severity = String(alert.severity ?? '');
      const severity = el('td');
      severity.append(severityBadge(alert.severity));
      const device = el('td');
      device.append(deviceLink(alert));
      const started = el('td');
      started.append(when(alert.started_ms, now));
      const resolved = el('td');
      resolved.append(when(alert.resolved_ms, now));
      const lasted = Number.isFinite(alert.resolved_ms) && Number.isFinite(alert.started_ms)
        ? formatSeconds((alert.resolved_ms - alert.started_ms) / 1000) : '';
      tr.append(
        severity,
        el('td', 'alert-rule-name', String(alert.rule_name ?? '')),
        device,
        el('td', null, strings(alert.interfaces).join(', ')),
        started, resolved,
        el('td', 'alert-lasted', lasted),
        el('td', null, String(alert.acked_by ?? '')),
      );
      return tr;
    });
    this.historyTable.node.tBodies[0].replaceChildren(...rows);
    this.historyEmpty.hidden = rows.length > 0;
  }

  // The open device page's own active alerts, or nothing.
  renderDevice(now = Date.now()) {
    const mine = this.deviceId === null ? [] : this.active.filter((a) => String(a.device) === this.deviceId);
    this.els.device.hidden = mine.length === 0;
    this.deviceList.replaceChildren(...mine.map((alert) => {
      const li = el('li', 'device-alert', alertLine(alert, now));
      li.dataset.alertId = String(alert.id);
      li.dataset.severity = String(alert.severity ?? '');
      li.dataset.state = String(alert.state ?? '');
      return li;
    }));
  }

  async ack(alert) {
    if (await this.ackDialog.ask(alert, alertLine(alert, Date.now()))) this.loadActive();
  }

  async silence(alert) {
    if (!(await this.silenceDialog.ask(alert, alertLine(alert, Date.now())))) return;
    this.loadActive();
    if (this.shown) this.silences.load();
  }
}
