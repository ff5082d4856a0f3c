//! The syslog parser (RFC 3164 and RFC 5424) and the TCP framing of RFC 6587: what the
//! receiver does to a device's bytes before they become a [`LogEntry`](netpulse_shared::logs::LogEntry).
//!
//! Everything here comes from a device: untrusted, and never a reason to fail.

use netpulse_shared::logs::MAX_MESSAGE_BYTES;

/// A syslog message taken apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Syslog {
    /// Facility code.
    pub facility: Option<u8>,
    /// Severity code (5, notice, when the message has no priority).
    pub severity: u8,
    /// The time it gives, Unix milliseconds.
    pub time_ms: Option<u64>,
    /// HOSTNAME.
    pub host: Option<String>,
    /// APP-NAME or tag.
    pub app: Option<String>,
    /// PROCID or the tag's `[pid]`.
    pub procid: Option<String>,
    /// MSGID.
    pub msgid: Option<String>,
    /// STRUCTURED-DATA.
    pub structured_data: Option<String>,
    /// MSG.
    pub message: String,
    /// Why it did not parse completely.
    pub error: Option<String>,
}

/// Takes a syslog message apart (RFC 5424, else RFC 3164). Never fails: what cannot be
/// parsed is kept as the message, with the reason in `error`. `now_ms` dates RFC 3164
/// timestamps, which have no year.
pub fn parse_syslog(bytes: &[u8], now_ms: u64) -> Syslog {
    let mut bytes = bytes;
    let mut error = None;
    if bytes.len() > MAX_MESSAGE_BYTES {
        bytes = &bytes[..MAX_MESSAGE_BYTES];
        error = Some(format!(
            "message longer than {MAX_MESSAGE_BYTES} bytes, cut"
        ));
    }
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    let Some((facility, severity, rest)) = priority(text) else {
        return Syslog {
            severity: 5,
            message: text.to_owned(),
            error: error.or_else(|| Some("no <priority> at the start".into())),
            ..Syslog::default()
        };
    };
    let mut parsed = match rest.strip_prefix("1 ") {
        Some(rest) => rfc5424(rest),
        None => rfc3164(rest, now_ms),
    };
    parsed.facility = Some(facility);
    parsed.severity = severity;
    if error.is_some() {
        parsed.error = error;
    }
    parsed
}

/// `<PRI>`: facility, severity and the rest.
fn priority(text: &str) -> Option<(u8, u8, &str)> {
    let rest = text.strip_prefix('<')?;
    let end = rest.find('>')?;
    let digits = &rest[..end];
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let pri: u8 = digits.parse().ok().filter(|p| *p <= 191)?;
    Some((pri / 8, pri % 8, &rest[end + 1..]))
}

fn nil(field: &str) -> Option<String> {
    (field != "-" && !field.is_empty()).then(|| field.to_owned())
}

/// RFC 5424 after `<PRI>1 `: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG].
fn rfc5424(rest: &str) -> Syslog {
    let mut parts = rest.splitn(6, ' ');
    let mut field = || parts.next().unwrap_or("");
    let (timestamp, host, app, procid, msgid) = (field(), field(), field(), field(), field());
    let tail = parts.next().unwrap_or("");
    let mut parsed = Syslog {
        host: nil(host),
        app: nil(app),
        procid: nil(procid),
        msgid: nil(msgid),
        ..Syslog::default()
    };
    if timestamp != "-" {
        match netpulse_shared::time::parse_time(timestamp) {
            Ok(ms) if !timestamp.bytes().all(|b| b.is_ascii_digit()) => parsed.time_ms = Some(ms),
            _ => parsed.error = Some(format!("unreadable timestamp {timestamp:?}")),
        }
    }
    let (sd, message) = split_structured_data(tail);
    match sd {
        Ok(sd) => parsed.structured_data = nil(sd),
        Err(reason) => parsed.error = parsed.error.or(Some(reason)),
    }
    parsed.message = message.trim_start_matches('\u{feff}').to_owned();
    parsed
}

/// Splits `[id k="v"][id2] msg` or `- msg` into the structured data and the message.
fn split_structured_data(tail: &str) -> (Result<&str, String>, &str) {
    if let Some(message) = tail.strip_prefix('-') {
        return (Ok("-"), message.strip_prefix(' ').unwrap_or(message));
    }
    if !tail.starts_with('[') {
        return (Err("no structured data".into()), tail);
    }
    let bytes = tail.as_bytes();
    let (mut i, mut in_quotes) = (0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            b']' if !in_quotes && bytes.get(i + 1) != Some(&b'[') => {
                let message = &tail[i + 1..];
                return (
                    Ok(&tail[..=i]),
                    message.strip_prefix(' ').unwrap_or(message),
                );
            }
            _ => {}
        }
        i += 1;
    }
    (Err("unterminated structured data".into()), tail)
}

/// RFC 3164 after `<PRI>`: `Mmm dd hh:mm:ss HOST TAG[pid]: MSG` (each part optional in
/// practice).
fn rfc3164(rest: &str, now_ms: u64) -> Syslog {
    let mut parsed = Syslog::default();
    let mut rest = rest;
    if let Some(time_ms) = rest.get(..15).and_then(|t| bsd_timestamp(t, now_ms)) {
        parsed.time_ms = Some(time_ms);
        rest = rest[15..].strip_prefix(' ').unwrap_or(&rest[15..]);
        // HOSTNAME follows a timestamp.
        if let Some((host, after)) = rest.split_once(' ') {
            if !host.is_empty() && !host.ends_with(':') {
                parsed.host = Some(host.to_owned());
                rest = after;
            }
        }
    } else {
        parsed.error = Some("no RFC 3164 timestamp".into());
    }
    // TAG: up to 32 alphanumeric characters, then [pid] and/or ':'.
    let tag_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./".contains(c)))
        .unwrap_or(rest.len());
    let (tag, after) = rest.split_at(tag_end);
    if !tag.is_empty() && tag_end <= 48 && (after.starts_with(':') || after.starts_with('[')) {
        parsed.app = Some(tag.to_owned());
        let mut after = after;
        if let Some(pid) = after.strip_prefix('[').and_then(|a| a.split_once(']')) {
            parsed.procid = Some(pid.0.to_owned());
            after = pid.1;
        }
        let after = after.strip_prefix(':').unwrap_or(after);
        rest = after.strip_prefix(' ').unwrap_or(after);
    }
    parsed.message = rest.to_owned();
    parsed
}

/// `Nov 28 13:45:07` (day padded with a space or zero), in UTC, in the year that puts it
/// nearest to `now_ms`.
fn bsd_timestamp(text: &str, now_ms: u64) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| text.get(..3) == Some(*m))? + 1;
    let day: u32 = text.get(4..6)?.trim().parse().ok()?;
    let clock = text.get(7..15)?;
    if text.as_bytes().get(3) != Some(&b' ') || text.as_bytes().get(6) != Some(&b' ') {
        return None;
    }
    let year: i64 = netpulse_shared::time::utc_date(now_ms)
        .get(..4)?
        .parse()
        .ok()?;
    let at = |y: i64| {
        netpulse_shared::time::parse_time(&format!("{y:04}-{month:02}-{day:02}T{clock}Z")).ok()
    };
    let this_year = at(year)?;
    // A December message read in January belongs to last year.
    if this_year > now_ms + 86_400_000 {
        return at(year - 1).or(Some(this_year));
    }
    Some(this_year)
}

/// Splits a TCP syslog stream into messages (RFC 6587): octet counting (`LEN SP MSG`) when
/// a frame starts with a digit, else one message per line. Oversize frames are cut.
#[derive(Debug, Default)]
pub struct Framer {
    buffer: Vec<u8>,
    /// Skipping the rest of a line too long to keep.
    discarding: bool,
    /// Bytes still to drop of an octet-counted frame too long to keep.
    skipping: usize,
}

/// One message out of a [`Framer`], and whether it was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The message bytes.
    pub bytes: Vec<u8>,
    /// True when the frame was longer than [`MAX_MESSAGE_BYTES`] and was cut.
    pub cut: bool,
}

impl Framer {
    /// Adds received bytes; returns the messages now complete.
    pub fn push(&mut self, data: &[u8]) -> Vec<Frame> {
        self.buffer.extend_from_slice(data);
        let mut frames = Vec::new();
        loop {
            if self.skipping > 0 {
                let dropped = self.skipping.min(self.buffer.len());
                self.buffer.drain(..dropped);
                self.skipping -= dropped;
                if self.skipping > 0 {
                    return frames;
                }
            }
            if self.discarding {
                match self.buffer.iter().position(|b| *b == b'\n') {
                    Some(at) => {
                        self.buffer.drain(..=at);
                        self.discarding = false;
                    }
                    None => {
                        self.buffer.clear();
                        return frames;
                    }
                }
            }
            // Blank lines between frames carry nothing.
            let skip = self
                .buffer
                .iter()
                .take_while(|b| matches!(b, b'\n' | b'\r'))
                .count();
            self.buffer.drain(..skip);
            let Some(&first) = self.buffer.first() else {
                return frames;
            };
            if first.is_ascii_digit() {
                let Some(space) = self.buffer.iter().take(8).position(|b| *b == b' ') else {
                    if self.buffer.len() >= 8 {
                        // Digits that are no length: a line after all.
                        match self.line() {
                            Some(frame) => frames.push(frame),
                            None => return frames,
                        }
                        continue;
                    }
                    return frames;
                };
                let length = std::str::from_utf8(&self.buffer[..space])
                    .ok()
                    .and_then(|d| d.parse::<usize>().ok());
                let Some(length) = length else {
                    match self.line() {
                        Some(frame) => frames.push(frame),
                        None => return frames,
                    }
                    continue;
                };
                let start = space + 1;
                if length > MAX_MESSAGE_BYTES {
                    // Keep the start, drop the rest as it arrives.
                    if self.buffer.len() >= start + MAX_MESSAGE_BYTES {
                        let bytes = self.buffer[start..start + MAX_MESSAGE_BYTES].to_vec();
                        let end = (start + length).min(self.buffer.len());
                        self.skipping = start + length - end;
                        self.buffer.drain(..end);
                        frames.push(Frame { bytes, cut: true });
                        continue;
                    }
                    return frames;
                }
                if self.buffer.len() < start + length {
                    return frames;
                }
                let bytes = self.buffer[start..start + length].to_vec();
                self.buffer.drain(..start + length);
                frames.push(Frame { bytes, cut: false });
            } else {
                match self.line() {
                    Some(frame) => frames.push(frame),
                    None => return frames,
                }
            }
        }
    }

    /// A newline-ended message at the front of the buffer, if complete (or cut, if too long).
    fn line(&mut self) -> Option<Frame> {
        match self.buffer.iter().position(|b| *b == b'\n') {
            Some(at) => {
                let mut bytes: Vec<u8> = self.buffer.drain(..=at).collect();
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                let cut = bytes.len() > MAX_MESSAGE_BYTES;
                bytes.truncate(MAX_MESSAGE_BYTES);
                Some(Frame { bytes, cut })
            }
            None if self.buffer.len() > MAX_MESSAGE_BYTES => {
                let bytes = self.buffer[..MAX_MESSAGE_BYTES].to_vec();
                self.buffer.clear();
                self.discarding = true;
                Some(Frame { bytes, cut: true })
            }
            None => None,
        }
    }

    /// What is left unframed when the connection closes, as a last message.
    pub fn finish(&mut self) -> Option<Frame> {
        let rest = std::mem::take(&mut self.buffer);
        let trimmed: Vec<u8> = rest
            .into_iter()
            .skip_while(|b| matches!(b, b'\n' | b'\r'))
            .collect();
        (!trimmed.is_empty() && !self.discarding && self.skipping == 0).then(|| Frame {
            cut: trimmed.len() > MAX_MESSAGE_BYTES,
            bytes: trimmed.into_iter().take(MAX_MESSAGE_BYTES).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_timestamp_zone_cut_inside_a_character_is_kept_as_text() {
        // Found by the syslog fuzz target: this panicked the receiver.
        let hostile = b"<165>1 2260-11-28T10:00:00.2266-28\xff\t\0";
        let parsed = parse_syslog(hostile, 1_764_323_456_789);
        assert_eq!(parsed.time_ms, None);
    }

    const NOW: u64 = 1_795_871_000_000; // 2026-11-28

    #[test]
    fn rfc5424_messages_are_taken_apart() {
        let m = parse_syslog(
            b"<165>1 2026-11-28T13:45:07.123Z core-1 sshd 4242 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\\]x\"] link eth0 down",
            NOW,
        );
        assert_eq!((m.facility, m.severity), (Some(20), 5));
        assert_eq!(
            m.time_ms,
            netpulse_shared::time::parse_time("2026-11-28T13:45:07.123Z").ok()
        );
        assert_eq!(m.host.as_deref(), Some("core-1"));
        assert_eq!(m.app.as_deref(), Some("sshd"));
        assert_eq!(m.procid.as_deref(), Some("4242"));
        assert_eq!(m.msgid.as_deref(), Some("ID47"));
        assert_eq!(
            m.structured_data.as_deref(),
            Some("[exampleSDID@32473 iut=\"3\" eventSource=\"App\\]x\"]")
        );
        assert_eq!(m.message, "link eth0 down");
        assert_eq!(m.error, None);
        let nil = parse_syslog(b"<13>1 - - - - - -", NOW);
        assert_eq!(
            (nil.host, nil.time_ms, nil.message.as_str()),
            (None, None, "")
        );
    }

    #[test]
    fn rfc3164_messages_are_taken_apart() {
        let m = parse_syslog(
            b"<13>Nov 28 13:45:07 edge-2 kernel[0]: eth1: link up\n",
            NOW,
        );
        assert_eq!((m.facility, m.severity), (Some(1), 5));
        assert_eq!(
            m.time_ms,
            netpulse_shared::time::parse_time("2026-11-28T13:45:07Z").ok()
        );
        assert_eq!(m.host.as_deref(), Some("edge-2"));
        assert_eq!(
            (m.app.as_deref(), m.procid.as_deref()),
            (Some("kernel"), Some("0"))
        );
        assert_eq!(m.message, "eth1: link up");
        let december = parse_syslog(b"<11>Dec 31 23:59:59 h app: late", NOW + 40 * 86_400_000);
        assert_eq!(
            december.time_ms,
            netpulse_shared::time::parse_time("2026-12-31T23:59:59Z").ok()
        );
        let january_reads_december =
            parse_syslog(b"<11>Dec 31 23:59:59 h app: late", 1_798_848_000_000);
        assert_eq!(
            january_reads_december.time_ms,
            netpulse_shared::time::parse_time("2026-12-31T23:59:59Z").ok()
        );
        let bare = parse_syslog(b"<14>just text", NOW);
        assert_eq!((bare.message.as_str(), bare.severity), ("just text", 6));
        assert!(bare.error.is_some());
    }

    #[test]
    fn garbage_is_kept_with_the_reason() {
        for (raw, why) in [
            (&b"no priority"[..], "no <priority>"),
            (b"<999>1 x", "no <priority>"),
            (b"<13>1 yesterday h a p m - text", "unreadable timestamp"),
            (
                b"<13>1 2026-11-28T00:00:00Z h a p m [unterminated",
                "unterminated",
            ),
        ] {
            let m = parse_syslog(raw, NOW);
            assert!(
                m.error.as_deref().is_some_and(|e| e.contains(why)),
                "{raw:?}: {m:?}"
            );
        }
        let long = vec![b'x'; MAX_MESSAGE_BYTES + 10];
        let m = parse_syslog(&long, NOW);
        assert_eq!(m.message.len(), MAX_MESSAGE_BYTES);
        assert!(m.error.is_some_and(|e| e.contains("cut")));
    }

    #[test]
    fn tcp_streams_are_framed_both_ways() {
        let mut framer = Framer::default();
        let mut frames = framer.push(b"11 <13>1 - -");
        assert!(frames.is_empty(), "incomplete");
        frames.extend(framer.push(b" -<14>a line\r\n\n11 <15>1 x y z"));
        frames.extend(framer.push(b"<13>tail without newline"));
        let texts: Vec<String> = frames
            .iter()
            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
            .collect();
        assert_eq!(texts, ["<13>1 - - -", "<14>a line", "<15>1 x y z"]);
        let last = framer.finish().expect("the rest");
        assert_eq!(last.bytes, b"<13>tail without newline");
        // An oversize line is cut and the rest of it dropped.
        let mut framer = Framer::default();
        let mut long = vec![b'a'; MAX_MESSAGE_BYTES + 100];
        long.extend_from_slice(b"\n<13>next\n");
        let frames = framer.push(&long);
        assert_eq!(frames.len(), 2);
        assert!(frames[0].cut);
        assert_eq!(frames[1].bytes, b"<13>next");
        // So is an oversize octet-counted frame, however it arrives.
        let mut framer = Framer::default();
        let big = MAX_MESSAGE_BYTES + 5000;
        let mut stream = format!("{big} ").into_bytes();
        stream.extend(std::iter::repeat_n(b'b', big));
        stream.extend_from_slice(b"5 <13>x");
        let mut frames = Vec::new();
        for chunk in stream.chunks(3000) {
            frames.extend(framer.push(chunk));
        }
        assert_eq!(frames.len(), 2);
        assert!(frames[0].cut && frames[0].bytes.len() == MAX_MESSAGE_BYTES);
        assert_eq!(frames[1].bytes, b"<13>x");
    }

    proptest! {
        /// Any bytes parse into something: no panic, and the text is kept.
        #[test]
        fn any_bytes_parse(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let m = parse_syslog(&bytes, NOW);
            prop_assert!(m.severity <= 7);
            prop_assert!(m.message.len() <= bytes.len() * 3 + 3);
        }

        /// Syslog-shaped input with random fields never panics either.
        #[test]
        fn syslog_shaped_input_parses(pri in 0u16..300, version in "[0-9 ]{0,2}", fields in prop::collection::vec("[ -~]{0,12}", 0..8)) {
            let text = format!("<{pri}>{version}{}", fields.join(" "));
            let _ = parse_syslog(text.as_bytes(), NOW);
        }

        /// Framing any chunking of a stream of octet-counted frames gives the frames back.
        #[test]
        fn framing_survives_any_chunking(messages in prop::collection::vec("[ -~]{1,40}", 1..20), cuts in prop::collection::vec(1usize..30, 1..40)) {
            let stream: Vec<u8> = messages.iter().flat_map(|m| format!("{} {m}", m.len()).into_bytes()).collect();
            let mut framer = Framer::default();
            let mut frames = Vec::new();
            let mut at = 0;
            for cut in cuts.iter().cycle() {
                if at >= stream.len() { break; }
                let end = (at + cut).min(stream.len());
                frames.extend(framer.push(&stream[at..end]));
                at = end;
            }
            frames.extend(framer.finish());
            let got: Vec<String> = frames.iter().map(|f| String::from_utf8_lossy(&f.bytes).into_owned()).collect();
            prop_assert_eq!(got, messages);
        }

        /// Arbitrary bytes through the framer: no panic, nothing over the size limit.
        #[test]
        fn framing_arbitrary_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..20)) {
            let mut framer = Framer::default();
            for chunk in &chunks {
                for frame in framer.push(chunk) {
                    prop_assert!(frame.bytes.len() <= MAX_MESSAGE_BYTES);
                }
            }
            let _ = framer.finish();
        }
    }
}
