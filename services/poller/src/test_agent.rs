//! An in-memory agent for unit tests of walks and discovery: a sorted MIB, optional bugs,
//! and a count of the requests it answered.

use netpulse_shared::messages::{SnmpValue, VarBind};
use netpulse_shared::snmp::Oid;

use crate::snmp::{latin1_bytes, Agent, OctetDecoding, SnmpError};

/// An agent serving a sorted table, with optional bugs. OCTET STRINGs are held as the
/// agent would send them: one character per byte (build them with [`octets`] or [`text`]),
/// and answered as the decoding asked for says.
pub struct FakeAgent {
    pub mib: Vec<(Oid, SnmpValue)>,
    /// Refuse GETBULK above this many repetitions with tooBig.
    pub max_bulk: u32,
    /// After this OID, answer with an earlier one (an agent that loops).
    pub loop_after: Option<Oid>,
    /// Time out every request for an OID at or under this one.
    pub silent_under: Option<Oid>,
    /// Requests answered or timed out.
    pub requests: usize,
    /// How OCTET STRINGs are answered (as the code under test last asked).
    pub decoding: OctetDecoding,
}

/// An OCTET STRING of these bytes.
pub fn octets(bytes: &[u8]) -> SnmpValue {
    SnmpValue::OctetString(bytes.iter().copied().map(char::from).collect())
}

/// An OCTET STRING of this text, UTF-8 encoded.
pub fn text(text: &str) -> SnmpValue {
    octets(text.as_bytes())
}

impl FakeAgent {
    /// A well-behaved agent serving `mib` (sorted here).
    pub fn new(mut mib: Vec<(Oid, SnmpValue)>) -> Self {
        mib.sort_by(|a, b| a.0.cmp(&b.0));
        Self {
            mib,
            max_bulk: 50,
            loop_after: None,
            silent_under: None,
            requests: 0,
            decoding: OctetDecoding::Utf8Lossy,
        }
    }

    fn next_after(&self, oid: &Oid) -> Option<(Oid, SnmpValue)> {
        if self.loop_after.as_ref() == Some(oid) {
            return self.mib.first().cloned();
        }
        self.mib.iter().find(|(o, _)| o > oid).cloned()
    }

    /// Counts a request, and times it out if it is under `silent_under`.
    fn answer(&mut self, oid: &Oid) -> Result<(), SnmpError> {
        self.requests += 1;
        match &self.silent_under {
            Some(silent) if oid.arcs().starts_with(silent.arcs()) => Err(SnmpError::Timeout),
            _ => Ok(()),
        }
    }

    /// A stored value as the agent's decoding gives it.
    fn decoded(&self, value: SnmpValue) -> SnmpValue {
        match (value, self.decoding) {
            (SnmpValue::OctetString(held), OctetDecoding::Utf8Lossy) => {
                let bytes = latin1_bytes(&held).expect("held as one character per byte");
                SnmpValue::OctetString(String::from_utf8_lossy(&bytes).into_owned())
            }
            (value, _) => value,
        }
    }
}

impl Agent for FakeAgent {
    async fn get(&mut self, oids: &[Oid]) -> Result<Vec<VarBind>, SnmpError> {
        if let Some(first) = oids.first() {
            self.answer(first)?;
        }
        Ok(oids
            .iter()
            .map(|o| VarBind {
                oid: o.clone(),
                value: self.decoded(
                    self.mib
                        .iter()
                        .find(|(m, _)| m == o)
                        .map_or(SnmpValue::NoSuchObject, |(_, v)| v.clone()),
                ),
            })
            .collect())
    }

    async fn get_next(&mut self, oid: &Oid) -> Result<Vec<VarBind>, SnmpError> {
        self.answer(oid)?;
        match self.next_after(oid) {
            Some((oid, value)) => Ok(vec![VarBind {
                oid,
                value: self.decoded(value),
            }]),
            None => Err(SnmpError::Status {
                name: "noSuchName",
                status: 2,
                index: 1,
            }),
        }
    }

    async fn get_bulk(&mut self, oid: &Oid, max: u32) -> Result<Vec<VarBind>, SnmpError> {
        self.answer(oid)?;
        if max > self.max_bulk {
            return Err(SnmpError::Status {
                name: "tooBig",
                status: 1,
                index: 0,
            });
        }
        let mut out = Vec::new();
        let mut cursor = oid.clone();
        for _ in 0..max {
            match self.next_after(&cursor) {
                Some((o, v)) => {
                    cursor = o.clone();
                    out.push(VarBind {
                        oid: o,
                        value: self.decoded(v),
                    });
                }
                None => {
                    out.push(VarBind {
                        oid: cursor.clone(),
                        value: SnmpValue::EndOfMibView,
                    });
                    break;
                }
            }
        }
        Ok(out)
    }

    fn set_octet_decoding(&mut self, decoding: OctetDecoding) {
        self.decoding = decoding;
    }
}
