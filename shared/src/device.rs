//! The device model and its validation.
//!
//! Everything a user sends about a device is parsed once, at the API edge, into the types
//! below; inside netpulse a [`Device`] is therefore always valid. A rejected input yields a
//! [`ValidationError`] that names the offending field, so the API can say exactly what is wrong.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::interfaces::InterfaceRef;
use crate::snmp::{Address, Community, Oid, SnmpVersion};
use crate::usm::{UsmUser, UsmUserView};
use crate::validation::ValidationError;

/// Largest accepted device name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Largest accepted device id, in bytes.
pub const MAX_ID_BYTES: usize = 64;
/// Most interfaces one device may list.
pub const MAX_INTERFACES: usize = 1024;
/// Most extra OIDs one device may list.
pub const MAX_EXTRA_OIDS: usize = 128;
/// Poll interval bounds, in seconds.
pub const MIN_INTERVAL_SECS: u64 = 1;
/// See [`MIN_INTERVAL_SECS`].
pub const MAX_INTERVAL_SECS: u64 = 86_400;
/// Poll interval used when a device does not set one.
pub const DEFAULT_INTERVAL_SECS: u32 = 10;
/// Reply timeout used when a device does not set one, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 2000;
/// Retries used when a device does not set them.
pub const DEFAULT_RETRIES: u32 = 1;
/// Fastest live-view polling a device may ask for, in milliseconds.
pub const MIN_LIVE_INTERVAL_MS: u32 = 200;
/// See [`MIN_LIVE_INTERVAL_MS`].
pub const MAX_LIVE_INTERVAL_MS: u32 = 3_600_000;

/// A human-chosen device name: 1 to 64 printable characters with at least one letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DeviceName(String);

impl DeviceName {
    /// Checks a name; surrounding white space is trimmed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be empty".into());
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(format!("must be at most {MAX_NAME_CHARS} characters"));
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        if !name.chars().any(|c| c.is_ascii_alphanumeric()) {
            return Err("must contain at least one ASCII letter or digit".into());
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for DeviceName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A device id: lower-case ASCII letters, digits, `-` and `_`, starting with a letter or digit.
///
/// Safe as one NATS subject token, one key-value key and one file name. It is derived from the
/// name, so two names that differ only in case or punctuation are the same device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DeviceId(String);

impl DeviceId {
    /// Checks an id given from outside (a URL path segment, a subject token, a message field).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok_first = raw
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let ok_rest = raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok_first || !ok_rest || raw.len() > MAX_ID_BYTES {
            return Err(format!(
                "device id must be 1 to {MAX_ID_BYTES} of a-z, 0-9, '-' and '_', starting with a letter or digit"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id for a name: lower-cased, every run of other characters turned into one `-`.
    pub fn from_name(name: &DeviceName) -> Self {
        let mut id = String::with_capacity(name.0.len());
        for c in name.0.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                id.push(c.to_ascii_lowercase());
            } else if !id.ends_with('-') {
                id.push('-');
            }
        }
        let id = id.trim_matches(|c| c == '-' || c == '_');
        // A name has at least one ASCII alphanumeric, so `id` is not empty.
        Self(id.chars().take(MAX_ID_BYTES).collect())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The fields of a device's input (`POST /api/devices`), in the order an export writes them;
/// `v3` holds [`crate::usm::V3_FIELDS`].
pub const INPUT_FIELDS: [&str; 14] = [
    "name",
    "address",
    "version",
    "community",
    "v3",
    "interval",
    "timeout_ms",
    "retries",
    "interfaces",
    "oids",
    "log_sources",
    "tags",
    "live_interval_ms",
    "poll_errors",
];

/// A monitored device, as kept in the registry. Always valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Stable id, derived from the name.
    pub id: DeviceId,
    /// The name users gave it.
    pub name: DeviceName,
    /// Where its SNMP agent listens.
    pub address: Address,
    /// SNMP version spoken to it.
    pub version: SnmpVersion,
    /// Community for v1/v2c.
    pub community: Community,
    /// The SNMPv3 user, for version 3.
    #[serde(default)]
    pub v3: Option<UsmUser>,
    /// Seconds between polls.
    pub interval: u32,
    /// Milliseconds to wait for each reply.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
    /// Extra attempts after a timeout.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Interfaces to poll, by name or ifIndex; empty means every admin-up interface.
    pub interfaces: Vec<InterfaceRef>,
    /// Extra OIDs polled along with the counters.
    pub oids: Vec<Oid>,
    /// Other addresses the device sends syslog and traps from (its SNMP address counts
    /// already).
    #[serde(default)]
    pub log_sources: Vec<std::net::IpAddr>,
    /// Labels operators group devices by (the overview filters by tag; anything that selects
    /// devices by tag compares with [`Device::has_tag`]): each 1 to [`MAX_TAG_CHARS`] of
    /// lower-case ASCII letters, digits and `-_.:/`, no duplicates, in the order given; at
    /// most [`MAX_TAGS`].
    #[serde(default)]
    pub tags: Vec<String>,
    /// The fastest the live view may poll this device, milliseconds; 0 leaves it to the
    /// scheduler's `live_interval_ms`. At or above its own interval, it gets no live polls.
    #[serde(default)]
    pub live_interval_ms: u32,
    /// Whether each polled interface's error and discard counters (ifInErrors,
    /// ifOutErrors, ifInDiscards, ifOutDiscards) are polled with its octets. Default true.
    #[serde(default = "default_poll_errors")]
    pub poll_errors: bool,
}

/// A device as the API shows it: everything but the secrets.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceView<'a> {
    /// See [`Device::id`].
    pub id: &'a DeviceId,
    /// See [`Device::name`].
    pub name: &'a DeviceName,
    /// See [`Device::address`].
    pub address: &'a Address,
    /// See [`Device::version`].
    pub version: SnmpVersion,
    /// Whether a community is configured (never the community itself).
    pub community_set: bool,
    /// See [`Device::v3`], without passwords.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v3: Option<UsmUserView<'a>>,
    /// See [`Device::interval`].
    pub interval: u32,
    /// See [`Device::timeout_ms`].
    pub timeout_ms: u32,
    /// See [`Device::retries`].
    pub retries: u32,
    /// See [`Device::interfaces`].
    pub interfaces: &'a [InterfaceRef],
    /// See [`Device::oids`].
    pub oids: &'a [Oid],
    /// See [`Device::log_sources`].
    pub log_sources: &'a [std::net::IpAddr],
    /// See [`Device::tags`].
    pub tags: &'a [String],
    /// See [`Device::live_interval_ms`].
    pub live_interval_ms: u32,
    /// See [`Device::poll_errors`].
    pub poll_errors: bool,
}

impl Device {
    /// What the API shows of this device.
    pub fn view(&self) -> DeviceView<'_> {
        DeviceView {
            id: &self.id,
            name: &self.name,
            address: &self.address,
            version: self.version,
            community_set: !self.community.expose().is_empty(),
            v3: self.v3.as_ref().map(UsmUser::view),
            interval: self.interval,
            timeout_ms: self.timeout_ms,
            retries: self.retries,
            interfaces: &self.interfaces,
            oids: &self.oids,
            log_sources: &self.log_sources,
            tags: &self.tags,
            live_interval_ms: self.live_interval_ms,
            poll_errors: self.poll_errors,
        }
    }

    /// Whether this device carries `tag` (compared as [`parse_tag`] writes tags: trimmed,
    /// ASCII case ignored).
    pub fn has_tag(&self, tag: &str) -> bool {
        let tag = tag.trim();
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }

    /// This device as the API takes it in (the input format of [`Device::from_json_object`]),
    /// secrets included: the base a partial update is applied to.
    pub fn to_input(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("name".into(), Value::String(self.name.as_str().to_owned()));
        map.insert("address".into(), Value::String(self.address.to_string()));
        map.insert(
            "version".into(),
            serde_json::to_value(self.version).unwrap_or_default(),
        );
        map.insert(
            "community".into(),
            Value::String(self.community.expose().to_owned()),
        );
        if let Some(user) = &self.v3 {
            let mut v3 = Map::new();
            v3.insert("user".into(), Value::String(user.user.clone()));
            if let Some(auth) = &user.auth {
                v3.insert(
                    "auth_protocol".into(),
                    serde_json::to_value(auth.protocol).unwrap_or_default(),
                );
                v3.insert(
                    "auth_password".into(),
                    Value::String(auth.password.expose().to_owned()),
                );
            }
            if let Some(privacy) = &user.privacy {
                v3.insert(
                    "priv_protocol".into(),
                    serde_json::to_value(privacy.protocol).unwrap_or_default(),
                );
                v3.insert(
                    "priv_password".into(),
                    Value::String(privacy.password.expose().to_owned()),
                );
            }
            map.insert("v3".into(), Value::Object(v3));
        }
        map.insert("interval".into(), Value::from(self.interval));
        map.insert("timeout_ms".into(), Value::from(self.timeout_ms));
        map.insert("retries".into(), Value::from(self.retries));
        map.insert(
            "interfaces".into(),
            serde_json::to_value(&self.interfaces).unwrap_or_default(),
        );
        map.insert(
            "oids".into(),
            serde_json::to_value(&self.oids).unwrap_or_default(),
        );
        map.insert(
            "log_sources".into(),
            serde_json::to_value(&self.log_sources).unwrap_or_default(),
        );
        map.insert(
            "tags".into(),
            Value::Array(self.tags.iter().cloned().map(Value::String).collect()),
        );
        map.insert(
            "live_interval_ms".into(),
            Value::from(self.live_interval_ms),
        );
        map.insert("poll_errors".into(), Value::Bool(self.poll_errors));
        map
    }

    /// Applies a partial update (a JSON object with some of the device's fields) and
    /// validates the result. Secrets not given are kept; `v3` keys are merged one by one.
    /// The name (and so the id) cannot change.
    pub fn updated(&self, patch: &[u8]) -> Result<Self, ValidationError> {
        let value: Value = serde_json::from_slice(patch)
            .map_err(|e| ValidationError::new("body", format!("body is not valid JSON: {e}")))?;
        let Value::Object(patch) = value else {
            return Err(ValidationError::new("body", "body must be a JSON object"));
        };
        let mut merged = self.to_input();
        for (key, value) in patch {
            match (key.as_str(), value) {
                ("v3", Value::Object(changes)) => {
                    let mut v3 = match merged.remove("v3") {
                        Some(Value::Object(old)) => old,
                        _ => Map::new(),
                    };
                    for (k, v) in changes {
                        if v.is_null() {
                            v3.remove(&k);
                        } else {
                            v3.insert(k, v);
                        }
                    }
                    merged.insert("v3".into(), Value::Object(v3));
                }
                (_, Value::Null) => {
                    merged.remove(&key);
                }
                (_, v) => {
                    merged.insert(key, v);
                }
            }
        }
        if merged.get("version").and_then(Value::as_str) != Some("3") {
            merged.remove("v3");
        }
        let device = Self::from_json_object(&merged)?;
        if device.id != self.id {
            return Err(ValidationError::new(
                "name",
                "a device's name cannot change; add a new device instead",
            ));
        }
        Ok(device)
    }

    /// Parses and validates a device sent by a user as a JSON body.
    ///
    /// Fields: `name` and `address` (required), `version` (default `"2c"`), `community`
    /// (default `"public"`), `interval` (seconds, default 10), `interfaces` (ifIndex list),
    /// `oids` (extra OIDs), `tags` (see [`Device::tags`]). Unknown fields are refused, so a
    /// typo is not silently ignored.
    pub fn from_json_body(body: &[u8]) -> Result<Self, ValidationError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ValidationError::new("body", format!("body is not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(ValidationError::new("body", "body must be a JSON object"));
        };
        Self::from_json_object(&map)
    }

    /// Like [`Device::from_json_body`], from an already parsed object.
    pub fn from_json_object(map: &Map<String, Value>) -> Result<Self, ValidationError> {
        if let Some(unknown) = map
            .keys()
            .find(|k| !INPUT_FIELDS.contains(&k.as_str()) && k.as_str() != "id")
        {
            return Err(ValidationError::new(unknown.clone(), "unknown field"));
        }
        let name = DeviceName::parse(required_str(map, "name")?)
            .map_err(|m| ValidationError::new("name", m))?;
        let address = Address::parse(required_str(map, "address")?)
            .map_err(|m| ValidationError::new("address", m))?;
        let version = match optional_str(map, "version")? {
            None => SnmpVersion::V2c,
            Some(v) => SnmpVersion::parse(v).map_err(|m| ValidationError::new("version", m))?,
        };
        let community = Community::parse(optional_str(map, "community")?.unwrap_or("public"))
            .map_err(|m| ValidationError::new("community", m))?;
        let v3 = match map.get("v3") {
            None | Some(Value::Null) => None,
            Some(v) => Some(UsmUser::from_json(v)?),
        };
        match (version, &v3) {
            (SnmpVersion::V3, None) => {
                return Err(ValidationError::new(
                    "v3",
                    "version 3 needs a v3 object with at least a user",
                ))
            }
            (SnmpVersion::V1 | SnmpVersion::V2c, Some(_)) => {
                return Err(ValidationError::new(
                    "v3",
                    "v3 settings need \"version\": \"3\"",
                ))
            }
            _ => {}
        }
        let timeout_ms = bounded_number(map, "timeout_ms", 100, 60_000, DEFAULT_TIMEOUT_MS)?;
        let retries = bounded_number(map, "retries", 0, 5, DEFAULT_RETRIES)?;
        let live_interval_ms = bounded_number(map, "live_interval_ms", 0, MAX_LIVE_INTERVAL_MS, 0)
            .ok()
            .filter(|ms| *ms == 0 || *ms >= MIN_LIVE_INTERVAL_MS)
            .ok_or_else(|| {
                ValidationError::new(
                    "live_interval_ms",
                    format!(
                        "must be 0 (the scheduler's) or a whole number of milliseconds from \
                         {MIN_LIVE_INTERVAL_MS} to {MAX_LIVE_INTERVAL_MS}"
                    ),
                )
            })?;
        let poll_errors = match map.get("poll_errors") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(on)) => *on,
            Some(_) => {
                return Err(ValidationError::new(
                    "poll_errors",
                    "must be a boolean (true or false)",
                ))
            }
        };
        let interval = match map.get("interval") {
            None | Some(Value::Null) => DEFAULT_INTERVAL_SECS,
            Some(v) => parse_interval(v)?,
        };
        let interfaces = match map.get("interfaces") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => parse_interfaces(v)?,
        };
        let oids = match map.get("oids") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => parse_oids(v)?,
        };
        let log_sources = match map.get("log_sources") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => parse_log_sources(v)?,
        };
        let tags = match map.get("tags") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => parse_tags(v)?,
        };
        let id = DeviceId::from_name(&name);
        if let Some(given) = map.get("id") {
            if given.as_str() != Some(id.as_str()) {
                return Err(ValidationError::new(
                    "id",
                    "the id is derived from the name and cannot be chosen",
                ));
            }
        }
        Ok(Self {
            id,
            name,
            address,
            version,
            community,
            v3,
            interval,
            timeout_ms,
            retries,
            interfaces,
            oids,
            log_sources,
            tags,
            live_interval_ms,
            poll_errors,
        })
    }
}

fn bounded_number(
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
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                ValidationError::new(field, format!("must be a whole number from {min} to {max}"))
            }),
    }
}

fn default_timeout_ms() -> u32 {
    DEFAULT_TIMEOUT_MS
}

fn default_poll_errors() -> bool {
    true
}

fn default_retries() -> u32 {
    DEFAULT_RETRIES
}

/// A required string field of a JSON object.
pub(crate) fn required_str<'a>(
    map: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a str, ValidationError> {
    optional_str(map, field)?.ok_or_else(|| ValidationError::new(field, "is required"))
}

/// An optional string field of a JSON object (`null` counts as absent).
pub(crate) fn optional_str<'a>(
    map: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ValidationError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ValidationError::new(field, "must be a string")),
    }
}

fn parse_interval(v: &Value) -> Result<u32, ValidationError> {
    let err = || {
        ValidationError::new(
            "interval",
            format!(
                "must be a whole number of seconds from {MIN_INTERVAL_SECS} to {MAX_INTERVAL_SECS}"
            ),
        )
    };
    let secs = v.as_u64().ok_or_else(err)?;
    if !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&secs) {
        return Err(err());
    }
    u32::try_from(secs).map_err(|_| err())
}

fn parse_interfaces(v: &Value) -> Result<Vec<InterfaceRef>, ValidationError> {
    let field = "interfaces";
    let items = v.as_array().ok_or_else(|| {
        ValidationError::new(
            field,
            "must be a list of interface names or ifIndex numbers",
        )
    })?;
    if items.len() > MAX_INTERFACES {
        return Err(ValidationError::new(
            field,
            format!("at most {MAX_INTERFACES} interfaces"),
        ));
    }
    let mut out: Vec<InterfaceRef> = Vec::with_capacity(items.len());
    for item in items {
        let chosen = match item {
            Value::String(name) => {
                let name = name.trim();
                if name.is_empty()
                    || name.chars().count() > 255
                    || name.chars().any(char::is_control)
                {
                    return Err(ValidationError::new(
                        field,
                        format!("{item} is not an interface name (1 to 255 printable characters)"),
                    ));
                }
                InterfaceRef::Name(name.to_owned())
            }
            _ => {
                let index = item
                    .as_u64()
                    .filter(|n| (1..=2_147_483_647).contains(n))
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        ValidationError::new(
                            field,
                            format!("{item} is neither an interface name nor an ifIndex (1 to 2147483647)"),
                        )
                    })?;
                InterfaceRef::Index(index)
            }
        };
        if !out.contains(&chosen) {
            out.push(chosen);
        }
    }
    Ok(out)
}

/// Most extra log source addresses per device.
pub const MAX_LOG_SOURCES: usize = 16;

fn parse_log_sources(v: &Value) -> Result<Vec<std::net::IpAddr>, ValidationError> {
    let field = "log_sources";
    let items = v
        .as_array()
        .ok_or_else(|| ValidationError::new(field, "must be a list of IP addresses"))?;
    if items.len() > MAX_LOG_SOURCES {
        return Err(ValidationError::new(
            field,
            format!("at most {MAX_LOG_SOURCES} addresses"),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let ip = item
            .as_str()
            .and_then(|t| t.trim().parse::<std::net::IpAddr>().ok())
            .ok_or_else(|| ValidationError::new(field, format!("{item} is not an IP address")))?;
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}

/// Most tags per device.
pub const MAX_TAGS: usize = 16;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 32;

/// Checks one tag: surrounding white space trimmed, then 1 to [`MAX_TAG_CHARS`] of ASCII
/// letters, digits and `-_.:/`; returned lower-cased. For devices' tags and for anything that
/// selects devices by tag, so both are written alike.
pub fn parse_tag(raw: &str) -> Result<String, String> {
    let tag = raw.trim();
    let ok = (1..=MAX_TAG_CHARS).contains(&tag.len())
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b));
    if !ok {
        return Err(format!(
            "{raw:?} is not a tag: 1 to {MAX_TAG_CHARS} ASCII letters, digits and -_.:/"
        ));
    }
    Ok(tag.to_ascii_lowercase())
}

fn parse_tags(v: &Value) -> Result<Vec<String>, ValidationError> {
    let field = "tags";
    let items = v
        .as_array()
        .ok_or_else(|| ValidationError::new(field, "must be a list of strings"))?;
    if items.len() > MAX_TAGS {
        return Err(ValidationError::new(
            field,
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let text = item
            .as_str()
            .ok_or_else(|| ValidationError::new(field, format!("{item} is not a string")))?;
        let tag = parse_tag(text).map_err(|m| ValidationError::new(field, m))?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

fn parse_oids(v: &Value) -> Result<Vec<Oid>, ValidationError> {
    let field = "oids";
    let items = v
        .as_array()
        .ok_or_else(|| ValidationError::new(field, "must be a list of OID strings"))?;
    if items.len() > MAX_EXTRA_OIDS {
        return Err(ValidationError::new(
            field,
            format!("at most {MAX_EXTRA_OIDS} OIDs"),
        ));
    }
    let mut out: Vec<Oid> = Vec::with_capacity(items.len());
    for item in items {
        let text = item
            .as_str()
            .ok_or_else(|| ValidationError::new(field, format!("{item} is not an OID string")))?;
        let oid = Oid::parse(text).map_err(|m| ValidationError::new(field, m))?;
        if !out.contains(&oid) {
            out.push(oid);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Device, ValidationError> {
        Device::from_json_body(body.as_bytes())
    }

    #[test]
    fn a_full_device_parses() {
        let d = parse(
            r#"{"name": "core-1", "address": "192.0.2.1:161", "version": "2c", "community": "public",
                "interval": 10, "interfaces": [1, 2], "oids": ["1.3.6.1.2.1.1.5.0"]}"#,
        )
        .expect("valid");
        assert_eq!(d.id.as_str(), "core-1");
        assert_eq!(d.address.to_string(), "192.0.2.1:161");
        assert_eq!(
            d.interfaces,
            vec![InterfaceRef::Index(1), InterfaceRef::Index(2)]
        );
        assert_eq!(d.oids[0].to_string(), "1.3.6.1.2.1.1.5.0");
    }

    #[test]
    fn defaults_fill_the_optional_fields() {
        let d = parse(r#"{"name": "Edge Router #2", "address": "edge.example"}"#).expect("valid");
        assert_eq!(d.id.as_str(), "edge-router-2");
        assert_eq!(d.address.port, 161);
        assert_eq!(d.version, SnmpVersion::V2c);
        assert_eq!(d.community.expose(), "public");
        assert_eq!(d.interval, 10);
    }

    #[test]
    fn each_bad_input_names_its_field() {
        let cases = [
            ("not json", "body"),
            ("[1, 2]", "body"),
            (r#"{"address": "192.0.2.1"}"#, "name"),
            (r#"{"name": "", "address": "192.0.2.1"}"#, "name"),
            (r#"{"name": "   ", "address": "192.0.2.1"}"#, "name"),
            (r#"{"name": "---", "address": "192.0.2.1"}"#, "name"),
            (r#"{"name": 5, "address": "192.0.2.1"}"#, "name"),
            (r#"{"name": "a"}"#, "address"),
            (r#"{"name": "a", "address": "not an address"}"#, "address"),
            (r#"{"name": "a", "address": "192.0.2.1:70000"}"#, "address"),
            (
                r#"{"name": "a", "address": "192.0.2.1", "version": "4"}"#,
                "version",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "version": 2}"#,
                "version",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "poll_errors": "yes"}"#,
                "poll_errors",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "poll_errors": 1}"#,
                "poll_errors",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "interval": 0}"#,
                "interval",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "interval": 0.5}"#,
                "interval",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "interval": "10"}"#,
                "interval",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "live_interval_ms": 50}"#,
                "live_interval_ms",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "live_interval_ms": -1}"#,
                "live_interval_ms",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "oids": ["1.3.x"]}"#,
                "oids",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "oids": "1.3.6"}"#,
                "oids",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "log_sources": ["192.0.2.300"]}"#,
                "log_sources",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "log_sources": "192.0.2.2"}"#,
                "log_sources",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "tags": ["no spaces"]}"#,
                "tags",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "tags": "core"}"#,
                "tags",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "interfaces": [0]}"#,
                "interfaces",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "interfaces": [""]}"#,
                "interfaces",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "community": ""}"#,
                "community",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "comunity": "x"}"#,
                "comunity",
            ),
            (r#"{"name": "a", "address": "192.0.2.1", "id": "b"}"#, "id"),
            (
                r#"{"name": "a", "address": "192.0.2.1", "version": "3"}"#,
                "v3",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "v3": {"user": "u"}}"#,
                "v3",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "version": "3", "v3": {}}"#,
                "v3.user",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "timeout_ms": 50}"#,
                "timeout_ms",
            ),
            (
                r#"{"name": "a", "address": "192.0.2.1", "retries": 9}"#,
                "retries",
            ),
        ];
        for (body, field) in cases {
            let err = parse(body).expect_err(body);
            assert_eq!(err.field, field, "{body}: {err}");
            assert!(!err.message.is_empty());
        }
    }

    #[test]
    fn tags_are_trimmed_lower_cased_and_kept_once_in_order() {
        let longest = "x".repeat(MAX_TAG_CHARS);
        let most: Vec<String> = (0..MAX_TAGS).map(|n| format!("t{n}")).collect();
        let cases: [(String, Vec<String>); 8] = [
            ("null".into(), vec![]),
            ("[]".into(), vec![]),
            (r#"["core"]"#.into(), vec!["core".into()]),
            (
                r#"[" Core ", "site:PAR/1", "a-b_c.d"]"#.into(),
                vec!["core".into(), "site:par/1".into(), "a-b_c.d".into()],
            ),
            (
                r#"["b", "a", "B", " a "]"#.into(),
                vec!["b".into(), "a".into()],
            ),
            (format!("[{longest:?}]"), vec![longest.clone()]),
            (serde_json::to_string(&most).expect("json"), most.clone()),
            (
                r#"["0", "/", ":"]"#.into(),
                vec!["0".into(), "/".into(), ":".into()],
            ),
        ];
        for (tags, want) in cases {
            let body = format!(r#"{{"name": "a", "address": "192.0.2.1", "tags": {tags}}}"#);
            let d = parse(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(d.tags, want, "{body}");
        }
        let d = parse(r#"{"name": "a", "address": "192.0.2.1"}"#).expect("no tags");
        assert!(d.tags.is_empty());
    }

    #[test]
    fn a_bad_tag_is_named_in_the_error() {
        let too_long = "x".repeat(MAX_TAG_CHARS + 1);
        let too_many: Vec<String> = (0..=MAX_TAGS).map(|n| format!("t{n}")).collect();
        let cases: [(String, String); 11] = [
            (r#""core""#.into(), "must be a list of strings".into()),
            (
                r#"{"core": true}"#.into(),
                "must be a list of strings".into(),
            ),
            (r#"["ok", 5]"#.into(), "5 is not a string".into()),
            (r#"["ok", null]"#.into(), "null is not a string".into()),
            (r#"[""]"#.into(), r#""" is not a tag"#.into()),
            (r#"["   "]"#.into(), r#""   " is not a tag"#.into()),
            (
                r#"["two words"]"#.into(),
                r#""two words" is not a tag"#.into(),
            ),
            (r#"["a;b"]"#.into(), r#""a;b" is not a tag"#.into()),
            (r#"["café"]"#.into(), "\"café\" is not a tag".into()),
            (r#"["a\"b\nc"]"#.into(), r#""a\"b\nc" is not a tag"#.into()),
            (
                format!("[{too_long:?}]"),
                format!("{too_long:?} is not a tag"),
            ),
        ];
        let too_many = (
            serde_json::to_string(&too_many).expect("json"),
            format!("at most {MAX_TAGS} tags"),
        );
        for (tags, want) in cases.into_iter().chain([too_many]) {
            let body = format!(r#"{{"name": "a", "address": "192.0.2.1", "tags": {tags}}}"#);
            let err = parse(&body).expect_err(&body);
            assert_eq!(err.field, "tags", "{body}: {err}");
            assert!(err.message.contains(&want), "{body}: {err}");
        }
    }

    #[test]
    fn tags_show_in_the_view_and_survive_updates() {
        let d = parse(r#"{"name": "a", "address": "192.0.2.1", "tags": ["Core", "site:par"]}"#)
            .expect("valid");
        assert!(d.has_tag("core") && d.has_tag(" CORE ") && d.has_tag("site:par"));
        assert!(!d.has_tag("cor") && !d.has_tag(""));
        let view = serde_json::to_value(d.view()).expect("json");
        assert_eq!(view["tags"], serde_json::json!(["core", "site:par"]));
        let renamed = d.updated(br#"{"interval": 30}"#).expect("update");
        assert_eq!(renamed.tags, d.tags);
        let retagged = d.updated(br#"{"tags": ["edge"]}"#).expect("retag");
        assert_eq!(retagged.tags, ["edge"]);
        let untagged = d.updated(br#"{"tags": null}"#).expect("untag");
        assert!(untagged.tags.is_empty());
        assert_eq!(
            d.updated(br#"{"tags": ["bad tag"]}"#)
                .expect_err("bad")
                .field,
            "tags"
        );
        // Devices stored before tags existed read back untagged.
        let mut stored = serde_json::to_value(&d).expect("json");
        stored.as_object_mut().expect("object").remove("tags");
        let old: Device = serde_json::from_value(stored).expect("old device");
        assert!(old.tags.is_empty());
    }

    #[test]
    fn ids_are_safe_tokens() {
        let name = DeviceName::parse("Core Router (Paris) / 1").expect("valid");
        let id = DeviceId::from_name(&name);
        assert_eq!(id.as_str(), "core-router-paris-1");
        assert!(DeviceId::parse(id.as_str()).is_ok());
        for bad in ["", "A", "a.b", "a*", "a>", "../x", "-a", "a b"] {
            assert!(DeviceId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn updates_keep_secrets_not_given() {
        let d = parse(
            r#"{"name": "r", "address": "192.0.2.1", "version": "3", "community": "c0mm",
                "v3": {"user": "u", "auth_protocol": "sha", "auth_password": "authpass1",
                       "priv_protocol": "aes", "priv_password": "privpass1"}}"#,
        )
        .expect("valid");
        let changed = d
            .updated(br#"{"interval": 30, "v3": {"priv_password": "newpriv99"}}"#)
            .expect("update");
        assert_eq!(changed.interval, 30);
        assert_eq!(changed.live_interval_ms, 0, "the scheduler's unless set");
        let slower = changed
            .updated(br#"{"live_interval_ms": 5000}"#)
            .expect("live interval");
        assert_eq!((slower.live_interval_ms, slower.interval), (5000, 30));
        let v3 = changed.v3.as_ref().expect("v3");
        assert_eq!(
            v3.auth.as_ref().map(|a| a.password.expose()),
            Some("authpass1")
        );
        assert_eq!(
            v3.privacy.as_ref().map(|p| p.password.expose()),
            Some("newpriv99")
        );
        assert_eq!(changed.community.expose(), "c0mm");
        assert_eq!(
            d.updated(br#"{"name": "other"}"#)
                .expect_err("rename")
                .field,
            "name"
        );
        assert_eq!(
            d.updated(br#"{"interval": 0}"#).expect_err("bad").field,
            "interval"
        );
        let v2 = d
            .updated(br#"{"version": "2c", "community": "newcomm"}"#)
            .expect("to v2c");
        assert!(v2.v3.is_none());
        assert_eq!(v2.community.expose(), "newcomm");
    }

    #[test]
    fn secrets_do_not_show() {
        let d = parse(r#"{"name": "a", "address": "192.0.2.1", "community": "s3cret"}"#)
            .expect("valid");
        assert!(!format!("{d:?}").contains("s3cret"));
        let view = serde_json::to_string(&d.view()).expect("json");
        assert!(!view.contains("s3cret"));
        let stored: Device =
            serde_json::from_str(&serde_json::to_string(&d).expect("json")).expect("round trip");
        assert_eq!(stored, d);
    }

    #[test]
    fn poll_errors_is_on_unless_turned_off_and_survives_updates() {
        let parse = |body: &str| Device::from_json_body(body.as_bytes());
        let d = parse(r#"{"name": "a", "address": "192.0.2.1"}"#).expect("device");
        assert!(d.poll_errors, "on by default");
        assert_eq!(
            serde_json::to_value(d.view()).expect("view")["poll_errors"],
            true
        );
        assert_eq!(d.to_input()["poll_errors"], true);
        let off = d.updated(br#"{"poll_errors": false}"#).expect("off");
        assert!(!off.poll_errors);
        assert!(
            !off.updated(br#"{"interval": 30}"#)
                .expect("kept")
                .poll_errors
        );
        assert!(
            off.updated(br#"{"poll_errors": null}"#)
                .expect("reset")
                .poll_errors
        );
        let err = d
            .updated(br#"{"poll_errors": "no"}"#)
            .expect_err("not a boolean");
        assert_eq!(err.field, "poll_errors");
        // Devices stored before the setting existed read back with it on.
        let mut stored = serde_json::to_value(&off).expect("json");
        stored
            .as_object_mut()
            .expect("object")
            .remove("poll_errors");
        let old: Device = serde_json::from_value(stored).expect("old device");
        assert!(old.poll_errors);
    }
}
