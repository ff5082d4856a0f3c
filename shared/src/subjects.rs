//! NATS subjects, streams, consumers and buckets: the names netpulse services and outside
//! programs agree on. Documented in docs/subjects.md; keep them stable.

use crate::device::DeviceId;

/// Poll jobs for one device: `netpulse.poll.<device>`.
pub fn poll(device: &DeviceId) -> String {
    format!("netpulse.poll.{device}")
}
/// Every poll job.
pub const POLL_ALL: &str = "netpulse.poll.*";
/// Batches of poll jobs due in the same slot ([`crate::messages::PollBatch`]), each taken by
/// one poller of the queue group `pollers`.
pub const POLL_BATCH: &str = "netpulse.polls";
/// Outcomes of the polls a poller ran lately ([`crate::messages::PollOutcomes`]), for the
/// scheduler's reachability: it learns them without reading samples.
pub const OUTCOMES: &str = "netpulse.outcomes";
/// The queue group pollers share.
pub const POLLERS_QUEUE: &str = "pollers";

/// Discovery requests for one device: `netpulse.discover.<device>` (queue group `pollers`).
pub fn discover(device: &DeviceId) -> String {
    format!("netpulse.discover.{device}")
}
/// Every discovery request.
pub const DISCOVER_ALL: &str = "netpulse.discover.*";

/// Test polls of one device, request/reply from the gateway to a poller (queue group
/// `pollers`): `netpulse.test.<device>`. The request is a poll job (credentials, so only
/// pollers may read it), the answer a [`crate::messages::PollTestOutcome`]; nothing else is
/// published.
pub fn test(device: &DeviceId) -> String {
    format!("netpulse.test.{device}")
}
/// Every test poll.
pub const TEST_ALL: &str = "netpulse.test.*";

/// Samples of one device: `netpulse.sample.<device>`.
pub fn sample(device: &DeviceId) -> String {
    format!("netpulse.sample.{device}")
}
/// Every sample.
pub const SAMPLE_ALL: &str = "netpulse.sample.*";

/// Samples of the one-second live view of one device (not stored): `netpulse.live.<device>`.
pub fn live(device: &DeviceId) -> String {
    format!("netpulse.live.{device}")
}
/// Every live-view sample.
pub const LIVE_ALL: &str = "netpulse.live.*";
/// Which devices browsers show now (gateways → scheduler), a
/// [`crate::messages::Watch`].
pub const WATCH: &str = "netpulse.watch";

/// Failed polls of one device: `netpulse.failure.<device>`.
pub fn failure(device: &DeviceId) -> String {
    format!("netpulse.failure.{device}")
}
/// Every failed poll.
pub const FAILURE_ALL: &str = "netpulse.failure.*";

/// Reachability transitions of one device: `netpulse.status.<device>`.
pub fn status(device: &DeviceId) -> String {
    format!("netpulse.status.{device}")
}
/// Every reachability transition.
pub const STATUS_ALL: &str = "netpulse.status.*";

/// History requests for one device (request/reply to the recorder):
/// `netpulse.history.<device>`.
pub fn history(device: &DeviceId) -> String {
    format!("netpulse.history.{device}")
}
/// Every history request.
pub const HISTORY_ALL: &str = "netpulse.history.*";

/// Delete a device's whole history (request/reply to the recorder):
/// `netpulse.purge.<device>`.
pub fn purge(device: &DeviceId) -> String {
    format!("netpulse.purge.{device}")
}
/// Every purge request.
pub const PURGE_ALL: &str = "netpulse.purge.*";

/// Timeline entries of one device (syslog, traps, ...): `netpulse.log.<device>`.
pub fn log(device: &DeviceId) -> String {
    format!("netpulse.log.{device}")
}
/// Every timeline entry.
pub const LOG_ALL: &str = "netpulse.log.*";
/// Log queries for one device (request/reply to the recorder): `netpulse.logs.<device>`.
pub fn logs(device: &DeviceId) -> String {
    format!("netpulse.logs.{device}")
}
/// Every log query.
pub const LOGS_ALL: &str = "netpulse.logs.*";
/// The JetStream stream keeping log entries and reachability transitions until the recorder
/// has stored them.
pub const LOGS_STREAM: &str = "NETPULSE_LOGS";
/// The recorder's durable consumer on [`LOGS_STREAM`].
pub const RECORDER_LOGS_CONSUMER: &str = "recorder-logs";
/// The recorder's durable consumer of alert transitions on [`ALERTS_STREAM`] (the devices'
/// timelines).
pub const RECORDER_ALERTS_CONSUMER: &str = "recorder-alerts";
/// The recorder's durable consumer of configuration changes on [`EVENTS_STREAM`].
pub const RECORDER_EVENTS_CONSUMER: &str = "recorder-events";
/// The key-value bucket of sources that sent logs but match no device (a
/// `netpulse_logs::sources::UnknownSource`), key = the address with `.` and `:` as `_`.
pub const UNKNOWN_SOURCES_BUCKET: &str = "netpulse_unknown_sources";

/// Recorder replicas that have stored everything published until moments ago say so here,
/// several times a second (core NATS, the payload the replica's name): a replica catching up
/// leaves queries to them.
pub const RECORDER_CURRENT: &str = "netpulse.recorder.current";

/// Heartbeats of one service ([`crate::health::Health`]): `netpulse.health.<service>`.
pub fn health(service: &str) -> String {
    format!("netpulse.health.{service}")
}
/// Every heartbeat.
pub const HEALTH_ALL: &str = "netpulse.health.*";

/// Audit events (logins, device and user changes).
pub const AUDIT: &str = "netpulse.event.audit";
/// Every event.
pub const EVENT_ALL: &str = "netpulse.event.>";

/// Alert transitions of one device ([`crate::alert::AlertEvent`]): `netpulse.alert.<device>`.
pub fn alert(device: &DeviceId) -> String {
    format!("netpulse.alert.{device}")
}
/// Every alert transition.
pub const ALERT_ALL: &str = "netpulse.alert.*";
/// The JetStream stream keeping alert transitions, the alert history.
pub const ALERTS_STREAM: &str = "NETPULSE_ALERTS";
/// Alert rules ([`crate::alert::AlertRule`]), one key per rule id.
pub const ALERT_RULES_BUCKET: &str = "netpulse_alert_rules";
/// Notification channels ([`crate::alert::Channel`], secrets included), one key per channel
/// id. Only the gateway and the alerter may read it.
pub const ALERT_CHANNELS_BUCKET: &str = "netpulse_alert_channels";
/// Silences and maintenance windows ([`crate::alert::Silence`]), one key per silence id.
pub const SILENCES_BUCKET: &str = "netpulse_silences";
/// Pending and firing alerts ([`crate::alert::Alert`]), one key per alert id; written by the
/// leading alerter only.
pub const ALERTS_BUCKET: &str = "netpulse_alerts";
/// Acknowledgements ([`crate::alert::Ack`]), one key per alert id; written by the gateway.
pub const ALERT_ACKS_BUCKET: &str = "netpulse_alert_acks";
/// How each channel's deliveries went lately ([`crate::alert::ChannelHealth`]), one key per
/// channel id; written by the leading alerter.
pub const CHANNEL_HEALTH_BUCKET: &str = "netpulse_alert_channel_health";
/// Key-value bucket holding the alerter lease: which alerter leads.
pub const ALERTER_LEASE_BUCKET: &str = "netpulse_alerter_lease";

/// The device id in a subject's last token, if it is a valid one.
pub fn device_of(subject: &str) -> Option<DeviceId> {
    let token = subject.rsplit('.').next()?;
    DeviceId::parse(token).ok()
}

/// The JetStream stream that keeps samples until the recorder has stored them.
pub const SAMPLES_STREAM: &str = "NETPULSE_SAMPLES";
/// The JetStream stream that keeps events (the audit log among them).
pub const EVENTS_STREAM: &str = "NETPULSE_EVENTS";
/// The recorder's durable consumer on [`SAMPLES_STREAM`].
pub const RECORDER_CONSUMER: &str = "recorder";
/// The key-value bucket holding each device's current reachability (a
/// [`crate::messages::DeviceStatus`]), one key per device id.
pub const STATUS_BUCKET: &str = "netpulse_status";

/// Key-value bucket holding the scheduler lease: which scheduler leads.
pub const SCHEDULER_LEASE_BUCKET: &str = "netpulse_scheduler_lease";
/// The key-value bucket holding each device's discovered interfaces (a
/// [`crate::discovery::DeviceInterfaces`]), one key per device id.
pub const INTERFACES_BUCKET: &str = "netpulse_interfaces";
/// The key-value bucket labelling the histories kept of deleted devices (a
/// [`crate::history::RemovedDevice`]), one key per device id.
pub const REMOVED_BUCKET: &str = "netpulse_removed";
/// The key-value bucket holding the device registry, one key per device id.
pub const DEVICES_BUCKET: &str = "netpulse_devices";
/// The key-value bucket of the gateway's sign-in sessions, one key per session: the SHA-256
/// of its token in hex (never the token), the value `{username, created_ms, last_seen_ms}`.
/// Only the gateway's NATS user may read or write it.
pub const SESSIONS_BUCKET: &str = "netpulse_sessions";
/// The key-value bucket of API tokens, one key per token id; the value holds the token's
/// name, owner, role, expiry, last use and the SHA-256 of its secret (never the secret).
/// Only the gateway's NATS user may read or write it.
pub const TOKENS_BUCKET: &str = "netpulse_tokens";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_carry_the_device_id() {
        let id = DeviceId::parse("core-1").expect("id");
        assert_eq!(sample(&id), "netpulse.sample.core-1");
        assert_eq!(poll(&id), "netpulse.poll.core-1");
        assert_eq!(test(&id), "netpulse.test.core-1");
        assert_eq!(device_of(&failure(&id)), Some(id));
        assert_eq!(device_of("netpulse.sample.A*"), None);
    }
}
