//! The pacing core's promises over random hours, instants and answers: nothing outside
//! working hours, nothing before a retry time, no pause ever shortened, never more than the
//! daily target in a working day.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use pacekeeper_api::Reason;
use pacekeeper_pacer::{Lane, LearnedLimit, Outcome, Reaction, Stop, WorkingHours};
use proptest::prelude::*;

const ZONES: &[&str] = &["UTC", "Europe/Paris", "America/Los_Angeles", "Asia/Kolkata", "Australia/Lord_Howe"];
const DAYS: [Weekday; 7] = pacekeeper_pacer::WEEKDAYS;

fn hours() -> impl Strategy<Value = WorkingHours> {
    (0..ZONES.len(), 1u8..128, 0i8..22, 1i8..10).prop_map(|(z, mask, start, len)| {
        let days: Vec<Weekday> = (0..7).filter(|i| mask & (1 << i) != 0).map(|i| DAYS[i]).collect();
        let end = Time::new((start + len).min(23), 59, 0, 0).unwrap();
        WorkingHours::new(ZONES[z], &days, Time::new(start, 0, 0, 0).unwrap(), end).unwrap()
    })
}

/// Instants over 2026–2027, DST changes included.
fn instant() -> impl Strategy<Value = Timestamp> {
    (1_767_225_600i64..1_830_297_600).prop_map(|s| Timestamp::from_second(s).unwrap())
}

fn outcome() -> impl Strategy<Value = Outcome> {
    let reason = prop_oneof![
        Just(Reason::LimitExceeded),
        Just(Reason::Restricted),
        Just(Reason::Cooldown),
        Just(Reason::CapReached),
        Just(Reason::VerificationRequired),
    ];
    prop_oneof![
        (proptest::option::of(0u64..5), proptest::option::of(0u64..200_000)).prop_map(|(remaining, reset)| {
            Outcome::Allowed { remaining, reset: reset.map(Duration::from_secs), limit: None }
        }),
        (reason, proptest::option::of(0u64..2_000_000), any::<bool>(), any::<bool>()).prop_map(
            |(reason, r, notes, with_note)| {
                let limit = Some(if notes { "monthly_notes" } else { "weekly_invitations" }.to_string());
                Outcome::Denied { reason, retry_after: r.map(Duration::from_secs), limit, with_note }
            }
        ),
        Just(Outcome::Failed),
    ]
}

proptest! {
    #[test]
    fn a_slot_is_in_working_hours_and_after_now_and_any_pause(
        h in hours(), now in instant(), pause in proptest::option::of(instant()), target in 1u32..60, seed: u64,
    ) {
        let mut lane = Lane::new(target);
        if let Some(p) = pause {
            lane.pause_until(p);
        }
        let slot = lane.next_slot(&h, now, &mut fastrand::Rng::with_seed(seed)).unwrap();
        prop_assert!(h.is_open(slot), "{slot} is outside working hours");
        prop_assert!(slot >= now);
        prop_assert!(pause.is_none_or(|p| slot >= p));
    }

    #[test]
    fn no_answer_shortens_a_pause_or_comes_back_before_the_retry_time(
        outcomes in proptest::collection::vec(outcome(), 1..40), start in instant(), seed: u64,
    ) {
        let mut lane = Lane::new(20);
        lane.note_limits = vec!["monthly_notes".into()];
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut now = start;
        for o in &outcomes {
            let before = lane.paused_until;
            let notes_before = lane.notes_until;
            let r = lane.react(o, now, &mut rng);
            prop_assert!(before.is_none_or(|b| lane.paused_until.is_some_and(|p| p >= b)), "a pause was shortened");
            prop_assert!(notes_before.is_none_or(|b| lane.notes_until.is_some_and(|p| p >= b)), "a note pause was shortened");
            if let Reaction::NotesWait(_) = r {
                prop_assert_eq!(lane.paused_until, before, "a note allowance never holds the lane");
            }
            if let (Outcome::Denied { retry_after: Some(d), .. }, Reaction::LaneWaits(at) | Reaction::ScopeWaits(at) | Reaction::ItemWaits(at) | Reaction::NotesWait(at)) = (o, &r) {
                prop_assert!(*at >= now.checked_add(*d).unwrap(), "back before the retry time");
            }
            match (o, &r) {
                (Outcome::Denied { reason: Reason::CapReached, .. }, _) => prop_assert_eq!(lane.stop, Some(Stop::UntilEvent)),
                (Outcome::Denied { reason: Reason::VerificationRequired, .. }, _) => prop_assert_eq!(r.clone(), Reaction::NeedsHuman),
                _ => {}
            }
            lane.stop = None;
            now = now.checked_add(jiff::SignedDuration::from_secs(37)).unwrap();
        }
    }

    #[test]
    fn following_the_slots_never_exceeds_the_daily_target(h in hours(), start in instant(), target in 1u32..30, seed: u64) {
        let mut lane = Lane::new(target);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut now = start;
        let mut per_day: HashMap<jiff::civil::Date, u32> = HashMap::new();
        for _ in 0..200 {
            let slot = lane.next_slot(&h, now, &mut rng).unwrap();
            prop_assert!(slot >= now && h.is_open(slot));
            lane.record_send(slot, &h);
            lane.react(&Outcome::Allowed { remaining: None, reset: None, limit: None }, slot, &mut rng);
            *per_day.entry(h.date_of(slot)).or_default() += 1;
            now = slot;
        }
        prop_assert!(per_day.values().all(|&n| n <= target), "{per_day:?}");
    }

    #[test]
    fn following_the_slots_never_exceeds_a_learned_amount_in_any_window(
        h in hours(), start in instant(), seed: u64,
        limits in proptest::collection::vec((1u64..12, 60u64..800_000), 1..3), target in 1u32..40,
    ) {
        let mut lane = Lane::new(target);
        for (i, (amount, secs)) in limits.iter().enumerate() {
            lane.learned.learn(LearnedLimit { name: Some(format!("l{i}")), amount: *amount, window: Duration::from_secs(*secs) });
        }
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut sends: Vec<Timestamp> = Vec::new();
        let mut now = start;
        for _ in 0..120 {
            let slot = lane.next_slot(&h, now, &mut rng).unwrap();
            prop_assert!(slot >= now && h.is_open(slot));
            lane.record_send(slot, &h);
            sends.push(slot);
            now = slot;
        }
        for (amount, secs) in &limits {
            let w = jiff::SignedDuration::from_secs(*secs as i64);
            for (i, s) in sends.iter().enumerate() {
                let end = s.checked_add(w).unwrap();
                let n = sends[i..].iter().take_while(|t| **t < end).count() as u64;
                prop_assert!(n <= *amount, "{n} sends within {secs} s from {s}, learned {amount}");
            }
        }
    }
}

#[test]
fn a_working_day_starting_in_a_dst_gap_starts_when_the_clock_resumes() {
    let h = WorkingHours::new("Europe/Paris", &DAYS, Time::constant(2, 30, 0, 0), Time::constant(10, 0, 0, 0)).unwrap();
    // 2026-03-29: Paris clocks go from 02:00 to 03:00; 02:30 does not exist that day.
    let night: Timestamp = "2026-03-28T23:00:00Z".parse().unwrap();
    let slot = Lane::new(1).next_slot(&h, night, &mut fastrand::Rng::with_seed(1)).unwrap();
    assert!(slot >= "2026-03-29T01:00:00Z".parse().unwrap(), "{slot}");
    assert!(slot < "2026-03-29T08:00:00Z".parse().unwrap(), "{slot}");
}

#[test]
fn the_same_seed_plans_the_same_slots() {
    let h =
        WorkingHours::new("Europe/Paris", &DAYS[..5], Time::constant(9, 0, 0, 0), Time::constant(17, 0, 0, 0)).unwrap();
    let plan = |seed| {
        let (mut lane, mut rng) = (Lane::new(20), fastrand::Rng::with_seed(seed));
        let mut now: Timestamp = "2026-11-23T08:00:00Z".parse().unwrap();
        (0..50)
            .map(|_| {
                now = lane.next_slot(&h, now, &mut rng).unwrap();
                lane.record_send(now, &h);
                now
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(plan(42), plan(42));
    assert_ne!(plan(42), plan(43));
}

mod warmup {
    use pacekeeper_pacer::Warmup;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn the_allowance_grows_only_while_acceptance_holds_and_falls_after_a_restriction(
            days in proptest::collection::vec((0u32..40, 0u32..40), 1..40), target in 1u32..200,
        ) {
            let mut w = Warmup::default();
            let mut date = jiff::civil::date(2026, 11, 2);
            let mut last = w.allowance(target);
            prop_assert!(last >= 1 && last <= target);
            for (decided, accepted) in days {
                let accepted = accepted.min(decided);
                let before = w.day;
                w.end_of_day(date, decided, accepted);
                w.end_of_day(date, decided, accepted); // the same day counts once
                let low = decided >= w.min_sample && f64::from(accepted) < w.min_acceptance * f64::from(decided);
                prop_assert!(w.day <= before + 1);
                if low {
                    prop_assert_eq!(w.day, before, "a low acceptance rate holds the ramp");
                }
                let now = w.allowance(target);
                prop_assert!(now >= last && now <= target);
                last = now;
                date = date.tomorrow().unwrap();
            }
            let reached = w.day;
            w.restricted();
            prop_assert!(w.day <= reached / 2 + reached % 2 && (reached == 0 || w.day < reached));
        }

        #[test]
        fn a_lane_under_a_warmup_never_exceeds_its_allowance(h in hours(), start in instant(), day in 0u32..14, seed: u64) {
            let mut w = Warmup::default();
            w.day = day;
            let allowance = w.allowance(50);
            let (mut lane, mut rng) = (Lane::new(50), fastrand::Rng::with_seed(seed));
            let mut per_day: HashMap<jiff::civil::Date, u32> = HashMap::new();
            let mut now = start;
            for _ in 0..100 {
                let slot = lane.next_slot_within(&h, now, allowance, &mut rng).unwrap();
                lane.record_send(slot, &h);
                *per_day.entry(h.date_of(slot)).or_default() += 1;
                now = slot;
            }
            prop_assert!(per_day.values().all(|&n| n <= allowance), "{per_day:?} over {allowance}");
        }
    }

    #[test]
    fn the_ramp_goes_from_a_fifth_to_the_whole_target_in_fourteen_days() {
        let mut w = Warmup::default();
        assert_eq!(w.allowance(100), 20);
        let mut date = jiff::civil::date(2026, 11, 2);
        for _ in 0..20 {
            w.end_of_day(date, 20, 10);
            date = date.tomorrow().unwrap();
        }
        assert_eq!((w.day, w.allowance(100)), (14, 100));
        w.restricted();
        assert_eq!((w.day, w.allowance(100)), (7, 60));
    }
}

mod picking {
    use pacekeeper_pacer::{Item, Pick, pick};
    use proptest::prelude::*;

    use super::*;

    fn item() -> impl Strategy<Value = Item> {
        (-2i32..3, 0u64..1000, proptest::option::of(-100i64..100), any::<bool>(), any::<bool>()).prop_map(
            |(priority, seq, nb, has_note, note_optional)| Item {
                priority,
                seq,
                not_before: nb.map(|s| Timestamp::from_second(1_800_000_000 + s).unwrap()),
                has_note,
                note_optional,
            },
        )
    }

    proptest! {
        #[test]
        fn the_pick_is_the_best_eligible_item_and_others_wait_without_blocking_it(
            items in proptest::collection::vec(item(), 0..30), notes in proptest::option::of(-100i64..100),
        ) {
            let now = Timestamp::from_second(1_800_000_000).unwrap();
            let notes_until = notes.map(|s| Timestamp::from_second(1_800_000_000 + s).unwrap());
            let notes_wait = notes_until.is_some_and(|n| n > now);
            let eligible = |i: &Item| i.not_before.is_none_or(|t| t <= now) && !(notes_wait && i.has_note && !i.note_optional);
            match pick(&items, now, notes_until) {
                Pick::Send { index, without_note } => {
                    let chosen = &items[index];
                    prop_assert!(eligible(chosen));
                    prop_assert_eq!(without_note, notes_wait && chosen.has_note);
                    for other in items.iter().filter(|i| eligible(i)) {
                        prop_assert!((other.priority, std::cmp::Reverse(other.seq)) <= (chosen.priority, std::cmp::Reverse(chosen.seq)));
                    }
                }
                Pick::Nothing(when) => {
                    prop_assert!(items.iter().all(|i| !eligible(i)));
                    prop_assert_eq!(when.is_some(), !items.is_empty());
                    prop_assert!(when.is_none_or(|t| t > now));
                }
            }
        }
    }

    #[test]
    fn a_target_on_cooldown_skips_the_item_not_the_slot() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let later = Timestamp::from_second(1_800_000_600).unwrap();
        let base = Item { priority: 0, seq: 0, not_before: None, has_note: false, note_optional: false };
        let items = [Item { priority: 5, not_before: Some(later), ..base.clone() }, Item { seq: 1, ..base }];
        assert_eq!(pick(&items, now, None), Pick::Send { index: 1, without_note: false });
    }
}
