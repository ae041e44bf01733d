//! Decisions: one request, or several of one member decided as one (a gateway's
//! descriptors), with fail-open on a store outage and metrics after the answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use jiff::Timestamp;
use pacekeeper_engine::{
    BatchError, DecideRequest, Decision, Policy, RequestError, decide, decide_together,
    decide_together_with_organisation, decide_with_organisation,
};
use pacekeeper_store::{PairChange, Store, StoreError, organisation_key};

use crate::clock::Stopwatch;
use crate::{Service, ServiceError, change, validate};

impl<S: Store> Service<S> {
    /// Decides one request and charges it (unless a dry run), durably as the store promises.
    pub async fn decide(&self, req: DecideRequest) -> Result<Decision, ServiceError> {
        let watch = Stopwatch::start();
        validate::decide_request(&req)?;
        let now = self.instant(req.at, "at")?;
        let policy = self.policy();
        let member = req.member.clone();
        let action = req.action.clone();
        let shadowed = (self.shadow.is_some() || self.recorder.is_some()).then(|| req.clone());
        let outcome = match self.organisation_for(&policy, std::slice::from_ref(&req)).await {
            Ok(None) => self.decide_alone(policy, req, now).await,
            Ok(Some(org)) => self.decide_with(policy, req, &org, now).await,
            Err(e) => Err(e),
        };
        let d = match outcome {
            Ok(r) => r?,
            Err(e) => self.unchecked(e)?,
        };
        observe(&action, &d, now);
        if let Some(o) = &self.observer {
            o.decision(&member, &action, &d, now);
        }
        crate::metrics::record_decide_seconds(watch.seconds());
        if let Some(req) = shadowed {
            if let Some(r) = &self.recorder {
                r.decision(&req, now);
            }
            self.shadow(&req, &d, now).await;
        }
        Ok(d)
    }

    /// Decides several requests of one member as one: all allowed and charged, or nothing
    /// charged (see [`decide_together`]). A bad request's field is named `[i].field`. Requests
    /// naming different members are refused: one member is one atomic store update.
    pub async fn decide_together(&self, reqs: Vec<DecideRequest>) -> Result<Vec<Decision>, ServiceError> {
        let watch = Stopwatch::start();
        let Some(first) = reqs.first() else { return Ok(Vec::new()) };
        let member = first.member.clone();
        let mut now = None;
        for (i, r) in reqs.iter().enumerate() {
            let at = |e: ServiceError| e.within(&format!("[{i}]."));
            validate::decide_request(r).map_err(at)?;
            if r.member != member {
                return Err(at(ServiceError::bad("member", validate::Invalid::OtherMember(member))));
            }
            now = now.max(Some(self.instant(r.at, "at").map_err(at)?));
        }
        let now = now.unwrap_or_else(|| self.clock.now());
        let policy = self.policy();
        let actions: Vec<String> = reqs.iter().map(|r| r.action.clone()).collect();
        let shadowed = (self.shadow.is_some() || self.recorder.is_some()).then(|| reqs.clone());
        let outcome = match self.organisation_for(&policy, &reqs).await {
            Ok(org) => self.batch(policy, reqs, org, now).await,
            Err(e) => Err(e),
        };
        let ds = match outcome {
            Ok(r) => r.map_err(|BatchError { index, error }| ServiceError::from(error).within(&format!("[{index}]."))),
            Err(e) => self.unchecked(e).map(|d| vec![d; actions.len()]),
        }?;
        for (action, d) in actions.iter().zip(&ds) {
            observe(action, d, now);
            if let Some(o) = &self.observer {
                o.decision(&member, action, d, now);
            }
        }
        crate::metrics::record_decide_seconds(watch.seconds());
        // The shadow decides each request on its own: it only compares answers.
        for (req, d) in shadowed.iter().flatten().zip(&ds) {
            if let Some(r) = &self.recorder {
                r.decision(req, now);
            }
            self.shadow(req, d, now).await;
        }
        Ok(ds)
    }

    /// The organisation requests are decided with: only when one of them counts per
    /// organisation; the requests' own (the first that names one), else the member record's
    /// (one read). A member whose organisation changes between that read and the decision is
    /// decided with the one read.
    async fn organisation_for(&self, policy: &Policy, reqs: &[DecideRequest]) -> Result<Option<String>, StoreError> {
        if !reqs.iter().any(|r| policy.counts_organisations(&r.action)) {
            return Ok(None);
        }
        if let Some(org) = reqs.iter().find_map(|r| r.organisation.clone()) {
            return Ok(Some(org));
        }
        let Some(first) = reqs.first() else { return Ok(None) };
        Ok(self.store.read(&first.member).await?.organisation)
    }

    /// A ticket for a store that writes the two subjects one after the other.
    fn ticket(&self, requests: usize) -> Option<u64> {
        (!self.store.atomic_pairs()).then(|| self.tickets.fetch_add(requests as u64, Ordering::Relaxed))
    }

    async fn decide_alone(
        &self,
        policy: Arc<Policy>,
        req: DecideRequest,
        now: Timestamp,
    ) -> Result<Result<Decision, RequestError>, StoreError> {
        let track = self.store.tracks_expiry();
        let member = req.member.clone();
        self.store
            .update(&member, move |st| {
                let r = decide(&policy, st, &req, now);
                let changed = matches!(&r, Ok(d) if !d.dry_run && !d.duplicate);
                change(&policy, st, r, changed, track, now)
            })
            .await
    }

    /// One request counted for the member and their organisation, all or nothing.
    async fn decide_with(
        &self,
        policy: Arc<Policy>,
        req: DecideRequest,
        org: &str,
        now: Timestamp,
    ) -> Result<Result<Decision, RequestError>, StoreError> {
        let track = self.store.tracks_expiry();
        let ticket = self.ticket(1);
        let member = req.member.clone();
        self.store
            .update_pair(&member, &organisation_key(org), move |st, o| {
                let r = decide_with_organisation(&policy, st, o, ticket, &req, now);
                // A repeat may give back a reservation: written if the bytes changed.
                let changed = matches!(&r, Ok(d) if !d.dry_run);
                pair_change(&policy, st, o, r, changed, track, now)
            })
            .await
    }

    /// Several requests of one member, with or without their organisation.
    async fn batch(
        &self,
        policy: Arc<Policy>,
        reqs: Vec<DecideRequest>,
        org: Option<String>,
        now: Timestamp,
    ) -> Result<Result<Vec<Decision>, BatchError>, StoreError> {
        let track = self.store.tracks_expiry();
        let member = reqs.first().map(|r| r.member.clone()).unwrap_or_default();
        let Some(org) = org else {
            return self
                .store
                .update(&member, move |st| {
                    let r = decide_together(&policy, st, &reqs, now);
                    let changed = matches!(&r, Ok(ds) if ds.iter().any(|d| !d.dry_run && !d.duplicate));
                    change(&policy, st, r, changed, track, now)
                })
                .await;
        };
        let ticket = self.ticket(reqs.len());
        self.store
            .update_pair(&member, &organisation_key(&org), move |st, o| {
                let r = decide_together_with_organisation(&policy, st, o, ticket, &reqs, now);
                let changed = matches!(&r, Ok(ds) if ds.iter().any(|d| !d.dry_run));
                pair_change(&policy, st, o, r, changed, track, now)
            })
            .await
    }

    /// The answer when the store failed: allowed unchecked if the store is only unreachable
    /// and the service fails open; otherwise the error.
    fn unchecked(&self, e: pacekeeper_store::StoreError) -> Result<Decision, ServiceError> {
        if self.fail_open && e.is_transient() {
            tracing::warn!(error = %e, "store unreachable: allowing unchecked (fail-open)");
            ::metrics::counter!("pacekeeper_fail_open_total").increment(1);
            return Ok(Decision::unchecked(format!("allowed unchecked: {e}")));
        }
        Err(ServiceError::store(e))
    }
}

/// What the store writes for a decision over a member and their organisation.
fn pair_change<R>(
    policy: &Policy,
    st: &pacekeeper_engine::MemberState,
    org: &pacekeeper_engine::MemberState,
    output: R,
    changed: bool,
    track: bool,
    now: Timestamp,
) -> PairChange<R> {
    PairChange {
        change: change(policy, st, output, changed, track, now),
        org_ttl: crate::ttl(policy, org, changed, track, now),
    }
}

/// Counts a decision in `pacekeeper_decisions_total`.
fn observe(action: &str, d: &Decision, now: jiff::Timestamp) {
    let limit = d.limit.as_deref().filter(|_| !d.allowed).unwrap_or("");
    crate::metrics::count_decision(action, d.reason.as_str(), limit);
    if !d.warnings.is_empty() || d.restriction.is_some() {
        crate::metrics::count_warnings_and_restriction(d, now);
    }
}
