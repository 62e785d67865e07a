//! The one error answer of the HTTP API (decisions D28): `{"error": {"code", "message", "reason"}}`,
//! `reason` a stable snake_case rule id, the message saying what to change.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::credentials::Credentials;
use super::json::reply;
use super::log::Logged;
use crate::token::{Outcome, StoreError, TokenError, TokenId, redact};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub reason: &'static str,
    pub message: String,
    /// The calling token, for the request log.
    pub token: Option<TokenId>,
    /// `WWW-Authenticate`, for refusals of the caller's credentials.
    pub challenge: Option<HeaderValue>,
}

impl ApiError {
    pub fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, reason, message: message.into(), token: None, challenge: None }
    }

    pub fn bad_request(reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, reason, message)
    }

    pub fn by(mut self, token: Option<TokenId>) -> ApiError {
        self.token = token;
        self
    }

    pub fn challenged(mut self, challenge: HeaderValue) -> ApiError {
        self.challenge = Some(challenge);
        self
    }

    /// The check refused the calling token (tokens.md §4 steps 1–5).
    pub fn refused(outcome: Outcome, credentials: &Credentials) -> ApiError {
        let challenge = credentials.challenge(outcome.reason);
        let message = match outcome.reason {
            "invalid_token" => "send `Authorization: Bearer <platform token>` with a valid token of this account",
            "token_expired" => "the calling token has expired; use another token or rotate this one",
            "token_disabled" => "the calling token is disabled; enable it or use another token",
            "wrong_resource" => "the calling token belongs to another account",
            "policy_denied" => "the calling token's owner is no longer in the tenant",
            _ => "the calling token was refused",
        };
        let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::FORBIDDEN);
        ApiError::new(status, outcome.reason, message).by(outcome.token_id).challenged(challenge)
    }
}

/// Refusals by a rule answer 403 when a right is missing, 409 when the token's state or the
/// limit stands in the way, and 400 when the request should say something else.
impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> ApiError {
        let status = match &error {
            TokenError::Refused { rule, .. } => match *rule {
                "not_permitted" | "service_user_not_allowed" | "tokens_disabled" | "scope_not_held" => {
                    StatusCode::FORBIDDEN
                }
                "token_expired" => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            },
            TokenError::UnknownToken(_) | TokenError::Store(StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
            TokenError::Store(StoreError::LimitReached(_)) => StatusCode::CONFLICT,
            TokenError::Store(StoreError::Busy) => StatusCode::SERVICE_UNAVAILABLE,
            TokenError::Request(_) => StatusCode::BAD_REQUEST,
            TokenError::Store(_) | TokenError::Random(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match &error {
            TokenError::Refused { message, .. } => message.clone(),
            TokenError::Store(StoreError::LimitReached(limit)) => format!(
                "the owner already has {limit} tokens, the most one owner may hold; delete one (expired and disabled tokens count too)"
            ),
            other => other.to_string(),
        };
        ApiError::new(status, error.rule(), message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Messages quote what the client sent; a token pasted where it does not belong is cut
        // to its id even there (tokens.md §1: secrets never appear in errors or logs).
        let message = redact(&self.message);
        if self.status.is_server_error() {
            tracing::error!("{} {}: {message}", self.status.as_u16(), self.reason);
        }
        let body = json!({"error": {"code": self.status.as_u16(), "message": message, "reason": self.reason}});
        let mut response = reply(self.status, &body);
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response.extensions_mut().insert(Logged { token: self.token, decision: self.reason });
        response
    }
}

/// The `WWW-Authenticate` challenge for a refusal (RFC 6750, D29): the token itself is no good,
/// or it is good but not for this.
pub fn challenge(reason: &str) -> &'static str {
    match reason {
        "invalid_token" | "token_expired" | "token_disabled" => r#"Bearer error="invalid_token""#,
        _ => r#"Bearer error="insufficient_scope""#,
    }
}
