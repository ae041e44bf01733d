//! The member state value, idempotent request ids, dry runs and request validation.

mod common;
use common::*;
use pacekeeper_engine::*;

#[test]
fn state_round_trips_through_its_encoding_and_rejects_garbage() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    ada.decide(
        &DecideRequest {
            note: Some("hi".into()),
            target: Some("bob".into()),
            request_id: Some("r1".into()),
            ..req("invite")
        },
        at,
    );
    ada.event(EventKind::InvitationWithdrawn, Some("bob"), at);
    ada.decide(&req("message"), at);
    let bytes = ada.state.encode();
    assert_eq!(bytes[0], STATE_VERSION);
    assert_eq!(MemberState::decode(&bytes).unwrap(), ada.state);
    assert!(matches!(MemberState::decode(&[]), Err(StateError::Empty)));
    assert!(matches!(MemberState::decode(&[99, 1, 2]), Err(StateError::Version(99))));
    assert!(matches!(MemberState::decode(&[STATE_VERSION, 0xff, 0xff]), Err(StateError::Corrupt(_))));
}

#[test]
fn a_repeated_request_id_returns_the_first_decision_without_charging_twice() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    let r = DecideRequest { request_id: Some("send-42".into()), ..req("invite") };
    let first = ada.decide(&r, at);
    let again = ada.decide(&r, plus(at, 5));
    assert!(first.allowed && again.allowed && again.duplicate);
    assert_eq!(ada.used("weekly_invitations", plus(at, 5)), 1);
    // A denied first answer is repeated as denied, even once there would be room.
    let mut bob = Member::new("linkedin");
    let linked = DecideRequest { note: Some("www.bob.example".into()), request_id: Some("x".into()), ..req("invite") };
    assert_eq!(bob.decide(&linked, at).reason, Reason::VerificationRequired);
    lift(&bob.policy, &mut bob.state, plus(at, 1));
    let d = bob.decide(&linked, plus(at, 2));
    assert_eq!((d.reason, d.duplicate), (Reason::VerificationRequired, true));
    // After the idempotency window (24 h) the id is forgotten.
    let d = ada.decide(&r, plus(at, 86_400));
    assert!(!d.duplicate);
    assert_eq!(ada.used("weekly_invitations", plus(at, 86_400)), 2);
}

#[test]
fn a_dry_run_changes_nothing_at_all() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    for i in 0..100 {
        ada.invite(plus(at, i * 120));
    }
    let before = ada.state.clone();
    for (i, r) in [
        req("invite"),
        DecideRequest { note: Some("https://x.io".into()), ..req("invite") },
        DecideRequest { request_id: Some("a".into()), ..req("message") },
        req("profile_view"),
    ]
    .iter()
    .enumerate()
    {
        let d = ada.dry(r, plus(at, 86_400 * (i as i64 + 1) * 3));
        assert!(d.dry_run);
    }
    assert_eq!(before, ada.state, "not even an over-limit record, a verification or a request id");
}

#[test]
fn bad_requests_are_refused_with_the_field_and_change_nothing() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    ada.invite(at);
    let before = ada.state.clone();
    let cases = [
        (req("invitation"), "action", "unknown action `invitation`"),
        (DecideRequest { tier: Some("gold".into()), ..req("invite") }, "tier", "unknown tier `gold`"),
        (DecideRequest { cost: Some(0), ..req("invite") }, "cost", "cost must be between 1 and 1000000"),
        (DecideRequest { channel: Some("fax".into()), ..req("invite") }, "channel", "unknown channel"),
    ];
    for (r, field, text) in cases {
        let e = decide(&ada.policy, &mut ada.state, &r, at).unwrap_err();
        assert_eq!(e.field(), field);
        assert!(e.to_string().contains(text), "{e}");
    }
    let ev = Event { member: "ada".into(), kind: EventKind::InvitationWithdrawn, target: None, at: None, id: None };
    let e = apply_event(&ada.policy, &mut ada.state, &ev, at).unwrap_err();
    assert_eq!(e.field(), "target");
    assert_eq!(before, ada.state);
}

#[test]
fn a_repeated_event_id_is_acknowledged_once() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    let ev =
        Event { member: "ada".into(), kind: EventKind::ConnectionAdded, target: None, at: None, id: Some("e1".into()) };
    assert!(!apply_event(&ada.policy, &mut ada.state, &ev, at).unwrap().duplicate);
    assert!(apply_event(&ada.policy, &mut ada.state, &ev, at).unwrap().duplicate);
    let view = member_view(&ada.policy, &ada.state, at);
    assert_eq!(view.gauges.iter().find(|g| g.name == "connections").unwrap().value, 1);
}

#[test]
fn decisions_warn_as_a_limit_nears_its_end() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    for i in 0..79 {
        assert!(ada.invite(plus(at, i * 120)).warnings.is_empty());
    }
    let d = ada.invite(plus(at, 79 * 120));
    assert_eq!(d.warnings.len(), 1);
    assert_eq!((&*d.warnings[0].limit, d.warnings[0].used, d.warnings[0].amount), ("weekly_invitations", 80, 100));
}

#[test]
fn a_member_never_seen_gets_the_basic_amount_of_the_default_tier() {
    let policy = Policy::preset("linkedin").unwrap();
    let view = member_view(&policy, &MemberState::default(), t("2026-11-23T09:00:00Z"));
    assert_eq!(view.tier, "free");
    let w = view.limits.iter().find(|l| &*l.name == "weekly_invitations").unwrap();
    assert_eq!((w.amount, w.used, w.remaining), (100, 0, 100));
    assert!(MemberState::default().is_empty());
}

#[test]
fn a_quiet_member_expires_and_its_state_shrinks_back_to_nothing() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    ada.decide(&DecideRequest { target: Some("b".into()), request_id: Some("r".into()), ..req("invite") }, at);
    ada.decide(&req("message"), at);
    let exp = ada.state.expires_at(&ada.policy);
    assert!(exp.is_none(), "the pending-invitation gauge has no expiry");
    ada.event(EventKind::InvitationDeclined, Some("b"), at);
    let exp = ada.state.expires_at(&ada.policy).expect("nothing left without an expiry");
    assert!(exp > at.as_millisecond(), "still within its windows");
    // A year later, a decision prunes everything that expired.
    ada.dry(&req("invite"), t("2027-12-01T00:00:00Z"));
    ada.decide(&req("follow"), t("2027-12-01T00:00:00Z"));
    assert!(ada.state.encode().len() < 16, "{:?}", ada.state);
}
