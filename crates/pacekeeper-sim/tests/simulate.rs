//! The simulator against known answers and its own promises: a blaster on the older LinkedIn
//! policy, the same run for the same seed, and friction that never rises with an amount.

use pacekeeper_engine::Policy;
use pacekeeper_sim::sweep::Sweep;
use pacekeeper_sim::{Scenario, population, run};

const MONDAY: &str = "2026-12-07T00:00:00Z";

fn scenario(populations: &str, members: usize, weeks: u32, seed: u64) -> Scenario {
    Scenario {
        populations: population::parse("test", populations).unwrap(),
        members,
        weeks,
        seed,
        start: MONDAY.parse().unwrap(),
    }
}

const BLASTER: &str = r#"
[[population]]
name = "blaster"
role = "spam"
share = 1.0
client = "blaster"
zone = "UTC"
hours = { days = "mon-sun", from = "00:00", to = "23:59" }
weekly = { median = 5000, p95 = 6000 }
outcomes = { accepted = 0.1, reported_unknown = 0.3 }
"#;

#[test]
fn a_blaster_on_linkedin_classic_delivers_300_then_is_restricted_for_seven_days() {
    let policy = Policy::preset("linkedin-classic").unwrap();
    let r = run("classic", &policy, &scenario(BLASTER, 1, 1, 0)).unwrap();
    let b = &r.populations[0];
    assert_eq!(b.weekly_sent[0], 300, "300 a week (seed 000)");
    assert_eq!(b.members_ever_restricted, 1);
    assert_eq!(b.restrictions.len(), 1, "{:?}", b.restrictions);
    assert_eq!(b.restrictions.get("weekly_overage, step 1"), Some(&1), "{:?}", b.restrictions);
    // Restricted from its first extra attempt (on day one, at 05:00) for 7 days: every day of
    // the week ends restricted, and it waits as it is told (one denial in all).
    assert_eq!(&b.daily_restricted[..7], &[1; 7]);
    assert_eq!(b.denied_by_reason.get("limit_exceeded"), Some(&1), "{:?}", b.denied_by_reason);
    assert_eq!(r.headline.median_hours_to_spammer_restriction, Some(5.0), "one a minute from Monday 00:00");
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_another() {
    let mix = population::load("linkedin-mix").unwrap();
    let sc = Scenario { populations: mix, members: 300, weeks: 2, seed: 7, start: MONDAY.parse().unwrap() };
    let policy = Policy::preset("linkedin").unwrap();
    let a = serde_json::to_string(&run("a", &policy, &sc).unwrap()).unwrap();
    let b = serde_json::to_string(&run("a", &policy, &sc).unwrap()).unwrap();
    assert_eq!(a, b);
    let other = serde_json::to_string(&run("a", &policy, &Scenario { seed: 8, ..sc }).unwrap()).unwrap();
    assert_ne!(a, other);
}

const HONEST: &str = r#"
[[population]]
name = "networker"
role = "honest"
share = 0.5
client = "manual"
zone = "Europe/London"
hours = { days = "mon-fri", from = "08:00", to = "19:00" }
weekly = { median = 60, p95 = 150 }
burst = { chance = 0.3, share = 0.6, hours = 2 }
outcomes = { accepted = 0.6, declined = 0.05, reported_unknown = 0.02 }

[[population]]
name = "paced"
role = "honest"
share = 0.5
client = "pacer"
zone = "Europe/Berlin"
hours = { days = "mon-fri", from = "09:00", to = "17:00" }
weekly = { median = 90, p95 = 140 }
outcomes = { accepted = 0.5, declined = 0.05, reported_unknown = 0.03 }
"#;

#[test]
fn raising_the_weekly_amount_never_raises_honest_friction() {
    let policy = Policy::preset("linkedin").unwrap();
    let sweep = Sweep::parse("limit.weekly_invitations.amount=40..160:30").unwrap();
    for seed in [1, 2, 3] {
        let sc = scenario(HONEST, 40, 2, seed);
        let frictions: Vec<f64> = sweep
            .values
            .iter()
            .map(|&v| run("v", &sweep.variant(&policy, v).unwrap(), &sc).unwrap().headline.honest_friction)
            .collect();
        assert!(frictions.windows(2).all(|w| w[1] <= w[0]), "seed {seed}: {frictions:?}");
        assert!(frictions[0] > *frictions.last().unwrap(), "seed {seed}: the sweep changes something: {frictions:?}");
    }
}
