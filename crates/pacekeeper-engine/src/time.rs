//! Instants and durations inside the engine.
//!
//! The engine counts time in whole milliseconds since the Unix epoch (`Ms`). It never reads a
//! clock: every instant arrives as an argument. Public APIs take and return [`jiff::Timestamp`].

use jiff::{Span, SpanRelativeTo, Timestamp};

/// Milliseconds since the Unix epoch (an instant) or a length of time in milliseconds.
pub type Ms = i64;

/// Converts a timestamp to engine milliseconds.
pub fn ms(t: Timestamp) -> Ms {
    t.as_millisecond()
}

/// Converts engine milliseconds back to a timestamp, saturating at jiff's range.
pub fn ts(m: Ms) -> Timestamp {
    Timestamp::from_millisecond(m).unwrap_or(if m < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// Whole seconds from `now` until `at`, rounded up; zero when `at` is not in the future.
///
/// Rounding up keeps `retry_after` truthful: waiting the returned number of seconds always
/// reaches `at`, and waiting one second less never does.
pub fn secs_until(now: Ms, at: Ms) -> u64 {
    if at <= now { 0 } else { ((at - now) as u64).div_ceil(1000) }
}

/// Parses a policy duration such as `7d`, `21d`, `60m`, `1h30m` or `2w` into milliseconds.
///
/// Days and weeks are exact 24-hour multiples; months and years are refused because their
/// length varies (use a calendar window for "each month").
pub fn parse_duration(s: &str) -> Result<Ms, String> {
    let span: Span = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; write a number and a unit, e.g. \"7d\", \"60m\", \"1h30m\""))?;
    if span.get_years() != 0 || span.get_months() != 0 {
        return Err(format!(
            "`{s}` uses months or years, whose length varies; use days (e.g. \"30d\") or a calendar window"
        ));
    }
    let d = span.to_duration(SpanRelativeTo::days_are_24_hours()).map_err(|e| format!("`{s}`: {e}"))?;
    let millis = d.as_millis();
    if millis <= 0 {
        return Err(format!("`{s}` is zero or negative; a duration must be positive"));
    }
    i64::try_from(millis).map_err(|_| format!("`{s}` is too long"))
}

/// Formats milliseconds as a short human duration (`7d`, `3h20m`, `45s`).
pub fn human(ms: Ms) -> String {
    let mut s = (ms.max(0) as u64).div_ceil(1000);
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// FNV-1a, 32 bits: the stable key under which member state stores a policy name.
///
/// Keys, not indexes, so that reordering or adding limits in a policy reload keeps usage.
pub fn key32(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// FNV-1a, 64 bits: how member state remembers targets and request ids without storing them.
pub fn key64(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_friendly_units() {
        assert_eq!(parse_duration("7d"), Ok(7 * 86_400_000));
        assert_eq!(parse_duration("60m"), Ok(3_600_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400_000));
        assert!(parse_duration("0d").unwrap_err().contains("positive"));
        assert!(parse_duration("1mo").unwrap_err().contains("months"));
        assert!(parse_duration("week").unwrap_err().contains("not a duration"));
    }

    #[test]
    fn seconds_until_round_up() {
        assert_eq!(secs_until(0, 1), 1);
        assert_eq!(secs_until(0, 1000), 1);
        assert_eq!(secs_until(0, 1001), 2);
        assert_eq!(secs_until(5, 5), 0);
    }

    #[test]
    fn human_durations_read_naturally() {
        assert_eq!(human(7 * 86_400_000), "7d");
        assert_eq!(human(3_723_000), "1h2m3s");
        assert_eq!(human(0), "0s");
    }
}
