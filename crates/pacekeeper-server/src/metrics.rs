//! Prometheus metrics: the process-wide recorder of the `metrics` crate, rendered by
//! `GET /metrics`.

use std::sync::OnceLock;

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
