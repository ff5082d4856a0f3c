//! Alerting: rules, channels, silences and alerts, as the gateway validates them, the alerter
//! evaluates them and NATS carries them.
//!
//! - An [`AlertRule`] says what condition to watch ([`Condition`]), on which devices
//!   ([`Scope`]), how long it must hold (`for_s`), how bad it is ([`Severity`]) and whom to
//!   tell ([`Channel`] ids). Kept in the `netpulse_alert_rules` bucket, one key per rule id.
//! - A [`Channel`] is where notifications go: a webhook, e-mail, or a Prometheus
//!   Alertmanager. Kept in `netpulse_alert_channels`; its secrets never leave through the API
//!   ([`Channel::view`]).
//! - A [`Silence`] (a maintenance window, one-off or weekly) keeps matching alerts from being
//!   notified. Kept in `netpulse_silences`.
//! - An [`Alert`] is one rule's condition on one device, with every interface it holds for:
//!   pending, firing, then resolved. The alerter keeps the live ones in `netpulse_alerts` and
//!   publishes each transition as an [`AlertEvent`] on `netpulse.alert.<device>`.
//! - An [`Ack`] (who, why, when) is written by the gateway to `netpulse_alert_acks` under the
//!   alert's id; the alerter stops repeating that alert's notifications.
//!
//! Every input is parsed here once, at the API edge; a refusal is a [`ValidationError`] naming
//! the field at fault.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::device::{optional_str, required_str, DeviceId};

use crate::snmp::Oid;

use crate::messages::SCHEMA_VERSION;
use crate::validation::ValidationError;

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// Longest name of a rule or channel, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest comment of a silence or an acknowledgement, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;
/// Most entries in one list of a scope, and most channels of a rule.
pub const MAX_LIST: usize = 256;
/// Longest `for_s`, `repeat_s` and flapping window: a week.
pub const MAX_SECONDS: u64 = 7 * 86_400;

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Someone must act now.
    Critical,
    /// Someone should look.
    Warning,
    /// For the record.
    Info,
}

impl Severity {
    /// Its name as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

/// The devices a rule watches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scope {
    /// Every device: the JSON string `"all"`.
    All(AllDevices),
    /// These devices: `{"devices": [ids]}`.
    Devices {
        /// The device ids.
        devices: Vec<DeviceId>,
    },
    /// Devices with any of these tags: `{"tags": [..]}`.
    Tags {
        /// The tags.
        tags: Vec<String>,
    },
}

/// The word `"all"`, the only value of [`Scope::All`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllDevices {
    /// Every device.
    All,
}

impl Scope {
    /// Whether a device with this id and these tags is in scope.
    pub fn covers(&self, device: &DeviceId, tags: &[String]) -> bool {
        match self {
            Self::All(_) => true,
            Self::Devices { devices } => devices.contains(device),
            Self::Tags { tags: wanted } => wanted.iter().any(|t| tags.contains(t)),
        }
    }
}

/// Which direction of an interface's traffic a utilisation rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Received.
    In,
    /// Sent.
    Out,
    /// Whichever is higher.
    Either,
}

/// Which error counter an `errors` rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCounter {
    /// ifInErrors.
    InErrors,
    /// ifOutErrors.
    OutErrors,
    /// ifInDiscards.
    InDiscards,
    /// ifOutDiscards.
    OutDiscards,
    /// The highest of the four.
    Any,
}

/// Which failed polls a `poll_failing` rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureReason {
    /// Refused credentials: an unknown SNMPv3 user, a wrong password, a security error.
    Auth,
    /// No answer in time (for v1/v2c this is also a wrong community: agents stay silent).
    Timeout,
    /// Any failure.
    Any,
}

impl FailureReason {
    /// Whether a poll failure's reason (as the poller words it) is of this kind.
    pub fn matches(self, reason: &str) -> bool {
        let auth = reason == "unknown user"
            || reason == "authentication failed"
            || reason.starts_with("SNMPv3 security error");
        match self {
            Self::Any => true,
            Self::Auth => auth,
            Self::Timeout => reason == "timeout",
        }
    }
}

/// What a rule watches, and its own fields (`kind` in JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// The device's reachability is down.
    DeviceDown,
    /// An interface's oper status went down after it was seen up.
    InterfaceDown,
    /// An interface's rate above `above_pct` of its speed, until below `clear_below_pct`.
    Utilisation {
        /// Which direction.
        direction: Direction,
        /// Fires above this percentage of the interface's speed.
        above_pct: f64,
        /// Clears only below this one (at most `above_pct`).
        clear_below_pct: f64,
    },
    /// Errors or discards per second above a threshold.
    Errors {
        /// Which counter.
        counter: ErrorCounter,
        /// Fires above this many per second, clears at or below it.
        above_per_s: f64,
    },
    /// A device's extra OID value (a gauge, or the rate per second of a counter) beyond a
    /// threshold.
    Oid {
        /// The OID, one of the device's extra OIDs.
        oid: Oid,
        /// Fires above this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        above: Option<f64>,
        /// Fires below this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        below: Option<f64>,
    },
    /// Polls failing with a given reason.
    PollFailing {
        /// Which failures count.
        reason: FailureReason,
    },
}

impl Condition {
    /// Its `kind` as in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::DeviceDown => "device_down",
            Self::InterfaceDown => "interface_down",
            Self::Utilisation { .. } => "utilisation",
            Self::Errors { .. } => "errors",
            Self::Oid { .. } => "oid",
            Self::PollFailing { .. } => "poll_failing",
        }
    }

    /// Whether it holds per interface (one alert lists every interface it holds for).
    pub fn per_interface(&self) -> bool {
        matches!(
            self,
            Self::InterfaceDown | Self::Utilisation { .. } | Self::Errors { .. }
        )
    }
}

/// The kinds of rule, as `kind` names them.
pub const RULE_KINDS: [&str; 6] = [
    "device_down",
    "interface_down",
    "utilisation",
    "errors",
    "oid",
    "poll_failing",
];

/// Changes of state within the flapping window beyond which an alert is flapping, unless a
/// rule sets `flap_threshold`.
pub const DEFAULT_FLAP_THRESHOLD: u32 = 5;
/// The flapping window, unless a rule sets `flap_window_s`.
pub const DEFAULT_FLAP_WINDOW_S: u32 = 600;

/// An alert rule, as kept in the `netpulse_alert_rules` bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// Its id, chosen by the gateway: safe as a key and a subject token.
    pub id: String,
    /// What people call it.
    pub name: String,
    /// What it watches (`kind` and the kind's fields, flattened).
    #[serde(flatten)]
    pub condition: Condition,
    /// How bad.
    pub severity: Severity,
    /// Which devices.
    pub scope: Scope,
    /// The channels notified, by id.
    pub channels: Vec<String>,
    /// Seconds the condition must hold before the alert fires (0: at once).
    pub for_s: u32,
    /// Seconds between repeated notifications of a firing alert that nobody acknowledged
    /// (0: never repeat).
    #[serde(default)]
    pub repeat_s: u32,
    /// Changes of the condition within `flap_window_s` beyond which the alert is flapping.
    #[serde(default = "default_flap_threshold")]
    pub flap_threshold: u32,
    /// The flapping window, seconds.
    #[serde(default = "default_flap_window_s")]
    pub flap_window_s: u32,
}

fn default_flap_threshold() -> u32 {
    DEFAULT_FLAP_THRESHOLD
}

fn default_flap_window_s() -> u32 {
    DEFAULT_FLAP_WINDOW_S
}

/// Fields every rule may have, besides its kind's own.
const RULE_FIELDS: [&str; 9] = [
    "name",
    "kind",
    "severity",
    "scope",
    "channels",
    "for_s",
    "repeat_s",
    "flap_threshold",
    "flap_window_s",
];

impl AlertRule {
    /// Parses and validates a rule sent as a JSON body, giving it `id`. Channel ids are
    /// checked for form here; whether they exist is the caller's to check.
    pub fn from_json_body(body: &[u8], id: String) -> Result<Self, ValidationError> {
        let map = object_body(body)?;
        let kind = required_str(&map, "kind")?;
        let own: &[&str] = match kind {
            "device_down" | "interface_down" => &[],
            "utilisation" => &["direction", "above_pct", "clear_below_pct"],
            "errors" => &["counter", "above_per_s"],
            "oid" => &["oid", "above", "below"],
            "poll_failing" => &["reason"],
            _ => {
                return Err(ValidationError::new(
                    "kind",
                    format!("must be one of {}", RULE_KINDS.join(", ")),
                ))
            }
        };
        known_fields(&map, &[&RULE_FIELDS[..], own, &["id"]].concat())?;
        let condition = parse_condition(&map, kind)?;
        let name = name(&map)?;
        let severity = match required_str(&map, "severity")? {
            "critical" => Severity::Critical,
            "warning" => Severity::Warning,
            "info" => Severity::Info,
            _ => {
                return Err(ValidationError::new(
                    "severity",
                    "must be critical, warning or info",
                ))
            }
        };
        let scope = parse_scope(map.get("scope").ok_or_else(|| {
            ValidationError::new(
                "scope",
                "is required: \"all\", {\"devices\": [..]} or {\"tags\": [..]}",
            )
        })?)?;
        let channels = id_list(&map, "channels")?;
        Ok(Self {
            schema: SCHEMA_VERSION,
            id,
            name,
            condition,
            severity,
            scope,
            channels,
            for_s: seconds(&map, "for_s", 0)?,
            repeat_s: seconds(&map, "repeat_s", 0)?,
            flap_threshold: whole(&map, "flap_threshold", 1, 1000, DEFAULT_FLAP_THRESHOLD)?,
            flap_window_s: whole(
                &map,
                "flap_window_s",
                10,
                MAX_SECONDS as u32,
                DEFAULT_FLAP_WINDOW_S,
            )?,
        })
    }
}

fn parse_condition(map: &Map<String, Value>, kind: &str) -> Result<Condition, ValidationError> {
    Ok(match kind {
        "device_down" => Condition::DeviceDown,
        "interface_down" => Condition::InterfaceDown,
        "utilisation" => {
            let direction = match optional_str(map, "direction")?.unwrap_or("either") {
                "in" => Direction::In,
                "out" => Direction::Out,
                "either" => Direction::Either,
                _ => {
                    return Err(ValidationError::new(
                        "direction",
                        "must be in, out or either",
                    ))
                }
            };
            let above_pct = number(map, "above_pct")?
                .filter(|p| (0.0..=1000.0).contains(p) && *p > 0.0)
                .ok_or_else(|| {
                    ValidationError::new("above_pct", "is required: a percentage above 0")
                })?;
            let clear_below_pct = match number(map, "clear_below_pct")? {
                None => (above_pct - 10.0).max(above_pct / 2.0),
                Some(p) if (0.0..=above_pct).contains(&p) => p,
                Some(_) => {
                    return Err(ValidationError::new(
                        "clear_below_pct",
                        "must be a percentage from 0 to above_pct",
                    ))
                }
            };
            Condition::Utilisation {
                direction,
                above_pct,
                clear_below_pct,
            }
        }
        "errors" => {
            let counter = match optional_str(map, "counter")?.unwrap_or("any") {
                "in_errors" => ErrorCounter::InErrors,
                "out_errors" => ErrorCounter::OutErrors,
                "in_discards" => ErrorCounter::InDiscards,
                "out_discards" => ErrorCounter::OutDiscards,
                "any" => ErrorCounter::Any,
                _ => {
                    return Err(ValidationError::new(
                        "counter",
                        "must be in_errors, out_errors, in_discards, out_discards or any",
                    ))
                }
            };
            let above_per_s = number(map, "above_per_s")?
                .filter(|n| *n >= 0.0)
                .ok_or_else(|| {
                    ValidationError::new("above_per_s", "is required: a number of 0 or more")
                })?;
            Condition::Errors {
                counter,
                above_per_s,
            }
        }
        "oid" => {
            let oid = Oid::parse(required_str(map, "oid")?)
                .map_err(|m| ValidationError::new("oid", m))?;
            let above = number(map, "above")?;
            let below = number(map, "below")?;
            if above.is_none() && below.is_none() {
                return Err(ValidationError::new(
                    "above",
                    "an oid rule needs a threshold: above, below or both",
                ));
            }
            Condition::Oid { oid, above, below }
        }
        _ => Condition::PollFailing {
            reason: match optional_str(map, "reason")?.unwrap_or("any") {
                "auth" => FailureReason::Auth,
                "timeout" => FailureReason::Timeout,
                "any" => FailureReason::Any,
                _ => {
                    return Err(ValidationError::new(
                        "reason",
                        "must be auth, timeout or any",
                    ))
                }
            },
        },
    })
}

fn parse_scope(value: &Value) -> Result<Scope, ValidationError> {
    let field = "scope";
    let bad = || {
        ValidationError::new(
            field,
            "must be \"all\", {\"devices\": [ids]} or {\"tags\": [tags]}",
        )
    };
    match value {
        Value::String(s) if s == "all" => Ok(Scope::All(AllDevices::All)),
        Value::Object(map) if map.len() == 1 => {
            if map.contains_key("devices") {
                Ok(Scope::Devices {
                    devices: device_list(map, "devices", "scope.devices")?,
                })
            } else if map.contains_key("tags") {
                Ok(Scope::Tags {
                    tags: tag_list(map, "tags", "scope.tags")?,
                })
            } else {
                Err(bad())
            }
        }
        _ => Err(bad()),
    }
}

/// What kind of channel, and where it leads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelTarget {
    /// An HTTP(S) POST of the [`Notification`] as JSON.
    Webhook {
        /// Where to (may hold a token: secret).
        url: String,
    },
    /// E-mail through the alerter's SMTP server.
    Email {
        /// Recipients.
        to: Vec<String>,
    },
    /// A Prometheus Alertmanager (its v2 API).
    Alertmanager {
        /// Its base URL, e.g. `http://host:9093` (may hold credentials: secret).
        url: String,
    },
}

/// A notification channel, as kept in the `netpulse_alert_channels` bucket (secrets
/// included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// Its id, chosen by the gateway.
    pub id: String,
    /// What people call it.
    pub name: String,
    /// Kind and destination.
    #[serde(flatten)]
    pub target: ChannelTarget,
}

/// A channel as the API shows it: URLs without their secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelView {
    /// See [`Channel::id`].
    pub id: String,
    /// See [`Channel::name`].
    pub name: String,
    /// `webhook`, `email` or `alertmanager`.
    pub kind: String,
    /// Scheme, host and port only: a path or query may hold a token, and user info a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// E-mail recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
}

impl Channel {
    /// Parses and validates a channel sent as a JSON body, giving it `id`.
    pub fn from_json_body(body: &[u8], id: String) -> Result<Self, ValidationError> {
        let map = object_body(body)?;
        let kind = required_str(&map, "kind")?;
        let target = match kind {
            "webhook" | "alertmanager" => {
                known_fields(&map, &["name", "kind", "url", "id"])?;
                let url = http_url(required_str(&map, "url")?)
                    .map_err(|m| ValidationError::new("url", m))?;
                if kind == "webhook" {
                    ChannelTarget::Webhook { url }
                } else {
                    ChannelTarget::Alertmanager { url }
                }
            }
            "email" => {
                known_fields(&map, &["name", "kind", "to", "id"])?;
                let items = map
                    .get("to")
                    .and_then(Value::as_array)
                    .filter(|a| !a.is_empty() && a.len() <= 50)
                    .ok_or_else(|| {
                        ValidationError::new("to", "must be a list of 1 to 50 e-mail addresses")
                    })?;
                let mut to = Vec::new();
                for item in items {
                    let address = item.as_str().map(str::trim).filter(|a| email_like(a));
                    let Some(address) = address else {
                        return Err(ValidationError::new(
                            "to",
                            format!("{item} is not an e-mail address"),
                        ));
                    };
                    to.push(address.to_owned());
                }
                ChannelTarget::Email { to }
            }
            _ => {
                return Err(ValidationError::new(
                    "kind",
                    "must be webhook, email or alertmanager",
                ))
            }
        };
        Ok(Self {
            schema: SCHEMA_VERSION,
            id,
            name: name(&map)?,
            target,
        })
    }

    /// What the API shows: no secret.
    pub fn view(&self) -> ChannelView {
        let (kind, url, to) = match &self.target {
            ChannelTarget::Webhook { url } => ("webhook", Some(shown_url(url)), None),
            ChannelTarget::Alertmanager { url } => ("alertmanager", Some(shown_url(url)), None),
            ChannelTarget::Email { to } => ("email", None, Some(to.clone())),
        };
        ChannelView {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: kind.into(),
            url,
            to,
        }
    }
}

/// A URL's scheme, host and port, without user info, path or query.
pub fn shown_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let hidden = rest.len() > authority.len() || authority.contains('@');
    format!("{scheme}://{host}{}", if hidden { "/…" } else { "" })
}

fn http_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let rest = raw
        .strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"))
        .ok_or("must be an http:// or https:// URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty()
        || raw.len() > 2048
        || raw.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("must be an http:// or https:// URL with a host, without spaces".into());
    }
    Ok(raw.to_owned())
}

fn email_like(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && address.len() <= 254
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
}

/// A weekly maintenance window: on these days, from this local time, for this long, in a
/// named time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weekly {
    /// Days of the week, `mon` .. `sun`.
    pub days: Vec<String>,
    /// Local start time, `HH:MM`.
    pub time: String,
    /// How long each window lasts, seconds.
    pub duration_s: u32,
    /// An IANA time zone name (`Europe/Paris`, `UTC`).
    pub time_zone: String,
}

/// Days as [`Weekly::days`] names them, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Weekly {
    /// Whether `now_ms` falls in one of its windows. A window that started on a listed day
    /// runs on past midnight; its start is taken in the zone's local time of that day (on a
    /// day that lacks that local time, just after the gap).
    pub fn covers(&self, now_ms: u64) -> bool {
        let Ok(zone) = jiff::tz::TimeZone::get(&self.time_zone) else {
            return false;
        };
        let Some((hour, minute)) = parse_hh_mm(&self.time) else {
            return false;
        };
        let Ok(now) = jiff::Timestamp::from_millisecond(now_ms as i64) else {
            return false;
        };
        let today = now.to_zoned(zone.clone()).date();
        // A window may have started up to `duration_s` ago: look at that many days back.
        let days_back = i64::from(self.duration_s / 86_400) + 1;
        (0..=days_back).any(|back| {
            let Ok(day) = today.checked_sub(jiff::Span::new().days(back)) else {
                return false;
            };
            let name = WEEKDAYS[day.weekday().to_monday_zero_offset() as usize];
            if !self.days.iter().any(|d| d == name) {
                return false;
            }
            let Ok(start) = day.at(hour, minute, 0, 0).to_zoned(zone.clone()) else {
                return false;
            };
            let start_ms = start.timestamp().as_millisecond();
            let end_ms = start_ms + i64::from(self.duration_s) * 1000;
            (start_ms..end_ms).contains(&(now_ms as i64))
        })
    }
}

fn parse_hh_mm(text: &str) -> Option<(i8, i8)> {
    let (h, m) = text.split_once(':')?;
    let (h, m) = (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m) && text.len() == 5).then_some((h, m))
}

/// Which alerts a silence covers: those matching every list given (an empty list matches
/// anything), at least one list given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceScope {
    /// Device ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceId>,
    /// Device tags (any of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Rule ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

/// A silence or maintenance window, as kept in the `netpulse_silences` bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// Its id, chosen by the gateway.
    pub id: String,
    /// What it covers.
    pub scope: SilenceScope,
    /// From when, Unix milliseconds.
    pub from_ms: u64,
    /// Until when, Unix milliseconds (for a weekly window: until when it recurs).
    pub to_ms: u64,
    /// Why, for people.
    pub comment: String,
    /// Who made it.
    pub created_by: String,
    /// A weekly window within `from_ms`..`to_ms`, rather than all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<Weekly>,
}

impl Silence {
    /// Parses and validates a silence sent as a JSON body, made by `created_by` at `now_ms`.
    /// `from` defaults to now; a weekly window without `to` recurs for ten years.
    pub fn from_json_body(
        body: &[u8],
        id: String,
        created_by: &str,
        now_ms: u64,
    ) -> Result<Self, ValidationError> {
        let map = object_body(body)?;
        known_fields(&map, &["scope", "from", "to", "comment", "weekly", "id"])?;
        let scope = match map.get("scope") {
            Some(Value::Object(scope)) => {
                known_fields(scope, &["devices", "tags", "rules"])
                    .map_err(|e| ValidationError::new(format!("scope.{}", e.field), e.message))?;
                SilenceScope {
                    devices: optional_list(scope, "devices", |m, f| {
                        device_list(m, f, "scope.devices")
                    })?,
                    tags: optional_list(scope, "tags", |m, f| tag_list(m, f, "scope.tags"))?,
                    rules: optional_list(scope, "rules", |m, f| {
                        id_list(m, f).map_err(|e| ValidationError::new("scope.rules", e.message))
                    })?,
                }
            }
            _ => {
                return Err(ValidationError::new(
                    "scope",
                    "is required: an object with devices, tags and/or rules",
                ))
            }
        };
        if scope.devices.is_empty() && scope.tags.is_empty() && scope.rules.is_empty() {
            return Err(ValidationError::new(
                "scope",
                "must name at least one device, tag or rule",
            ));
        }
        let weekly = match map.get("weekly") {
            None | Some(Value::Null) => None,
            Some(Value::Object(w)) => Some(parse_weekly(w)?),
            Some(_) => return Err(ValidationError::new("weekly", "must be an object")),
        };
        let from_ms = time_field(&map, "from")?.unwrap_or(now_ms);
        let to_ms = match (time_field(&map, "to")?, &weekly) {
            (Some(to), _) => to,
            (None, Some(_)) => from_ms + 10 * 365 * 86_400_000,
            (None, None) => return Err(ValidationError::new("to", "is required")),
        };
        if to_ms <= from_ms {
            return Err(ValidationError::new("to", "must be after from"));
        }
        let comment = match optional_str(&map, "comment")? {
            Some(c) if c.chars().count() <= MAX_COMMENT_CHARS => c.trim().to_owned(),
            Some(_) => {
                return Err(ValidationError::new(
                    "comment",
                    format!("at most {MAX_COMMENT_CHARS} characters"),
                ))
            }
            None => String::new(),
        };
        Ok(Self {
            schema: SCHEMA_VERSION,
            id,
            scope,
            from_ms,
            to_ms,
            comment,
            created_by: created_by.to_owned(),
            weekly,
        })
    }

    /// Whether it silences, at `now_ms`, an alert of `rule` on a device with this id and tags.
    pub fn silences(&self, now_ms: u64, rule: &str, device: &DeviceId, tags: &[String]) -> bool {
        let s = &self.scope;
        (s.devices.is_empty() || s.devices.contains(device))
            && (s.tags.is_empty() || s.tags.iter().any(|t| tags.contains(t)))
            && (s.rules.is_empty() || s.rules.iter().any(|r| r == rule))
            && self.active_at(now_ms)
    }

    /// Whether it is in force at `now_ms`.
    pub fn active_at(&self, now_ms: u64) -> bool {
        (self.from_ms..self.to_ms).contains(&now_ms)
            && self.weekly.as_ref().is_none_or(|w| w.covers(now_ms))
    }

    /// Whether it can never be in force again after `now_ms`.
    pub fn expired(&self, now_ms: u64) -> bool {
        self.to_ms <= now_ms
    }
}

fn parse_weekly(map: &Map<String, Value>) -> Result<Weekly, ValidationError> {
    known_fields(map, &["days", "time", "duration_s", "time_zone"])
        .map_err(|e| ValidationError::new(format!("weekly.{}", e.field), e.message))?;
    let days = map
        .get("days")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty() && d.len() <= 7)
        .ok_or_else(|| ValidationError::new("weekly.days", "must list days: mon .. sun"))?;
    let mut chosen = Vec::new();
    for day in days {
        let name = day
            .as_str()
            .map(|d| d.trim().to_ascii_lowercase())
            .filter(|d| WEEKDAYS.contains(&d.as_str()))
            .ok_or_else(|| {
                ValidationError::new("weekly.days", format!("{day} is not one of mon .. sun"))
            })?;
        if !chosen.contains(&name) {
            chosen.push(name);
        }
    }
    let time = optional_str(map, "time")
        .map_err(|e| ValidationError::new("weekly.time", e.message))?
        .filter(|t| parse_hh_mm(t).is_some())
        .ok_or_else(|| ValidationError::new("weekly.time", "must be a local time HH:MM"))?;
    let duration_s = map
        .get("duration_s")
        .and_then(Value::as_u64)
        .filter(|d| (60..=MAX_SECONDS).contains(d))
        .ok_or_else(|| ValidationError::new("weekly.duration_s", "must be 60 to 604800 seconds"))?;
    let time_zone = optional_str(map, "time_zone")
        .map_err(|e| ValidationError::new("weekly.time_zone", e.message))?
        .unwrap_or("UTC");
    if jiff::tz::TimeZone::get(time_zone).is_err() {
        return Err(ValidationError::new(
            "weekly.time_zone",
            format!("{time_zone:?} is not a known time zone (e.g. Europe/Paris, UTC)"),
        ));
    }
    Ok(Weekly {
        days: chosen,
        time: time.to_owned(),
        duration_s: duration_s as u32,
        time_zone: time_zone.to_owned(),
    })
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds, not yet for the rule's `for_s`.
    Pending,
    /// It held long enough.
    Firing,
    /// It no longer holds.
    Resolved,
}

/// Who acknowledged an alert, why and when; written by the gateway to the
/// `netpulse_alert_acks` bucket under the alert's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The alert.
    pub alert: String,
    /// The user.
    pub by: String,
    /// Their comment.
    pub comment: String,
    /// When, Unix milliseconds.
    pub time_ms: u64,
}

/// One rule's condition on one device: kept by the alerter in the `netpulse_alerts` bucket
/// (key = id) while pending or firing, and published on every transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// Unique id of this alert (one per time the condition starts).
    pub id: String,
    /// The rule's id.
    pub rule: String,
    /// The rule's name.
    pub rule_name: String,
    /// The rule's kind.
    pub kind: String,
    /// The rule's severity.
    pub severity: Severity,
    /// The device.
    pub device: DeviceId,
    /// Its name (untrusted text, like everything a device or user chose).
    pub device_name: String,
    /// Its SNMP address.
    pub device_address: String,
    /// The interfaces the condition holds for (per-interface kinds), by key.
    #[serde(default)]
    pub interfaces: Vec<String>,
    /// Where it is.
    pub state: AlertState,
    /// Its condition changed state more than the rule allows in its window.
    #[serde(default)]
    pub flapping: bool,
    /// The value that made it (percent, per second, the OID's value...), the worst one of
    /// its interfaces.
    #[serde(default)]
    pub value: Option<f64>,
    /// One line for people.
    pub summary: String,
    /// When the condition started holding, Unix milliseconds.
    pub started_ms: u64,
    /// When it entered its state, Unix milliseconds.
    pub since_ms: u64,
    /// When it fired, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_ms: Option<u64>,
    /// When it resolved, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_ms: Option<u64>,
    /// Who acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_by: Option<String>,
    /// Their comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_comment: Option<String>,
    /// A silence covers it now.
    #[serde(default)]
    pub silenced: bool,
    /// Notifications sent for it (firing, repeats, resolved).
    #[serde(default)]
    pub notifications: u32,
    /// When its firing was last notified, Unix milliseconds (none yet: not notified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_ms: Option<u64>,
    /// Notifications decided but not yet delivered: kept with the alert so that an alerter
    /// that restarts delivers them (and no others).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<Undelivered>,
}

/// A notification of an alert not yet delivered to one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undelivered {
    /// The channel's id.
    pub channel: String,
    /// `firing` or `resolved`.
    pub status: String,
    /// A repeat of an earlier firing notification.
    #[serde(default)]
    pub repeat: bool,
}

/// A transition of an alert, on `netpulse.alert.<device>` (and in the `NETPULSE_ALERTS`
/// stream for history).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// What happened: `pending`, `firing`, `resolved`, `flapping`, `acked`, `silenced`,
    /// `notified` (a notification went out: `channel` says where, `error` why it failed).
    pub event: String,
    /// When, Unix milliseconds.
    pub time_ms: u64,
    /// The alert after the transition.
    pub alert: Alert,
    /// For `notified`: the channel's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// For `notified`: why delivery failed, after its retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The body POSTed to a webhook channel: one per notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// `firing` or `resolved`.
    pub status: String,
    /// Whether this is a repeat of an earlier firing notification.
    #[serde(default)]
    pub repeat: bool,
    /// The alert.
    pub alert: Alert,
    /// The device.
    pub device: NotifiedDevice,
    /// The interfaces (as in the alert).
    pub interfaces: Vec<String>,
    /// The value (as in the alert).
    pub value: Option<f64>,
    /// The device's page on the dashboard.
    pub link: String,
    /// The same as one line of text (Slack-compatible webhooks show it).
    pub text: String,
}

/// The device a notification is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifiedDevice {
    /// Its id.
    pub id: DeviceId,
    /// Its name.
    pub name: String,
    /// Its SNMP address.
    pub address: String,
}

/// How a channel's deliveries went lately: kept by the alerter in the
/// `netpulse_alert_channel_health` bucket (key = channel id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelHealth {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The latest delivery failed after its retries.
    pub failing: bool,
    /// Why, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the latest delivery was tried, Unix milliseconds.
    pub last_attempt_ms: u64,
    /// Deliveries that succeeded.
    pub sent: u64,
    /// Deliveries that failed after their retries.
    pub failed: u64,
}

/// A new random id for a rule, channel, silence or alert: 16 hex digits.
pub fn new_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: the clock and a counter still give distinct ids in one process.
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = crate::time::now_ms() ^ (NEXT.fetch_add(1, Ordering::Relaxed) << 48);
        bytes = n.to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `text` can be an id made by [`new_id`] (or any short key-safe token).
pub fn valid_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn object_body(body: &[u8]) -> Result<Map<String, Value>, ValidationError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ValidationError::new("body", "body must be a JSON object")),
        Err(e) => Err(ValidationError::new(
            "body",
            format!("body is not valid JSON: {e}"),
        )),
    }
}

fn known_fields(map: &Map<String, Value>, known: &[&str]) -> Result<(), ValidationError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(ValidationError::new(unknown.clone(), "unknown field")),
        None => Ok(()),
    }
}

fn name(map: &Map<String, Value>) -> Result<String, ValidationError> {
    let name = required_str(map, "name")?.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} printable characters"),
        ));
    }
    Ok(name.to_owned())
}

fn number(map: &Map<String, Value>, field: &str) -> Result<Option<f64>, ValidationError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| ValidationError::new(field, "must be a number")),
    }
}

fn whole(
    map: &Map<String, Value>,
    field: &str,
    min: u32,
    max: u32,
    default: u32,
) -> Result<u32, ValidationError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| (u64::from(min)..=u64::from(max)).contains(n))
            .map(|n| n as u32)
            .ok_or_else(|| {
                ValidationError::new(field, format!("must be a whole number from {min} to {max}"))
            }),
    }
}

fn seconds(map: &Map<String, Value>, field: &str, default: u32) -> Result<u32, ValidationError> {
    whole(map, field, 0, MAX_SECONDS as u32, default)
}

fn time_field(map: &Map<String, Value>, field: &str) -> Result<Option<u64>, ValidationError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => crate::time::parse_time(&n.to_string())
            .map(Some)
            .map_err(|m| ValidationError::new(field, m)),
        Some(Value::String(s)) => crate::time::parse_time(s)
            .map(Some)
            .map_err(|m| ValidationError::new(field, m)),
        Some(_) => Err(ValidationError::new(
            field,
            "must be Unix seconds or an RFC 3339 time",
        )),
    }
}

fn list<'a>(map: &'a Map<String, Value>, field: &str) -> Result<&'a [Value], ValidationError> {
    map.get(field)
        .and_then(Value::as_array)
        .filter(|items| items.len() <= MAX_LIST)
        .map(Vec::as_slice)
        .ok_or_else(|| ValidationError::new(field, format!("must be a list of at most {MAX_LIST}")))
}

fn optional_list<T>(
    map: &Map<String, Value>,
    field: &str,
    parse: impl Fn(&Map<String, Value>, &str) -> Result<Vec<T>, ValidationError>,
) -> Result<Vec<T>, ValidationError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => parse(map, field),
    }
}

fn id_list(map: &Map<String, Value>, field: &str) -> Result<Vec<String>, ValidationError> {
    let mut out = BTreeSet::new();
    for item in list(map, field)? {
        match item.as_str().filter(|s| valid_id(s)) {
            Some(id) => out.insert(id.to_owned()),
            None => return Err(ValidationError::new(field, format!("{item} is not an id"))),
        };
    }
    Ok(out.into_iter().collect())
}

fn device_list(
    map: &Map<String, Value>,
    field: &str,
    shown: &str,
) -> Result<Vec<DeviceId>, ValidationError> {
    let items = list(map, field).map_err(|e| ValidationError::new(shown, e.message))?;
    if items.is_empty() {
        return Err(ValidationError::new(shown, "must name at least one device"));
    }
    let mut out = Vec::new();
    for item in items {
        let id = item
            .as_str()
            .and_then(|s| DeviceId::parse(s).ok())
            .ok_or_else(|| ValidationError::new(shown, format!("{item} is not a device id")))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn tag_list(
    map: &Map<String, Value>,
    field: &str,
    shown: &str,
) -> Result<Vec<String>, ValidationError> {
    let items = list(map, field).map_err(|e| ValidationError::new(shown, e.message))?;
    if items.is_empty() {
        return Err(ValidationError::new(shown, "must name at least one tag"));
    }
    let mut out = Vec::new();
    for item in items {
        let tag = item
            .as_str()
            .and_then(|s| crate::device::parse_tag(s).ok())
            .ok_or_else(|| ValidationError::new(shown, format!("{item} is not a tag")))?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(body: &str) -> Result<AlertRule, ValidationError> {
        AlertRule::from_json_body(body.as_bytes(), "r1".into())
    }

    #[test]
    fn rules_parse_and_round_trip() {
        let parsed = rule(
            r#"{"name": "hot", "kind": "utilisation", "severity": "warning",
                "scope": {"tags": ["Core"]}, "channels": ["c1"], "for_s": 30,
                "above_pct": 80, "clear_below_pct": 60}"#,
        )
        .expect("rule");
        assert_eq!(
            parsed.condition,
            Condition::Utilisation {
                direction: Direction::Either,
                above_pct: 80.0,
                clear_below_pct: 60.0
            }
        );
        assert_eq!(
            parsed.scope,
            Scope::Tags {
                tags: vec!["core".into()]
            }
        );
        let json = serde_json::to_value(&parsed).expect("json");
        assert_eq!(json["kind"], "utilisation");
        assert_eq!(json["above_pct"], 80.0);
        let back: AlertRule = serde_json::from_value(json).expect("back");
        assert_eq!(back, parsed);
        let all = rule(
            r#"{"name": "down", "kind": "device_down", "severity": "critical",
                "scope": "all", "channels": [], "for_s": 0}"#,
        )
        .expect("rule");
        let json = serde_json::to_value(&all).expect("json");
        assert_eq!(json["scope"], "all");
        assert_eq!(
            serde_json::from_value::<AlertRule>(json).expect("back"),
            all
        );
    }

    #[test]
    fn bad_rules_name_their_field() {
        let base = r#""name": "x", "severity": "critical", "scope": "all", "channels": []"#;
        for (body, field) in [
            (r#"{"name": "x"}"#.to_owned(), "kind"),
            (format!(r#"{{{base}, "kind": "nope"}}"#), "kind"),
            (format!(r#"{{{base}, "kind": "device_down", "above_pct": 3}}"#), "above_pct"),
            (format!(r#"{{{base}, "kind": "utilisation"}}"#), "above_pct"),
            (
                format!(r#"{{{base}, "kind": "utilisation", "above_pct": 50, "clear_below_pct": 70}}"#),
                "clear_below_pct",
            ),
            (format!(r#"{{{base}, "kind": "oid", "oid": "1.3.6.1"}}"#), "above"),
            (format!(r#"{{{base}, "kind": "oid", "oid": "x", "above": 1}}"#), "oid"),
            (format!(r#"{{{base}, "kind": "poll_failing", "reason": "x"}}"#), "reason"),
            (format!(r#"{{{base}, "kind": "device_down", "for_s": -1}}"#), "for_s"),
            (
                r#"{"name": "x", "kind": "device_down", "severity": "bad", "scope": "all", "channels": []}"#.into(),
                "severity",
            ),
            (
                r#"{"name": "x", "kind": "device_down", "severity": "info", "scope": {"devices": ["../x"]}, "channels": []}"#.into(),
                "scope.devices",
            ),
            (
                r#"{"name": "x", "kind": "device_down", "severity": "info", "scope": "some", "channels": []}"#.into(),
                "scope",
            ),
            (
                r#"{"name": "x", "kind": "device_down", "severity": "info", "scope": "all", "channels": ["a b"]}"#.into(),
                "channels",
            ),
            (
                r#"{"name": "", "kind": "device_down", "severity": "info", "scope": "all", "channels": []}"#.into(),
                "name",
            ),
        ] {
            let err = rule(&body).expect_err(&body);
            assert_eq!(err.field, field, "{body}: {err}");
        }
    }

    #[test]
    fn channels_hide_their_secrets() {
        let channel = Channel::from_json_body(
            br#"{"name": "hook", "kind": "webhook", "url": "https://u:p@hooks.example/T0/B1?token=s"}"#,
            "c1".into(),
        )
        .expect("channel");
        let shown = serde_json::to_string(&channel.view()).expect("json");
        assert!(!shown.contains("token") && !shown.contains("u:p") && !shown.contains("T0"));
        assert!(shown.contains("https://hooks.example/…"), "{shown}");
        for (body, field) in [
            (
                r#"{"name": "a", "kind": "webhook", "url": "ftp://x"}"#,
                "url",
            ),
            (r#"{"name": "a", "kind": "email", "to": ["nobody"]}"#, "to"),
            (r#"{"name": "a", "kind": "sms"}"#, "kind"),
            (
                r#"{"name": "a", "kind": "email", "to": ["a@b.c"], "url": "http://x"}"#,
                "url",
            ),
        ] {
            let err = Channel::from_json_body(body.as_bytes(), "c".into()).expect_err(body);
            assert_eq!(err.field, field, "{body}");
        }
    }

    #[test]
    fn silences_cover_their_scope_and_time() {
        let device = DeviceId::parse("core-1").expect("id");
        let silence = Silence::from_json_body(
            br#"{"scope": {"devices": ["core-1"]}, "from": 1000, "to": "1970-01-01T00:20:00Z", "comment": "swap"}"#,
            "s1".into(),
            "ann",
            0,
        )
        .expect("silence");
        assert_eq!((silence.from_ms, silence.to_ms), (1_000_000, 1_200_000));
        assert!(silence.silences(1_100_000, "r", &device, &[]));
        assert!(!silence.silences(1_300_000, "r", &device, &[]));
        let other = DeviceId::parse("edge-1").expect("id");
        assert!(!silence.silences(1_100_000, "r", &other, &[]));
        for (body, field) in [
            (r#"{"scope": {}, "to": 5}"#, "scope"),
            (r#"{"scope": {"rules": ["r"]}}"#, "to"),
            (r#"{"scope": {"rules": ["r"]}, "from": 9, "to": 5}"#, "to"),
            (r#"{"scope": {"rules": ["r"]}, "to": "tomorrow"}"#, "to"),
            (r#"{"scope": {"hosts": ["r"]}, "to": 5}"#, "scope.hosts"),
            (
                r#"{"scope": {"rules": ["r"]}, "weekly": {"days": ["mon"], "time": "25:00", "duration_s": 3600}}"#,
                "weekly.time",
            ),
            (
                r#"{"scope": {"rules": ["r"]}, "weekly": {"days": ["mon"], "time": "02:00", "duration_s": 3600, "time_zone": "Mars/Olympus"}}"#,
                "weekly.time_zone",
            ),
        ] {
            let err =
                Silence::from_json_body(body.as_bytes(), "s".into(), "ann", 0).expect_err(body);
            assert_eq!(err.field, field, "{body}");
        }
    }

    #[test]
    fn weekly_windows_follow_the_local_clock() {
        // Sunday 02:00-04:00 in Paris. 2026-03-29 is the Sunday clocks go forward there
        // (02:00 local does not exist; the window starts at 03:00 CEST = 01:00 UTC).
        let weekly = Weekly {
            days: vec!["sun".into()],
            time: "02:00".into(),
            duration_s: 7200,
            time_zone: "Europe/Paris".into(),
        };
        let at = |text: &str| crate::time::parse_time(text).expect("time");
        // Winter: 02:00 CET is 01:00 UTC.
        assert!(weekly.covers(at("2026-03-22T01:00:00Z")));
        assert!(weekly.covers(at("2026-03-22T02:59:59Z")));
        assert!(!weekly.covers(at("2026-03-22T03:00:00Z")));
        assert!(!weekly.covers(at("2026-03-22T00:59:59Z")));
        // Summer: 02:00 CEST is 00:00 UTC.
        assert!(weekly.covers(at("2026-04-05T00:30:00Z")));
        assert!(!weekly.covers(at("2026-04-05T02:00:00Z")));
        // Not on Monday.
        assert!(!weekly.covers(at("2026-04-06T00:30:00Z")));
        // A window crossing midnight keeps going on the next day.
        let late = Weekly {
            days: vec!["sat".into()],
            time: "23:00".into(),
            duration_s: 7200,
            time_zone: "UTC".into(),
        };
        assert!(late.covers(at("2026-04-05T00:30:00Z")));
        assert!(!late.covers(at("2026-04-05T01:00:00Z")));
    }

    #[test]
    fn failure_reasons_are_classified_as_the_poller_words_them() {
        assert!(FailureReason::Auth.matches("authentication failed"));
        assert!(FailureReason::Auth.matches("unknown user"));
        assert!(!FailureReason::Auth.matches("timeout"));
        assert!(FailureReason::Timeout.matches("timeout"));
        assert!(FailureReason::Any.matches("agent returned error genErr (varbind 1)"));
    }

    #[test]
    fn ids_are_key_safe() {
        let id = new_id();
        assert_eq!(id.len(), 16);
        assert!(valid_id(&id));
        assert!(!valid_id("a.b") && !valid_id("") && !valid_id("a*"));
    }
}
