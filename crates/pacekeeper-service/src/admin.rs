//! Reading a member and the admin operations: tier and overrides, lifting, verifying,
//! credits, erasing, the policy in force.

use jiff::Timestamp;
use pacekeeper_engine::{
    MemberState, MemberUpdate, MemberView, Policy, RequestError, grant_credits, lift, member_view, update_member,
    verify,
};
use pacekeeper_store::Store;
use serde::Serialize;

use crate::{Service, ServiceError, change, validate};

/// A member's view with its id first: `{"member": id, "tier": …, "limits": […], …}`.
#[derive(Debug, Clone, Serialize)]
pub struct MemberAnswer {
    /// The member's id.
    pub member: String,
    /// Usage, reputation, gauges and restrictions.
    #[serde(flatten)]
    pub view: MemberView,
}

/// The answer to a credits top-up.
#[derive(Debug, Clone, Serialize)]
pub struct Credited {
    /// The credits limit.
    pub limit: String,
    /// The purchased balance after the top-up.
    pub purchased_balance: u64,
}

/// The policy in force, as `GET /v1/policy` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    /// Its name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// The preset or file it was loaded from.
    pub source: String,
    /// Tiers.
    pub tiers: Vec<String>,
    /// The tier of a member who has none.
    pub default_tier: String,
    /// Actions.
    pub actions: Vec<String>,
    /// Limits.
    pub limits: Vec<String>,
    /// Its TOML source.
    pub toml: String,
}

/// The largest credits top-up at once.
pub const MAX_CREDITS: u64 = 1_000_000;

impl<S: Store> Service<S> {
    /// A member's usage of every limit, reputation, gauges and restrictions at `at` (or now).
    pub async fn member(&self, id: &str, at: Option<Timestamp>) -> Result<MemberAnswer, ServiceError> {
        validate::identifier("id", id)?;
        let now = self.instant(at, "at")?;
        let state = self.store.read(id).await.map_err(ServiceError::store)?;
        Ok(MemberAnswer { member: id.into(), view: member_view(&self.policy(), &state, now) })
    }

    /// Sets a member's tier and per-member overrides; answers with the member's new view.
    pub async fn update_member(&self, id: &str, update: MemberUpdate) -> Result<MemberAnswer, ServiceError> {
        if let Some(at) = update.created_at {
            validate::instant("created_at", at)?;
        }
        let member = id.to_string();
        self.admin_change(id, move |p, st, now| {
            update_member(p, st, &update)?;
            Ok(MemberAnswer { member: member.clone(), view: member_view(p, st, now) })
        })
        .await
    }

    /// Lifts a member's restrictions (not verification); answers how many ended.
    pub async fn lift(&self, id: &str) -> Result<usize, ServiceError> {
        self.admin_change(id, |p, st, now| Ok(lift(p, st, now))).await
    }

    /// Records a passed verification; answers how many restrictions ended.
    pub async fn verify(&self, id: &str) -> Result<usize, ServiceError> {
        self.admin_change(id, |p, st, now| Ok(verify(p, st, now))).await
    }

    /// Tops up a credits limit by `amount` (1 to [`MAX_CREDITS`]).
    pub async fn grant_credits(&self, id: &str, limit: String, amount: u64) -> Result<Credited, ServiceError> {
        if amount == 0 || amount > MAX_CREDITS {
            return Err(ServiceError::bad("amount", validate::Invalid::Range { min: 1, max: MAX_CREDITS }));
        }
        self.admin_change(id, move |p, st, _| {
            let purchased_balance = grant_credits(p, st, &limit, amount)?;
            Ok(Credited { limit: limit.clone(), purchased_balance })
        })
        .await
    }

    /// Forgets a member entirely (the only way history goes).
    pub async fn erase(&self, id: &str) -> Result<(), ServiceError> {
        validate::identifier("id", id)?;
        if self.store.erase(id).await.map_err(ServiceError::store)? {
            tracing::info!(member = %id, "member erased by an admin");
            Ok(())
        } else {
            Err(ServiceError::UnknownMember(id.into()))
        }
    }

    /// What `/v1/stats` shows, at `at` (only with trusted client time) or now. `None` when
    /// the observer is off. May wait a moment for recent decisions to be folded in: call it
    /// off an async runtime's worker (`spawn_blocking`).
    pub fn stats(&self, at: Option<jiff::Timestamp>) -> Result<Option<pacekeeper_stats::Stats>, ServiceError> {
        let now = self.instant(at, "at")?;
        Ok(self.observer.as_ref().map(|o| o.snapshot(now)))
    }

    /// The policy in force.
    pub fn policy_info(&self) -> PolicyInfo {
        let p = self.policy();
        PolicyInfo {
            name: p.name.to_string(),
            description: p.description.to_string(),
            source: self.policy_source.clone(),
            tiers: p.tiers().to_vec(),
            default_tier: p.default_tier().into(),
            actions: p.action_names().map(String::from).collect(),
            limits: p.limit_names().map(String::from).collect(),
            toml: p.source.to_string(),
        }
    }

    /// Runs an admin change on one member. `f` gets the policy and the instant of the
    /// request, read once, so the change and its answer see the same ones; on `Err` nothing
    /// is written.
    async fn admin_change<R, F>(&self, id: &str, mut f: F) -> Result<R, ServiceError>
    where
        R: Send + 'static,
        F: FnMut(&Policy, &mut MemberState, Timestamp) -> Result<R, RequestError> + Send + 'static,
    {
        validate::identifier("id", id)?;
        let policy = self.policy();
        let now = self.clock.now();
        let track = self.store.tracks_expiry();
        let out = self
            .store
            .update(id, move |st| {
                let r = f(&policy, st, now);
                let changed = r.is_ok();
                change(&policy, st, r, changed, track, now)
            })
            .await
            .map_err(ServiceError::store)?;
        Ok(out?)
    }
}
