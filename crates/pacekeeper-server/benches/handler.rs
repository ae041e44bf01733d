//! The server's request path in-process: `app(state)` called through tower, no socket, no
//! load generator. Separates the handler and store cost from HTTP and the network.
//!
//! Run: `cargo bench -p pacekeeper-server --bench handler`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use pacekeeper_engine::Policy;
use pacekeeper_server::{AppState, app};
use pacekeeper_store::{Durability, EmbeddedConfig, EmbeddedStore};
use tower::ServiceExt;

const MEMBERS: u64 = 100_000;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, durability) in
        [("relaxed", Durability::Relaxed { interval: Duration::from_millis(100) }), ("strict", Durability::Strict)]
    {
        let mut cfg = EmbeddedConfig::new(dir.path().join(name));
        cfg.durability = durability;
        cfg.cache_members = 200_000;
        let store = rt.block_on(async { EmbeddedStore::open(cfg).unwrap() });
        let state = Arc::new(AppState::new(store, Policy::preset("linkedin").unwrap(), "linkedin"));
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
    targets = bench
}
criterion_main!(benches);
