//! SNMP on demand, for the dashboard's forms and buttons; a poller does the SNMP.
//!
//! - `POST /api/discover`: discover a device that is not saved yet (the add-device form). The
//!   body is a new device's, `name` optional; nothing is saved, the interfaces bucket is not
//!   written.
//! - `POST /api/devices/{id}/test`: poll a saved device once now, as its schedule would, and
//!   show what it read or why it failed; nothing is published, stored or counted against it.
//!
//! Both wait for the poller as long as the device's timeout and retries allow, plus a margin,
//! so a dead device answers in seconds.

use bytes::Bytes;
use netpulse_shared::device::Device;
use netpulse_shared::discovery::{DiscoveryJob, DiscoveryOutcome, SystemInfo};
use netpulse_shared::messages::{AgentTarget, PollTestOutcome, Sample, VarBind};
use netpulse_shared::validation::ValidationError;
use netpulse_shared::{poll_plan, subjects, time};
use serde::Serialize;
use serde_json::Value;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::{interface_list, ListedInterface};
use crate::auth::{Auth, Principal, Role};
use crate::error::ApiError;
use crate::http::{ask, json_reply, limited_body, with, MAX_BODY_BYTES};
use crate::live::rates::{browser_values, interface_rates, ShownValue};
use crate::registry::Registry;

/// The name a probed device gets when the form has none yet (it is never saved).
const PLACEHOLDER_NAME: &str = "probe";

/// Longest wait for a poller, seconds, whatever the device's timeout and retries.
const MAX_WAIT_SECS: u64 = 60;

/// `POST /api/discover` and `POST /api/devices/{id}/test`.
pub fn routes(
    registry: Registry,
    client: async_nats::Client,
    auth: Auth,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with_client = {
        let client = client.clone();
        with(client.clone())
    };
    let probe = warp::path!("api" / "discover")
        .and(warp::post())
        .and(auth.require(Role::Operator))
        .and(limited_body(MAX_BODY_BYTES))
        .and(with_client.clone())
        .and(with(auth.clone()))
        .and_then(discover_unsaved);
    let test = warp::path!("api" / "devices" / String / "test")
        .and(warp::post())
        .and(auth.require(Role::Operator))
        .and(with(registry))
        .and(with_client)
        .and(with(auth))
        .and_then(test_poll);
    probe.or(test).unify()
}

/// Seconds to wait for a poller working on `target`: every attempt of two requests (an
/// SNMPv3 session's opening counts as one), plus 5 s, at most [`MAX_WAIT_SECS`]. With the
/// default 2 s timeout and 1 retry, 13 s.
fn wait_secs(target: &AgentTarget) -> u64 {
    let attempts = u64::from(target.retries) + 1;
    let ms = 2 * u64::from(target.timeout_ms) * attempts + 5_000;
    ms.div_ceil(1000).min(MAX_WAIT_SECS)
}

/// A new device's body as `POST /api/devices` validates it, the name being optional.
fn unsaved_device(body: &[u8]) -> Result<Device, ValidationError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            let unnamed = match map.get("name") {
                None | Some(Value::Null) => true,
                Some(Value::String(name)) => name.trim().is_empty(),
                Some(_) => false,
            };
            if unnamed {
                map.insert("name".into(), PLACEHOLDER_NAME.into());
            }
            Device::from_json_object(&map)
        }
        // Not a JSON object: refused in the same words as by `POST /api/devices`.
        _ => Device::from_json_body(body),
    }
}

/// A fresh random number for a probe's id.
fn nonce() -> Result<u64, ApiError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::unavailable("random source", &e))?;
    Ok(u64::from_le_bytes(bytes))
}

#[tracing::instrument(skip_all)]
async fn discover_unsaved(
    principal: Principal,
    body: Bytes,
    client: async_nats::Client,
    auth: Auth,
) -> Result<Response, Rejection> {
    let device = unsaved_device(&body).map_err(ApiError::from)?;
    let job = DiscoveryJob::probe(&device, nonce()?);
    let answer = ask::<_, DiscoveryOutcome>(
        &client,
        subjects::discover(&job.device),
        &job,
        wait_secs(&job.target),
        "poller",
    )
    .await;
    let result = match answer {
        Ok(Ok(DiscoveryOutcome::Discovered(found))) => Ok(found),
        Ok(Ok(DiscoveryOutcome::Failed { reason })) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("discovery failed: {reason}"),
        )),
        Ok(Err(error)) => Err(ApiError::unavailable("discovery", &error)),
        Err(error) => Err(error),
    };
    let outcome = result.as_ref().map_or_else(
        |e| e.error.clone(),
        |found| format!("ok, {} interfaces", found.interfaces.len()),
    );
    auth.audit
        .record(
            &principal.username,
            "device.probe",
            &device.address.to_string(),
            &outcome,
            None,
        )
        .await;
    let found = result?;
    tracing::info!(address = %device.address, interfaces = found.interfaces.len(), "device probed");
    Ok(json_reply(
        &Probed {
            system: &found.system,
            max_repetitions: found.max_repetitions,
            interfaces: interface_list(&device, Some(&found)),
        },
        StatusCode::OK,
    ))
}

/// What a probe of an unsaved device found.
#[derive(Debug, Serialize)]
struct Probed<'a> {
    system: &'a SystemInfo,
    max_repetitions: u32,
    interfaces: Vec<ListedInterface<'a>>,
}

/// A test poll's sample as the device page shows it: values with their types (64-bit
/// counters as strings, as on /ws) and each interface's counters.
#[derive(Debug, Serialize)]
struct TestResult<'a> {
    time_ms: u64,
    duration_ms: u64,
    uptime_ticks: Option<u32>,
    values: Vec<ShownValue<'a>>,
    interfaces: Vec<TestedInterface>,
}

/// An interface's counters in a [`TestResult`] (decimal strings, as on /ws).
#[derive(Debug, Serialize)]
struct TestedInterface {
    index: u32,
    name: Option<String>,
    in_octets: String,
    out_octets: String,
}

fn test_result<'a>(sample: &Sample, values: &'a [VarBind], duration_ms: u64) -> TestResult<'a> {
    let interfaces = interface_rates(sample, |_| (None, None, None))
        .into_iter()
        .map(|i| TestedInterface {
            index: i.index,
            name: i.name,
            in_octets: i.in_octets,
            out_octets: i.out_octets,
        })
        .collect();
    TestResult {
        time_ms: sample.time_ms,
        duration_ms,
        uptime_ticks: sample.uptime_ticks,
        values: browser_values(values),
        interfaces,
    }
}

#[tracing::instrument(skip_all, fields(device = %raw_id))]
async fn test_poll(
    raw_id: String,
    principal: Principal,
    registry: Registry,
    client: async_nats::Client,
    auth: Auth,
) -> Result<Response, Rejection> {
    let device = registry.require(&raw_id).await?;
    let found = registry.interfaces(&device.id).await?;
    let target = AgentTarget::of(&device);
    let wait = wait_secs(&target);
    let now = time::now_ms();
    let job = poll_plan::poll_job(
        &device,
        found.as_ref(),
        format!("{}-test-{now}", device.id),
        now + wait * 1000,
    );
    let answer =
        ask::<_, PollTestOutcome>(&client, subjects::test(&device.id), &job, wait, "poller").await;
    let result = match answer {
        Ok(Ok(PollTestOutcome::Polled {
            sample,
            duration_ms,
        })) => Ok((sample, duration_ms)),
        Ok(Ok(PollTestOutcome::Failed { reason })) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("SNMP test failed: {reason}"),
        )),
        Ok(Err(error)) => Err(ApiError::unavailable("test poll", &error)),
        Err(error) => Err(error),
    };
    let result = auth
        .audit
        .result(
            &principal.username,
            "device.test",
            device.id.as_str(),
            result,
        )
        .await;
    let (sample, duration_ms) = result?;
    let values = sample.varbinds();
    Ok(json_reply(
        &test_result(&sample, &values, duration_ms),
        StatusCode::OK,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_follow_the_device_timeout_and_retries() {
        let device = |extra: &str| {
            let body = format!(r#"{{"address": "192.0.2.1"{extra}}}"#);
            AgentTarget::of(&unsaved_device(body.as_bytes()).expect("device"))
        };
        assert_eq!(wait_secs(&device("")), 13, "2 s timeout, 1 retry");
        assert_eq!(
            wait_secs(&device(r#", "timeout_ms": 100, "retries": 0"#)),
            6
        );
        assert_eq!(
            wait_secs(&device(r#", "timeout_ms": 60000, "retries": 5"#)),
            MAX_WAIT_SECS
        );
    }

    #[test]
    fn an_unsaved_device_needs_no_name_but_is_checked_like_a_new_one() {
        for body in [
            r#"{"address": "192.0.2.1"}"#,
            r#"{"name": "", "address": "192.0.2.1"}"#,
            r#"{"name": null, "address": "192.0.2.1"}"#,
        ] {
            let device = unsaved_device(body.as_bytes()).expect(body);
            assert_eq!(device.name.as_str(), PLACEHOLDER_NAME);
        }
        let named = unsaved_device(br#"{"name": "Core 1", "address": "192.0.2.1"}"#);
        assert_eq!(named.expect("device").name.as_str(), "Core 1");
        for (body, field) in [
            (r#"{"address": "not an address!"}"#, "address"),
            (r#"{"address": "192.0.2.1", "retries": 99}"#, "retries"),
            (r#"{"address": "192.0.2.1", "colour": "red"}"#, "colour"),
            (r#"{"name": 5, "address": "192.0.2.1"}"#, "name"),
            ("[1]", "body"),
            ("{", "body"),
        ] {
            let error = unsaved_device(body.as_bytes()).expect_err(body);
            assert_eq!(error.field, field, "{body}");
            if field == "body" {
                assert_eq!(
                    Device::from_json_body(body.as_bytes())
                        .expect_err(body)
                        .message,
                    error.message
                );
            }
        }
    }
}
