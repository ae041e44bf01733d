//! The read model over random traffic: the buckets hold exactly the observations of the last
//! 24 hours, by reason and action; memory stays bounded; the most denied members are kept;
//! the recent denials are the newest.

use jiff::Timestamp;
use pacekeeper_api::Reason;
use pacekeeper_stats::{Observation, RECENT_DENIALS, ReadModel, WINDOW_MINUTES};
use proptest::prelude::*;

const REASONS: [Reason; 4] = [Reason::Ok, Reason::LimitExceeded, Reason::Restricted, Reason::StoreUnavailable];

fn obs(second: i64, member: u8, action: u8, reason: usize, near: bool, started: bool) -> Observation {
    let reason = REASONS[reason];
    Observation {
        at: Timestamp::from_second(1_796_000_000 + second).unwrap(),
        member: format!("m{member}").into(),
        action: ["invite", "message"][action as usize % 2].into(),
        allowed: matches!(reason, Reason::Ok | Reason::StoreUnavailable),
        reason,
        limit: (!matches!(reason, Reason::Ok | Reason::StoreUnavailable)).then(|| "weekly_invitations".into()),
        near: if near { vec!["weekly_invitations".into()] } else { Vec::new() },
        restriction_started: started.then(|| "invitation_overage".into()),
    }
}

proptest! {
    #[test]
    fn the_buckets_hold_exactly_the_last_24_hours(
        traffic in proptest::collection::vec((0i64..(30 * 3600), 0u8..50, 0u8..2, 0usize..4, any::<bool>(), any::<bool>()), 1..400),
    ) {
        let mut model = ReadModel::default();
        let mut sorted = traffic.clone();
        sorted.sort_by_key(|t| t.0);
        for (s, m, a, r, n, st) in &sorted {
            model.observe(obs(*s, *m, *a, *r, *n, *st));
        }
        let last = sorted.last().unwrap().0;
        let now = Timestamp::from_second(1_796_000_000 + last).unwrap();
        let stats = model.snapshot(now);
        let cutoff_minute = (1_796_000_000 + last).div_euclid(60) - WINDOW_MINUTES;
        let inside: Vec<_> = sorted.iter().filter(|t| (1_796_000_000 + t.0).div_euclid(60) > cutoff_minute).collect();
        prop_assert!(stats.minutes.len() as i64 <= WINDOW_MINUTES);
        prop_assert_eq!(stats.minutes.iter().map(|b| b.decisions).sum::<u64>(), inside.len() as u64);
        for (i, reason) in REASONS.iter().enumerate() {
            let want = inside.iter().filter(|t| t.3 == i).count() as u64;
            let got: u64 = stats.minutes.iter().filter_map(|b| b.by_reason.get(reason.as_str())).sum();
            prop_assert_eq!(got, want, "{}", reason.as_str());
        }
        let near = inside.iter().filter(|t| t.4).count() as u64;
        prop_assert_eq!(stats.minutes.iter().map(|b| b.near_limit).sum::<u64>(), near);
        let started = inside.iter().filter(|t| t.5).count() as u64;
        prop_assert_eq!(stats.tiles.restrictions_started_24h, started);
        prop_assert_eq!(stats.restrictions_started.iter().map(|r| r.count).sum::<u64>(), started);
        prop_assert!(stats.minutes.windows(2).all(|w| w[0].minute < w[1].minute));
        prop_assert!(stats.recent_denials.len() <= RECENT_DENIALS);
        prop_assert!(stats.recent_denials.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    }
}

#[test]
fn a_member_denied_far_more_than_the_others_is_always_among_the_top() {
    let mut model = ReadModel::default();
    // 5,000 members denied once each, interleaved with one member denied 600 times.
    for i in 0..5_000u32 {
        let mut o = obs(i64::from(i), 0, 0, 1, false, false);
        o.member = format!("once-{i}").into();
        model.observe(o);
        if i % 8 == 0 {
            let mut o = obs(i64::from(i), 0, 0, 1, false, false);
            o.member = "spammer".into();
            model.observe(o);
        }
    }
    let top = model.snapshot(Timestamp::from_second(1_796_000_000 + 5_000).unwrap()).top_denied;
    assert_eq!(top[0].member, "spammer");
    assert!(top[0].denials >= 625 && top[0].denials - top[0].error <= 625, "{:?}", top[0]);
}

#[test]
fn the_tiles_read_the_last_hour() {
    let mut model = ReadModel::default();
    // Two hours ago: 10 allowed. Last hour: 6 allowed (2 near the limit), 4 denied, 1 unchecked.
    for i in 0..10 {
        model.observe(obs(i, 1, 0, 0, false, false));
    }
    for i in 0..6 {
        model.observe(obs(7_200 + i, 1, 0, 0, i < 2, false));
    }
    for i in 0..4 {
        model.observe(obs(7_300 + i, 2, 0, 1, false, i == 0));
    }
    model.observe(obs(7_400, 3, 1, 3, false, false));
    let now = Timestamp::from_second(1_796_000_000 + 7_500).unwrap();
    let t = model.snapshot(now).tiles;
    assert_eq!(t.decisions_last_hour, 11);
    assert!((t.deny_share_last_hour - 4.0 / 11.0).abs() < 1e-9);
    assert!((t.near_limit_share_last_hour - 2.0 / 11.0).abs() < 1e-9);
    assert_eq!((t.fail_open_last_hour, t.restrictions_started_24h), (1, 1));
    let json = serde_json::to_value(model.snapshot(now)).unwrap();
    assert_eq!(json["minutes"][0]["by_reason"]["ok"], 10);
}
