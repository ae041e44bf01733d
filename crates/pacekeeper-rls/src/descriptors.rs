//! Descriptors to decide requests (DESIGN §2.2): one descriptor is one request, its entries
//! the request's fields by key, its cost from `hits_addend` or a `cost` entry.

use envoy_types::pb::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;
use envoy_types::pb::envoy::service::ratelimit::v3::RateLimitRequest;
use pacekeeper_engine::DecideRequest;
use tonic::Status;

/// The keys a descriptor may carry.
pub const KEYS: &[&str] = &[
    "member",
    "action",
    "tier",
    "target",
    "channel",
    "note",
    "cost",
    "dry_run",
    "request_id",
    "at",
    "organisation",
    "challenge_passed",
];

/// The decide requests of a gateway's request, one per descriptor, in order.
pub fn requests(req: &RateLimitRequest, ignore: &[String]) -> Result<Vec<DecideRequest>, Status> {
    if req.descriptors.is_empty() {
        return Err(Status::invalid_argument("descriptors: a request needs at least one descriptor"));
    }
    req.descriptors.iter().enumerate().map(|(i, d)| request(i, d, req.hits_addend, ignore)).collect()
}

/// One descriptor as a decide request.
fn request(i: usize, d: &RateLimitDescriptor, request_hits: u32, ignore: &[String]) -> Result<DecideRequest, Status> {
    let bad = |what: String| Status::invalid_argument(format!("descriptors[{i}]{what}"));
    if d.limit.is_some() {
        return Err(bad(": a `limit` override is not accepted; the policy sets the amounts".into()));
    }
    if d.is_negative_hits {
        return Err(bad(": `is_negative_hits` is not accepted; refunds go through POST /v1/events".into()));
    }
    let (mut r, cost_entry) = entries(d, ignore).map_err(bad)?;
    for (key, value) in [("member", &r.member), ("action", &r.action)] {
        if value.is_empty() {
            return Err(bad(format!(".{key}: the `{key}` entry is required")));
        }
    }
    let descriptor_hits = d.hits_addend.as_ref().map(|h| h.value);
    match (descriptor_hits, cost_entry) {
        (Some(h), Some(c)) if h != c => {
            Err(bad(format!(".cost: the descriptor's hits_addend {h} disagrees with its `cost` entry {c}")))
        }
        // An explicit 0 evaluates without charging.
        (Some(0), _) => Ok(DecideRequest { dry_run: true, cost: None, ..r }),
        (Some(n), _) | (None, Some(n)) => Ok(DecideRequest { cost: Some(n), ..r }),
        (None, None) => {
            r.cost = (request_hits > 0).then_some(u64::from(request_hits));
            Ok(r)
        }
    }
}

/// The descriptor's entries as request fields, and its `cost` entry; an error says which
/// key is wrong (`.key: why`).
fn entries(d: &RateLimitDescriptor, ignore: &[String]) -> Result<(DecideRequest, Option<u64>), String> {
    let mut r = DecideRequest::default();
    let mut cost = None;
    let mut seen: Vec<&str> = Vec::with_capacity(d.entries.len());
    for e in &d.entries {
        let (key, v) = (e.key.as_str(), e.value.clone());
        if ignore.iter().any(|k| k == key) {
            continue;
        }
        if seen.contains(&key) {
            return Err(format!(".{key}: the key is repeated; send it once"));
        }
        seen.push(key);
        match key {
            "member" => r.member = v,
            "action" => r.action = v,
            "tier" => r.tier = Some(v),
            "target" => r.target = Some(v),
            "channel" => r.channel = Some(v),
            "note" => r.note = Some(v),
            "request_id" => r.request_id = Some(v),
            "organisation" => r.organisation = Some(v),
            "challenge_passed" => r.challenge_passed = Some(v),
            "cost" => cost = Some(number(&v).ok_or_else(|| format!(".cost: `{v}` is not a whole number"))?),
            "dry_run" => r.dry_run = flag(&v).ok_or_else(|| format!(".dry_run: `{v}` is neither true nor false"))?,
            "at" => r.at = Some(v.parse().map_err(|e| format!(".at: `{v}` is not an RFC 3339 instant ({e})"))?),
            other => {
                return Err(format!(
                    ".{other}: unknown key; the keys are {}, or list it in [rls] ignore_keys",
                    KEYS.join(", ")
                ));
            }
        }
    }
    Ok((r, cost))
}

fn number(v: &str) -> Option<u64> {
    v.trim().parse().ok()
}

fn flag(v: &str) -> Option<bool> {
    match v.trim() {
        "true" | "1" => Some(true),
        "false" | "0" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::extensions::common::ratelimit::v3::rate_limit_descriptor::Entry;
    use envoy_types::pb::google::protobuf::UInt64Value;

    use super::*;

    fn descriptor(entries: &[(&str, &str)]) -> RateLimitDescriptor {
        RateLimitDescriptor {
            entries: entries.iter().map(|(k, v)| Entry { key: k.to_string(), value: v.to_string() }).collect(),
            ..Default::default()
        }
    }

    fn one(d: RateLimitDescriptor, hits: u32) -> Result<DecideRequest, Status> {
        requests(&RateLimitRequest { domain: "linkedin".into(), descriptors: vec![d], hits_addend: hits }, &[])
            .map(|mut v| v.remove(0))
    }

    #[test]
    fn cost_comes_from_the_descriptor_then_the_entry_then_the_request() {
        let base = [("member", "ada"), ("action", "invite")];
        assert_eq!(one(descriptor(&base), 0).unwrap().cost, None);
        assert_eq!(one(descriptor(&base), 3).unwrap().cost, Some(3));
        let with_cost = descriptor(&[("member", "ada"), ("action", "invite"), ("cost", "5")]);
        assert_eq!(one(with_cost.clone(), 3).unwrap().cost, Some(5));
        let mut d = with_cost;
        d.hits_addend = Some(UInt64Value { value: 5 });
        assert_eq!(one(d.clone(), 3).unwrap().cost, Some(5));
        d.hits_addend = Some(UInt64Value { value: 6 });
        assert!(one(d, 3).unwrap_err().message().contains("disagrees"));
        let mut d = descriptor(&base);
        d.hits_addend = Some(UInt64Value { value: 0 });
        let r = one(d, 3).unwrap();
        assert!(r.dry_run && r.cost.is_none(), "an explicit 0 evaluates without charging");
    }

    #[test]
    fn unknown_repeated_and_missing_keys_are_named() {
        let e = one(descriptor(&[("member", "ada"), ("action", "invite"), ("usr", "x")]), 0).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().starts_with("descriptors[0].usr: unknown key"), "{}", e.message());
        let e = one(descriptor(&[("member", "ada"), ("member", "bob"), ("action", "invite")]), 0).unwrap_err();
        assert!(e.message().starts_with("descriptors[0].member: the key is repeated"), "{}", e.message());
        let e = one(descriptor(&[("member", "ada")]), 0).unwrap_err();
        assert!(e.message().starts_with("descriptors[0].action: the `action` entry is required"), "{}", e.message());
    }
}
