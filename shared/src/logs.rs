//! Device logs: one timeline per device of syslog messages, SNMP notifications,
//! reachability transitions and configuration changes. The entry carried on
//! `netpulse.log.<device>` and stored by the recorder, and the log query. The syslog parser
//! lives with the receiver (services/logs).
//!
//! Everything in an entry that came from a device is untrusted text, to be shown as text.

use serde::{Deserialize, Serialize};

use crate::device::DeviceId;
use crate::messages::VarBind;

fn schema_version() -> u32 {
    crate::messages::SCHEMA_VERSION
}

/// Longest message kept; longer ones are cut and flagged.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Syslog severity (RFC 5424 section 6.2.1), most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 0: system is unusable.
    Emergency,
    /// 1: action must be taken immediately.
    Alert,
    /// 2: critical conditions.
    Critical,
    /// 3: error conditions.
    Error,
    /// 4: warning conditions.
    Warning,
    /// 5: normal but significant condition.
    Notice,
    /// 6: informational messages.
    Info,
    /// 7: debug-level messages.
    Debug,
}

impl Severity {
    /// Every severity, most severe first (index = syslog code).
    pub const ALL: [Self; 8] = [
        Self::Emergency,
        Self::Alert,
        Self::Critical,
        Self::Error,
        Self::Warning,
        Self::Notice,
        Self::Info,
        Self::Debug,
    ];

    /// The severity of a syslog code (0 to 7).
    pub fn from_code(code: u8) -> Self {
        Self::ALL[usize::from(code.min(7))]
    }

    /// The name used in the API (`warning`, `err` is `error`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Emergency => "emergency",
            Self::Alert => "alert",
            Self::Critical => "critical",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
            Self::Info => "info",
            Self::Debug => "debug",
        }
    }

    /// The severity of a name (also the short syslog names `emerg`, `crit`, `err`).
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        let short = match name.as_str() {
            "emerg" => "emergency",
            "crit" => "critical",
            "err" => "error",
            "warn" => "warning",
            other => other,
        };
        Self::ALL.into_iter().find(|s| s.name() == short)
    }
}

/// What an entry of a device's timeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    /// A syslog message from the device.
    Syslog,
    /// An SNMP notification (trap or inform) from the device.
    Trap,
    /// A reachability transition (up, down).
    Status,
    /// A change of the device's settings.
    Config,
    /// An alert about the device fired, flapped, was acknowledged, silenced or resolved.
    Alert,
}

/// An SNMP notification as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapInfo {
    /// `1` or `2c`.
    pub version: String,
    /// `trap` or `inform` (informs are acknowledged).
    pub pdu: String,
    /// The notification's OID (snmpTrapOID.0; for v1 traps derived as RFC 3584 says).
    pub trap_oid: String,
    /// The sender's sysUpTime, hundredths of a second.
    pub uptime_ticks: Option<u32>,
    /// The variable bindings, with their SNMP types.
    pub varbinds: Vec<VarBind>,
}

/// One entry of a device's timeline, as published on `netpulse.log.<device>` and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// Unique id (the recorder writes each once).
    pub id: String,
    /// The device.
    pub device: DeviceId,
    /// When it happened: the time the message gives, else when it was received. Unix ms.
    pub time_ms: u64,
    /// When netpulse received it, Unix milliseconds.
    pub received_ms: u64,
    /// What it is.
    pub kind: LogKind,
    /// How severe.
    pub severity: Severity,
    /// The message text.
    pub message: String,
    /// Syslog facility code (0 to 23).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<u8>,
    /// Where it came from (`address:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// HOSTNAME as the message gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// APP-NAME or the RFC 3164 tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// PROCID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procid: Option<String>,
    /// MSGID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgid: Option<String>,
    /// STRUCTURED-DATA as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_data: Option<String>,
    /// The SNMP notification, for traps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trap: Option<TrapInfo>,
    /// The message as received (text, invalid UTF-8 replaced), for syslog and for anything
    /// that did not parse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Why the message did not parse (it is kept anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
}

/// A log request to the recorder on `netpulse.logs.<device>`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogQuery {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The device.
    pub device: DeviceId,
    /// Oldest time wanted (inclusive), Unix ms.
    pub from_ms: u64,
    /// Newest time wanted (exclusive), Unix ms.
    pub to_ms: u64,
    /// Only this severity and more severe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Only entries whose text contains this (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Most entries wanted.
    pub limit: usize,
    /// Only entries after this one in the answer's order (older, or as old with a lower
    /// id): the `next` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<LogCursor>,
}

/// A place in a timeline, newest first: an entry's time and id. As text `<time_ms>:<id>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LogCursor {
    /// The entry's time, Unix ms.
    pub time_ms: u64,
    /// The entry's id.
    pub id: String,
}

impl LogCursor {
    /// The cursor of an entry.
    pub fn of(entry: &LogEntry) -> Self {
        Self {
            time_ms: entry.time_ms,
            id: entry.id.clone(),
        }
    }

    /// Parses `<time_ms>:<id>`.
    pub fn parse(text: &str) -> Option<Self> {
        let (time, id) = text.split_once(':')?;
        let time_ms = time.parse().ok()?;
        (!id.is_empty() && id.len() <= 200).then(|| Self {
            time_ms,
            id: id.to_owned(),
        })
    }

    /// As text, `<time_ms>:<id>`.
    pub fn text(&self) -> String {
        format!("{}:{}", self.time_ms, self.id)
    }

    /// True when `entry` comes after this place, newest first.
    pub fn precedes(&self, entry: &LogEntry) -> bool {
        (entry.time_ms, entry.id.as_str()) < (self.time_ms, self.id.as_str())
    }
}

/// Most entries one log answer carries.
pub const MAX_LOG_LIMIT: usize = 1000;

/// The recorder's answer to a [`LogQuery`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LogAnswer {
    /// The entries, newest first.
    Entries {
        /// The entries.
        entries: Vec<LogEntry>,
        /// When there may be more: ask again with `before` set to this.
        next: Option<LogCursor>,
    },
    /// Not answered.
    Failed {
        /// Why.
        reason: String,
    },
}

impl LogEntry {
    /// An entry with only the fields every entry has; the others are set where they apply.
    pub fn new(
        id: String,
        device: DeviceId,
        time_ms: u64,
        received_ms: u64,
        kind: LogKind,
        severity: Severity,
        message: String,
    ) -> Self {
        Self {
            schema: schema_version(),
            id,
            device,
            time_ms,
            received_ms,
            kind,
            severity,
            message,
            facility: None,
            source: None,
            host: None,
            app: None,
            procid: None,
            msgid: None,
            structured_data: None,
            trap: None,
            raw: None,
            parse_error: None,
        }
    }

    /// True when the entry passes a query's severity and text filters.
    pub fn matches(&self, severity: Option<Severity>, q: Option<&str>) -> bool {
        if severity.is_some_and(|s| self.severity > s) {
            return false;
        }
        let Some(q) = q.map(str::to_lowercase).filter(|q| !q.is_empty()) else {
            return true;
        };
        let fields = [
            Some(&self.message),
            self.host.as_ref(),
            self.app.as_ref(),
            self.msgid.as_ref(),
            self.trap.as_ref().map(|t| &t.trap_oid),
        ];
        fields
            .into_iter()
            .flatten()
            .any(|f| f.to_lowercase().contains(&q))
            || self.trap.as_ref().is_some_and(|t| {
                t.varbinds.iter().any(|v| {
                    serde_json::to_string(&v.value).is_ok_and(|s| s.to_lowercase().contains(&q))
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_filter_and_name() {
        assert_eq!(Severity::parse("err"), Some(Severity::Error));
        assert_eq!(Severity::parse("WARNING"), Some(Severity::Warning));
        assert_eq!(Severity::parse("loud"), None);
        assert!(
            Severity::Critical < Severity::Warning,
            "more severe sorts first"
        );
        assert_eq!(Severity::from_code(200), Severity::Debug);
    }
}
