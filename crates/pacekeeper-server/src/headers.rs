//! `RateLimit-Policy`, `RateLimit`, the `X-RateLimit-*` trio and `Retry-After`
//! (draft-ietf-httpapi-ratelimit-headers; seed 002 for the `X-` trio).

use std::fmt::Write;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use pacekeeper_engine::{Decision, LimitStatus};

/// Appends `s` as a structured-field string: printable ASCII, with `"` and `\` escaped.
fn push_sf_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
}

/// Sets header `name` to `value` (always valid: built from printable ASCII).
fn put(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(HeaderName::from_static(name), v);
    }
}

/// Sets header `name` to a number.
fn put_number(h: &mut HeaderMap, name: &'static str, value: u64) {
    h.insert(HeaderName::from_static(name), HeaderValue::from(value));
}

/// Seconds until the binding limit frees up: for a denial by that limit, the time until the
/// request fits (so `Retry-After` is never earlier than `t`); otherwise its reset.
fn reset_seconds(d: &Decision, l: &LimitStatus) -> u64 {
    match (d.allowed, &d.limit, d.retry_after) {
        (false, Some(name), Some(r)) if *name == l.name => r,
        _ => l.reset_after.unwrap_or(0),
    }
}

/// The headers every `/v1/decide` answer carries. One buffer serves every structured
/// field: this runs for every decision.
pub fn rate_limit_headers(d: &Decision) -> HeaderMap {
    let mut h = HeaderMap::with_capacity(8);
    let mut buf = String::with_capacity(32 * d.limits.len() + 32);
    for (i, l) in d.limits.iter().enumerate() {
        if i > 0 {
            buf.push_str(", ");
        }
        push_sf_string(&mut buf, &l.name);
        let _ = write!(buf, ";q={}", l.amount);
        if let Some(w) = l.window {
            let _ = write!(buf, ";w={w}");
        }
    }
    if !buf.is_empty() {
        put(&mut h, "ratelimit-policy", &buf);
    }
    if let Some(l) = d.tightest() {
        let t = reset_seconds(d, l);
        buf.clear();
        push_sf_string(&mut buf, &l.name);
        let _ = write!(buf, ";r={};t={t}", l.remaining);
        put(&mut h, "ratelimit", &buf);
        put_number(&mut h, "x-ratelimit-limit", l.amount);
        put_number(&mut h, "x-ratelimit-remaining", l.remaining);
        put_number(&mut h, "x-ratelimit-reset", t);
    }
    if d.status() == 429
        && let Some(r) = d.retry_after
    {
        put_number(&mut h, "retry-after", r);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sf_string(s: &str) -> String {
        let mut out = String::new();
        push_sf_string(&mut out, s);
        out
    }

    #[test]
    fn structured_strings_escape_quotes_and_backslashes() {
        assert_eq!(sf_string("weekly"), "\"weekly\"");
        assert_eq!(sf_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(sf_string("é"), "\"?\"");
    }
}
