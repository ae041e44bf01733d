//! A member's own view: a signed link that expires, made by an admin, which opens the member's
//! limits (used, remaining, reset) read-only.

use jiff::{SignedDuration, Timestamp};
use pacekeeper_store::Store;
use serde::Serialize;

use crate::audit::Actor;
use crate::{MemberAnswer, Service, ServiceError, validate};

/// The purpose signed into view links.
const VIEW: &str = "member-view";
/// How long a link lasts unless asked otherwise: a week.
pub const DEFAULT_LINK_SECONDS: u64 = 7 * 24 * 3600;
/// The longest a link may last: 90 days.
pub const MAX_LINK_SECONDS: u64 = 90 * 24 * 3600;

/// A signed link to a member's own view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewLink {
    /// The path to open on this server (`/ui/me/{id}?expires=…&sig=…`).
    pub path: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

impl<S: Store> Service<S> {
    /// Makes a link to `id`'s own view lasting `seconds` (1 to [`MAX_LINK_SECONDS`]).
    pub async fn view_link(&self, id: &str, seconds: u64, actor: &Actor) -> Result<ViewLink, ServiceError> {
        validate::identifier("id", id)?;
        if seconds == 0 || seconds > MAX_LINK_SECONDS {
            return Err(ServiceError::bad("ttl_seconds", validate::Invalid::Range { min: 1, max: MAX_LINK_SECONDS }));
        }
        let now = self.clock.now();
        let expires_at = now + SignedDuration::from_secs(seconds as i64);
        let expires = expires_at.as_second();
        let sig = self.signer.sign(VIEW, id, expires);
        let path = format!("/ui/me/{}?expires={expires}&sig={sig}", percent_encode(id));
        self.record(actor, "view_link", Some(id), format!("a link valid until {expires_at}")).await?;
        Ok(ViewLink { path, expires_at })
    }

    /// The member's view behind a link, at `at` (only with trusted client time) or now, once
    /// its signature and expiry check out.
    pub async fn own_view(
        &self,
        id: &str,
        expires: i64,
        sig: &str,
        at: Option<Timestamp>,
    ) -> Result<MemberAnswer, ServiceError> {
        let now = self.instant(at, "at")?;
        self.signer.check(VIEW, id, expires, sig, now.as_second()).map_err(ServiceError::Link)?;
        self.member_at(id, now).await
    }
}

/// Percent-encodes a member id for a URL path (ids are printable, but may hold `/`, `?`, `#`).
pub fn percent_encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
