//! Variants of a policy: `--sweep 'limit.weekly_invitations.amount=60..200:20'` sets one
//! number of the policy's TOML to each value of a range and compiles each variant, so any
//! number a policy file holds can be swept, and a variant is checked like any policy file.

use pacekeeper_engine::Policy;

/// A sweep that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The text does not read as a sweep.
    #[error("--sweep `{spec}`: {problem}; write e.g. limit.weekly_invitations.amount=60..200:20")]
    Syntax {
        /// What was given.
        spec: String,
        /// What is wrong.
        problem: String,
    },
    /// The path names nothing in the policy.
    #[error("--sweep `{spec}`: the policy has no {what}")]
    NoSuchKey {
        /// What was given.
        spec: String,
        /// What is missing.
        what: String,
    },
    /// A variant is not a valid policy.
    #[error("--sweep: with {key} = {value} the policy is invalid: {source}")]
    Invalid {
        /// The key.
        key: String,
        /// The value.
        value: i64,
        /// Why.
        #[source]
        source: pacekeeper_engine::PolicyError,
    },
}

/// A parsed sweep: the table array, the entry's name, the key, and the values.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub spec: String,
    pub table: String,
    pub name: String,
    pub key: String,
    pub values: Vec<i64>,
}

/// The most values one sweep may take.
pub const MAX_SWEEP_VALUES: usize = 64;

impl Sweep {
    /// Parses `table.name.key=from..to:step` (`to` included).
    pub fn parse(spec: &str) -> Result<Sweep, SweepError> {
        let bad = |problem: &str| SweepError::Syntax { spec: spec.into(), problem: problem.into() };
        let (path, range) = spec.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let parts: Vec<&str> = path.trim().split('.').collect();
        let [table, name, key] = parts[..] else { return Err(bad("the path has not three parts")) };
        let (range, step) = range.trim().split_once(':').unwrap_or((range.trim(), "1"));
        let (from, to) = range.split_once("..").ok_or_else(|| bad("no `..` in the range"))?;
        let num = |s: &str| s.trim().parse::<i64>().map_err(|_| bad(&format!("`{s}` is not a whole number")));
        let (from, to, step) = (num(from)?, num(to)?, num(step)?);
        if step <= 0 || to < from {
            return Err(bad("the range must rise by a positive step"));
        }
        let values: Vec<i64> =
            (0..).map(|i| from + i * step).take_while(|v| *v <= to).take(MAX_SWEEP_VALUES + 1).collect();
        if values.len() > MAX_SWEEP_VALUES {
            return Err(bad(&format!("more than {MAX_SWEEP_VALUES} values")));
        }
        Ok(Sweep { spec: spec.into(), table: table.into(), name: name.into(), key: key.into(), values })
    }

    /// The label of one value (`weekly_invitations.amount=80`).
    pub fn label(&self, value: i64) -> String {
        format!("{}.{}={value}", self.name, self.key)
    }

    /// The policy with the swept number set to `value`.
    pub fn variant(&self, policy: &Policy, value: i64) -> Result<Policy, SweepError> {
        let missing = |what: String| SweepError::NoSuchKey { spec: self.spec.clone(), what };
        let mut doc: toml::Table =
            toml::from_str(&policy.source).map_err(|e| missing(format!("readable source ({e})")))?;
        let entries = doc
            .get_mut(&self.table)
            .and_then(|t| t.as_array_mut())
            .ok_or_else(|| missing(format!("[[{}]] tables", self.table)))?;
        let entry = entries
            .iter_mut()
            .filter_map(|e| e.as_table_mut())
            .find(|e| e.get("name").and_then(|n| n.as_str()) == Some(&self.name))
            .ok_or_else(|| missing(format!("[[{}]] named `{}`", self.table, self.name)))?;
        if !entry.get(&self.key).is_some_and(|v| v.is_integer()) {
            return Err(missing(format!("whole number `{}` in [[{}]] `{}`", self.key, self.table, self.name)));
        }
        entry.insert(self.key.clone(), toml::Value::Integer(value));
        let src = toml::to_string(&doc).map_err(|e| missing(format!("writable source ({e})")))?;
        Policy::from_toml(&self.label(value), &src).map_err(|source| SweepError::Invalid {
            key: format!("{}.{}.{}", self.table, self.name, self.key),
            value,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_sets_one_number_of_the_policy() {
        let s = Sweep::parse("limit.weekly_invitations.amount=60..200:20").unwrap();
        assert_eq!(s.values, [60, 80, 100, 120, 140, 160, 180, 200]);
        let p = s.variant(&Policy::preset("linkedin").unwrap(), 60).unwrap();
        let summary = pacekeeper_engine::policy_summary(&p);
        let weekly = summary.limits.iter().find(|l| l.name == "weekly_invitations").unwrap();
        assert_eq!(weekly.by_tier[0], ("free".to_string(), Some(60)));
        let e = Sweep::parse("limit.nope.amount=1..2").unwrap().variant(&Policy::preset("linkedin").unwrap(), 1);
        assert_eq!(
            e.unwrap_err().to_string(),
            "--sweep `limit.nope.amount=1..2`: the policy has no [[limit]] named `nope`"
        );
        assert!(Sweep::parse("limit.weekly_invitations.amount=200..60:20").is_err());
        assert!(Sweep::parse("weekly=1..3").unwrap_err().to_string().contains("three parts"));
    }
}
