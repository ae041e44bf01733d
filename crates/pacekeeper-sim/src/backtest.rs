//! Back-testing on recorded traffic (the `replay` format: JSON Lines of decide and event
//! bodies, each with `at`). The outcome events are the labels: an invitation answered
//! "I don't know" or reported as spam was unwanted, an accepted one wanted. When a policy
//! denies a recorded invitation, that invitation's later outcome events are dropped and
//! counted as prevented. Once a member's decisions differ from the baseline's, the rest of
//! their record is counterfactual (they would have acted otherwise): such members are counted
//! as diverged, and the report says so.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;

use jiff::Timestamp;
use pacekeeper_engine::{DecideRequest, Event, EventKind, MemberState, Policy, apply_event, decide, field_at_fault};
use serde::Serialize;

/// One recorded line.
#[derive(Debug, Clone)]
enum Line {
    Decide(DecideRequest, Timestamp),
    Event(Event, Timestamp),
}

/// Recorded traffic, read and checked.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    lines: Vec<Line>,
}

/// A recorded line that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    /// The line is not a decide or event body with `at`.
    #[error("{file}:{line}: `{field}`: {message}")]
    Line {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// The field at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The file cannot be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Traffic {
    /// Reads recorded traffic; blank lines are skipped, any other bad line is refused.
    pub fn read(file: &str, input: impl BufRead) -> Result<Traffic, TrafficError> {
        let mut lines = Vec::new();
        for (i, line) in input.lines().enumerate() {
            let line = line.map_err(|source| TrafficError::Read { file: file.into(), source })?;
            if !line.trim().is_empty() {
                lines.push(parse(file, i + 1, &line)?);
            }
        }
        Ok(Traffic { lines })
    }

    /// Lines read.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True with no line.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

fn parse(file: &str, n: usize, line: &str) -> Result<Line, TrafficError> {
    let bad =
        |field: &str, message: String| TrafficError::Line { file: file.into(), line: n, field: field.into(), message };
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad("(line)", format!("not JSON: {e}")))?;
    let is_event = v.get("kind").is_some();
    if !is_event && v.get("action").is_none() {
        return Err(bad("action", "neither `action` (a decide body) nor `kind` (an event body) is present".into()));
    }
    let typed = |v| -> Result<Line, TrafficError> {
        let missing = || bad("at", "a recorded line needs `at` (RFC 3339)".into());
        if is_event {
            let ev: Event = from_value(v).map_err(|(f, m)| bad(&f, m))?;
            let at = ev.at.ok_or_else(missing)?;
            Ok(Line::Event(ev, at))
        } else {
            let req: DecideRequest = from_value(v).map_err(|(f, m)| bad(&f, m))?;
            let at = req.at.ok_or_else(missing)?;
            Ok(Line::Decide(req, at))
        }
    };
    typed(v)
}

fn from_value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        (field_at_fault(&path, &inner), inner)
    })
}

/// One policy over the recorded traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    pub label: String,
    pub decisions: u64,
    pub denied_by_reason: BTreeMap<&'static str, u64>,
    /// Recorded invitations (decisions with a target) it denied.
    pub invitations_denied: u64,
    /// Unwanted answers ("I don't know", spam) to invitations it denied: harm prevented.
    pub prevented_unwanted: u64,
    /// Acceptances of invitations it denied: wanted connections lost.
    pub prevented_wanted: u64,
    /// Unwanted answers to invitations it let through.
    pub delivered_unwanted: u64,
    /// Acceptances of invitations it let through.
    pub delivered_wanted: u64,
    /// Of the denials that met a label, the share that met an unwanted one.
    pub precision: Option<f64>,
    /// Members whose decisions differ from the baseline's; after the first difference their
    /// record is counterfactual.
    pub diverged_members: u64,
    pub members: u64,
}

/// Runs every policy over the traffic; the first is the baseline.
pub fn backtest(traffic: &Traffic, policies: &[(String, Policy)]) -> Result<Vec<Backtest>, TrafficError> {
    let mut runs = Vec::with_capacity(policies.len());
    let mut baseline: Option<Vec<bool>> = None;
    for (label, policy) in policies {
        let (mut run, allowed) = one(traffic, label, policy)?;
        if let Some(base) = &baseline {
            run.diverged_members = diverged(traffic, base, &allowed);
        }
        baseline.get_or_insert(allowed);
        runs.push(run);
    }
    Ok(runs)
}

/// Members with a decision that differs between the two runs.
fn diverged(traffic: &Traffic, a: &[bool], b: &[bool]) -> u64 {
    let mut members = HashSet::new();
    let decides = traffic.lines.iter().filter_map(|l| match l {
        Line::Decide(r, _) => Some(&r.member),
        Line::Event(..) => None,
    });
    for ((member, x), y) in decides.zip(a).zip(b) {
        if x != y {
            members.insert(member);
        }
    }
    members.len() as u64
}

fn one(traffic: &Traffic, label: &str, policy: &Policy) -> Result<(Backtest, Vec<bool>), TrafficError> {
    let mut states: HashMap<&str, MemberState> = HashMap::new();
    let mut denied_invites: HashSet<(&str, &str)> = HashSet::new();
    let mut allowed = Vec::new();
    let mut b = Backtest {
        label: label.into(),
        decisions: 0,
        denied_by_reason: BTreeMap::new(),
        invitations_denied: 0,
        prevented_unwanted: 0,
        prevented_wanted: 0,
        delivered_unwanted: 0,
        delivered_wanted: 0,
        precision: None,
        diverged_members: 0,
        members: 0,
    };
    for (i, line) in traffic.lines.iter().enumerate() {
        let refused = |e: pacekeeper_engine::RequestError| TrafficError::Line {
            file: label.into(),
            line: i + 1,
            field: e.field().to_string(),
            message: e.to_string(),
        };
        match line {
            Line::Decide(req, at) => {
                let d = decide(policy, states.entry(&req.member).or_default(), req, *at).map_err(refused)?;
                b.decisions += 1;
                allowed.push(d.allowed);
                if !d.allowed {
                    *b.denied_by_reason.entry(d.reason.as_str()).or_insert(0) += 1;
                    if let Some(t) = &req.target {
                        b.invitations_denied += 1;
                        denied_invites.insert((&req.member, t));
                    }
                }
            }
            Line::Event(ev, at) => {
                let prevented = ev.target.as_deref().is_some_and(|t| denied_invites.contains(&(ev.member.as_str(), t)));
                label_outcome(&mut b, ev.kind, prevented);
                if !prevented {
                    // An event the policy cannot apply (no such invitation under it) is skipped.
                    let _ = apply_event(policy, states.entry(&ev.member).or_default(), ev, *at);
                }
            }
        }
    }
    let labelled = b.prevented_unwanted + b.prevented_wanted;
    b.precision = (labelled > 0).then(|| b.prevented_unwanted as f64 / labelled as f64);
    b.members = states.len() as u64;
    Ok((b, allowed))
}

fn label_outcome(b: &mut Backtest, kind: EventKind, prevented: bool) {
    let unwanted = matches!(kind, EventKind::InvitationReportedUnknown | EventKind::InvitationReportedSpam);
    let wanted = kind == EventKind::InvitationAccepted;
    match (prevented, unwanted, wanted) {
        (true, true, _) => b.prevented_unwanted += 1,
        (true, _, true) => b.prevented_wanted += 1,
        (false, true, _) => b.delivered_unwanted += 1,
        (false, _, true) => b.delivered_wanted += 1,
        _ => {}
    }
}
