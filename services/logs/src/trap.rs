//! SNMP notifications (v1 traps, v2c traps and informs) decoded into a [`TrapInfo`], with the
//! answer an inform needs.

use netpulse_shared::logs::{Severity, TrapInfo};
use netpulse_shared::messages::VarBind;
use netpulse_shared::wire::{convert, from_library_oid};

/// sysUpTime.0.
const SYS_UPTIME: &str = "1.3.6.1.2.1.1.3.0";
/// snmpTrapOID.0.
const TRAP_OID: &str = "1.3.6.1.6.3.1.1.4.1.0";
/// snmpTraps: the generic traps of RFC 3584 section 3.
const SNMP_TRAPS: &str = "1.3.6.1.6.3.1.1.5";

/// A decoded notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// What it carries.
    pub info: TrapInfo,
    /// How severe it reads.
    pub severity: Severity,
    /// A one-line summary.
    pub message: String,
    /// For an inform: the Response PDU to send back.
    pub response: Option<Vec<u8>>,
}

/// The name of a generic notification, and how severe it is.
fn generic(trap_oid: &str) -> Option<(&'static str, Severity)> {
    let last = trap_oid.strip_prefix(SNMP_TRAPS)?.strip_prefix('.')?;
    Some(match last {
        "1" => ("coldStart", Severity::Notice),
        "2" => ("warmStart", Severity::Notice),
        "3" => ("linkDown", Severity::Warning),
        "4" => ("linkUp", Severity::Notice),
        "5" => ("authenticationFailure", Severity::Warning),
        "6" => ("egpNeighborLoss", Severity::Warning),
        _ => return None,
    })
}

/// Decodes one datagram. The error says why it is not a notification this receiver takes.
pub fn decode(bytes: &[u8]) -> Result<Notification, String> {
    use snmp2::MessageType;
    let pdu = snmp2::Pdu::from_bytes(bytes).map_err(|e| {
        format!("not an SNMPv1/v2c message ({e:?}); SNMPv3 notifications are not supported")
    })?;
    let version = match pdu.version() {
        Ok(snmp2::Version::V1) => "1",
        Ok(snmp2::Version::V2C) => "2c",
        _ => return Err("unsupported SNMP version".into()),
    };
    let mut varbinds = Vec::new();
    for (oid, value) in pdu.varbinds.clone() {
        let oid = from_library_oid(&oid).ok_or("a variable binding has an invalid OID")?;
        let value = convert(&value).ok_or("a variable binding has an unsupported type")?;
        varbinds.push(VarBind { oid, value });
    }
    let (pdu_kind, trap_oid, uptime_ticks) = match pdu.message_type {
        MessageType::TrapV1 => {
            let v1 = pdu
                .v1_trap_info
                .as_ref()
                .ok_or("v1 trap without its header")?;
            let enterprise =
                from_library_oid(&v1.enterprise).ok_or("v1 trap with an invalid enterprise OID")?;
            // RFC 3584 section 3.1: the notification OID of a v1 trap.
            let oid = if (0..6).contains(&v1.generic_trap) {
                format!("{SNMP_TRAPS}.{}", v1.generic_trap + 1)
            } else {
                format!("{enterprise}.0.{}", v1.specific_trap)
            };
            ("trap", oid, Some(v1.timestamp))
        }
        MessageType::Trap | MessageType::InformRequest => {
            let find = |wanted: &str| varbinds.iter().position(|v| v.oid.to_string() == wanted);
            let uptime = find(SYS_UPTIME).and_then(|i| match varbinds[i].value {
                netpulse_shared::messages::SnmpValue::Timeticks(t) => Some(t),
                _ => None,
            });
            let oid = find(TRAP_OID)
                .and_then(|i| match &varbinds[i].value {
                    netpulse_shared::messages::SnmpValue::ObjectIdentifier(o) => Some(o.clone()),
                    _ => None,
                })
                .ok_or("notification without snmpTrapOID.0")?;
            varbinds.retain(|v| {
                let oid = v.oid.to_string();
                oid != SYS_UPTIME && oid != TRAP_OID
            });
            let kind = if pdu.message_type == MessageType::InformRequest {
                "inform"
            } else {
                "trap"
            };
            (kind, oid, uptime)
        }
        other => return Err(format!("not a notification but a {other:?}")),
    };
    let response = if pdu_kind == "inform" {
        let mut answer = pdu.clone();
        answer.message_type = MessageType::Response;
        Some(
            answer
                .to_bytes()
                .map_err(|e| format!("cannot answer the inform: {e:?}"))?,
        )
    } else {
        None
    };
    let (name, severity) = generic(&trap_oid).unwrap_or(("", Severity::Notice));
    let mut message = if name.is_empty() {
        trap_oid.clone()
    } else {
        name.to_owned()
    };
    for vb in &varbinds {
        if message.len() > 400 {
            message.push_str(" ...");
            break;
        }
        let value = serde_json::to_value(&vb.value)
            .ok()
            .and_then(|v| v.get("value").cloned())
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .unwrap_or_default();
        message.push_str(&format!(" {}={value}", vb.oid));
    }
    Ok(Notification {
        info: TrapInfo {
            version: version.into(),
            pdu: pdu_kind.into(),
            trap_oid,
            uptime_ticks,
            varbinds,
        },
        severity,
        message,
        response,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary bytes never panic the decoder.
        #[test]
        fn any_bytes_decode_or_fail(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&bytes);
        }

        /// Nor do corrupted copies of a real notification.
        #[test]
        fn corrupted_notifications_decode_or_fail(flips in prop::collection::vec((0usize..64, any::<u8>()), 1..6), cut in 0usize..64) {
            // An snmptrap -v 2c linkDown with ifIndex 2, as net-snmp sends it.
            let mut bytes = real_v2c_trap();
            for (at, value) in flips {
                let at = at % bytes.len();
                bytes[at] = value;
            }
            bytes.truncate(bytes.len().saturating_sub(cut));
            let _ = decode(&bytes);
        }
    }

    /// A BER type-length-value.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if content.len() < 128 {
            out.push(u8::try_from(content.len()).expect("short"));
        } else {
            out.extend([0x81, u8::try_from(content.len()).expect("under 256")]);
        }
        out.extend_from_slice(content);
        out
    }

    fn oid(arcs: &[u8]) -> Vec<u8> {
        // Every arc here is below 128; the first two share a byte.
        let mut body = vec![arcs[0] * 40 + arcs[1]];
        body.extend_from_slice(&arcs[2..]);
        tlv(0x06, &body)
    }

    /// An SNMPv2c linkDown trap for ifIndex 2, as an agent sends it.
    fn real_v2c_trap() -> Vec<u8> {
        let varbind = |name: Vec<u8>, value: Vec<u8>| tlv(0x30, &[name, value].concat());
        let varbinds = tlv(
            0x30,
            &[
                varbind(oid(&[1, 3, 6, 1, 2, 1, 1, 3, 0]), tlv(0x43, &[0x10, 0x92])),
                varbind(
                    oid(&[1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0]),
                    oid(&[1, 3, 6, 1, 6, 3, 1, 1, 5, 3]),
                ),
                varbind(oid(&[1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2]), tlv(0x02, &[2])),
            ]
            .concat(),
        );
        let pdu = tlv(
            0xa7,
            &[tlv(0x02, &[7]), tlv(0x02, &[0]), tlv(0x02, &[0]), varbinds].concat(),
        );
        tlv(0x30, &[tlv(0x02, &[1]), tlv(0x04, b"public"), pdu].concat())
    }

    #[test]
    fn a_v2c_link_down_reads_as_a_warning() {
        let n = decode(&real_v2c_trap()).expect("decoded");
        assert_eq!(n.info.version, "2c");
        assert_eq!(n.info.pdu, "trap");
        assert_eq!(n.info.trap_oid, "1.3.6.1.6.3.1.1.5.3");
        assert_eq!(n.info.uptime_ticks, Some(4242));
        assert_eq!(n.info.varbinds.len(), 1);
        assert_eq!(n.severity, Severity::Warning);
        assert_eq!(n.message, "linkDown 1.3.6.1.2.1.2.2.1.1.2=2");
        assert!(n.response.is_none());
    }
}
