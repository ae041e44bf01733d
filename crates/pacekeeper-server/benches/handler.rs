//! The server's request path in-process: `app(state)` called through tower, no socket, no
//! load generator. Separates the handler and store cost from HTTP and the network.
//!
//! Run: `cargo bench -p pacekeeper-server --bench handler`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use pacekeeper_engine::{MemberState, Policy};
use pacekeeper_server::{Service, app};
use pacekeeper_store::{Change, Durability, EmbeddedConfig, EmbeddedStore, Store, StoreError};
use tower::ServiceExt;

// The allocator of the `pacekeeper` binary, so the figures match what it runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MEMBERS: u64 = 100_000;

/// Member states in a plain map: the handler's own cost, without a real store.
#[derive(Clone, Default)]
struct MapStore(Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>>);

impl Store for MapStore {
    async fn update<R, F>(&self, member: &str, mut f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState) -> Change<R> + Send + 'static,
    {
        let mut map = self.0.lock().unwrap();
        let mut st = map.get(member).map(|b| MemberState::decode(b).unwrap()).unwrap_or_default();
        let c = f(&mut st);
        if c.changed {
            map.insert(member.to_string(), st.encode());
        }
        Ok(c.output)
    }
    async fn read(&self, member: &str) -> Result<MemberState, StoreError> {
        Ok(self.0.lock().unwrap().get(member).map(|b| MemberState::decode(b).unwrap()).unwrap_or_default())
    }
    async fn erase(&self, member: &str) -> Result<bool, StoreError> {
        Ok(self.0.lock().unwrap().remove(member).is_some())
    }
    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
    async fn ready(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "a map".into()
    }
}

fn map_store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let state = Arc::new(Service::new(MapStore::default(), Policy::preset("linkedin").unwrap(), "linkedin"));
    let router = app(state);
    let mut i: u64 = 0;
    c.bench_function("POST /v1/decide in-process, in-memory map store, 100,000 members", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 61_803) % MEMBERS;
            let body = format!(r#"{{"member":"m{i}","action":"invite"}}"#);
            let req =
                Request::post("/v1/decide").header("content-type", "application/json").body(Body::from(body)).unwrap();
            let router = router.clone();
            async move {
                let res = router.oneshot(req).await.unwrap();
                to_bytes(res.into_body(), usize::MAX).await.unwrap()
            }
        })
    });
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, durability) in
        [("process", Durability::Process), ("relaxed", Durability::Relaxed), ("strict", Durability::Strict)]
    {
        let mut cfg = EmbeddedConfig::new(dir.path().join(name));
        cfg.durability = durability;
        cfg.cache_members = 200_000;
        let store = rt.block_on(async { EmbeddedStore::open(cfg).unwrap() });
        let state = Arc::new(Service::new(store, Policy::preset("linkedin").unwrap(), "linkedin"));
        let router = app(state);
        let mut i: u64 = 0;
        c.bench_function(&format!("POST /v1/decide in-process, {name}, 100,000 members"), |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 61_803) % MEMBERS;
                let body = format!(r#"{{"member":"m{i}","action":"invite"}}"#);
                let req = Request::post("/v1/decide")
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap();
                let router = router.clone();
                async move {
                    let res = router.oneshot(req).await.unwrap();
                    to_bytes(res.into_body(), usize::MAX).await.unwrap()
                }
            })
        });
        c.bench_function(&format!("GET /healthz in-process ({name} server)"), |b| {
            b.to_async(&rt).iter(|| {
                let req = Request::get("/healthz").body(Body::empty()).unwrap();
                let router = router.clone();
                async move { router.oneshot(req).await.unwrap() }
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = map_store, bench
}
criterion_main!(benches);
