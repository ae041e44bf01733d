//! The embedded store: fjall on disk, a bounded in-memory cache, group commit.
//!
//! Each update runs under its shard's lock: read (cache, else disk), run the closure, and
//! hand the encoded value to the committer thread, all while holding the lock, so updates of
//! one member are serialised and reach the committer in order. The committer owns every write
//! to fjall: it drains all queued writes, applies them as one write batch, makes them durable
//! with one `persist(SyncAll)` (one fsync), then releases every waiting answer (strict mode).
//! Request threads never touch fjall's journal, so they never stall behind an fsync; while
//! one group commit syncs, the next one fills up.
//!
//! A cached entry whose write is not durable yet is never evicted (each entry carries the
//! sequence number of its last write; the committer publishes how far it has written and
//! how far it has synced), so a cache miss always reads the latest value from fjall, and that
//! value is durable.
//!
//! A strict answer waits at most `commit_timeout` for its group commit. A disk that stalls
//! (an fsync that does not return) turns into 503s within that time rather than requests
//! that hang, and the store reports itself not ready until a group commit completes again.
//! The write itself stays queued and may still land, as any write that times out may.
//!
//! An update whose encoded value equals the stored one writes nothing: a denial that counts
//! nothing costs no write and no fsync. In strict mode its answer still waits until the
//! member's last write is durable, if it is not yet, since the answer rests on it.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use pacekeeper_engine::MemberState;
use tokio::sync::oneshot;

use crate::{Change, Store, StoreError};

const SHARDS: usize = 64;

/// One cache shard: member id to its encoded state. Encoded, not decoded: about 100 bytes a
/// member instead of about a kilobyte of small vectors, for one decode per update.
type Shard = Mutex<HashMap<Box<str>, Entry>>;
/// Told when the group commit covering a write is durable (or why it failed).
type Waiter = oneshot::Sender<Result<(), String>>;

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

/// Writes queued beyond this wake the committer even in relaxed mode (bounds the queue).
const MAX_QUEUED: usize = 4096;

/// Shortest time from the start of one group commit to the start of the next while answers
/// wait. Under load fsyncs run back to back and each costs the same CPU however many writes
/// it carries (about 0.1 ms of kernel time on a virtual disk), so letting the next group
/// gather until this long after the previous one began cuts fsyncs per answer at a bounded
/// cost in latency. When the last group commit is older, a waiting answer starts one at once.
const GATHER: Duration = Duration::from_millis(1);

/// Writes enough to start a group commit without waiting out [`GATHER`].
const GATHER_MAX: usize = 128;

/// Work for the committer.
enum Job {
    /// Store (`Some`) or delete (`None`) a member's encoded state.
    Write { key: Box<[u8]>, value: Option<Vec<u8>>, seq: u64, waiter: Option<Waiter> },
    /// Tell the waiter once everything queued so far is durable.
    Flush(Waiter),
}

impl Job {
    /// Somebody waits on this job: the committer must not wait for its interval.
    fn urgent(&self) -> bool {
        matches!(self, Job::Flush(_) | Job::Write { waiter: Some(_), .. })
    }
}

/// The committer's inbox. Producers wake the committer only when it sleeps and the work is
/// urgent (a strict-mode answer or a flush waits on it) or the queue is long; otherwise the
/// committer picks the work up when it is next awake. Under load it is always awake (syncing
/// the previous group while the next fills), so a write costs a push, not a thread switch.
struct Inbox {
    queue: Mutex<Queue>,
    wake: Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// The committer is asleep on `wake`.
    idle: bool,
    /// A queued job has a waiter.
    urgent: bool,
    /// The committer sleeps to let a group gather (see [`GATHER`]).
    gathering: bool,
    /// The store is gone: no more jobs are accepted.
    closed: bool,
    /// The sequence number given to the last queued job.
    last_seq: u64,
}

impl Inbox {
    /// Queues a job and returns its sequence number. Numbers are given out under the queue's
    /// lock, so the queue holds writes in sequence order and "written up to N" means every
    /// write numbered N or less.
    fn push(&self, mut job: Job) -> Result<u64, StoreError> {
        let mut q = self.queue.lock().map_err(|_| StoreError::Unavailable("committer queue poisoned".into()))?;
        if q.closed {
            return Err(StoreError::Unavailable("the store is shut down".into()));
        }
        q.last_seq += 1;
        let seq = q.last_seq;
        if let Job::Write { seq: s, .. } = &mut job {
            *s = seq;
        }
        q.urgent |= job.urgent();
        q.jobs.push(job);
        let full = q.jobs.len() >= MAX_QUEUED || (q.gathering && q.jobs.len() >= GATHER_MAX);
        if q.idle && (full || (q.urgent && !q.gathering)) {
            q.idle = false;
            self.wake.notify_one();
        }
        Ok(seq)
    }

    /// Swaps every queued job into `into` (which must be empty).
    fn take(&self, into: &mut Vec<Job>) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut q.jobs, into);
        q.urgent = false;
    }

    fn close(&self) {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        self.wake.notify_one();
    }
}

/// When an answer may leave relative to its write reaching the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// An answer leaves only after the group commit holding its write is fsynced.
    Strict,
    /// Answers leave at once; writes are fsynced every `interval`. A crash loses at most the
    /// last interval of answered decisions.
    Relaxed {
        /// Between two flushes.
        interval: Duration,
    },
}

/// How to open an [`EmbeddedStore`].
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// The data directory (created if missing).
    pub path: PathBuf,
    /// Strict (default) or relaxed.
    pub durability: Durability,
    /// How many member states the in-memory cache holds at most.
    pub cache_members: usize,
    /// fjall's block cache, in bytes.
    pub block_cache_bytes: u64,
    /// How long a strict answer waits for its group commit before it fails with
    /// [`StoreError::Timeout`].
    pub commit_timeout: Duration,
}

impl EmbeddedConfig {
    /// Strict durability, 100,000 cached members, a 16 MiB block cache, a 5-second commit
    /// timeout.
    pub fn new(path: impl AsRef<Path>) -> EmbeddedConfig {
        EmbeddedConfig {
            path: path.as_ref().to_path_buf(),
            durability: Durability::Strict,
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
    /// Group commits done.
    pub commits: AtomicU64,
}

/// Member states in fjall, with a bounded cache and group commit. Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    members: Keyspace,
    shards: Box<[Shard]>,
    hasher: RandomState,
    per_shard: usize,
    durability: Durability,
    path: PathBuf,
    inbox: Arc<Inbox>,
    /// Every write up to this sequence number is in fjall (its memtable and journal).
    written: Arc<AtomicU64>,
    /// Every write up to this sequence number is durable (fsynced). Only entries at or below
    /// it are evicted, so a value read back from fjall on a cache miss is always durable.
    durable: AtomicU64,
    failed: AtomicBool,
    /// A strict answer gave up waiting for its group commit, and no group commit has
    /// completed since: the disk may be stalled.
    stalled: AtomicBool,
    commit_timeout: Duration,
    stats: Arc<EmbeddedStats>,
    /// Observes each group commit: (updates in it, fsync time).
    on_commit: Option<Arc<dyn Fn(usize, Duration) + Send + Sync>>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store and starts its committer thread.
    pub fn open(config: EmbeddedConfig) -> Result<EmbeddedStore, StoreError> {
        Self::open_observed(config, None)
    }

    /// Like [`EmbeddedStore::open`], calling `on_commit(updates, fsync time)` after each group
    /// commit (for metrics).
    pub fn open_observed(
        config: EmbeddedConfig,
        on_commit: Option<Arc<dyn Fn(usize, Duration) + Send + Sync>>,
    ) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(&config.path)
            .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", config.path.display())))?;
        let db = Database::builder(&config.path)
            .cache_size(config.block_cache_bytes)
            // Inserts stay in the journal's buffer; the committer flushes and fsyncs them.
            .manual_journal_persist(true)
            .open()
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", config.path.display())))?;
        let members = db
            .keyspace("members", || KeyspaceCreateOptions::default().max_memtable_size(16 << 20))
            .map_err(|e| StoreError::Unavailable(format!("cannot open the members keyspace: {e}")))?;
        let per_shard = config.cache_members.div_ceil(SHARDS).max(1);
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect();
        let inbox = Arc::new(Inbox { queue: Mutex::new(Queue::default()), wake: Condvar::new() });
        let inner = Arc::new(Inner {
            db,
            members,
            shards,
            hasher: RandomState::new(),
            per_shard,
            durability: config.durability,
            path: config.path,
            inbox: inbox.clone(),
            written: Arc::new(AtomicU64::new(0)),
            durable: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            stalled: AtomicBool::new(false),
            commit_timeout: config.commit_timeout,
            stats: Arc::new(EmbeddedStats::default()),
            on_commit,
        });
        let weak = Arc::downgrade(&inner);
        let durability = config.durability;
        std::thread::Builder::new()
            .name("pacekeeper-commit".into())
            .spawn(move || committer(weak, &inbox, durability))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the committer: {e}")))?;
        Ok(EmbeddedStore { inner })
    }

    /// Cache and commit counters.
    pub fn stats(&self) -> Arc<EmbeddedStats> {
        self.inner.stats.clone()
    }

    /// Members currently in the cache.
    pub fn cached(&self) -> usize {
        self.inner.shards.iter().map(|s| s.lock().map_or(0, |m| m.len())).sum()
    }

    fn shard(&self, member: &str) -> &Shard {
        let h = self.inner.hasher.hash_one(member) as usize;
        &self.inner.shards[h % SHARDS]
    }

    /// Evicts one entry whose writes are all durable, if the shard is full. Entries still
    /// being written stay: the shard may briefly exceed its share while they drain.
    fn make_room(&self, shard: &mut HashMap<Box<str>, Entry>) {
        if shard.len() < self.inner.per_shard {
            return;
        }
        let durable = self.inner.durable.load(Ordering::Acquire);
        let victim = shard.iter().take(8).find(|(_, e)| e.seq <= durable).map(|(k, _)| k.clone());
        if let Some(k) = victim {
            shard.remove(&k);
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.inner.failed.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable(
                "an earlier write to disk failed; restart the server after checking the disk".into(),
            ));
        }
        Ok(())
    }

    /// Waits for what a strict answer rests on, at most the commit timeout.
    async fn wait(&self, rx: Option<Pending>) -> Result<(), StoreError> {
        let Some(rx) = rx else { return Ok(()) };
        match tokio::time::timeout(self.inner.commit_timeout, rx).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(StoreError::Unavailable(e)),
            Ok(Err(_)) => Err(StoreError::Unavailable("the committer has stopped".into())),
            Err(_) => {
                // Logged once per stall, not once per answer that gives up.
                if !self.inner.stalled.swap(true, Ordering::Relaxed) {
                    tracing::error!(
                        timeout_ms = self.inner.commit_timeout.as_millis() as u64,
                        "a group commit did not complete in time; the disk may be stalled"
                    );
                }
                Err(StoreError::Timeout(self.inner.commit_timeout.as_millis() as u64))
            }
        }
    }

    /// The member's encoded state on disk (empty when none).
    fn load(&self, member: &str) -> Result<Box<[u8]>, StoreError> {
        match self.inner.members.get(member.as_bytes()) {
            Ok(Some(bytes)) => Ok(Box::from(&bytes[..])),
            Ok(None) => Ok(Box::default()),
            Err(e) => Err(StoreError::Unavailable(format!("read failed: {e}"))),
        }
    }

    fn send(&self, job: Job) -> Result<u64, StoreError> {
        self.inner.inbox.push(job)
    }

    /// Queues a member's new value (under its shard lock, so per-member order holds) and
    /// returns its sequence number and what to wait on in strict mode.
    fn queue(&self, member: &str, value: Option<Vec<u8>>) -> Result<(u64, Option<Pending>), StoreError> {
        let (waiter, rx) = match self.inner.durability {
            Durability::Strict => {
                let (tx, rx) = oneshot::channel();
                (Some(tx), Some(rx))
            }
            Durability::Relaxed { .. } => (None, None),
        };
        let seq = self.send(Job::Write { key: member.as_bytes().into(), value, seq: 0, waiter })?;
        Ok((seq, rx))
    }

    /// In strict mode, what an answer resting on the write numbered `seq` (without a write of
    /// its own) waits on: nothing once that write is durable, else a flush.
    fn rest_on(&self, seq: u64) -> Result<Option<Pending>, StoreError> {
        if !matches!(self.inner.durability, Durability::Strict) || seq <= self.inner.durable.load(Ordering::Acquire) {
            return Ok(None);
        }
        self.flush_queued().map(Some)
    }

    /// Queues a flush: told once everything queued before it is durable.
    fn flush_queued(&self) -> Result<Pending, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Flush(tx))?;
        Ok(rx)
    }

    /// Waits until everything queued so far is durable.
    async fn commit(&self) -> Result<(), StoreError> {
        self.wait(Some(self.flush_queued()?)).await
    }
}

/// What a strict-mode answer waits on.
type Pending = oneshot::Receiver<Result<(), String>>;

/// Ends the committer. Stopped by the store (closed, or dropped), it leaves the queue to the
/// store's drop, which writes it. Stopped any other way (a panic, a poisoned lock), it
/// refuses new work, fails every waiting answer and marks the store failed, so nothing
/// waits forever on a committer that is gone.
struct Stopped<'a> {
    inbox: &'a Inbox,
    inner: &'a std::sync::Weak<Inner>,
    normally: bool,
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if self.normally {
            return;
        }
        tracing::error!("the committer stopped unexpectedly; the store now refuses requests");
        if let Some(inner) = self.inner.upgrade() {
            inner.failed.store(true, Ordering::Relaxed);
        }
        self.inbox.close();
        let mut jobs = Vec::new();
        self.inbox.take(&mut jobs);
        for job in jobs {
            let waiter = match job {
                Job::Write { waiter, .. } => waiter,
                Job::Flush(w) => Some(w),
            };
            if let Some(w) = waiter {
                let _ = w.send(Err("the committer stopped; restart the server".into()));
            }
        }
    }
}

/// The group-commit loop: every queued write in one batch and one fsync.
fn committer(inner: std::sync::Weak<Inner>, inbox: &Inbox, durability: Durability) {
    let tick = match durability {
        Durability::Strict => Duration::from_secs(3600),
        Durability::Relaxed { interval } => interval,
    };
    let mut unsynced = false;
    let mut last_sync = clock::start();
    let mut jobs: Vec<Job> = Vec::new();
    let mut stopped = Stopped { inbox, inner: &inner, normally: false };
    loop {
        {
            let Ok(mut q) = inbox.queue.lock() else { return };
            loop {
                if q.closed {
                    stopped.normally = true;
                    return;
                }
                q.gathering = false;
                let since = clock::elapsed(last_sync);
                let due = since >= tick;
                if q.jobs.len() >= MAX_QUEUED || (due && (unsynced || !q.jobs.is_empty())) {
                    break;
                }
                let wait = if q.urgent {
                    if since >= GATHER || q.jobs.len() >= GATHER_MAX {
                        break;
                    }
                    q.gathering = true;
                    GATHER - since
                } else {
                    if due {
                        // Nothing to sync: a new interval starts.
                        last_sync = clock::start();
                    }
                    tick.saturating_sub(clock::elapsed(last_sync)).max(Duration::from_millis(1))
                };
                q.idle = true;
                q = match inbox.wake.wait_timeout(q, wait) {
                    Ok((q, _)) => q,
                    Err(_) => return,
                };
                q.idle = false;
            }
        }
        // Upgrade before taking: if the store is gone, its drop writes what is queued.
        let Some(inner) = inner.upgrade() else {
            stopped.normally = true;
            return;
        };
        inbox.take(&mut jobs);
        let (writes, mut result, waiters) = write_batch(&inner, jobs.drain(..));
        unsynced |= result.is_ok() && writes > 0;
        // Strict: sync whenever someone waits. Relaxed: once per interval, and when asked.
        let sync = !waiters.is_empty() || clock::elapsed(last_sync) >= tick;
        if result.is_ok() && sync && unsynced {
            last_sync = clock::start();
            result = inner.db.persist(PersistMode::SyncAll).map_err(|e| format!("fsync failed: {e}"));
            let took = clock::elapsed(last_sync);
            unsynced = false;
            if result.is_ok() {
                // This thread alone advances `written`, so the sync covered everything up to it.
                inner.durable.fetch_max(inner.written.load(Ordering::Acquire), Ordering::Release);
                inner.stalled.store(false, Ordering::Relaxed);
            }
            inner.stats.commits.fetch_add(1, Ordering::Relaxed);
            if let Some(f) = &inner.on_commit {
                f(writes, took);
            }
        }
        if result.is_err() {
            inner.failed.store(true, Ordering::Relaxed);
            tracing::error!(error = ?result, "group commit failed; the store now refuses requests");
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }
}

/// Applies queued jobs to fjall as one write batch (no fsync): returns how many writes, the
/// outcome, and the waiters to release after the sync.
fn write_batch(inner: &Inner, jobs: impl Iterator<Item = Job>) -> (usize, Result<(), String>, Vec<Waiter>) {
    let mut batch = inner.db.batch();
    let mut waiters = Vec::new();
    let mut top = 0;
    let mut writes = 0;
    for job in jobs {
        match job {
            Job::Write { key, value, seq, waiter } => {
                match value {
                    Some(v) => batch.insert(&inner.members, &key[..], v),
                    None => batch.remove(&inner.members, &key[..]),
                }
                top = top.max(seq);
                writes += 1;
                waiters.extend(waiter);
            }
            Job::Flush(w) => waiters.push(w),
        }
    }
    let mut result = Ok(());
    if writes > 0 {
        result = batch.commit().map_err(|e| format!("write failed: {e}"));
        if result.is_ok() {
            inner.written.fetch_max(top, Ordering::Release);
        }
    }
    (writes, result, waiters)
}

/// Durations for metrics. Not decision logic: the engine never sees these instants.
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
            if shard.contains_key(member) {
                self.inner.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            } else {
                self.inner.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
                let loaded = self.load(member)?;
                self.make_room(&mut shard);
                shard.insert(member.into(), Entry { bytes: loaded, seq: 0 });
            }
            let Some(entry) = shard.get_mut(member) else {
                return Err(StoreError::Unavailable("cache entry vanished".into()));
            };
            let mut next = entry.state(member)?;
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
                let (seq, pending) = self.queue(member, value)?;
                *entry = Entry { bytes, seq };
                (change.output, pending)
            }
        };
        self.wait(pending).await?;
        Ok(output)
    }

    async fn read(&self, member: &str) -> Result<MemberState, StoreError> {
        self.check()?;
        let shard = self.shard(member).lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = shard.get(member) {
            self.inner.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            return e.state(member);
        }
        self.inner.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
        Entry { bytes: self.load(member)?, seq: 0 }.state(member)
    }

    async fn erase(&self, member: &str) -> Result<bool, StoreError> {
        self.check()?;
        let (existed, pending) = {
            let mut shard = self.shard(member).lock().unwrap_or_else(PoisonError::into_inner);
            let existed = match shard.get(member) {
                Some(e) => !e.bytes.is_empty(),
                None => self
                    .inner
                    .members
                    .get(member.as_bytes())
                    .map_err(|e| StoreError::Unavailable(format!("read failed: {e}")))?
                    .is_some(),
            };
            let (seq, pending) = self.queue(member, None)?;
            // An empty entry, kept until the delete is written: an update meanwhile must see
            // the member gone, not read the old value back from disk.
            if !shard.contains_key(member) {
                self.make_room(&mut shard);
            }
            shard.insert(member.into(), Entry { bytes: Box::default(), seq });
            (existed, pending)
        };
        // Erase is an admin action: always wait for durability, whatever the mode. In strict
        // mode the delete's own waiter is released by the fsync covering it; in relaxed mode
        // a flush stands in for it.
        match pending {
            Some(_) => self.wait(pending).await?,
            None => self.commit().await?,
        }
        Ok(existed)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.commit().await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.check()?;
        if self.inner.stalled.load(Ordering::Relaxed) {
            // A strict answer gave up on its group commit: ready again once one completes in
            // time.
            self.commit().await.map_err(|_| {
                StoreError::Unavailable(format!(
                    "group commits take longer than {} ms; check the disk",
                    self.inner.commit_timeout.as_millis()
                ))
            })?;
            self.inner.stalled.store(false, Ordering::Relaxed);
        }
        Ok(())
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let s = &self.inner.stats;
        vec![
            ("pacekeeper_cache_hits_total", s.cache_hits.load(Ordering::Relaxed)),
            ("pacekeeper_cache_misses_total", s.cache_misses.load(Ordering::Relaxed)),
            ("pacekeeper_store_commits_total", s.commits.load(Ordering::Relaxed)),
        ]
    }

    fn describe(&self) -> String {
        let durability = match self.inner.durability {
            Durability::Strict => "strict (each answer waits for its group commit's fsync)".to_string(),
            Durability::Relaxed { interval } => {
                format!(
                    "relaxed (fsync every {} ms: a crash may lose that much of answered decisions)",
                    interval.as_millis()
                )
            }
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
        // Last handle gone: stop the committer, write what it has not, and make every write
        // durable before the database closes.
        self.inbox.close();
        let mut jobs = Vec::new();
        self.inbox.take(&mut jobs);
        let (_, mut result, waiters) = write_batch(self, jobs.into_iter());
        if result.is_ok() {
            result = self.db.persist(PersistMode::SyncAll).map_err(|e| format!("fsync failed: {e}"));
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, "final flush failed");
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }
}
