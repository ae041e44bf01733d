//! Pacekeeper's policy simulator: populations of members on a virtual clock, driven through
//! the engine directly (no store, no server), with recipients' answers arriving later as
//! outcome events that feed back into the limits.
//!
//! [`run`] simulates one policy over a [`Scenario`]; the report compares runs. Like the
//! engine, nothing here reads a clock or the network, and the random source is seeded: the
//! same scenario and seed give the same run, byte for byte.

pub mod backtest;
mod behaviour;
pub mod gate;
pub mod population;
pub mod report;
pub mod sweep;
pub mod tally;
mod world;

use jiff::Timestamp;
use pacekeeper_engine::{Policy, RequestError};
use serde::Serialize;

pub use population::{Client, Population, PopulationError, Role};
pub use tally::{Headline, PopSummary};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub populations: Vec<Population>,
    /// Members in all, split by the populations' shares.
    pub members: usize,
    pub weeks: u32,
    pub seed: u64,
    /// The first week's Monday, 00:00 UTC.
    pub start: Timestamp,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The policy refused a request the populations make (it has no `invite` action, say).
    #[error("population `{population}`: the policy refuses its invitations: {source}")]
    Request {
        /// The population.
        population: String,
        /// The engine's error.
        #[source]
        source: RequestError,
    },
}

/// How one member fared, for comparing policies member by member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberOutcome {
    pub member: String,
    pub population: String,
    pub role: Role,
    pub denials: u32,
    pub restricted: bool,
    /// The first denial's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_denial: Option<String>,
}

/// One policy's run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// The policy's name (or the sweep setting).
    pub label: String,
    pub decisions: u64,
    pub headline: Headline,
    pub populations: Vec<PopSummary>,
    #[serde(skip)]
    pub members: Vec<MemberOutcome>,
}

/// Members per population: the shares of `members`, by largest remainder.
pub fn member_counts(pops: &[Population], members: usize) -> Vec<usize> {
    let total: f64 = pops.iter().map(|p| p.share).sum();
    if total <= 0.0 {
        return vec![0; pops.len()];
    }
    let exact: Vec<f64> = pops.iter().map(|p| p.share / total * members as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..pops.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
    let missing = members - counts.iter().sum::<usize>();
    for &i in order.iter().take(missing) {
        counts[i] += 1;
    }
    counts
}

/// Simulates `policy` over the scenario.
pub fn run(label: &str, policy: &Policy, sc: &Scenario) -> Result<Run, SimError> {
    let mut w = world::World::new(policy, sc);
    let decisions = w.run()?;
    let populations: Vec<PopSummary> =
        w.tally.iter().zip(&sc.populations).map(|(t, p)| t.summary(&p.name, p.role)).collect();
    let members = w
        .members
        .iter()
        .map(|m| MemberOutcome {
            member: m.id.clone(),
            population: sc.populations[m.pop].name.clone(),
            role: sc.populations[m.pop].role,
            denials: m.denials,
            restricted: m.restricted_once,
            first_denial: m.first_denial.clone(),
        })
        .collect();
    Ok(Run { label: label.into(), decisions, headline: tally::headline(&populations, sc.weeks), populations, members })
}
