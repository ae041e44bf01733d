//! How each kind of client plans its week and answers a decision, and what recipients do.

use jiff::Timestamp;
use pacekeeper_engine::{Decision, EventKind};
use pacekeeper_pacer::{Lane, Reaction, WorkingHours, learned_from_decision, of_decision};

use crate::population::{Client, Population};
use crate::world::{Task, WEEK, World};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The attempt an answer is for.
pub(crate) struct Tried {
    pub retries: u8,
    /// When the invitation was first tried.
    pub first: i64,
    pub with_note: bool,
}

/// What a client does after an answer.
pub(crate) enum Next {
    /// Try (again) at this instant, with this retry count, for an invitation first tried then.
    Again(i64, u8, i64),
    /// Nothing more for this invitation chain.
    Done,
}

/// A week's volume: a lognormal with the population's median and 95th percentile.
fn volume(rng: &mut fastrand::Rng, p: &Population) -> u32 {
    let sigma = (p.weekly.p95 / p.weekly.median).ln() / 1.645;
    // Box–Muller: one standard normal from two uniforms.
    let (u1, u2) = (rng.f64().max(f64::MIN_POSITIVE), rng.f64());
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    (p.weekly.median * (sigma * z).exp()).round().clamp(0.0, 1e6) as u32
}

/// The working spans of the week starting at `start`, in milliseconds.
pub(crate) fn spans(hours: &WorkingHours, start: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut t = start;
    while t < start + WEEK {
        let (open, close) = hours.next_open(Timestamp::from_millisecond(t).unwrap_or_default());
        let (open, close) = (open.as_millisecond(), close.as_millisecond().min(start + WEEK));
        if open >= start + WEEK || close <= open {
            break;
        }
        out.push((open, close));
        t = close + 1;
    }
    out
}

/// A uniform instant in the spans.
fn instant_in(rng: &mut fastrand::Rng, spans: &[(i64, i64)]) -> Option<i64> {
    let total: i64 = spans.iter().map(|(a, b)| b - a).sum();
    if total <= 0 {
        return None;
    }
    let mut x = rng.i64(0..total);
    for (a, b) in spans {
        if x < b - a {
            return Some(a + x);
        }
        x -= b - a;
    }
    None
}

/// A member's week starts: it draws its volume and schedules its first attempts.
pub(crate) fn plan_week(w: &mut World, m: usize, at: i64) {
    let p = w.members[m].pop;
    let pop = &w.pops[p];
    let member = &mut w.members[m];
    let v = volume(&mut member.rng, pop);
    // A population's working spans of the week, worked out once for all its members.
    let spans = &w.spans[p][((at - w.start) / WEEK) as usize];
    match pop.client {
        Client::Manual => {
            let times = manual_times(&mut member.rng, pop, spans, v);
            for t in times {
                w.push(t, Task::Try { m, retries: 0, first: t });
            }
        }
        Client::NaiveBot | Client::Blaster | Client::Pacer | Client::LowAndSlow => {
            member.quota = v;
            let days = spans.len().max(1) as u32;
            member.lane.daily_target = v.div_ceil(days).max(1);
            if member.chain_active || v == 0 {
                return;
            }
            member.chain_active = true;
            let first = match pop.client {
                Client::Pacer | Client::LowAndSlow => next_slot(&member.lane, &pop.hours, at, &mut member.rng),
                // A blaster starts the moment it can.
                Client::Blaster => spans.first().map(|s| s.0),
                _ => instant_in(&mut member.rng, spans),
            };
            match first {
                Some(t) => w.push(t, Task::Try { m, retries: 0, first: t }),
                None => member.chain_active = false,
            }
        }
    }
}

/// A person's attempt times: spread over the week's working time, some weeks a burst.
fn manual_times(rng: &mut fastrand::Rng, pop: &Population, spans: &[(i64, i64)], v: u32) -> Vec<i64> {
    let mut burst = 0;
    let mut times = Vec::with_capacity(v as usize);
    if let Some(b) = pop.burst.filter(|b| rng.f64() < b.chance)
        && let Some(start) = instant_in(rng, spans)
    {
        burst = (f64::from(v) * b.share).round() as u32;
        let len = i64::from(b.hours) * HOUR;
        times.extend((0..burst).map(|_| start + rng.i64(0..len)));
    }
    times.extend((burst..v).filter_map(|_| instant_in(rng, spans)));
    times
}

fn next_slot(lane: &Lane, hours: &WorkingHours, at: i64, rng: &mut fastrand::Rng) -> Option<i64> {
    lane.next_slot(hours, Timestamp::from_millisecond(at).unwrap_or_default(), rng).map(|t| t.as_millisecond())
}

/// What the member's client does after the answer `d` to an attempt made at `at`.
pub(crate) fn after_answer(w: &mut World, m: usize, at: i64, d: &Decision, tried: Tried) -> Next {
    let Tried { retries, first, with_note } = tried;
    let client = w.pops[w.members[m].pop].client;
    let honest = w.pops[w.members[m].pop].role == crate::population::Role::Honest;
    let next = match client {
        // A person whose note is refused sends the invitation again without one.
        Client::Manual if !d.allowed && with_note && retries == 0 => Next::Again(at + 1_000, 1, first),
        Client::Manual => Next::Done,
        Client::NaiveBot => naive_bot(w, m, at, d, (retries, first)),
        Client::Blaster => blaster(w, m, at, d, first),
        Client::Pacer | Client::LowAndSlow => paced(w, m, at, d, (first, with_note), honest),
    };
    let gave_up = !d.allowed && !matches!(next, Next::Again(_, _, f) if f == first);
    if gave_up {
        w.tally[w.members[m].pop].abandoned += 1;
    }
    if matches!(next, Next::Done) && client != Client::Manual {
        w.members[m].chain_active = false;
    }
    next
}

/// The next invitation of a chained client, if its week's quota is not spent.
fn next_in_chain(w: &mut World, m: usize, t: i64) -> Next {
    let member = &mut w.members[m];
    member.quota = member.quota.saturating_sub(1);
    if member.quota == 0 { Next::Done } else { Next::Again(t, 0, t) }
}

fn naive_bot(w: &mut World, m: usize, at: i64, d: &Decision, (retries, first): (u8, i64)) -> Next {
    if !d.allowed && retries < 3 {
        return Next::Again(at + 1_000, retries + 1, first);
    }
    let hours = &w.pops[w.members[m].pop].hours;
    let (open, _) = hours.next_open(Timestamp::from_millisecond(at + 2 * MINUTE).unwrap_or_default());
    next_in_chain(w, m, open.as_millisecond())
}

fn blaster(w: &mut World, m: usize, at: i64, d: &Decision, first: i64) -> Next {
    if d.allowed {
        return next_in_chain(w, m, at + MINUTE);
    }
    // It waits as long as it is told (an hour when nothing says), then tries the same again.
    let until = d.retry_at.map_or(at + HOUR, |t| t.as_millisecond().max(at + MINUTE));
    Next::Again(until, 0, first)
}

fn paced(w: &mut World, m: usize, at: i64, d: &Decision, (first, with_note): (i64, bool), honest: bool) -> Next {
    let hours = w.pops[w.members[m].pop].hours.clone();
    let member = &mut w.members[m];
    let now = Timestamp::from_millisecond(at).unwrap_or_default();
    member.lane.record_send(now, &hours);
    let lane = &mut member.lane;
    lane.learned.observe(learned_from_decision(d), with_note, &mut lane.note_limits);
    let reaction = lane.react(&of_decision(d, with_note, now), now, &mut member.rng);
    let slot = |lane: &Lane, t: i64, rng: &mut fastrand::Rng| next_slot(lane, &hours, t, rng);
    match reaction {
        Reaction::Sent => {
            if honest {
                w.tally[w.members[m].pop].paced_delays.push(((at - first) / 1000) as u64);
            }
            let member = &mut w.members[m];
            match slot(&member.lane, at + 1, &mut member.rng) {
                Some(t) => next_in_chain(w, m, t),
                None => Next::Done,
            }
        }
        // Notes wait (the lane remembers until when): the same invitation goes again without.
        Reaction::NotesWait(_) => Next::Again(at + 1, 0, first),
        Reaction::LaneWaits(t) | Reaction::ScopeWaits(t) | Reaction::ItemWaits(t) | Reaction::Retry(t) => {
            let t = slot(&member.lane, t.as_millisecond().max(at + 1), &mut member.rng).unwrap_or(t.as_millisecond());
            Next::Again(t, 0, first)
        }
        Reaction::LaneStops | Reaction::NeedsHuman => Next::Done,
    }
}

/// What the recipient of an invitation does, and after how long.
pub(crate) fn recipient(rng: &mut fastrand::Rng, p: &Population) -> (EventKind, i64) {
    let o = p.outcomes;
    let u = rng.f64();
    let between = |rng: &mut fastrand::Rng, a: i64, b: i64| rng.i64(a..b);
    let mut edge = o.accepted;
    if u < edge {
        return (EventKind::InvitationAccepted, between(rng, HOUR, 3 * DAY));
    }
    edge += o.declined;
    if u < edge {
        return (EventKind::InvitationDeclined, between(rng, HOUR, 7 * DAY));
    }
    edge += o.reported_unknown;
    if u < edge {
        return (EventKind::InvitationReportedUnknown, between(rng, DAY, 10 * DAY));
    }
    edge += o.reported_spam;
    if u < edge {
        return (EventKind::InvitationReportedSpam, between(rng, DAY, 10 * DAY));
    }
    // Ignored: it expires after three weeks (a low-and-slow sender withdraws it at two).
    let expiry = if p.client == Client::LowAndSlow { 14 * DAY } else { 21 * DAY };
    (EventKind::InvitationIgnored, expiry)
}
