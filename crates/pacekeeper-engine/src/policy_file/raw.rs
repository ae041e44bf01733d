//! The policy file's shape as serde reads it: every value `Spanned`, so a diagnostic can
//! point at its line and column.

use super::*;

pub(super) type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: String,
    pub(super) tiers: S<Vec<S<String>>>,
    pub(super) default_tier: S<String>,
    pub(super) actions: S<Vec<S<String>>>,
    pub(super) channels: Option<Vec<String>>,
    pub(super) warning_threshold: Option<S<f64>>,
    #[serde(default)]
    pub(super) limit: Vec<RawLimit>,
    #[serde(default)]
    pub(super) gauge: Vec<RawGauge>,
    #[serde(default)]
    pub(super) penalty: Vec<RawPenalty>,
    pub(super) escalation: Option<RawEscalation>,
    #[serde(default)]
    pub(super) cooldown: Vec<RawCooldown>,
    #[serde(default)]
    pub(super) content_rule: Vec<RawContentRule>,
    pub(super) reputation: Option<RawReputation>,
    pub(super) idempotency: Option<RawIdempotency>,
    pub(super) restriction_history: Option<S<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimit {
    pub(super) name: S<String>,
    pub(super) actions: S<Vec<S<String>>>,
    pub(super) when: Option<RawCondition>,
    pub(super) window: S<RawWindow>,
    pub(super) amount: S<toml::Value>,
    pub(super) tiers: Option<S<BTreeMap<String, S<toml::Value>>>>,
    pub(super) reputation: Option<S<BTreeMap<String, S<toml::Value>>>>,
    pub(super) young_accounts: Option<S<RawYoung>>,
    pub(super) penalty: Option<S<String>>,
    pub(super) enforce_percent: Option<S<i64>>,
    pub(super) scope: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCondition {
    pub(super) note: Option<bool>,
    pub(super) channels: Option<S<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    pub(super) kind: S<String>,
    pub(super) period: Option<S<String>>,
    pub(super) granularity: Option<S<String>>,
    pub(super) burst: Option<S<i64>>,
    pub(super) every: Option<S<String>>,
    pub(super) on: Option<S<String>>,
    pub(super) day: Option<S<i64>>,
    pub(super) at: Option<S<String>>,
    pub(super) zone: Option<S<String>>,
    pub(super) gauge: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawYoung {
    pub(super) younger_than: S<String>,
    pub(super) amount: S<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGauge {
    pub(super) name: S<String>,
    #[serde(default)]
    pub(super) up_actions: Vec<S<String>>,
    #[serde(default)]
    pub(super) up_events: Vec<S<String>>,
    #[serde(default)]
    pub(super) down_events: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPenalty {
    pub(super) name: S<String>,
    pub(super) kind: S<String>,
    pub(super) blocks: Option<Vec<S<String>>>,
    pub(super) bands: Option<S<Vec<S<RawBand>>>>,
    pub(super) proof: Option<S<String>>,
    pub(super) duration: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBand {
    pub(super) from: S<i64>,
    pub(super) to: Option<S<i64>>,
    pub(super) duration: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEscalation {
    pub(super) ladder: S<Vec<S<String>>>,
    pub(super) decay: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCooldown {
    pub(super) action: S<String>,
    pub(super) after: S<String>,
    pub(super) period: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContentRule {
    pub(super) action: S<String>,
    pub(super) link_in_note: S<bool>,
    pub(super) penalty: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReputation {
    pub(super) action: Option<S<String>>,
    pub(super) horizon: S<String>,
    pub(super) bucket: Option<S<String>>,
    pub(super) min_resolved: Option<u32>,
    pub(super) good_acceptance: Option<S<f64>>,
    pub(super) poor_acceptance: Option<S<f64>>,
    pub(super) poor_reports: Option<u32>,
    pub(super) verify_reports: Option<S<i64>>,
    pub(super) verify_penalty: Option<S<String>>,
    pub(super) challenge_reports: Option<S<i64>>,
    pub(super) challenge_penalty: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIdempotency {
    pub(super) window: S<String>,
    pub(super) max: S<i64>,
}
