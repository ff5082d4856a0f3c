//! Alert rules applied to what devices say.
//!
//! Every rule's condition on every device in its scope is followed as a track: the items it
//! holds for now (interfaces, or the device as a whole), and the alert they make. An alert is
//! pending while its condition has held less than the rule's `for_s`, then fires, and
//! resolves when the condition no longer holds for any item; one alert lists every interface
//! of its device, so a rule matching many ports sends one notification.
//!
//! Around that: utilisation clears only below `clear_below_pct` (hysteresis); a condition that
//! changes state more than `flap_threshold` times in `flap_window_s` is flapping (notified
//! once, and resolved only once it has been stable for a window); silences keep firing alerts
//! from being notified until they end; an acknowledged alert is not repeated.
//!
//! The engine is pure: [`Engine::apply`] takes an [`Input`] and the time, and returns the
//! [`Effect`]s to carry out (store an alert, publish its transition, deliver a
//! notification). Nothing here waits.

use std::collections::{BTreeMap, HashMap, VecDeque};

use netpulse_shared::alert::{
    new_id, Ack, Alert, AlertEvent, AlertRule, AlertState, Condition, Direction, ErrorCounter,
    Silence, Undelivered,
};
use netpulse_shared::device::{Device, DeviceId};
use netpulse_shared::messages::{DeviceStatus, PollFailure, Reachability, Sample, SCHEMA_VERSION};

use crate::facts::{DeviceFacts, OperState, Reading};

/// Something the engine learns.
#[derive(Debug, Clone)]
pub enum Input {
    /// A device was added or changed.
    Device(Box<Device>),
    /// A device was deleted.
    DeviceRemoved(DeviceId),
    /// A rule was added or changed.
    Rule(Box<AlertRule>),
    /// A rule was deleted.
    RuleRemoved(String),
    /// A silence was added.
    Silence(Box<Silence>),
    /// A silence was deleted.
    SilenceRemoved(String),
    /// An alert was acknowledged.
    Ack(Ack),
    /// A device's reachability (the current one, or a change).
    Status(DeviceStatus),
    /// A poll answered.
    Sample(Box<Sample>),
    /// A poll failed.
    Failure(PollFailure),
    /// Alerts kept by an earlier leader, taken over.
    Restore(Vec<Alert>),
    /// A notification was delivered to a channel, or gave up.
    Delivered {
        /// Which.
        delivery: Undelivered,
        /// The alert's id.
        alert: String,
        /// Why it failed, if it did.
        error: Option<String>,
    },
    /// Time passed: hold-downs, repeats and silences are checked.
    Tick,
}

/// Something to carry out.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Store the alert (pending, firing, or resolved with notifications outstanding).
    Save(Alert),
    /// Delete the alert from the store: resolved and every notification delivered.
    Forget(String),
    /// Publish a transition.
    Publish(AlertEvent),
    /// Deliver a notification of the alert (as it is now) to one channel.
    Deliver(Alert, Undelivered),
}

/// One rule on one device.
#[derive(Debug, Default)]
struct Track {
    /// Items the condition holds for now: interface key ("" for the device), and the value.
    items: BTreeMap<String, Option<f64>>,
    /// Whether it held at the last change.
    holding: bool,
    /// When it changed between holding and not, within the flapping window.
    changes: VecDeque<u64>,
    /// The alert, while pending or firing.
    alert: Option<Alert>,
}

type TrackKey = (String, DeviceId);

/// The alerter's state: rules, devices, silences, acks, and every rule's track on every
/// device.
#[derive(Debug, Default)]
pub struct Engine {
    rules: BTreeMap<String, AlertRule>,
    devices: HashMap<DeviceId, DeviceFacts>,
    /// Reachability of devices, also of those not known from the registry yet.
    reach: HashMap<DeviceId, Reachability>,
    silences: HashMap<String, Silence>,
    acks: HashMap<String, Ack>,
    tracks: HashMap<TrackKey, Track>,
    /// Resolved alerts whose notifications are still being delivered.
    resolved: HashMap<String, Alert>,
    /// Conditions evaluated so far (a rule on a device for one input).
    pub evaluations: u64,
}

impl Engine {
    /// Applies `input` at `now_ms`; returns what to carry out, in order.
    pub fn apply(&mut self, input: Input, now_ms: u64) -> Vec<Effect> {
        let mut out = Vec::new();
        match input {
            Input::Device(device) => self.device_changed(*device, now_ms, &mut out),
            Input::DeviceRemoved(id) => {
                let keys: Vec<_> = self.tracks.keys().filter(|k| k.1 == id).cloned().collect();
                for key in keys {
                    self.set_items(&key, BTreeMap::new(), now_ms, &mut out);
                }
                self.devices.remove(&id);
                self.tracks.retain(|k, t| k.1 != id || t.alert.is_some());
            }
            Input::Rule(rule) => self.rule_changed(*rule, now_ms, &mut out),
            Input::RuleRemoved(id) => {
                let keys: Vec<_> = self.tracks.keys().filter(|k| k.0 == id).cloned().collect();
                for key in keys {
                    self.set_items(&key, BTreeMap::new(), now_ms, &mut out);
                }
                self.rules.remove(&id);
                self.tracks.retain(|k, _| k.0 != id);
            }
            Input::Silence(silence) => {
                self.silences.insert(silence.id.clone(), *silence);
                self.tick(now_ms, &mut out);
            }
            Input::SilenceRemoved(id) => {
                self.silences.remove(&id);
                self.tick(now_ms, &mut out);
            }
            Input::Ack(ack) => self.acknowledged(ack, now_ms, &mut out),
            Input::Status(status) => {
                self.reach.insert(status.device.clone(), status.state);
                if let Some(facts) = self.devices.get_mut(&status.device) {
                    facts.reach = status.state;
                }
                self.judge_reach(&status.device, None, now_ms, &mut out);
            }
            Input::Sample(sample) => self.sampled(&sample, now_ms, &mut out),
            Input::Failure(failure) => self.failed(&failure, now_ms, &mut out),
            Input::Restore(alerts) => self.restore(alerts, &mut out),
            Input::Delivered {
                delivery,
                alert,
                error,
            } => self.delivered(delivery, &alert, error, now_ms, &mut out),
            Input::Tick => self.tick(now_ms, &mut out),
        }
        out
    }

    /// The alerts pending or firing now.
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.tracks.values().filter_map(|t| t.alert.as_ref())
    }

    /// The channels a rule notifies (none for a rule not known).
    pub fn channels_of(&self, rule: &str) -> &[String] {
        self.rules.get(rule).map_or(&[], |r| r.channels.as_slice())
    }

    fn device_changed(&mut self, device: Device, now_ms: u64, out: &mut Vec<Effect>) {
        let id = device.id.clone();
        match self.devices.get_mut(&id) {
            Some(facts) => facts.device = device,
            None => {
                let mut facts = DeviceFacts::new(device);
                facts.reach = self
                    .reach
                    .get(&id)
                    .copied()
                    .unwrap_or(Reachability::Unknown);
                // Interfaces an alert holds for were up before it: keep following them.
                for (key, track) in &self.tracks {
                    if key.1 == id {
                        facts.seen_up.extend(track.items.keys().cloned());
                    }
                }
                self.devices.insert(id.clone(), facts);
            }
        }
        // Rules whose scope it left let their alerts go; device_down is judged at once.
        let left: Vec<_> = self
            .tracks
            .keys()
            .filter(|k| k.1 == id && !self.in_scope(&k.0, &id))
            .cloned()
            .collect();
        for key in left {
            self.set_items(&key, BTreeMap::new(), now_ms, out);
        }
        self.judge_reach(&id, None, now_ms, out);
    }

    fn rule_changed(&mut self, rule: AlertRule, now_ms: u64, out: &mut Vec<Effect>) {
        let id = rule.id.clone();
        let kind_changed = self
            .rules
            .get(&id)
            .is_some_and(|old| old.condition.kind() != rule.condition.kind());
        self.rules.insert(id.clone(), rule);
        let keys: Vec<_> = self.tracks.keys().filter(|k| k.0 == id).cloned().collect();
        for key in keys {
            if kind_changed || !self.in_scope(&id, &key.1) {
                self.set_items(&key, BTreeMap::new(), now_ms, out);
            }
        }
        let devices: Vec<_> = self.devices.keys().cloned().collect();
        for device in devices {
            self.judge_reach(&device, Some(&id), now_ms, out);
        }
    }

    fn in_scope(&self, rule: &str, device: &DeviceId) -> bool {
        match (self.rules.get(rule), self.devices.get(device)) {
            (Some(rule), Some(facts)) => rule.scope.covers(device, &facts.device.tags),
            _ => false,
        }
    }

    /// The rules (all, or `only`) whose scope covers `device`, with their conditions.
    fn rules_for(&self, device: &DeviceId, only: Option<&str>) -> Vec<(String, Condition)> {
        let Some(facts) = self.devices.get(device) else {
            return Vec::new();
        };
        self.rules
            .values()
            .filter(|r| only.is_none_or(|o| o == r.id))
            .filter(|r| r.scope.covers(device, &facts.device.tags))
            .map(|r| (r.id.clone(), r.condition.clone()))
            .collect()
    }

    /// device_down rules on `device` (or only rule `only`), from its reachability.
    fn judge_reach(
        &mut self,
        device: &DeviceId,
        only: Option<&str>,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) {
        let down = self.reach.get(device) == Some(&Reachability::Down);
        for (rule, condition) in self.rules_for(device, only) {
            if condition == Condition::DeviceDown {
                self.evaluations += 1;
                let items = if down {
                    BTreeMap::from([(String::new(), None)])
                } else {
                    BTreeMap::new()
                };
                self.set_items(&(rule, device.clone()), items, now_ms, out);
            }
        }
    }

    fn failed(&mut self, failure: &PollFailure, now_ms: u64, out: &mut Vec<Effect>) {
        for (rule, condition) in self.rules_for(&failure.device, None) {
            if let Condition::PollFailing { reason } = condition {
                self.evaluations += 1;
                let items = if reason.matches(&failure.reason) {
                    BTreeMap::from([(String::new(), None)])
                } else {
                    BTreeMap::new()
                };
                self.set_items(&(rule, failure.device.clone()), items, now_ms, out);
            }
        }
    }

    fn sampled(&mut self, sample: &Sample, now_ms: u64, out: &mut Vec<Effect>) {
        let rules = self.rules_for(&sample.device, None);
        let Some(facts) = self.devices.get_mut(&sample.device) else {
            return;
        };
        let reading = facts.read(sample);
        for (rule, condition) in rules {
            let key = (rule, sample.device.clone());
            let held = self.tracks.get(&key).map(|t| &t.items);
            let Some(items) = judge(&condition, &reading, &self.devices[&sample.device], held)
            else {
                continue;
            };
            self.evaluations += 1;
            self.set_items(&key, items, now_ms, out);
        }
    }

    fn acknowledged(&mut self, ack: Ack, now_ms: u64, out: &mut Vec<Effect>) {
        let found = self
            .tracks
            .values_mut()
            .filter_map(|t| t.alert.as_mut())
            .find(|a| a.id == ack.alert);
        if let Some(alert) = found {
            if alert.acked_by.is_none() {
                alert.acked_by = Some(ack.by.clone());
                alert.ack_comment = Some(ack.comment.clone());
                out.push(Effect::Save(alert.clone()));
                out.push(event("acked", now_ms, alert));
            }
        }
        self.acks.insert(ack.alert.clone(), ack);
    }

    fn restore(&mut self, alerts: Vec<Alert>, out: &mut Vec<Effect>) {
        for mut alert in alerts {
            if let Some(ack) = self.acks.get(&alert.id) {
                alert.acked_by.get_or_insert_with(|| ack.by.clone());
            }
            for delivery in &alert.outbox {
                out.push(Effect::Deliver(alert.clone(), delivery.clone()));
            }
            if alert.state == AlertState::Resolved {
                self.resolved.insert(alert.id.clone(), alert);
                continue;
            }
            let items: BTreeMap<_, _> = if alert.interfaces.is_empty() {
                BTreeMap::from([(String::new(), alert.value)])
            } else {
                alert
                    .interfaces
                    .iter()
                    .map(|k| (k.clone(), alert.value))
                    .collect()
            };
            if let Some(facts) = self.devices.get_mut(&alert.device) {
                facts.seen_up.extend(items.keys().cloned());
            }
            let key = (alert.rule.clone(), alert.device.clone());
            self.tracks.insert(
                key,
                Track {
                    items,
                    holding: true,
                    changes: VecDeque::new(),
                    alert: Some(alert),
                },
            );
        }
    }

    fn delivered(
        &mut self,
        delivery: Undelivered,
        alert_id: &str,
        error: Option<String>,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) {
        let alert = match self.resolved.get_mut(alert_id) {
            Some(alert) => Some(alert),
            None => self
                .tracks
                .values_mut()
                .filter_map(|t| t.alert.as_mut())
                .find(|a| a.id == alert_id),
        };
        let Some(alert) = alert else {
            return;
        };
        let Some(at) = alert.outbox.iter().position(|d| *d == delivery) else {
            return;
        };
        alert.outbox.remove(at);
        out.push(Effect::Publish(AlertEvent {
            channel: Some(delivery.channel),
            error,
            ..transition("notified", now_ms, alert)
        }));
        if alert.state == AlertState::Resolved && alert.outbox.is_empty() {
            out.push(Effect::Forget(alert.id.clone()));
            self.resolved.remove(alert_id);
        } else {
            out.push(Effect::Save(alert.clone()));
        }
    }

    fn tick(&mut self, now_ms: u64, out: &mut Vec<Effect>) {
        let keys: Vec<_> = self
            .tracks
            .iter()
            .filter(|(_, t)| t.alert.is_some() || !t.changes.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.settle(&key, now_ms, out);
        }
    }

    /// The condition now holds for exactly `items` (for per-interface kinds: of the
    /// interfaces judged; others keep their state).
    fn set_items(
        &mut self,
        key: &TrackKey,
        items: BTreeMap<String, Option<f64>>,
        now_ms: u64,
        out: &mut Vec<Effect>,
    ) {
        let track = self.tracks.entry(key.clone()).or_default();
        track.items = items;
        self.settle(key, now_ms, out);
    }

    /// Moves the track's alert along its life after a change of its items or of time.
    fn settle(&mut self, key: &TrackKey, now_ms: u64, out: &mut Vec<Effect>) {
        let Self {
            rules,
            devices,
            silences,
            tracks,
            resolved,
            ..
        } = self;
        // A rule deleted: its alerts resolved when it was; what is left has no rule.
        let (Some(rule), Some(track)) = (rules.get(&key.0), tracks.get_mut(key)) else {
            return;
        };
        let device = devices.get(&key.1);
        let tags = device.map_or(&[][..], |f| f.device.tags.as_slice());
        let silenced = silences
            .values()
            .any(|s| s.silences(now_ms, &rule.id, &key.1, tags));
        let holding = !track.items.is_empty();
        if holding != track.holding {
            track.holding = holding;
            track.changes.push_back(now_ms);
        }
        let window_ms = u64::from(rule.flap_window_s) * 1000;
        while track
            .changes
            .front()
            .is_some_and(|t| t + window_ms <= now_ms)
        {
            track.changes.pop_front();
        }
        let flapping = track.changes.len() > rule.flap_threshold as usize;
        let mut changed = false;
        let (mut alert, grew) = match track.alert.take() {
            Some(mut alert) => {
                let grew = describe(&mut alert, rule, device, &track.items, &mut changed);
                (alert, grew)
            }
            None if holding => {
                let alert = new_alert(rule, &key.1, device, &track.items, now_ms);
                out.push(event("pending", now_ms, &alert));
                changed = true;
                (alert, false)
            }
            None => return,
        };
        if alert.flapping && !flapping && track.changes.is_empty() {
            // Stable for a whole window: no longer flapping.
            alert.flapping = false;
            changed = true;
        }
        if flapping && !alert.flapping {
            alert.flapping = true;
            changed = true;
            out.push(event("flapping", now_ms, &alert));
            if alert.state == AlertState::Pending {
                fire(&mut alert, now_ms, out);
            }
            // Told once that it flaps, then not again until it settles.
            notify_firing(&mut alert, rule, silenced, now_ms, false, out);
        }
        if !holding && !alert.flapping {
            alert.state = AlertState::Resolved;
            if alert.fired_ms.is_none() {
                // Never fired: it goes without a word.
                out.push(Effect::Forget(alert.id.clone()));
                out.push(event("resolved", now_ms, &alert));
                return;
            }
            alert.since_ms = now_ms;
            alert.resolved_ms = Some(now_ms);
            out.push(event("resolved", now_ms, &alert));
            // A receiver told of the firing is told of its end, silence or not.
            if alert.notified_ms.is_some() {
                queue(&mut alert, rule, "resolved", false, out);
            }
            if alert.outbox.is_empty() {
                out.push(Effect::Forget(alert.id.clone()));
            } else {
                out.push(Effect::Save(alert.clone()));
                resolved.insert(alert.id.clone(), alert);
            }
            return;
        }
        let due = alert.started_ms + u64::from(rule.for_s) * 1000 <= now_ms;
        if alert.state == AlertState::Pending && holding && due {
            fire(&mut alert, now_ms, out);
            changed = true;
            notify_firing(&mut alert, rule, silenced, now_ms, false, out);
        } else if alert.state == AlertState::Firing && !alert.flapping && !silenced {
            let repeat_due = rule.repeat_s > 0
                && alert.acked_by.is_none()
                && alert
                    .notified_ms
                    .is_some_and(|t| t + u64::from(rule.repeat_s) * 1000 <= now_ms);
            let told = alert.notified_ms.is_some();
            // Silenced when it fired: told now that the silence is over. Told already: told
            // again when the rule repeats, or when more interfaces join it.
            if !told || repeat_due || grew {
                notify_firing(&mut alert, rule, silenced, now_ms, told && repeat_due, out);
                changed = true;
            }
        }
        if alert.silenced != silenced {
            alert.silenced = silenced;
            changed = true;
            if silenced {
                out.push(event("silenced", now_ms, &alert));
            }
        }
        if changed {
            out.push(Effect::Save(alert.clone()));
        }
        track.alert = Some(alert);
    }
}

/// The items a condition holds for after a sample's reading, or `None` when the reading does
/// not concern it. `held`: the items it held for before (for hysteresis).
fn judge(
    condition: &Condition,
    reading: &Reading,
    facts: &DeviceFacts,
    held: Option<&BTreeMap<String, Option<f64>>>,
) -> Option<BTreeMap<String, Option<f64>>> {
    let mut items = held.cloned().unwrap_or_default();
    let was = |key: &str| held.is_some_and(|h| h.contains_key(key));
    let mut set = |key: &str, holds: bool, value: Option<f64>| {
        if holds {
            items.insert(key.to_owned(), value);
        } else {
            items.remove(key);
        }
    };
    match condition {
        Condition::DeviceDown => return None,
        Condition::PollFailing { .. } => set("", false, None),
        Condition::InterfaceDown => {
            for (key, state) in &reading.oper {
                match state {
                    OperState::Down => set(key, facts.seen_up.contains(key), None),
                    OperState::Up => set(key, false, None),
                    OperState::Other => {}
                }
            }
        }
        Condition::Utilisation {
            direction,
            above_pct,
            clear_below_pct,
        } => {
            for (key, in_pct, out_pct) in &reading.utilisation {
                let pct = match direction {
                    Direction::In => *in_pct,
                    Direction::Out => *out_pct,
                    Direction::Either => in_pct.max(*out_pct),
                };
                let holds = if was(key) {
                    pct >= *clear_below_pct
                } else {
                    pct > *above_pct
                };
                set(key, holds, Some(pct));
            }
        }
        Condition::Errors {
            counter,
            above_per_s,
        } => {
            for (key, rates) in &reading.errors {
                let value = match counter {
                    ErrorCounter::InErrors => rates[0],
                    ErrorCounter::OutErrors => rates[1],
                    ErrorCounter::InDiscards => rates[2],
                    ErrorCounter::OutDiscards => rates[3],
                    ErrorCounter::Any => rates.iter().flatten().copied().reduce(f64::max),
                };
                if let Some(value) = value {
                    set(key, value > *above_per_s, Some(value));
                }
            }
        }
        Condition::Oid { oid, above, below } => {
            let value = *reading.oids.get(oid)?;
            let holds = above.is_some_and(|a| value > a) || below.is_some_and(|b| value < b);
            set("", holds, Some(value));
        }
    }
    Some(items)
}

fn new_alert(
    rule: &AlertRule,
    device: &DeviceId,
    facts: Option<&DeviceFacts>,
    items: &BTreeMap<String, Option<f64>>,
    now_ms: u64,
) -> Alert {
    let mut alert = Alert {
        schema: SCHEMA_VERSION,
        id: new_id(),
        rule: rule.id.clone(),
        rule_name: rule.name.clone(),
        kind: rule.condition.kind().into(),
        severity: rule.severity,
        device: device.clone(),
        device_name: String::new(),
        device_address: String::new(),
        interfaces: Vec::new(),
        state: AlertState::Pending,
        flapping: false,
        value: None,
        summary: String::new(),
        started_ms: now_ms,
        since_ms: now_ms,
        fired_ms: None,
        resolved_ms: None,
        acked_by: None,
        ack_comment: None,
        silenced: false,
        notifications: 0,
        notified_ms: None,
        outbox: Vec::new(),
    };
    describe(&mut alert, rule, facts, items, &mut false);
    alert
}

/// Brings the alert's device, interfaces, value and summary up to date; whether interfaces
/// were added to it.
fn describe(
    alert: &mut Alert,
    rule: &AlertRule,
    facts: Option<&DeviceFacts>,
    items: &BTreeMap<String, Option<f64>>,
    changed: &mut bool,
) -> bool {
    let (name, address) = facts.map_or_else(
        || (alert.device.to_string(), String::new()),
        |f| {
            (
                f.device.name.as_str().to_owned(),
                f.device.address.to_string(),
            )
        },
    );
    let interfaces: Vec<String> = items.keys().filter(|k| !k.is_empty()).cloned().collect();
    // The worst value: the highest, or for a `below` threshold the lowest.
    let below = matches!(rule.condition, Condition::Oid { above: None, .. });
    let values = items.values().flatten().copied();
    let value = if below {
        values.reduce(f64::min)
    } else {
        values.reduce(f64::max)
    };
    let grew = interfaces.iter().any(|i| !alert.interfaces.contains(i));
    let summary = summary(rule, &name, &interfaces, value);
    if alert.device_name != name
        || alert.device_address != address
        || (!interfaces.is_empty() && alert.interfaces != interfaces)
        || (value.is_some() && alert.value != value)
        || alert.rule_name != rule.name
        || alert.severity != rule.severity
    {
        *changed = true;
    }
    alert.device_name = name;
    alert.device_address = address;
    alert.rule_name = rule.name.clone();
    alert.severity = rule.severity;
    // While it resolves, the alert keeps saying what it was about.
    if !interfaces.is_empty() {
        alert.interfaces = interfaces;
    }
    if value.is_some() {
        alert.value = value;
    }
    if !items.is_empty() || alert.summary.is_empty() {
        alert.summary = summary;
    }
    grew
}

/// One line for people: "core-1 is down", "eth0, eth1 down on core-1"...
fn summary(rule: &AlertRule, device: &str, interfaces: &[String], value: Option<f64>) -> String {
    let ports = interfaces.join(", ");
    let shown = value.map(|v| format!("{v:.1}")).unwrap_or_default();
    match &rule.condition {
        Condition::DeviceDown => format!("{device} is down"),
        Condition::InterfaceDown => format!("{ports} down on {device}"),
        Condition::Utilisation { above_pct, .. } => {
            format!("{ports} on {device} at {shown}% of its speed (above {above_pct}%)")
        }
        Condition::Errors {
            counter,
            above_per_s,
        } => {
            let what = serde_json::to_value(counter)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("{ports} on {device}: {shown} {what}/s (above {above_per_s}/s)")
        }
        Condition::Oid { oid, above, below } => {
            let limit = match (above, below) {
                (Some(a), Some(b)) => format!("outside {b} .. {a}"),
                (Some(a), None) => format!("above {a}"),
                (None, Some(b)) => format!("below {b}"),
                (None, None) => String::new(),
            };
            format!("{oid} on {device} is {shown} ({limit})")
        }
        Condition::PollFailing { reason } => {
            let reason = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("polls of {device} failing ({reason})")
        }
    }
}

fn fire(alert: &mut Alert, now_ms: u64, out: &mut Vec<Effect>) {
    alert.state = AlertState::Firing;
    alert.since_ms = now_ms;
    alert.fired_ms = Some(now_ms);
    out.push(event("firing", now_ms, alert));
}

/// Notifies the firing alert on every channel of its rule, unless a silence covers it.
fn notify_firing(
    alert: &mut Alert,
    rule: &AlertRule,
    silenced: bool,
    now_ms: u64,
    repeat: bool,
    out: &mut Vec<Effect>,
) {
    if silenced {
        return;
    }
    alert.notified_ms = Some(now_ms);
    queue(alert, rule, "firing", repeat, out);
}

/// Puts one notification per channel of `rule` in the alert's outbox, and asks for them.
fn queue(alert: &mut Alert, rule: &AlertRule, status: &str, repeat: bool, out: &mut Vec<Effect>) {
    alert.notifications += 1;
    let mut added = Vec::new();
    for channel in &rule.channels {
        let delivery = Undelivered {
            channel: channel.clone(),
            status: status.into(),
            repeat,
        };
        // One still on its way says the same.
        if !alert.outbox.contains(&delivery) {
            alert.outbox.push(delivery.clone());
            added.push(delivery);
        }
    }
    // The alert is saved with its outbox before anything is delivered.
    out.push(Effect::Save(alert.clone()));
    for delivery in added {
        out.push(Effect::Deliver(alert.clone(), delivery));
    }
}

fn event(name: &str, now_ms: u64, alert: &Alert) -> Effect {
    Effect::Publish(transition(name, now_ms, alert))
}

fn transition(name: &str, now_ms: u64, alert: &Alert) -> AlertEvent {
    AlertEvent {
        schema: SCHEMA_VERSION,
        event: name.into(),
        time_ms: now_ms,
        alert: alert.clone(),
        channel: None,
        error: None,
    }
}

#[cfg(test)]
mod tests;
