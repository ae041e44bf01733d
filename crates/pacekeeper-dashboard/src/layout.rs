//! The page shell (navigation, stylesheet, script), error pages, and the formatting every
//! page shares.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{DOCTYPE, Markup, html};
use pacekeeper_service::ServiceError;

/// The sections of the operators' pages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Members,
    Policy,
    Audit,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Pacekeeper" }
            link rel="icon" href="/ui/assets/icon.svg" type="image/svg+xml";
            link rel="stylesheet" href="/ui/assets/app.css";
            script src="/ui/assets/app.js" defer {}
        }
    }
}

/// An operator's page.
pub fn shell(title: &str, section: Section, who: &str, body: Markup) -> Markup {
    let nav = [
        (Section::Overview, "/ui", "Overview"),
        (Section::Members, "/ui/members", "Members"),
        (Section::Policy, "/ui/policy", "Policy"),
        (Section::Audit, "/ui/audit", "Audit log"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top {
                    strong.brand { "Pacekeeper" }
                    nav {
                        @for (s, href, name) in nav {
                            a href=(href) aria-current=[(s == section).then_some("page")] { (name) }
                        }
                    }
                    form.logout method="post" action="/ui/logout" {
                        span.who { "signed in as " (who) }
                        button type="submit" { "Sign out" }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page with no navigation (sign-in, a member's own view).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare { main { (body) } }
        }
    }
}

/// An error page with its status.
pub fn problem_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        h1 { (title) }
        p.error role="alert" { (message) }
        p { a href="/ui" { "Back to the overview" } }
    };
    (status, bare(title, body)).into_response()
}

/// A service error as a page, with the status the API would give.
pub fn service_error(e: &ServiceError) -> Response {
    let status = match e {
        ServiceError::BadRequest { .. } | ServiceError::ClientTimeRefused { .. } => StatusCode::BAD_REQUEST,
        ServiceError::UnknownMember(_) => StatusCode::NOT_FOUND,
        ServiceError::Auth(_) | ServiceError::Link(_) => StatusCode::FORBIDDEN,
        ServiceError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    problem_page(status, "That did not work", &e.to_string())
}

/// An instant in `zone`, to the minute, with the zone's name.
pub fn in_zone(t: Timestamp, zone: &TimeZone) -> String {
    let z = zone.to_datetime(t);
    format!("{} {}", z.strftime("%a %Y-%m-%d %H:%M"), zone.iana_name().unwrap_or("UTC"))
}

/// A share as a percentage with one decimal.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A count of seconds as `3d 4h`, `2h 5m`, `4m 10s`.
pub fn countdown(seconds: u64) -> String {
    let (d, h, m, s) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// A query string carrying `at` on, for links between pages of a replayed clock.
pub fn at_query(at: Option<Timestamp>) -> String {
    at.map_or_else(String::new, |t| format!("?at={t}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_read_at_a_glance() {
        assert_eq!(countdown(42), "42s");
        assert_eq!(countdown(250), "4m 10s");
        assert_eq!(countdown(7_500), "2h 5m");
        assert_eq!(countdown(3 * 86_400 + 4 * 3600 + 59), "3d 4h");
    }
}
