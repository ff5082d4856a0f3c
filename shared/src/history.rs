//! History queries: the request the gateway sends the recorder on `netpulse.history.<device>`,
//! the answer, the resolutions history is kept at, and the label of a deleted device's history.
//! Besides an interface's octet rates, an answer carries its errors and discards per second and
//! the series of the device's numeric extra OIDs. The math behind an answer (rates per step,
//! downsampling, the 95th percentile) is the recorder's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::device::DeviceId;

use crate::interfaces::InterfaceRef;
use crate::snmp::Oid;

fn schema_version() -> u32 {
    crate::messages::SCHEMA_VERSION
}

/// Most points one query may ask for.
pub const MAX_POINTS: usize = 50_000;
/// Most points one NATS answer carries; longer answers come in pages.
pub const PAGE_POINTS: usize = 2_000;

/// How finely history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Resolution {
    /// Every sample.
    #[serde(rename = "raw")]
    Raw,
    /// One-minute aggregates.
    #[serde(rename = "1m")]
    Minute,
    /// Five-minute aggregates.
    #[serde(rename = "5m")]
    FiveMinutes,
    /// One-hour aggregates.
    #[serde(rename = "1h")]
    Hour,
}

impl Resolution {
    /// Finest first.
    pub const ALL: [Self; 4] = [Self::Raw, Self::Minute, Self::FiveMinutes, Self::Hour];
    /// The aggregated ones, finest first.
    pub const ROLLUPS: [Self; 3] = [Self::Minute, Self::FiveMinutes, Self::Hour];

    /// The period of one aggregate, milliseconds (1 for raw: samples are not aligned).
    pub fn period_ms(self) -> u64 {
        match self {
            Self::Raw => 1,
            Self::Minute => 60_000,
            Self::FiveMinutes => 300_000,
            Self::Hour => 3_600_000,
        }
    }

    /// The name used in file names, settings and the API.
    pub fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Minute => "1m",
            Self::FiveMinutes => "5m",
            Self::Hour => "1h",
        }
    }

    /// The resolution of a name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// A history request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// Schema version.
    #[serde(default = "schema_version")]
    pub schema: u32,
    /// The device.
    pub device: DeviceId,
    /// The interface, by stable key (name) or ifIndex; `None` when only OIDs are asked for
    /// (the answer's points are then empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<InterfaceRef>,
    /// Extra OIDs whose series to answer too (see [`crate::messages::Sample::numeric_values`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oids: Vec<Oid>,
    /// Interfaces whose rates to add up, instead of one `interface`: each step's point is
    /// the sum over them of each one's min, average and max in that step (an interface
    /// without data in a step adds nothing; `null` where none has any). The steps are
    /// `step_ms` when given, so a device's total comes in one query.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summed: Vec<InterfaceRef>,
    /// Start of the range, Unix milliseconds (inclusive).
    pub from_ms: u64,
    /// End of the range, Unix milliseconds (exclusive).
    pub to_ms: u64,
    /// Most points wanted.
    pub max_points: usize,
    /// The resolution to read; `None` lets the recorder choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// The step to use, milliseconds; `None` lets the recorder choose. Later pages repeat
    /// the resolution and step of the first answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_ms: Option<u64>,
    /// Which page of [`PAGE_POINTS`] points to answer, from 0.
    #[serde(default)]
    pub page: usize,
}

/// Min, average and max of the rates in one step, bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Lowest rate.
    pub min: f64,
    /// Mean rate.
    pub avg: f64,
    /// Highest rate.
    pub max: f64,
}

impl Spread {
    /// A single value.
    pub fn one(value: f64) -> Self {
        Self {
            min: value,
            avg: value,
            max: value,
        }
    }
}

/// One value per error and discard counter of an interface (IF-MIB ifInErrors, ifOutErrors,
/// ifInDiscards, ifOutDiscards), each `None` where there is none: not polled (the device's
/// `poll_errors` is off, the agent lacks it), or no rate in that step. In JSON, the fields
/// are `in_errors_ps`, `out_errors_ps`, `in_discards_ps` and `out_discards_ps` (per second),
/// absent when `None`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ErrorCounters<T> {
    /// ifInErrors: received packets with errors.
    #[serde(
        rename = "in_errors_ps",
        default = "Option::default",
        skip_serializing_if = "Option::is_none"
    )]
    pub in_errors: Option<T>,
    /// ifOutErrors: packets not sent because of errors.
    #[serde(
        rename = "out_errors_ps",
        default = "Option::default",
        skip_serializing_if = "Option::is_none"
    )]
    pub out_errors: Option<T>,
    /// ifInDiscards: received error-free packets dropped.
    #[serde(
        rename = "in_discards_ps",
        default = "Option::default",
        skip_serializing_if = "Option::is_none"
    )]
    pub in_discards: Option<T>,
    /// ifOutDiscards: error-free packets dropped before sending.
    #[serde(
        rename = "out_discards_ps",
        default = "Option::default",
        skip_serializing_if = "Option::is_none"
    )]
    pub out_discards: Option<T>,
}

impl<T> Default for ErrorCounters<T> {
    fn default() -> Self {
        Self {
            in_errors: None,
            out_errors: None,
            in_discards: None,
            out_discards: None,
        }
    }
}

impl<T: Copy> ErrorCounters<T> {
    /// The four in a fixed order: in errors, out errors, in discards, out discards (as
    /// [`crate::messages::InterfaceErrors::readings`]).
    pub fn to_array(&self) -> [Option<T>; 4] {
        [
            self.in_errors,
            self.out_errors,
            self.in_discards,
            self.out_discards,
        ]
    }

    /// From the four in [`ErrorCounters::to_array`] order.
    pub fn from_array([in_errors, out_errors, in_discards, out_discards]: [Option<T>; 4]) -> Self {
        Self {
            in_errors,
            out_errors,
            in_discards,
            out_discards,
        }
    }

    /// Each value converted.
    pub fn map<U: Copy>(&self, mut f: impl FnMut(T) -> U) -> ErrorCounters<U> {
        ErrorCounters::from_array(self.to_array().map(|v| v.map(&mut f)))
    }

    /// True when none is there.
    pub fn is_empty(&self) -> bool {
        self.to_array().iter().all(Option::is_none)
    }
}

/// One step of the answer; `None` where there is no data (a gap stays a gap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// Start of the step, Unix milliseconds.
    pub time_ms: u64,
    /// Received bits per second.
    pub in_bps: Option<Spread>,
    /// Sent bits per second.
    pub out_bps: Option<Spread>,
    /// Errors and discards per second, min/avg/max; each absent where the step has none.
    #[serde(flatten)]
    pub errors: ErrorCounters<Spread>,
}

/// One step of an extra OID's series; `value` is `None` where there is no data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OidPoint {
    /// Start of the step, Unix milliseconds.
    pub time_ms: u64,
    /// Min, average and max of the values (or rates per second) in the step.
    pub value: Option<Spread>,
}

/// One extra OID's series over the steps of an answer (one page of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OidSeries {
    /// The SNMP type of its latest value in the page: `integer`, `unsigned32`, `timeticks`
    /// (hundredths of a second), `counter32`, `counter64`; `None` when the page holds none.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// True for counters, whose series is their rate per second; gauges, integers and
    /// timeticks are their values.
    pub per_second: bool,
    /// One point per step, as the answer's `points`.
    pub points: Vec<OidPoint>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum HistoryAnswer {
    /// The series (one page of it).
    Series {
        /// Schema version.
        schema: u32,
        /// The resolution read.
        resolution: Resolution,
        /// Width of each step, milliseconds.
        step_ms: u64,
        /// How many pages the whole series takes.
        pages: usize,
        /// The points of this page, oldest first.
        points: Vec<HistoryPoint>,
        /// 95th percentile of the received rates over the range, bits per second (first
        /// page only).
        p95_in_bps: Option<f64>,
        /// 95th percentile of the sent rates over the range, bits per second (first page
        /// only).
        p95_out_bps: Option<f64>,
        /// The series of each extra OID asked for, by dotted OID, with this page's steps.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        oids: BTreeMap<String, OidSeries>,
    },
    /// The query could not be answered.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A device deleted with its history kept: the gateway's label for that history, in the
/// key-value bucket `netpulse_removed` under the device id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedDevice {
    /// The device id its history is filed under.
    pub id: DeviceId,
    /// Its name.
    pub name: String,
    /// Its SNMP address.
    pub address: String,
    /// When it was deleted, Unix milliseconds.
    pub removed_ms: u64,
    /// The interfaces it was polling, to choose from in its history.
    pub interfaces: Vec<RemovedInterface>,
    /// The extra OIDs it was polling, whose series its history may hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oids: Vec<Oid>,
}

/// One interface of a removed device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedInterface {
    /// ifIndex when it was last discovered.
    pub index: u32,
    /// Stable key (ifName, else ifDescr).
    pub key: String,
}

/// The recorder's answer to a purge request on `netpulse.purge.<device>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PurgeAnswer {
    /// Every file of the device's history is deleted.
    Done,
    /// Not done.
    Failed {
        /// Why.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_answers_round_trip_old_and_new() {
        // A query as gateways sent them before OIDs: the interface alone.
        let old = r#"{"schema":1,"device":"core-1","interface":"eth0","from_ms":1,"to_ms":2,"max_points":10,"page":0}"#;
        let query: HistoryQuery = serde_json::from_str(old).expect("old query");
        assert_eq!(query.interface, Some(InterfaceRef::Name("eth0".into())));
        assert!(query.oids.is_empty());
        assert_eq!(serde_json::to_string(&query).expect("json"), old);
        // OIDs only.
        let new = r#"{"schema":1,"device":"core-1","oids":["1.3.6.1.2.1.1.3.0"],"from_ms":1,"to_ms":2,"max_points":10,"page":0}"#;
        let query: HistoryQuery = serde_json::from_str(new).expect("new query");
        assert_eq!(query.interface, None);
        assert_eq!(serde_json::to_string(&query).expect("json"), new);

        let point = |errors| HistoryPoint {
            time_ms: 5,
            in_bps: Some(Spread::one(1.0)),
            out_bps: None,
            errors,
        };
        let answer = HistoryAnswer::Series {
            schema: 1,
            resolution: Resolution::Raw,
            step_ms: 5,
            pages: 1,
            points: vec![
                point(ErrorCounters {
                    in_errors: Some(Spread::one(0.5)),
                    out_discards: Some(Spread::one(0.0)),
                    ..Default::default()
                }),
                point(ErrorCounters::default()),
            ],
            p95_in_bps: Some(1.0),
            p95_out_bps: None,
            oids: BTreeMap::from([(
                "1.3.6.1.2.1.1.3.0".to_owned(),
                OidSeries {
                    kind: Some("timeticks".into()),
                    per_second: false,
                    points: vec![OidPoint {
                        time_ms: 5,
                        value: Some(Spread::one(12.0)),
                    }],
                },
            )]),
        };
        let json = serde_json::to_value(&answer).expect("json");
        let first = &json["points"][0];
        assert_eq!(first["in_errors_ps"]["avg"], 0.5);
        assert_eq!(first["out_discards_ps"]["max"], 0.0);
        assert!(first.get("out_errors_ps").is_none(), "absent, not null");
        assert!(json["points"][1].get("in_errors_ps").is_none());
        assert_eq!(json["oids"]["1.3.6.1.2.1.1.3.0"]["type"], "timeticks");
        assert_eq!(
            serde_json::from_value::<HistoryAnswer>(json).expect("back"),
            answer
        );
        // An answer of a recorder from before: no errors, no OIDs.
        let old = r#"{"outcome":"series","schema":1,"resolution":"1m","step_ms":60000,"pages":1,
            "points":[{"time_ms":0,"in_bps":null,"out_bps":null}],"p95_in_bps":null,"p95_out_bps":null}"#;
        let HistoryAnswer::Series { points, oids, .. } =
            serde_json::from_str::<HistoryAnswer>(old).expect("old answer")
        else {
            panic!("a series")
        };
        assert!(points[0].errors.is_empty() && oids.is_empty());
    }
}
