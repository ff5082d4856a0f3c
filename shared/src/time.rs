//! Wall-clock helpers: Unix milliseconds and civil (UTC) dates for file names.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The UTC calendar date of a Unix-millisecond time, as `YYYY-MM-DD`.
pub fn utc_date(ms: u64) -> String {
    let (y, m, d) = civil_from_days(ms / 86_400_000);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC calendar month of a Unix-millisecond time, as `YYYY-MM`.
pub fn utc_month(ms: u64) -> String {
    let (y, m, _) = civil_from_days(ms / 86_400_000);
    format!("{y:04}-{m:02}")
}

/// The span `[start, end)` in Unix milliseconds of a `YYYY-MM-DD` day or a `YYYY-MM` month.
pub fn date_span(text: &str) -> Option<(u64, u64)> {
    let parts: Vec<u64> = text
        .split('-')
        .map(|p| {
            p.parse::<u64>()
                .ok()
                .filter(|_| p.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect::<Option<_>>()?;
    let day_ms = |days: i64| u64::try_from(days).ok().map(|d| d * 86_400_000);
    match parts[..] {
        [y, m, d] if (1..=12).contains(&m) && (1..=31).contains(&d) => {
            let start = day_ms(days_from_civil(y, m, d)?)?;
            (utc_date(start) == text).then_some((start, start + 86_400_000))
        }
        [y, m] if (1..=12).contains(&m) => {
            let start = day_ms(days_from_civil(y, m, 1)?)?;
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            Some((start, day_ms(days_from_civil(ny, nm, 1)?)?))
        }
        _ => None,
    }
}

/// Parses a time given as Unix seconds (`1764323456`, fractions allowed) or RFC 3339
/// (`2025-11-28T10:30:00Z`, `2025-11-28T11:30:00.5+01:00`) into Unix milliseconds.
pub fn parse_time(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let bad = || format!("'{text}' is neither Unix seconds nor an RFC 3339 time");
    if let Ok(seconds) = text.parse::<f64>() {
        if seconds.is_finite() && (0.0..1e11).contains(&seconds) {
            return Ok((seconds * 1000.0).round() as u64);
        }
        return Err(bad());
    }
    let bytes = text.as_bytes();
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| {
        text.get(range)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(bad)
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut rest = &text[19..];
    let mut millis = 0u64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits: String = fraction.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return Err(bad());
        }
        millis = format!("{:0<3}", &digits[..digits.len().min(3)])
            .parse()
            .map_err(|_| bad())?;
        rest = &fraction[digits.len()..];
    }
    let offset_secs: i64 = match rest {
        "Z" | "z" => 0,
        // Byte checks and `get`: the text comes from devices, and may hold any character.
        zone if zone.len() == 6
            && (zone.starts_with('+') || zone.starts_with('-'))
            && zone.as_bytes()[3] == b':' =>
        {
            let part = |range| zone.get(range).and_then(|p: &str| p.parse::<i64>().ok());
            let (h, m) = (part(1..3).ok_or_else(bad)?, part(4..6).ok_or_else(bad)?);
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month, day).ok_or_else(bad)?;
    let local = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64;
    let utc = local - offset_secs;
    u64::try_from(utc)
        .map(|s| s * 1000 + millis)
        .map_err(|_| bad())
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<i64> {
    let year = i64::try_from(year).ok()? - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let m = i64::try_from(month).ok()?;
    let day_of_year =
        (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::try_from(day).ok()? - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// Converts days since 1970-01-01 into a proleptic Gregorian (year, month, day).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_with_a_wide_character_is_refused_not_a_panic() {
        // Found by the syslog fuzz target: a zone of six bytes whose fourth is inside a
        // character.
        assert!(parse_time("2260-11-28T10:00:00.2266-28\u{ff}\t").is_err());
        assert!(parse_time("2026-11-28T10:00:00+0\u{e9}:00").is_err());
        assert!(parse_time("2026-11-28T10:00:00-\u{20ac}00").is_err());
        assert_eq!(
            parse_time("2026-11-28T10:00:00+01:00"),
            parse_time("2026-11-28T09:00:00Z")
        );
    }

    #[test]
    fn times_parse() {
        let cases = [
            ("1764323456", Some(1_764_323_456_000)),
            ("1764323456.25", Some(1_764_323_456_250)),
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2025-11-28T00:00:00Z", Some(1_764_288_000_000)),
            ("2025-11-28T01:00:00+01:00", Some(1_764_288_000_000)),
            ("2025-11-27T19:00:00.5-05:00", Some(1_764_288_000_500)),
            ("2000-02-29T12:00:00Z", Some(951_825_600_000)),
            ("2025-13-01T00:00:00Z", None),
            ("yesterday", None),
            ("-5", None),
            ("2025-11-28T00:00:00", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time(text).ok(), want, "{text}");
        }
    }

    #[test]
    fn date_spans() {
        assert_eq!(
            date_span("2025-11-28"),
            Some((1_764_288_000_000, 1_764_374_400_000))
        );
        assert_eq!(
            date_span("2024-02"),
            Some((1_706_745_600_000, 1_709_251_200_000))
        );
        assert_eq!(
            date_span("2025-12").map(|(_, e)| utc_date(e)),
            Some("2026-01-01".into())
        );
        assert_eq!(utc_month(1_764_288_000_000), "2025-11");
        for bad in ["2025-02-30", "2025-13", "2025", "x-1-1", "2025-+1-01", ""] {
            assert_eq!(date_span(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400_000), "2000-02-29");
        assert_eq!(utc_date(1_764_288_000_000 - 1), "2025-11-27");
        assert_eq!(utc_date(1_764_288_000_000), "2025-11-28");
        assert_eq!(utc_date(4_107_542_400_000), "2100-03-01");
    }
}
