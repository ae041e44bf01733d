//! `decide` on the `linkedin` preset, and the member state's encoding.
//!
//! Run: `cargo bench -p pacekeeper-engine --bench decide`. Figures go in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use pacekeeper_engine::{DecideRequest, MemberState, Policy, decide, decide_with_organisation};

fn invite(member: &str) -> DecideRequest {
    DecideRequest { member: member.into(), action: "invite".into(), target: Some("bob".into()), ..Default::default() }
}

/// A member part-way through a busy week: invitations, messages, views and outcomes.
fn busy_member(policy: &Policy, now: Timestamp) -> MemberState {
    let mut st = MemberState::default();
    for i in 0..50 {
        let at = now - SignedDuration::from_mins(90 * (50 - i));
        decide(policy, &mut st, &DecideRequest { target: Some(format!("t{i}")), ..invite("m") }, at).unwrap();
        decide(
            policy,
            &mut st,
            &DecideRequest { member: "m".into(), action: "message".into(), ..Default::default() },
            at,
        )
        .unwrap();
        decide(
            policy,
            &mut st,
            &DecideRequest { member: "m".into(), action: "profile_view".into(), ..Default::default() },
            at,
        )
        .unwrap();
    }
    st
}

fn bench(c: &mut Criterion) {
    let policy = Policy::preset("linkedin").unwrap();
    let now: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
    let hot = busy_member(&policy, now);
    let req = invite("m");

    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(1));
    g.bench_function("invite/one hot member (50 used)", |b| {
        b.iter_batched_ref(
            || hot.clone(),
            |st| black_box(decide(&policy, st, black_box(&req), now).unwrap()),
            BatchSize::NumIterations(128),
        )
    });
    g.bench_function("invite/new member", |b| {
        b.iter_batched_ref(
            MemberState::default,
            |st| black_box(decide(&policy, st, black_box(&req), now).unwrap()),
            BatchSize::NumIterations(128),
        )
    });
    let dry = DecideRequest { dry_run: true, ..invite("m") };
    g.bench_function("invite/dry run, hot member", |b| {
        let mut st = hot.clone();
        b.iter(|| black_box(decide(&policy, &mut st, black_box(&dry), now).unwrap()))
    });
    let view = DecideRequest { member: "m".into(), action: "profile_view".into(), ..Default::default() };
    g.bench_function("profile_view/calendar day, hot member", |b| {
        b.iter_batched_ref(
            || hot.clone(),
            |st| black_box(decide(&policy, st, black_box(&view), now).unwrap()),
            BatchSize::NumIterations(128),
        )
    });

    // A message through the API for a member of an organisation whose members sent 30 in the
    // hour: the member's limit and the organisation's, both charged.
    let api = DecideRequest {
        member: "m".into(),
        action: "message".into(),
        channel: Some("api".into()),
        organisation: Some("acme".into()),
        ..Default::default()
    };
    let mut org = MemberState::default();
    for i in 0..30 {
        let mut member = MemberState::default();
        let at = now - SignedDuration::from_mins(i);
        decide_with_organisation(&policy, &mut member, &mut org, None, &api, at).unwrap();
    }
    g.bench_function("message/api with its organisation, hot member", |b| {
        b.iter_batched_ref(
            || (hot.clone(), org.clone()),
            |(st, org)| black_box(decide_with_organisation(&policy, st, org, None, black_box(&api), now).unwrap()),
            BatchSize::NumIterations(128),
        )
    });
    let alone = DecideRequest { organisation: None, ..api.clone() };
    g.bench_function("message/api without an organisation, hot member", |b| {
        b.iter_batched_ref(
            || hot.clone(),
            |st| black_box(decide(&policy, st, black_box(&alone), now).unwrap()),
            BatchSize::NumIterations(128),
        )
    });

    // One million members, each with some history, visited in a scattered order so that most
    // decisions miss the CPU caches as they would on a busy server.
    const N: usize = 1_000_000;
    let mut members: Vec<MemberState> = (0..N)
        .map(|i| {
            let mut st = MemberState::default();
            let at = now - SignedDuration::from_hours((i % 100) as i64);
            decide(&policy, &mut st, &invite("m"), at).unwrap();
            st
        })
        .collect();
    let mut i: usize = 0;
    let mut t = now;
    g.bench_function("invite/one million members", |b| {
        b.iter(|| {
            // A multiplicative step visits every member before repeating.
            i = (i + 618_033) % N;
            t += SignedDuration::from_millis(1);
            black_box(decide(&policy, &mut members[i], black_box(&req), t).unwrap())
        })
    });
    g.finish();

    let bytes = hot.encode();
    let mut g = c.benchmark_group("state");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function(format!("encode/busy member ({} bytes)", bytes.len()), |b| {
        b.iter(|| black_box(black_box(&hot).encode()))
    });
    g.bench_function(format!("decode/busy member ({} bytes)", bytes.len()), |b| {
        b.iter(|| black_box(MemberState::decode(black_box(&bytes)).unwrap()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
