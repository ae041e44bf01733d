//! A typed async client for the Pacekeeper HTTP API: decisions, events, members and the
//! admin operations, with every decision's rate-limit [`Feedback`] read for the caller.

use std::time::Duration;

use jiff::Timestamp;
use pacekeeper_api::{DecideRequest, Decision, Event, EventAck, MemberUpdate, MemberView};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::Feedback;

/// An RFC 9457 problem the server answered with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Problem {
    /// The HTTP status.
    pub status: u16,
    /// A short summary of the kind.
    pub title: String,
    /// What went wrong, and how to fix it.
    pub detail: String,
    /// The request field at fault.
    #[serde(default)]
    pub field: Option<String>,
}

/// Why a call did not produce its result.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL is not an `http://` or `https://` URL.
    #[error("`{0}` is not a server URL; write e.g. http://127.0.0.1:7300")]
    BadUrl(String),
    /// The server could not be reached, or the exchange failed (transient: retry).
    #[error("cannot reach the server: {0}")]
    Transport(#[source] reqwest::Error),
    /// The server refused the call (400 naming a field, 401, 403, 404, 503…).
    #[error("the server answered {}: {}{}", .0.status, .0.detail, .0.field.as_deref().map(|f| format!(" (field `{f}`)")).unwrap_or_default())]
    Refused(Problem),
    /// The answer is not what the API documents.
    #[error("unexpected answer (HTTP {status}): {source}")]
    Decode {
        /// The HTTP status.
        status: u16,
        /// Why it did not read.
        #[source]
        source: serde_json::Error,
    },
}

impl ClientError {
    /// True when the same call may succeed later: the server unreachable, a timeout, or a
    /// 5xx answer.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport(_) => true,
            ClientError::Refused(p) => p.status >= 500,
            _ => false,
        }
    }
}

/// A decision and what its answer said about the limits.
#[derive(Debug, Clone)]
pub struct Answer {
    /// 200 allowed, 429 denied for a reason time cures, 403 for one it does not.
    pub status: u16,
    /// The decision.
    pub decision: Decision,
    /// The rate-limit headers and body, read.
    pub feedback: Feedback,
}

/// A client of one Pacekeeper server.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: reqwest::Url,
    token: Option<String>,
}

impl Client {
    /// A client of the server at `base` (`http://127.0.0.1:7300`), with a 10 s timeout per
    /// call.
    pub fn new(base: &str) -> Result<Client, ClientError> {
        let url = reqwest::Url::parse(base).map_err(|_| ClientError::BadUrl(base.into()))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(ClientError::BadUrl(base.into()));
        }
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(ClientError::Transport)?;
        Ok(Client { http, base: url, token: None })
    }

    /// Sends `Authorization: Bearer <token>` with every call.
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    /// Asks for a decision. A denial is an [`Answer`] (429 or 403), not an error.
    pub async fn decide(&self, req: &DecideRequest) -> Result<Answer, ClientError> {
        let res = self.send(self.http.post(self.url("/v1/decide")).json(req)).await?;
        let status = res.status().as_u16();
        let headers: Vec<(String, String)> = res
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let body = res.bytes().await.map_err(ClientError::Transport)?;
        if !matches!(status, 200 | 403 | 429) || serde_json::from_slice::<Problem>(&body).is_ok() {
            return Err(refused(status, &body));
        }
        #[allow(clippy::disallowed_methods)] // turns the answer's instants into delays
        let now = Timestamp::now();
        let feedback = Feedback::parse(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())), Some(&body), now);
        let decision = serde_json::from_slice(&body).map_err(|source| ClientError::Decode { status, source })?;
        Ok(Answer { status, decision, feedback })
    }

    /// Posts outcome events, all of one request; a resent array is applied once (event ids).
    pub async fn events(&self, events: &[Event]) -> Result<Vec<EventAck>, ClientError> {
        self.call(self.http.post(self.url("/v1/events")).json(events)).await
    }

    /// A member's usage of every limit, reputation, gauges and restrictions.
    pub async fn member(&self, id: &str) -> Result<MemberView, ClientError> {
        self.call(self.http.get(self.member_url(id, ""))).await
    }

    /// Sets a member's tier, account age or overrides (admin).
    pub async fn update_member(&self, id: &str, update: &MemberUpdate) -> Result<MemberView, ClientError> {
        self.call(self.http.put(self.member_url(id, "")).json(update)).await
    }

    /// Lifts a member's restrictions (admin); answers how many ended.
    pub async fn lift(&self, id: &str) -> Result<u64, ClientError> {
        let v: serde_json::Value = self.call(self.http.post(self.member_url(id, "/lift"))).await?;
        Ok(v["lifted"].as_u64().unwrap_or(0))
    }

    /// Forgets a member entirely (admin); false when nothing was stored.
    pub async fn erase(&self, id: &str) -> Result<bool, ClientError> {
        let res = self.send(self.http.delete(self.member_url(id, ""))).await?;
        match res.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            status => Err(refused(status, &res.bytes().await.map_err(ClientError::Transport)?)),
        }
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut p) = url.path_segments_mut() {
            p.pop_if_empty().extend(path.trim_start_matches('/').split('/'));
        }
        url
    }

    /// `/v1/members/{id}{tail}`, the id percent-encoded as one path segment.
    fn member_url(&self, id: &str, tail: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["v1", "members", id]);
            if !tail.is_empty() {
                path.push(tail.trim_start_matches('/'));
            }
        }
        url
    }

    /// Sends a request with the token; a non-2xx answer other than a decision is an error.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        req.send().await.map_err(ClientError::Transport)
    }

    async fn call<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let res = self.send(req).await?;
        let status = res.status().as_u16();
        let body = res.bytes().await.map_err(ClientError::Transport)?;
        if !(200..300).contains(&status) {
            return Err(refused(status, &body));
        }
        serde_json::from_slice(&body).map_err(|source| ClientError::Decode { status, source })
    }
}

/// The error for a refused call: its problem document, or the status alone.
fn refused(status: u16, body: &[u8]) -> ClientError {
    let problem = serde_json::from_slice::<Problem>(body).unwrap_or_else(|_| Problem {
        status,
        title: "HTTP error".into(),
        detail: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        field: None,
    });
    ClientError::Refused(problem)
}
