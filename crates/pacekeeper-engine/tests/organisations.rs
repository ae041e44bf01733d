//! Limits counted per organisation (seed 002: "on a per-user or per-organization basis"):
//! all or nothing across the member and the organisation, the answer naming whichever bound,
//! and the reservations of stores that write the two one after the other.

mod common;
use common::*;
use pacekeeper_engine::*;
use proptest::prelude::*;

/// Each member 3 messages an hour; the organisation 5 between all its members.
const TEAM: &str = r#"
name = "team"
tiers = ["free", "paid"]
default_tier = "free"
actions = ["message", "invite"]

[[limit]]
name = "member_hourly"
actions = ["message"]
window = { kind = "sliding", period = "60m", granularity = "1m" }
amount = 3

[[limit]]
name = "team_hourly"
scope = "organisation"
actions = ["message"]
window = { kind = "sliding", period = "60m", granularity = "1m" }
amount = 5
tiers = { paid = 8 }

[[limit]]
name = "team_daily"
scope = "organisation"
actions = ["message"]
window = { kind = "anchored", period = "1d" }
amount = 7
"#;

fn team() -> Policy {
    Policy::from_toml("team.toml", TEAM).unwrap_or_else(|e| panic!("{e}"))
}

fn msg(member: &str) -> DecideRequest {
    DecideRequest {
        member: member.into(),
        action: "message".into(),
        organisation: Some("acme".into()),
        ..Default::default()
    }
}

struct Team {
    policy: Policy,
    members: Vec<MemberState>,
    org: MemberState,
}

impl Team {
    fn new(members: usize) -> Team {
        Team { policy: team(), members: vec![MemberState::default(); members], org: MemberState::default() }
    }

    fn send(&mut self, m: usize, at: jiff::Timestamp) -> Decision {
        let r = msg(&format!("m{m}"));
        decide_with_organisation(&self.policy, &mut self.members[m], &mut self.org, None, &r, at).unwrap()
    }

    fn org_used(&self, limit: &str, at: jiff::Timestamp) -> u64 {
        let view = organisation_view(&self.policy, &self.org, at);
        view.limits.iter().find(|l| &*l.name == limit).map_or(0, |l| l.used)
    }
}

#[test]
fn a_member_with_room_in_an_exhausted_organisation_is_denied_naming_its_limit_and_charges_nothing() {
    let mut team = Team::new(3);
    let at = t("2026-11-23T09:00:00Z");
    for m in [0, 0, 1, 1, 2] {
        assert!(team.send(m, at).allowed);
    }
    let before = (team.members[2].clone(), team.org.clone());
    let d = team.send(2, plus(at, 60));
    assert_eq!((d.allowed, d.reason, d.limit.as_deref()), (false, Reason::LimitExceeded, Some("team_hourly")));
    let bound = limit(&d, "team_hourly");
    assert_eq!((bound.scope, bound.used, bound.remaining), (Scope::Organisation, 5, 0));
    assert_eq!(limit(&d, "member_hourly").remaining, 2, "the member had room of their own");
    assert!(d.message.contains("team_hourly allows 5"), "{}", d.message);
    // The first minute's messages leave the hour at 10:01 (one-minute buckets).
    assert_eq!(d.retry_after, Some(3600), "room comes back when the first messages leave the hour");
    assert_eq!((team.members[2].clone(), team.org.clone()), before, "nothing charged to either");
}

#[test]
fn a_member_out_of_room_charges_the_organisation_nothing() {
    let mut team = Team::new(2);
    let at = t("2026-11-23T09:00:00Z");
    for _ in 0..3 {
        assert!(team.send(0, at).allowed);
    }
    let d = team.send(0, at);
    assert_eq!(d.limit.as_deref(), Some("member_hourly"));
    assert_eq!(limit(&d, "member_hourly").scope, Scope::Member);
    assert_eq!(team.org_used("team_hourly", at), 3, "the denied message was not counted for the team");
    assert!(team.send(1, at).allowed, "another member still has the team's room");
}

#[test]
fn the_organisation_record_sets_its_tier_and_a_member_record_its_organisation() {
    let mut team = Team::new(1);
    team.org.tier = Some("paid".into());
    let at = t("2026-11-23T09:00:00Z");
    let d = team.send(0, at);
    assert_eq!(limit(&d, "team_hourly").amount, 8, "the organisation's tier");
    // A request without `organisation` uses the member record's.
    update_member(
        &team.policy,
        &mut team.members[0],
        &MemberUpdate { organisation: Some("acme".into()), ..Default::default() },
    )
    .unwrap();
    assert_eq!(member_view(&team.policy, &team.members[0], at).organisation.as_deref(), Some("acme"));
    let r = DecideRequest { member: "m0".into(), action: "message".into(), ..Default::default() };
    decide_with_organisation(&team.policy, &mut team.members[0], &mut team.org, None, &r, at).unwrap();
    assert_eq!(team.org_used("team_hourly", at), 2);
    let bytes = team.members[0].encode();
    assert_eq!(bytes[0], STATE_VERSION_EXTRAS, "a member with an organisation is written as version 2");
    assert_eq!(MemberState::decode(&bytes).unwrap(), team.members[0]);
    assert_eq!(MemberState::default().encode()[0], STATE_VERSION, "others stay version 1");
}

#[test]
fn the_member_view_leaves_out_the_organisations_limits() {
    let policy = team();
    let names: Vec<_> = member_view(&policy, &MemberState::default(), t("2026-11-23T09:00:00Z"))
        .limits
        .into_iter()
        .map(|l| l.name.to_string())
        .collect();
    assert_eq!(names, ["member_hourly"]);
    assert!(policy.counts_organisations("message") && !policy.counts_organisations("invite"));
}

#[test]
fn a_rerun_with_its_ticket_does_not_charge_the_organisation_twice_and_a_denied_rerun_gives_it_back() {
    let policy = team();
    let at = t("2026-11-23T09:00:00Z");
    let (mut ada, mut org) = (MemberState::default(), MemberState::default());
    // The first run is written to the organisation; the member's write loses a race.
    let mut lost = ada.clone();
    assert!(decide_with_organisation(&policy, &mut lost, &mut org, Some(7), &msg("ada"), at).unwrap().allowed);
    let reserved = org.clone();
    // Meanwhile the member used all their own room elsewhere.
    for _ in 0..3 {
        decide(&policy, &mut ada, &msg("ada"), at).unwrap();
    }
    // The rerun on the member's new state: denied, and the reservation is given back.
    let d = decide_with_organisation(&policy, &mut ada, &mut org, Some(7), &msg("ada"), at).unwrap();
    assert_eq!(d.limit.as_deref(), Some("member_hourly"));
    assert_eq!(organisation_view(&policy, &org, at).limits[0].used, 0, "released");
    // A rerun that is allowed finds its reservation and charges nothing more.
    let mut bob = MemberState::default();
    let mut org = reserved;
    let d = decide_with_organisation(&policy, &mut bob, &mut org, Some(7), &msg("bob"), at).unwrap();
    assert!(d.allowed);
    assert_eq!(limit(&d, "team_hourly").used, 1, "one message, counted once");
}

#[test]
fn an_organisations_limit_takes_no_penalty_and_no_cap() {
    let with = |extra: &str| {
        let src =
            format!("name = \"x\"\ntiers = [\"free\"]\ndefault_tier = \"free\"\nactions = [\"message\"]\n{extra}");
        Policy::from_toml("x.toml", &src).unwrap_err().to_string()
    };
    let e = with(
        "[[penalty]]\nname = \"p\"\nkind = \"escalation\"\n[escalation]\nladder = [\"1h\"]\ndecay = \"1d\"\n[[limit]]\nname = \"l\"\nscope = \"organisation\"\nactions = [\"message\"]\nwindow = { kind = \"anchored\", period = \"1h\" }\namount = 1\npenalty = \"p\"\n",
    );
    assert!(e.contains("an organisation's limit cannot have a penalty"), "{e}");
    let e = with(
        "[[limit]]\nname = \"l\"\nscope = \"team\"\nactions = [\"message\"]\nwindow = { kind = \"anchored\", period = \"1h\" }\namount = 1\n",
    );
    assert!(e.contains("unknown scope `team`") && e.contains("member or organisation"), "{e}");
}

#[derive(Debug, Clone)]
struct Step {
    member: usize,
    gap: i64,
    cost: u64,
    /// The member's write loses a race once: the decision reruns on the written organisation.
    rerun: bool,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = (0usize..4, prop_oneof![3 => 0i64..90, 1 => 0i64..7200], 1u64..3, prop::bool::weighted(0.3))
        .prop_map(|(member, gap, cost, rerun)| Step { member, gap, cost, rerun });
    prop::collection::vec(step, 1..200)
}

/// Admitted `(second, cost)` never exceed `amount` in any trailing `period` seconds.
fn sliding_holds(admitted: &[(i64, u64)], period: i64, amount: u64) -> Result<(), TestCaseError> {
    for &(at, _) in admitted {
        let sum: u64 = admitted.iter().filter(|(x, _)| *x > at - period && *x <= at).map(|(_, c)| c).sum();
        prop_assert!(sum <= amount, "{sum} admitted in the {period}s before {at}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_window_of_either_subject_ever_exceeds_its_amount(steps in steps()) {
        let mut team = Team::new(4);
        let mut now = t("2026-11-23T22:00:00Z");
        let mut by_member: Vec<Vec<(i64, u64)>> = vec![Vec::new(); 4];
        let mut all = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            now = plus(now, s.gap);
            let r = DecideRequest { cost: Some(s.cost), ..msg(&format!("m{}", s.member)) };
            let ticket = Some(i as u64);
            if s.rerun {
                // A first run whose organisation write landed and member write did not.
                let mut lost = team.members[s.member].clone();
                decide_with_organisation(&team.policy, &mut lost, &mut team.org, ticket, &r, now).unwrap();
            }
            let d = decide_with_organisation(&team.policy, &mut team.members[s.member], &mut team.org, ticket, &r, now).unwrap();
            if d.allowed {
                by_member[s.member].push((now.as_second(), s.cost));
                all.push((now.as_second(), s.cost));
            }
            // The organisation counts exactly what was admitted: reservations of denied
            // reruns were given back.
            let counted = team.org_used("team_hourly", now);
            // Minute buckets: a message counts until its minute has left the trailing hour.
            let counts = |x: i64| (x.div_euclid(60) + 1) * 60 + 3600 > now.as_second();
            let admitted: u64 = all.iter().filter(|(x, _)| counts(*x)).map(|(_, c)| c).sum();
            prop_assert_eq!(counted, admitted);
        }
        for admitted in &by_member {
            sliding_holds(admitted, 3600, 3)?;
        }
        sliding_holds(&all, 3600, 5)?;
        let mut open: Option<(i64, u64)> = None;
        for &(at, c) in &all {
            let (start, used) = match open { Some((s, u)) if at < s + 86_400 => (s, u), _ => (at, 0) };
            prop_assert!(used + c <= 7, "the team's day from {start} holds {}", used + c);
            open = Some((start, used + c));
        }
    }
}
