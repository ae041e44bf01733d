//! Where Pacekeeper keeps member states: the [`Store`] trait and its backends.
//!
//! A store holds one encoded [`MemberState`] per member and offers one operation that
//! matters: [`Store::update`], an atomic read-modify-write of one member's state whose result
//! is released only once the change is as durable as the store promises. Stores never decide
//! anything: the closure they run is the engine's.
//!
//! This crate must never read a policy or make a decision; it only moves bytes.

mod any;
mod embedded;
mod error;
mod redis_store;

use std::future::Future;
use std::time::Duration;

pub use any::AnyStore;
pub use embedded::{CommitObserver, Durability, EmbeddedConfig, EmbeddedStats, EmbeddedStore};
pub use error::{Cause, ConfigError, StoreError};
use pacekeeper_engine::MemberState;
pub use redis_store::{RedisConfig, RedisStore};

/// What an update closure returns: its output, and whether the state changed.
#[derive(Debug)]
pub struct Change<R> {
    /// Handed back to the caller once the change is durable.
    pub output: R,
    /// `false` when nothing is to be written (dry runs, repeated request ids, invalid
    /// requests): nothing is written and nothing waits. Denials usually change the state
    /// (they are recorded as over-limit attempts) and are written.
    pub changed: bool,
    /// How long the new state still matters, counted from the instant it was decided at, for
    /// stores that [track expiry](Store::tracks_expiry); `None` when it must be kept or is not
    /// asked for.
    pub ttl: Option<Duration>,
}

impl<R> Change<R> {
    /// A change (or not) with no expiry.
    pub fn new(output: R, changed: bool) -> Change<R> {
        Change { output, changed, ttl: None }
    }

    /// Sets the time-to-live from the instant the state stops mattering (`expires_at`,
    /// milliseconds since the epoch) and the instant of the decision (`now`, the same unit).
    /// A state that already expired gets one second, enough for its write to be seen.
    pub fn expiring(mut self, expires_at: Option<i64>, now: i64) -> Change<R> {
        self.ttl = ttl_until(expires_at, now);
        self
    }
}

/// The time-to-live of a state that stops mattering at `expires_at` (milliseconds since the
/// epoch), decided at `now`: see [`Change::expiring`].
pub fn ttl_until(expires_at: Option<i64>, now: i64) -> Option<Duration> {
    expires_at.map(|at| Duration::from_millis(at.saturating_sub(now).max(1_000) as u64))
}

/// What a two-subject update closure returns ([`Store::update_pair`]).
#[derive(Debug)]
pub struct PairChange<R> {
    /// The output, whether anything changed, and the member's time-to-live.
    pub change: Change<R>,
    /// The organisation's time-to-live, for stores that track expiry.
    pub org_ttl: Option<Duration>,
}

/// A place member states live. Implementations must make [`Store::update`] atomic per member
/// under any concurrency, across every process that shares the store.
pub trait Store: Clone + Send + Sync + 'static {
    /// Runs `f` on the member's state (the default state for a member never seen) as one
    /// atomic step and writes the result when `f` reports a change. Returns `f`'s output once
    /// the write is durable. `f` may run more than once (optimistic backends retry on
    /// conflict); only the last run's output is returned.
    fn update<R, F>(&self, member: &str, f: F) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState) -> Change<R> + Send + 'static;

    /// Runs `f` on a member's state and an organisation's (`org` is the organisation's key)
    /// as one decision, and writes what it changed. Returns `f`'s output once both writes are
    /// durable.
    ///
    /// A store that [writes pairs atomically](Store::atomic_pairs) runs `f` once with both
    /// states held and writes both in one step. Others write the organisation first, then the
    /// member, each by compare-and-set, and rerun `f` after a lost race on either — also on
    /// an organisation state that holds this very update's earlier write, so `f` must find
    /// its own earlier charge there and not charge again (the engine's reservation tickets
    /// do this).
    fn update_pair<R, F>(&self, member: &str, org: &str, f: F) -> impl Future<Output = Result<R, StoreError>> + Send
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState, &mut MemberState) -> PairChange<R> + Send + 'static,
    {
        let _ = (member, org, f);
        async { Err(StoreError::Unsupported("limits counted per organisation (two-subject updates)")) }
    }

    /// Whether [`Store::update_pair`] writes both states in one atomic step.
    fn atomic_pairs(&self) -> bool {
        false
    }

    /// The member's state, or the default state for a member never seen.
    fn read(&self, member: &str) -> impl Future<Output = Result<MemberState, StoreError>> + Send;

    /// Forgets a member entirely. Returns whether anything was stored.
    fn erase(&self, member: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Makes every write so far durable.
    fn flush(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether the store can serve requests now.
    fn ready(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One line for the start-up banner.
    fn describe(&self) -> String;

    /// Whether the store uses [`Change::ttl`]. When it does not, callers skip
    /// computing it on every write.
    fn tracks_expiry(&self) -> bool {
        false
    }

    /// The restrictions index: how many members have a restriction ending after `now`
    /// (milliseconds since the epoch), and the first `first` of them, soonest end first.
    /// Kept by the store as states are written, never by scanning members.
    fn restricted(&self, now: i64, first: usize) -> impl Future<Output = Result<RestrictedPage, StoreError>> + Send {
        let _ = (now, first);
        async { Err(StoreError::Unsupported("a restrictions index")) }
    }

    /// Appends one record (opaque bytes) to the audit log, durably, at `at` (milliseconds
    /// since the epoch).
    fn append_audit(&self, at: i64, record: Vec<u8>) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = (at, record);
        async { Err(StoreError::Unsupported("an audit log")) }
    }

    /// The newest `count` records of the audit log, newest first.
    fn audit(&self, count: usize) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> + Send {
        let _ = count;
        async { Err(StoreError::Unsupported("an audit log")) }
    }

    /// Monotonic counters to export as metrics: `(name, value)`.
    fn counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// A member in the restrictions index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restricted {
    /// The member's id.
    pub member: String,
    /// When the member's restrictions end (milliseconds since the epoch);
    /// [`pacekeeper_engine::UNTIL_VERIFIED`] when only verification ends one.
    pub until: i64,
}

/// What [`Store::restricted`] answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestrictedPage {
    /// How many members are restricted.
    pub total: u64,
    /// The first of them, soonest end first.
    pub first: Vec<Restricted>,
}

/// The most audit records a Redis store keeps (the oldest go first); the embedded store keeps
/// every one.
pub const REDIS_AUDIT_RECORDS: usize = 1_000_000;

/// Keys starting with this hold auxiliary states (a shadow policy's), not members: the
/// restrictions index leaves them out. Member ids hold no control characters, so no member id
/// starts with it.
pub const AUX_PREFIX: &str = "\u{1}";

/// Whether a write that moved a state's restriction end from `before` to `after` changes the
/// restrictions index: members only, never auxiliary keys.
pub(crate) fn index_moves(key: &str, before: Option<i64>, after: Option<i64>) -> bool {
    after != before && !key.starts_with(AUX_PREFIX)
}

/// The key an organisation's state is kept under: an auxiliary key (not a member), one per
/// organisation id.
pub fn organisation_key(id: &str) -> String {
    format!("{AUX_PREFIX}org:{id}")
}

/// The longest member id a store accepts, in bytes (256 characters of up to four bytes).
pub const MAX_MEMBER_ID: usize = 1024;
