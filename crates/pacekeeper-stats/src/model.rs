//! The read model: 1-minute buckets over 24 hours, the most denied members, recent denials;
//! and the snapshot `GET /v1/stats` returns.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

use crate::{Observation, TopDenied, TopK};

/// Minutes of buckets kept: 24 hours.
pub const WINDOW_MINUTES: i64 = 24 * 60;
/// Members counted for the most denied.
pub const TOP_DENIED: usize = 1_000;
/// Denials kept in the ring of recent ones.
pub const RECENT_DENIALS: usize = 200;
/// Members shown among the most denied.
const TOP_SHOWN: usize = 20;

/// One minute of decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// The minute's start.
    pub minute: Timestamp,
    /// Decisions answered.
    pub decisions: u64,
    /// Of which denied.
    pub denied: u64,
    /// Decisions that left a limit at or past the warning threshold.
    pub near_limit: u64,
    /// Allowed unchecked because the store was out of reach.
    pub fail_open: u64,
    /// Decisions by reason.
    pub by_reason: BTreeMap<&'static str, u64>,
    /// Decisions by action.
    pub by_action: BTreeMap<Arc<str>, u64>,
    /// Denials by the limit that denied them.
    pub denied_by_limit: BTreeMap<Arc<str>, u64>,
    /// Near-limit decisions by limit.
    pub near_by_limit: BTreeMap<Arc<str>, u64>,
    /// Restrictions started, by the penalty that imposed them.
    pub restrictions_started: BTreeMap<Arc<str>, u64>,
    /// Outcome events applied, by kind.
    pub events: BTreeMap<&'static str, u64>,
}

/// A denial among the most recent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecentDenial {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub member: Arc<str>,
    /// What.
    pub action: Arc<str>,
    /// Why.
    pub reason: &'static str,
    /// The limit that denied it.
    pub limit: Option<Arc<str>>,
}

/// The headline numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tiles {
    /// Decisions in the last full minute.
    pub decisions_last_minute: u64,
    /// Decisions in the last hour.
    pub decisions_last_hour: u64,
    /// Share of the last hour's decisions that were denied (0 with none).
    pub deny_share_last_hour: f64,
    /// Share of the last hour's decisions that left a limit near its end.
    pub near_limit_share_last_hour: f64,
    /// Answers allowed unchecked in the last hour.
    pub fail_open_last_hour: u64,
    /// Restrictions started in the last 24 hours.
    pub restrictions_started_24h: u64,
    /// Members restricted now: the service fills it from the store's restrictions index (the
    /// read model alone leaves 0).
    pub restrictions_active: u64,
    /// Decisions a shadow policy answered the other way in the last hour (events
    /// `shadow_denies` and `shadow_allows`).
    pub shadow_disagreements_last_hour: u64,
}

/// Restrictions started in one hour by one cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestrictionsStarted {
    /// The hour's start.
    pub hour: Timestamp,
    /// The penalty.
    pub cause: Arc<str>,
    /// How many.
    pub count: u64,
}

/// What `GET /v1/stats` returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// The instant of the snapshot.
    pub at: Timestamp,
    /// The headline numbers.
    pub tiles: Tiles,
    /// Every minute of the last 24 hours that had a decision, oldest first.
    pub minutes: Vec<Bucket>,
    /// Restrictions started per hour and cause over 24 hours, oldest first.
    pub restrictions_started: Vec<RestrictionsStarted>,
    /// The most denied members over the model's life, most first.
    pub top_denied: Vec<TopDenied>,
    /// The latest denials, newest first.
    pub recent_denials: Vec<RecentDenial>,
    /// Observations dropped because the observer could not keep up.
    pub dropped: u64,
}

/// Decisions folded as they are observed.
#[derive(Debug, Clone)]
pub struct ReadModel {
    buckets: VecDeque<Bucket>,
    top: TopK<Arc<str>>,
    recent: VecDeque<RecentDenial>,
    dropped: u64,
}

impl Default for ReadModel {
    fn default() -> ReadModel {
        ReadModel { buckets: VecDeque::new(), top: TopK::new(TOP_DENIED), recent: VecDeque::new(), dropped: 0 }
    }
}

fn minute_of(t: Timestamp) -> i64 {
    t.as_second().div_euclid(60)
}

impl ReadModel {
    /// Folds one observation in. One older than the window is ignored.
    pub fn observe(&mut self, o: Observation) {
        let reason = o.reason.as_str();
        if !o.allowed {
            self.top.add(&o.member);
            self.recent.push_front(RecentDenial {
                at: o.at,
                member: o.member.clone(),
                action: o.action.clone(),
                reason,
                limit: o.limit.clone(),
            });
            self.recent.truncate(RECENT_DENIALS);
        }
        let Some(b) = self.bucket(minute_of(o.at)) else { return };
        b.decisions += 1;
        *b.by_reason.entry(reason).or_default() += 1;
        *b.by_action.entry(o.action).or_default() += 1;
        if !o.allowed {
            b.denied += 1;
            if let Some(l) = o.limit {
                *b.denied_by_limit.entry(l).or_default() += 1;
            }
        }
        if !o.near.is_empty() {
            b.near_limit += 1;
        }
        for l in o.near {
            *b.near_by_limit.entry(l).or_default() += 1;
        }
        b.fail_open += u64::from(o.reason == pacekeeper_api::Reason::StoreUnavailable);
        if let Some(cause) = o.restriction_started {
            *b.restrictions_started.entry(cause).or_default() += 1;
        }
    }

    /// Folds in one applied outcome event of `kind` at `at`. One older than the window is
    /// ignored.
    pub fn event(&mut self, kind: &'static str, at: Timestamp) {
        if let Some(b) = self.bucket(minute_of(at)) {
            *b.events.entry(kind).or_default() += 1;
        }
    }

    /// Counts observations the observer had to drop.
    pub fn dropped(&mut self, n: u64) {
        self.dropped += n;
    }

    /// The bucket of `minute`, made if needed; buckets out of the window go. `None` for a
    /// minute older than the window.
    fn bucket(&mut self, minute: i64) -> Option<&mut Bucket> {
        let newest = self.buckets.back().map_or(minute, |b| minute_of(b.minute)).max(minute);
        while self.buckets.front().is_some_and(|b| minute_of(b.minute) <= newest - WINDOW_MINUTES) {
            self.buckets.pop_front();
        }
        if minute <= newest - WINDOW_MINUTES {
            return None;
        }
        let at = self.buckets.partition_point(|b| minute_of(b.minute) < minute);
        if self.buckets.get(at).is_none_or(|b| minute_of(b.minute) != minute) {
            let start = Timestamp::from_second(minute * 60).unwrap_or(Timestamp::UNIX_EPOCH);
            self.buckets.insert(at, Bucket { minute: start, ..Bucket::default() });
        }
        self.buckets.get_mut(at)
    }

    /// Everything at `now`: the buckets of the 24 hours before it, the tiles, the most denied
    /// members and the recent denials.
    pub fn snapshot(&self, now: Timestamp) -> Stats {
        let current = minute_of(now);
        let minutes: Vec<Bucket> = self
            .buckets
            .iter()
            .filter(|b| (current - WINDOW_MINUTES < minute_of(b.minute)) && minute_of(b.minute) <= current)
            .cloned()
            .collect();
        Stats {
            at: now,
            tiles: tiles(&minutes, current),
            restrictions_started: by_hour(&minutes),
            top_denied: self
                .top
                .top(TOP_SHOWN)
                .into_iter()
                .map(|(m, denials, error)| TopDenied { member: m.to_string(), denials, error })
                .collect(),
            recent_denials: self.recent.iter().filter(|d| d.at <= now).cloned().collect(),
            dropped: self.dropped,
            minutes,
        }
    }
}

fn tiles(minutes: &[Bucket], current: i64) -> Tiles {
    let hour: Vec<&Bucket> = minutes.iter().filter(|b| minute_of(b.minute) > current - 60).collect();
    let sum = |f: fn(&Bucket) -> u64, bs: &[&Bucket]| bs.iter().map(|b| f(b)).sum::<u64>();
    let decisions = sum(|b| b.decisions, &hour);
    let share = |n: u64| if decisions == 0 { 0.0 } else { n as f64 / decisions as f64 };
    let last_minute = minutes.iter().filter(|b| minute_of(b.minute) == current - 1).map(|b| b.decisions).sum();
    Tiles {
        decisions_last_minute: last_minute,
        decisions_last_hour: decisions,
        deny_share_last_hour: share(sum(|b| b.denied, &hour)),
        near_limit_share_last_hour: share(sum(|b| b.near_limit, &hour)),
        fail_open_last_hour: sum(|b| b.fail_open, &hour),
        restrictions_started_24h: minutes.iter().flat_map(|b| b.restrictions_started.values()).sum(),
        restrictions_active: 0,
        shadow_disagreements_last_hour: hour
            .iter()
            .flat_map(|b| ["shadow_denies", "shadow_allows"].map(|k| b.events.get(k).copied().unwrap_or(0)))
            .sum(),
    }
}

fn by_hour(minutes: &[Bucket]) -> Vec<RestrictionsStarted> {
    let mut hours: BTreeMap<(i64, Arc<str>), u64> = BTreeMap::new();
    for b in minutes {
        for (cause, n) in &b.restrictions_started {
            *hours.entry((minute_of(b.minute).div_euclid(60), cause.clone())).or_default() += n;
        }
    }
    hours
        .into_iter()
        .map(|((h, cause), count)| RestrictionsStarted {
            hour: Timestamp::from_second(h * 3600).unwrap_or(Timestamp::UNIX_EPOCH),
            cause,
            count,
        })
        .collect()
}
