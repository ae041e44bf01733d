//! N decisions on the same states, for counting instructions with valgrind (`--tool=cachegrind
//! --cache-sim=no`): a figure machine noise does not move. Run it with N = 0 too and subtract
//! the set-up. BENCHMARKS.md has the figures.
//!
//! `cargo run --release -p pacekeeper-engine --example decide_loop -- KIND N`: KIND is `hot`
//! (invitations of a busy member), `new` (invitations of new members), `view` (profile views
//! of the busy member), `org` (API messages of the busy member with an organisation) or
//! `message` (the same without one).

use jiff::{SignedDuration, Timestamp};
use pacekeeper_engine::{DecideRequest, MemberState, Policy, decide, decide_with_organisation};

fn ask(action: &str) -> DecideRequest {
    DecideRequest { member: "m".into(), action: action.into(), ..Default::default() }
}

fn invite() -> DecideRequest {
    DecideRequest { target: Some("bob".into()), ..ask("invite") }
}

fn api_message() -> DecideRequest {
    DecideRequest { channel: Some("api".into()), organisation: Some("acme".into()), ..ask("message") }
}

/// The benchmark's busy member: 50 invitations, messages and views over the week.
fn busy_member(policy: &Policy, now: Timestamp) -> MemberState {
    let mut st = MemberState::default();
    for i in 0..50 {
        let at = now - SignedDuration::from_mins(90 * (50 - i));
        decide(policy, &mut st, &DecideRequest { target: Some(format!("t{i}")), ..invite() }, at).unwrap();
        decide(policy, &mut st, &ask("message"), at).unwrap();
        decide(policy, &mut st, &ask("profile_view"), at).unwrap();
    }
    st
}

/// An organisation whose members sent 30 API messages in the last half hour.
fn busy_organisation(policy: &Policy, now: Timestamp) -> MemberState {
    let mut org = MemberState::default();
    for i in 0..30 {
        let at = now - SignedDuration::from_mins(i);
        decide_with_organisation(policy, &mut MemberState::default(), &mut org, None, &api_message(), at).unwrap();
    }
    org
}

fn main() {
    let kind = std::env::args().nth(1).unwrap_or_else(|| "hot".into());
    let n: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let policy = Policy::preset("linkedin").unwrap();
    let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
    let hot = busy_member(&policy, now);
    let org = if kind == "org" { busy_organisation(&policy, now) } else { MemberState::default() };
    let (member, req) = match kind.as_str() {
        "new" => (MemberState::default(), invite()),
        "view" => (hot, ask("profile_view")),
        "org" => (hot, api_message()),
        "message" => (hot, DecideRequest { organisation: None, ..api_message() }),
        _ => (hot, invite()),
    };
    // States are refreshed every 1,024 decisions, so each decision starts from the same one.
    let mut states: Vec<(MemberState, MemberState)> = Vec::new();
    let mut allowed = 0;
    for i in 0..n {
        if i % 1024 == 0 {
            states = (0..1024).map(|_| (member.clone(), org.clone())).collect();
        }
        let (m, o) = &mut states[i % 1024];
        let req = std::hint::black_box(&req);
        let d = match kind.as_str() {
            "org" => decide_with_organisation(&policy, m, o, None, req, now),
            _ => decide(&policy, m, req, now),
        };
        allowed += usize::from(d.unwrap().allowed);
    }
    println!("{allowed} of {n} allowed");
}
