//! The embedded store: fjall on disk behind a write-ahead log of its own, a bounded in-memory
//! cache, group commit.
//!
//! Each update runs under its shard's lock: read (cache, else fjall), run the closure, and
//! queue the encoded value for the committer, all while holding the lock, so updates of one
//! member are serialised and reach the committer in order. Three threads do the rest:
//! - the **committer** ([`committer`]) appends each group of writes to the log ([`wal`])
//!   with one `write` call, then releases the answers that wait for that (process
//!   durability);
//! - the **syncer** ([`syncer`]) fsyncs the log through its own handles, at least every
//!   `sync_interval` and at once for strict answers, which it then releases, and deletes log
//!   segments fjall holds durably;
//! - the **applier** ([`applier`]) checkpoints: it puts each member's latest value into
//!   fjall, read from the cache, once per checkpoint rather than every write.
//!
//! So no answer ever waits on fjall, whose journal rotation fsyncs under a lock every write
//! batch needs, and only strict answers wait on an fsync.
//!
//! A cached entry is evicted only once its last write is in fjall (and, in strict mode,
//! fsynced in the log): a cache miss always reads the latest value, and in strict mode a
//! durable one.
//!
//! A waiting answer gives up after `commit_timeout`: a disk that stalls turns into 503s
//! within that time rather than requests that hang, and the store reports itself not ready
//! until a flush completes again. The write itself stays queued and may still land.
//!
//! An update whose encoded value equals the stored one writes nothing: a denial that counts
//! nothing costs no write and no fsync. Its answer still waits, if need be, until the
//! member's last write is as durable as the mode promises, since the answer rests on it.

mod applier;
mod audit;
mod committer;
mod inbox;
mod open;
mod pair;
mod restricted;
mod syncer;
mod wal;

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use fjall::{Database, Keyspace, PersistMode};
use pacekeeper_engine::MemberState;
use tokio::sync::oneshot;

use self::applier::ApplyControl;
use self::committer::Committer;
use self::inbox::{Inbox, Job, Pending};
use self::syncer::SyncQueue;
use self::wal::Wal;
use crate::{Change, PairChange, RestrictedPage, Store, StoreError};

const SHARDS: usize = 64;

/// One cache shard: member id to its encoded state. Encoded, not decoded: about 100 bytes a
/// member instead of about a kilobyte of small vectors, for one decode per update.
type Shard = Mutex<HashMap<Box<str>, Entry>>;

/// Observes each fsync of the log: (writes it covered, how long it took).
pub type CommitObserver = Arc<dyn Fn(usize, Duration) + Send + Sync>;

struct Entry {
    /// `MemberState::encode` output; empty for a member with nothing stored.
    bytes: Box<[u8]>,
    /// Sequence number of the last write queued for this member (0: none).
    seq: u64,
}

impl Entry {
    fn state(&self, member: &str) -> Result<MemberState, StoreError> {
        if self.bytes.is_empty() {
            return Ok(MemberState::default());
        }
        MemberState::decode(&self.bytes).map_err(|source| StoreError::Corrupt { member: member.to_string(), source })
    }
}

/// When an answer may leave, named for what an answered decision survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// An answer leaves once its write is in the log's file, handed to the operating system
    /// (no fsync); the log is fsynced in the background every `sync_interval`. Survives any
    /// crash of the process (`kill -9`) with nothing lost; a power loss or kernel crash may
    /// lose the last `sync_interval`.
    #[default]
    Process,
    /// An answer leaves only once the log is fsynced past its write. Survives a power loss;
    /// its latency includes the disk's fsync, tail and all.
    Strict,
    /// Answers wait for nothing: writes are logged and fsynced every `sync_interval`. A
    /// `kill -9` may lose the last `sync_interval` of answered decisions, a power loss twice
    /// that.
    Relaxed,
}

impl Durability {
    /// The name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Durability::Process => "process",
            Durability::Strict => "strict",
            Durability::Relaxed => "relaxed",
        }
    }
}

/// How to open an [`EmbeddedStore`].
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// The data directory (created if missing).
    pub path: PathBuf,
    /// When answers leave relative to the disk.
    pub durability: Durability,
    /// The log is fsynced at least this often (process and relaxed durability).
    pub sync_interval: Duration,
    /// Size of a log segment: a checkpoint into fjall follows each one, and a crash replays
    /// at most about this much at start-up.
    pub log_segment_bytes: u64,
    /// How many member states the in-memory cache holds at most.
    pub cache_members: usize,
    /// fjall's block cache, in bytes.
    pub block_cache_bytes: u64,
    /// How long an answer waits for what it rests on before it fails with
    /// [`StoreError::Timeout`].
    pub commit_timeout: Duration,
}

impl EmbeddedConfig {
    /// Process durability with a 100 ms sync interval, 64 MiB log segments, 100,000 cached
    /// members, a 16 MiB block cache, a 5-second commit timeout.
    pub fn new(path: impl AsRef<Path>) -> EmbeddedConfig {
        EmbeddedConfig {
            path: path.as_ref().to_path_buf(),
            durability: Durability::Process,
            sync_interval: Duration::from_millis(100),
            log_segment_bytes: wal::SEGMENT_BYTES,
            cache_members: 100_000,
            block_cache_bytes: 16 << 20,
            commit_timeout: Duration::from_secs(5),
        }
    }
}

/// Counters the server exports as metrics.
#[derive(Debug, Default)]
pub struct EmbeddedStats {
    /// Updates and reads served from the cache.
    pub cache_hits: AtomicU64,
    /// Updates and reads that went to disk.
    pub cache_misses: AtomicU64,
    /// Fsyncs of the log done.
    pub commits: AtomicU64,
    /// Groups appended to the log (one `write` each).
    pub log_writes: AtomicU64,
    /// Checkpoints of the log into fjall.
    pub checkpoints: AtomicU64,
}

/// What the store's threads share.
struct Shared {
    db: Database,
    members: Keyspace,
    /// The restrictions index on disk ([`restricted`]).
    restrictions: Keyspace,
    /// The restrictions index in memory.
    index: Mutex<restricted::Index>,
    /// The audit log ([`audit`]).
    audit: audit::AuditLog,
    wal: Wal,
    syncer: SyncQueue,
    apply: ApplyControl,
    /// The cache: the answering threads update it, the applier checkpoints it into fjall.
    shards: Box<[Shard]>,
    /// Every job up to this sequence number is in the log (handed to the operating system).
    written: AtomicU64,
    /// Writes appended to the log so far.
    written_count: AtomicU64,
    /// Every job up to this sequence number is fsynced in the log.
    durable: AtomicU64,
    /// Every write up to this sequence number is in fjall, or superseded there by a newer
    /// value of the same member.
    applied: AtomicU64,
    failed: AtomicBool,
    /// An answer gave up waiting, and no fsync has completed since: the disk may be stalled.
    stalled: AtomicBool,
    stats: EmbeddedStats,
    on_commit: Option<CommitObserver>,
}

impl Shared {
    /// Marks the store failed: it refuses requests until restarted (the restart replays the
    /// log).
    fn fail(&self, why: impl std::fmt::Display) {
        if !self.failed.swap(true, Ordering::Relaxed) {
            tracing::error!(error = %why, "the embedded store failed; it now refuses requests");
        }
    }
}

/// Marks the store failed if the thread holding it panics.
struct FailOnPanic<'a>(&'a Shared);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.fail("a store thread panicked");
        }
    }
}

/// Member states in fjall, with a log, a bounded cache and group commit. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    inbox: Arc<Inbox>,
    hasher: RandomState,
    per_shard: usize,
    durability: Durability,
    sync_interval: Duration,
    path: PathBuf,
    commit_timeout: Duration,
    threads: Mutex<Threads>,
}

/// The store's threads, joined in this order when it closes.
#[derive(Default)]
struct Threads {
    committer: Option<JoinHandle<()>>,
    applier: Option<JoinHandle<()>>,
    syncer: Option<JoinHandle<()>>,
}

fn disk(what: impl Into<String>, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::disk(what, e)
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| StoreError::Config(crate::ConfigError::Thread { name: name.into(), source: Arc::new(e) }))
}

impl EmbeddedStore {
    /// Opens (or creates) the store, replays its log, and starts its threads.
    pub fn open(config: EmbeddedConfig) -> Result<EmbeddedStore, StoreError> {
        Self::open_observed(config, None)
    }

    /// Like [`EmbeddedStore::open`], calling `on_commit(writes, fsync time)` after each fsync
    /// of the log (for metrics).
    pub fn open_observed(
        config: EmbeddedConfig,
        on_commit: Option<CommitObserver>,
    ) -> Result<EmbeddedStore, StoreError> {
        let (shared, appender) = open::open_shared(&config, on_commit)?;
        let shared = Arc::new(shared);
        let per_shard = config.cache_members.div_ceil(SHARDS).max(1);
        let inner = Arc::new(Inner {
            shared,
            inbox: Arc::new(Inbox::new()),
            hasher: RandomState::new(),
            per_shard,
            durability: config.durability,
            sync_interval: config.sync_interval,
            path: config.path,
            commit_timeout: config.commit_timeout,
            threads: Mutex::default(),
        });
        inner.start(appender)?;
        Ok(EmbeddedStore { inner })
    }
}

impl Inner {
    /// Starts the committer, the applier and the syncer.
    fn start(&self, appender: wal::Appender) -> Result<(), StoreError> {
        let committer = Committer {
            shared: self.shared.clone(),
            inbox: self.inbox.clone(),
            appender,
            durability: self.durability,
            interval: self.sync_interval,
        };
        let mut t = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        t.committer = Some(spawn("pacekeeper-commit", move || committer.run())?);
        let shared = self.shared.clone();
        t.applier = Some(spawn("pacekeeper-apply", move || applier::run(&shared))?);
        let (shared, interval) = (self.shared.clone(), self.sync_interval);
        t.syncer = Some(spawn("pacekeeper-sync", move || syncer::run(&shared, interval))?);
        Ok(())
    }
}

impl EmbeddedStore {
    /// Cache and commit counters.
    pub fn stats(&self) -> &EmbeddedStats {
        &self.inner.shared.stats
    }

    /// Members currently in the cache.
    pub fn cached(&self) -> usize {
        self.inner.shared.shards.iter().map(|s| s.lock().map_or(0, |m| m.len())).sum()
    }

    fn index(&self) -> std::sync::MutexGuard<'_, restricted::Index> {
        // Every change to the index is one call that cannot panic halfway: a poisoned lock
        // still holds a whole index.
        self.inner.shared.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn shard(&self, member: &str) -> &Shard {
        &self.inner.shared.shards[self.shard_index(member)]
    }

    fn shard_index(&self, member: &str) -> usize {
        self.inner.hasher.hash_one(member) as usize % SHARDS
    }

    /// The member's cache entry in its locked shard, read from fjall on a miss.
    fn cached_entry<'m>(
        &self,
        shard: &'m mut HashMap<Box<str>, Entry>,
        member: &str,
    ) -> Result<&'m mut Entry, StoreError> {
        if shard.contains_key(member) {
            self.inner.shared.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.inner.shared.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
            let loaded = self.load(member)?;
            self.make_room(shard)?;
            shard.insert(member.into(), Entry { bytes: loaded, seq: 0 });
        }
        shard.get_mut(member).ok_or(StoreError::Internal("a cache entry vanished"))
    }

    /// Evicts entries fjall holds (and, in strict mode, whose write is fsynced) while the shard
    /// is full, at most two at a time. Entries written since the last checkpoint stay, and the
    /// applier is asked for a checkpoint; a shard at twice its share writes one such entry's
    /// value into fjall itself and evicts it, so the cache never grows past twice its setting.
    fn make_room(&self, shard: &mut HashMap<Box<str>, Entry>) -> Result<(), StoreError> {
        let s = &self.inner.shared;
        let mut floor = s.applied.load(Ordering::Acquire);
        if self.inner.durability == Durability::Strict {
            floor = floor.min(s.durable.load(Ordering::Acquire));
        }
        for _ in 0..2 {
            if shard.len() < self.inner.per_shard {
                return Ok(());
            }
            let victim = shard.iter().take(8).find(|(_, e)| e.seq <= floor).map(|(k, _)| k.clone());
            let Some(k) = victim.map_or_else(|| self.write_through(shard), |k| Ok(Some(k)))? else {
                s.apply.request();
                return Ok(());
            };
            shard.remove(&k);
        }
        Ok(())
    }

    /// In a shard at twice its share, writes one entry's value into fjall and returns its key
    /// for eviction (a cache miss then reads that value back).
    fn write_through(&self, shard: &HashMap<Box<str>, Entry>) -> Result<Option<Box<str>>, StoreError> {
        if shard.len() < 2 * self.inner.per_shard || self.inner.durability == Durability::Strict {
            return Ok(None);
        }
        let Some((k, e)) = shard.iter().next() else { return Ok(None) };
        let members = &self.inner.shared.members;
        match e.bytes.is_empty() {
            true => members.remove(k.as_bytes()),
            false => members.insert(k.as_bytes(), &e.bytes[..]),
        }
        .map_err(|e| disk("write failed", e))?;
        Ok(Some(k.clone()))
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.inner.shared.failed.load(Ordering::Relaxed) {
            return Err(StoreError::Failed);
        }
        Ok(())
    }

    /// Waits for what an answer rests on, at most the commit timeout.
    async fn wait(&self, rx: Option<Pending>) -> Result<(), StoreError> {
        let Some(rx) = rx else { return Ok(()) };
        let timeout = self.inner.commit_timeout;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err(StoreError::Failed),
            Err(_) => {
                // Logged once per stall, not once per answer that gives up.
                if !self.inner.shared.stalled.swap(true, Ordering::Relaxed) {
                    tracing::error!(
                        timeout_ms = timeout.as_millis() as u64,
                        "a write did not become durable in time; the disk may be stalled"
                    );
                }
                Err(StoreError::Timeout(timeout.as_millis() as u64))
            }
        }
    }

    /// The member's encoded state in fjall (empty when none).
    fn load(&self, member: &str) -> Result<Box<[u8]>, StoreError> {
        match self.inner.shared.members.get(member.as_bytes()) {
            Ok(Some(bytes)) => Ok(Box::from(&bytes[..])),
            Ok(None) => Ok(Box::default()),
            Err(e) => Err(disk("read failed", e)),
        }
    }

    /// Queues a member's new value (under its shard lock, so per-member order holds) and
    /// returns its sequence number and, when `answer` waits on it and the mode says so, what
    /// to wait on.
    fn queue(&self, member: &str, value: Option<Vec<u8>>, answer: bool) -> Result<(u64, Option<Pending>), StoreError> {
        let (job, rx) = self.write_job(member, value, answer);
        Ok((self.inner.inbox.push(job)?, rx))
    }

    /// The write of a member's new value, and what its answer waits on when `answer` does.
    fn write_job(&self, member: &str, value: Option<Vec<u8>>, answer: bool) -> (Job, Option<Pending>) {
        let (waiter, rx) = match self.inner.durability {
            Durability::Strict | Durability::Process if answer => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            }
            _ => (None, None),
        };
        (Job::Write { key: member.as_bytes().into(), value, seq: 0, waiter }, rx)
    }

    /// What an answer resting on the write numbered `seq` (without a write of its own) waits
    /// on: nothing once that write is as durable as the mode promises, else a flush.
    fn rest_on(&self, seq: u64) -> Result<Option<Pending>, StoreError> {
        let s = &self.inner.shared;
        let (mark, disk) = match self.inner.durability {
            Durability::Relaxed => return Ok(None),
            Durability::Process => (&s.written, false),
            Durability::Strict => (&s.durable, true),
        };
        if seq <= mark.load(Ordering::Acquire) {
            return Ok(None);
        }
        self.flush_queued(disk).map(Some)
    }

    /// Queues a flush: told once everything queued before it is in the log, or fsynced.
    fn flush_queued(&self, disk: bool) -> Result<Pending, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.inner.inbox.push(Job::Flush { waiter: tx, disk, seq: 0 })?;
        Ok(rx)
    }

    /// Waits until everything queued so far is fsynced.
    async fn commit(&self) -> Result<(), StoreError> {
        self.wait(Some(self.flush_queued(true)?)).await
    }
}

/// Durations for the sync interval and metrics. Not decision logic: the engine never sees
/// these instants.
mod clock {
    #[allow(clippy::disallowed_methods)]
    pub fn start() -> std::time::Instant {
        std::time::Instant::now()
    }

    pub fn elapsed(since: std::time::Instant) -> std::time::Duration {
        since.elapsed()
    }
}

impl Store for EmbeddedStore {
    async fn update<R, F>(&self, member: &str, mut f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState) -> Change<R> + Send + 'static,
    {
        self.check()?;
        let (output, pending) = {
            // A std mutex, not a tokio one: nothing awaits while it is held, and the work
            // under it (a cache lookup, the engine, queueing the write) takes microseconds.
            // A closure that panics leaves the map as it was (the entry changes only after the
            // closure returns), so a poisoned lock is safe to take over.
            let mut shard = self.shard(member).lock().unwrap_or_else(PoisonError::into_inner);
            let entry = self.cached_entry(&mut shard, member)?;
            let mut next = entry.state(member)?;
            let restricted_before = next.restricted_until();
            let change = f(&mut next);
            if !change.changed {
                return Ok(change.output);
            }
            let value = (!next.is_empty()).then(|| next.encode());
            if value.as_deref().unwrap_or_default() == &*entry.bytes {
                // The same bytes as stored (a denial that counts nothing, say): nothing to
                // write. The answer still rests on the member's last write, so in strict
                // mode it leaves only once that write is durable.
                let pending = self.rest_on(entry.seq)?;
                (change.output, pending)
            } else {
                let bytes = value.as_deref().map(Box::from).unwrap_or_default();
                // Queue first: the cache shows a value only once its write is on its way.
                let (seq, pending) = self.queue(member, value, true)?;
                *entry = Entry { bytes, seq };
                let restricted_after = next.restricted_until();
                if crate::index_moves(member, restricted_before, restricted_after) {
                    self.index().set(member, restricted_after);
                }
                (change.output, pending)
            }
        };
        self.wait(pending).await?;
        Ok(output)
    }

    async fn update_pair<R, F>(&self, member: &str, org: &str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState, &mut MemberState) -> PairChange<R> + Send + 'static,
    {
        self.update_both(member, org, f).await
    }

    fn atomic_pairs(&self) -> bool {
        true
    }

    async fn read(&self, member: &str) -> Result<MemberState, StoreError> {
        self.check()?;
        let shard = self.shard(member).lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = shard.get(member) {
            self.inner.shared.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            return e.state(member);
        }
        self.inner.shared.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
        Entry { bytes: self.load(member)?, seq: 0 }.state(member)
    }

    async fn erase(&self, member: &str) -> Result<bool, StoreError> {
        self.check()?;
        let existed = {
            let mut shard = self.shard(member).lock().unwrap_or_else(PoisonError::into_inner);
            let existed = match shard.get(member) {
                Some(e) => !e.bytes.is_empty(),
                None => !self.load(member)?.is_empty(),
            };
            let (seq, _) = self.queue(member, None, false)?;
            // An empty entry, kept until the delete is in fjall: an update meanwhile must see
            // the member gone, not read the old value back.
            if !shard.contains_key(member) {
                self.make_room(&mut shard)?;
            }
            shard.insert(member.into(), Entry { bytes: Box::default(), seq });
            self.index().set(member, None);
            existed
        };
        // Erase is an admin action: it waits until the delete is fsynced, whatever the mode.
        self.commit().await?;
        Ok(existed)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.commit().await
    }

    async fn restricted(&self, now: i64, first: usize) -> Result<RestrictedPage, StoreError> {
        self.check()?;
        Ok(self.index().page(now, first))
    }

    async fn append_audit(&self, at: i64, record: Vec<u8>) -> Result<(), StoreError> {
        self.check()?;
        let shared = self.inner.shared.clone();
        tokio::task::spawn_blocking(move || shared.audit.append(&shared.db, at, &record))
            .await
            .map_err(|_| StoreError::Internal("the audit write panicked"))?
    }

    async fn audit(&self, count: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        self.check()?;
        self.inner.shared.audit.newest(count)
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.check()?;
        if self.inner.shared.stalled.load(Ordering::Relaxed) {
            // A strict answer gave up on its group commit: ready again once one completes in
            // time.
            self.commit().await.map_err(|e| match e {
                StoreError::Timeout(ms) => StoreError::Stalled(ms),
                other => other,
            })?;
            self.inner.shared.stalled.store(false, Ordering::Relaxed);
        }
        Ok(())
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let s = &self.inner.shared.stats;
        vec![
            ("pacekeeper_cache_hits_total", s.cache_hits.load(Ordering::Relaxed)),
            ("pacekeeper_cache_misses_total", s.cache_misses.load(Ordering::Relaxed)),
            ("pacekeeper_store_commits_total", s.commits.load(Ordering::Relaxed)),
            ("pacekeeper_store_log_writes_total", s.log_writes.load(Ordering::Relaxed)),
            ("pacekeeper_store_checkpoints_total", s.checkpoints.load(Ordering::Relaxed)),
        ]
    }

    fn describe(&self) -> String {
        let ms = self.inner.sync_interval.as_millis();
        let durability = match self.inner.durability {
            Durability::Process => format!(
                "process (answers leave once their write reaches the OS; fsync every {ms} ms: survives kill -9, a power loss may lose {ms} ms)"
            ),
            Durability::Strict => "strict (each answer waits for the fsync covering it: survives a power loss)".into(),
            Durability::Relaxed => format!(
                "relaxed (answers wait for nothing; logged and fsynced every {ms} ms: kill -9 may lose {ms} ms of answered decisions)"
            ),
        };
        format!(
            "embedded store at {} — durability {durability}; cache {} members",
            self.inner.path.display(),
            self.inner.per_shard * SHARDS
        )
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Last handle gone: the committer logs what is queued, the applier checkpoints it
        // into fjall, the syncer makes a last fsync; then fjall is made durable and the log,
        // all of it checkpointed, is deleted.
        self.inbox.close();
        let mut t = std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        if let Some(h) = t.committer.take() {
            let _ = h.join();
        }
        self.shared.apply.close();
        if let Some(h) = t.applier.take() {
            let _ = h.join();
        }
        self.shared.syncer.close();
        if let Some(h) = t.syncer.take() {
            let _ = h.join();
        }
        let s = &self.shared;
        if s.failed.load(Ordering::Relaxed) {
            return; // the log stays, to be replayed at the next start
        }
        let result = s.db.persist(PersistMode::SyncAll).map_err(|e| e.to_string()).and_then(|()| {
            let all = s.wal.all();
            s.wal.remove(&all).map_err(|e| e.to_string())
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "final checkpoint failed; the log will be replayed at the next start");
        }
    }
}
