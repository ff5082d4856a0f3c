//! A small BER (X.690) writer covering what an SNMP agent sends.
//!
//! Everything is written front to back into one `Vec<u8>`. A constructed value
//! ([`BerWriter::constructed`]) reserves one length byte and widens it only when its content
//! turns out to be 128 bytes or longer, so the common small varbind costs no copying.

/// Tags of the types an SNMP agent writes.
pub mod tag {
    /// Universal INTEGER.
    pub const INTEGER: u8 = 0x02;
    /// Universal OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// Universal NULL.
    pub const NULL: u8 = 0x05;
    /// Universal OBJECT IDENTIFIER.
    pub const OBJECT_IDENTIFIER: u8 = 0x06;
    /// Universal SEQUENCE (constructed).
    pub const SEQUENCE: u8 = 0x30;
    /// IpAddress, `[APPLICATION 0]`.
    pub const IP_ADDRESS: u8 = 0x40;
    /// Counter32, `[APPLICATION 1]`.
    pub const COUNTER32: u8 = 0x41;
    /// Gauge32 (also Unsigned32), `[APPLICATION 2]`.
    pub const GAUGE32: u8 = 0x42;
    /// TimeTicks, `[APPLICATION 3]`.
    pub const TIME_TICKS: u8 = 0x43;
    /// Opaque, `[APPLICATION 4]`.
    pub const OPAQUE: u8 = 0x44;
    /// Counter64, `[APPLICATION 6]`.
    pub const COUNTER64: u8 = 0x46;
    /// The noSuchObject exception, `[CONTEXT 0]` primitive.
    pub const NO_SUCH_OBJECT: u8 = 0x80;
    /// The noSuchInstance exception, `[CONTEXT 1]` primitive.
    pub const NO_SUCH_INSTANCE: u8 = 0x81;
    /// The endOfMibView exception, `[CONTEXT 2]` primitive.
    pub const END_OF_MIB_VIEW: u8 = 0x82;
    /// GetResponse-PDU / Response-PDU, `[CONTEXT 2]` constructed.
    pub const GET_RESPONSE: u8 = 0xA2;
}

/// Writes BER-encoded values one after the other.
#[derive(Debug, Default, Clone)]
pub struct BerWriter {
    buf: Vec<u8>,
}

impl BerWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// Number of bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Forgets everything written after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The bytes written, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Appends bytes that are already BER-encoded.
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }

    /// A signed INTEGER in the fewest two's-complement bytes.
    pub fn integer(&mut self, value: i64) {
        let bytes = value.to_be_bytes();
        let skip = redundant_sign_bytes(&bytes);
        self.primitive(tag::INTEGER, &bytes[skip..]);
    }

    /// An unsigned value under `tag` (Counter32, Gauge32, TimeTicks, Counter64): the fewest
    /// bytes, with a leading `0x00` when the top bit would otherwise read as a sign.
    pub fn unsigned(&mut self, tag: u8, value: u64) {
        let bytes = value.to_be_bytes();
        let skip = bytes
            .iter()
            .take(bytes.len() - 1)
            .take_while(|&&b| b == 0)
            .count();
        let digits = &bytes[skip..];
        if digits[0] & 0x80 != 0 {
            self.buf.push(tag);
            self.length(digits.len() + 1);
            self.buf.push(0);
            self.buf.extend_from_slice(digits);
        } else {
            self.primitive(tag, digits);
        }
    }

    /// A primitive value: `tag`, length, `content`.
    pub fn primitive(&mut self, tag: u8, content: &[u8]) {
        self.buf.push(tag);
        self.length(content.len());
        self.buf.extend_from_slice(content);
    }

    /// NULL.
    pub fn null(&mut self) {
        self.buf.extend_from_slice(&[tag::NULL, 0]);
    }

    /// An OBJECT IDENTIFIER from its arcs (see [`encode_oid`] for the rules).
    pub fn oid(&mut self, arcs: &[u32]) {
        let mut content = Vec::with_capacity(arcs.len() + 4);
        encode_oid(arcs, &mut content);
        self.primitive(tag::OBJECT_IDENTIFIER, &content);
    }

    /// A constructed value under `tag` whose content `body` writes.
    pub fn constructed(&mut self, tag: u8, body: impl FnOnce(&mut Self)) {
        self.buf.push(tag);
        self.buf.push(0);
        let start = self.buf.len();
        body(self);
        let content = self.buf.len() - start;
        if content < 0x80 {
            // Fits the byte reserved above (checked just now).
            self.buf[start - 1] = content as u8;
        } else {
            let mut header = Vec::with_capacity(9);
            push_length(&mut header, content);
            self.buf.splice(start - 1..start, header);
        }
    }

    fn length(&mut self, len: usize) {
        push_length(&mut self.buf, len);
    }
}

/// Bytes a definite length header takes for content of `len` bytes.
pub fn length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS as usize / 8 - len.leading_zeros() as usize / 8)
    }
}

/// Bytes a whole INTEGER (tag, length, content) takes.
pub fn integer_len(value: i64) -> usize {
    let bytes = value.to_be_bytes();
    2 + bytes.len() - redundant_sign_bytes(&bytes)
}

/// Bytes a whole constructed value takes around `content` bytes.
pub fn wrapped_len(content: usize) -> usize {
    1 + length_len(content) + content
}

/// Content bytes of an OBJECT IDENTIFIER: the first two arcs folded into `40 * a + b`, then
/// every arc in base 128, high groups first, all but the last group with bit 8 set.
///
/// An OID needs two arcs; a single arc is written as if followed by `0`, none writes nothing.
pub fn encode_oid(arcs: &[u32], out: &mut Vec<u8>) {
    let (first, rest) = match arcs {
        [] => return,
        [a] => (u64::from(*a) * 40, &[][..]),
        [a, b, rest @ ..] => (u64::from(*a) * 40 + u64::from(*b), rest),
    };
    push_base128(out, first);
    for &arc in rest {
        push_base128(out, u64::from(arc));
    }
}

/// Arcs of an OBJECT IDENTIFIER from its content bytes; `None` when the bytes end inside an
/// arc or an arc does not fit 32 bits.
pub fn decode_oid(content: &[u8]) -> Option<Vec<u32>> {
    let mut arcs = Vec::with_capacity(content.len() + 1);
    let mut value: u64 = 0;
    let mut first = true;
    let mut pending = false;
    for &byte in content {
        value = (value << 7) | u64::from(byte & 0x7f);
        if value > u64::from(u32::MAX) * 40 + 39 {
            return None;
        }
        pending = byte & 0x80 != 0;
        if pending {
            continue;
        }
        if first {
            let (a, b) = match value {
                0..=39 => (0, value),
                40..=79 => (1, value - 40),
                _ => (2, value - 80),
            };
            arcs.push(a as u32);
            arcs.push(u32::try_from(b).ok()?);
            first = false;
        } else {
            arcs.push(u32::try_from(value).ok()?);
        }
        value = 0;
    }
    (!pending).then_some(arcs)
}

fn push_base128(out: &mut Vec<u8>, value: u64) {
    let groups = (64 - value.leading_zeros()).div_ceil(7).max(1);
    for group in (0..groups).rev() {
        let bits = ((value >> (7 * group)) & 0x7f) as u8;
        out.push(if group == 0 { bits } else { bits | 0x80 });
    }
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = len.leading_zeros() as usize / 8;
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Leading bytes of a big-endian two's-complement number that only repeat its sign.
fn redundant_sign_bytes(bytes: &[u8; 8]) -> usize {
    bytes
        .windows(2)
        .take_while(|pair| {
            (pair[0] == 0x00 && pair[1] & 0x80 == 0) || (pair[0] == 0xff && pair[1] & 0x80 != 0)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(write: impl FnOnce(&mut BerWriter)) -> Vec<u8> {
        let mut writer = BerWriter::new();
        write(&mut writer);
        writer.into_bytes()
    }

    #[test]
    fn integers_use_the_fewest_twos_complement_bytes() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x02, 0x01, 0x00]),
            (1, &[0x02, 0x01, 0x01]),
            (127, &[0x02, 0x01, 0x7f]),
            (128, &[0x02, 0x02, 0x00, 0x80]),
            (256, &[0x02, 0x02, 0x01, 0x00]),
            (-1, &[0x02, 0x01, 0xff]),
            (-128, &[0x02, 0x01, 0x80]),
            (-129, &[0x02, 0x02, 0xff, 0x7f]),
            (-256, &[0x02, 0x02, 0xff, 0x00]),
            (i64::from(i32::MAX), &[0x02, 0x04, 0x7f, 0xff, 0xff, 0xff]),
            (i64::MIN, &[0x02, 0x08, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for &(value, expected) in cases {
            assert_eq!(written(|w| w.integer(value)), expected, "INTEGER {value}");
            assert_eq!(
                integer_len(value),
                expected.len(),
                "length of INTEGER {value}"
            );
        }
    }

    #[test]
    fn unsigned_values_get_a_leading_zero_when_the_top_bit_is_set() {
        let cases: &[(u8, u64, &[u8])] = &[
            (tag::COUNTER32, 0, &[0x41, 0x01, 0x00]),
            (tag::COUNTER32, 127, &[0x41, 0x01, 0x7f]),
            (tag::COUNTER32, 128, &[0x41, 0x02, 0x00, 0x80]),
            (
                tag::COUNTER32,
                0x8000_0000,
                &[0x41, 0x05, 0x00, 0x80, 0x00, 0x00, 0x00],
            ),
            (
                tag::COUNTER32,
                u64::from(u32::MAX),
                &[0x41, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff],
            ),
            (
                tag::GAUGE32,
                1_000_000_000,
                &[0x42, 0x04, 0x3b, 0x9a, 0xca, 0x00],
            ),
            (tag::TIME_TICKS, 360_000, &[0x43, 0x03, 0x05, 0x7e, 0x40]),
            (
                tag::COUNTER64,
                u64::MAX,
                &[
                    0x46, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                ],
            ),
            (
                tag::COUNTER64,
                1 << 32,
                &[0x46, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00],
            ),
        ];
        for &(tag, value, expected) in cases {
            assert_eq!(
                written(|w| w.unsigned(tag, value)),
                expected,
                "{tag:#x} {value}"
            );
        }
    }

    #[test]
    fn strings_null_and_ip_addresses() {
        assert_eq!(
            written(|w| w.primitive(tag::OCTET_STRING, b"sim-0")),
            [0x04, 0x05, b's', b'i', b'm', b'-', b'0']
        );
        assert_eq!(
            written(|w| w.primitive(tag::OCTET_STRING, b"")),
            [0x04, 0x00]
        );
        assert_eq!(written(BerWriter::null), [0x05, 0x00]);
        assert_eq!(
            written(|w| w.primitive(tag::IP_ADDRESS, &[127, 0, 0, 1])),
            [0x40, 0x04, 127, 0, 0, 1]
        );
        assert_eq!(
            written(|w| w.primitive(tag::END_OF_MIB_VIEW, &[])),
            [0x82, 0x00]
        );
    }

    #[test]
    fn object_identifiers_fold_the_first_arcs_and_split_large_ones() {
        let cases: &[(&[u32], &[u8])] = &[
            (&[1, 3, 6, 1, 2, 1, 1, 5, 0], &[0x2b, 6, 1, 2, 1, 1, 5, 0]),
            (
                &[1, 3, 6, 1, 4, 1, 8072, 3, 2, 10],
                &[0x2b, 6, 1, 4, 1, 0xbf, 0x08, 3, 2, 10],
            ),
            (&[1, 3, 128], &[0x2b, 0x81, 0x00]),
            (&[1, 3, 16_383], &[0x2b, 0xff, 0x7f]),
            (&[1, 3, 16_384], &[0x2b, 0x81, 0x80, 0x00]),
            (&[1, 3, u32::MAX], &[0x2b, 0x8f, 0xff, 0xff, 0xff, 0x7f]),
            (&[2, 100, 3], &[0x81, 0x34, 0x03]),
            (&[0, 0], &[0x00]),
        ];
        for &(arcs, content) in cases {
            let mut expected = vec![tag::OBJECT_IDENTIFIER, content.len() as u8];
            expected.extend_from_slice(content);
            assert_eq!(written(|w| w.oid(arcs)), expected, "{arcs:?}");
            assert_eq!(
                decode_oid(content).as_deref(),
                Some(arcs),
                "decode {arcs:?}"
            );
        }
    }

    #[test]
    fn truncated_or_oversized_oids_do_not_decode() {
        assert_eq!(decode_oid(&[0x2b, 0x81]), None);
        assert_eq!(decode_oid(&[0x2b, 0x9f, 0xff, 0xff, 0xff, 0x7f]), None);
        assert_eq!(decode_oid(&[]), Some(vec![]));
    }

    #[test]
    fn constructed_values_widen_their_length_when_needed() {
        assert_eq!(
            written(|w| w.constructed(tag::SEQUENCE, |w| w.null())),
            [0x30, 0x02, 0x05, 0x00]
        );
        let long = written(|w| {
            w.constructed(tag::SEQUENCE, |w| w.primitive(tag::OCTET_STRING, &[7; 200]))
        });
        assert_eq!(&long[..6], &[0x30, 0x81, 0xcb, 0x04, 0x81, 0xc8]);
        assert_eq!(long.len(), 3 + 3 + 200);
        let longer = written(|w| {
            w.constructed(tag::GET_RESPONSE, |w| {
                w.primitive(tag::OCTET_STRING, &[7; 300])
            })
        });
        assert_eq!(
            &longer[..8],
            &[0xa2, 0x82, 0x01, 0x30, 0x04, 0x82, 0x01, 0x2c]
        );
        assert_eq!(wrapped_len(304), longer.len());
    }

    #[test]
    fn length_headers() {
        for (len, expected) in [
            (0, 1),
            (127, 1),
            (128, 2),
            (255, 2),
            (256, 3),
            (65_535, 3),
            (65_536, 4),
        ] {
            assert_eq!(length_len(len), expected, "{len}");
            let mut out = Vec::new();
            push_length(&mut out, len);
            assert_eq!(out.len(), expected, "{len}");
        }
    }
}
