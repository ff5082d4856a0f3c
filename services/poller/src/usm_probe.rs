//! SNMPv3 engine discovery, and telling "unknown user" from "wrong password".
//!
//! Discovery (RFC 3414 section 4): a noAuthNoPriv, reportable GET with no engine ID and no
//! user draws a Report carrying the agent's engine ID, boots and time; [`discover`] sends it
//! and reads them. The poller keeps what it found per agent and user, so later polls skip
//! the round trip (see `snmp::Engines`).
//!
//! An agent answers both an unknown user and a wrong password with an unauthenticated
//! Report, which the SNMP library only sees as "not authenticated". The Report's varbind says
//! which it is (RFC 3414 usmStats counters), so after such a failure the poller sends one
//! plain noAuthNoPriv GET for the same user and reads the Report it gets back.
//!
//! Requests are built here with a minimal BER writer. Replies are untrusted: [`engine_of`]
//! reads exactly the fields it needs, bounds-checked, and [`classify`] only looks for the
//! usmStats OIDs.

use std::time::Duration;

use tokio::net::UdpSocket;

/// What the agent's Report said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// usmStatsUnknownUserNames.
    UnknownUser,
    /// usmStatsUnsupportedSecLevels: the user exists (at another level).
    UnsupportedLevel,
    /// usmStatsWrongDigests: the user exists, the key is wrong.
    WrongDigest,
    /// Anything else, or no Report.
    Other,
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn integer(value: i32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    // Shortest two's complement form.
    let mut start = 0;
    while start < 3
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(0x02, &bytes[start..])
}

/// A noAuthNoPriv, reportable GET of sysUpTime.0 for `user` at `engine_id`.
pub fn request(user: &[u8], engine_id: &[u8], msg_id: i32) -> Vec<u8> {
    let header = [
        integer(msg_id),
        integer(65_507),
        tlv(0x04, &[0x04]),
        integer(3),
    ]
    .concat();
    let usm = tlv(
        0x30,
        &[
            tlv(0x04, engine_id),
            integer(0),
            integer(0),
            tlv(0x04, user),
            tlv(0x04, &[]),
            tlv(0x04, &[]),
        ]
        .concat(),
    );
    let sys_uptime = tlv(0x06, &[0x2b, 6, 1, 2, 1, 1, 3, 0]);
    let varbinds = tlv(0x30, &tlv(0x30, &[sys_uptime, vec![0x05, 0x00]].concat()));
    let get = tlv(
        0xa0,
        &[integer(msg_id), integer(0), integer(0), varbinds].concat(),
    );
    let scoped = tlv(0x30, &[tlv(0x04, engine_id), tlv(0x04, &[]), get].concat());
    tlv(
        0x30,
        &[integer(3), tlv(0x30, &header), tlv(0x04, &usm), scoped].concat(),
    )
}

/// A UDP socket connected to `target` (so only its datagrams arrive).
async fn connected(target: std::net::SocketAddr) -> Option<UdpSocket> {
    let local: std::net::SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .ok()?;
    let socket = UdpSocket::bind(local).await.ok()?;
    socket.connect(target).await.ok()?;
    Some(socket)
}

/// One BER element of `bytes`: its tag, its content and what follows it.
fn element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The element of `bytes` if it has tag `tag`: its content and what follows.
fn expect(tag: u8, bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    match element(bytes)? {
        (found, content, rest) if found == tag => Some((content, rest)),
        _ => None,
    }
}

/// A non-negative INTEGER that fits 31 bits, as USM's msgID, boots and time are.
fn unsigned31(content: &[u8]) -> Option<i64> {
    if content.is_empty() || content.len() > 5 || content[0] & 0x80 != 0 {
        return None;
    }
    let value = content
        .iter()
        .fold(0i64, |acc, b| (acc << 8) | i64::from(*b));
    (value <= i64::from(i32::MAX)).then_some(value)
}

/// An agent's SNMPv3 engine, as its discovery Report gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// snmpEngineID: 5 to 32 octets.
    pub id: Vec<u8>,
    /// snmpEngineBoots.
    pub boots: i64,
    /// snmpEngineTime, seconds.
    pub time: i64,
}

/// The msgID and engine of an SNMPv3 message: version 3, the header's msgID, and the USM
/// security parameters' engine ID, boots and time. `None` for anything else.
pub fn engine_of(message: &[u8]) -> Option<(i64, Engine)> {
    let (message, _) = expect(0x30, message)?;
    let (version, rest) = expect(0x02, message)?;
    if version != [3] {
        return None;
    }
    let (header, rest) = expect(0x30, rest)?;
    let (msg_id, _) = expect(0x02, header)?;
    let (parameters, _) = expect(0x04, rest)?;
    let (usm, _) = expect(0x30, parameters)?;
    let (id, rest) = expect(0x04, usm)?;
    let (boots, rest) = expect(0x02, rest)?;
    let (time, _) = expect(0x02, rest)?;
    if !(5..=32).contains(&id.len()) {
        return None;
    }
    Some((
        unsigned31(msg_id)?,
        Engine {
            id: id.to_vec(),
            boots: unsigned31(boots)?,
            time: unsigned31(time)?,
        },
    ))
}

/// Asks the agent at `target` for its engine ID, boots and time. Datagrams that are not the
/// Report to this request are counted in `malformed` and ignored.
pub async fn discover(
    target: std::net::SocketAddr,
    timeout: Duration,
    msg_id: i32,
    malformed: &mut u32,
) -> Option<Engine> {
    let socket = connected(target).await?;
    socket.send(&request(b"", b"", msg_id)).await.ok()?;
    let mut buffer = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let n = tokio::time::timeout_at(deadline, socket.recv(&mut buffer))
            .await
            .ok()?
            .ok()?;
        match engine_of(&buffer[..n]) {
            Some((id, engine)) if id == i64::from(msg_id) => return Some(engine),
            _ => *malformed += 1,
        }
    }
}

/// Classifies a Report by the usmStats OID it carries.
pub fn classify(reply: &[u8]) -> ReportKind {
    const USM_STATS: [u8; 9] = [0x06, 0x0a, 0x2b, 6, 1, 6, 3, 15, 1];
    let Some(at) = reply.windows(USM_STATS.len()).position(|w| w == USM_STATS) else {
        return ReportKind::Other;
    };
    // ...1.1.<n>.0 follows the prefix.
    match reply.get(at + USM_STATS.len()..at + USM_STATS.len() + 3) {
        Some([1, 3, 0]) => ReportKind::UnknownUser,
        Some([1, 1, 0]) => ReportKind::UnsupportedLevel,
        Some([1, 5, 0]) => ReportKind::WrongDigest,
        _ => ReportKind::Other,
    }
}

/// Asks the agent at `target` whether it knows `user`.
pub async fn probe(target: std::net::SocketAddr, user: &str, timeout: Duration) -> ReportKind {
    let attempt = async {
        let socket = connected(target).await?;
        let mut buffer = vec![0u8; 4096];
        socket.send(&request(b"", b"", 0x1357)).await.ok()?;
        let n = socket.recv(&mut buffer).await.ok()?;
        let (_, engine) = engine_of(&buffer[..n])?;
        let engine_id = engine.id;
        socket
            .send(&request(user.as_bytes(), &engine_id, 0x1358))
            .await
            .ok()?;
        let n = socket.recv(&mut buffer).await.ok()?;
        Some(classify(&buffer[..n]))
    };
    tokio::time::timeout(timeout * 2, attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(ReportKind::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal() {
        assert_eq!(integer(0), [2, 1, 0]);
        assert_eq!(integer(127), [2, 1, 127]);
        assert_eq!(integer(128), [2, 2, 0, 128]);
        assert_eq!(integer(65_507), [2, 3, 0, 0xff, 0xe3]);
        assert_eq!(integer(-1), [2, 1, 0xff]);
    }

    #[test]
    fn a_discovery_report_gives_the_engine() {
        // net-snmp's Report to a discovery request (engine ID "netpulse-clone" as text).
        let id = [&[0x80u8, 0x00, 0x1f, 0x88, 0x04][..], b"netpulse-clone"].concat();
        let usm = tlv(
            0x30,
            &[
                tlv(0x04, &id),
                integer(7),
                integer(123_456),
                tlv(0x04, b""),
                tlv(0x04, b""),
                tlv(0x04, b""),
            ]
            .concat(),
        );
        let header = tlv(
            0x30,
            &[integer(42), integer(65_507), tlv(0x04, &[0]), integer(3)].concat(),
        );
        let report = tlv(
            0x30,
            &[integer(3), header, tlv(0x04, &usm), tlv(0x30, b"")].concat(),
        );
        let (msg_id, engine) = engine_of(&report).expect("engine");
        assert_eq!(msg_id, 42);
        assert_eq!(
            engine,
            Engine {
                id,
                boots: 7,
                time: 123_456
            }
        );
        // Anything cut short, or out of bounds, is no engine.
        for end in 0..report.len() - 2 {
            assert!(engine_of(&report[..end]).is_none(), "cut at {end}");
        }
        let mut negative = report.clone();
        let at = negative
            .windows(3)
            .position(|w| w == [2, 1, 7])
            .expect("boots");
        negative[at + 2] = 0xff;
        assert!(engine_of(&negative).is_none(), "negative boots");
        assert!(
            engine_of(&request(b"", b"", 1)).is_none(),
            "an engine ID too short"
        );
    }

    #[test]
    fn reports_are_classified_by_their_oid() {
        let report = |n: u8| {
            [
                &[0x30u8, 0x10][..],
                &[0x06, 0x0a, 0x2b, 6, 1, 6, 3, 15, 1, 1, n, 0],
            ]
            .concat()
        };
        assert_eq!(classify(&report(3)), ReportKind::UnknownUser);
        assert_eq!(classify(&report(1)), ReportKind::UnsupportedLevel);
        assert_eq!(classify(&report(5)), ReportKind::WrongDigest);
        assert_eq!(classify(&report(2)), ReportKind::Other);
        assert_eq!(classify(b"garbage"), ReportKind::Other);
        assert_eq!(classify(&[]), ReportKind::Other);
    }
}
