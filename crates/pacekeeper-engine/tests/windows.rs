//! Every window kind: calendar boundaries across DST, sliding, rate (GCRA) and credits, with
//! `retry_after` truthful for each.

mod common;
use common::*;
use pacekeeper_engine::*;

fn views(tier: Option<&str>) -> DecideRequest {
    DecideRequest { tier: tier.map(String::from), ..req("profile_view") }
}

#[test]
fn free_members_view_150_profiles_a_day_and_sales_navigator_2000() {
    let at = t("2026-11-23T17:00:00Z");
    let mut free = Member::new("linkedin");
    for _ in 0..150 {
        assert!(free.decide(&views(None), at).allowed);
    }
    let d = free.decide(&views(None), at);
    assert_eq!((d.reason, d.limit.as_deref()), (Reason::LimitExceeded, Some("daily_profile_views")));
    assert!(d.restriction.is_none(), "profile views carry no penalty");

    let mut nav = Member::new("linkedin");
    for _ in 0..2000 {
        assert!(nav.decide(&views(Some("sales_navigator")), at).allowed);
    }
    assert!(!nav.decide(&views(Some("sales_navigator")), at).allowed);
    assert_eq!(limit(&nav.dry(&views(Some("recruiter_lite")), at), "daily_profile_views").amount, 2000);
}

#[test]
fn profile_views_reset_at_local_midnight_across_the_spring_dst_change() {
    let mut ada = Member::new("linkedin");
    // 2026-03-07 23:00 PST; Los Angeles springs forward at 02:00 on the 8th.
    let late = t("2026-03-08T07:00:00Z");
    for _ in 0..150 {
        ada.decide(&views(None), late);
    }
    let d = ada.dry(&views(None), late);
    assert_eq!(d.retry_at, Some(t("2026-03-08T08:00:00Z")), "midnight PST");
    ada.assert_retry_truthful(&views(None), late);
    // The 8th is a 23-hour day: its window ends at midnight PDT, 07:00Z on the 9th.
    let d = ada.decide(&views(None), t("2026-03-08T12:00:00Z"));
    assert_eq!(limit(&d, "daily_profile_views").resets_at, Some(t("2026-03-09T07:00:00Z")));
}

#[test]
fn profile_views_reset_at_local_midnight_across_the_autumn_dst_change() {
    let mut ada = Member::new("linkedin");
    // 2026-10-31 23:30 PDT; Los Angeles falls back at 02:00 on 1 November.
    let late = t("2026-11-01T06:30:00Z");
    for _ in 0..150 {
        ada.decide(&views(None), late);
    }
    assert_eq!(ada.dry(&views(None), late).retry_at, Some(t("2026-11-01T07:00:00Z")), "midnight PDT");
    ada.assert_retry_truthful(&views(None), late);
    // 1 November lasts 25 hours: it ends at midnight PST, 08:00Z on the 2nd.
    let d = ada.decide(&views(None), t("2026-11-01T12:00:00Z"));
    assert_eq!(limit(&d, "daily_profile_views").resets_at, Some(t("2026-11-02T08:00:00Z")));
}

#[test]
fn the_classic_week_resets_monday_0001_pacific_in_winter_and_in_summer() {
    let mut ada = Member::new("linkedin-classic");
    // Winter (PST, UTC-8): Monday 2026-03-02 00:01 is 08:01Z.
    let sun = t("2026-03-01T20:00:00Z");
    for _ in 0..300 {
        ada.invite(sun);
    }
    assert_eq!(ada.dry(&req("invite"), sun).retry_at, Some(t("2026-03-02T08:01:00Z")));
    ada.assert_retry_truthful(&req("invite"), sun);
    // The next week starts in PST and ends in PDT: Monday 2026-03-09 00:01 is 07:01Z.
    let d = ada.dry(&req("invite"), t("2026-03-05T12:00:00Z"));
    assert_eq!(limit(&d, "weekly_invitations").resets_at, Some(t("2026-03-09T07:01:00Z")));

    // Autumn: the week from Monday 2026-10-26 00:01 PDT (07:01Z) to 2026-11-02 00:01 PST (08:01Z).
    let mut bob = Member::new("linkedin-classic");
    let d = bob.invite(t("2026-10-28T12:00:00Z"));
    assert_eq!(limit(&d, "weekly_invitations").resets_at, Some(t("2026-11-02T08:01:00Z")));
    let d = bob.invite(t("2026-10-26T07:00:59Z"));
    assert_eq!(
        limit(&d, "weekly_invitations").resets_at,
        Some(t("2026-10-26T07:01:00Z")),
        "a minute before the boundary belongs to the week before"
    );
}

#[test]
fn the_classic_overage_table_gives_one_week_then_two() {
    let mut ada = Member::new("linkedin-classic");
    let at = t("2026-11-24T09:00:00Z");
    for _ in 0..300 {
        ada.invite(at);
    }
    let first = plus(at, 60);
    for i in 0..249 {
        let d = ada.invite(plus(first, i));
        assert_eq!(d.restriction.unwrap().until, Some(t("2026-12-01T09:01:00Z")), "{} extras: one week", i + 1);
    }
    let d = ada.invite(plus(first, 500));
    assert_eq!(d.restriction.unwrap().until, Some(t("2026-12-08T09:01:00Z")), "250 extras: two weeks from the first");
    assert_eq!(
        ada.dry(&req("profile_view"), plus(first, 600)).reason,
        Reason::Restricted,
        "seed 000: profile views limited too"
    );
}

const KINDS: &str = r#"
name = "kinds"
tiers = ["free"]
default_tier = "free"
actions = ["msg", "ping", "inmail"]

[[limit]]
name = "hourly"
actions = ["msg"]
window = { kind = "sliding", period = "60m", granularity = "1m" }
amount = 3

[[limit]]
name = "paced"
actions = ["ping"]
window = { kind = "rate", period = "60m", burst = 2 }
amount = 6

[[limit]]
name = "credits"
actions = ["inmail"]
window = { kind = "credits", every = "month", day = 1, zone = "UTC" }
amount = 2
"#;

#[test]
fn a_sliding_hour_never_holds_more_than_the_amount_and_frees_oldest_first() {
    let mut m = Member::with_policy(KINDS);
    let at = t("2026-11-23T10:00:30Z");
    m.decide(&req("msg"), at);
    m.decide(&req("msg"), plus(at, 600));
    m.decide(&req("msg"), plus(at, 1200));
    let now = plus(at, 1800);
    // The first message's minute bucket (10:00–10:01) leaves the hour at 11:01.
    assert_eq!(m.dry(&req("msg"), now).retry_at, Some(t("2026-11-23T11:01:00Z")));
    m.assert_retry_truthful(&req("msg"), now);
    let two = DecideRequest { cost: Some(2), ..req("msg") };
    assert_eq!(m.dry(&two, now).retry_at, Some(t("2026-11-23T11:11:00Z")), "two units wait for two buckets");
    m.assert_retry_truthful(&two, now);
}

#[test]
fn a_rate_limit_spaces_requests_evenly_after_its_burst() {
    let mut m = Member::with_policy(KINDS);
    let at = t("2026-11-23T10:00:00Z");
    assert!(m.decide(&req("ping"), at).allowed);
    assert!(m.decide(&req("ping"), at).allowed, "a burst of two");
    let d = m.dry(&req("ping"), at);
    assert_eq!(d.retry_after, Some(600), "six an hour: one every ten minutes");
    m.assert_retry_truthful(&req("ping"), at);
    assert!(m.decide(&req("ping"), plus(at, 600)).allowed);
    assert!(!m.dry(&req("ping"), plus(at, 600)).allowed);
    let three = DecideRequest { cost: Some(3), ..req("ping") };
    assert_eq!(m.dry(&three, plus(at, 3600)).retry_after, None, "more than the burst never fits");
}

#[test]
fn credits_are_spent_then_granted_again_next_month_and_topped_up_by_an_admin() {
    let mut m = Member::with_policy(KINDS);
    let at = t("2026-11-23T10:00:00Z");
    assert!(m.decide(&req("inmail"), at).allowed);
    assert!(m.decide(&req("inmail"), at).allowed);
    let d = m.dry(&req("inmail"), at);
    assert_eq!(d.retry_at, Some(t("2026-12-01T00:00:00Z")));
    m.assert_retry_truthful(&req("inmail"), at);
    assert_eq!(grant_credits(&m.policy, &mut m.state, "credits", 3).unwrap(), 3);
    for _ in 0..3 {
        assert!(m.decide(&req("inmail"), at).allowed, "bought credits");
    }
    assert!(!m.decide(&req("inmail"), at).allowed);
    assert!(grant_credits(&m.policy, &mut m.state, "hourly", 3).is_err(), "only credits limits take credits");
}

#[test]
fn inmail_credits_depend_on_the_tier_in_the_linkedin_preset() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T10:00:00Z");
    let free = ada.dry(&req("inmail"), at);
    assert_eq!((free.allowed, free.retry_after), (false, None), "free members have no InMail credits");
    let premium = DecideRequest { tier: Some("premium".into()), ..req("inmail") };
    for _ in 0..5 {
        assert!(ada.decide(&premium, at).allowed);
    }
    assert!(!ada.decide(&premium, at).allowed);
}

#[test]
fn messages_are_capped_at_20_in_any_60_minutes_for_free_and_50_for_paid() {
    let mut ada = Member::new("linkedin");
    let at = t("2026-11-23T10:00:00Z");
    for i in 0..20 {
        assert!(ada.decide(&req("message"), plus(at, i * 60)).allowed);
    }
    ada.assert_retry_truthful(&req("message"), plus(at, 1200));
    let paid = DecideRequest { tier: Some("premium".into()), ..req("message") };
    assert!(ada.decide(&paid, plus(at, 1200)).allowed, "paid tiers get 50 an hour");
}
