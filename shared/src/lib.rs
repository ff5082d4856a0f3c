//! netpulse-shared: everything two or more netpulse services agree on.
//!
//! - [`alert`]: alert rules, channels, silences and alerts, and their validation.
//! - [`device`]: the device model and the validation every device passes at the API edge.
//! - [`history`]: history queries, answers, downsampling and the 95th percentile.
//! - [`logs`]: device log entries, the syslog parser and framing, log queries.
//! - [`interfaces`]: discovered interfaces, selection by name or index, discovery messages.
//! - [`lease`]: leadership among several copies of a service (scheduler, alerter).
//! - [`messages`]: the JSON messages carried over NATS, each with a schema version.
//! - [`poll_plan`]: what one poll of a device GETs, and its poll job.
//! - [`subjects`]: NATS subject names, stream, consumer and bucket names.
//! - [`usm`]: SNMPv3 user-based security settings.
//! - [`wire`]: values and OIDs decoded by snmp2 as netpulse types.
//! - [`config`]: typed settings from `netpulse.toml` and `NETPULSE_` environment variables.
//! - [`bus`]: connecting to NATS and declaring the streams and buckets the services share.
//! - [`rate`]: counter deltas and bits-per-second math.
//! - [`rollup`]: rates per interface and their 1 min / 5 min / 1 h aggregates.
//! - [`shutdown`]: the Ctrl-C / SIGTERM signal the binaries stop on.
//! - [`telemetry`]: tracing setup for the binaries.
//! - `test_util` (feature `test-util`): real nats-server and snmpd processes for tests.

pub mod alert;
pub mod bus;
pub mod config;
pub mod device;
pub mod health;
pub mod history;
pub mod interfaces;
pub mod lease;
pub mod logs;
pub mod messages;
pub mod poll_plan;
pub mod rate;
pub mod rollup;
pub mod shutdown;
pub mod subjects;
pub mod telemetry;
pub mod time;
pub mod usm;
pub mod wire;

#[cfg(feature = "test-util")]
pub mod test_util;
