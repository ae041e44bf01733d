//! Organisations: their usage, their record (tier, overrides), erasing them. Decisions that
//! count per organisation are in `decide`.

use jiff::Timestamp;
use pacekeeper_engine::{OrganisationUpdate, OrganisationView, organisation_view, update_organisation};
use pacekeeper_store::{Store, organisation_key};
use serde::Serialize;

use crate::audit::Actor;
use crate::{Service, ServiceError, validate};

/// An organisation's view with its id first: `{"organisation": id, "tier": …, "limits": […]}`.
#[derive(Debug, Clone, Serialize)]
pub struct OrganisationAnswer {
    /// The organisation's id.
    pub organisation: String,
    /// Usage of the limits that count per organisation.
    #[serde(flatten)]
    pub view: OrganisationView,
}

impl<S: Store> Service<S> {
    /// An organisation's usage of its limits at `at` (or now).
    pub async fn organisation(&self, id: &str, at: Option<Timestamp>) -> Result<OrganisationAnswer, ServiceError> {
        let now = self.instant(at, "at")?;
        validate::identifier("id", id)?;
        let state = self.store.read(&organisation_key(id)).await.map_err(ServiceError::store)?;
        Ok(OrganisationAnswer { organisation: id.into(), view: organisation_view(&self.policy(), &state, now) })
    }

    /// Sets an organisation's tier and overrides; answers with its new view.
    pub async fn update_organisation(
        &self,
        id: &str,
        update: OrganisationUpdate,
        actor: &Actor,
    ) -> Result<OrganisationAnswer, ServiceError> {
        validate::identifier("id", id)?;
        let what = serde_json::to_string(&update).unwrap_or_else(|_| "an update".into());
        let organisation = id.to_string();
        let answer = self
            .change_key(&organisation_key(id), move |p, st, now| {
                update_organisation(p, st, &update)?;
                Ok(OrganisationAnswer { organisation: organisation.clone(), view: organisation_view(p, st, now) })
            })
            .await?;
        self.record(actor, "update_organisation", Some(id), what).await?;
        Ok(answer)
    }

    /// Forgets an organisation's counts and record. Its members keep theirs.
    pub async fn erase_organisation(&self, id: &str, actor: &Actor) -> Result<(), ServiceError> {
        validate::identifier("id", id)?;
        if !self.store.erase(&organisation_key(id)).await.map_err(ServiceError::store)? {
            return Err(ServiceError::UnknownOrganisation(id.into()));
        }
        self.record(actor, "erase_organisation", Some(id), "the organisation's counts and record deleted".into()).await
    }
}
