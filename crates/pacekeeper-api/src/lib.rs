//! The wire types of Pacekeeper: what goes over HTTP (and into `pacekeeper replay`) between
//! a platform, a sender's client and the server — requests, events, decisions, member views
//! and admin updates. Their serde shape is the external contract (DESIGN §2); the engine
//! computes them, the client reads them, and neither depends on the other.

#![warn(missing_docs)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// An amount that means "no limit": the limit is skipped.
pub const UNLIMITED: u64 = u64::MAX;

/// A `/v1/decide` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    /// The member's stable id.
    pub member: String,
    /// The action attempted (`invite`, `message`, …).
    pub action: String,
    /// The member's tier, if the caller knows it; otherwise the member record's or the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The member the action is aimed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A personalised note (invitations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where the action came from (profile, import, sales_navigator, api); all count alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// How many units the action uses (a contact import of 25 costs 25). Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_whole_number")]
    pub cost: Option<u64>,
    /// Evaluate without changing anything.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Makes a retry return the first decision instead of charging twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The instant of the request (replay and back-testing only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// The organisation the member acts for; otherwise the member record's. Limits with
    /// `scope = "organisation"` count per organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// The proof the member gave for a challenge (`recipient_email`, `captcha`), checked by
    /// the platform before it asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_passed: Option<String>,
}

/// A `/v1/events` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The member the event is about (the inviter, for invitation events).
    pub member: String,
    /// What happened.
    pub kind: EventKind,
    /// The other member (the invitee, for invitation events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// When it happened (replay and back-testing only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// An idempotency id: a repeated id is acknowledged and not applied again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Why a request was allowed or denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Allowed.
    Ok,
    /// A limit has no room for the request's cost.
    LimitExceeded,
    /// A restriction blocks the action.
    Restricted,
    /// A pair cooldown blocks this target.
    Cooldown,
    /// A cap is reached; waiting does not help.
    CapReached,
    /// Only identity verification lifts the block.
    VerificationRequired,
    /// Allowed unchecked: the store could not be reached and the server is configured to
    /// fail open. Never produced by the engine itself.
    StoreUnavailable,
    /// A challenge is in force: the request must carry its proof (`challenge` names it).
    ChallengeRequired,
}

impl Reason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::LimitExceeded => "limit_exceeded",
            Reason::Restricted => "restricted",
            Reason::Cooldown => "cooldown",
            Reason::CapReached => "cap_reached",
            Reason::VerificationRequired => "verification_required",
            Reason::StoreUnavailable => "store_unavailable",
            Reason::ChallengeRequired => "challenge_required",
        }
    }
}

/// Whom a limit counts: each member, or each organisation (all its members together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Each member on their own.
    #[default]
    Member,
    /// The organisation the member acts for, shared by all its members.
    Organisation,
}

impl Scope {
    /// True for [`Scope::Member`] (the default, left out of answers).
    pub fn is_member(&self) -> bool {
        *self == Scope::Member
    }
}

/// The state of one limit as it applies to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitStatus {
    /// The limit's name.
    pub name: Arc<str>,
    /// Whom it counts: absent for the member, `organisation` for an organisation's limit.
    #[serde(default, skip_serializing_if = "Scope::is_member")]
    pub scope: Scope,
    /// Its window kind (`anchored`, `calendar`, `sliding`, `rate`, `cap`, `credits`).
    pub kind: Cow<'static, str>,
    /// The amount in force for this member now.
    pub amount: u64,
    /// Units used in the current window (the gauge, for caps).
    pub used: u64,
    /// Units left now.
    pub remaining: u64,
    /// When usage next returns toward the full amount; absent for caps and unused windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<Timestamp>,
    /// Whole seconds until `resets_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_after: Option<u64>,
    /// The window's nominal length in seconds (`w` in `RateLimit-Policy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<u64>,
}

/// A restriction as shown to callers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestrictionView {
    /// What kind of penalty imposed it.
    pub kind: RestrictionKind,
    /// The penalty's name.
    pub penalty: String,
    /// What triggered it, in words.
    pub cause: String,
    /// The actions it blocks.
    pub blocks: Vec<String>,
    /// When it started.
    pub since: Timestamp,
    /// When it ends by itself; absent when only verification ends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// Over-limit attempts counted on the overage ladder.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub extras: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A limit nearing its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// The limit.
    pub limit: Arc<str>,
    /// Units used.
    pub used: u64,
    /// The amount.
    pub amount: u64,
    /// In words.
    pub message: String,
}

/// What kind of denial a decision is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialKind {
    /// Waiting cures it (quota, restriction, cooldown): `retry_after` says how long.
    TimeCures,
    /// Waiting alone does not cure it (a cap reached, verification required).
    TimeDoesNot,
}

/// The answer to a decide request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the action may proceed.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
    /// In words, for people.
    pub message: Cow<'static, str>,
    /// The binding limit (the one that denied, or the most constrained one when allowed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Arc<str>>,
    /// Whole seconds (rounded up) until the same request would be allowed if nothing else
    /// happened; absent when waiting alone does not help.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The instant `retry_after` points at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    /// Every limit that applied.
    pub limits: Vec<LimitStatus>,
    /// The restriction in force (or just imposed), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restriction: Option<RestrictionView>,
    /// With `challenge_required`: the proof the request must carry (`recipient_email`,
    /// `captcha`), as `challenge_passed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Cow<'static, str>>,
    /// Limits nearing their end.
    pub warnings: Vec<Warning>,
    /// Set when this answer repeats an earlier decision for the same `request_id`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
    /// Set for dry runs: nothing was charged or recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

impl Decision {
    /// The answer of a fail-open server whose store cannot be reached: allowed, nothing
    /// checked or counted, and said so in `reason` and `message`.
    pub fn unchecked(why: impl Into<Cow<'static, str>>) -> Decision {
        Decision {
            allowed: true,
            reason: Reason::StoreUnavailable,
            message: why.into(),
            limit: None,
            retry_after: None,
            retry_at: None,
            limits: Vec::new(),
            restriction: None,
            challenge: None,
            warnings: Vec::new(),
            duplicate: false,
            dry_run: false,
        }
    }

    /// What kind of denial this is, if it is one: whether waiting cures it. Front ends map it
    /// to their own codes (HTTP: 429 or 403).
    pub fn denial(&self) -> Option<DenialKind> {
        match self.reason {
            Reason::Ok | Reason::StoreUnavailable => None,
            Reason::CapReached | Reason::VerificationRequired | Reason::ChallengeRequired => {
                Some(DenialKind::TimeDoesNot)
            }
            _ if self.retry_after.is_none() => Some(DenialKind::TimeDoesNot),
            _ => Some(DenialKind::TimeCures),
        }
    }

    /// The most constrained applicable limit: least remaining relative to its amount.
    pub fn tightest(&self) -> Option<&LimitStatus> {
        if let Some(name) = &self.limit
            && let Some(l) = self.limits.iter().find(|l| &l.name == name)
        {
            return Some(l);
        }
        most_constrained(&self.limits)
    }
}

/// The limit with the least remaining relative to its amount.
pub fn most_constrained(limits: &[LimitStatus]) -> Option<&LimitStatus> {
    limits.iter().min_by(|a, b| {
        let ra = a.remaining as f64 / a.amount.max(1) as f64;
        let rb = b.remaining as f64 / b.amount.max(1) as f64;
        ra.total_cmp(&rb)
    })
}

/// Reads a whole number written as an integer or as a number with no fraction (`25.0`),
/// which JSON Schema counts as an integer too.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number of 0 or more")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u64, E> {
            // 2^64 is the first float past u64::MAX.
            if v.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&v) {
                Ok(v as u64)
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    d.deserialize_any(Whole)
}

/// [`whole_number`], optional.
pub fn optional_whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "whole_number")] u64);
    Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
}

/// The request field a serde error is about: the error's path, or at the root the field serde
/// names in backticks ("missing field `action`", "unknown field `colour`").
pub fn field_at_fault(path: &str, message: &str) -> String {
    let named = message
        .split('`')
        .nth(1)
        .filter(|_| ["missing field", "unknown field", "duplicate field"].iter().any(|m| message.starts_with(m)));
    match (path, named) {
        (".", Some(field)) => field.to_string(),
        (".", None) => "(body)".to_string(),
        // An object inside an array: `[1]` and "duplicate field `member`" name `[1].member`.
        (p, Some(field)) if p.ends_with(']') => format!("{p}.{field}"),
        (p, _) => p.to_string(),
    }
}

/// The answer to an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventAck {
    /// Always true: an event that cannot be applied is an error, not an ack.
    pub accepted: bool,
    /// The event kind.
    pub kind: EventKind,
    /// True when the event's `id` was seen before and nothing was applied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
    /// What the event changed, in words (e.g. a cooldown started, a restriction imposed).
    pub effects: Vec<String>,
}

/// A member's whole picture (`GET /v1/members/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    /// The tier in force.
    pub tier: String,
    /// The organisation on the member record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// Every limit of the policy for this member.
    pub limits: Vec<LimitStatus>,
    /// Reputation over the policy's horizon.
    pub reputation: ReputationView,
    /// Gauges by name.
    pub gauges: Vec<GaugeView>,
    /// Active restrictions.
    pub restrictions: Vec<RestrictionView>,
    /// Ended restrictions, oldest first.
    pub history: Vec<PastRestrictionView>,
    /// Offences on the escalation ladder still counted.
    pub offences: u32,
    /// Targets under a pair cooldown.
    pub cooldowns: usize,
    /// Per-member amount overrides.
    pub overrides: Vec<OverrideView>,
}

/// An organisation's usage: what `GET /v1/organisations/{id}` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganisationView {
    /// The tier in force for its limits.
    pub tier: String,
    /// Every limit of the policy that counts per organisation.
    pub limits: Vec<LimitStatus>,
    /// Per-organisation amount overrides.
    pub overrides: Vec<OverrideView>,
}

/// Outcome counts and the level they give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReputationView {
    /// The level that chooses amounts.
    pub level: Level,
    /// Invitations sent in the horizon.
    pub sent: u32,
    /// Accepted.
    pub accepted: u32,
    /// Ignored or expired.
    pub ignored: u32,
    /// Declined.
    pub declined: u32,
    /// Reported "I don't know".
    pub reported_unknown: u32,
    /// Reported as spam.
    pub reported_spam: u32,
    /// Withdrawn.
    pub withdrawn: u32,
}

/// One gauge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaugeView {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: u64,
}

/// A per-member amount override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideView {
    /// The limit.
    pub limit: String,
    /// The amount (`u64::MAX` means unlimited).
    pub amount: u64,
}

/// An ended restriction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastRestrictionView {
    /// Its kind.
    pub kind: RestrictionKind,
    /// The penalty's name.
    pub penalty: String,
    /// When it started.
    pub since: Timestamp,
    /// When it ended.
    pub ended: Timestamp,
    /// How it ended.
    pub ending: Ending,
    /// Extras counted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub extras: u32,
}

/// Outcome events the engine learns from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The invitee accepted the member's invitation.
    InvitationAccepted,
    /// The invitation expired or was ignored.
    InvitationIgnored,
    /// The invitee declined.
    InvitationDeclined,
    /// The invitee answered "I don't know this person".
    InvitationReportedUnknown,
    /// The invitee reported the invitation as spam.
    InvitationReportedSpam,
    /// The member withdrew the invitation (it still counts).
    InvitationWithdrawn,
    /// The member gained a connection some other way.
    ConnectionAdded,
    /// The member lost a connection.
    ConnectionRemoved,
    /// The member passed identity verification.
    VerificationPassed,
}

impl EventKind {
    /// Every kind, in a fixed order.
    pub const ALL: [EventKind; 9] = [
        EventKind::InvitationAccepted,
        EventKind::InvitationIgnored,
        EventKind::InvitationDeclined,
        EventKind::InvitationReportedUnknown,
        EventKind::InvitationReportedSpam,
        EventKind::InvitationWithdrawn,
        EventKind::ConnectionAdded,
        EventKind::ConnectionRemoved,
        EventKind::VerificationPassed,
    ];

    /// The wire name (`invitation_withdrawn`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::InvitationAccepted => "invitation_accepted",
            EventKind::InvitationIgnored => "invitation_ignored",
            EventKind::InvitationDeclined => "invitation_declined",
            EventKind::InvitationReportedUnknown => "invitation_reported_unknown",
            EventKind::InvitationReportedSpam => "invitation_reported_spam",
            EventKind::InvitationWithdrawn => "invitation_withdrawn",
            EventKind::ConnectionAdded => "connection_added",
            EventKind::ConnectionRemoved => "connection_removed",
            EventKind::VerificationPassed => "verification_passed",
        }
    }

    /// Looks a kind up by its wire name.
    pub fn from_name(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The kind as one bit of a set (`1 << index`).
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A member's reputation class, from outcome events over the policy's horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Many reports or few acceptances.
    Poor = 0,
    /// Not enough history, or middling.
    Basic = 1,
    /// A high acceptance rate.
    Good = 2,
}

impl Level {
    /// Looks a level up by its name (`poor`, `basic`, `good`).
    pub fn from_name(s: &str) -> Option<Level> {
        match s {
            "poor" => Some(Level::Poor),
            "basic" => Some(Level::Basic),
            "good" => Some(Level::Good),
            _ => None,
        }
    }
}

/// What kind of penalty imposed a restriction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionKind {
    /// Attempts beyond a limit, on the overage ladder.
    Overage,
    /// A penalty on the escalation ladder (bursts, repeated offences).
    Escalation,
    /// Lifted only by identity verification.
    Verification,
    /// For a period, each request needs a proof (`challenge_passed`).
    Challenge,
}

/// How a restriction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// It ran its course.
    Expired,
    /// An admin lifted it.
    Lifted,
    /// The member passed verification.
    Verified,
}

/// An amount in an override: a number, or `"unlimited"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AmountValue {
    /// A whole number.
    Number(#[serde(deserialize_with = "crate::whole_number")] u64),
    /// The word `unlimited`.
    Word(Unlimited),
}

/// The word `unlimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unlimited {
    /// No limit.
    Unlimited,
}

impl AmountValue {
    /// The amount, [`UNLIMITED`] for the word.
    pub fn get(self) -> u64 {
        match self {
            AmountValue::Number(n) => n,
            AmountValue::Word(_) => UNLIMITED,
        }
    }
}

/// A `PUT /v1/organisations/{id}` body. Absent fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationUpdate {
    /// The tier of the organisation's limits.
    #[serde(default)]
    pub tier: Option<String>,
    /// Amounts by limit name that replace the policy's for this organisation; `null` removes
    /// one.
    #[serde(default)]
    pub overrides: Option<BTreeMap<String, Option<AmountValue>>>,
}

/// A `PUT /v1/members/{id}` body. Absent fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberUpdate {
    /// The member's tier.
    #[serde(default)]
    pub tier: Option<String>,
    /// When the account was created (for maturity rules).
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Amounts by limit name that replace the policy's for this member; `null` removes one.
    #[serde(default)]
    pub overrides: Option<BTreeMap<String, Option<AmountValue>>>,
    /// The organisation the member acts for (`""` clears it).
    #[serde(default)]
    pub organisation: Option<String>,
}
