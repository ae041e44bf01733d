//! `RateLimit-Policy`, `RateLimit`, the `X-RateLimit-*` trio and `Retry-After`
//! (draft-ietf-httpapi-ratelimit-headers; seed 002 for the `X-` trio).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use pacekeeper_engine::{Decision, LimitStatus};

/// A structured-field string: printable ASCII, with `"` and `\` escaped.
fn sf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
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
    out
}

fn put(h: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(HeaderName::from_static(name), v);
    }
}

/// Seconds until the binding limit frees up: for a denial by that limit, the time until the
/// request fits (so `Retry-After` is never earlier than `t`); otherwise its reset.
fn reset_seconds(d: &Decision, l: &LimitStatus) -> u64 {
    match (d.allowed, &d.limit, d.retry_after) {
        (false, Some(name), Some(r)) if *name == l.name => r,
        _ => l.reset_after.unwrap_or(0),
    }
}

/// The headers every `/v1/decide` answer carries.
pub fn rate_limit_headers(d: &Decision) -> HeaderMap {
    let mut h = HeaderMap::new();
    let policies: Vec<String> = d
        .limits
        .iter()
        .map(|l| match l.window {
            Some(w) => format!("{};q={};w={w}", sf_string(&l.name), l.amount),
            None => format!("{};q={}", sf_string(&l.name), l.amount),
        })
        .collect();
    if !policies.is_empty() {
        put(&mut h, "ratelimit-policy", policies.join(", "));
    }
    if let Some(l) = d.tightest() {
        let t = reset_seconds(d, l);
        put(&mut h, "ratelimit", format!("{};r={};t={t}", sf_string(&l.name), l.remaining));
        put(&mut h, "x-ratelimit-limit", l.amount.to_string());
        put(&mut h, "x-ratelimit-remaining", l.remaining.to_string());
        put(&mut h, "x-ratelimit-reset", t.to_string());
    }
    if d.status() == 429
        && let Some(r) = d.retry_after
    {
        put(&mut h, "retry-after", r.to_string());
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_strings_escape_quotes_and_backslashes() {
        assert_eq!(sf_string("weekly"), "\"weekly\"");
        assert_eq!(sf_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(sf_string("é"), "\"?\"");
    }
}
