//! The values a varbind can carry in a response, and their encoding.

use crate::ber::{tag, BerWriter};

/// One SNMP value as the agent sends it (SMIv2 types plus the v2c exceptions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// INTEGER (also enumerations such as ifOperStatus).
    Integer(i64),
    /// OCTET STRING (also DisplayString and PhysAddress).
    OctetString(Vec<u8>),
    /// NULL.
    Null,
    /// OBJECT IDENTIFIER, by arcs.
    ObjectIdentifier(Vec<u32>),
    /// IpAddress.
    IpAddress([u8; 4]),
    /// Counter32.
    Counter32(u32),
    /// Gauge32.
    Gauge32(u32),
    /// TimeTicks, hundredths of a second.
    TimeTicks(u32),
    /// Opaque, already-encoded bytes.
    Opaque(Vec<u8>),
    /// Counter64 (SNMPv2c only).
    Counter64(u64),
    /// noSuchObject exception (SNMPv2c only).
    NoSuchObject,
    /// noSuchInstance exception (SNMPv2c only).
    NoSuchInstance,
    /// endOfMibView exception (SNMPv2c only).
    EndOfMibView,
}

impl Value {
    /// Writes the value's tag, length and content.
    pub fn encode(&self, writer: &mut BerWriter) {
        match self {
            Value::Integer(value) => writer.integer(*value),
            Value::OctetString(bytes) => writer.primitive(tag::OCTET_STRING, bytes),
            Value::Null => writer.null(),
            Value::ObjectIdentifier(arcs) => writer.oid(arcs),
            Value::IpAddress(address) => writer.primitive(tag::IP_ADDRESS, address),
            Value::Counter32(value) => writer.unsigned(tag::COUNTER32, u64::from(*value)),
            Value::Gauge32(value) => writer.unsigned(tag::GAUGE32, u64::from(*value)),
            Value::TimeTicks(value) => writer.unsigned(tag::TIME_TICKS, u64::from(*value)),
            Value::Opaque(bytes) => writer.primitive(tag::OPAQUE, bytes),
            Value::Counter64(value) => writer.unsigned(tag::COUNTER64, *value),
            Value::NoSuchObject => writer.primitive(tag::NO_SUCH_OBJECT, &[]),
            Value::NoSuchInstance => writer.primitive(tag::NO_SUCH_INSTANCE, &[]),
            Value::EndOfMibView => writer.primitive(tag::END_OF_MIB_VIEW, &[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_encodes_with_its_tag() {
        let cases: Vec<(Value, Vec<u8>)> = vec![
            (Value::Integer(-2), vec![0x02, 0x01, 0xfe]),
            (Value::Integer(6), vec![0x02, 0x01, 0x06]),
            (
                Value::OctetString(b"eth0".to_vec()),
                vec![0x04, 0x04, b'e', b't', b'h', b'0'],
            ),
            (Value::Null, vec![0x05, 0x00]),
            (
                Value::ObjectIdentifier(vec![1, 3, 6, 1, 4, 1, 8072, 3, 2, 10]),
                vec![0x06, 0x0a, 0x2b, 6, 1, 4, 1, 0xbf, 0x08, 3, 2, 10],
            ),
            (
                Value::IpAddress([10, 0, 0, 255]),
                vec![0x40, 0x04, 10, 0, 0, 255],
            ),
            (Value::Counter32(0), vec![0x41, 0x01, 0x00]),
            (
                Value::Counter32(0xdead_beef),
                vec![0x41, 0x05, 0x00, 0xde, 0xad, 0xbe, 0xef],
            ),
            (
                Value::Gauge32(u32::MAX),
                vec![0x42, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff],
            ),
            (Value::TimeTicks(100), vec![0x43, 0x01, 0x64]),
            (
                Value::Opaque(vec![0x9f, 0x78]),
                vec![0x44, 0x02, 0x9f, 0x78],
            ),
            (
                Value::Counter64(u64::MAX),
                vec![
                    0x46, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                ],
            ),
            (Value::Counter64(200), vec![0x46, 0x02, 0x00, 0xc8]),
            (Value::NoSuchObject, vec![0x80, 0x00]),
            (Value::NoSuchInstance, vec![0x81, 0x00]),
            (Value::EndOfMibView, vec![0x82, 0x00]),
        ];
        for (value, expected) in cases {
            let mut writer = BerWriter::new();
            value.encode(&mut writer);
            assert_eq!(writer.as_bytes(), expected.as_slice(), "{value:?}");
        }
    }
}
