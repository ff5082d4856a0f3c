//! Values read from a device as discovery keeps them: text cleaned and bounded, numbers of
//! any integer type.

use netpulse_shared::messages::SnmpValue;

/// Longest text kept from a device (names, descriptions, aliases).
pub const MAX_TEXT_CHARS: usize = 255;

/// Text from a device as discovery keeps it: control characters dropped, at most
/// [`MAX_TEXT_CHARS`] characters, no surrounding white space.
pub fn clean_text(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT_CHARS)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// An OCTET STRING as [`clean_text`]; empty for anything else.
pub fn text(value: Option<&SnmpValue>) -> String {
    match value {
        Some(SnmpValue::OctetString(s)) => clean_text(s),
        _ => String::new(),
    }
}

/// A numeric value as an unsigned number (`None` for negative numbers and other types).
pub fn number(value: Option<&SnmpValue>) -> Option<u64> {
    match value? {
        SnmpValue::Integer(n) => u64::try_from(*n).ok(),
        SnmpValue::Unsigned32(n) | SnmpValue::Counter32(n) | SnmpValue::Timeticks(n) => {
            Some(u64::from(*n))
        }
        SnmpValue::Counter64(n) => Some(*n),
        _ => None,
    }
}
