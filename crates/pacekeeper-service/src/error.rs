//! What the service refuses or fails with: variants a front end maps to its own codes
//! (HTTP statuses, gRPC codes) without looking inside.

use pacekeeper_engine::{LoadError, RequestError};
use pacekeeper_store::StoreError;

use crate::auth::AuthError;
use crate::signing::SignatureError;
use crate::validate::Invalid;

/// Why the service did not answer with a result.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is wrong; `field` names where (`member`, `[2].kind`, `at`).
    #[error("{field}: {problem}")]
    BadRequest {
        /// The field at fault.
        field: String,
        /// What is wrong with it.
        #[source]
        problem: Invalid,
    },
    /// An admin operation named a member with no stored state.
    #[error("no stored state for member `{0}`")]
    UnknownMember(String),
    /// An admin operation named an organisation with no stored state.
    #[error("no stored state for organisation `{0}`")]
    UnknownOrganisation(String),
    /// The caller is not identified or not allowed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The request carried `at` and the server does not trust client time.
    #[error(
        "{field}: `at` is accepted only when the server runs with --trust-client-time (replay, back-testing, tests); remove it"
    )]
    ClientTimeRefused {
        /// The field (`at`, `[3].at`).
        field: String,
    },
    /// The store cannot be reached now (transient); fail-open did not apply.
    #[error("the store is unavailable: {0}")]
    StoreUnavailable(#[source] StoreError),
    /// The store failed in a way waiting does not cure (a disk error, corrupt state).
    #[error("the store failed: {0}")]
    StoreFailed(#[source] StoreError),
    /// A member's link was altered or has expired.
    #[error(transparent)]
    Link(#[from] SignatureError),
    /// The recorded traffic could not be rewritten (an erase): the member's state is kept.
    #[error("erasing the member from the recorded traffic failed: {0}")]
    Record(#[source] std::io::Error),
    /// A fault inside the service (never a reason to fail open).
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// A policy reload was refused; the old policy stays in force.
    #[error("the new policy was refused; the old one stays in force: {0}")]
    InvalidPolicy(#[source] LoadError),
}

impl ServiceError {
    /// A bad field.
    pub fn bad(field: impl Into<String>, problem: impl Into<Invalid>) -> ServiceError {
        ServiceError::BadRequest { field: field.into(), problem: problem.into() }
    }

    /// The error with its field put under `prefix` (`[2].` for the third event of an array,
    /// `descriptors[1].` for a gateway's second descriptor).
    pub fn within(self, prefix: &str) -> ServiceError {
        match self {
            ServiceError::BadRequest { field, problem } => {
                ServiceError::BadRequest { field: format!("{prefix}{field}"), problem }
            }
            ServiceError::ClientTimeRefused { field } => {
                ServiceError::ClientTimeRefused { field: format!("{prefix}{field}") }
            }
            other => other,
        }
    }

    /// The field at fault, for a bad request.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::BadRequest { field, .. } | ServiceError::ClientTimeRefused { field } => Some(field),
            _ => None,
        }
    }

    /// A store error, split into an outage and a fault.
    pub(crate) fn store(e: StoreError) -> ServiceError {
        tracing::warn!(error = %e, "store error");
        metrics::counter!("pacekeeper_store_errors_total").increment(1);
        if e.is_transient() { ServiceError::StoreUnavailable(e) } else { ServiceError::StoreFailed(e) }
    }
}

impl From<RequestError> for ServiceError {
    fn from(e: RequestError) -> ServiceError {
        ServiceError::bad(e.field(), Invalid::Request(e))
    }
}
