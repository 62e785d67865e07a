//! The frame every page shares (the header with the signed-in person and the navigation), the
//! answer's headers, and the small pieces pages are made of: dates, statuses, field errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::error::UiError;
use super::signin::SignedIn;
use crate::server::error::outgoing;
use crate::token::{Actor, MANAGE_ALL, ShownStatus, TokenService};

/// The headers of every page (D36): a strict content security policy, nothing cached (a page
/// may hold a secret once), no framing, no referrer.
pub(super) async fn headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in set {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// An HTML answer.
pub(super) fn html(status: StatusCode, markup: Markup) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response()
}

/// The page the navigation marks as current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    Mine,
    Manage,
}

/// Who the page is for, as the header shows them.
pub(super) struct Viewer<'a> {
    pub email: &'a str,
    /// Whether to offer Manage users tokens.
    pub admin: bool,
    pub current: Nav,
}

impl<'a> Viewer<'a> {
    /// The signed-in person, offered Manage users tokens when they may manage every token of
    /// the account (`platform-token:tokens:manage`).
    pub fn of(service: &TokenService, user: &'a SignedIn, current: Nav) -> Result<Viewer<'a>, UiError> {
        let admin = service.permits(Actor::from(user.principal), MANAGE_ALL)?;
        Ok(Viewer { email: &user.email, admin, current })
    }
}

/// A whole page: the header (for a signed-in person), then `main`.
pub(super) fn page(title: &str, viewer: Option<&Viewer>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · warden" }
                link rel="stylesheet" href="/ui/assets/ui.css";
                script src="/ui/assets/ui.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "warden" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Pages" {
                            a href="/ui/tokens" aria-current=[(viewer.current == Nav::Mine).then_some("page")] {
                                "My platform tokens"
                            }
                            @if viewer.admin {
                                a href="/ui/manage" aria-current=[(viewer.current == Nav::Manage).then_some("page")] {
                                    "Manage users tokens"
                                }
                            }
                        }
                        span.who { "Signed in as " strong { (viewer.email) } }
                    }
                }
                main #main { (main) }
            }
        }
    }
}

/// `2026-11-27 14:05 UTC`, or `none` when there is no time.
pub(super) fn when(at: Option<DateTime<Utc>>, none: &str) -> String {
    at.map_or_else(|| none.to_string(), |at| at.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// A time in a table cell: the day, and the time of day (UTC) below it.
pub(super) fn day_and_time(at: Option<DateTime<Utc>>, none: &str) -> Markup {
    html! {
        @match at {
            Some(at) => time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d")) " " span.time { (at.format("%H:%M")) } },
            None => (none),
        }
    }
}

/// A token's status as a badge.
pub(super) fn status_badge(status: ShownStatus) -> Markup {
    let (class, label) = match status {
        ShownStatus::Active => ("badge active", "Active"),
        ShownStatus::Disabled => ("badge disabled", "Disabled"),
        ShownStatus::Expired => ("badge expired", "Expired"),
    };
    html! { span class=(class) { (label) } }
}

/// A refusal or a problem with one field, shown beside it (the summary at the top of the form
/// announces it and links here).
pub(super) fn field_error(id: &str, message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.field-error id=(id) { (outgoing(message)) }
        }
    }
}

/// The top of a form sent back: what stopped it, linked to the field it concerns.
pub(super) fn error_summary(what: &str, message: &str, field: Option<&str>) -> Markup {
    html! {
        div.notice.error role="alert" {
            strong { (what) } " "
            @match field {
                Some(field) => a href={ "#" (field) } { (outgoing(message)) },
                None => (outgoing(message)),
            }
        }
    }
}

/// A notice at the top of a page: what was just done, or what went wrong.
pub(super) fn notice(message: Option<&str>, error: bool) -> Markup {
    html! {
        @if let Some(message) = message {
            p class=(if error { "notice error" } else { "notice" }) role=(if error { "alert" } else { "status" }) {
                (outgoing(message))
            }
        }
    }
}
