//! Answers one SNMP v1 / v2c request datagram from one device's state.
//!
//! Requests are decoded with `snmp2`; responses are written with [`crate::ber`]. Semantics
//! follow RFC 3416 (v2c: exceptions per varbind, GETBULK) and RFC 1157 (v1: the first failing
//! varbind fails the whole request with noSuchName, and Counter64 objects are invisible, as
//! RFC 3584 asks of a bilingual agent).

use snmp2::{MessageType, Oid, Pdu, Version};
use tokio::time::Instant;

use crate::ber::{decode_oid, integer_len, tag, wrapped_len, BerWriter};
use crate::device::DeviceState;
use crate::mib::{Entry, Lookup, MibView};
use crate::value::Value;

/// Largest UDP payload over IPv4: no response is larger.
pub const MAX_MESSAGE: usize = 65_507;
/// Varbind bytes a GETBULK response stops growing at, so it fits one Ethernet frame.
pub const BULK_VARBIND_BUDGET: usize = 1_400;

/// error-status values used.
mod error_status {
    pub const NO_ERROR: i64 = 0;
    pub const TOO_BIG: i64 = 1;
    pub const NO_SUCH_NAME: i64 = 2;
    pub const NO_ACCESS: i64 = 6;
}

/// Why a datagram goes unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Not a well-formed SNMP message.
    Malformed,
    /// SNMPv3, or a version number that does not exist.
    UnsupportedVersion,
    /// The community is not the device's.
    WrongCommunity,
    /// A PDU an agent does not answer (a response, a trap, GETBULK over v1, ...).
    NotARequest,
}

/// The encoded response to `datagram`, or why there is none.
pub fn respond(
    state: &DeviceState,
    community: &[u8],
    datagram: &[u8],
    now: Instant,
) -> Result<Vec<u8>, Dropped> {
    let pdu = Pdu::from_bytes(datagram).map_err(|error| match error {
        // snmp2 reports SNMPv3 (no USM here) as an authentication failure.
        snmp2::Error::UnsupportedVersion | snmp2::Error::AuthFailure(_) => {
            Dropped::UnsupportedVersion
        }
        _ => Dropped::Malformed,
    })?;
    let version = match pdu.version() {
        Ok(Version::V1) => Version::V1,
        Ok(Version::V2C) => Version::V2C,
        _ => return Err(Dropped::UnsupportedVersion),
    };
    if pdu.community != community {
        return Err(Dropped::WrongCommunity);
    }
    let requested = pdu
        .varbinds
        .clone()
        .map(|(oid, _)| {
            let arcs = decode_oid(oid.as_bytes()).ok_or(Dropped::Malformed)?;
            Ok(Requested { oid, arcs })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let request = Request {
        state,
        table: state.table(),
        v1: version == Version::V1,
        requested: &requested,
        now,
        response: Response::new(version as i64, community, pdu.req_id),
    };
    match (pdu.message_type, version) {
        (MessageType::GetRequest, _) => Ok(request.get()),
        (MessageType::GetNextRequest, _) => Ok(request.get_next()),
        (MessageType::GetBulkRequest, Version::V2C) => Ok(request.get_bulk(
            usize::try_from(pdu.error_status).unwrap_or(usize::MAX),
            usize::try_from(pdu.error_index).unwrap_or(usize::MAX),
        )),
        (MessageType::SetRequest, _) => Ok(request.refuse_set()),
        _ => Err(Dropped::NotARequest),
    }
}

/// One OID of the request: as sent (echoed back verbatim) and as arcs (to look up).
struct Requested<'a> {
    oid: Oid<'a>,
    arcs: Vec<u32>,
}

impl Requested<'_> {
    fn encoded(&self) -> &[u8] {
        self.oid.as_bytes()
    }
}

/// A request being answered.
struct Request<'a> {
    state: &'a DeviceState,
    table: MibView<'a>,
    v1: bool,
    requested: &'a [Requested<'a>],
    now: Instant,
    response: Response<'a>,
}

impl<'a> Request<'a> {
    fn get(mut self) -> Vec<u8> {
        for (position, requested) in self.requested.iter().enumerate() {
            let value = match self.table.get(&requested.arcs) {
                Lookup::Found(entry) if self.visible(entry) => {
                    self.state.value(entry.object, self.now)
                }
                Lookup::Found(_) | Lookup::NoSuchObject if !self.v1 => Value::NoSuchObject,
                Lookup::NoSuchInstance if !self.v1 => Value::NoSuchInstance,
                _ => return self.fail(error_status::NO_SUCH_NAME, position + 1),
            };
            self.response.push(requested.encoded(), &value);
        }
        self.finish_or_too_big()
    }

    fn get_next(mut self) -> Vec<u8> {
        for (position, requested) in self.requested.iter().enumerate() {
            match self.next_entry(self.table.index_after(&requested.arcs)) {
                Some(entry) => {
                    let value = self.state.value(entry.object, self.now);
                    self.response.push(&entry.encoded, &value);
                }
                None if self.v1 => return self.fail(error_status::NO_SUCH_NAME, position + 1),
                None => self
                    .response
                    .push(requested.encoded(), &Value::EndOfMibView),
            }
        }
        self.finish_or_too_big()
    }

    /// GETBULK: the first `non_repeaters` OIDs once, then up to `max_repetitions` rows of
    /// the rest, stopping early at [`BULK_VARBIND_BUDGET`] or when a whole row is past the
    /// end. Never tooBig: it answers with fewer varbinds instead.
    fn get_bulk(mut self, non_repeaters: usize, max_repetitions: usize) -> Vec<u8> {
        let non_repeaters = non_repeaters.min(self.requested.len());
        let (singles, repeaters) = self.requested.split_at(non_repeaters);
        for requested in singles {
            let index = self.table.index_after(&requested.arcs);
            let (oid, value) = match self.table.entry(index) {
                Some(entry) => (&*entry.encoded, self.state.value(entry.object, self.now)),
                None => (requested.encoded(), Value::EndOfMibView),
            };
            if !self.response.try_push(oid, &value, usize::MAX) {
                return self.response.finish(error_status::NO_ERROR, 0);
            }
        }
        let mut cursors: Vec<BulkCursor<'_>> = repeaters
            .iter()
            .map(|requested| BulkCursor {
                next: self.table.index_after(&requested.arcs),
                last: requested.encoded(),
            })
            .collect();
        let mut repeated_any = false;
        'rows: for _ in 0..max_repetitions {
            let mut row_past_end = true;
            for cursor in &mut cursors {
                let value = match self.table.entry(cursor.next) {
                    Some(entry) => {
                        cursor.next += 1;
                        cursor.last = &entry.encoded;
                        row_past_end = false;
                        self.state.value(entry.object, self.now)
                    }
                    None => Value::EndOfMibView,
                };
                // The first repeated varbind goes in whatever its size, so a walk moves on.
                let budget = if repeated_any {
                    BULK_VARBIND_BUDGET
                } else {
                    usize::MAX
                };
                if !self.response.try_push(cursor.last, &value, budget) {
                    break 'rows;
                }
                repeated_any = true;
            }
            if row_past_end {
                break;
            }
        }
        self.response.finish(error_status::NO_ERROR, 0)
    }

    /// Every object is read-only: SET gets noAccess (noSuchName in v1) on its first varbind.
    fn refuse_set(self) -> Vec<u8> {
        if self.requested.is_empty() {
            return self.response.finish(error_status::NO_ERROR, 0);
        }
        let status = if self.v1 {
            error_status::NO_SUCH_NAME
        } else {
            error_status::NO_ACCESS
        };
        self.fail(status, 1)
    }

    /// Whether the request's version can see `entry`.
    fn visible(&self, entry: &Entry) -> bool {
        !(self.v1 && entry.object.is_counter64())
    }

    /// The first entry from `index` on that the request's version can see.
    fn next_entry(&self, mut index: usize) -> Option<&'a Entry> {
        loop {
            let entry = self.table.entry(index)?;
            if self.visible(entry) {
                return Some(entry);
            }
            index += 1;
        }
    }

    /// An error response: the request's OIDs with NULL values, `status` at varbind `index`.
    fn fail(mut self, status: i64, index: usize) -> Vec<u8> {
        self.response.varbinds.truncate(0);
        for requested in self.requested {
            self.response.push(requested.encoded(), &Value::Null);
        }
        self.response
            .finish(status, i64::try_from(index).unwrap_or(i64::MAX))
    }

    fn finish_or_too_big(mut self) -> Vec<u8> {
        if self.response.message_len(error_status::NO_ERROR, 0) <= MAX_MESSAGE {
            return self.response.finish(error_status::NO_ERROR, 0);
        }
        // RFC 3416 answers tooBig with no varbinds; RFC 1157 echoes the request's.
        self.response.varbinds.truncate(0);
        if self.v1 {
            for requested in self.requested {
                self.response.push(requested.encoded(), &Value::Null);
            }
        }
        self.response.finish(error_status::TOO_BIG, 0)
    }
}

/// Where one repeated OID of a GETBULK has got to.
struct BulkCursor<'a> {
    /// Index of the next entry to return.
    next: usize,
    /// The OID returned last (the request's at first): endOfMibView repeats it.
    last: &'a [u8],
}

/// A GetResponse-PDU under construction.
struct Response<'a> {
    version: i64,
    community: &'a [u8],
    request_id: i32,
    /// The varbinds so far, each a complete SEQUENCE.
    varbinds: BerWriter,
}

impl<'a> Response<'a> {
    fn new(version: i64, community: &'a [u8], request_id: i32) -> Self {
        Self {
            version,
            community,
            request_id,
            varbinds: BerWriter::with_capacity(512),
        }
    }

    fn push(&mut self, oid: &[u8], value: &Value) {
        self.varbinds.constructed(tag::SEQUENCE, |writer| {
            writer.primitive(tag::OBJECT_IDENTIFIER, oid);
            value.encode(writer);
        });
    }

    /// Adds a varbind if the varbinds stay within `budget` bytes and the message within
    /// [`MAX_MESSAGE`]; says whether it did.
    fn try_push(&mut self, oid: &[u8], value: &Value, budget: usize) -> bool {
        let mark = self.varbinds.len();
        self.push(oid, value);
        if self.varbinds.len() > budget || self.message_len(error_status::NO_ERROR, 0) > MAX_MESSAGE
        {
            self.varbinds.truncate(mark);
            return false;
        }
        true
    }

    /// Size of the whole message if finished now with this status and index.
    fn message_len(&self, status: i64, index: i64) -> usize {
        let pdu = wrapped_len(
            integer_len(i64::from(self.request_id))
                + integer_len(status)
                + integer_len(index)
                + wrapped_len(self.varbinds.len()),
        );
        wrapped_len(integer_len(self.version) + wrapped_len(self.community.len()) + pdu)
    }

    fn finish(self, status: i64, index: i64) -> Vec<u8> {
        let mut message = BerWriter::with_capacity(self.message_len(status, index));
        message.constructed(tag::SEQUENCE, |message| {
            message.integer(self.version);
            message.primitive(tag::OCTET_STRING, self.community);
            message.constructed(tag::GET_RESPONSE, |pdu| {
                pdu.integer(i64::from(self.request_id));
                pdu.integer(status);
                pdu.integer(index);
                pdu.constructed(tag::SEQUENCE, |list| list.raw(self.varbinds.as_bytes()));
            });
        });
        message.into_bytes()
    }
}

#[cfg(test)]
mod tests;
