//! Prometheus metrics: the process-wide recorder of the `metrics` crate, rendered by
//! `GET /metrics`.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, PoisonError, RwLock};

use metrics::Counter;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process (the `metrics` facade is process-wide by design)
/// and returns its handle; `None` if another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let seconds = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
            let sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &seconds)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_batch_size".into()), &sizes))
                .ok()?
                .install_recorder()
                .ok()
        })
        .as_ref()
}

/// Records one group commit of the embedded store.
pub fn record_commit(updates: usize, fsync: std::time::Duration) {
    metrics::histogram!("pacekeeper_store_commit_batch_size").record(updates as f64);
    metrics::histogram!("pacekeeper_store_commit_seconds").record(fsync.as_secs_f64());
}

/// Records the handling time of one decision in `pacekeeper_decide_seconds`. The handle is
/// registered once: a lookup by name hashes the key on every call. (The recorder is installed
/// by [`crate::Service::new`] before any request, so the first decision already finds it.)
pub fn record_decide_seconds(seconds: f64) {
    static DECIDE_SECONDS: LazyLock<metrics::Histogram> =
        LazyLock::new(|| metrics::histogram!("pacekeeper_decide_seconds"));
    DECIDE_SECONDS.record(seconds);
}

/// Handles of `pacekeeper_decisions_total`, by action, then (reason, limit).
type DecisionCounters = HashMap<Box<str>, Vec<(&'static str, Box<str>, Counter)>>;

static DECISIONS: LazyLock<RwLock<DecisionCounters>> = LazyLock::new(Default::default);

/// Counts one decision in `pacekeeper_decisions_total{action, reason, limit}`. Registering a
/// labelled counter builds and hashes its key; the label sets are few (the policy's names),
/// so each handle is looked up once and kept.
pub fn count_decision(action: &str, reason: &'static str, limit: &str) {
    {
        let known = DECISIONS.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, _, c)) =
            known.get(action).and_then(|v| v.iter().find(|(r, l, _)| *r == reason && &**l == limit))
        {
            c.increment(1);
            return;
        }
    }
    let c = metrics::counter!(
        "pacekeeper_decisions_total",
        "action" => action.to_string(),
        "reason" => reason,
        "limit" => limit.to_string()
    );
    c.increment(1);
    DECISIONS.write().unwrap_or_else(PoisonError::into_inner).entry(action.into()).or_default().push((
        reason,
        limit.into(),
        c,
    ));
}

/// Counts what a decision says beyond its reason: each limit it left near its end
/// (`pacekeeper_near_limit_total{limit}`, from the decision's warnings) and a restriction it
/// started (`pacekeeper_restrictions_started_total{cause}`, the penalty's name). Both are rare
/// next to decisions, so their handles are looked up when needed.
pub fn count_warnings_and_restriction(d: &pacekeeper_engine::Decision, now: jiff::Timestamp) {
    for w in &d.warnings {
        metrics::counter!("pacekeeper_near_limit_total", "limit" => w.limit.to_string()).increment(1);
    }
    if let Some(r) = d.restriction.as_ref().filter(|r| r.since == now && !d.dry_run && !d.duplicate) {
        metrics::counter!("pacekeeper_restrictions_started_total", "cause" => r.penalty.clone()).increment(1);
    }
}
