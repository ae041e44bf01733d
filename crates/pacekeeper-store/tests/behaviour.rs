//! The behaviour every store must show, written once and stamped onto each backend.

use std::sync::Arc;

use jiff::Timestamp;
use pacekeeper_engine::{
    DecideRequest, MemberState, Policy, decide, decide_with_organisation, lift, member_view, organisation_view,
};
use pacekeeper_store::{
    Change, Durability, EmbeddedConfig, EmbeddedStore, PairChange, RedisConfig, RedisStore, Restricted, RestrictedPage,
    Store, organisation_key,
};
use pacekeeper_testkit::{RedisCluster, RedisServer};

fn now() -> Timestamp {
    "2026-11-23T09:00:00Z".parse().unwrap()
}

fn view(member: &str) -> DecideRequest {
    DecideRequest { member: member.into(), action: "profile_view".into(), ..Default::default() }
}

/// Decides `req` through the store the way the server does.
async fn decide_via<S: Store>(store: &S, policy: &Arc<Policy>, req: DecideRequest) -> bool {
    let policy = policy.clone();
    let member = req.member.clone();
    store
        .update(&member, move |st| {
            let d = decide(&policy, st, &req, now()).unwrap();
            let changed = !d.dry_run && !d.duplicate;
            Change::new(d.allowed, changed)
        })
        .await
        .unwrap()
}

async fn used<S: Store>(store: &S, policy: &Policy, member: &str) -> u64 {
    let st = store.read(member).await.unwrap();
    member_view(policy, &st, now()).limits.iter().find(|l| &*l.name == "daily_profile_views").unwrap().used
}

async fn an_update_is_read_back<S: Store>(store: S) {
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    assert_eq!(store.read("ada").await.unwrap(), MemberState::default(), "a member never seen has the default state");
    assert!(decide_via(&store, &policy, view("ada")).await);
    assert!(decide_via(&store, &policy, view("ada")).await);
    assert_eq!(used(&store, &policy, "ada").await, 2);
    assert_eq!(used(&store, &policy, "bob").await, 0, "members are apart");
}

async fn an_unchanged_update_writes_nothing<S: Store>(store: S) {
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    let dry = DecideRequest { dry_run: true, ..view("ada") };
    assert!(decide_via(&store, &policy, dry).await);
    assert_eq!(store.read("ada").await.unwrap(), MemberState::default());
}

async fn erase_forgets_a_member<S: Store>(store: S) {
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    decide_via(&store, &policy, view("ada")).await;
    assert!(store.erase("ada").await.unwrap());
    assert!(!store.erase("ada").await.unwrap());
    assert_eq!(used(&store, &policy, "ada").await, 0);
}

async fn concurrent_updates_of_one_member_admit_exactly_the_amount<S: Store>(store: S) {
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    let mut tasks = Vec::new();
    for _ in 0..400 {
        let (store, policy) = (store.clone(), policy.clone());
        tasks.push(tokio::spawn(async move { decide_via(&store, &policy, view("hot")).await }));
    }
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.unwrap());
    }
    assert_eq!(allowed, 150, "exactly the daily amount");
    assert_eq!(used(&store, &policy, "hot").await, 150);
}

async fn an_update_that_panics_leaves_its_member_usable<S: Store>(store: S) {
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    assert!(decide_via(&store, &policy, view("ada")).await);
    let s = store.clone();
    let crashed = tokio::spawn(async move {
        s.update("ada", |st: &mut MemberState| -> Change<()> {
            st.tier = Some("premium".into());
            panic!("an update that panics (expected in this test)")
        })
        .await
    })
    .await;
    // The panic reaches the caller (embedded) or fails its update (Redis): never a success.
    assert!(!matches!(crashed, Ok(Ok(()))));
    assert!(decide_via(&store, &policy, view("ada")).await, "the member is still served");
    assert_eq!(used(&store, &policy, "ada").await, 2, "the panicking update wrote nothing");
    assert_eq!(store.read("ada").await.unwrap().tier, None);
}

/// Each member 20 messages an hour; their organisation 40 between all of them.
const TEAM: &str = r#"
name = "team"
tiers = ["free"]
default_tier = "free"
actions = ["message"]

[[limit]]
name = "member_hourly"
actions = ["message"]
window = { kind = "sliding", period = "60m", granularity = "1m" }
amount = 20

[[limit]]
name = "team_hourly"
scope = "organisation"
actions = ["message"]
window = { kind = "anchored", period = "1h" }
amount = 40
"#;

fn team() -> Arc<Policy> {
    Arc::new(Policy::from_toml("team.toml", TEAM).unwrap())
}

fn message(member: &str) -> DecideRequest {
    DecideRequest {
        member: member.into(),
        action: "message".into(),
        organisation: Some("acme".into()),
        ..Default::default()
    }
}

/// Decides `req` for a member and the organisation `acme` through the store, the way the
/// service does: a ticket unless the store writes both at once.
async fn decide_pair_via<S: Store>(store: &S, policy: &Arc<Policy>, req: DecideRequest) -> bool {
    static TICKETS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let ticket = (!store.atomic_pairs()).then(|| TICKETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let policy = policy.clone();
    let member = req.member.clone();
    store
        .update_pair(&member, &organisation_key("acme"), move |st, org| {
            let d = decide_with_organisation(&policy, st, org, ticket, &req, now()).unwrap();
            let changed = !d.dry_run && !d.duplicate;
            PairChange { change: Change::new(d.allowed, changed), org_ttl: None }
        })
        .await
        .unwrap()
}

async fn team_used<S: Store>(store: &S, policy: &Policy) -> u64 {
    let st = store.read(&organisation_key("acme")).await.unwrap();
    organisation_view(policy, &st, now()).limits[0].used
}

async fn a_two_subject_update_charges_both_or_neither<S: Store>(store: S) {
    let policy = team();
    let dry = DecideRequest { dry_run: true, ..message("ada") };
    assert!(decide_pair_via(&store, &policy, dry).await);
    assert_eq!(
        store.read(&organisation_key("acme")).await.unwrap(),
        MemberState::default(),
        "a dry run writes nothing"
    );
    for i in 0..40 {
        assert!(decide_pair_via(&store, &policy, message(&format!("m{}", i % 2))).await);
    }
    let before = store.read("bob").await.unwrap();
    assert!(!decide_pair_via(&store, &policy, message("bob")).await, "the organisation is out of room");
    assert_eq!(store.read("bob").await.unwrap(), before, "nothing charged to the member");
    assert_eq!(team_used(&store, &policy).await, 40);
    let m0 = store.read("m0").await.unwrap();
    assert_eq!(member_view(&policy, &m0, now()).limits[0].used, 20);
}

/// 64 clients send 4 messages each for 8 members of one organisation: the members have room
/// for 160, the organisation for 40, and exactly 40 go through.
async fn concurrent_two_subject_updates_admit_exactly_the_organisations_amount<S: Store>(store: S) {
    let policy = team();
    let mut tasks = Vec::new();
    for client in 0..64 {
        let (store, policy) = (store.clone(), policy.clone());
        tasks.push(tokio::spawn(async move {
            let mut allowed = 0;
            for _ in 0..4 {
                allowed += usize::from(decide_pair_via(&store, &policy, message(&format!("m{}", client % 8))).await);
            }
            allowed
        }));
    }
    let mut allowed = 0;
    for t in tasks {
        allowed += t.await.unwrap();
    }
    assert_eq!(allowed, 40, "exactly the organisation's amount");
    assert_eq!(team_used(&store, &policy).await, 40);
    let mut members = 0;
    for m in 0..8 {
        let st = store.read(&format!("m{m}")).await.unwrap();
        members += member_view(&policy, &st, now()).limits[0].used;
    }
    assert_eq!(members, 40, "the members counted what the organisation did");
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// Lifts a member's restrictions the way the server's admin operation does.
async fn lift_via<S: Store>(store: &S, policy: &Arc<Policy>, member: &str) -> usize {
    let policy = policy.clone();
    store.update(member, move |st| Change::new(lift(&policy, st, now()), true)).await.unwrap()
}

async fn the_restrictions_index_follows_restrictions_as_they_come_and_go<S: Store>(store: S) {
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    assert_eq!(store.restricted(ms(now()), 10).await.unwrap(), RestrictedPage::default());
    restrict_ada(&store, &policy).await;
    decide_via(&store, &policy, view("bob")).await;
    let page = store.restricted(ms(now()), 10).await.unwrap();
    assert_eq!(page.total, 1, "ada is restricted, bob is not: {page:?}");
    let until = store.read("ada").await.unwrap().restricted_until().unwrap();
    assert!(until > ms(now()));
    assert_eq!(page.first, [Restricted { member: "ada".into(), until }]);
    assert_eq!(store.restricted(until, 10).await.unwrap().total, 0, "a restriction that has ended is not counted");
    assert_eq!(store.restricted(ms(now()), 0).await.unwrap().first, [], "the count comes without the page");
    assert_eq!(lift_via(&store, &policy, "ada").await, 1);
    assert_eq!(store.restricted(ms(now()), 10).await.unwrap().total, 0, "lifting takes ada out of the index");
    restrict(&store, &policy, "cy").await;
    assert_eq!(store.restricted(ms(now()), 10).await.unwrap().total, 1);
    assert!(store.erase("cy").await.unwrap());
    assert_eq!(store.restricted(ms(now()), 10).await.unwrap().total, 0, "erasing takes cy out of the index");
}

async fn the_audit_log_reads_back_newest_first<S: Store>(store: S) {
    assert_eq!(store.audit(10).await.unwrap(), Vec::<Vec<u8>>::new());
    for (i, record) in ["lift ada", "verify bob", "erase cy"].into_iter().enumerate() {
        store.append_audit(ms(now()) + i as i64, record.as_bytes().to_vec()).await.unwrap();
    }
    let newest: Vec<Vec<u8>> = store.audit(2).await.unwrap();
    assert_eq!(newest, [b"erase cy".to_vec(), b"verify bob".to_vec()]);
    assert_eq!(store.audit(10).await.unwrap().len(), 3);
}

macro_rules! stamp {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn an_update_is_read_back() {
                let (store, _guard) = $make;
                super::an_update_is_read_back(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn an_unchanged_update_writes_nothing() {
                let (store, _guard) = $make;
                super::an_unchanged_update_writes_nothing(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn erase_forgets_a_member() {
                let (store, _guard) = $make;
                super::erase_forgets_a_member(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn an_update_that_panics_leaves_its_member_usable() {
                let (store, _guard) = $make;
                super::an_update_that_panics_leaves_its_member_usable(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn the_restrictions_index_follows_restrictions_as_they_come_and_go() {
                let (store, _guard) = $make;
                super::the_restrictions_index_follows_restrictions_as_they_come_and_go(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn the_audit_log_reads_back_newest_first() {
                let (store, _guard) = $make;
                super::the_audit_log_reads_back_newest_first(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_two_subject_update_charges_both_or_neither() {
                let (store, _guard) = $make;
                super::a_two_subject_update_charges_both_or_neither(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_two_subject_updates_admit_exactly_the_organisations_amount() {
                let (store, _guard) = $make;
                super::concurrent_two_subject_updates_admit_exactly_the_organisations_amount(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_updates_of_one_member_admit_exactly_the_amount() {
                let (store, _guard) = $make;
                super::concurrent_updates_of_one_member_admit_exactly_the_amount(store).await;
            }
        }
    };
}

fn embedded(durability: Durability, cache_members: usize) -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = EmbeddedConfig::new(dir.path());
    cfg.durability = durability;
    cfg.cache_members = cache_members;
    (EmbeddedStore::open(cfg).unwrap(), dir)
}

stamp!(embedded_strict, embedded(Durability::Strict, 1000));
stamp!(embedded_process, embedded(Durability::Process, 1000));
stamp!(embedded_relaxed, embedded(Durability::Relaxed, 1000));
// A cache of one member per shard: nearly every update goes to disk and back.
stamp!(embedded_tiny_cache, embedded(Durability::Strict, 1));

#[tokio::test]
async fn the_embedded_store_keeps_everything_across_a_reopen_and_bounds_its_cache() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    {
        let mut cfg = EmbeddedConfig::new(dir.path());
        cfg.cache_members = 64;
        let store = EmbeddedStore::open(cfg).unwrap();
        for i in 0..500 {
            decide_via(&store, &policy, view(&format!("m{i}"))).await;
        }
        // A write still on its way to fjall keeps its entry: one per shard at most here.
        assert!(store.cached() <= 128, "the cache stays near its setting of 64: {}", store.cached());
    }
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    for i in [0, 137, 499] {
        assert_eq!(used(&store, &policy, &format!("m{i}")).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_restrictions_index_and_audit_log_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    let until = {
        let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
        restrict_ada(&store, &policy).await;
        store.append_audit(ms(now()), b"lift bob".to_vec()).await.unwrap();
        store.read("ada").await.unwrap().restricted_until().unwrap()
    };
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    let page = store.restricted(ms(now()), 10).await.unwrap();
    assert_eq!(page.first, [Restricted { member: "ada".into(), until }]);
    assert_eq!(store.audit(10).await.unwrap(), [b"lift bob".to_vec()]);
    store.append_audit(ms(now()), b"verify ada".to_vec()).await.unwrap();
    assert_eq!(store.audit(1).await.unwrap(), [b"verify ada".to_vec()], "a record made after a reopen is the newest");
}

fn invite(i: usize) -> DecideRequest {
    invite_from("ada", i)
}

fn invite_from(member: &str, i: usize) -> DecideRequest {
    DecideRequest {
        member: member.into(),
        action: "invite".into(),
        target: Some(format!("t{i}")),
        ..Default::default()
    }
}

/// Invites for ada until the burst limit denies, then three more denials, so that she is
/// restricted and a further denial changes nothing. Returns how many invitations were sent.
async fn restrict_ada<S: Store>(store: &S, policy: &Arc<Policy>) -> usize {
    restrict(store, policy, "ada").await
}

async fn restrict<S: Store>(store: &S, policy: &Arc<Policy>, member: &str) -> usize {
    let mut i = 0;
    while decide_via(store, policy, invite_from(member, i)).await {
        i += 1;
    }
    assert_eq!(i, 40, "the burst limit admits 40 in an hour");
    // The first denials may record something (a restriction imposed); later ones find the
    // member restricted and change nothing.
    for _ in 0..3 {
        i += 1;
        assert!(!decide_via(store, policy, invite_from(member, i)).await);
    }
    i
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_denial_that_counts_nothing_costs_no_write_and_no_fsync() {
    let (store, _dir) = embedded(Durability::Strict, 1000);
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    let commits = || store.stats().commits.load(std::sync::atomic::Ordering::Relaxed);
    let mut i = restrict_ada(&store, &policy).await;
    let (state, before) = (store.read("ada").await.unwrap(), commits());
    for _ in 0..20 {
        i += 1;
        assert!(!decide_via(&store, &policy, invite(i)).await);
    }
    assert_eq!(commits(), before, "twenty denials that change nothing cost no group commit");
    assert_eq!(store.read("ada").await.unwrap(), state);
    // A decision that does change the member is still written and synced.
    let view = view("ada");
    assert!(decide_via(&store, &policy, view).await);
    assert!(commits() > before);
}

/// Holds the syncer inside its fsync observer while closed, as a disk whose fsync does not
/// return would.
#[derive(Default)]
struct Stall {
    on: std::sync::Mutex<bool>,
    lifted: std::sync::Condvar,
    /// Told each time the syncer stops in a closed stall.
    held: tokio::sync::Notify,
}

impl Stall {
    fn set(&self, on: bool) {
        *self.on.lock().unwrap() = on;
        self.lifted.notify_all();
    }

    fn pass(&self) {
        let on = self.on.lock().unwrap();
        if *on {
            self.held.notify_one();
        }
        drop(self.lifted.wait_while(on, |on| *on).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_fsync_holds_no_process_answer_and_a_flush_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let stall = Arc::new(Stall::default());
    let observer = stall.clone();
    let mut cfg = EmbeddedConfig::new(dir.path());
    assert_eq!(cfg.durability, Durability::Process, "process durability is the default");
    cfg.commit_timeout = std::time::Duration::from_millis(1000);
    let store = EmbeddedStore::open_observed(cfg, Some(Arc::new(move |_, _| observer.pass()))).unwrap();
    let policy = Arc::new(Policy::preset("linkedin").unwrap());

    // The disk stalls: the next fsync of the log does not return.
    stall.set(true);
    assert!(decide_via(&store, &policy, view("ada")).await);
    let flush = tokio::spawn({
        let store = store.clone();
        async move { store.flush().await }
    });
    stall.held.notified().await;
    // Answers keep leaving, each once its write is in the log's file, none waiting on the disk.
    let commits = store.stats().commits.load(std::sync::atomic::Ordering::Relaxed);
    for i in 0..100 {
        assert!(decide_via(&store, &policy, view(&format!("m{i}"))).await, "answer {i} left");
    }
    assert_eq!(used(&store, &policy, "m99").await, 1);
    assert_eq!(store.stats().commits.load(std::sync::atomic::Ordering::Relaxed), commits, "no fsync completed");
    // What does wait for the disk, a flush, says it did not complete in time.
    let flushed = flush.await.unwrap();
    assert!(matches!(flushed, Err(pacekeeper_store::StoreError::Timeout(1000))), "{flushed:?}");
    assert!(store.ready().await.is_err(), "not ready while the disk is stalled");

    // The disk comes back: everything is fsynced and the store is ready again. (A busy
    // machine may still take longer than the timeout for one fsync: a few tries.)
    stall.set(false);
    let mut recovered = Err(pacekeeper_store::StoreError::Timeout(0));
    for _ in 0..20 {
        recovered = store.ready().await;
        if recovered.is_ok() {
            break;
        }
    }
    recovered.unwrap();
    assert_eq!(used(&store, &policy, "ada").await, 1);
}

#[tokio::test]
async fn a_stalled_disk_turns_strict_answers_into_timeouts_and_readiness_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let stall = Arc::new(Stall::default());
    let observer = stall.clone();
    let mut cfg = EmbeddedConfig::new(dir.path());
    cfg.durability = Durability::Strict;
    cfg.commit_timeout = std::time::Duration::from_secs(10);
    let store = EmbeddedStore::open_observed(cfg, Some(Arc::new(move |_, _| observer.pass()))).unwrap();
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    assert!(decide_via(&store, &policy, view("ada")).await);
    store.ready().await.unwrap();

    // The disk stalls. From here the test's clock is paused: the timeout passes as soon as
    // nothing else can happen, without waiting ten real seconds.
    stall.set(true);
    tokio::time::pause();
    let p = policy.clone();
    let answer = store
        .update("ada", move |st| {
            let d = decide(&p, st, &view("ada"), now()).unwrap();
            Change::new(d.allowed, true)
        })
        .await;
    assert!(
        matches!(answer, Err(pacekeeper_store::StoreError::Timeout(10_000))),
        "a strict answer gives up after the commit timeout: {answer:?}"
    );
    let not_ready = store.ready().await.unwrap_err();
    assert!(not_ready.to_string().contains("check the disk"), "{not_ready}");
    assert!(not_ready.is_transient(), "the server answers 503 and may fail open");

    // The disk comes back: the store is ready again, and the write that timed out landed
    // (as a write that times out may).
    tokio::time::resume();
    stall.set(false);
    store.ready().await.unwrap();
    assert_eq!(used(&store, &policy, "ada").await, 2);
    assert!(decide_via(&store, &policy, view("ada")).await);
    assert_eq!(used(&store, &policy, "ada").await, 3);
}

/// The store on a real single `redis-server`, with the server process kept alive by the guard.
fn redis_single() -> (RedisStore, RedisServer) {
    let server = RedisServer::start();
    (RedisStore::open(RedisConfig::new(server.url())).unwrap(), server)
}

/// The store on a real 3-master Redis Cluster.
fn redis_cluster() -> (RedisStore, RedisCluster) {
    let cluster = RedisCluster::start(3);
    let mut cfg = RedisConfig::new("");
    cfg.urls = cluster.urls();
    cfg.cluster = true;
    (RedisStore::open(cfg).unwrap(), cluster)
}

stamp!(redis_single_server, redis_single());
stamp!(redis_cluster_of_three, redis_cluster());

/// A raw connection to check what the store left in Redis.
async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_keys_carry_the_ttl_of_what_is_still_open_and_a_member_with_no_key_starts_afresh() {
    let (store, server) = redis_single();
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    let p = policy.clone();
    // The server's way: the TTL runs from the decision's instant to the end of what is open.
    store
        .update("ada", move |st| {
            let d = decide(&p, st, &view("ada"), now()).unwrap();
            Change::new(d.allowed, true).expiring(st.expires_at(&p), now().as_millisecond())
        })
        .await
        .unwrap();
    let mut conn = raw(&server.url()).await;
    let ttl: i64 = redis::cmd("PTTL").arg("pk:{ada}").query_async(&mut conn).await.unwrap();
    // Profile views count per calendar day in Los Angeles: 09:00Z is 01:00 there, so the
    // day ends 23 hours later.
    let day_left = 23 * 3600 * 1000;
    assert!(ttl > day_left - 60_000 && ttl <= day_left, "PTTL {ttl} ms, expected about {day_left}");
    // What expiry does: the key is gone, and the member starts from the default state.
    let _: () = redis::cmd("DEL").arg("pk:{ada}").query_async(&mut conn).await.unwrap();
    assert_eq!(used(&store, &policy, "ada").await, 0);
    assert!(decide_via(&store, &policy, view("ada")).await);
    assert_eq!(used(&store, &policy, "ada").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_redis_stores_on_one_cluster_admit_exactly_the_amount_together() {
    let cluster = RedisCluster::start(3);
    // 400 updates of one key from two processes contend on a two-core machine that also runs
    // three Redis nodes: the test is about exactness, so each call gets time to finish.
    let store = || {
        let mut cfg = RedisConfig::new("");
        cfg.urls = cluster.urls();
        cfg.cluster = true;
        cfg.timeout = std::time::Duration::from_secs(5);
        RedisStore::open(cfg).unwrap()
    };
    let (a, b) = (store(), store());
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    let mut tasks = Vec::new();
    for i in 0..400 {
        let (a, b, policy) = (a.clone(), b.clone(), policy.clone());
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                decide_via(&a, &policy, view("hot")).await
            } else {
                decide_via(&b, &policy, view("hot")).await
            }
        }));
    }
    let mut allowed = 0;
    for t in tasks {
        allowed += usize::from(t.await.unwrap());
    }
    assert_eq!(allowed, 150, "exactly the daily amount across both stores");
    assert_eq!(used(&b, &policy, "hot").await, 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_redis_fails_within_the_timeout_and_serves_again_once_back() {
    let (store, mut server) = redis_single();
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    assert!(decide_via(&store, &policy, view("ada")).await);
    server.kill();
    let p = policy.clone();
    let err = store
        .update("ada", move |st| Change::new(decide(&p, st, &view("ada"), now()).unwrap().allowed, true))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(store.ready().await.is_err());
    server.restart();
    // The connection comes back by itself; the first call may still see the old one fail.
    let mut back = false;
    for _ in 0..100 {
        if store.ready().await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(back, "the store reconnected");
    assert_eq!(used(&store, &policy, "ada").await, 1, "the answered decision survived (append-only file)");
    assert!(decide_via(&store, &policy, view("ada")).await);
    assert_eq!(used(&store, &policy, "ada").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_value_remembered_by_one_process_never_hides_another_process_write() {
    let (a, server) = redis_single();
    let b = RedisStore::open(RedisConfig::new(server.url())).unwrap();
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    assert!(decide_via(&a, &policy, view("ada")).await, "a writes and remembers ada");
    for _ in 0..3 {
        assert!(decide_via(&b, &policy, view("ada")).await);
    }
    // A dry run on `a` writes nothing, so no compare-and-set checks it: it must re-read.
    let p = policy.clone();
    let seen = a
        .update("ada", move |st| {
            let d = decide(&p, st, &DecideRequest { dry_run: true, ..view("ada") }, now()).unwrap();
            Change::new(d.limits.iter().find(|l| &*l.name == "daily_profile_views").unwrap().used, false)
        })
        .await
        .unwrap();
    assert_eq!(seen, 4, "the dry run sees b's three writes");
    // A real write on `a` starts from the stale value, loses the compare-and-set, and reruns.
    assert!(decide_via(&a, &policy, view("ada")).await);
    assert_eq!(used(&b, &policy, "ada").await, 5);
    let conflicts = a.counters().into_iter().find(|(n, _)| n.ends_with("conflicts_total")).unwrap().1;
    assert_eq!(conflicts, 1, "one stale value, one conflict");
}

/// Calls of the compare-and-set script that Redis itself counted (`INFO commandstats`).
async fn script_calls(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(conn).await.unwrap();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| l.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_denial_that_counts_nothing_writes_nothing_yet_answers_on_what_redis_holds() {
    let (a, server) = redis_single();
    let b = RedisStore::open(RedisConfig::new(server.url())).unwrap();
    let policy = Arc::new(Policy::preset("linkedin").unwrap());
    let mut conn = raw(&server.url()).await;
    let mut i = restrict_ada(&a, &policy).await;
    let (state, before) = (a.read("ada").await.unwrap(), script_calls(&mut conn).await);
    assert!(before >= 40, "every admitted invitation was written by the script");
    for _ in 0..20 {
        i += 1;
        assert!(!decide_via(&a, &policy, invite(i)).await);
    }
    assert_eq!(script_calls(&mut conn).await, before, "twenty denials that change nothing write nothing to Redis");
    assert_eq!(a.read("ada").await.unwrap(), state);
    // Another process changes ada: `a` still remembers the old value. Its next denial changes
    // nothing on that value, so it reads Redis instead of trusting it, and answers on b's write.
    assert!(decide_via(&b, &policy, view("ada")).await);
    let (p, req) = (policy.clone(), invite(i + 1));
    let (allowed, seen) = a
        .update("ada", move |st| {
            let d = decide(&p, st, &req, now()).unwrap();
            Change::new((d.allowed, st.clone()), true)
        })
        .await
        .unwrap();
    assert!(!allowed);
    assert_eq!(seen, b.read("ada").await.unwrap(), "the denial ran on the value b wrote");
    assert_eq!(used(&a, &policy, "ada").await, 1);
    assert_eq!(script_calls(&mut conn).await, before + 1, "only b's profile view was written");
}
