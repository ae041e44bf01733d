//! A sender's durable queue of outreach, on the embedded store the server uses (fjall).
//!
//! It keeps accounts and their working hours, items and their states, lanes with what they
//! learned and their pauses, the invitations this queue sent and their outcomes, outcome
//! events waiting to be posted, and a ledger of everything that happened.
//!
//! Every change is one atomic write ([`Change`]). The send protocol is exactly-once towards
//! the server: an item is recorded [`ItemState::InFlight`] with its `request_id` and synced to
//! disk before it is sent; after a crash it is found by [`Queue::in_flight`] and sent again
//! with the same id, which the server answers with its first decision instead of charging
//! twice.
//!
//! ```
//! use pacekeeper_queue::{Account, NewItem, Queue};
//! use jiff::civil::{Time, Weekday::*};
//! let dir = tempfile::tempdir().unwrap();
//! let queue = Queue::open(dir.path()).unwrap();
//! let account = Account::new("alice", "Europe/Paris", vec![Monday, Tuesday],
//!     Time::constant(9, 0, 0, 0), Time::constant(17, 0, 0, 0)).unwrap();
//! queue.put_account(&account).unwrap();
//! let now = "2026-11-30T08:00:00Z".parse().unwrap();
//! let added = queue.add(NewItem::new("alice", "invite").target("bob"), now).unwrap();
//! assert!(added.is_new());
//! assert!(!queue.add(NewItem::new("alice", "invite").target("bob"), now).unwrap().is_new());
//! ```

mod change;
mod items;
mod keys;
mod model;
mod records;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use fjall::{Database, Keyspace, KeyspaceCreateOptions};

pub use change::Change;
pub use items::{Added, Invalid, NewItem};
pub use keys::MAX_PRIORITY;
pub use model::{
    Account, DEFAULT_DAILY_TARGET, Invite, InviteState, Item, ItemState, LaneId, LaneRecord, LedgerEntry, NotePolicy,
    REINVITE_COOLDOWN_DAYS, WITHDRAW_AFTER_DAYS, WITHDRAWALS_PER_DAY,
};

/// Why the queue could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The directory could not be opened (in use by another `pace` process, unreadable…).
    #[error("cannot open the queue in {}: {source}", path.display())]
    Open {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: fjall::Error,
    },
    /// Another process (a running `pace run`) holds the queue.
    #[error("the queue in {} is in use by another process (a running `pacekeeper pace run`?)", .0.display())]
    InUse(PathBuf),
    /// A read or write of the store failed.
    #[error("the queue's store failed: {0}")]
    Store(#[from] fjall::Error),
    /// A stored record does not read.
    #[error("a stored {what} does not read: {source}")]
    Corrupt {
        /// Which kind of record.
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// No such account.
    #[error("no account `{0}` in this queue; create it with `pacekeeper pace init --account {0}`")]
    NoAccount(String),
    /// No such item.
    #[error("no item {0} in this queue")]
    NoItem(u64),
    /// This queue sent no invitation to that target from that account.
    #[error("`{account}` sent `{target}` no invitation through this queue; only this queue's invitations are tracked")]
    NoInvite {
        /// The account.
        account: String,
        /// The target.
        target: String,
    },
    /// A field of a new item is unusable.
    #[error("`{field}` {problem}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        problem: Invalid,
    },
}

/// The queue.
pub struct Queue {
    db: Database,
    meta: Keyspace,
    accounts: Keyspace,
    items: Keyspace,
    queued: Keyspace,
    in_flight: Keyspace,
    targets: Keyspace,
    lanes: Keyspace,
    invites: Keyspace,
    ledger: Keyspace,
    outbox: Keyspace,
    next: AtomicU64,
    uid: String,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").field("uid", &self.uid).finish_non_exhaustive()
    }
}

/// Block cache of the queue's store: with the memtables and the journal below, what bounds
/// its memory, whatever the queue's length.
const CACHE_BYTES: u64 = 32 << 20;
/// Writes held in memory per keyspace before they go to disk.
const MEMTABLE_BYTES: u64 = 8 << 20;
/// Journal kept before memtables are flushed (fjall's least); it is replayed at open.
const JOURNAL_BYTES: u64 = 64 << 20;

impl Queue {
    /// Opens (or creates) the queue in `path`. One process at a time holds it.
    pub fn open(path: impl AsRef<Path>) -> Result<Queue, QueueError> {
        let path = path.as_ref();
        let open = |source| match source {
            fjall::Error::Locked => QueueError::InUse(path.to_path_buf()),
            source => QueueError::Open { path: path.to_path_buf(), source },
        };
        std::fs::create_dir_all(path).map_err(|e| open(e.into()))?;
        let db =
            Database::builder(path).cache_size(CACHE_BYTES).max_journaling_size(JOURNAL_BYTES).open().map_err(open)?;
        let options = || KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES);
        let ks = |name: &str| db.keyspace(name, options).map_err(open);
        let meta = ks("meta")?;
        let next = match meta.get("next")? {
            Some(v) => u64::from_be_bytes(v[..].try_into().unwrap_or([0; 8])),
            None => 1,
        };
        let uid = match meta.get("uid")? {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => {
                let uid = format!("{:016x}", fastrand_seed(path));
                meta.insert("uid", uid.as_bytes())?;
                uid
            }
        };
        Ok(Queue {
            accounts: ks("accounts")?,
            items: ks("items")?,
            queued: ks("queued")?,
            in_flight: ks("in_flight")?,
            targets: ks("targets")?,
            lanes: ks("lanes")?,
            invites: ks("invites")?,
            ledger: ks("ledger")?,
            outbox: ks("outbox")?,
            meta,
            db,
            next: AtomicU64::new(next),
            uid,
        })
    }

    /// This queue's own id, part of every request id it sends: two queues never share one.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// A change to make atomically.
    pub fn change(&self) -> Change<'_> {
        Change::new(self)
    }

    fn take_seq(&self) -> u64 {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// A seed for the queue's id: the time and the process, hashed with the path.
fn fastrand_seed(path: &Path) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    path.hash(&mut h);
    std::process::id().hash(&mut h);
    #[allow(clippy::disallowed_methods)] // an id, not a decision: any instant will do
    std::time::SystemTime::now().hash(&mut h);
    h.finish()
}

fn decode<T: serde::de::DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, QueueError> {
    serde_json::from_slice(bytes).map_err(|source| QueueError::Corrupt { what, source })
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}
