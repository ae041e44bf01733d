//! Escalation, bursts, reputation and verification.

mod common;
use common::*;
use pacekeeper_engine::*;

fn burst(ada: &mut Member, at: jiff::Timestamp) -> Decision {
    // 40 invitations fit in the sliding hour; the 41st trips the burst penalty.
    for i in 0..40 {
        assert!(ada.invite(plus(at, i)).allowed, "invitation {} in the burst", i + 1);
    }
    ada.invite(plus(at, 40))
}

#[test]
fn a_burst_below_the_weekly_quota_starts_a_restriction_on_the_escalation_ladder() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    let d = burst(&mut ada, at);
    assert_eq!((d.reason, d.limit.as_deref()), (Reason::LimitExceeded, Some("invitation_burst")));
    let r = d.restriction.expect("burst restriction");
    assert_eq!(r.kind, RestrictionKind::Escalation);
    assert_eq!(r.until, Some(plus(at, 40 + 6 * 3600)), "first offence: 6 hours");
    assert_eq!(ada.invite(plus(at, 3600)).reason, Reason::Restricted);
    assert!(ada.invite(plus(at, 40 + 6 * 3600)).allowed);
}

#[test]
fn repeated_offences_climb_the_ladder_and_decay_after_a_clean_month() {
    let mut ada = Member::new("linkedin");
    let day1 = t("2026-11-23T09:00:00Z");
    assert_eq!(burst(&mut ada, day1).restriction.unwrap().until, Some(plus(day1, 40 + 6 * 3600)));
    let day2 = t("2026-11-24T09:00:00Z");
    let second = burst(&mut ada, day2).restriction.unwrap();
    assert_eq!(second.until, Some(plus(day2, 40 + 3 * 86_400)), "second offence: 3 days");
    let day6 = t("2026-11-28T09:00:00Z");
    // 40 more this week would pass 100: a paid tier keeps the weekly limit out of the way.
    let premium = |m: &mut Member, at| m.decide(&DecideRequest { tier: Some("premium".into()), ..req("invite") }, at);
    for i in 0..40 {
        assert!(premium(&mut ada, plus(day6, i)).allowed);
    }
    let third = premium(&mut ada, plus(day6, 40)).restriction.unwrap();
    assert_eq!(third.until, Some(plus(day6, 40 + 7 * 86_400)), "third offence: 7 days");
    assert_eq!(member_view(&ada.policy, &ada.state, plus(day6, 41)).offences, 3);
    // Two clean months forgive two offences: the next burst is back on the second step.
    let later = t("2027-02-10T09:00:00Z");
    assert_eq!(member_view(&ada.policy, &ada.state, later).offences, 1);
    let again = burst(&mut ada, later).restriction.unwrap();
    assert_eq!(again.until, Some(plus(later, 40 + 3 * 86_400)));
}

#[test]
fn i_dont_know_reports_lower_the_weekly_amount() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    assert_eq!(limit(&ada.dry(&req("invite"), at), "weekly_invitations").amount, 100, "no history: the basic amount");
    for i in 0..5 {
        ada.event(EventKind::InvitationReportedUnknown, Some(&format!("p{i}")), at);
    }
    assert_eq!(
        limit(&ada.dry(&req("invite"), at), "weekly_invitations").amount,
        50,
        "poor reputation shrinks the limit"
    );
    let view = member_view(&ada.policy, &ada.state, at);
    assert_eq!((view.reputation.level, view.reputation.reported_unknown), (Level::Poor, 5));
    // Reports age out of the 90-day horizon.
    assert_eq!(limit(&ada.dry(&req("invite"), t("2027-03-01T09:00:00Z")), "weekly_invitations").amount, 100);
}

#[test]
fn too_many_i_dont_know_reports_require_verification() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    for i in 0..9 {
        ada.event(EventKind::InvitationReportedUnknown, Some(&format!("p{i}")), at);
    }
    // From 7 reports each invitation needs the recipient's e-mail (see challenges.rs).
    let with_proof = DecideRequest { challenge_passed: Some("recipient_email".into()), ..req("invite") };
    assert!(ada.dry(&with_proof, at).allowed);
    let ack = ada.event(EventKind::InvitationReportedSpam, Some("p9"), at);
    assert!(ack.effects.iter().any(|e| e.contains("restriction imposed: verification")), "{ack:?}");
    let d = ada.dry(&req("invite"), t("2027-06-01T00:00:00Z"));
    assert_eq!(
        (d.reason, d.denial(), d.retry_after),
        (Reason::VerificationRequired, Some(DenialKind::TimeDoesNot), None),
        "time alone does not cure it"
    );
    ada.event(EventKind::VerificationPassed, None, t("2027-06-01T00:00:00Z"));
    assert!(ada.dry(&req("invite"), t("2027-06-01T00:00:01Z")).allowed);
}

#[test]
fn good_reputation_raises_the_weekly_amount_to_200() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    for i in 0..20 {
        let kind = if i < 12 { EventKind::InvitationAccepted } else { EventKind::InvitationIgnored };
        ada.event(kind, Some(&format!("p{i}")), at);
    }
    assert_eq!(limit(&ada.dry(&req("invite"), at), "weekly_invitations").amount, 200);
}

#[test]
fn a_link_in_a_note_requires_verification_until_verification_passed() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    let linked = DecideRequest { note: Some("My portfolio: https://ada.example/work".into()), ..req("invite") };
    let d = ada.decide(&linked, at);
    assert_eq!((d.reason, d.denial()), (Reason::VerificationRequired, Some(DenialKind::TimeDoesNot)));
    assert_eq!(d.restriction.as_ref().unwrap().until, None);
    assert_eq!(ada.used("weekly_invitations", at), 0, "the linked invitation was not sent");
    // Everything the penalty blocks waits for verification, however long.
    assert_eq!(ada.dry(&req("invite"), t("2027-01-01T00:00:00Z")).reason, Reason::VerificationRequired);
    assert_eq!(ada.dry(&req("message"), t("2027-01-01T00:00:00Z")).reason, Reason::VerificationRequired);
    assert!(ada.dry(&req("profile_view"), t("2027-01-01T00:00:00Z")).allowed, "outside its scope");
    let ack = ada.event(EventKind::VerificationPassed, None, t("2027-01-01T00:00:00Z"));
    assert_eq!(ack.effects, ["1 verification restriction(s) lifted"]);
    assert!(ada.invite(t("2027-01-01T00:00:01Z")).allowed);
    let view = member_view(&ada.policy, &ada.state, t("2027-01-01T00:00:01Z"));
    assert_eq!(view.history.len(), 1);
    assert_eq!(view.history[0].ending, Ending::Verified);
}

#[test]
fn links_are_recognised_in_their_common_shapes() {
    for note in
        ["see https://x.io", "HTTP://A.B", "www.example.com", "bit.ly/abc", "mail me: ada.dev/contact", "(acme.com)"]
    {
        assert!(contains_link(note), "{note}");
    }
    for note in ["Hi Ada, loved the talk.", "e.g. the 2.5 release", "Mr.Smith said hello", "see you at 10.30"] {
        assert!(!contains_link(note), "{note}");
    }
}

#[test]
fn an_admin_lift_ends_a_restriction_and_keeps_it_in_the_history() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    burst(&mut ada, at);
    assert_eq!(lift(&ada.policy, &mut ada.state, plus(at, 100)), 1);
    assert!(ada.invite(plus(at, 3700)).allowed);
    let view = member_view(&ada.policy, &ada.state, plus(at, 3700));
    assert_eq!(view.history[0].ending, Ending::Lifted);
}

#[test]
fn history_survives_as_long_as_the_member_id_does() {
    // Seed 000: deleting and re-creating an account keeps the history, because state is keyed by
    // the stable member id: only an explicit erase (dropping the state) forgets it.
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    burst(&mut ada, at);
    let bytes = ada.state.encode();
    let restored = MemberState::decode(&bytes).unwrap();
    assert_eq!(member_view(&ada.policy, &restored, plus(at, 60)).restrictions.len(), 1);
}
