//! The dashboard: pages under `/ui`, rendered on the server from what the service answers.
//!
//! - operators (an admin token, by a login that sets a session cookie): the overview
//!   (`overview`), members and restricted members (`members`), one member with the admin
//!   actions (`member`, `actions`), the policy (`policy`) and the audit log (`audit`);
//! - a member, by a signed link an admin made: their own limits, read-only (`own`).
//!
//! Pages hold no rule: every number comes from the service. Charts are SVG drawn here
//! (`chart`), each beside a table of the same numbers; the stylesheet and the little script
//! (countdowns, refresh) are compiled in (`assets`). Nothing is loaded from elsewhere, and
//! the content security policy says so to the browser.

mod actions;
mod assets;
mod audit;
mod chart;
mod layout;
mod member;
mod members;
mod overview;
mod own;
mod policy;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use pacekeeper_service::Service;
use pacekeeper_store::Store;

/// The application state of every page.
type App<S> = axum::extract::State<Arc<Service<S>>>;

/// What the browser may load: this server's own files, nothing else.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The pages, to nest under `/ui` in a router whose state is the service.
pub fn router<S: Store>() -> Router<Arc<Service<S>>> {
    Router::new()
        .route("/", get(overview::page::<S>))
        .route("/login", get(session::login_form).post(session::login::<S>))
        .route("/logout", post(session::logout::<S>))
        .route("/members", get(members::page::<S>))
        .route("/members/{id}", get(member::page::<S>))
        .route("/members/{id}/{op}", post(actions::act::<S>))
        .route("/policy", get(policy::page::<S>))
        .route("/audit", get(audit::page::<S>))
        .route("/me/{id}", get(own::page::<S>))
        .route("/assets/{file}", get(assets::serve))
        .layer(middleware::from_fn(secure_headers))
}

/// Headers on every page: the content security policy, no sniffing, no framing, no referrer
/// to other sites (a member's link carries its signature; a `no-referrer` policy would also
/// blank the `Origin` of the pages' own forms), no caching.
async fn secure_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::CACHE_CONTROL, "no-store");
    res
}
