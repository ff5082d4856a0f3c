//! Values and OIDs as the snmp2 library decodes them, turned into netpulse's owned types:
//! shared by the poller (responses) and the logs service (notifications).

use crate::messages::SnmpValue;
use crate::snmp::Oid;

/// Converts a value from snmp2 into an owned, typed [`SnmpValue`]. `None` for types that
/// cannot appear in a GET response varbind (PDUs, sequences).
pub fn convert(value: &snmp2::Value<'_>) -> Option<SnmpValue> {
    use snmp2::Value as V;
    Some(match value {
        V::Integer(n) => SnmpValue::Integer(*n),
        V::OctetString(bytes) => {
            SnmpValue::OctetString(String::from_utf8_lossy(bytes).into_owned())
        }
        V::ObjectIdentifier(oid) => SnmpValue::ObjectIdentifier(oid.to_id_string()),
        V::IpAddress([a, b, c, d]) => SnmpValue::IpAddress(format!("{a}.{b}.{c}.{d}")),
        V::Counter32(n) => SnmpValue::Counter32(*n),
        V::Unsigned32(n) => SnmpValue::Unsigned32(*n),
        V::Timeticks(n) => SnmpValue::Timeticks(*n),
        V::Opaque(bytes) => SnmpValue::Opaque(bytes.iter().map(|b| format!("{b:02x}")).collect()),
        V::Counter64(n) => SnmpValue::Counter64(*n),
        V::Null => SnmpValue::Null,
        V::NoSuchObject => SnmpValue::NoSuchObject,
        V::NoSuchInstance => SnmpValue::NoSuchInstance,
        V::EndOfMibView => SnmpValue::EndOfMibView,
        V::Boolean(b) => SnmpValue::Integer(i64::from(*b)),
        _ => return None,
    })
}

/// An OID from snmp2 as netpulse's [`Oid`]; `None` when an arc does not fit or the OID is
/// not valid.
pub fn from_library_oid(oid: &snmp2::Oid<'_>) -> Option<Oid> {
    let arcs = oid
        .iter()?
        .map(|a| u32::try_from(a).ok())
        .collect::<Option<Vec<u32>>>()?;
    Oid::from_arcs(arcs).ok()
}
