//! RFC 9457 problem details: every error the API returns.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pacekeeper_service::ServiceError;
use serde::Serialize;

/// An `application/problem+json` answer.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong here, and how to fix it.
    pub detail: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Further problems (policy diagnostics).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl Problem {
    fn new(status: StatusCode, slug: &str, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("https://pacekeeper.dev/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
        }
    }

    /// 400, naming the field.
    pub fn bad_field(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        let mut p = Problem::new(StatusCode::BAD_REQUEST, "invalid-request", "Invalid request", detail);
        p.field = Some(field.into());
        p
    }

    /// The problem with its field put under `prefix` (`[2].`).
    pub fn within(mut self, prefix: &str) -> Problem {
        if !prefix.is_empty() {
            self.field = self.field.map(|f| format!("{prefix}{}", f.trim_start_matches('.')));
        }
        self
    }

    /// 401: no or unknown token.
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Missing or unknown token", detail)
    }

    /// 403: a token without the scope.
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "Token lacks the scope", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 405.
    pub fn method_not_allowed(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed", detail)
    }

    /// 413.
    pub fn too_large(limit: usize) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request body too large",
            format!("the body is larger than {limit} bytes; send fewer events per request"),
        )
    }

    /// 415.
    pub fn unsupported_media_type(got: &str) -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            format!("expected `content-type: application/json`, got `{got}`"),
        )
    }

    /// 422: a policy that does not compile.
    pub fn invalid_policy(errors: Vec<String>) -> Problem {
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-policy",
            "Invalid policy",
            "the new policy was refused; the old one stays in force",
        );
        p.errors = errors;
        p
    }

    /// 503: the store cannot serve.
    pub fn unavailable(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Store unavailable", detail)
    }

    /// 500.
    pub fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (status, body).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

impl From<ServiceError> for Problem {
    /// The HTTP answer for each thing the service refuses or fails with.
    fn from(e: ServiceError) -> Problem {
        match e {
            ServiceError::BadRequest { field, problem } => Problem::bad_field(field, problem.to_string()),
            ServiceError::ClientTimeRefused { field } => Problem::bad_field(
                field,
                "`at` is accepted only when the server runs with --trust-client-time (replay, back-testing, tests); remove it",
            ),
            e @ (ServiceError::UnknownMember(_) | ServiceError::UnknownOrganisation(_)) => {
                Problem::not_found(e.to_string())
            }
            ServiceError::Auth(a) if a.unauthenticated() => Problem::unauthorized(a.to_string()),
            ServiceError::Auth(a) => Problem::forbidden(a.to_string()),
            e @ ServiceError::StoreUnavailable(_) => Problem::unavailable(e.to_string()),
            e @ ServiceError::StoreFailed(_) => Problem::internal(e.to_string()),
            e @ (ServiceError::Internal(_) | ServiceError::Record(_)) => Problem::internal(e.to_string()),
            ServiceError::Link(l) => Problem::forbidden(l.to_string()),
            ServiceError::InvalidPolicy(p) => {
                Problem::invalid_policy(p.to_string().lines().map(String::from).collect())
            }
        }
    }
}
