//! Invariants under random traffic, checked against independent reference models:
//! no window of any kind ever admits more than its amount; denied requests leave usage
//! unchanged; dry runs change nothing; the state stays bounded.

mod common;
use common::*;
use pacekeeper_engine::*;
use proptest::prelude::*;

const ALL_KINDS: &str = r#"
name = "all-kinds"
tiers = ["free"]
default_tier = "free"
actions = ["anch", "cal", "slide", "rate", "all"]

[[limit]]
name = "anchored"
actions = ["anch", "all"]
window = { kind = "anchored", period = "1h" }
amount = 9

[[limit]]
name = "calendar"
actions = ["cal", "all"]
window = { kind = "calendar", every = "day", zone = "UTC" }
amount = 25

[[limit]]
name = "sliding"
actions = ["slide", "all"]
window = { kind = "sliding", period = "30m", granularity = "5m" }
amount = 6

[[limit]]
name = "rate"
actions = ["rate", "all"]
window = { kind = "rate", period = "60m", burst = 3 }
amount = 6
"#;

const ACTIONS: [&str; 5] = ["anch", "cal", "slide", "rate", "all"];

#[derive(Debug, Clone)]
struct Step {
    action: usize,
    gap: i64,
    cost: u64,
    dry: bool,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            0usize..5,
            prop_oneof![3 => 0i64..120, 2 => 0i64..1800, 1 => 0i64..20_000],
            1u64..4,
            prop::bool::weighted(0.15),
        )
            .prop_map(|(action, gap, cost, dry)| Step { action, gap, cost, dry }),
        1..250,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_window_of_any_kind_ever_admits_more_than_its_amount(steps in steps()) {
        let mut m = Member::with_policy(ALL_KINDS);
        let mut now = t("2026-11-23T22:00:00Z");
        // Admitted (instant, cost) per limit: index 0 anchored, 1 calendar, 2 sliding, 3 rate.
        let mut counted: [Vec<(i64, u64)>; 4] = Default::default();
        for s in &steps {
            now = plus(now, s.gap);
            let r = DecideRequest { cost: Some(s.cost), dry_run: s.dry, ..req(ACTIONS[s.action]) };
            let d = m.decide(&r, now);
            if d.allowed && !s.dry {
                for (i, c) in counted.iter_mut().enumerate() {
                    if s.action == i || s.action == 4 {
                        c.push((now.as_second(), s.cost));
                    }
                }
            }
        }
        let [anchored, calendar, sliding, rate] = counted;
        // Anchored: replay the admitted requests through the rule "a window opens at the first
        // counted request and closes an hour later".
        let mut open: Option<(i64, u64)> = None;
        for &(at, c) in &anchored {
            let (start, used) = match open { Some((s, u)) if at < s + 3600 => (s, u), _ => (at, 0) };
            prop_assert!(used + c <= 9, "anchored window from {start} holds {}", used + c);
            open = Some((start, used + c));
        }
        // Calendar: per UTC day.
        let mut days = std::collections::HashMap::new();
        for &(at, c) in &calendar {
            *days.entry(at.div_euclid(86_400)).or_insert(0u64) += c;
        }
        prop_assert!(days.values().all(|&u| u <= 25), "{days:?}");
        // Sliding: every trailing 30 minutes.
        for &(at, _) in &sliding {
            let sum: u64 = sliding.iter().filter(|(x, _)| *x > at - 1800 && *x <= at).map(|(_, c)| c).sum();
            prop_assert!(sum <= 6, "{sum} in the 30 minutes before {at}");
        }
        // Rate: between any two admitted requests, at most the burst plus one per 10 minutes.
        for i in 0..rate.len() {
            let mut sum = 0;
            for j in i..rate.len() {
                sum += rate[j].1;
                let span = rate[j].0 - rate[i].0;
                prop_assert!(sum <= 3 + (span / 600) as u64, "{sum} admitted within {span}s");
            }
        }
    }

    #[test]
    fn denied_requests_leave_usage_unchanged_and_dry_runs_change_nothing(steps in steps()) {
        let mut m = Member::with_policy(ALL_KINDS);
        let mut now = t("2026-11-23T22:00:00Z");
        for s in &steps {
            now = plus(now, s.gap);
            let before_state = m.state.clone();
            let before = member_view(&m.policy, &m.state, now).limits;
            let d = m.decide(&DecideRequest { cost: Some(s.cost), dry_run: s.dry, ..req(ACTIONS[s.action]) }, now);
            let after = member_view(&m.policy, &m.state, now).limits;
            if s.dry {
                prop_assert_eq!(&before_state, &m.state);
            } else if !d.allowed {
                prop_assert_eq!(before, after);
            } else {
                // Allowed: every limit charged, all together.
                // The view lists limits in policy order: the same order as ACTIONS.
                for (i, (b, a)) in before.iter().zip(&after).enumerate() {
                    let counts = s.action == i || s.action == 4;
                    if b.kind != "rate" && counts {
                        prop_assert_eq!(a.used, b.used + s.cost, "{} not charged in full", a.name);
                    }
                }
            }
        }
    }

    #[test]
    fn retry_after_is_truthful_for_every_denial(steps in steps()) {
        let mut m = Member::with_policy(ALL_KINDS);
        let mut now = t("2026-11-23T22:00:00Z");
        for s in &steps {
            now = plus(now, s.gap);
            let r = DecideRequest { cost: Some(s.cost), ..req(ACTIONS[s.action]) };
            let d = m.dry(&r, now);
            if let Some(wait) = d.retry_after {
                let wait = wait as i64;
                prop_assert!(!m.dry(&r, plus(now, wait - 1)).allowed, "allowed a second early");
                prop_assert!(m.dry(&r, plus(now, wait)).allowed, "denied at retry_after");
            }
            m.decide(&r, now);
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Decide { action: usize, target: u8, note: u8, cost: u64 },
    Event { kind: usize, target: u8 },
}

fn ops() -> impl Strategy<Value = Vec<(i64, Op)>> {
    let op = prop_oneof![
        4 => (0usize..7, 0u8..60, 0u8..10, 1u64..3).prop_map(|(action, target, note, cost)| Op::Decide { action, target, note, cost }),
        1 => (0usize..9, 0u8..60).prop_map(|(kind, target)| Op::Event { kind, target }),
    ];
    prop::collection::vec((prop_oneof![4 => 0i64..600, 1 => 0i64..86_400], op), 500..1500)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn member_state_stays_bounded_under_long_random_traffic(ops in ops()) {
        let policy = Policy::preset("linkedin").unwrap();
        let actions: Vec<&str> = policy.action_names().collect();
        let mut st = MemberState::default();
        let mut now = t("2026-01-01T00:00:00Z");
        let mut largest = 0;
        for (i, (gap, op)) in ops.iter().enumerate() {
            now = plus(now, *gap);
            match op {
                Op::Decide { action, target, note, cost } => {
                    let r = DecideRequest {
                        member: "m".into(),
                        action: actions[*action].into(),
                        target: Some(format!("t{target}")),
                        note: (*note == 0).then(|| "hello".to_string()),
                        cost: Some(*cost),
                        request_id: Some(format!("r{i}")),
                        ..Default::default()
                    };
                    decide(&policy, &mut st, &r, now).unwrap();
                }
                Op::Event { kind, target } => {
                    let ev = Event { member: "m".into(), kind: EventKind::ALL[*kind], target: Some(format!("t{target}")), at: None, id: Some(format!("e{i}")) };
                    apply_event(&policy, &mut st, &ev, now).unwrap();
                }
            }
            largest = largest.max(st.encode().len());
        }
        prop_assert!(largest <= 4096, "state grew to {largest} bytes");
    }
}
