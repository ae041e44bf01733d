//! A decision as every front end shows it: the rate-limit headers (`RateLimit-Policy`,
//! `RateLimit`, the `X-RateLimit-*` trio and `Retry-After`; draft-ietf-httpapi-ratelimit-headers,
//! seed 002 for the `X-` trio) and the JSON body. HTTP sends them as its answer; Envoy's rate
//! limit protocol carries the same headers and body for the gateway to send.
//!
//! This runs for every decision, so it is rendered in one pass into two buffers: the body is
//! written field by field (the same bytes `serde_json::to_vec(&decision)` gives, which a
//! property test holds), and every header value is a slice of one shared buffer instead of an
//! allocation of its own.

use bytes::Bytes;
use pacekeeper_engine::{Decision, DenialKind, LimitStatus};
use serde::Serialize;

/// A typical answer's body is about 600 bytes: one allocation, never regrown.
const BODY_CAPACITY: usize = 1024;

/// Appends `s` as a structured-field string: printable ASCII, with `"` and `\` escaped.
fn push_sf_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' | '\\' => out.extend_from_slice(&[b'\\', c as u8]),
            ' '..='~' => out.push(c as u8),
            _ => out.push(b'?'),
        }
    }
    out.push(b'"');
}

fn push_number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Seconds until the binding limit frees up: for a denial by that limit, the time until the
/// request fits (so `Retry-After` is never earlier than `t`); otherwise its reset.
fn reset_seconds(d: &Decision, l: &LimitStatus) -> u64 {
    match (d.allowed, &d.limit, d.retry_after) {
        (false, Some(name), Some(r)) if *name == l.name => r,
        _ => l.reset_after.unwrap_or(0),
    }
}

/// A rate-limit header of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// `RateLimit-Policy`: every applicable limit, its quota and window.
    RateLimitPolicy,
    /// `RateLimit`: the binding limit's remaining units and seconds until it frees up.
    RateLimit,
    /// `X-RateLimit-Limit`.
    XLimit,
    /// `X-RateLimit-Remaining`.
    XRemaining,
    /// `X-RateLimit-Reset` (seconds, as seed 002 documents).
    XReset,
    /// `Retry-After`, on a denial that waiting cures.
    RetryAfter,
}

impl Header {
    /// The header's name, lower-case (as HTTP/2 sends it).
    pub fn name(self) -> &'static str {
        match self {
            Header::RateLimitPolicy => "ratelimit-policy",
            Header::RateLimit => "ratelimit",
            Header::XLimit => "x-ratelimit-limit",
            Header::XRemaining => "x-ratelimit-remaining",
            Header::XReset => "x-ratelimit-reset",
            Header::RetryAfter => "retry-after",
        }
    }

    /// One of the `X-RateLimit-*` trio.
    pub fn is_x(self) -> bool {
        matches!(self, Header::XLimit | Header::XRemaining | Header::XReset)
    }
}

/// The rate-limit headers of a decision, every value a slice of one buffer: printable ASCII
/// only, valid in any HTTP header.
#[derive(Debug, Clone)]
pub struct RateLimitHeaders {
    buf: Bytes,
    values: [(Option<Header>, usize, usize); 6],
}

impl RateLimitHeaders {
    /// Renders the headers of `d`.
    pub fn of(d: &Decision) -> RateLimitHeaders {
        let mut buf = Vec::with_capacity(40 * d.limits.len() + 64);
        let mut values: [(Option<Header>, usize, usize); 6] = Default::default();
        let mut n = 0;
        let mut put = |name: Header, buf: &Vec<u8>, start: usize| {
            values[n] = (Some(name), start, buf.len());
            n += 1;
        };
        for (i, l) in d.limits.iter().enumerate() {
            if i > 0 {
                buf.extend_from_slice(b", ");
            }
            push_sf_string(&mut buf, &l.name);
            buf.extend_from_slice(b";q=");
            push_number(&mut buf, l.amount);
            if let Some(w) = l.window {
                buf.extend_from_slice(b";w=");
                push_number(&mut buf, w);
            }
        }
        if !buf.is_empty() {
            put(Header::RateLimitPolicy, &buf, 0);
        }
        if let Some(l) = d.tightest() {
            let t = reset_seconds(d, l);
            let start = buf.len();
            push_sf_string(&mut buf, &l.name);
            buf.extend_from_slice(b";r=");
            push_number(&mut buf, l.remaining);
            buf.extend_from_slice(b";t=");
            push_number(&mut buf, t);
            put(Header::RateLimit, &buf, start);
            for (name, value) in [(Header::XLimit, l.amount), (Header::XRemaining, l.remaining), (Header::XReset, t)] {
                let start = buf.len();
                push_number(&mut buf, value);
                put(name, &buf, start);
            }
        }
        if d.denial() == Some(DenialKind::TimeCures)
            && let Some(r) = d.retry_after
        {
            let start = buf.len();
            push_number(&mut buf, r);
            put(Header::RetryAfter, &buf, start);
        }
        RateLimitHeaders { buf: Bytes::from(buf), values }
    }

    /// Each header and its value, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (Header, Bytes)> + '_ {
        self.values.iter().filter_map(|&(h, start, end)| Some((h?, self.buf.slice(start..end))))
    }

    /// The value of one header, if the decision has it.
    pub fn get(&self, header: Header) -> Option<&str> {
        let &(_, start, end) = self.values.iter().find(|(h, ..)| *h == Some(header))?;
        std::str::from_utf8(&self.buf[start..end]).ok()
    }
}

/// The decision as the HTTP API's JSON body (and a gateway's `raw_body`).
pub fn decision_body(d: &Decision) -> serde_json::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(BODY_CAPACITY);
    write_body(d, &mut body)?;
    Ok(body)
}

/// Appends `value` as serde_json writes it (strings escaped, timestamps in RFC 3339).
fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    serde_json::to_writer(out, value)
}

/// Writes `d` as JSON: the same bytes as `serde_json::to_vec(d)`, with the keys and the
/// common fields written directly instead of through the serializer's per-key escaping.
fn write_body(d: &Decision, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.extend_from_slice(if d.allowed {
        b"{\"allowed\":true,\"reason\":\""
    } else {
        b"{\"allowed\":false,\"reason\":\""
    });
    out.extend_from_slice(d.reason.as_str().as_bytes());
    out.extend_from_slice(b"\",\"message\":");
    json(out, &*d.message)?;
    if let Some(l) = &d.limit {
        out.extend_from_slice(b",\"limit\":");
        json(out, &**l)?;
    }
    if let Some(r) = d.retry_after {
        out.extend_from_slice(b",\"retry_after\":");
        push_number(out, r);
    }
    if let Some(t) = &d.retry_at {
        out.extend_from_slice(b",\"retry_at\":");
        json(out, t)?;
    }
    out.extend_from_slice(b",\"limits\":[");
    for (i, l) in d.limits.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_limit(l, out)?;
    }
    out.push(b']');
    if let Some(r) = &d.restriction {
        out.extend_from_slice(b",\"restriction\":");
        json(out, r)?;
    }
    if let Some(c) = &d.challenge {
        out.extend_from_slice(b",\"challenge\":");
        json(out, &**c)?;
    }
    out.extend_from_slice(b",\"warnings\":");
    json(out, &d.warnings)?;
    if d.duplicate {
        out.extend_from_slice(b",\"duplicate\":true");
    }
    if d.dry_run {
        out.extend_from_slice(b",\"dry_run\":true");
    }
    out.push(b'}');
    Ok(())
}

fn write_limit(l: &LimitStatus, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"name\":");
    json(out, &*l.name)?;
    if !l.scope.is_member() {
        out.extend_from_slice(b",\"scope\":");
        json(out, &l.scope)?;
    }
    out.extend_from_slice(b",\"kind\":");
    json(out, &*l.kind)?;
    out.extend_from_slice(b",\"amount\":");
    push_number(out, l.amount);
    out.extend_from_slice(b",\"used\":");
    push_number(out, l.used);
    out.extend_from_slice(b",\"remaining\":");
    push_number(out, l.remaining);
    if let Some(t) = &l.resets_at {
        out.extend_from_slice(b",\"resets_at\":");
        json(out, t)?;
    }
    if let Some(r) = l.reset_after {
        out.extend_from_slice(b",\"reset_after\":");
        push_number(out, r);
    }
    if let Some(w) = l.window {
        out.extend_from_slice(b",\"window\":");
        push_number(out, w);
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::Timestamp;
    use pacekeeper_engine::{
        Decision, DenialKind, LimitStatus, Reason, RestrictionKind, RestrictionView, Scope, Warning,
    };
    use proptest::prelude::*;

    use super::*;

    fn sf_string(s: &str) -> String {
        let mut out = Vec::new();
        push_sf_string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn structured_strings_escape_quotes_and_backslashes() {
        assert_eq!(sf_string("weekly"), "\"weekly\"");
        assert_eq!(sf_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(sf_string("é"), "\"?\"");
    }

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        // Whole seconds, milliseconds and nanoseconds: each prints differently.
        (-62_000_000_000i64..250_000_000_000, prop_oneof![Just(0i32), 0..1000i32, 0..1_000_000_000i32]).prop_map(
            |(s, n)| {
                let n = if n < 1000 { n * 1_000_000 } else { n };
                Timestamp::new(s, n % 1_000_000_000).unwrap_or(Timestamp::UNIX_EPOCH)
            },
        )
    }

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, control characters and non-ASCII all need escaping or care.
        prop_oneof![any::<String>(), "[a-z_]{1,20}", "[\"\\\\\u{0}-\u{1f}é✓]{0,6}"]
    }

    fn limit() -> impl Strategy<Value = LimitStatus> {
        (
            text(),
            prop_oneof![Just("anchored"), Just("calendar"), Just("sliding"), Just("cap")],
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            proptest::option::of(timestamp()),
            proptest::option::of(any::<u64>()),
            (proptest::option::of(any::<u64>()), any::<bool>()),
        )
            .prop_map(|(name, kind, amount, used, remaining, resets_at, reset_after, (window, org))| {
                LimitStatus {
                    name: Arc::from(name),
                    scope: if org { Scope::Organisation } else { Scope::Member },
                    kind: kind.into(),
                    amount,
                    used,
                    remaining,
                    resets_at,
                    reset_after,
                    window,
                }
            })
    }

    fn restriction() -> impl Strategy<Value = RestrictionView> {
        (
            prop_oneof![
                Just(RestrictionKind::Overage),
                Just(RestrictionKind::Escalation),
                Just(RestrictionKind::Verification),
                Just(RestrictionKind::Challenge)
            ],
            text(),
            text(),
            proptest::collection::vec(text(), 0..3),
            timestamp(),
            proptest::option::of(timestamp()),
            any::<u32>(),
        )
            .prop_map(|(kind, penalty, cause, blocks, since, until, extras)| RestrictionView {
                kind,
                penalty,
                cause,
                blocks,
                since,
                until,
                extras,
            })
    }

    fn warning() -> impl Strategy<Value = Warning> {
        (text(), any::<u64>(), any::<u64>(), text()).prop_map(|(limit, used, amount, message)| Warning {
            limit: Arc::from(limit),
            used,
            amount,
            message,
        })
    }

    fn decision() -> impl Strategy<Value = Decision> {
        let reason = prop_oneof![
            Just(Reason::Ok),
            Just(Reason::LimitExceeded),
            Just(Reason::Restricted),
            Just(Reason::Cooldown),
            Just(Reason::CapReached),
            Just(Reason::VerificationRequired),
            Just(Reason::StoreUnavailable),
            Just(Reason::ChallengeRequired),
        ];
        (
            (any::<bool>(), reason, text(), proptest::option::of(text())),
            (proptest::option::of(any::<u64>()), proptest::option::of(timestamp())),
            proptest::collection::vec(limit(), 0..5),
            (proptest::option::of(restriction()), proptest::option::of(text())),
            proptest::collection::vec(warning(), 0..3),
            (any::<bool>(), any::<bool>()),
        )
            .prop_map(
                |(
                    (allowed, reason, message, limit),
                    (retry_after, retry_at),
                    limits,
                    (restriction, challenge),
                    warnings,
                    (duplicate, dry_run),
                )| Decision {
                    allowed,
                    reason,
                    message: message.into(),
                    limit: limit.map(Arc::from),
                    retry_after,
                    retry_at,
                    limits,
                    restriction,
                    challenge: challenge.map(Into::into),
                    warnings,
                    duplicate,
                    dry_run,
                },
            )
    }

    proptest! {
        #[test]
        fn the_body_is_exactly_what_serde_writes(d in decision()) {
            let mut body = Vec::new();
            write_body(&d, &mut body).unwrap();
            let serde = serde_json::to_vec(&d).unwrap();
            prop_assert_eq!(String::from_utf8(body).unwrap(), String::from_utf8(serde).unwrap());
        }

        #[test]
        fn the_body_reads_back_as_the_same_decision(d in decision()) {
            let body = decision_body(&d).unwrap();
            let back: Decision = serde_json::from_slice(&body).unwrap();
            prop_assert_eq!(back, d);
        }

        #[test]
        fn every_header_value_is_valid_and_complete(d in decision()) {
            let h = RateLimitHeaders::of(&d);
            for (name, value) in h.iter() {
                prop_assert!(value.iter().all(|b| (b' '..=b'~').contains(b)), "{:?}: {:?}", name, value);
            }
            prop_assert_eq!(h.get(Header::RateLimitPolicy).is_some(), !d.limits.is_empty());
            prop_assert_eq!(h.get(Header::RateLimit).is_some(), !d.limits.is_empty());
            prop_assert_eq!(h.get(Header::XReset).is_some(), !d.limits.is_empty());
            prop_assert_eq!(h.get(Header::RetryAfter).is_some(), d.denial() == Some(DenialKind::TimeCures));
            if let Some(l) = d.tightest() {
                prop_assert_eq!(h.get(Header::XLimit).unwrap(), l.amount.to_string());
                prop_assert_eq!(h.get(Header::XRemaining).unwrap(), l.remaining.to_string());
                let rl = h.get(Header::RateLimit).unwrap();
                let expected_r = format!(";r={};t=", l.remaining);
                prop_assert!(rl.contains(&expected_r), "{}", rl);
            }
        }
    }
}
