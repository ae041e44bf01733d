//! The runner against a real server (in process, on loopback, `--trust-client-time`) on a
//! virtual clock, with senders written here as a library user would: a restriction pauses
//! every lane it blocks and no other; a failed send is retried under the same request id and
//! charged once; a third-party API's own 429 paces the lane.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use pacekeeper_client::{Client, Feedback};
use pacekeeper_pace::{Options, Outgoing, Runner, Sender, Sent, Step, VirtualClock};
use pacekeeper_queue::{Account, LaneId, NewItem, Queue};
use pacekeeper_server::{Config, Listeners, Server};

const MONDAY: &str = "2026-12-07T09:00:00Z";

async fn server() -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data: dir.path().to_path_buf(),
        trust_client_time: true,
        ..Config::default()
    };
    let server = Server::new(&config, |_| None).unwrap();
    let listeners = Listeners::bind(&config, false).await.unwrap();
    let base = format!("http://{}", listeners.http.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(listeners, async move {
        let _ = stopped.await;
    }));
    (base, stop, dir)
}

/// Records what it is asked to send; fails the first `fail_first` attempts of each item.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<Outgoing>>,
    fail_first: u32,
    attempts: Mutex<HashMap<u64, u32>>,
}

impl Sender for Recorder {
    async fn send(&self, out: &Outgoing) -> Sent {
        let mut attempts = self.attempts.lock().unwrap();
        let n = attempts.entry(out.item).or_default();
        *n += 1;
        if *n <= self.fail_first {
            return Sent::Failed { transient: true, why: "the network blinked".into() };
        }
        self.sent.lock().unwrap().push(out.clone());
        Sent::Done
    }
}

fn queue(dir: &std::path::Path) -> Queue {
    let q = Queue::open(dir).unwrap();
    let days = vec![Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday];
    let mut a = Account::new("rex", "UTC", days, Time::constant(8, 0, 0, 0), Time::constant(18, 0, 0, 0)).unwrap();
    a.warmup = None;
    a.withdraw_after_days = 0;
    q.put_account(&a).unwrap();
    q
}

fn add(q: &Queue, action: &str, n: usize) {
    let at: Timestamp = MONDAY.parse().unwrap();
    for i in 0..n {
        q.add(NewItem::new("rex", action).target(&format!("{action}-{i}")), at).unwrap();
    }
}

async fn run<S: Sender>(runner: &mut Runner<S, VirtualClock>, max_wait: Duration) -> (Step, Vec<Step>) {
    let mut steps = Vec::new();
    let last =
        runner.run_until_empty(Some(max_wait), |s| steps.push(s.clone()), &AtomicBool::new(false)).await.unwrap();
    (last, steps)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restriction_pauses_every_lane_it_blocks_and_no_other() {
    let (base, _stop, _srv) = server().await;
    let client = Client::new(&base).unwrap();
    // Rex used his week's 100 invitations elsewhere, and one more attempt restricted him for
    // 7 days (seed 000): invitations, InMail and group joins are blocked; messages are not.
    let invite = |cost: u64, at: &str| pacekeeper_api::DecideRequest {
        member: "rex".into(),
        action: "invite".into(),
        channel: Some("import".into()),
        cost: Some(cost),
        at: Some(at.parse().unwrap()),
        ..Default::default()
    };
    // Contact imports, each under the burst limit of 40 an hour.
    for (i, at) in ["00:00", "01:01", "02:02", "03:03"].iter().enumerate() {
        let a = client.decide(&invite(25, &format!("2026-12-07T{at}:00Z"))).await.unwrap();
        assert!(a.decision.allowed, "import {i}: {:?}", a.decision);
    }
    let extra = client.decide(&invite(1, "2026-12-07T04:00:00Z")).await.unwrap();
    let until = extra.decision.restriction.as_ref().and_then(|r| r.until).expect("a restriction");

    let dir = tempfile::tempdir().unwrap();
    let q = queue(dir.path());
    add(&q, "invite", 5);
    add(&q, "inmail", 2);
    add(&q, "message", 4);
    let options = Options { pacing: false, ..Options::default() };
    let mut runner =
        Runner::new(q, Some(client), Recorder::default(), VirtualClock::new(MONDAY.parse().unwrap()), options);
    let (last, steps) = run(&mut runner, Duration::from_secs(3600)).await;

    let Step::Wait { until: resume, why } = &last else { panic!("{last:?}") };
    assert!(*resume >= until, "the blocked lanes wait for the restriction's end {until}: {resume}");
    assert!(why.contains("restricted"), "{why}");
    let sent = |action: &str| {
        steps.iter().filter(|s| matches!(s, Step::Did(r) if r.what == "sent" && r.lane.action == action)).count()
    };
    assert_eq!((sent("message"), sent("invite"), sent("inmail")), (4, 0, 0));
    let denied: Vec<&str> = steps
        .iter()
        .filter_map(|s| if let Step::Did(r) = s { (r.what == "denied").then_some(&*r.lane.action) } else { None })
        .collect();
    assert_eq!(denied.len(), 1, "one denial paused both blocked lanes: {denied:?}");
    for action in ["invite", "inmail"] {
        let lane = runner.queue().lane(&LaneId { account: "rex".into(), action: action.into() }).unwrap().unwrap();
        assert!(lane.lane.paused_until.is_some_and(|p| p >= until), "{action}: {:?}", lane.lane.paused_until);
    }
    let message = runner.queue().lane(&LaneId { account: "rex".into(), action: "message".into() }).unwrap().unwrap();
    assert!(message.lane.paused_until.is_none_or(|p| p < until));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_fails_is_retried_under_the_same_request_id_and_charged_once() {
    let (base, _stop, _srv) = server().await;
    let client = Client::new(&base).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let q = queue(dir.path());
    add(&q, "invite", 3);
    let sender = Recorder { fail_first: 2, ..Recorder::default() };
    let options = Options { pacing: false, ..Options::default() };
    let mut runner = Runner::new(q, Some(client.clone()), sender, VirtualClock::new(MONDAY.parse().unwrap()), options);
    let (last, steps) = run(&mut runner, Duration::from_secs(3600)).await;
    assert_eq!(last, Step::Drained);
    assert_eq!(steps.iter().filter(|s| matches!(s, Step::Did(r) if r.what == "failed")).count(), 6);
    let view = client.member("rex").await.unwrap();
    let weekly = view.limits.iter().find(|l| &*l.name == "weekly_invitations").unwrap();
    assert_eq!(weekly.used, 3, "three sends, nine attempts, three charges");
    let sent = runner.queue().item(1).unwrap();
    assert_eq!(sent.attempts, 3);
    assert!(
        sent.request_id.as_deref().is_some_and(|r| r.ends_with("-1-1")),
        "the first attempt's id: {:?}",
        sent.request_id
    );
}

/// A third-party API: answers 429 with its own headers on every other send.
struct ThirdParty(Mutex<u32>);

impl Sender for ThirdParty {
    async fn send(&self, _: &Outgoing) -> Sent {
        let mut n = self.0.lock().unwrap();
        *n += 1;
        if *n % 2 == 1 {
            return Sent::Done;
        }
        let headers = [("Retry-After", "120"), ("RateLimit-Policy", r#""hourly";q=20;w=3600"#)];
        Sent::Limited(Feedback::parse(headers, None, MONDAY.parse().unwrap()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_server_the_other_sides_answers_pace_the_lane() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(dir.path());
    add(&q, "message", 6);
    let options = Options { pacing: false, ..Options::default() };
    let mut runner =
        Runner::new(q, None, ThirdParty(Mutex::new(0)), VirtualClock::new(MONDAY.parse().unwrap()), options);
    let (last, steps) = run(&mut runner, Duration::from_secs(86_400)).await;
    assert_eq!(last, Step::Drained);
    let mut wait_from: Option<Timestamp> = None;
    for s in &steps {
        let Step::Did(r) = s else { continue };
        if let Some(from) = wait_from.take() {
            assert!(r.at >= from.checked_add(Duration::from_secs(120)).unwrap(), "back before Retry-After: {r:?}");
        }
        if r.what == "denied" {
            wait_from = Some(r.at);
        }
    }
    let lane = runner.queue().lane(&LaneId { account: "rex".into(), action: "message".into() }).unwrap().unwrap();
    assert_eq!(lane.lane.learned.limits()[0].amount, 20, "learned from RateLimit-Policy");
}
