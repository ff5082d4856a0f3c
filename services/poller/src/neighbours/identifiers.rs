//! LLDP and CDP values as text. Chassis and port IDs are read by their LLDP-MIB subtype: a
//! MAC address as `aa:bb:cc:dd:ee:ff`, a network address (an IANA address family, then the
//! address) as an IP address; any other ID is shown as text when it reads as text and as
//! colon-separated hex when it does not (see [`id_text`]). Descriptions and names are always
//! text ([`text`]). Everything follows discovery's text rules: control characters dropped,
//! at most [`MAX_TEXT_CHARS`] characters.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::device_values::{clean_text, MAX_TEXT_CHARS};

/// What an ID's subtype says its bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// A MAC address (six bytes).
    Mac,
    /// An IANA address family number, then the address.
    NetworkAddress,
    /// Anything else: names, aliases, locally assigned IDs.
    Other,
}

impl IdKind {
    /// By LldpChassisIdSubtype: 4 macAddress, 5 networkAddress.
    pub fn of_chassis(subtype: Option<u64>) -> Self {
        match subtype {
            Some(4) => Self::Mac,
            Some(5) => Self::NetworkAddress,
            _ => Self::Other,
        }
    }

    /// By LldpPortIdSubtype: 3 macAddress, 4 networkAddress.
    pub fn of_port(subtype: Option<u64>) -> Self {
        match subtype {
            Some(3) => Self::Mac,
            Some(4) => Self::NetworkAddress,
            _ => Self::Other,
        }
    }
}

/// A chassis or port ID as text. A MAC address that is not six bytes long, or a network
/// address of another family or length, is shown as [`id_text`] shows any ID (some agents
/// send a MAC address already written out, e.g. `8c:60:4f:19:16:7c`, under the MAC subtype).
pub fn format_id(bytes: &[u8], kind: IdKind) -> String {
    match kind {
        IdKind::Mac if bytes.len() == 6 => hex(bytes),
        IdKind::NetworkAddress => match bytes {
            [1, address @ ..] | [2, address @ ..] => ip_of(address)
                .filter(|ip| ip.is_ipv4() == (bytes[0] == 1))
                .map_or_else(|| id_text(bytes), |ip| ip.to_string()),
            _ => id_text(bytes),
        },
        _ => id_text(bytes),
    }
}

/// An ID that should read as text: padding (trailing NULs and spaces, which some agents
/// send to fill a fixed-size field) is dropped; when at most half of what is left is
/// unreadable (control characters, or bytes that are not UTF-8), it is text with those
/// characters dropped or replaced (U+FFFD), as [`text`] gives it; otherwise it is binary and
/// shown as colon-separated hex of every byte, padding included, so no two IDs look alike.
pub fn id_text(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0 && b != b' ')
        .map_or(0, |last| last + 1);
    let decoded = String::from_utf8_lossy(&bytes[..end]);
    let (all, unreadable) = decoded.chars().fold((0usize, 0usize), |(all, bad), c| {
        (
            all + 1,
            bad + usize::from(c.is_control() || c == char::REPLACEMENT_CHARACTER),
        )
    });
    if unreadable * 2 > all {
        hex(bytes)
    } else {
        clean_text(&decoded)
    }
}

/// A name or description: UTF-8 (invalid sequences replaced), control characters dropped.
pub fn text(bytes: &[u8]) -> String {
    clean_text(&String::from_utf8_lossy(bytes))
}

/// Bytes as `aa:bb:cc`, cut to what fits in [`MAX_TEXT_CHARS`].
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(MAX_TEXT_CHARS.div_ceil(3))
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Four bytes as IPv4, sixteen as IPv6.
pub fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Some(IpAddr::V6(Ipv6Addr::from(v6)))
    } else {
        None
    }
}

/// The address an lldpRemManAddrTable index names after its TimeMark.LocalPortNum.RemIndex
/// arcs: lldpRemManAddrSubtype (1 IPv4, 2 IPv6; other families are not addresses netpulse
/// can reach), then lldpRemManAddr as a length and one arc per byte.
pub fn management_address(arcs: &[u32]) -> Option<IpAddr> {
    let [family, length, address @ ..] = arcs else {
        return None;
    };
    let wanted = match family {
        1 => 4,
        2 => 16,
        _ => return None,
    };
    if *length as usize != wanted || address.len() != wanted {
        return None;
    }
    let bytes = address
        .iter()
        .map(|&arc| u8::try_from(arc).ok())
        .collect::<Option<Vec<u8>>>()?;
    ip_of(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_format_by_their_subtype() {
        let v6 = [
            2, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        ];
        let cases: Vec<(&[u8], IdKind, &str)> = vec![
            (
                &[0x00, 0x1b, 0x2c, 0xaa, 0xfe, 0x00],
                IdKind::Mac,
                "00:1b:2c:aa:fe:00",
            ),
            // Written out already, under the MAC subtype: kept as the text it is.
            (b"8c:60:4f:19:16:7c", IdKind::Mac, "8c:60:4f:19:16:7c"),
            (&[1, 192, 0, 2, 7], IdKind::NetworkAddress, "192.0.2.7"),
            (&v6, IdKind::NetworkAddress, "2001:db8::1"),
            // The IPv4 family with sixteen bytes is no address: binary, so hex.
            (
                &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                IdKind::NetworkAddress,
                "01:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01",
            ),
            (b"Gi0/1", IdKind::Other, "Gi0/1"),
            // NUL padding, as the recordings have it.
            (b"Eth1/21\0\0\0\0\0\0\0\0\0", IdKind::Other, "Eth1/21"),
            (b"17\0\0\0\0\0\0\0\0\0\0\0\0\0\0", IdKind::Other, "17"),
            // A MAC address under a subtype that says text: binary, so hex, its trailing
            // zero byte included.
            (
                &[0x8c, 0x60, 0x4f, 0x19, 0x1b, 0x00],
                IdKind::Other,
                "8c:60:4f:19:1b:00",
            ),
            // Mostly text with a stray byte that is not UTF-8: text.
            (b"port\xff7", IdKind::Other, "port\u{fffd}7"),
            (
                b"<img src=x onerror=alert(1)>",
                IdKind::Other,
                "<img src=x onerror=alert(1)>",
            ),
            (b"", IdKind::Mac, ""),
        ];
        for (bytes, kind, want) in cases {
            assert_eq!(format_id(bytes, kind), want, "{bytes:?} as {kind:?}");
        }
        assert_eq!(IdKind::of_chassis(Some(4)), IdKind::Mac);
        assert_eq!(IdKind::of_chassis(Some(5)), IdKind::NetworkAddress);
        assert_eq!(IdKind::of_chassis(Some(3)), IdKind::Other);
        assert_eq!(IdKind::of_port(Some(3)), IdKind::Mac);
        assert_eq!(IdKind::of_port(Some(4)), IdKind::NetworkAddress);
        assert_eq!(IdKind::of_port(Some(5)), IdKind::Other);
        assert_eq!(IdKind::of_port(None), IdKind::Other);
    }

    #[test]
    fn long_values_stay_within_the_text_limit() {
        let binary = vec![0x80u8; 1_000];
        let shown = id_text(&binary);
        assert!(shown.chars().count() <= MAX_TEXT_CHARS, "{}", shown.len());
        assert!(shown.starts_with("80:80:"));
        assert_eq!(text(&[b'a'; 1_000]).chars().count(), MAX_TEXT_CHARS);
        assert_eq!(text(b"line\r\nbreak\x07"), "linebreak");
    }

    #[test]
    fn management_addresses_come_from_the_index() {
        assert_eq!(
            management_address(&[1, 4, 10, 40, 1, 20]),
            Some("10.40.1.20".parse().expect("ip"))
        );
        assert_eq!(management_address(&[1, 10, 40, 1, 20]), None, "no length");
        let mut v6 = vec![2, 16, 0x20, 0x01, 0x0d, 0xb8];
        v6.extend([0; 11]);
        v6.push(1);
        assert_eq!(
            management_address(&v6),
            Some("2001:db8::1".parse().expect("ip"))
        );
        // An 802 (MAC) address, as a recording has it: not an IP address.
        assert_eq!(management_address(&[6, 6, 172, 22, 45, 146, 125, 33]), None);
        assert_eq!(management_address(&[1, 4, 10, 40, 1]), None, "short");
        assert_eq!(
            management_address(&[1, 4, 10, 40, 1, 256]),
            None,
            "not a byte"
        );
        assert_eq!(management_address(&[]), None);
    }
}
