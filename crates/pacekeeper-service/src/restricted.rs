//! Members under restriction, from the store's restrictions index: soonest end first, each
//! with its cause and step on the escalation ladder.

use jiff::Timestamp;
use pacekeeper_engine::{UNTIL_VERIFIED, member_view};
use pacekeeper_store::Store;
use serde::Serialize;

use crate::{Service, ServiceError};

/// The most restricted members one call lists.
pub const MAX_RESTRICTED_LISTED: usize = 500;

/// One restricted member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestrictedMember {
    /// The member's id.
    pub member: String,
    /// When the last restriction ends; absent when only verification ends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// The penalty of the restriction that ends last.
    pub penalty: String,
    /// What triggered it.
    pub cause: String,
    /// Offences on the escalation ladder (the step the next offence climbs from).
    pub step: u32,
}

/// What [`Service::restricted`] answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestrictedList {
    /// Members restricted now.
    pub total: u64,
    /// The first of them, soonest end first.
    pub members: Vec<RestrictedMember>,
}

impl<S: Store> Service<S> {
    /// How many members are restricted at `at` (or now), and the first `first` (at most
    /// [`MAX_RESTRICTED_LISTED`]) of them.
    pub async fn restricted(&self, at: Option<Timestamp>, first: usize) -> Result<RestrictedList, ServiceError> {
        let now = self.instant(at, "at")?;
        let page = self
            .store
            .restricted(now.as_millisecond(), first.min(MAX_RESTRICTED_LISTED))
            .await
            .map_err(ServiceError::store)?;
        let policy = self.policy();
        let mut members = Vec::with_capacity(page.first.len());
        for r in page.first {
            let state = self.store.read(&r.member).await.map_err(ServiceError::store)?;
            let view = member_view(&policy, &state, now);
            let last = view.restrictions.iter().max_by_key(|x| x.until.map_or(i64::MAX, |t| t.as_millisecond()));
            members.push(RestrictedMember {
                until: (r.until != UNTIL_VERIFIED).then(|| Timestamp::from_millisecond(r.until).ok()).flatten(),
                penalty: last.map(|x| x.penalty.clone()).unwrap_or_default(),
                cause: last.map(|x| x.cause.clone()).unwrap_or_default(),
                step: view.offences,
                member: r.member,
            });
        }
        Ok(RestrictedList { total: page.total, members })
    }

    /// How many members are restricted now (for the `pacekeeper_restrictions_active` gauge).
    pub async fn restrictions_active(&self) -> Result<u64, ServiceError> {
        let now = self.clock.now().as_millisecond();
        Ok(self.store.restricted(now, 0).await.map_err(ServiceError::store)?.total)
    }
}
