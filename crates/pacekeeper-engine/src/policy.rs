//! The compiled policy: what the engine consults on every decision.
//!
//! A [`Policy`] is built only by [`crate::Policy::from_toml`] (see `policy_file/`), which
//! validates every reference, so the engine can index into it without checks.

use std::sync::Arc;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

pub use pacekeeper_api::{EventKind, Level, RestrictionKind, Scope, UNLIMITED};

use crate::time::{Ms, key32};

/// A validated policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The policy's name (`linkedin`).
    pub name: String,
    /// One line saying what it is.
    pub description: String,
    /// The TOML it was compiled from.
    pub source: String,
    pub(crate) tiers: Vec<String>,
    pub(crate) default_tier: usize,
    pub(crate) actions: Vec<Action>,
    pub(crate) channels: Option<Vec<String>>,
    pub(crate) limits: Vec<Limit>,
    /// For each action, the indexes of the limits that count it.
    pub(crate) limits_by_action: Vec<Vec<usize>>,
    pub(crate) gauges: Vec<Gauge>,
    pub(crate) penalties: Vec<Penalty>,
    pub(crate) escalation: Escalation,
    pub(crate) cooldowns: Vec<Cooldown>,
    pub(crate) content_rules: Vec<ContentRule>,
    pub(crate) reputation: Option<Reputation>,
    pub(crate) warning_threshold: f64,
    pub(crate) idempotency_window: Ms,
    pub(crate) idempotency_max: usize,
    pub(crate) history_max: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub name: Arc<str>,
    pub key: u32,
}

/// Which requests a limit counts beyond its actions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Condition {
    /// `Some(true)`: only requests with a note; `Some(false)`: only without.
    pub note: Option<bool>,
    /// Only requests on one of these channels.
    pub channels: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Limit {
    pub name: Arc<str>,
    pub key: u32,
    pub actions: Vec<usize>,
    pub condition: Condition,
    pub window: Window,
    pub amount: AmountRule,
    pub penalty: Option<usize>,
    /// Whom it counts: each member, or each organisation.
    pub scope: Scope,
    /// The share of members (0 to 100, chosen by a hash of their id) the limit denies; the
    /// others are counted but let through.
    pub enforce_percent: u8,
}

impl Limit {
    /// Whether the limit denies `member` (a member is in or out of the enforced share for
    /// good: the same hash every time).
    pub fn enforced_for(&self, member: &str) -> bool {
        self.enforce_percent >= 100 || crate::time::key64(member) % 100 < u64::from(self.enforce_percent)
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Window {
    Anchored { period: Ms },
    Calendar(Calendar),
    Sliding { period: Ms, granularity: Ms },
    Rate { period: Ms, burst: u64 },
    Cap { gauge: usize },
    Credits(Calendar),
}

impl Window {
    pub fn kind(&self) -> &'static str {
        match self {
            Window::Anchored { .. } => "anchored",
            Window::Calendar(_) => "calendar",
            Window::Sliding { .. } => "sliding",
            Window::Rate { .. } => "rate",
            Window::Cap { .. } => "cap",
            Window::Credits(_) => "credits",
        }
    }

    /// The window length in seconds for `RateLimit-Policy`'s `w`, where one is defined.
    pub fn nominal_seconds(&self) -> Option<u64> {
        let ms = match self {
            Window::Anchored { period } | Window::Sliding { period, .. } | Window::Rate { period, .. } => *period,
            Window::Calendar(c) | Window::Credits(c) => c.nominal(),
            Window::Cap { .. } => return None,
        };
        Some((ms / 1000) as u64)
    }
}

/// Boundaries at calendar instants in a time zone.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    pub every: Every,
    pub at: Time,
    pub zone: TimeZone,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Every {
    Day,
    Week(Weekday),
    Month(i8),
}

impl Calendar {
    fn nominal(&self) -> Ms {
        match self.every {
            Every::Day => 86_400_000,
            Every::Week(_) => 7 * 86_400_000,
            Every::Month(_) => 30 * 86_400_000,
        }
    }

    fn boundary(&self, d: Date) -> Ms {
        // `to_timestamp` disambiguates the "compatible" way: a boundary in a DST gap moves
        // forward, one in a fold takes the earlier instant.
        self.zone.to_timestamp(d.to_datetime(self.at)).map(|t| t.as_millisecond()).unwrap_or(Ms::MAX)
    }

    fn month_day(&self, first: Date, day: i8) -> Date {
        let day = day.min(first.days_in_month());
        first.checked_add(jiff::Span::new().days(i64::from(day - 1))).unwrap_or(first)
    }

    fn step(&self, d: Date, forward: bool) -> Date {
        let sign: i64 = if forward { 1 } else { -1 };
        let r = match self.every {
            Every::Day => d.checked_add(jiff::Span::new().days(sign)),
            Every::Week(_) => d.checked_add(jiff::Span::new().days(7 * sign)),
            Every::Month(day) => {
                return d
                    .first_of_month()
                    .checked_add(jiff::Span::new().months(sign))
                    .map(|f| self.month_day(f, day))
                    .unwrap_or(d);
            }
        };
        r.unwrap_or(d)
    }

    /// The window `[start, end)` that contains `now`.
    pub fn window_at(&self, now: Ms) -> (Ms, Ms) {
        let t = crate::time::ts(now);
        let date = t.to_zoned_datetime(self.zone.clone()).date();
        let mut d = match self.every {
            Every::Day => date,
            Every::Week(wd) => {
                let back = (date.weekday().to_monday_zero_offset() - wd.to_monday_zero_offset()).rem_euclid(7);
                date.checked_sub(jiff::Span::new().days(i64::from(back))).unwrap_or(date)
            }
            Every::Month(day) => self.month_day(date.first_of_month(), day),
        };
        let mut start = self.boundary(d);
        // At most two steps: the boundary of "today" may still lie ahead of `now`.
        for _ in 0..2 {
            if start <= now {
                break;
            }
            d = self.step(d, false);
            start = self.boundary(d);
        }
        let mut end = self.boundary(self.step(d, true));
        if end <= now {
            // `now` sits past the next boundary (a month day clamped short): move on once.
            d = self.step(d, true);
            start = end;
            end = self.boundary(self.step(d, true));
        }
        (start, end)
    }
}

/// How a limit's amount is chosen for a member.
#[derive(Debug, Clone)]
pub(crate) struct AmountRule {
    pub base: u64,
    /// Indexed by tier.
    pub tiers: Vec<Option<u64>>,
    /// Indexed by [`Level`].
    pub reputation: [Option<u64>; 3],
    /// Accounts younger than `.0` get at most `.1`.
    pub young: Option<(Ms, u64)>,
}

impl AmountRule {
    pub fn uses_reputation(&self) -> bool {
        self.reputation.iter().any(Option::is_some)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Gauge {
    pub name: Arc<str>,
    pub key: u32,
    /// Action indexes whose allowed requests raise the gauge by their cost.
    pub up_actions: Vec<usize>,
    pub up_events: u16,
    pub down_events: u16,
}

#[derive(Debug, Clone)]
pub(crate) struct Penalty {
    pub name: Arc<str>,
    pub key: u32,
    pub kind: PenaltyKind,
    /// Action indexes blocked; `None` blocks the actions of the limit that triggered it.
    pub blocks: Option<Vec<usize>>,
}

#[derive(Debug, Clone)]
pub(crate) enum PenaltyKind {
    Overage {
        bands: Vec<Band>,
    },
    Escalation,
    Verification,
    /// For `period`, each request of the blocked actions needs `proof`.
    Challenge {
        proof: Proof,
        period: Ms,
    },
}

/// What a challenge asks a member to prove on each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proof {
    /// That they know the recipient: they enter the recipient's e-mail address (seed 001).
    RecipientEmail,
    /// That they are a person (seed 001).
    Captcha,
}

impl Proof {
    pub(crate) const ALL: [Proof; 2] = [Proof::RecipientEmail, Proof::Captcha];

    /// The name requests carry in `challenge_passed`.
    pub fn name(self) -> &'static str {
        match self {
            Proof::RecipientEmail => "recipient_email",
            Proof::Captcha => "captcha",
        }
    }
}

impl PenaltyKind {
    pub fn tag(&self) -> RestrictionKind {
        match self {
            PenaltyKind::Overage { .. } => RestrictionKind::Overage,
            PenaltyKind::Escalation => RestrictionKind::Escalation,
            PenaltyKind::Verification => RestrictionKind::Verification,
            PenaltyKind::Challenge { .. } => RestrictionKind::Challenge,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Band {
    pub from: u32,
    pub to: Option<u32>,
    pub duration: Ms,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Escalation {
    pub ladder: Vec<Ms>,
    pub decay: Ms,
}

#[derive(Debug, Clone)]
pub(crate) struct Cooldown {
    pub action: usize,
    pub after: EventKind,
    pub period: Ms,
}

#[derive(Debug, Clone)]
pub(crate) struct ContentRule {
    pub action: usize,
    pub penalty: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Reputation {
    pub action: Option<usize>,
    pub horizon: Ms,
    pub bucket: Ms,
    pub min_resolved: u32,
    pub good_acceptance: f64,
    pub poor_acceptance: f64,
    pub poor_reports: u32,
    /// Penalties imposed once reports over the horizon reach a count (verification,
    /// challenges), in the policy's order.
    pub report_penalties: Vec<(u32, usize)>,
}

impl Policy {
    pub(crate) fn action_index(&self, name: &str) -> Option<usize> {
        self.actions.iter().position(|a| &*a.name == name)
    }

    pub(crate) fn tier_index(&self, name: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t == name)
    }

    /// The tier names, in the policy's order.
    pub fn tiers(&self) -> &[String] {
        &self.tiers
    }

    /// The default tier's name.
    pub fn default_tier(&self) -> &str {
        &self.tiers[self.default_tier]
    }

    /// The action names, in the policy's order.
    pub fn action_names(&self) -> impl Iterator<Item = &str> {
        self.actions.iter().map(|a| &*a.name)
    }

    /// The limit names, in the policy's order.
    pub fn limit_names(&self) -> impl Iterator<Item = &str> {
        self.limits.iter().map(|l| &*l.name)
    }

    /// Whether `action` has a limit that counts per organisation: only then does a decision
    /// need the member's organisation.
    pub fn counts_organisations(&self, action: &str) -> bool {
        self.action_index(action)
            .is_some_and(|a| self.limits_by_action[a].iter().any(|&li| self.limits[li].scope == Scope::Organisation))
    }

    pub(crate) fn limit_by_key(&self, key: u32) -> Option<&Limit> {
        self.limits.iter().find(|l| l.key == key)
    }

    pub(crate) fn name_of_key(&self, key: u32) -> String {
        if let Some(l) = self.limits.iter().find(|l| l.key == key) {
            return l.name.to_string();
        }
        if let Some(p) = self.penalties.iter().find(|p| p.key == key) {
            return p.name.to_string();
        }
        if let Some(a) = self.actions.iter().find(|a| a.key == key) {
            return a.name.to_string();
        }
        format!("#{key:08x}")
    }

    pub(crate) fn action_key(&self, i: usize) -> u32 {
        self.actions[i].key
    }
}

pub(crate) fn name_key(name: &str) -> u32 {
    key32(name)
}
