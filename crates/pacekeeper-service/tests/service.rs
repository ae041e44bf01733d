//! The service over a real embedded store: events applied per member in one update, fail-open
//! only for an outage, one member per batch of requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pacekeeper_engine::{DecideRequest, Event, EventKind, MemberState, Policy, Reason};
use pacekeeper_service::{FakeClock, Service, ServiceError};
use pacekeeper_store::{Change, EmbeddedConfig, EmbeddedStore, PairChange, Store, StoreError};

/// A store that counts updates, or fails every one with a given error.
#[derive(Clone)]
struct Probe {
    inner: EmbeddedStore,
    updates: Arc<AtomicUsize>,
    fail: Option<fn() -> StoreError>,
}

impl Store for Probe {
    async fn update<R, F>(&self, member: &str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState) -> Change<R> + Send + 'static,
    {
        self.updates.fetch_add(1, Ordering::SeqCst);
        if let Some(fail) = self.fail {
            return Err(fail());
        }
        self.inner.update(member, f).await
    }
    async fn update_pair<R, F>(&self, member: &str, org: &str, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut MemberState, &mut MemberState) -> PairChange<R> + Send + 'static,
    {
        self.updates.fetch_add(1, Ordering::SeqCst);
        if let Some(fail) = self.fail {
            return Err(fail());
        }
        self.inner.update_pair(member, org, f).await
    }
    fn atomic_pairs(&self) -> bool {
        true
    }
    async fn read(&self, member: &str) -> Result<MemberState, StoreError> {
        self.inner.read(member).await
    }
    async fn erase(&self, member: &str) -> Result<bool, StoreError> {
        self.inner.erase(member).await
    }
    async fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush().await
    }
    async fn ready(&self) -> Result<(), StoreError> {
        self.inner.ready().await
    }
    fn describe(&self) -> String {
        "probe".into()
    }
}

fn service(fail: Option<fn() -> StoreError>) -> (Service<Probe>, Arc<AtomicUsize>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let inner = EmbeddedStore::open(EmbeddedConfig::new(dir.path())).unwrap();
    let updates = Arc::new(AtomicUsize::new(0));
    let probe = Probe { inner, updates: updates.clone(), fail };
    let mut s = Service::new(probe, Policy::preset("linkedin").unwrap(), "linkedin");
    s.clock = Arc::new(FakeClock::new("2026-11-23T09:00:00Z".parse().unwrap()));
    (s, updates, dir)
}

fn event(member: &str, kind: EventKind, id: &str) -> Event {
    Event { member: member.into(), kind, target: Some(format!("t-{id}")), at: None, id: Some(id.into()) }
}

fn connections(s: &Service<Probe>, member: &str) -> impl std::future::Future<Output = u64> {
    let m = s.member(member, None);
    async move {
        let v = serde_json::to_value(m.await.unwrap()).unwrap();
        v["limits"].as_array().unwrap().iter().find(|l| l["name"] == "connections").unwrap()["used"].as_u64().unwrap()
    }
}

#[tokio::test]
async fn an_array_of_events_is_one_update_per_member_and_safe_to_resend() {
    let (s, updates, _dir) = service(None);
    let batch: Vec<Event> = (0..6)
        .map(|i| event(if i % 2 == 0 { "ada" } else { "bob" }, EventKind::ConnectionAdded, &format!("e{i}")))
        .collect();
    let acks = s.apply_events(batch.clone(), true).await.unwrap();
    assert_eq!(acks.len(), 6);
    assert!(acks.iter().all(|a| !a.duplicate));
    assert_eq!(updates.load(Ordering::SeqCst), 2, "one store update per member, not one per event");
    assert_eq!((connections(&s, "ada").await, connections(&s, "bob").await), (3, 3));
    // The connection dropped before the answer: the client sends the same array again.
    let again = s.apply_events(batch, true).await.unwrap();
    assert!(again.iter().all(|a| a.duplicate), "{again:?}");
    assert_eq!((connections(&s, "ada").await, connections(&s, "bob").await), (3, 3));
}

#[tokio::test]
async fn a_bad_event_anywhere_in_an_array_applies_none() {
    let (s, updates, _dir) = service(None);
    let mut batch =
        vec![event("ada", EventKind::ConnectionAdded, "a"), event("ada", EventKind::InvitationWithdrawn, "b")];
    batch[1].target = None;
    let e = s.apply_events(batch, true).await.unwrap_err();
    assert_eq!(e.field(), Some("[1].target"), "{e}");
    assert_eq!(updates.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn fail_open_covers_an_outage_and_never_a_failed_disk() {
    let ask = || DecideRequest { member: "ada".into(), action: "invite".into(), ..Default::default() };
    let (mut s, _, _dir) = service(Some(|| StoreError::Timeout(100)));
    s.fail_open = true;
    let d = s.decide(ask()).await.unwrap();
    assert_eq!((d.allowed, d.reason), (true, Reason::StoreUnavailable));
    let (mut s, _, _dir) = service(Some(|| StoreError::disk("log write failed", std::io::Error::other("EIO"))));
    s.fail_open = true;
    let e = s.decide(ask()).await.unwrap_err();
    assert!(matches!(e, ServiceError::StoreFailed(_)), "{e:?}");
    let (s, _, _dir) = service(Some(|| StoreError::Timeout(100)));
    assert!(matches!(s.decide(ask()).await.unwrap_err(), ServiceError::StoreUnavailable(_)));
}

#[tokio::test]
async fn a_batch_of_requests_names_one_member() {
    let (s, updates, _dir) = service(None);
    let ask = |m: &str| DecideRequest { member: m.into(), action: "invite".into(), ..Default::default() };
    let e = s.decide_together(vec![ask("ada"), ask("bob")]).await.unwrap_err();
    assert_eq!(e.field(), Some("[1].member"), "{e}");
    assert_eq!(updates.load(Ordering::SeqCst), 0);
    let e = s.decide(ask("ada\u{202E}nimda")).await.unwrap_err();
    assert_eq!(e.field(), Some("member"));
}
