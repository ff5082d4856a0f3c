//! netpulse-shared: everything two or more netpulse services agree on.
//!
//! - [`alert`]: alert rules, channels, silences and alerts, and their validation.
//! - [`device`]: the device model and the validation every device passes at the API edge.
//! - [`history`]: history queries and answers, resolutions, removed devices' labels.
//! - [`logs`]: device log entries and log queries.
//! - [`interfaces`]: discovered interfaces and their selection by name or index.
//! - [`discovery`]: the discovery job, its answer and the result kept per device.
//! - [`snmp`]: agent addresses, OIDs, the SNMP version and the community.
//! - [`validation`]: the error a refused input gives, naming its field.
//! - [`lease`]: leadership among several copies of a service (scheduler, alerter).
//! - [`messages`]: the JSON messages carried over NATS, each with a schema version.
//! - [`poll_plan`]: what one poll of a device GETs, and its poll job.
//! - [`subjects`]: NATS subject names, stream, consumer and bucket names.
//! - [`usm`]: SNMPv3 user-based security settings.
//! - [`wire`]: values and OIDs decoded by snmp2 as netpulse types.
//! - [`config`]: typed settings from `netpulse.toml` and `NETPULSE_` environment variables.
//! - [`bus`]: connecting to NATS and declaring the streams and buckets the services share.
//! - [`rate`]: counter deltas and bits-per-second math.
//! - [`tracker`]: a device's samples in, each interface's rates out.
//! - [`shutdown`]: the Ctrl-C / SIGTERM signal the binaries stop on.
//! - [`telemetry`]: tracing setup for the binaries.
//! - `test_util` (feature `test-util`): real nats-server and snmpd processes for tests.
//! - `test_samples` (tests and feature `test-util`): samples made by hand for rate math.

pub mod alert;
pub mod bus;
pub mod config;
pub mod device;
pub mod discovery;
pub mod health;
pub mod history;
pub mod interfaces;
pub mod lease;
pub mod logs;
pub mod messages;
pub mod poll_plan;
pub mod rate;
pub mod shards;
pub mod shutdown;
pub mod snmp;
pub mod subjects;
pub mod telemetry;
pub mod time;
pub mod tracker;
pub mod usm;
pub mod validation;
pub mod wire;

#[cfg(any(test, feature = "test-util"))]
pub mod test_samples;
#[cfg(feature = "test-util")]
pub mod test_util;
