//! The member state: everything the engine remembers about one member, as one compact value.
//!
//! One value per member makes every decision a single atomic read-modify-write on any store.
//! It is encoded with postcard behind a version byte. Its size stays bounded: expired windows,
//! restrictions, cooldowns, reputation buckets and request ids are pruned on every decision,
//! and everything kept is bounded by the policy (see `ARCHITECTURE.md`).

use serde::{Deserialize, Serialize};

pub use pacekeeper_api::Ending;

use crate::decision::Reason;
use crate::policy::{Policy, RestrictionKind};
use crate::time::Ms;

/// The encoding version written as the first byte of a state with no extras (no organisation,
/// no reservation tickets).
pub const STATE_VERSION: u8 = 1;

/// The version of a state followed by its extras (the member's organisation, an organisation's
/// reservation tickets). A state without extras is still written as version 1, which every
/// earlier build reads.
pub const STATE_VERSION_EXTRAS: u8 = 2;

/// One member's state. `Default` is a member never seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberState {
    /// Tier set on the member record (`PUT /v1/members/{id}`); a request's tier wins.
    pub tier: Option<String>,
    /// When the account was created, for maturity rules.
    pub created_at: Option<Ms>,
    /// Per-member amounts by limit key, set by an admin.
    pub(crate) overrides: Vec<(u32, u64)>,
    pub(crate) counters: Vec<Counter>,
    pub(crate) gauges: Vec<(u32, u64)>,
    pub(crate) restrictions: Vec<Restriction>,
    pub(crate) history: Vec<PastRestriction>,
    pub(crate) offences: Offences,
    pub(crate) reputation: Vec<RepBucket>,
    pub(crate) cooldowns: Vec<PairCooldown>,
    pub(crate) recent: Vec<Recent>,
    /// Purchased or granted credits by limit key; they do not expire with the period.
    pub(crate) bonus: Vec<(u32, u64)>,
    /// The organisation the member acts for (member record; a request's wins). Encoded in
    /// the extras.
    #[serde(skip)]
    pub organisation: Option<String>,
    /// An organisation's reservations held for decisions in flight (see [`Ticket`]). Encoded
    /// in the extras.
    #[serde(skip)]
    pub(crate) tickets: Vec<Ticket>,
}

/// What version 2 adds after the version 1 state: fields added since, in order.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Extras {
    organisation: Option<String>,
    tickets: Vec<Ticket>,
}

/// An organisation's charge made for one decision whose member part is not yet written (the
/// reserve-then-commit protocol of stores that cannot update two subjects at once). A rerun
/// of the same decision finds its ticket and does not charge again; a denial releases it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Ticket {
    pub id: u64,
    pub at: Ms,
}

/// How long a ticket is kept after its decision: far beyond any store's bound on one update,
/// so no decision in flight loses its ticket.
pub(crate) const TICKET_LIFE: Ms = 60_000;

/// Usage of one limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Counter {
    pub key: u32,
    pub w: WindowState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum WindowState {
    /// An anchored window opened at `start`.
    Anchored { start: Ms, used: u64 },
    /// The calendar window `[start, end)` and its usage.
    Calendar { start: Ms, end: Ms, used: u64 },
    /// Non-empty buckets `(index, count)`, oldest first; index = instant / granularity.
    Sliding { buckets: Vec<(i64, u32)> },
    /// GCRA theoretical arrival time.
    Rate { tat: Ms },
    /// Credits spent from the grant of the period `[start, end)`.
    Credits { start: Ms, end: Ms, spent: u64 },
}

/// An active restriction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Restriction {
    pub kind: RestrictionKind,
    pub penalty: u32,
    /// Key of the limit that triggered it, or 0 for content and report rules.
    pub trigger: u32,
    /// Keys of the actions it blocks, fixed when imposed.
    pub blocks: Vec<u32>,
    pub since: Ms,
    /// `None`: until verification.
    pub until: Option<Ms>,
    /// Over-limit attempts counted on the overage ladder.
    pub extras: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PastRestriction {
    pub kind: RestrictionKind,
    pub penalty: u32,
    pub trigger: u32,
    pub since: Ms,
    pub ended: Ms,
    pub ending: Ending,
    pub extras: u32,
}

/// Offences on the escalation ladder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Offences {
    pub count: u32,
    pub last: Ms,
}

/// Outcome counts in one reputation bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RepBucket {
    pub index: i64,
    pub c: Outcomes,
}

/// Invitations sent and what became of them. Encoded as seven numbers in this order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Outcomes {
    pub sent: u32,
    pub accepted: u32,
    pub ignored: u32,
    pub declined: u32,
    pub reported_unknown: u32,
    pub reported_spam: u32,
    pub withdrawn: u32,
}

impl Outcomes {
    /// Recipients who said they do not know the member, or that it is spam.
    pub fn reports(&self) -> u32 {
        self.reported_unknown.saturating_add(self.reported_spam)
    }

    /// Invitations with an outcome.
    pub fn resolved(&self) -> u32 {
        [self.accepted, self.ignored, self.declined, self.reported_unknown, self.reported_spam]
            .into_iter()
            .fold(0u32, u32::saturating_add)
    }

    /// Adds `other`, count by count.
    pub fn add(&mut self, o: &Outcomes) {
        self.sent = self.sent.saturating_add(o.sent);
        self.accepted = self.accepted.saturating_add(o.accepted);
        self.ignored = self.ignored.saturating_add(o.ignored);
        self.declined = self.declined.saturating_add(o.declined);
        self.reported_unknown = self.reported_unknown.saturating_add(o.reported_unknown);
        self.reported_spam = self.reported_spam.saturating_add(o.reported_spam);
        self.withdrawn = self.withdrawn.saturating_add(o.withdrawn);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PairCooldown {
    pub action: u32,
    pub target: u64,
    pub until: Ms,
}

/// A request id seen recently, with what was answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Recent {
    pub id: u64,
    pub at: Ms,
    pub allowed: bool,
    pub reason: Reason,
    pub retry_at: Option<Ms>,
    pub limit: Option<u32>,
}

/// The end [`MemberState::restricted_until`] gives a restriction that only verification ends.
pub const UNTIL_VERIFIED: Ms = Ms::MAX;

/// Member state bytes that cannot be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StateError {
    /// Empty input.
    #[error("member state is empty")]
    Empty,
    /// Written by a newer version.
    #[error("member state has version {0}; this build reads versions {STATE_VERSION} and {STATE_VERSION_EXTRAS}")]
    Version(u8),
    /// Corrupt bytes.
    #[error("member state is corrupt: {0}")]
    Corrupt(#[from] postcard::Error),
}

impl MemberState {
    /// Encodes the state: a version byte, then postcard; version 2 adds the extras.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        let plain = self.organisation.is_none() && self.tickets.is_empty();
        out.push(if plain { STATE_VERSION } else { STATE_VERSION_EXTRAS });
        // Serializing plain data into a Vec cannot fail.
        let out = postcard::to_extend(self, out).expect("member state serializes");
        if plain {
            return out;
        }
        let extras = Extras { organisation: self.organisation.clone(), tickets: self.tickets.clone() };
        postcard::to_extend(&extras, out).expect("member state serializes")
    }

    /// Decodes what [`MemberState::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<MemberState, StateError> {
        match bytes.split_first() {
            None => Err(StateError::Empty),
            Some((&STATE_VERSION, rest)) => Ok(postcard::from_bytes(rest)?),
            Some((&STATE_VERSION_EXTRAS, rest)) => {
                let (mut st, rest): (MemberState, _) = postcard::take_from_bytes(rest)?;
                let extras: Extras = postcard::from_bytes(rest)?;
                st.organisation = extras.organisation;
                st.tickets = extras.tickets;
                Ok(st)
            }
            Some((&v, _)) => Err(StateError::Version(v)),
        }
    }

    /// True when the state holds nothing worth storing.
    pub fn is_empty(&self) -> bool {
        *self == MemberState::default()
    }

    /// When the member's restrictions end, in milliseconds since the epoch: the latest end
    /// among those recorded, [`UNTIL_VERIFIED`] while one lasts until verification, `None`
    /// with none. A restriction stays recorded until the member is next touched, so callers
    /// compare the end with their own "now". Stores index members by it.
    pub fn restricted_until(&self) -> Option<Ms> {
        self.restrictions.iter().map(|r| r.until.unwrap_or(UNTIL_VERIFIED)).max()
    }

    /// The latest instant at which anything in the state still matters, or `None` if the
    /// state holds something with no expiry (a tier, an override, a gauge, credits, an
    /// open-ended restriction, history). Stores use it as a time-to-live.
    pub fn expires_at(&self, policy: &Policy) -> Option<Ms> {
        if self.tier.is_some()
            || self.organisation.is_some()
            || self.created_at.is_some()
            || !self.overrides.is_empty()
            || !self.gauges.is_empty()
            || !self.bonus.is_empty()
            || !self.history.is_empty()
            || self.restrictions.iter().any(|r| r.until.is_none())
        {
            return None;
        }
        let mut t: Ms = 0;
        for c in &self.counters {
            t = t.max(crate::engine::counter_end(c, policy.limit_by_key(c.key)));
        }
        for r in &self.restrictions {
            t = t.max(r.until.unwrap_or(Ms::MAX));
        }
        for c in &self.cooldowns {
            t = t.max(c.until);
        }
        for r in &self.recent {
            t = t.max(r.at + policy.idempotency_window);
        }
        for k in &self.tickets {
            t = t.max(k.at + TICKET_LIFE);
        }
        if let Some(rep) = &policy.reputation {
            for b in &self.reputation {
                t = t.max((b.index + 1) * rep.bucket + rep.horizon);
            }
        }
        if self.offences.count > 0 {
            let decay = policy.escalation.decay;
            t = t.max(self.offences.last.saturating_add(decay.saturating_mul(i64::from(self.offences.count))));
        }
        Some(t)
    }

    /// Drops everything that no longer matters at `now`. Idempotent.
    pub(crate) fn prune(&mut self, policy: &Policy, now: Ms) {
        let history_max = policy.history_max;
        let mut i = 0;
        while i < self.restrictions.len() {
            let r = &self.restrictions[i];
            if r.until.is_some_and(|u| u <= now) {
                let r = self.restrictions.swap_remove(i);
                let ended = r.until.unwrap_or(now);
                push_history(&mut self.history, history_max, &r, ended, Ending::Expired);
            } else {
                i += 1;
            }
        }
        self.cooldowns.retain(|c| c.until > now);
        let idem = policy.idempotency_window;
        self.recent.retain(|r| r.at + idem > now);
        self.tickets.retain(|k| k.at + TICKET_LIFE > now);
        if let Some(rep) = &policy.reputation {
            let oldest = (now - rep.horizon).div_euclid(rep.bucket);
            self.reputation.retain(|b| b.index >= oldest);
        }
        let decay = policy.escalation.decay;
        if self.offences.count > 0 && decay > 0 && decay < Ms::MAX {
            // One offence is forgiven per clean `decay` period since the last one.
            let steps = (now - self.offences.last) / decay;
            if steps > 0 {
                if steps >= i64::from(self.offences.count) {
                    self.offences = Offences::default();
                } else {
                    self.offences.count -= steps as u32;
                    self.offences.last += steps * decay;
                }
            }
        }
        self.counters.retain_mut(|c| match policy.limit_by_key(c.key) {
            Some(limit) => crate::engine::keep_counter(c, limit, now),
            // The limit left the policy: its usage means nothing any more.
            None => false,
        });
    }
}

pub(crate) fn push_history(history: &mut Vec<PastRestriction>, max: usize, r: &Restriction, ended: Ms, ending: Ending) {
    if max == 0 {
        return;
    }
    if history.len() >= max {
        history.remove(0);
    }
    history.push(PastRestriction {
        kind: r.kind,
        penalty: r.penalty,
        trigger: r.trigger,
        since: r.since,
        ended,
        ending,
        extras: r.extras,
    });
}
