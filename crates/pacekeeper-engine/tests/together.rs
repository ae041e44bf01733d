//! Several requests of one member decided as one (`decide_together`): all charged or none.

mod common;

use common::*;
use pacekeeper_engine::*;

/// 99 invitations in the hours before `at`, slowly enough not to count as a burst.
fn ninety_nine_invitations_before(ada: &mut Member, at: jiff::Timestamp) {
    for h in [6, 4, 2] {
        let d = ada.decide(&costing("invite", 33), plus(at, -h * 3600));
        assert!(d.allowed, "{d:?}");
    }
}

fn costing(action: &str, cost: u64) -> DecideRequest {
    DecideRequest { cost: Some(cost), ..req(action) }
}

#[test]
fn when_every_request_fits_all_are_charged() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    let d = decide_together(&ada.policy, &mut ada.state, &[costing("invite", 3), costing("message", 2)], at).unwrap();
    assert!(d.iter().all(|d| d.allowed), "{d:?}");
    assert_eq!((ada.used("weekly_invitations", at), ada.used("hourly_messages", at)), (3, 2));
}

#[test]
fn one_denial_charges_nothing_and_the_others_say_what_they_would_get() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    ninety_nine_invitations_before(&mut ada, at);
    let d = decide_together(&ada.policy, &mut ada.state, &[costing("message", 5), costing("invite", 2)], at).unwrap();
    assert_eq!((d[0].allowed, d[1].allowed), (true, false));
    assert!(d[0].dry_run, "the allowed one was not charged: {:?}", d[0]);
    assert_eq!(d[1].reason, Reason::LimitExceeded);
    assert_eq!((ada.used("hourly_messages", at), ada.used("weekly_invitations", at)), (0, 99));
}

#[test]
fn a_denial_caused_only_by_the_batch_records_no_over_limit_attempt() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    ninety_nine_invitations_before(&mut ada, at);
    // Each fits alone; together they do not.
    let d = decide_together(&ada.policy, &mut ada.state, &[req("invite"), req("invite")], at).unwrap();
    assert!(!d[1].allowed);
    assert!(ada.decide(&req("invite"), at).allowed, "no restriction followed");
    // A request denied alone is recorded: at the limit, the first extra starts a restriction.
    let d = decide_together(&ada.policy, &mut ada.state, &[req("message"), req("invite")], at).unwrap();
    assert_eq!(d[1].retry_after, Some(7 * 86_400), "{:?}", d[1]);
    assert!(d[1].restriction.is_some(), "{:?}", d[1]);
}

#[test]
fn an_invalid_request_anywhere_is_named_and_changes_nothing() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    let before = ada.state.clone();
    let e = decide_together(&ada.policy, &mut ada.state, &[req("invite"), req("teleport")], at).unwrap_err();
    assert_eq!(e.index, 1);
    assert_eq!(e.error.field(), "action");
    ninety_nine_invitations_before(&mut ada, at);
    ada.decide(&req("invite"), at);
    let before_denial = ada.state.clone();
    let e = decide_together(&ada.policy, &mut ada.state, &[req("invite"), req("teleport")], at).unwrap_err();
    assert_eq!(e.index, 1);
    assert_eq!(ada.state, before_denial, "nothing recorded for a batch with an invalid request");
    assert_ne!(before, before_denial);
}
