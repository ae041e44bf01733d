//! The typed client against a real server (HTTP on loopback, `Server::run`), with tokens.

use std::time::Duration;

use pacekeeper_client::api::{DecideRequest, Event, EventKind, MemberUpdate, Reason};
use pacekeeper_client::{Client, ClientError};
use pacekeeper_server::{Config, Listeners, Server};
use tokio::sync::oneshot;

const ADMIN: &str = "admin-token-0123456789";
const APP: &str = "decide-token-0123456789";
const AT: &str = "2026-11-23T09:00:00Z";

async fn start() -> (String, oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data: dir.path().to_path_buf(),
        trust_client_time: true,
        ..Config::default()
    };
    let env = |k: &str| match k {
        "PACEKEEPER_ADMIN_TOKEN" => Some(ADMIN.to_string()),
        "PACEKEEPER_DECIDE_TOKEN" => Some(APP.to_string()),
        _ => None,
    };
    let server = Server::new(&config, env).unwrap();
    let listeners = Listeners::bind(&config, true).await.unwrap();
    let base = format!("http://{}", listeners.http.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.run(listeners, async move {
        let _ = stopped.await;
    }));
    (base, stop, dir)
}

fn view(member: &str, cost: u64) -> DecideRequest {
    DecideRequest {
        member: member.into(),
        action: "profile_view".into(),
        cost: Some(cost),
        at: Some(AT.parse().unwrap()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_and_their_feedback() {
    let (base, _stop, _dir) = start().await;
    let app = Client::new(&base).unwrap().with_token(APP);
    let a = app.decide(&view("ada", 150)).await.unwrap();
    assert_eq!((a.status, a.decision.allowed), (200, true));
    let a = app.decide(&view("ada", 1)).await.unwrap();
    assert_eq!((a.status, a.decision.reason), (429, Reason::LimitExceeded));
    let retry = Duration::from_secs(a.decision.retry_after.unwrap());
    assert_eq!(a.feedback.wait(), Some(retry), "the headers and the body agree");
    let e = app.decide(&DecideRequest { action: "teleport".into(), ..view("ada", 1) }).await.unwrap_err();
    assert!(matches!(&e, ClientError::Refused(p) if p.status == 400 && p.field.as_deref() == Some("action")), "{e}");
    assert!(!e.is_transient());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_members_and_admin() {
    let (base, _stop, _dir) = start().await;
    let app = Client::new(&base).unwrap().with_token(APP);
    let ops = Client::new(&base).unwrap().with_token(ADMIN);
    let added = |id: &str| Event {
        member: "bo b/1".into(),
        kind: EventKind::ConnectionAdded,
        target: None,
        at: None,
        id: Some(id.into()),
    };
    let batch = [added("e1"), added("e2")];
    assert!(app.events(&batch).await.unwrap().iter().all(|a| !a.duplicate));
    assert!(app.events(&batch).await.unwrap().iter().all(|a| a.duplicate), "a resent array is applied once");
    let member = app.member("bo b/1").await.unwrap();
    assert_eq!(member.gauges.iter().find(|g| g.name == "connections").unwrap().value, 2);

    let refused = app.lift("bo b/1").await.unwrap_err();
    assert!(matches!(&refused, ClientError::Refused(p) if p.status == 403), "{refused}");
    let update = MemberUpdate { tier: Some("premium".into()), ..Default::default() };
    assert_eq!(ops.update_member("bo b/1", &update).await.unwrap().tier, "premium");
    assert_eq!(ops.lift("bo b/1").await.unwrap(), 0);
    assert!(ops.erase("bo b/1").await.unwrap());
    assert!(!ops.erase("bo b/1").await.unwrap(), "nothing left to erase");
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let e = Client::new(&format!("http://{addr}")).unwrap().decide(&view("ada", 1)).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(matches!(Client::new("localhost:7300"), Err(ClientError::BadUrl(_))));
}
