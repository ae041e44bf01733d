//! `pacekeeper replay`: recorded traffic through the engine, one JSON line out per line in.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, Write};

use pacekeeper_engine::{DecideRequest, Event, MemberState, Policy, apply_event, decide, field_at_fault};
use serde::Serialize;
use serde_json::Value;

/// What a replay did, printed on standard error at the end.
#[derive(Default)]
pub struct Summary {
    lines: u64,
    allowed: u64,
    denied: u64,
    events: u64,
    errors: u64,
    members: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replayed {} lines for {} members: {} allowed, {} denied, {} events, {} errors",
            self.lines, self.members, self.allowed, self.denied, self.events, self.errors
        )
    }
}

#[derive(Serialize)]
struct Out<'a, T: Serialize> {
    line: u64,
    member: &'a str,
    at: jiff::Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(flatten)]
    body: T,
}

#[derive(Serialize)]
struct ErrorLine {
    line: u64,
    error: ErrorBody,
}

#[derive(Serialize)]
struct ErrorBody {
    field: String,
    message: String,
}

fn bad(line: u64, field: impl Into<String>, message: impl Into<String>) -> ErrorLine {
    ErrorLine { line, error: ErrorBody { field: field.into(), message: message.into() } }
}

/// Parses a body into `T`, naming the field at fault when it does not fit.
fn parse<T: serde::de::DeserializeOwned>(line: u64, v: Value) -> Result<T, ErrorLine> {
    serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        bad(line, field_at_fault(&path, &inner), inner)
    })
}

/// Replays `input` into `out`. Bad lines become error lines and the replay goes on.
pub fn run(policy: &Policy, input: impl BufRead, mut out: impl Write, text: bool) -> anyhow::Result<Summary> {
    let mut states: HashMap<String, MemberState> = HashMap::new();
    let mut sum = Summary::default();
    for (i, line) in input.lines().enumerate() {
        let n = i as u64 + 1;
        let line = line?;
        sum.lines += 1;
        if line.trim().is_empty() {
            // Keep the one-out-per-in promise even for blank lines.
            write_line(&mut out, &bad(n, "(line)", "empty line; expected a JSON object"), text)?;
            sum.errors += 1;
            continue;
        }
        match one(policy, &mut states, n, &line, &mut sum) {
            Ok(json) => {
                if text {
                    writeln!(out, "{}", text_line(&json))?;
                } else {
                    writeln!(out, "{json}")?;
                }
            }
            Err(e) => {
                sum.errors += 1;
                write_line(&mut out, &e, text)?;
            }
        }
    }
    sum.members = states.len();
    out.flush()?;
    Ok(sum)
}

fn write_line(out: &mut impl Write, e: &ErrorLine, text: bool) -> anyhow::Result<()> {
    if text {
        writeln!(out, "line {}: error in `{}`: {}", e.line, e.error.field, e.error.message)?;
    } else {
        writeln!(out, "{}", serde_json::to_string(e)?)?;
    }
    Ok(())
}

fn one(
    policy: &Policy,
    states: &mut HashMap<String, MemberState>,
    n: u64,
    line: &str,
    sum: &mut Summary,
) -> Result<Value, ErrorLine> {
    let v: Value = serde_json::from_str(line).map_err(|e| bad(n, "(line)", format!("not JSON: {e}")))?;
    let Some(obj) = v.as_object() else {
        return Err(bad(n, "(line)", "expected a JSON object: a decide body or an event body"));
    };
    let is_event = obj.contains_key("kind");
    if !is_event && !obj.contains_key("action") {
        return Err(bad(n, "action", "neither `action` (a decide body) nor `kind` (an event body) is present"));
    }
    if is_event {
        let ev: Event = parse(n, v)?;
        let at = ev.at.ok_or_else(|| bad(n, "at", "replay needs `at` (RFC 3339) on every line"))?;
        let state = states.entry(ev.member.clone()).or_default();
        let ack = apply_event(policy, state, &ev, at).map_err(|e| bad(n, e.field(), e.to_string()))?;
        sum.events += 1;
        to_value(Out { line: n, member: &ev.member, at, action: None, status: None, body: ack })
    } else {
        let req: DecideRequest = parse(n, v)?;
        let at = req.at.ok_or_else(|| bad(n, "at", "replay needs `at` (RFC 3339) on every line"))?;
        let state = states.entry(req.member.clone()).or_default();
        let d = decide(policy, state, &req, at).map_err(|e| bad(n, e.field(), e.to_string()))?;
        if d.allowed {
            sum.allowed += 1;
        } else {
            sum.denied += 1;
        }
        to_value(Out {
            line: n,
            member: &req.member,
            at,
            action: Some(&req.action),
            status: Some(pacekeeper_server::decision_status(&d)),
            body: d,
        })
    }
}

fn to_value(o: impl Serialize) -> Result<Value, ErrorLine> {
    serde_json::to_value(o).map_err(|e| bad(0, "(output)", e.to_string()))
}

/// One readable line: time, member, what, outcome and the binding limit's usage.
fn text_line(v: &Value) -> String {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let at = s("at");
    let member = s("member");
    if v.get("kind").is_some() {
        let effects: Vec<String> =
            v["effects"].as_array().into_iter().flatten().filter_map(|e| e.as_str().map(String::from)).collect();
        return format!("{at}  {member:<8} event {:<28} {}", s("kind"), effects.join("; "));
    }
    let status = v.get("status").and_then(Value::as_u64).unwrap_or(0);
    let usage = v["limits"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l.get("name") == v.get("limit"))
        .map(|l| format!(" [{} {}/{}]", l["name"].as_str().unwrap_or(""), l["used"], l["amount"]))
        .unwrap_or_default();
    let warn = if v["warnings"].as_array().is_some_and(|w| !w.is_empty()) { " (warning)" } else { "" };
    format!("{at}  {member:<8} {:<13} {status} {:<22} {}{usage}{warn}", s("action"), s("reason"), s("message"))
}
