//! General SNMP types: an agent's address, object identifiers, the protocol version and the
//! community. Each parses and validates its own text; devices, poll jobs and alert rules are
//! built from them.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest accepted SNMP community, in bytes.
pub const MAX_COMMUNITY_BYTES: usize = 128;
/// The standard SNMP agent port.
pub const DEFAULT_SNMP_PORT: u16 = 161;

/// Where a device's agent listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// An IPv4 literal.
    V4(Ipv4Addr),
    /// An IPv6 literal.
    V6(Ipv6Addr),
    /// A DNS name, resolved at poll time.
    Name(String),
}

/// An agent address: host plus UDP port (161 unless given).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// The host part.
    pub host: Host,
    /// The UDP port, never 0.
    pub port: u16,
}

impl Address {
    /// Parses `192.0.2.1`, `192.0.2.1:1161`, `[2001:db8::1]:161`, `2001:db8::1`, `router.example`
    /// or `router.example:161`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        let (host, port) = if let Some(rest) = raw.strip_prefix('[') {
            let (v6, after) = rest
                .split_once(']')
                .ok_or("an IPv6 address in brackets needs a closing ']'")?;
            let v6 =
                Ipv6Addr::from_str(v6).map_err(|_| format!("'{v6}' is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or("expected ':port' after ']'")?),
            };
            (Host::V6(v6), port)
        } else if let Ok(v6) = Ipv6Addr::from_str(raw) {
            (Host::V6(v6), None)
        } else {
            let (host, port) = match raw.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (raw, None),
            };
            if host.contains(':') {
                return Err("an IPv6 address with a port must be written [address]:port".into());
            }
            if let Ok(v4) = Ipv4Addr::from_str(host) {
                (Host::V4(v4), port)
            } else if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return Err(format!("'{host}' is not an IPv4 address"));
            } else {
                check_host_name(host)?;
                (Host::Name(host.to_ascii_lowercase()), port)
            }
        };
        let port = match port {
            None => DEFAULT_SNMP_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => {
                    return Err(format!("port '{p}' is not a number from 1 to 65535"))
                }
                Ok(n) => n,
            },
        };
        Ok(Self { host, port })
    }

    /// `host:port` as a resolver takes it (`[v6]:port` for IPv6).
    pub fn to_socket_string(&self) -> String {
        self.to_string()
    }
}

fn check_host_name(host: &str) -> Result<(), String> {
    let bad = || format!("'{host}' is neither an IP address nor a valid host name");
    if host.is_empty() || host.len() > 253 {
        return Err(bad());
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    for label in host.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::V4(a) => write!(f, "{a}:{}", self.port),
            Host::V6(a) => write!(f, "[{a}]:{}", self.port),
            Host::Name(n) => write!(f, "{n}:{}", self.port),
        }
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// An SNMP object identifier, such as `1.3.6.1.2.1.1.3.0`.
///
/// At least two arcs; the first is 0, 1 or 2, the second below 40 unless the first is 2;
/// every arc fits in 32 bits (as SNMP requires); at most 128 arcs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(Vec<u32>);

impl Oid {
    /// Parses dotted decimal, with or without a leading dot.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        let body = text.strip_prefix('.').unwrap_or(text);
        let bad = |why: &str| format!("'{raw}' is not an OID: {why}");
        if body.is_empty() {
            return Err(bad("empty"));
        }
        let mut arcs = Vec::new();
        for part in body.split('.') {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("expected numbers separated by dots"));
            }
            arcs.push(
                part.parse::<u32>()
                    .map_err(|_| bad("an arc is larger than 4294967295"))?,
            );
        }
        Self::from_arcs(arcs).map_err(|why| bad(&why))
    }

    /// Builds an OID from its arcs, with the same checks as [`Oid::parse`].
    pub fn from_arcs(arcs: Vec<u32>) -> Result<Self, String> {
        if arcs.len() < 2 {
            return Err("needs at least two arcs".into());
        }
        if arcs.len() > 128 {
            return Err("has more than 128 arcs".into());
        }
        if arcs[0] > 2 {
            return Err("the first arc must be 0, 1 or 2".into());
        }
        if arcs[0] < 2 && arcs[1] >= 40 {
            return Err("the second arc must be below 40 when the first is 0 or 1".into());
        }
        Ok(Self(arcs))
    }

    /// An OID from a table of well-known ones; the arcs must be valid.
    pub(crate) fn known(arcs: &[u32]) -> Self {
        debug_assert!(Self::from_arcs(arcs.to_vec()).is_ok());
        Self(arcs.to_vec())
    }

    /// The arcs.
    pub fn arcs(&self) -> &[u32] {
        &self.0
    }

    /// This OID with one more arc (a table column plus an index, say).
    pub fn child(&self, arc: u32) -> Self {
        let mut arcs = self.0.clone();
        arcs.push(arc);
        Self(arcs)
    }

    /// If `self` is `prefix.N`, returns `N`.
    pub fn index_under(&self, prefix: &Oid) -> Option<u32> {
        match self.0.strip_prefix(prefix.0.as_slice()) {
            Some([n]) => Some(*n),
            _ => None,
        }
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arc) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{arc}")?;
        }
        Ok(())
    }
}

impl Serialize for Oid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Oid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The SNMP protocol version spoken to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnmpVersion {
    /// SNMPv1 (no 64-bit counters).
    #[serde(rename = "1")]
    V1,
    /// SNMPv2c.
    #[serde(rename = "2c")]
    V2c,
    /// SNMPv3 (user-based security, see [`crate::usm`]).
    #[serde(rename = "3")]
    V3,
}

impl SnmpVersion {
    /// Parses `"1"`, `"2c"` or `"3"`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "1" => Ok(Self::V1),
            "2c" => Ok(Self::V2c),
            "3" => Ok(Self::V3),
            other => Err(format!(
                "unknown SNMP version '{other}': expected \"1\", \"2c\" or \"3\""
            )),
        }
    }
}

/// An SNMP community string. A secret: it never appears in logs, `Debug` or API answers.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Community(String);

impl Community {
    /// 1 to 128 printable ASCII characters.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.len() > MAX_COMMUNITY_BYTES {
            return Err(format!("must be at most {MAX_COMMUNITY_BYTES} characters"));
        }
        if !raw.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err("must be printable ASCII".into());
        }
        Ok(Self(raw.to_owned()))
    }

    /// The secret itself, for building SNMP packets only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Community(***)")
    }
}

impl<'de> Deserialize<'de> for Community {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let cases = [
            ("192.0.2.1", Some("192.0.2.1:161")),
            ("192.0.2.1:1161", Some("192.0.2.1:1161")),
            ("[2001:db8::1]:161", Some("[2001:db8::1]:161")),
            ("[2001:db8::1]", Some("[2001:db8::1]:161")),
            ("2001:db8::1", Some("[2001:db8::1]:161")),
            ("Router.Example.net:10161", Some("router.example.net:10161")),
            ("localhost", Some("localhost:161")),
            ("", None),
            ("192.0.2.1:0", None),
            ("192.0.2.1:65536", None),
            ("192.0.2.1:abc", None),
            ("999.0.2.1", None),
            ("[2001:db8::1", None),
            ("[nonsense]:161", None),
            ("bad host!", None),
            ("-bad.example", None),
            ("2001:db8::1:161:x", None),
        ];
        for (raw, want) in cases {
            let got = Address::parse(raw).map(|a| a.to_string()).ok();
            assert_eq!(got.as_deref(), want, "address {raw:?}");
        }
    }

    #[test]
    fn oids() {
        let cases = [
            ("1.3.6.1.2.1.1.5.0", true),
            (".1.3.6.1.2.1.1.5.0", true),
            ("2.999.1", true),
            ("1.3.6.1.2.1.1.5.4294967295", true),
            ("1", false),
            ("", false),
            ("1..3", false),
            ("1.3.6.x", false),
            ("3.1", false),
            ("1.40", false),
            ("1.3.6.1.4294967296", false),
            ("1.3.6.1 ", true),
            ("-1.3", false),
        ];
        for (raw, ok) in cases {
            assert_eq!(Oid::parse(raw).is_ok(), ok, "oid {raw:?}");
        }
        let long = vec!["1"; 129].join(".");
        assert!(Oid::parse(&long).is_err());
    }
}
