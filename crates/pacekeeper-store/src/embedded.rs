//! The embedded store: fjall on disk, a bounded in-memory cache, group commit.
//!
//! Each update runs under its shard's lock: read (cache, else disk), run the closure, write
//! the new value into fjall's journal buffer and memtable, all while holding the lock, so
//! updates of one member are serialised. In strict mode the caller then waits for the next
//! group commit: a committer thread drains every waiting update and makes them durable with
//! one `persist(SyncAll)` (one fsync). Whatever was written before a persist started is
//! covered by it, so an answer never leaves before its write is on disk.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use pacekeeper_engine::MemberState;
use tokio::sync::oneshot;

use crate::{Change, Store, StoreError};

const SHARDS: usize = 64;

/// One cache shard: member id to decoded state.
type Shard = Mutex<HashMap<Box<str>, MemberState>>;
/// Told when the group commit covering a write is durable (or why it failed).
type Waiter = oneshot::Sender<Result<(), String>>;

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
}

impl EmbeddedConfig {
    /// Strict durability, 100,000 cached members, a 16 MiB block cache.
    pub fn new(path: impl AsRef<Path>) -> EmbeddedConfig {
        EmbeddedConfig {
            path: path.as_ref().to_path_buf(),
            durability: Durability::Strict,
            cache_members: 100_000,
            block_cache_bytes: 16 << 20,
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
    /// Updates made durable by those commits.
    pub committed: AtomicU64,
    /// Total time spent in fsync, in microseconds.
    pub commit_micros: AtomicU64,
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
    commits: Mutex<Option<mpsc::Sender<Waiter>>>,
    failed: AtomicBool,
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
        let (tx, rx) = mpsc::channel();
        let inner = Arc::new(Inner {
            db,
            members,
            shards,
            hasher: RandomState::new(),
            per_shard,
            durability: config.durability,
            path: config.path,
            commits: Mutex::new(Some(tx)),
            failed: AtomicBool::new(false),
            stats: Arc::new(EmbeddedStats::default()),
            on_commit,
        });
        let weak = Arc::downgrade(&inner);
        let durability = config.durability;
        std::thread::Builder::new()
            .name("pacekeeper-commit".into())
            .spawn(move || committer(weak, rx, durability))
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

    fn check(&self) -> Result<(), StoreError> {
        if self.inner.failed.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable(
                "an earlier write to disk failed; restart the server after checking the disk".into(),
            ));
        }
        Ok(())
    }

    fn load(&self, member: &str) -> Result<MemberState, StoreError> {
        match self.inner.members.get(member.as_bytes()) {
            Ok(Some(bytes)) => {
                MemberState::decode(&bytes).map_err(|source| StoreError::Corrupt { member: member.to_string(), source })
            }
            Ok(None) => Ok(MemberState::default()),
            Err(e) => Err(StoreError::Unavailable(format!("read failed: {e}"))),
        }
    }

    /// Waits until everything written so far is durable.
    async fn commit(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        {
            let guard =
                self.inner.commits.lock().map_err(|_| StoreError::Unavailable("committer lock poisoned".into()))?;
            let sender = guard.as_ref().ok_or_else(|| StoreError::Unavailable("the store is shut down".into()))?;
            sender.send(tx).map_err(|_| StoreError::Unavailable("the committer has stopped".into()))?;
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Unavailable(e)),
            Err(_) => Err(StoreError::Unavailable("the committer has stopped".into())),
        }
    }
}

/// The group-commit loop: one fsync for every update waiting when it starts.
fn committer(
    inner: std::sync::Weak<Inner>,
    rx: mpsc::Receiver<oneshot::Sender<Result<(), String>>>,
    durability: Durability,
) {
    let tick = match durability {
        Durability::Strict => Duration::from_secs(3600),
        Durability::Relaxed { interval } => interval,
    };
    loop {
        let first = match rx.recv_timeout(tick) {
            Ok(w) => Some(w),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut waiters: Vec<_> = first.into_iter().collect();
        while let Ok(w) = rx.try_recv() {
            waiters.push(w);
        }
        let Some(inner) = inner.upgrade() else { return };
        let started = crate::embedded::clock::start();
        let result = inner.db.persist(PersistMode::SyncAll).map_err(|e| format!("fsync failed: {e}"));
        let took = crate::embedded::clock::elapsed(started);
        if result.is_err() {
            inner.failed.store(true, Ordering::Relaxed);
            tracing::error!(error = ?result, "group commit failed; the store now refuses writes");
        }
        let n = waiters.len();
        inner.stats.commits.fetch_add(1, Ordering::Relaxed);
        inner.stats.committed.fetch_add(n as u64, Ordering::Relaxed);
        inner.stats.commit_micros.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        if let Some(f) = &inner.on_commit {
            f(n, took);
        }
        for w in waiters {
            let _ = w.send(result.clone());
        }
    }
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
        let output = {
            // A std mutex, not a tokio one: nothing awaits while it is held, and the work
            // under it (a cache lookup, the engine, a buffered journal write) takes microseconds.
            let mut shard =
                self.shard(member).lock().map_err(|_| StoreError::Unavailable("cache lock poisoned".into()))?;
            let state = match shard.get_mut(member) {
                Some(s) => {
                    self.inner.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                    s
                }
                None => {
                    self.inner.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
                    let loaded = self.load(member)?;
                    if shard.len() >= self.inner.per_shard {
                        // Any entry may go: fjall already holds every cached value.
                        if let Some(k) = shard.keys().next().cloned() {
                            shard.remove(&k);
                        }
                    }
                    shard.entry(member.into()).or_insert(loaded)
                }
            };
            let mut next = state.clone();
            let change = f(&mut next);
            if !change.changed {
                return Ok(change.output);
            }
            let written = if next.is_empty() {
                self.inner.members.remove(member.as_bytes())
            } else {
                self.inner.members.insert(member.as_bytes(), next.encode())
            };
            written.map_err(|e| {
                self.inner.failed.store(true, Ordering::Relaxed);
                StoreError::Unavailable(format!("write failed: {e}"))
            })?;
            *state = next;
            change.output
        };
        if self.inner.durability == Durability::Strict {
            self.commit().await?;
        }
        Ok(output)
    }

    async fn read(&self, member: &str) -> Result<MemberState, StoreError> {
        self.check()?;
        let shard = self.shard(member).lock().map_err(|_| StoreError::Unavailable("cache lock poisoned".into()))?;
        if let Some(s) = shard.get(member) {
            self.inner.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(s.clone());
        }
        self.inner.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
        self.load(member)
    }

    async fn erase(&self, member: &str) -> Result<bool, StoreError> {
        self.check()?;
        let existed = {
            let mut shard =
                self.shard(member).lock().map_err(|_| StoreError::Unavailable("cache lock poisoned".into()))?;
            shard.remove(member);
            let existed = self
                .inner
                .members
                .get(member.as_bytes())
                .map_err(|e| StoreError::Unavailable(format!("read failed: {e}")))?
                .is_some();
            self.inner
                .members
                .remove(member.as_bytes())
                .map_err(|e| StoreError::Unavailable(format!("write failed: {e}")))?;
            existed
        };
        self.commit().await?;
        Ok(existed)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.commit().await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.check()
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
        // Last handle gone: make every write durable before the database closes.
        if let Err(e) = self.db.persist(PersistMode::SyncAll) {
            tracing::error!(error = %e, "final flush failed");
        }
    }
}
