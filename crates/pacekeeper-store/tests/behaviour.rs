//! The behaviour every store must show, written once and stamped onto each backend.

use std::sync::Arc;

use jiff::Timestamp;
use pacekeeper_engine::{DecideRequest, MemberState, Policy, decide, member_view};
use pacekeeper_store::{Change, Durability, EmbeddedConfig, EmbeddedStore, Store};

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
            Change { output: d.allowed, changed, expires_at: None }
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
stamp!(embedded_relaxed, embedded(Durability::Relaxed { interval: std::time::Duration::from_millis(5) }, 1000));
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
        assert!(store.cached() <= 64, "the cache holds at most its setting: {}", store.cached());
    }
    let store = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    for i in [0, 137, 499] {
        assert_eq!(used(&store, &policy, &format!("m{i}")).await, 1);
    }
}
