//! Shared helpers for the engine's specification tests.
#![allow(dead_code)]

use jiff::Timestamp;
use pacekeeper_engine::*;

pub fn t(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("bad test instant {s}: {e}"))
}

pub fn plus(at: Timestamp, secs: i64) -> Timestamp {
    at.checked_add(jiff::SignedDuration::from_secs(secs)).unwrap()
}

pub fn req(action: &str) -> DecideRequest {
    DecideRequest { member: "ada".into(), action: action.into(), ..Default::default() }
}

/// One member under one policy.
pub struct Member {
    pub policy: Policy,
    pub state: MemberState,
}

impl Member {
    pub fn new(preset: &str) -> Member {
        Member { policy: Policy::preset(preset).unwrap(), state: MemberState::default() }
    }

    pub fn with_policy(src: &str) -> Member {
        let policy = Policy::from_toml("test.toml", src).unwrap_or_else(|e| panic!("{e}"));
        Member { policy, state: MemberState::default() }
    }

    pub fn decide(&mut self, r: &DecideRequest, at: Timestamp) -> Decision {
        decide(&self.policy, &mut self.state, r, at).unwrap()
    }

    pub fn dry(&mut self, r: &DecideRequest, at: Timestamp) -> Decision {
        let mut r = r.clone();
        r.dry_run = true;
        decide(&self.policy, &mut self.state, &r, at).unwrap()
    }

    pub fn invite(&mut self, at: Timestamp) -> Decision {
        self.decide(&req("invite"), at)
    }

    pub fn event(&mut self, kind: EventKind, target: Option<&str>, at: Timestamp) -> EventAck {
        let ev = Event { member: "ada".into(), kind, target: target.map(String::from), at: None, id: None };
        apply_event(&self.policy, &mut self.state, &ev, at).unwrap()
    }

    pub fn used(&self, limit: &str, at: Timestamp) -> u64 {
        member_view(&self.policy, &self.state, at).limits.iter().find(|l| &*l.name == limit).map_or(0, |l| l.used)
    }

    /// Asserts that `retry_after` tells the truth for `r` denied at `at`: a dry run one second
    /// before the retry instant is still denied, and the request at the retry instant passes.
    pub fn assert_retry_truthful(&mut self, r: &DecideRequest, at: Timestamp) -> i64 {
        let d = self.dry(r, at);
        assert!(!d.allowed, "expected a denial at {at}: {d:?}");
        let wait = d.retry_after.expect("a retry_after") as i64;
        assert!(!self.dry(r, plus(at, wait - 1)).allowed, "allowed one second before retry_after ({wait}s)");
        assert!(self.dry(r, plus(at, wait)).allowed, "still denied at retry_after ({wait}s)");
        wait
    }
}

pub fn limit<'d>(d: &'d Decision, name: &str) -> &'d LimitStatus {
    d.limits.iter().find(|l| &*l.name == name).unwrap_or_else(|| panic!("no limit {name} in {:?}", d.limits))
}
