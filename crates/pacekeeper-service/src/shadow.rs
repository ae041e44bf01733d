//! A shadow policy: every decision is decided a second time against another policy, on a
//! separate shadow state per member, and the two answers are compared. The shadow answer is
//! never returned and never blocks; disagreements in each direction are counted in metrics
//! and in the read model. It doubles the store's writes, so it is opt-in
//! (`--shadow-policy`).

use std::sync::Arc;

use jiff::Timestamp;
use pacekeeper_engine::{DecideRequest, Decision, Policy, Reason, decide};
use pacekeeper_store::{AUX_PREFIX, Change, Store};

use crate::Service;

/// The policy decisions are compared with.
#[derive(Debug, Clone)]
pub struct Shadow {
    /// The shadow policy.
    pub policy: Arc<Policy>,
    /// Where it was loaded from.
    pub source: String,
}

/// How a shadow answer compares with the real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Both allowed, or both denied.
    Agree,
    /// The shadow policy would deny what was allowed.
    ShadowDenies,
    /// The shadow policy would allow what was denied.
    ShadowAllows,
}

impl Agreement {
    fn of(real: &Decision, shadow: &Decision) -> Agreement {
        match (real.allowed, shadow.allowed) {
            (true, false) => Agreement::ShadowDenies,
            (false, true) => Agreement::ShadowAllows,
            _ => Agreement::Agree,
        }
    }

    /// The label in metrics and the read model.
    pub fn name(self) -> &'static str {
        match self {
            Agreement::Agree => "agree",
            Agreement::ShadowDenies => "shadow_denies",
            Agreement::ShadowAllows => "shadow_allows",
        }
    }
}

/// The store key of a member's shadow state: apart from every member id (ids hold no
/// control characters) and left out of the restrictions index.
pub fn shadow_key(member: &str) -> String {
    format!("{AUX_PREFIX}shadow:{member}")
}

impl<S: Store> Service<S> {
    /// Decides `req` again under the shadow policy, if there is one, and counts how its answer
    /// compares with `real`. Answers allowed unchecked (the store out of reach) and failures
    /// of the shadow's own write are not compared.
    pub(crate) async fn shadow(&self, req: &DecideRequest, real: &Decision, now: Timestamp) {
        let Some(shadow) = &self.shadow else { return };
        if real.reason == Reason::StoreUnavailable {
            return;
        }
        let policy = shadow.policy.clone();
        let req = req.clone();
        let outcome = self
            .store
            .update(&shadow_key(&req.member), move |st| {
                let r = decide(&policy, st, &req, now);
                let changed = matches!(&r, Ok(d) if !d.dry_run && !d.duplicate);
                Change::new(r, changed)
            })
            .await;
        match outcome {
            Ok(Ok(d)) => {
                let a = Agreement::of(real, &d);
                ::metrics::counter!("pacekeeper_shadow_decisions_total", "agreement" => a.name()).increment(1);
                if let (Some(o), false) = (&self.observer, a == Agreement::Agree) {
                    o.event(a.name(), now);
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "the shadow policy refused a request the policy took"),
            Err(e) => {
                tracing::warn!(error = %e, "the shadow decision could not be stored");
                ::metrics::counter!("pacekeeper_shadow_errors_total").increment(1);
            }
        }
    }
}
