//! `--fail-if`: thresholds a run must meet, so that CI can gate a policy change.
//! `honest.friction<=0.005 && spam.delivered_per_spammer_week<=30` holds when every condition
//! holds; the command exits non-zero, naming each that does not.

use crate::Headline;
use crate::backtest::Backtest;

/// Reads one metric off a run's headline.
pub type Metric = fn(&Headline) -> f64;

/// The metrics a condition may name, and where each comes from.
pub const METRICS: &[(&str, Metric)] = &[
    ("honest.friction", |h| h.honest_friction),
    ("honest.ever_denied", |h| h.honest_members_ever_denied as f64),
    ("honest.ever_restricted", |h| h.honest_members_ever_restricted as f64),
    ("honest.never_sent", |h| h.honest_never_sent as f64),
    ("paced.delay_p95_seconds", |h| h.paced_delay_p95_seconds.unwrap_or(0) as f64),
    ("spam.attempted", |h| h.spam_attempted as f64),
    ("spam.delivered", |h| h.spam_delivered as f64),
    ("spam.delivered_per_spammer_week", |h| h.spam_delivered_per_spammer_week),
    ("spam.stopped_share", |h| h.spam_stopped_share),
    ("unwanted_per_1000_members_week", |h| h.unwanted_per_1000_members_week),
];

/// Reads one metric off a back-test.
pub type BacktestMetric = fn(&Backtest) -> f64;

/// The metrics of a back-test (`--traffic`).
pub const BACKTEST_METRICS: &[(&str, BacktestMetric)] = &[
    ("backtest.prevented_unwanted", |b| b.prevented_unwanted as f64),
    ("backtest.prevented_wanted", |b| b.prevented_wanted as f64),
    ("backtest.delivered_unwanted", |b| b.delivered_unwanted as f64),
    ("backtest.delivered_wanted", |b| b.delivered_wanted as f64),
    ("backtest.precision", |b| b.precision.unwrap_or(0.0)),
    ("backtest.diverged_members", |b| b.diverged_members as f64),
];

/// A condition that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("--fail-if: `{condition}`: {problem}")]
pub struct GateError {
    /// The condition.
    pub condition: String,
    /// What is wrong.
    pub problem: String,
}

/// One condition: a metric, a comparison, a number.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub text: String,
    /// The metric's name.
    pub metric: &'static str,
    op: &'static str,
    value: f64,
}

/// Parses `a<=1 && b>=2`.
pub fn parse(expr: &str) -> Result<Vec<Condition>, GateError> {
    expr.split("&&").map(|c| condition(c.trim())).collect()
}

fn condition(text: &str) -> Result<Condition, GateError> {
    let bad = |problem: String| GateError { condition: text.into(), problem };
    let op = ["<=", ">=", "==", "<", ">"]
        .into_iter()
        .find(|op| text.contains(op))
        .ok_or_else(|| bad("no comparison (<=, >=, <, >, ==)".into()))?;
    let (name, value) = text.split_once(op).unwrap_or_default();
    let all = || METRICS.iter().map(|m| m.0).chain(BACKTEST_METRICS.iter().map(|m| m.0));
    let names = || all().collect::<Vec<_>>().join(", ");
    let metric = all()
        .find(|m| *m == name.trim())
        .ok_or_else(|| bad(format!("`{}` is not a metric; the metrics: {}", name.trim(), names())))?;
    let value = value.trim().parse::<f64>().map_err(|_| bad(format!("`{}` is not a number", value.trim())))?;
    Ok(Condition { text: text.into(), metric, op, value })
}

impl Condition {
    /// Whether a simulated run meets it, and the metric's value; `None` for a back-test's
    /// metric.
    pub fn check(&self, h: &Headline) -> Option<(bool, f64)> {
        let f = METRICS.iter().find(|m| m.0 == self.metric)?.1;
        Some(self.compare(f(h)))
    }

    /// Whether a back-test meets it; `None` for a simulation's metric.
    pub fn check_backtest(&self, b: &Backtest) -> Option<(bool, f64)> {
        let f = BACKTEST_METRICS.iter().find(|m| m.0 == self.metric)?.1;
        Some(self.compare(f(b)))
    }

    fn compare(&self, v: f64) -> (bool, f64) {
        let ok = match self.op {
            "<=" => v <= self.value,
            ">=" => v >= self.value,
            "<" => v < self.value,
            ">" => v > self.value,
            _ => (v - self.value).abs() < 1e-12,
        };
        (ok, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_name_their_metric_and_mistakes_are_explained() {
        let c = parse("honest.friction<=0.005 && spam.delivered_per_spammer_week <= 30").unwrap();
        assert_eq!(c.len(), 2);
        let e = parse("honesty<=1").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--fail-if: `honesty<=1`: `honesty` is not a metric; the metrics: honest.friction")
        );
        assert!(parse("spam.delivered").unwrap_err().problem.contains("no comparison"));
        assert!(parse("spam.delivered<=lots").unwrap_err().problem.contains("not a number"));
    }
}
