//! Rate-limit feedback from an HTTP answer: its headers, in every dialect met in practice,
//! and a Pacekeeper decision body.

use std::time::Duration;

use jiff::Timestamp;
use sfv::{BareItem, ListEntry, Parameters, Parser};

/// A quota the server announces (`RateLimit-Policy`; informative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaPolicy {
    /// Its name (`"weekly_invitations"`), when the server names it.
    pub name: Option<String>,
    /// Units allowed per window (`q`).
    pub quota: u64,
    /// The window (`w`), when given.
    pub window: Option<Duration>,
}

/// Where a quota stands now (`RateLimit`, the `X-RateLimit-*` trio, a decision's limits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaState {
    /// Its name, when the server names it.
    pub name: Option<String>,
    /// Units left now (`r`).
    pub remaining: u64,
    /// Time until the quota frees up (`t`), when given.
    pub reset: Option<Duration>,
    /// The quota's size, when the same source gives it.
    pub limit: Option<u64>,
}

/// What a Pacekeeper decision body says (`POST /v1/decide`), read leniently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionBody {
    /// Whether the action may proceed.
    pub allowed: bool,
    /// Why (`ok`, `limit_exceeded`, `restricted`, `cooldown`, `cap_reached`, …).
    pub reason: String,
    /// The binding limit.
    pub limit: Option<String>,
    /// Seconds until the same request would be allowed; absent when waiting does not help.
    pub retry_after: Option<Duration>,
}

/// A field that was present but not understood: ignored, as the draft requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The field's name, lower-case.
    pub field: String,
    /// Why it was ignored.
    pub why: String,
}

/// Everything an answer says about rate limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Feedback {
    /// Announced quotas (`RateLimit-Policy`).
    pub policies: Vec<QuotaPolicy>,
    /// Current quota states, most authoritative first: `RateLimit`, then the separate
    /// `RateLimit-*` fields of early drafts, then the `X-RateLimit-*` trio, then the body's.
    pub quotas: Vec<QuotaState>,
    /// `Retry-After`, as a delay from the answer.
    pub retry_after: Option<Duration>,
    /// A Pacekeeper decision, when the body is one.
    pub decision: Option<DecisionBody>,
    /// Fields present but not understood.
    pub ignored: Vec<Ignored>,
}

/// A `Retry-After` or reset longer than this is kept as it is, but noted as suspicious.
const SUSPICIOUS: Duration = Duration::from_secs(366 * 86_400);

/// Epoch-second values at or above this, near `now`, are instants rather than delays.
const EPOCH_FLOOR: f64 = 1_000_000_000.0;

impl Feedback {
    /// Reads the rate-limit fields of `headers` (names in any case) and, when it is a
    /// Pacekeeper decision, the JSON `body`. `now` is when the answer arrived: it turns
    /// instants (HTTP dates, epoch seconds) into delays.
    pub fn parse<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        body: Option<&[u8]>,
        now: Timestamp,
    ) -> Feedback {
        let mut f = Feedback::default();
        let mut trio = Trio::default();
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            let value = value.trim();
            let outcome = match name.as_str() {
                "ratelimit-policy" => f.read_policies(value),
                "ratelimit" => f.read_ratelimit(value),
                "retry-after" => retry_after(value, now).map(|d| f.retry_after = Some(d)),
                n => trio.read(n, value, now),
            };
            if let Err(why) = outcome {
                f.ignored.push(Ignored { field: name, why });
            }
        }
        f.quotas.extend(trio.into_states());
        if let Some(body) = body {
            f.read_body(body);
        }
        f.note_suspicious();
        f
    }

    /// How long to wait before the next request, if the answer says to wait: `Retry-After`
    /// first (it takes precedence), then a decision's `retry_after`, then the reset of a quota
    /// with nothing left.
    pub fn wait(&self) -> Option<Duration> {
        if let Some(d) = self.retry_after {
            return Some(d);
        }
        if let Some(d) = self.decision.as_ref().and_then(|d| d.retry_after) {
            return Some(d);
        }
        self.quotas.iter().filter(|q| q.remaining == 0).filter_map(|q| q.reset).max()
    }

    /// The quota with the least left (relative to its size, when known).
    pub fn tightest(&self) -> Option<&QuotaState> {
        let share = |q: &QuotaState| q.limit.map_or(q.remaining as f64, |l| q.remaining as f64 / l.max(1) as f64);
        self.quotas.iter().min_by(|a, b| share(a).total_cmp(&share(b)))
    }

    /// `RateLimit-Policy`: a list of `"name";q=…;w=…` items (current drafts) or of
    /// `100;w=60` items (earlier drafts).
    fn read_policies(&mut self, value: &str) -> Result<(), String> {
        let list = Parser::new(value).parse_list::<sfv::List>().map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for entry in &list {
            let ListEntry::Item(item) = entry else { return Err("an inner list is not a policy".into()) };
            let (name, quota) = match &item.bare_item {
                BareItem::String(s) => (Some(s.as_str().to_string()), param_u64(&item.params, "q")),
                BareItem::Token(t) => (Some(t.as_str().to_string()), param_u64(&item.params, "q")),
                BareItem::Integer(n) => (None, u64::try_from(i64::from(*n)).ok()),
                _ => return Err("a policy is named by a string".into()),
            };
            let quota = quota.ok_or("a policy without its quota `q`")?;
            out.push(QuotaPolicy { name, quota, window: param_u64(&item.params, "w").map(Duration::from_secs) });
        }
        self.policies.extend(out);
        Ok(())
    }

    /// `RateLimit`: a list of `"name";r=…;t=…` items (current drafts), or the dictionary
    /// `limit=…, remaining=…, reset=…` of draft 07.
    fn read_ratelimit(&mut self, value: &str) -> Result<(), String> {
        if let Ok(list) = Parser::new(value).parse_list::<sfv::List>() {
            let mut out = Vec::new();
            for entry in &list {
                let ListEntry::Item(item) = entry else { return Err("an inner list is not a quota".into()) };
                let name = match &item.bare_item {
                    BareItem::String(s) => Some(s.as_str().to_string()),
                    BareItem::Token(t) => Some(t.as_str().to_string()),
                    _ => return Err("a quota is named by a string".into()),
                };
                let remaining = param_u64(&item.params, "r").ok_or("a quota without its remaining `r`")?;
                let reset = param_u64(&item.params, "t").map(Duration::from_secs);
                out.push(QuotaState { name, remaining, reset, limit: None });
            }
            self.quotas.extend(out);
            return Ok(());
        }
        let dict = Parser::new(value).parse_dictionary::<sfv::Dictionary>().map_err(|e| e.to_string())?;
        let get = |k: &str| {
            dict.iter().find(|(key, _)| key.as_str() == k).and_then(|(_, v)| match v {
                ListEntry::Item(i) => i.bare_item.as_integer().and_then(|n| u64::try_from(i64::from(n)).ok()),
                ListEntry::InnerList(_) => None,
            })
        };
        let remaining = get("remaining").ok_or("neither a list of quotas nor limit/remaining/reset")?;
        self.quotas.push(QuotaState {
            name: None,
            remaining,
            reset: get("reset").map(Duration::from_secs),
            limit: get("limit"),
        });
        Ok(())
    }

    /// A Pacekeeper decision body: `allowed`, `reason`, `limit`, `retry_after`, `limits`.
    fn read_body(&mut self, body: &[u8]) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return };
        let (Some(allowed), Some(reason)) = (v["allowed"].as_bool(), v["reason"].as_str()) else { return };
        self.decision = Some(DecisionBody {
            allowed,
            reason: reason.to_string(),
            limit: v["limit"].as_str().map(String::from),
            retry_after: v["retry_after"].as_u64().map(Duration::from_secs),
        });
        for l in v["limits"].as_array().into_iter().flatten() {
            if let Some(remaining) = l["remaining"].as_u64() {
                self.quotas.push(QuotaState {
                    name: l["name"].as_str().map(String::from),
                    remaining,
                    reset: l["reset_after"].as_u64().map(Duration::from_secs),
                    limit: l["amount"].as_u64(),
                });
            }
        }
    }

    /// Keeps absurd delays as they are (never clamped down silently) and says so.
    fn note_suspicious(&mut self) {
        let long = |d: Option<Duration>| d.is_some_and(|d| d > SUSPICIOUS);
        if long(self.retry_after) {
            self.ignored.push(Ignored {
                field: "retry-after".into(),
                why: "over a year: kept as given, not shortened; check the server".into(),
            });
        }
    }
}

/// The `X-RateLimit-*` trio and the separate `RateLimit-Limit/-Remaining/-Reset` fields of
/// early drafts: collected, then turned into quota states.
#[derive(Default)]
struct Trio {
    draft: [Option<f64>; 3],
    x: [Option<f64>; 3],
    x_reset: Option<Duration>,
    x_name: Option<String>,
}

impl Trio {
    fn read(&mut self, name: &str, value: &str, now: Timestamp) -> Result<(), String> {
        let slot = match name {
            "ratelimit-limit" => &mut self.draft[0],
            "ratelimit-remaining" => &mut self.draft[1],
            "ratelimit-reset" => &mut self.draft[2],
            "x-ratelimit-limit" => &mut self.x[0],
            "x-ratelimit-remaining" => &mut self.x[1],
            "x-ratelimit-reset" => {
                self.x_reset = Some(delay_or_instant(first_number(value)?, now));
                return Ok(());
            }
            // Discord: the delay itself, more precise than the instant.
            "x-ratelimit-reset-after" => {
                self.x[2] = Some(first_number(value)?);
                return Ok(());
            }
            // GitHub names the quota.
            "x-ratelimit-resource" | "x-ratelimit-bucket" => {
                self.x_name = Some(value.to_string());
                return Ok(());
            }
            _ => return Ok(()),
        };
        *slot = Some(first_number(value)?);
        Ok(())
    }

    fn into_states(self) -> Vec<QuotaState> {
        let mut out = Vec::new();
        let secs = |v: f64| Duration::from_secs_f64(v.max(0.0));
        if let Some(r) = self.draft[1] {
            out.push(QuotaState {
                name: None,
                remaining: r as u64,
                reset: self.draft[2].map(secs),
                limit: self.draft[0].map(|l| l as u64),
            });
        }
        if let Some(r) = self.x[1] {
            out.push(QuotaState {
                name: self.x_name,
                remaining: r as u64,
                reset: self.x[2].map(secs).or(self.x_reset),
                limit: self.x[0].map(|l| l as u64),
            });
        }
        out
    }
}

/// The first number of a field (`10, 10;w=60` as Envoy writes the limit; `598.0` as Reddit
/// writes what remains).
fn first_number(value: &str) -> Result<f64, String> {
    let head = value.split([',', ';']).next().unwrap_or("").trim();
    match head.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(format!("`{value}` is not a number of 0 or more")),
    }
}

/// A reset written as a delay in seconds or as an epoch instant (GitHub, X/Twitter, Discord
/// send the instant; seed 002's API and Reddit the delay): a value past 2001 that lies within
/// ten years of `now` is an instant.
fn delay_or_instant(v: f64, now: Timestamp) -> Duration {
    let now_s = now.as_second() as f64;
    if v >= EPOCH_FLOOR && (v - now_s).abs() < 10.0 * 365.0 * 86_400.0 {
        Duration::from_secs_f64((v - now_s).max(0.0))
    } else {
        Duration::from_secs_f64(v)
    }
}

/// `Retry-After`: delay-seconds, or an HTTP date (a date already past means now).
fn retry_after(value: &str, now: Timestamp) -> Result<Duration, String> {
    if let Ok(secs) = value.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value)
        .map_err(|_| format!("`{value}` is neither delay-seconds nor an HTTP date"))?
        .timestamp();
    Ok(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

fn param_u64(params: &Parameters, key: &str) -> Option<u64> {
    let v = params.iter().find(|(k, _)| k.as_str() == key)?.1;
    u64::try_from(i64::from(v.as_integer()?)).ok()
}
