//! The queue on disk: deduplication, the order items go in, counters, and what survives a
//! reopen (an item in flight, its request id, events not yet posted).

use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use pacekeeper_api::{Event, EventKind};
use pacekeeper_queue::{Account, ItemState, LaneId, NewItem, NotePolicy, Queue, QueueError};

fn now() -> Timestamp {
    "2026-11-30T08:00:00Z".parse().unwrap()
}

fn queue(dir: &std::path::Path) -> Queue {
    let q = Queue::open(dir).unwrap();
    let a = Account::new(
        "alice",
        "Europe/Paris",
        vec![Weekday::Monday],
        Time::constant(9, 0, 0, 0),
        Time::constant(17, 0, 0, 0),
    )
    .unwrap();
    q.put_account(&a).unwrap();
    q
}

fn lane() -> LaneId {
    LaneId { account: "alice".into(), action: "invite".into() }
}

#[test]
fn items_go_by_priority_then_age_and_a_target_is_queued_once() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(dir.path());
    let items = [("bob", 0), ("carol", 5), ("dan", 0), ("bob", 9), ("erin", 5)];
    let added = q
        .add_all(
            items.iter().map(|(t, p)| Ok::<_, QueueError>(NewItem::new("alice", "invite").target(t).priority(*p))),
            now(),
        )
        .unwrap();
    assert_eq!(added.iter().filter(|a| a.is_new()).count(), 4, "bob is queued once: {added:?}");
    let order: Vec<String> = q.queued(&lane(), 10).unwrap().into_iter().map(|i| i.target.unwrap()).collect();
    assert_eq!(order, ["carol", "erin", "bob", "dan"]);
    assert_eq!(q.count(&lane(), ItemState::Queued).unwrap(), 4);
    // Another action for the same target is another item.
    assert!(q.add(NewItem::new("alice", "message").target("bob"), now()).unwrap().is_new());
}

#[test]
fn a_bad_field_is_named_and_an_unknown_account_says_how_to_create_it() {
    let dir = tempfile::tempdir().unwrap();
    let q = queue(dir.path());
    let err = q.add(NewItem::new("alice", "invite").target("bo\u{7}b"), now()).unwrap_err();
    assert!(err.to_string().starts_with("`target` contains the control character U+0007"), "{err}");
    let err = q.add(NewItem::new("alice", "invite").priority(12), now()).unwrap_err();
    assert!(err.to_string().contains("`priority` must be from 0 to 9"), "{err}");
    let err = q.add(NewItem::new("zed", "invite"), now()).unwrap_err();
    assert!(err.to_string().contains("pace init --account zed"), "{err}");
}

#[test]
fn an_item_in_flight_and_the_events_to_post_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let q = queue(dir.path());
        let added =
            q.add(NewItem::new("alice", "invite").target("bob").note("hi", NotePolicy::Optional), now()).unwrap();
        let pacekeeper_queue::Added::New(id) = added else { panic!() };
        let mut item = q.item(id).unwrap();
        item.state = ItemState::InFlight;
        item.request_id = Some("pq-x-1-1".into());
        let mut c = q.change();
        c.item(&item, Some(ItemState::Queued));
        c.event(Event {
            member: "alice".into(),
            kind: EventKind::InvitationAccepted,
            target: Some("bob".into()),
            at: None,
            id: None,
        });
        c.commit(true).unwrap();
        id
    };
    let q = Queue::open(dir.path()).unwrap();
    let flying = q.in_flight().unwrap();
    assert_eq!(flying.len(), 1);
    assert_eq!((flying[0].id, flying[0].request_id.as_deref()), (id, Some("pq-x-1-1")));
    assert!(q.queued(&lane(), 10).unwrap().is_empty());
    assert_eq!(q.count(&lane(), ItemState::InFlight).unwrap(), 1);
    let outbox = q.outbox(10).unwrap();
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].1.id.as_deref().is_some_and(|i| i.starts_with(&format!("pq-{}-", q.uid()))));
    // A new item after the reopen takes a fresh id.
    let pacekeeper_queue::Added::New(next) = q.add(NewItem::new("alice", "invite").target("carol"), now()).unwrap()
    else {
        panic!()
    };
    assert!(next > id);
}
