//! Invitations on the `linkedin` preset: the anchored week, costs, notes, withdrawals, caps.

mod common;
use common::*;
use pacekeeper_engine::*;

#[test]
fn the_101st_invitation_in_an_anchored_week_is_denied_with_the_exact_retry_time() {
    let mut ada = Member::new("linkedin");
    let first = t("2026-11-23T09:00:00Z");
    for i in 0..100 {
        // Eleven an hour keeps clear of the burst limit.
        assert!(ada.invite(plus(first, i * 330)).allowed, "invitation {} denied", i + 1);
    }
    let wed = t("2026-11-25T15:30:00Z");
    let d = ada.dry(&req("invite"), wed);
    assert_eq!(d.reason, Reason::LimitExceeded);
    assert_eq!(d.limit.as_deref(), Some("weekly_invitations"));
    assert_eq!(d.retry_at, Some(t("2026-11-30T09:00:00Z")), "the window closes 7 days after the first invitation");
    assert_eq!(d.retry_after, Some((t("2026-11-30T09:00:00Z").as_second() - wed.as_second()) as u64));
    assert_eq!(d.denial(), Some(DenialKind::TimeCures));
    ada.assert_retry_truthful(&req("invite"), wed);
}

#[test]
fn the_window_reopens_on_the_next_invitation_after_it_closes() {
    let mut ada = Member::new("linkedin");
    ada.invite(t("2026-11-23T09:00:00Z"));
    // The week closes on the 30th; nothing happens until the 2nd, which opens a new week.
    let d = ada.invite(t("2026-12-02T14:00:00Z"));
    let w = limit(&d, "weekly_invitations");
    assert_eq!((w.used, w.remaining), (1, 99));
    assert_eq!(w.resets_at, Some(t("2026-12-09T14:00:00Z")));
}

#[test]
fn the_101st_attempt_starts_a_restriction_of_seven_days_from_the_first_extra() {
    let mut ada = Member::new("linkedin");
    let first = t("2026-11-23T09:00:00Z");
    for i in 0..100 {
        ada.invite(plus(first, i * 330));
    }
    let fri = t("2026-11-27T10:00:00Z");
    let d = ada.invite(fri);
    assert_eq!(d.reason, Reason::LimitExceeded);
    let r = d.restriction.expect("a restriction");
    assert_eq!(r.until, Some(t("2026-12-04T10:00:00Z")));
    assert_eq!(
        r.blocks,
        ["invite", "inmail", "group_join"],
        "seed 000: the restriction reaches InMail and group joins"
    );
    assert_eq!(d.retry_at, Some(t("2026-12-04T10:00:00Z")), "retry waits for the restriction, not just the window");
    // After the window has closed, the restriction still blocks.
    let d = ada.invite(t("2026-12-01T10:00:00Z"));
    assert_eq!(d.reason, Reason::Restricted);
    assert_eq!(d.denial(), Some(DenialKind::TimeCures));
    assert!(ada.invite(t("2026-12-04T10:00:01Z")).allowed);
}

#[test]
fn the_250th_extra_extends_the_restriction_to_fourteen_days_from_the_first() {
    let mut ada = Member::new("linkedin");
    let first = t("2026-11-23T09:00:00Z");
    for i in 0..100 {
        ada.invite(plus(first, i * 330));
    }
    let start = t("2026-11-27T10:00:00Z");
    for i in 0..249 {
        let d = ada.invite(plus(start, i));
        assert_eq!(d.restriction.as_ref().unwrap().until, Some(t("2026-12-04T10:00:00Z")), "extra {}", i + 1);
    }
    let d = ada.invite(plus(start, 300));
    let r = d.restriction.unwrap();
    assert_eq!(r.extras, 250);
    assert_eq!(r.until, Some(t("2026-12-11T10:00:00Z")));
}

#[test]
fn withdrawing_an_invitation_does_not_lift_a_restriction() {
    let mut ada = Member::new("linkedin");
    let first = t("2026-11-23T09:00:00Z");
    for i in 0..101 {
        ada.invite(plus(first, i * 330));
    }
    ada.event(EventKind::InvitationWithdrawn, Some("someone"), t("2026-11-27T12:00:00Z"));
    assert_eq!(ada.invite(t("2026-11-27T12:01:00Z")).reason, Reason::Restricted);
}

#[test]
fn a_withdrawn_invitation_still_counts_and_blocks_reinviting_that_target_for_21_days() {
    let mut ada = Member::new("linkedin");
    let mut to = |who: &str| DecideRequest { target: Some(who.into()), ..req("invite") };
    let mon = t("2026-11-23T09:00:00Z");
    assert!(ada.decide(&to("bob"), mon).allowed);
    ada.event(EventKind::InvitationWithdrawn, Some("bob"), t("2026-11-23T10:00:00Z"));
    assert_eq!(ada.used("weekly_invitations", t("2026-11-23T10:00:00Z")), 1, "withdrawing refunds nothing");

    let d = ada.decide(&to("bob"), t("2026-11-24T10:00:00Z"));
    assert_eq!(d.reason, Reason::Cooldown);
    assert_eq!(d.retry_at, Some(t("2026-12-14T10:00:00Z")), "21 days after the withdrawal");
    assert_eq!(d.denial(), Some(DenialKind::TimeCures));
    ada.assert_retry_truthful(&to("bob"), t("2026-11-24T10:00:00Z"));

    assert!(ada.decide(&to("carol"), t("2026-11-24T10:00:00Z")).allowed, "other targets are not blocked");
    assert!(ada.decide(&to("bob"), t("2026-12-14T10:00:00Z")).allowed);
    let _ = &mut to;
}

#[test]
fn a_cost_5_invitation_with_3_remaining_is_denied_and_charges_nothing() {
    let mut ada = Member::new("linkedin");
    let mon = t("2026-11-23T09:00:00Z");
    let import = |n| DecideRequest { cost: Some(n), channel: Some("import".into()), ..req("invite") };
    assert!(ada.decide(&import(30), mon).allowed);
    assert!(ada.decide(&import(30), plus(mon, 7200)).allowed);
    assert!(ada.decide(&import(37), plus(mon, 14_400)).allowed);
    let later = plus(mon, 14_460);
    let before = ada.state.clone();
    let d = ada.dry(&import(5), later);
    assert_eq!(d.reason, Reason::LimitExceeded);
    assert_eq!(limit(&d, "weekly_invitations").remaining, 3);
    assert_eq!(before, ada.state, "a dry run changes nothing");
    let d = ada.decide(&import(5), later);
    assert!(!d.allowed);
    assert_eq!(ada.used("weekly_invitations", later), 97, "a denied request charges no limit");
    assert_eq!(ada.used("invitation_burst", later), 37, "nor the burst limit");
    assert_eq!(ada.used("pending_invitations", later), 97, "nor any gauge");
    assert_ne!(before, ada.state, "the over-limit attempt itself is recorded (it is an extra)");
    assert_eq!(ada.invite(plus(later, 1)).reason, Reason::Restricted, "the extra started the overage restriction");
}

#[test]
fn a_cost_above_the_amount_is_denied_with_no_retry_time() {
    let mut ada = Member::new("linkedin");
    let d = ada.dry(&DecideRequest { cost: Some(101), ..req("invite") }, t("2026-11-23T09:00:00Z"));
    assert!(!d.allowed);
    assert_eq!(d.retry_after, None, "waiting never makes room for 101 in a limit of 100");
    assert_eq!(d.denial(), Some(DenialKind::TimeDoesNot));
}

#[test]
fn free_members_sixth_note_in_a_month_is_denied_while_a_noteless_invitation_passes() {
    let mut ada = Member::new("linkedin");
    let with_note = DecideRequest { note: Some("Hello from the meetup".into()), ..req("invite") };
    for day in 1..=5 {
        assert!(ada.decide(&with_note, t(&format!("2026-11-0{day}T09:00:00Z"))).allowed);
    }
    let d = ada.decide(&with_note, t("2026-11-20T09:00:00Z"));
    assert_eq!(d.reason, Reason::LimitExceeded);
    assert_eq!(d.limit.as_deref(), Some("monthly_notes"));
    assert_eq!(d.retry_at, Some(t("2026-12-01T00:00:00Z")));
    assert!(d.restriction.is_none(), "running out of notes is not an overage");
    assert!(ada.invite(t("2026-11-20T09:01:00Z")).allowed, "a note-less invitation still goes through");
    assert!(ada.decide(&with_note, t("2026-12-01T00:00:00Z")).allowed, "a new month, new notes");
}

#[test]
fn premium_members_send_notes_without_a_monthly_limit() {
    let mut ada = Member::new("linkedin");
    let note = DecideRequest { note: Some("Hi".into()), tier: Some("premium".into()), ..req("invite") };
    for i in 0..12 {
        let d = ada.decide(&note, t(&format!("2026-11-{:02}T09:00:00Z", i + 1)));
        assert!(d.allowed);
        assert!(d.limits.iter().all(|l| &*l.name != "monthly_notes"), "an unlimited limit is not listed");
    }
}

#[test]
fn the_30000_connection_cap_denies_invitations_without_starting_a_restriction() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    for _ in 0..30_000 {
        ada.event(EventKind::ConnectionAdded, None, at);
    }
    let d = ada.invite(plus(at, 60));
    assert_eq!(d.reason, Reason::CapReached);
    assert_eq!(d.denial(), Some(DenialKind::TimeDoesNot));
    assert_eq!(d.retry_after, None);
    assert!(d.restriction.is_none(), "reaching a cap is not an overage");
    let d = ada.invite(plus(at, 120));
    assert_eq!(d.reason, Reason::CapReached, "and repeated attempts start none either");
    ada.event(EventKind::ConnectionRemoved, None, plus(at, 180));
    assert!(ada.invite(plus(at, 240)).allowed);
}

#[test]
fn pending_invitations_are_capped_and_freed_by_outcomes() {
    let mut ada =
        Member::with_policy(&Policy::preset_source("linkedin").unwrap().replace("amount = 1000\n", "amount = 3\n"));
    let at = t("2026-11-23T09:00:00Z");
    for i in 0..3 {
        assert!(ada.invite(plus(at, i)).allowed);
    }
    assert_eq!(ada.invite(plus(at, 10)).reason, Reason::CapReached);
    ada.event(EventKind::InvitationIgnored, Some("x"), plus(at, 20));
    assert!(ada.invite(plus(at, 30)).allowed);
}

#[test]
fn a_tier_change_mid_week_takes_effect_at_once() {
    let mut ada = Member::new("linkedin");
    let mon = t("2026-11-23T09:00:00Z");
    for i in 0..100 {
        ada.invite(plus(mon, i * 330));
    }
    let wed = t("2026-11-25T09:00:00Z");
    assert!(!ada.dry(&req("invite"), wed).allowed);
    let premium = DecideRequest { tier: Some("premium".into()), ..req("invite") };
    let d = ada.decide(&premium, wed);
    assert!(d.allowed);
    assert_eq!((limit(&d, "weekly_invitations").used, limit(&d, "weekly_invitations").amount), (101, 200));
    // And through the member record, as an admin would set it.
    update_member(&ada.policy, &mut ada.state, &MemberUpdate { tier: Some("free".into()), ..Default::default() })
        .unwrap();
    assert!(!ada.dry(&req("invite"), wed).allowed, "back on free, 101 is over 100");
}

#[test]
fn every_channel_counts_toward_the_same_quota() {
    let mut ada = Member::new("linkedin-classic");
    let at = t("2026-11-24T09:00:00Z");
    for (i, ch) in ["profile", "import", "sales_navigator", "api"].iter().enumerate() {
        let d = ada.decide(&DecideRequest { channel: Some(ch.to_string()), ..req("invite") }, plus(at, i as i64));
        assert_eq!(limit(&d, "weekly_invitations").used, i as u64 + 1);
    }
    let err = decide(&ada.policy, &mut ada.state, &DecideRequest { channel: Some("fax".into()), ..req("invite") }, at)
        .unwrap_err();
    assert_eq!(err.field(), "channel");
}

#[test]
fn a_per_member_override_replaces_the_policy_amount() {
    let mut ada = Member::new("linkedin");
    let mut o = std::collections::BTreeMap::new();
    o.insert("weekly_invitations".to_string(), Some(AmountValue::Number(3)));
    update_member(&ada.policy, &mut ada.state, &MemberUpdate { overrides: Some(o), ..Default::default() }).unwrap();
    let at = t("2026-11-23T09:00:00Z");
    for _ in 0..3 {
        assert!(ada.invite(at).allowed);
    }
    assert!(!ada.dry(&req("invite"), at).allowed);
    let mut bad = std::collections::BTreeMap::new();
    bad.insert("weekly_invites".to_string(), None);
    let err = update_member(&ada.policy, &mut ada.state, &MemberUpdate { overrides: Some(bad), ..Default::default() })
        .unwrap_err();
    assert!(err.to_string().contains("weekly_invitations"), "the error lists the real names: {err}");
}

#[test]
fn young_accounts_stay_at_the_basic_amount_even_with_good_reputation() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T09:00:00Z");
    for i in 0..30 {
        ada.event(EventKind::InvitationAccepted, Some(&format!("p{i}")), at);
    }
    assert_eq!(limit(&ada.dry(&req("invite"), at), "weekly_invitations").amount, 200, "good reputation: 200");
    update_member(
        &ada.policy,
        &mut ada.state,
        &MemberUpdate { created_at: Some(t("2026-11-10T00:00:00Z")), ..Default::default() },
    )
    .unwrap();
    assert_eq!(limit(&ada.dry(&req("invite"), at), "weekly_invitations").amount, 100, "a 13-day-old account: 100");
    assert_eq!(limit(&ada.dry(&req("invite"), t("2026-12-10T00:00:00Z")), "weekly_invitations").amount, 200);
}
