//! Reading a member and the admin operations: tier and overrides, lifting, verifying,
//! credits, erasing, the policy in force.

use jiff::Timestamp;
use pacekeeper_engine::{
    MemberState, MemberUpdate, MemberView, Policy, RequestError, grant_credits, lift, member_view, update_member,
    verify,
};
use pacekeeper_store::Store;
use serde::Serialize;

use crate::audit::Actor;
use crate::{Service, ServiceError, change, validate};

/// An update in words, for the audit log.
fn describe_update(u: &MemberUpdate) -> String {
    serde_json::to_string(u).unwrap_or_else(|_| "an update".into())
}

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
    /// SHA-256 of the TOML source, hex: tells two instances' policies apart.
    pub sha256: String,
    /// When this server loaded it.
    pub loaded_at: Timestamp,
}

/// The largest credits top-up at once.
pub const MAX_CREDITS: u64 = 1_000_000;

impl<S: Store> Service<S> {
    /// A member's usage of every limit, reputation, gauges and restrictions at `at` (or now).
    pub async fn member(&self, id: &str, at: Option<Timestamp>) -> Result<MemberAnswer, ServiceError> {
        let now = self.instant(at, "at")?;
        self.member_at(id, now).await
    }

    /// A member's view at `now`, an instant the caller has settled.
    pub(crate) async fn member_at(&self, id: &str, now: Timestamp) -> Result<MemberAnswer, ServiceError> {
        validate::identifier("id", id)?;
        let state = self.store.read(id).await.map_err(ServiceError::store)?;
        Ok(MemberAnswer { member: id.into(), view: member_view(&self.policy(), &state, now) })
    }

    /// Sets a member's tier and per-member overrides; answers with the member's new view.
    pub async fn update_member(
        &self,
        id: &str,
        update: MemberUpdate,
        actor: &Actor,
    ) -> Result<MemberAnswer, ServiceError> {
        if let Some(at) = update.created_at {
            validate::instant("created_at", at)?;
        }
        if let Some(org) = update.organisation.as_deref().filter(|o| !o.is_empty()) {
            validate::identifier("organisation", org)?;
        }
        let member = id.to_string();
        let what = describe_update(&update);
        let answer = self
            .admin_change(id, move |p, st, now| {
                update_member(p, st, &update)?;
                Ok(MemberAnswer { member: member.clone(), view: member_view(p, st, now) })
            })
            .await?;
        self.record(actor, "update_member", Some(id), what).await?;
        Ok(answer)
    }

    /// Lifts a member's restrictions (not verification); answers how many ended.
    pub async fn lift(&self, id: &str, actor: &Actor) -> Result<usize, ServiceError> {
        let n = self.admin_change(id, |p, st, now| Ok(lift(p, st, now))).await?;
        self.record(actor, "lift", Some(id), format!("{n} restriction(s) ended")).await?;
        Ok(n)
    }

    /// Records a passed verification; answers how many restrictions ended.
    pub async fn verify(&self, id: &str, actor: &Actor) -> Result<usize, ServiceError> {
        let n = self.admin_change(id, |p, st, now| Ok(verify(p, st, now))).await?;
        self.record(actor, "verify", Some(id), format!("verified; {n} restriction(s) ended")).await?;
        Ok(n)
    }

    /// Tops up a credits limit by `amount` (1 to [`MAX_CREDITS`]).
    pub async fn grant_credits(
        &self,
        id: &str,
        limit: String,
        amount: u64,
        actor: &Actor,
    ) -> Result<Credited, ServiceError> {
        if amount == 0 || amount > MAX_CREDITS {
            return Err(ServiceError::bad("amount", validate::Invalid::Range { min: 1, max: MAX_CREDITS }));
        }
        let credited = self
            .admin_change(id, move |p, st, _| {
                let purchased_balance = grant_credits(p, st, &limit, amount)?;
                Ok(Credited { limit: limit.clone(), purchased_balance })
            })
            .await?;
        let what = format!("{amount} credits of {}; balance {}", credited.limit, credited.purchased_balance);
        self.record(actor, "credits", Some(id), what).await?;
        Ok(credited)
    }

    /// Forgets a member entirely (the only way history goes).
    pub async fn erase(&self, id: &str, actor: &Actor) -> Result<(), ServiceError> {
        validate::identifier("id", id)?;
        if let Some(r) = self.recorder.clone() {
            let id = id.to_string();
            tokio::task::spawn_blocking(move || r.erase(&id))
                .await
                .map_err(|_| ServiceError::Internal("erasing the recorded traffic panicked"))?
                .map_err(ServiceError::Record)?;
        }
        // The member's shadow state goes too, whatever is stored under the real key.
        let shadowed = self.store.erase(&crate::shadow::shadow_key(id)).await.map_err(ServiceError::store)?;
        if !self.store.erase(id).await.map_err(ServiceError::store)? && !shadowed {
            return Err(ServiceError::UnknownMember(id.into()));
        }
        self.record(actor, "erase", Some(id), "every stored count and record of the member deleted".into()).await
    }

    /// Re-reads the policy from its source on an admin's request, recording it.
    pub async fn reload_policy_as(&self, actor: &Actor) -> Result<std::sync::Arc<Policy>, ServiceError> {
        let p = self.reload_policy()?;
        self.record(actor, "policy_reload", None, format!("policy `{}` loaded from {}", p.name, self.policy_source))
            .await?;
        Ok(p)
    }

    /// What `/v1/stats` shows, at `at` (only with trusted client time) or now. `None` when
    /// the observer is off. Waits a moment, off the runtime's workers, for recent decisions to
    /// be folded in.
    pub async fn stats(&self, at: Option<jiff::Timestamp>) -> Result<Option<pacekeeper_stats::Stats>, ServiceError> {
        let now = self.instant(at, "at")?;
        let Some(observer) = self.observer.clone() else { return Ok(None) };
        let mut stats = tokio::task::spawn_blocking(move || observer.snapshot(now))
            .await
            .map_err(|_| ServiceError::Internal("the statistics snapshot panicked"))?;
        let active = self.store.restricted(now.as_millisecond(), 0).await.map_err(ServiceError::store)?;
        stats.tiles.restrictions_active = active.total;
        Ok(Some(stats))
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
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(p.source.as_bytes())),
            loaded_at: self.policy_loaded_at(),
        }
    }

    /// Runs an admin change on one member. `f` gets the policy and the instant of the
    /// request, read once, so the change and its answer see the same ones; on `Err` nothing
    /// is written.
    async fn admin_change<R, F>(&self, id: &str, f: F) -> Result<R, ServiceError>
    where
        R: Send + 'static,
        F: FnMut(&Policy, &mut MemberState, Timestamp) -> Result<R, RequestError> + Send + 'static,
    {
        validate::identifier("id", id)?;
        self.change_key(id, f).await
    }

    /// Runs an admin change on the state stored under `key` (a member's id, or an
    /// organisation's key), as [`Service::admin_change`] does.
    pub(crate) async fn change_key<R, F>(&self, key: &str, mut f: F) -> Result<R, ServiceError>
    where
        R: Send + 'static,
        F: FnMut(&Policy, &mut MemberState, Timestamp) -> Result<R, RequestError> + Send + 'static,
    {
        let policy = self.policy();
        let now = self.clock.now();
        let track = self.store.tracks_expiry();
        let out = self
            .store
            .update(key, move |st| {
                let r = f(&policy, st, now);
                let changed = r.is_ok();
                change(&policy, st, r, changed, track, now)
            })
            .await
            .map_err(ServiceError::store)?;
        Ok(out?)
    }
}
