//! What the queue keeps: accounts, items, lanes, invitations and the ledger. Stored as JSON
//! so that a newer version reads an older queue (new fields take their defaults).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use pacekeeper_api::{EventKind, LimitStatus};
use pacekeeper_pacer::{HoursError, Lane, Warmup, WorkingHours};
use serde::{Deserialize, Serialize};

/// Pending invitations of this queue older than this many days are withdrawn (most
/// acceptances come within 30 days).
pub const WITHDRAW_AFTER_DAYS: u32 = 30;
/// Withdrawals per account per day at most.
pub const WITHDRAWALS_PER_DAY: u32 = 20;
/// The platform blocks re-inviting a withdrawn invitation's target this long (seed 001).
pub const REINVITE_COOLDOWN_DAYS: i64 = 21;
/// Sends per working day of an action an account names no target for.
pub const DEFAULT_DAILY_TARGET: u32 = 20;

/// A sending account and how it works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// The member id the server knows the account by.
    pub name: String,
    /// Its IANA time zone.
    pub zone: String,
    /// Working days.
    #[serde(with = "weekdays")]
    pub days: Vec<Weekday>,
    /// The working day's start and end, in the zone.
    pub start: Time,
    /// See `start`.
    pub end: Time,
    /// The account's tier on the server (`free`, `premium`…), sent with each decision.
    #[serde(default)]
    pub tier: Option<String>,
    /// Sends per working day, per action; others use [`DEFAULT_DAILY_TARGET`].
    #[serde(default)]
    pub daily: BTreeMap<String, u32>,
    /// The warm-up ramp; `None` for an account that needs none.
    #[serde(default)]
    pub warmup: Option<Warmup>,
    /// Withdraw this queue's pending invitations older than this many days; 0 never.
    #[serde(default = "withdraw_after")]
    pub withdraw_after_days: u32,
    /// Withdrawals per day at most.
    #[serde(default = "withdrawals_per_day")]
    pub withdrawals_per_day: u32,
    /// Withdrawals made on a day (in the account's zone).
    #[serde(default)]
    pub withdrawn_on: Option<(Date, u32)>,
    /// Set when a person must look (verification required, retries spent), and why.
    #[serde(default)]
    pub needs_human: Option<String>,
    /// Paused by hand until then (`pace pause`); `None` when not.
    #[serde(default)]
    pub paused_until: Option<Timestamp>,
}

fn withdraw_after() -> u32 {
    WITHDRAW_AFTER_DAYS
}

fn withdrawals_per_day() -> u32 {
    WITHDRAWALS_PER_DAY
}

impl Account {
    /// An account working `days` from `start` to `end` in `zone`; the zone and span are checked.
    pub fn new(name: &str, zone: &str, days: Vec<Weekday>, start: Time, end: Time) -> Result<Account, HoursError> {
        WorkingHours::new(zone, &days, start, end)?;
        Ok(Account {
            name: name.into(),
            zone: zone.into(),
            days,
            start,
            end,
            tier: None,
            daily: BTreeMap::new(),
            warmup: Some(Warmup::default()),
            withdraw_after_days: WITHDRAW_AFTER_DAYS,
            withdrawals_per_day: WITHDRAWALS_PER_DAY,
            withdrawn_on: None,
            needs_human: None,
            paused_until: None,
        })
    }

    /// The account's working hours.
    pub fn hours(&self) -> Result<WorkingHours, HoursError> {
        WorkingHours::new(&self.zone, &self.days, self.start, self.end)
    }

    /// The daily target of `action`.
    pub fn daily_target(&self, action: &str) -> u32 {
        self.daily.get(action).copied().unwrap_or(DEFAULT_DAILY_TARGET)
    }
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Waiting for its slot.
    Queued,
    /// Recorded as being sent (with its request id) and not yet finished: after a crash it
    /// is sent again with the same id.
    InFlight,
    /// The action went.
    Sent,
    /// Dropped, with the reason in `last_reason` (the server refused the item itself).
    Skipped,
    /// Set aside for a person (verification required, the sender failed for good).
    Parked,
}

impl ItemState {
    /// Every state, in a fixed order.
    pub const ALL: [ItemState; 5] =
        [ItemState::Queued, ItemState::InFlight, ItemState::Sent, ItemState::Skipped, ItemState::Parked];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::InFlight => "in_flight",
            ItemState::Sent => "sent",
            ItemState::Skipped => "skipped",
            ItemState::Parked => "parked",
        }
    }
}

/// Whether an item may go without its note once notes wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotePolicy {
    /// The item waits for the note allowance.
    #[default]
    Required,
    /// The item goes without its note, and the record says so.
    Optional,
}

/// One queued action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Its id, in the order items were added.
    pub id: u64,
    /// The sending account.
    pub account: String,
    /// The action (`invite`, `message`, `profile_view`…).
    pub action: String,
    /// Whom it is aimed at.
    #[serde(default)]
    pub target: Option<String>,
    /// A personalised note.
    #[serde(default)]
    pub note: Option<String>,
    /// Whether the note may be dropped.
    #[serde(default)]
    pub note_policy: NotePolicy,
    /// 0–9; higher goes first.
    #[serde(default)]
    pub priority: u8,
    /// Anything else the sender needs (a message body, a campaign), passed through as is.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    /// When it was added.
    pub added_at: Timestamp,
    /// Where it stands.
    pub state: ItemState,
    /// The id of the send in flight or being retried: the server charges it once.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Sends attempted.
    #[serde(default)]
    pub attempts: u32,
    /// Not before this instant (its target on cooldown).
    #[serde(default)]
    pub not_before: Option<Timestamp>,
    /// The last answer's reason, or why it was skipped or parked.
    #[serde(default)]
    pub last_reason: Option<String>,
    /// When it was sent.
    #[serde(default)]
    pub sent_at: Option<Timestamp>,
    /// It went without its note (notes were waiting and the note was optional).
    #[serde(default)]
    pub sent_without_note: bool,
}

impl Item {
    /// The lane the item belongs to.
    pub fn lane(&self) -> LaneId {
        LaneId { account: self.account.clone(), action: self.action.clone() }
    }
}

/// A lane's identity: one account's one action.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LaneId {
    /// The account.
    pub account: String,
    /// The action.
    pub action: String,
}

/// A lane as the queue keeps it: the pacer's state and what the server last said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaneRecord {
    /// The pacing state.
    pub lane: Lane,
    /// Why the lane is paused or stopped, in words.
    #[serde(default)]
    pub why: Option<String>,
    /// The limits of the last answer.
    #[serde(default)]
    pub limits: Vec<LimitStatus>,
    /// When the last answer came.
    #[serde(default)]
    pub seen_at: Option<Timestamp>,
    /// Sends made so far: with the seed, it picks the random source of the next slot, so a
    /// plan and a run agree.
    #[serde(default)]
    pub sends: u64,
}

/// Where an invitation this queue sent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    /// No answer yet.
    Pending,
    /// Accepted.
    Accepted,
    /// Ignored or expired.
    Ignored,
    /// Declined.
    Declined,
    /// "I don't know this person".
    Unknown,
    /// Reported as spam.
    Spam,
    /// Withdrawn by this queue or by hand.
    Withdrawn,
}

impl InviteState {
    /// The outcome event of this state, if it is one.
    pub fn event(self) -> Option<EventKind> {
        Some(match self {
            InviteState::Pending => return None,
            InviteState::Accepted => EventKind::InvitationAccepted,
            InviteState::Ignored => EventKind::InvitationIgnored,
            InviteState::Declined => EventKind::InvitationDeclined,
            InviteState::Unknown => EventKind::InvitationReportedUnknown,
            InviteState::Spam => EventKind::InvitationReportedSpam,
            InviteState::Withdrawn => EventKind::InvitationWithdrawn,
        })
    }
}

/// An invitation this queue sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invite {
    /// The item that sent it.
    pub item: u64,
    /// When.
    pub sent_at: Timestamp,
    /// Where it stands.
    pub state: InviteState,
    /// When the state last changed.
    #[serde(default)]
    pub decided_at: Option<Timestamp>,
    /// Re-inviting the target is blocked until then (after a withdrawal).
    #[serde(default)]
    pub cooldown_until: Option<Timestamp>,
}

/// One line of the ledger: what happened, when, to which item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// When.
    pub at: Timestamp,
    /// The account.
    pub account: String,
    /// The item, when one is concerned.
    #[serde(default)]
    pub item: Option<u64>,
    /// What happened: `sent`, `denied`, `failed`, `skipped`, `parked`, `withdrawn`, an outcome…
    pub what: String,
    /// Details: the reason, the limit, the pause.
    #[serde(default)]
    pub detail: String,
}

/// Weekdays as their English three-letter names (`mon`…`sun`).
mod weekdays {
    use jiff::civil::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(days.iter().map(|d| NAMES[d.to_monday_zero_offset() as usize]))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|n| {
                let i = NAMES.iter().position(|m| m.eq_ignore_ascii_case(n));
                i.and_then(|i| Weekday::from_monday_zero_offset(i as i8).ok())
                    .ok_or_else(|| serde::de::Error::custom(format!("`{n}` is not a weekday (mon…sun)")))
            })
            .collect()
    }
}
