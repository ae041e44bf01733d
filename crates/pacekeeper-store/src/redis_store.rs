//! The Redis store: one key per member on a single Redis server or a Redis Cluster, shared by
//! any number of server processes.
//!
//! A member's encoded state lives under `{prefix}{member}` wrapped in a hash tag
//! (`pk:{ada}`), so everything about a member stays on one cluster slot. An update reads the
//! value, runs the engine on it, and writes the result with a compare-and-set Lua script: the
//! script writes only if the value is still the one that was read, and otherwise hands back
//! the current value so the update reruns on it at once (no second read). Because the
//! engine's answer is a pure function of the state it ran on, comparing whole values is an
//! exact check: a write lands only on the state its decision was made from, whichever
//! process made it.
//!
//! An update that leaves the encoded state as Redis holds it (a denial that counts nothing)
//! writes nothing: when the value it ran on was a remembered one, it reads the key instead
//! to check that value is still current. A restricted member's denied attempts thus cost
//! reads, not writes to Redis's append-only file.
//!
//! Idle members expire: each write sets the key's TTL to how long the state still matters
//! (its longest open window, restriction or cooldown), as computed by the caller.
//!
//! Every call is bounded by the configured timeout, and the connection re-establishes
//! itself after Redis restarts or a cluster node moves.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pacekeeper_engine::MemberState;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, Script, Value};
use tokio::sync::oneshot;

use crate::{Change, ConfigError, PairChange, RestrictedPage, Store, StoreError};

#[path = "redis_index.rs"]
mod index;
#[path = "redis_pair.rs"]
mod pair;

/// Compare-and-set of one member's value.
/// KEYS[1]: the member's key. ARGV[1]: the value the update read ('' when absent).
/// ARGV[2]: the new value ('' deletes). ARGV[3]: TTL in milliseconds (0: none).
/// Returns 1 when written, else the current value ('' when absent) for the retry.
/// Every value ends with a write id unique to the write, so finding the new value already
/// in place means this very write landed before (the client re-sent the script after a
/// dropped connection): it answers 1 instead of a conflict that would apply the update twice.
const CAS: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then cur = '' end
if cur == ARGV[2] then return 1 end
if cur ~= ARGV[1] then return cur end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
elseif ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
";

/// How many times one update may lose the compare-and-set before it gives up (the timeout
/// usually ends it first).
const MAX_ATTEMPTS: u32 = 10_000;

/// Bytes of the write id that ends every stored value.
const WRITE_ID: usize = 16;

/// Write ids: a random per-process half and a counter, unique across processes in practice.
struct WriteIds {
    process: u64,
    counter: AtomicU64,
}

impl WriteIds {
    fn new() -> WriteIds {
        WriteIds { process: RandomState::new().hash_one(std::process::id()), counter: AtomicU64::new(0) }
    }

    fn next(&self) -> [u8; WRITE_ID] {
        let mut id = [0; WRITE_ID];
        id[..8].copy_from_slice(&self.process.to_le_bytes());
        id[8..].copy_from_slice(&self.counter.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        id
    }
}

/// Shards of the per-member update queues.
const QUEUE_SHARDS: usize = 64;

/// An update with its types erased: runs on a state, says whether it changed it (and for how
/// long the result matters), and keeps its own output for its caller.
type Job = Box<dyn FnMut(&mut MemberState) -> Result<(bool, Option<Duration>), StoreError> + Send>;

/// Members hashed here, with their waiting updates.
type QueueShard = Mutex<HashMap<Box<str>, Vec<Queued>>>;

/// Clears a member's queue if its leader stops before emptying it (an update panicked), so
/// the updates queued behind it fail at once and the next caller leads afresh.
struct Leading<'a> {
    shard: &'a QueueShard,
    member: &'a str,
    finished: bool,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(self.member);
        }
    }
}

/// A queued update and where to report that it is written.
struct Queued {
    job: Job,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://host:port` URLs: one server, or seeds of a cluster.
    pub urls: Vec<String>,
    /// Whether the URLs are Redis Cluster seeds.
    pub cluster: bool,
    /// Bound on every call to Redis (including the retries of one update).
    pub timeout: Duration,
    /// Prefix of every key.
    pub key_prefix: String,
    /// How many members' last written values this process remembers, to skip the read
    /// before a write (0: always read).
    pub cache_members: usize,
}

impl RedisConfig {
    /// One server at `url`, a 500 ms timeout, keys prefixed `pk:`, 100,000 remembered values.
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            urls: vec![url.into()],
            cluster: false,
            timeout: Duration::from_millis(500),
            key_prefix: "pk:".into(),
            cache_members: 100_000,
        }
    }
}

/// Counters the server exports as metrics.
#[derive(Debug, Default)]
struct RedisStats {
    writes: AtomicU64,
    conflicts: AtomicU64,
    errors: AtomicU64,
}

/// Member states on Redis or Redis Cluster. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    inner: Arc<Inner>,
}

struct Inner {
    /// Updates waiting per member. The first caller for a member leads: it applies every
    /// queued update in order to one read of the state and writes the result with one
    /// compare-and-set, then takes the next group. So a process has at most one write per
    /// member in flight (conflicts come only from other processes), and a hot member costs
    /// two round trips per group, not per request.
    queues: Box<[QueueShard]>,
    /// Two-subject updates of one organisation take turns in this process (sharded by the
    /// organisation's key): they would only lose compare-and-sets to each other.
    pair_turns: Box<[tokio::sync::Mutex<()>]>,
    hasher: RandomState,
    /// What this process last wrote per member (bounded).
    known: Known,
    write_ids: WriteIds,
    cas: Script,
    prefix: String,
    timeout: Duration,
    describe: String,
    stats: RedisStats,
}

/// A multiplexed connection to one server or to a cluster.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl RedisStore {
    /// Prepares the connection. It is made lazily and re-made after failures, so the store
    /// opens even while Redis is down (and reports not ready until it is back). Must be called
    /// inside a Tokio runtime.
    pub fn open(config: RedisConfig) -> Result<RedisStore, StoreError> {
        let bad = |e: RedisError| StoreError::Config(ConfigError::RedisClient(Arc::new(e)));
        for url in &config.urls {
            if let Err(e) = url.as_str().into_connection_info() {
                return Err(ConfigError::RedisUrl { url: redact(url), source: Arc::new(e) }.into());
            }
        }
        if config.urls.is_empty() {
            return Err(ConfigError::NoRedisUrl.into());
        }
        let t = config.timeout;
        let conn = if config.cluster {
            let client = ClusterClient::builder(config.urls.clone())
                .connection_timeout(t)
                .response_timeout(t)
                .retries(3)
                .min_retry_wait(10)
                .max_retry_wait(t.as_millis() as u64 / 4)
                .build()
                .map_err(bad)?;
            let cfg = ClusterConfig::new().set_connection_timeout(t).set_response_timeout(t);
            Conn::Cluster(client.get_pending_async_connection_with_config(cfg))
        } else {
            if config.urls.len() > 1 {
                return Err(ConfigError::SeveralRedisUrls.into());
            }
            let client = redis::Client::open(config.urls[0].as_str()).map_err(bad)?;
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(t))
                .set_response_timeout(Some(t))
                .set_number_of_retries(1)
                .set_min_delay(Duration::from_millis(10))
                .set_max_delay(t);
            Conn::Single(ConnectionManager::new_lazy_with_config(client, cfg).map_err(bad)?)
        };
        let describe = format!(
            "Redis {} at {} (keys `{}{{member}}`, timeout {} ms; durability is Redis's own: see its appendonly/appendfsync)",
            if config.cluster { "Cluster" } else { "server" },
            config.urls.iter().map(|u| redact(u)).collect::<Vec<_>>().join(", "),
            config.key_prefix,
            t.as_millis()
        );
        Ok(RedisStore {
            conn,
            inner: Arc::new(Inner {
                queues: (0..QUEUE_SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
                pair_turns: (0..QUEUE_SHARDS).map(|_| tokio::sync::Mutex::new(())).collect(),
                hasher: RandomState::new(),
                known: Known::new(config.cache_members),
                write_ids: WriteIds::new(),
                cas: Script::new(CAS),
                prefix: config.key_prefix,
                timeout: t,
                describe,
                stats: RedisStats::default(),
            }),
        })
    }

    /// The member's key: the prefix, then the member id as a hash tag.
    fn key(&self, member: &str) -> String {
        format!("{}{{{member}}}", self.inner.prefix)
    }

    /// Runs `call` under the store's timeout, mapping Redis errors.
    async fn bounded<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        let r = match tokio::time::timeout(self.inner.timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout(self.inner.timeout.as_millis() as u64)),
        };
        if r.as_ref().is_err_and(StoreError::is_transient) {
            self.inner.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    fn queue_shard(&self, member: &str) -> &QueueShard {
        &self.inner.queues[self.inner.hasher.hash_one(member) as usize % QUEUE_SHARDS]
    }

    /// Applies the member's queued updates group by group until its queue is empty.
    async fn lead(&self, member: &str) {
        let shard = self.queue_shard(member);
        let mut leading = Leading { shard, member, finished: false };
        loop {
            let group = {
                let mut q = shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                match q.get_mut(member) {
                    Some(waiting) if !waiting.is_empty() => std::mem::take(waiting),
                    _ => {
                        q.remove(member);
                        leading.finished = true;
                        return;
                    }
                }
            };
            let (mut jobs, dones): (Vec<Job>, Vec<_>) = group.into_iter().map(|q| (q.job, q.done)).unzip();
            let result = self.bounded(self.write_group(member, &mut jobs)).await;
            for done in dones {
                let _ = done.send(result.clone());
            }
        }
    }

    /// Reads the member, runs `jobs` in order on the state (each on what the previous left,
    /// an unchanged job's edits undone), and writes the result by compare-and-set, rerunning
    /// the whole group on the current value after a conflict.
    ///
    /// The value this process last wrote for the member stands in for the read: when another
    /// process wrote since, the compare-and-set fails and hands back the current value, so a
    /// stale copy costs one extra round trip and never a wrong count. An answer that writes
    /// nothing (a dry run, or an update that leaves the encoded state as stored, such as a
    /// denial that counts nothing) is not checked by a compare-and-set, so it is re-read
    /// first: a read instead of a write, which Redis need not append to its log.
    async fn write_group(&self, member: &str, jobs: &mut [Job]) -> Result<(), StoreError> {
        let r = self.write_group_once(member, jobs).await;
        if r.is_err() {
            self.inner.known.forget(member);
        }
        r
    }

    async fn write_group_once(&self, member: &str, jobs: &mut [Job]) -> Result<(), StoreError> {
        let key = self.key(member);
        let (mut current, mut fresh) = match self.inner.known.get(member) {
            Some(bytes) => (bytes, false),
            None => (self.get(&key).await?, true),
        };
        let mut conn = self.conn.clone();
        for _ in 0..MAX_ATTEMPTS {
            let mut state = decode(member, &current)?;
            let restricted_before = state.restricted_until();
            let mut changed = false;
            let mut ttl = None;
            for job in jobs.iter_mut() {
                let before = state.clone();
                match job(&mut state)? {
                    (true, t) => {
                        changed = true;
                        ttl = t;
                    }
                    (false, _) => state = before,
                }
            }
            let encoded = if changed && !state.is_empty() { state.encode() } else { Vec::new() };
            if !changed || encoded == stored_state(&current) {
                // Nothing to write (a dry run, or a denial that counts nothing): the answer
                // rests on `current`, which must be what Redis holds.
                if fresh {
                    return Ok(());
                }
                let now = self.get(&key).await?;
                fresh = true;
                if now == current {
                    return Ok(());
                }
                current = now;
                continue;
            }
            let mut next = encoded;
            if !next.is_empty() {
                next.extend_from_slice(&self.inner.write_ids.next());
            }
            match self.compare_and_set(&mut conn, &key, &current, &next, ttl).await? {
                Value::Int(_) => {
                    self.inner.stats.writes.fetch_add(1, Ordering::Relaxed);
                    self.inner.known.put(member, next);
                    let restricted_after = state.restricted_until();
                    if crate::index_moves(member, restricted_before, restricted_after) {
                        self.set_restricted(member, restricted_after).await?;
                    }
                    return Ok(());
                }
                Value::BulkString(now) => {
                    self.inner.stats.conflicts.fetch_add(1, Ordering::Relaxed);
                    current = now;
                    fresh = true;
                }
                other => {
                    return Err(StoreError::Protocol(format!("{other:?}")));
                }
            }
        }
        Err(StoreError::Contended { member: member.to_string(), attempts: MAX_ATTEMPTS })
    }

    /// Runs the compare-and-set script: writes `next` (empty: delete) at `key` if it still
    /// holds `current`; answers 1, or the value it holds instead.
    async fn compare_and_set(
        &self,
        conn: &mut Conn,
        key: &str,
        current: &[u8],
        next: &[u8],
        ttl: Option<Duration>,
    ) -> Result<Value, StoreError> {
        let ttl = ttl.map_or(0, |t| t.as_millis().max(1) as u64);
        let call = self.inner.cas.key(key).arg(current).arg(next).arg(ttl).invoke_async(conn).await;
        call.map_err(|e| self.redis_error(e))
    }

    /// A Redis error as the store reports it: a timeout as [`StoreError::Timeout`].
    fn redis_error(&self, e: RedisError) -> StoreError {
        if e.is_timeout() { StoreError::Timeout(self.inner.timeout.as_millis() as u64) } else { StoreError::redis(e) }
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let mut conn = self.conn.clone();
        let v: Option<Vec<u8>> =
            redis::cmd("GET").arg(key).query_async(&mut conn).await.map_err(|e| self.redis_error(e))?;
        Ok(v.unwrap_or_default())
    }
}

/// Member id to the value last written for it.
type KnownShard = HashMap<Box<str>, Vec<u8>>;

/// Members' last written values, sharded, at most `per_shard` in each shard (an arbitrary
/// one makes room). A hint only: every write is checked by compare-and-set.
struct Known {
    shards: Box<[Mutex<KnownShard>]>,
    hasher: RandomState,
    per_shard: usize,
}

impl Known {
    fn new(members: usize) -> Known {
        Known {
            shards: (0..QUEUE_SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            per_shard: members.div_ceil(QUEUE_SHARDS),
        }
    }

    fn shard(&self, member: &str) -> Option<std::sync::MutexGuard<'_, KnownShard>> {
        self.shards[self.hasher.hash_one(member) as usize % QUEUE_SHARDS].lock().ok()
    }

    fn get(&self, member: &str) -> Option<Vec<u8>> {
        self.shard(member)?.get(member).cloned()
    }

    fn put(&self, member: &str, value: Vec<u8>) {
        if self.per_shard == 0 {
            return;
        }
        if let Some(mut m) = self.shard(member) {
            if let Some(v) = m.get_mut(member) {
                *v = value;
                return;
            }
            if m.len() >= self.per_shard {
                let victim = m.keys().next().cloned();
                if let Some(k) = victim {
                    m.remove(&k);
                }
            }
            m.insert(member.into(), value);
        }
    }

    fn forget(&self, member: &str) {
        if let Some(mut m) = self.shard(member) {
            m.remove(member);
        }
    }
}

/// A URL without its password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// A stored value (the encoded state, then its [`WRITE_ID`]-byte write id) without its write
/// id: the encoded state (empty for none).
fn stored_state(bytes: &[u8]) -> &[u8] {
    bytes.len().checked_sub(WRITE_ID).map_or(&[][..], |n| &bytes[..n])
}

fn decode(member: &str, bytes: &[u8]) -> Result<MemberState, StoreError> {
    if bytes.is_empty() {
        return Ok(MemberState::default());
    }
    MemberState::decode(stored_state(bytes))
        .map_err(|source| StoreError::Corrupt { member: member.to_string(), source })
}

impl Store for RedisStore {
    async fn update<R, F>(&self, member: &str, mut f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState) -> Change<R> + Send + 'static,
    {
        let out: Arc<Mutex<Option<R>>> = Arc::new(Mutex::new(None));
        let slot = out.clone();
        let cancelled = Arc::new(AtomicBool::new(false));
        let given_up = cancelled.clone();
        let job: Job = Box::new(move |st| {
            if given_up.load(Ordering::Acquire) {
                // Its caller timed out and was answered: apply nothing.
                return Ok((false, None));
            }
            let c = f(st);
            *slot.lock().map_err(|_| StoreError::Internal("the update output lock is poisoned"))? = Some(c.output);
            Ok((c.changed, c.ttl))
        });
        let (done, written) = oneshot::channel();
        let shard = self.queue_shard(member);
        let lead = {
            let mut q = shard.lock().map_err(|_| StoreError::Internal("the update queue lock is poisoned"))?;
            match q.get_mut(member) {
                Some(waiting) => {
                    waiting.push(Queued { job, done });
                    false
                }
                None => {
                    q.insert(member.into(), vec![Queued { job, done }]);
                    true
                }
            }
        };
        if lead {
            // The leader runs on its own task: if this caller's future is dropped (its client
            // went away), the updates queued behind it still get written and answered.
            let (store, member) = (self.clone(), Box::<str>::from(member));
            tokio::spawn(async move { store.lead(&member).await });
        }
        let timeout = StoreError::Timeout(self.inner.timeout.as_millis() as u64);
        // A leader's Redis calls are bounded; this bounds a follower's wait: the group in
        // flight, then its own, with a margin.
        match tokio::time::timeout(self.inner.timeout * 2 + Duration::from_millis(50), written).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return Err(e),
            Ok(Err(_)) => return Err(StoreError::Internal("the update was dropped (it panicked)")),
            Err(_) => {
                // Not yet run: it never will be. Already in a write in flight: it may land,
                // as any call that times out may.
                cancelled.store(true, Ordering::Release);
                return Err(timeout);
            }
        }
        let output = out.lock().ok().and_then(|mut o| o.take());
        output.ok_or_else(|| StoreError::Internal("the update produced no output"))
    }

    async fn update_pair<R, F>(&self, member: &str, org: &str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState, &mut MemberState) -> PairChange<R> + Send + 'static,
    {
        self.update_both(member, org, f).await
    }

    fn atomic_pairs(&self) -> bool {
        false
    }

    async fn read(&self, member: &str) -> Result<MemberState, StoreError> {
        let key = self.key(member);
        self.bounded(async { decode(member, &self.get(&key).await?) }).await
    }

    async fn erase(&self, member: &str) -> Result<bool, StoreError> {
        let key = self.key(member);
        self.inner.known.forget(member);
        self.bounded(async {
            let mut conn = self.conn.clone();
            let n: i64 = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.map_err(|e| self.redis_error(e))?;
            self.set_restricted(member, None).await?;
            Ok(n > 0)
        })
        .await
    }

    async fn restricted(&self, now: i64, first: usize) -> Result<RestrictedPage, StoreError> {
        self.bounded(self.restricted_page(now, first)).await
    }

    async fn append_audit(&self, _at: i64, record: Vec<u8>) -> Result<(), StoreError> {
        self.bounded(self.push_audit(record)).await
    }

    async fn audit(&self, count: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        self.bounded(self.newest_audit(count)).await
    }

    /// Every write was acknowledged by Redis before its answer left; nothing is buffered here.
    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.bounded(async {
            let mut conn = self.conn.clone();
            let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(|e| self.redis_error(e))?;
            Ok(())
        })
        .await
    }

    fn describe(&self) -> String {
        self.inner.describe.clone()
    }

    fn tracks_expiry(&self) -> bool {
        true
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let s = &self.inner.stats;
        vec![
            ("pacekeeper_redis_writes_total", s.writes.load(Ordering::Relaxed)),
            ("pacekeeper_redis_conflicts_total", s.conflicts.load(Ordering::Relaxed)),
            ("pacekeeper_redis_errors_total", s.errors.load(Ordering::Relaxed)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn cas(conn: &mut redis::aio::MultiplexedConnection, expected: &[u8], new: &[u8]) -> Value {
        Script::new(CAS).key("pk:{ada}").arg(expected).arg(new).arg(0).invoke_async(conn).await.unwrap()
    }

    #[tokio::test]
    async fn the_compare_and_set_script_writes_once_refuses_stale_reads_and_accepts_its_own_resend() {
        let server = pacekeeper_testkit::RedisServer::start();
        let mut conn = redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
        assert_eq!(cas(&mut conn, b"", b"v1-id1").await, Value::Int(1), "absent, as read: written");
        assert_eq!(
            cas(&mut conn, b"", b"v1-id1").await,
            Value::Int(1),
            "the same write re-sent after it landed: success, not a conflict that would apply it twice"
        );
        assert_eq!(
            cas(&mut conn, b"", b"v2-id2").await,
            Value::BulkString(b"v1-id1".to_vec()),
            "another write read a stale value: refused, with the current value"
        );
        assert_eq!(cas(&mut conn, b"v1-id1", b"v2-id2").await, Value::Int(1));
        let stored: Vec<u8> = redis::cmd("GET").arg("pk:{ada}").query_async(&mut conn).await.unwrap();
        assert_eq!(stored, b"v2-id2");
    }
}
