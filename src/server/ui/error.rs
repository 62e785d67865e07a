//! The pages' one error answer: an HTML page with a title and a message saying what to do,
//! never a secret and never a client's whole input (as in the API's answers).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::layout::{html, page};
use crate::server::error::ApiError;
use crate::server::error::outgoing;
use crate::token::TokenError;

/// A page that could not be shown, or a request that was refused.
#[derive(Debug)]
pub(crate) struct UiError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
}

impl UiError {
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> UiError {
        UiError { status, title, message: message.into() }
    }

    pub fn unauthenticated(message: impl Into<String>) -> UiError {
        UiError::new(StatusCode::UNAUTHORIZED, "Not signed in", message)
    }

    pub fn not_found() -> UiError {
        UiError::new(StatusCode::NOT_FOUND, "Not found", "there is no such page; start again from My platform tokens")
    }

    pub fn bad_form(message: impl Into<String>) -> UiError {
        UiError::new(StatusCode::BAD_REQUEST, "Form refused", message)
    }
}

/// What the token service refused or failed to do, with the rule's status.
impl From<TokenError> for UiError {
    fn from(error: TokenError) -> UiError {
        UiError::from(ApiError::from(error))
    }
}

/// What the HTTP layer refused (a body over the limit, one that was cut off).
impl From<ApiError> for UiError {
    fn from(error: ApiError) -> UiError {
        let title = match error.status.as_u16() {
            403 => "Not allowed",
            404 => "Not found",
            409 => "Not possible now",
            413 => "Form too large",
            500..=599 => "Something went wrong",
            _ => "Request refused",
        };
        UiError::new(error.status, title, error.message)
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let message = outgoing(&self.message);
        if self.status.is_server_error() {
            tracing::error!("{} {}: {message}", self.status.as_u16(), self.title);
        }
        let body = page(
            self.title,
            None,
            maud::html! {
                h1 { (self.title) }
                p.error role="alert" { (message) }
                @if self.status != StatusCode::UNAUTHORIZED {
                p { a href="/ui/tokens" { "Back to My platform tokens" } }
            }
            },
        );
        html(self.status, body)
    }
}
