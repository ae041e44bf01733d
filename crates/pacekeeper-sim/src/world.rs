//! One run: every member of every population on a virtual clock, through the engine, with
//! recipients' answers arriving later as outcome events. No store, no server, no wall clock:
//! the same seed gives the same run.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use jiff::Timestamp;
use pacekeeper_engine::{DecideRequest, Decision, EventKind, MemberState, Policy, apply_event, decide};
use pacekeeper_pacer::Lane;

use crate::behaviour::{self, Next};
use crate::population::{Client, Population};
use crate::tally::{PopTally, WEEKLY_BINS};
use crate::{Scenario, SimError};

const DAY: i64 = 86_400_000;
/// How long an honest member takes to pass a verification asked of them.
const VERIFY_AFTER: i64 = DAY;
pub(crate) const WEEK: i64 = 7 * DAY;

/// What the queue holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Task {
    /// A week starts for a member: it plans its invitations.
    Week { m: usize },
    /// An invitation attempt; `first` is when the invitation was first tried.
    Try { m: usize, retries: u8, first: i64 },
    /// A recipient's answer to an invitation.
    Outcome { m: usize, target: u64, kind: EventKind },
    /// The end of a day: restrictions are counted (and, on the seventh, weekly figures).
    Day { n: u32 },
}

/// A task due at `at`; `seq` keeps tasks of one instant in the order they were made.
struct Due {
    at: i64,
    seq: u64,
    task: Task,
}

impl PartialEq for Due {
    fn eq(&self, other: &Due) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Due) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Due) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// One simulated member.
pub(crate) struct Member {
    pub id: String,
    pub pop: usize,
    pub state: MemberState,
    pub rng: fastrand::Rng,
    /// Invitations still to send this week (chained clients).
    pub quota: u32,
    pub chain_active: bool,
    pub lane: Lane,
    pub sent_this_week: u32,
    pub next_target: u64,
    pub first_attempt: Option<i64>,
    pub denied_once: bool,
    pub restricted_once: bool,
    pub denials: u32,
    pub first_denial: Option<String>,
    /// Asked to verify, and verifying (honest members pass a day later; spammers never do).
    pub verifying: bool,
}

/// A run in progress.
pub(crate) struct World<'a> {
    pub policy: &'a Policy,
    pub pops: &'a [Population],
    pub members: Vec<Member>,
    pub tally: Vec<PopTally>,
    /// Tasks of the current day, in time order.
    queue: BinaryHeap<Reverse<Due>>,
    /// Tasks of later days, one list a day: moved into `queue` when their day comes, so the
    /// heap holds a day's tasks, not eight weeks' (outcomes come up to three weeks later).
    later: Vec<Vec<Due>>,
    /// The current day, counted from the start.
    today: usize,
    seq: u64,
    pub start: i64,
    end: i64,
    weekly_limit: Option<String>,
    seed: u64,
    /// Each population's working spans, week by week.
    pub spans: Vec<Vec<Vec<(i64, i64)>>>,
}

/// Spreads the bits of `x` (splitmix64's finaliser): seeds for related streams.
pub(crate) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl<'a> World<'a> {
    pub fn new(policy: &'a Policy, sc: &'a Scenario) -> World<'a> {
        let start = sc.start.as_millisecond();
        let weeks = sc.weeks as usize;
        let counts = crate::member_counts(&sc.populations, sc.members);
        let mut members = Vec::with_capacity(sc.members);
        let mut tally: Vec<PopTally> = Vec::with_capacity(sc.populations.len());
        for (p, pop) in sc.populations.iter().enumerate() {
            for i in 0..counts[p] {
                let m = members.len();
                let mut state = MemberState::default();
                if pop.new_accounts {
                    state.created_at = Some(start);
                }
                let rng = fastrand::Rng::with_seed(sc.seed ^ mix(m as u64));
                let id = format!("{}-{i}", pop.name);
                members.push(Member {
                    id,
                    pop: p,
                    state,
                    rng,
                    quota: 0,
                    chain_active: false,
                    lane: Lane::new(1),
                    sent_this_week: 0,
                    next_target: 0,
                    first_attempt: None,
                    denied_once: false,
                    restricted_once: false,
                    denials: 0,
                    first_denial: None,
                    verifying: false,
                });
            }
            tally.push(PopTally {
                members: counts[p] as u64,
                weekly_sent: vec![0; weeks],
                weekly_denied: vec![0; weeks],
                daily_restricted: vec![0; weeks * 7],
                weekly_amounts: vec![Vec::new(); weeks],
                per_member_week: vec![0; WEEKLY_BINS],
                ..PopTally::default()
            });
        }
        let weekly_limit = weekly_limit(policy);
        let mut w = World {
            policy,
            pops: &sc.populations,
            members,
            tally,
            queue: BinaryHeap::new(),
            later: (0..weeks * 7).map(|_| Vec::new()).collect(),
            today: 0,
            seq: 0,
            start,
            end: start + weeks as i64 * WEEK,
            weekly_limit,
            seed: sc.seed,
            spans: sc
                .populations
                .iter()
                .map(|p| (0..weeks as i64).map(|k| behaviour::spans(&p.hours, start + k * WEEK)).collect())
                .collect(),
        };
        for week in 0..weeks as i64 {
            for m in 0..w.members.len() {
                w.push(start + week * WEEK, Task::Week { m });
            }
        }
        for n in 0..(weeks * 7) as u32 {
            w.push(start + (i64::from(n) + 1) * DAY - 1, Task::Day { n });
        }
        w
    }

    pub fn push(&mut self, at: i64, task: Task) {
        if at < self.end {
            self.seq += 1;
            let due = Due { at, seq: self.seq, task };
            let day = ((at - self.start) / DAY) as usize;
            if day <= self.today { self.queue.push(Reverse(due)) } else { self.later[day].push(due) }
        }
    }

    /// The next task in time order, bringing in each day's tasks as the day comes.
    fn next(&mut self) -> Option<Due> {
        loop {
            if let Some(Reverse(due)) = self.queue.pop() {
                return Some(due);
            }
            self.today += 1;
            let tasks = std::mem::take(self.later.get_mut(self.today)?);
            self.queue.extend(tasks.into_iter().map(Reverse));
        }
    }

    /// Runs every task in time order.
    pub fn run(&mut self) -> Result<u64, SimError> {
        let mut decisions = 0;
        while let Some(Due { at, task, .. }) = self.next() {
            match task {
                Task::Week { m } => behaviour::plan_week(self, m, at),
                Task::Try { m, retries, first } => {
                    decisions += 1;
                    self.attempt(m, at, retries, first)?;
                }
                Task::Outcome { m, target, kind } => self.outcome(m, target, kind, at),
                Task::Day { n } => self.end_of_day(n, at),
            }
        }
        Ok(decisions)
    }

    fn week_of(&self, at: i64) -> usize {
        ((at - self.start) / WEEK) as usize
    }

    fn attempt(&mut self, m: usize, at: i64, retries: u8, first: i64) -> Result<(), SimError> {
        let req = self.request(m, at, retries);
        let now = Timestamp::from_millisecond(at).unwrap_or_default();
        let member = &mut self.members[m];
        let d = decide(self.policy, &mut member.state, &req, now)
            .map_err(|e| SimError::Request { population: self.pops[member.pop].name.clone(), source: e })?;
        member.first_attempt.get_or_insert(at);
        self.count(m, at, &d);
        let with_note = req.note.is_some();
        let next = behaviour::after_answer(self, m, at, &d, behaviour::Tried { retries, first, with_note });
        match next {
            Next::Again(t, r, f) => self.push(t, Task::Try { m, retries: r, first: f }),
            Next::Done => {}
        }
        Ok(())
    }

    fn request(&mut self, m: usize, at: i64, retries: u8) -> DecideRequest {
        let member = &mut self.members[m];
        let pop = &self.pops[member.pop];
        member.next_target += 1;
        // A paced client sends no note while its lane says notes wait.
        let notes_wait = member.lane.notes_until.is_some_and(|t| t.as_millisecond() > at);
        let note = (member.rng.f64() < pop.note_share && !notes_wait && retries == 0).then(|| {
            if member.rng.f64() < pop.link_share {
                "Great offer for you: https://offers.example/deal".to_string()
            } else {
                "Hello, I would like to add you to my network.".to_string()
            }
        });
        DecideRequest {
            member: member.id.clone(),
            action: "invite".into(),
            tier: pop.tier.clone(),
            target: Some(format!("{}>{}", m, member.next_target)),
            note,
            // Honest members know whom they invite: asked for the recipient's e-mail (a
            // challenge), they give it. Spammers do not know it.
            challenge_passed: (pop.role == crate::Role::Honest).then(|| "recipient_email".into()),
            ..Default::default()
        }
    }

    fn count(&mut self, m: usize, at: i64, d: &Decision) {
        let week = self.week_of(at);
        let member = &mut self.members[m];
        let t = &mut self.tally[member.pop];
        t.attempts += 1;
        if d.allowed {
            t.sent += 1;
            t.weekly_sent[week] += 1;
            member.sent_this_week += 1;
            let target = member.next_target;
            // Each recipient answers from a source of its own: a policy that lets other
            // invitations through does not change what this one's recipient does.
            let mut answer = fastrand::Rng::with_seed(self.seed ^ mix(m as u64) ^ mix(target).rotate_left(17));
            let (kind, delay) = behaviour::recipient(&mut answer, &self.pops[member.pop]);
            let kind = if kind == EventKind::InvitationIgnored && self.pops[member.pop].client == Client::LowAndSlow {
                EventKind::InvitationWithdrawn
            } else {
                kind
            };
            self.push(at + delay, Task::Outcome { m, target, kind });
            return;
        }
        *t.denied.entry(d.reason.as_str()).or_insert(0) += 1;
        t.weekly_denied[week] += 1;
        if !member.denied_once {
            member.denied_once = true;
            t.members_denied += 1;
        }
        member.denials += 1;
        if member.first_denial.is_none() {
            member.first_denial = Some(d.message.to_string());
        }
        let honest = self.pops[member.pop].role == crate::Role::Honest;
        if d.reason == pacekeeper_engine::Reason::VerificationRequired && honest && !member.verifying {
            member.verifying = true;
            self.push(at + VERIFY_AFTER, Task::Outcome { m, target: 0, kind: EventKind::VerificationPassed });
        }
        let member = &mut self.members[m];
        let t = &mut self.tally[member.pop];
        if let Some(r) = d.restriction.as_ref().filter(|r| r.since.as_millisecond() == at) {
            let now = Timestamp::from_millisecond(at).unwrap_or_default();
            let step = pacekeeper_engine::member_view(self.policy, &member.state, now).offences;
            let key = format!("{}, step {step}", r.penalty);
            *t.restrictions.entry(key).or_insert(0) += 1;
            if !member.restricted_once {
                member.restricted_once = true;
                t.members_restricted += 1;
                let first = member.first_attempt.unwrap_or(at);
                t.hours_to_restriction.push((at - first) as f64 / 3_600_000.0);
            }
        }
    }

    fn outcome(&mut self, m: usize, target: u64, kind: EventKind, at: i64) {
        let member = &mut self.members[m];
        let verified = kind == EventKind::VerificationPassed;
        let ev = pacekeeper_engine::Event {
            member: member.id.clone(),
            kind,
            target: (!verified).then(|| format!("{m}>{target}")),
            at: None,
            id: None,
        };
        if verified {
            // A person who verified takes up their tools again.
            member.verifying = false;
            member.lane.stop = None;
        }
        let now = Timestamp::from_millisecond(at).unwrap_or_default();
        // An event the engine refuses (its policy knows no invitations) changes nothing.
        let _ = apply_event(self.policy, &mut member.state, &ev, now);
        if matches!(kind, EventKind::InvitationReportedUnknown | EventKind::InvitationReportedSpam) {
            self.tally[member.pop].unwanted += 1;
        }
    }

    fn end_of_day(&mut self, n: u32, at: i64) {
        for member in &self.members {
            if member.state.restricted_until().is_some_and(|u| u > at) {
                self.tally[member.pop].daily_restricted[n as usize] += 1;
            }
        }
        if (n + 1).is_multiple_of(7) {
            self.end_of_week(n as usize / 7, at);
        }
    }

    fn end_of_week(&mut self, week: usize, at: i64) {
        let now = Timestamp::from_millisecond(at).unwrap_or_default();
        for member in &mut self.members {
            let t = &mut self.tally[member.pop];
            t.per_member_week[(member.sent_this_week as usize).min(WEEKLY_BINS - 1)] += 1;
            member.sent_this_week = 0;
            if let Some(name) = &self.weekly_limit {
                let view = pacekeeper_engine::member_view(self.policy, &member.state, now);
                if let Some(l) = view.limits.iter().find(|l| &*l.name == name) {
                    t.weekly_amounts[week].push(l.amount);
                }
            }
        }
    }
}

/// The limit whose amount the report follows week by week: `weekly_invitations` when the
/// policy has it, else none.
fn weekly_limit(policy: &Policy) -> Option<String> {
    policy.limit_names().find(|n| *n == "weekly_invitations").map(String::from)
}
