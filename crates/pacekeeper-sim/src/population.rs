//! Populations: who sends, how much, when, with which client, and what their recipients
//! answer. Read from TOML (`populations/*.toml` are the shipped presets); every mistake is
//! refused naming the population and the field.

use jiff::civil::Time;
use pacekeeper_pacer::{WEEKDAYS, WorkingHours};
use serde::Deserialize;

/// The shipped presets: name and TOML.
pub const PRESETS: &[(&str, &str)] = &[("linkedin-mix", include_str!("../populations/linkedin-mix.toml"))];

/// Whether a population's invitations are wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Real people and their tools: their denials are friction.
    Honest,
    /// Spam: their deliveries are harm.
    Spam,
}

/// How a member's client behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Client {
    /// A person: each invitation at a time of their choosing; a denied one is given up.
    Manual,
    /// The client pacer: even spacing in working hours, honouring every answer.
    Pacer,
    /// A script that retries a denied invitation at once, three times, then moves on.
    NaiveBot,
    /// Sends one a minute while allowed; on a denial waits as long as it is told.
    Blaster,
    /// Paces just under the weekly amount every day and withdraws what is ignored.
    LowAndSlow,
}

/// Recipients' answers: shares of invitations (the rest are ignored and expire).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcomes {
    pub accepted: f64,
    #[serde(default)]
    pub declined: f64,
    #[serde(default)]
    pub reported_unknown: f64,
    #[serde(default)]
    pub reported_spam: f64,
}

/// A weekly volume: a lognormal with this median and 95th percentile.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weekly {
    pub median: f64,
    pub p95: f64,
}

/// Some weeks hold a burst: `share` of the week's invitations within `hours` of one day.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    pub chance: f64,
    pub share: f64,
    pub hours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHours {
    days: String,
    from: String,
    to: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPopulation {
    name: String,
    role: Role,
    share: f64,
    #[serde(default)]
    tier: Option<String>,
    client: Client,
    zone: String,
    hours: RawHours,
    weekly: Weekly,
    #[serde(default)]
    burst: Option<Burst>,
    #[serde(default)]
    note_share: f64,
    #[serde(default)]
    link_share: f64,
    #[serde(default)]
    new_accounts: bool,
    outcomes: Outcomes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    population: Vec<RawPopulation>,
}

/// One population, checked.
#[derive(Debug, Clone)]
pub struct Population {
    pub name: String,
    pub role: Role,
    pub share: f64,
    pub tier: Option<String>,
    pub client: Client,
    pub hours: WorkingHours,
    pub weekly: Weekly,
    pub burst: Option<Burst>,
    pub note_share: f64,
    pub link_share: f64,
    /// Members' accounts are created when the simulation starts (young-account amounts).
    pub new_accounts: bool,
    pub outcomes: Outcomes,
}

/// Populations that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PopulationError {
    /// Not valid TOML for populations.
    #[error("{file}: {message}")]
    Toml {
        /// The file (or preset) name.
        file: String,
        /// What the parser said, with the line.
        message: String,
    },
    /// A value that makes no sense.
    #[error("{file}: population `{population}`, {field}: {problem}")]
    Field {
        /// The file.
        file: String,
        /// The population.
        population: String,
        /// The field.
        field: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// No preset of that name and no such file.
    #[error("populations `{name}`: no such preset (the presets: {}) and no such file: {source}", PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", "))]
    NotFound {
        /// What was asked for.
        name: String,
        /// Why the file could not be read.
        #[source]
        source: std::io::Error,
    },
}

/// Loads a preset by name, or a file.
pub fn load(name_or_path: &str) -> Result<Vec<Population>, PopulationError> {
    if let Some((_, src)) = PRESETS.iter().find(|(n, _)| *n == name_or_path) {
        return parse(name_or_path, src);
    }
    let src = std::fs::read_to_string(name_or_path)
        .map_err(|source| PopulationError::NotFound { name: name_or_path.into(), source })?;
    parse(name_or_path, &src)
}

/// Parses and checks populations from TOML.
pub fn parse(file: &str, src: &str) -> Result<Vec<Population>, PopulationError> {
    let raw: RawFile =
        toml::from_str(src).map_err(|e| PopulationError::Toml { file: file.into(), message: e.to_string() })?;
    if raw.population.is_empty() {
        return Err(PopulationError::Toml { file: file.into(), message: "no [[population]]".into() });
    }
    raw.population.into_iter().map(|p| check(file, p)).collect()
}

fn check(file: &str, p: RawPopulation) -> Result<Population, PopulationError> {
    let bad = |field: &'static str, problem: String| PopulationError::Field {
        file: file.into(),
        population: p.name.clone(),
        field,
        problem,
    };
    let share = |field, v: f64| {
        if (0.0..=1.0).contains(&v) { Ok(v) } else { Err(bad(field, format!("{v} is not a share between 0 and 1"))) }
    };
    share("share", p.share)?;
    share("note_share", p.note_share)?;
    share("link_share", p.link_share)?;
    let o = p.outcomes;
    for (field, v) in [
        ("outcomes.accepted", o.accepted),
        ("outcomes.declined", o.declined),
        ("outcomes.reported_unknown", o.reported_unknown),
        ("outcomes.reported_spam", o.reported_spam),
    ] {
        share(field, v)?;
    }
    if o.accepted + o.declined + o.reported_unknown + o.reported_spam > 1.0 + 1e-9 {
        return Err(bad("outcomes", "the shares add up to more than 1; the rest are ignored invitations".into()));
    }
    if !(p.weekly.median > 0.0 && p.weekly.p95 >= p.weekly.median) {
        return Err(bad("weekly", "write a median above 0 and a p95 at least as large".into()));
    }
    if let Some(b) = p.burst {
        share("burst.chance", b.chance)?;
        share("burst.share", b.share)?;
        if !(1..=24).contains(&b.hours) {
            return Err(bad("burst.hours", format!("{} is not between 1 and 24", b.hours)));
        }
    }
    let hours = hours(&p.zone, &p.hours).map_err(|e| bad("hours", e))?;
    Ok(Population {
        name: p.name.clone(),
        role: p.role,
        share: p.share,
        tier: p.tier.clone(),
        client: p.client,
        hours,
        weekly: p.weekly,
        burst: p.burst,
        note_share: p.note_share,
        link_share: p.link_share,
        new_accounts: p.new_accounts,
        outcomes: o,
    })
}

fn day(name: &str) -> Result<usize, String> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|d| name.eq_ignore_ascii_case(d))
        .ok_or_else(|| format!("`{name}` is not a day; write mon, tue, … sun"))
}

fn hours(zone: &str, h: &RawHours) -> Result<WorkingHours, String> {
    let (first, last) =
        h.days.split_once('-').ok_or_else(|| format!("days `{}`: write a range such as mon-fri", h.days))?;
    let (first, last) = (day(first)?, day(last)?);
    if last < first {
        return Err(format!("days `{}`: the range must run from an earlier to a later day", h.days));
    }
    let time = |s: &str| s.parse::<Time>().map_err(|e| format!("`{s}` is not a time such as 09:00 ({e})"));
    WorkingHours::new(zone, &WEEKDAYS[first..=last], time(&h.from)?, time(&h.to)?).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preset_loads_and_mistakes_are_named() {
        let mix = load("linkedin-mix").unwrap();
        assert_eq!(mix.len(), 8);
        assert!(mix.iter().any(|p| p.role == Role::Spam && p.client == Client::Blaster));
        let src = PRESETS[0].1.replacen("accepted = 0.70", "accepted = 1.70", 1);
        let e = parse("mine.toml", &src).unwrap_err().to_string();
        assert_eq!(e, "mine.toml: population `honest-casual`, outcomes.accepted: 1.7 is not a share between 0 and 1");
        let src = PRESETS[0].1.replacen("days = \"mon-fri\"", "days = \"fri-mon\"", 1);
        assert!(parse("mine.toml", &src).unwrap_err().to_string().contains("hours: days `fri-mon`"));
        let src = PRESETS[0].1.replacen("client = \"manual\"", "client = \"telepathy\"", 1);
        assert!(parse("mine.toml", &src).unwrap_err().to_string().starts_with("mine.toml: TOML parse error at line"));
    }
}
