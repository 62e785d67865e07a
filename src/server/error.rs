//! The one error answer of the HTTP API (decisions D28): `{"error": {"code", "message", "reason"}}`,
//! `reason` a stable snake_case rule id, the message saying what to change.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::credentials::Credentials;
use super::json::reply;
use super::log::Logged;
use crate::token::{CheckReason, Outcome, Rule, StoreError, TokenError, TokenId, redact};

/// What the HTTP layer itself refuses, before or beside the token layer's [`CheckReason`] and
/// [`Rule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpReason {
    /// The path's parameters do not parse.
    InvalidPath,
    /// The query does not parse or is out of range.
    InvalidQuery,
    /// The body is not the JSON the route takes.
    InvalidBody,
    /// A `resource` that is not this account or its environments.
    InvalidResource,
    /// A `userUuid` that is neither the caller nor a service user.
    InvalidOwner,
    /// Another account than the one served.
    UnknownAccount,
    /// No such route.
    NotFound,
    /// The route does not take the method.
    MethodNotAllowed,
    /// The client took too long to send its body.
    RequestTimeout,
    /// The body is over the limit.
    BodyTooLarge,
    /// warden stopped unexpectedly.
    InternalError,
}

impl HttpReason {
    const fn as_str(self) -> &'static str {
        match self {
            HttpReason::InvalidPath => "invalid_path",
            HttpReason::InvalidQuery => "invalid_query",
            HttpReason::InvalidBody => "invalid_body",
            HttpReason::InvalidResource => "invalid_resource",
            HttpReason::InvalidOwner => "invalid_owner",
            HttpReason::UnknownAccount => "unknown_account",
            HttpReason::NotFound => "not_found",
            HttpReason::MethodNotAllowed => "method_not_allowed",
            HttpReason::RequestTimeout => "request_timeout",
            HttpReason::BodyTooLarge => "body_too_large",
            HttpReason::InternalError => "internal_error",
        }
    }
}

/// The `reason` of an error answer: a check's, a lifecycle rule's, or the HTTP layer's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiReason {
    Check(CheckReason),
    Rule(Rule),
    Http(HttpReason),
}

impl ApiReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            ApiReason::Check(reason) => reason.as_str(),
            ApiReason::Rule(rule) => rule.as_str(),
            ApiReason::Http(reason) => reason.as_str(),
        }
    }
}

impl From<CheckReason> for ApiReason {
    fn from(reason: CheckReason) -> ApiReason {
        ApiReason::Check(reason)
    }
}

impl From<Rule> for ApiReason {
    fn from(rule: Rule) -> ApiReason {
        ApiReason::Rule(rule)
    }
}

impl From<HttpReason> for ApiReason {
    fn from(reason: HttpReason) -> ApiReason {
        ApiReason::Http(reason)
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub reason: ApiReason,
    pub message: String,
    /// The calling token, for the request log.
    pub token: Option<TokenId>,
    /// `WWW-Authenticate`, for refusals of the caller's credentials.
    pub challenge: Option<HeaderValue>,
}

impl ApiError {
    pub fn new(status: StatusCode, reason: impl Into<ApiReason>, message: impl Into<String>) -> ApiError {
        ApiError { status, reason: reason.into(), message: message.into(), token: None, challenge: None }
    }

    pub fn bad_request(reason: impl Into<ApiReason>, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, reason, message)
    }

    pub fn by(mut self, token: Option<TokenId>) -> ApiError {
        self.token = token;
        self
    }

    /// With a `WWW-Authenticate` challenge: the answer refuses the caller's credentials.
    pub fn challenged(mut self, challenge: HeaderValue) -> ApiError {
        self.challenge = Some(challenge);
        self
    }

    /// The check refused the calling token (tokens.md §4 steps 1–5).
    pub fn refused(outcome: Outcome, credentials: &Credentials) -> ApiError {
        let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::FORBIDDEN);
        ApiError::new(status, outcome.reason, outcome.reason.help())
            .by(outcome.token_id)
            .challenged(credentials.challenge(outcome.reason))
    }
}

impl ApiError {
    /// A check that could not be made (an unknown name, a busy database): the check's reason
    /// and status, the message saying what to change.
    pub fn check_failed(error: TokenError) -> ApiError {
        let reason = error.check_reason();
        let status = StatusCode::from_u16(reason.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        ApiError::new(status, reason, error.to_string())
    }
}

/// A refusal by a rule answers with the rule's status (403 when a right is missing, 409 when
/// the token's state or the limit stands in the way, 400 when the request should say
/// something else).
impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> ApiError {
        let rule = error.rule();
        let status = StatusCode::from_u16(rule.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match &error {
            TokenError::Refused { message, .. } => message.clone(),
            TokenError::Store(StoreError::LimitReached(limit)) => format!(
                "the owner already has {limit} tokens, the most one owner may hold; delete one (expired and disabled tokens count too)"
            ),
            other => other.to_string(),
        };
        ApiError::new(status, rule, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Messages quote what the client sent; a token pasted where it does not belong is cut
        // to its id even there (tokens.md §1: secrets never appear in errors or logs).
        let message = redact(&self.message);
        let reason = self.reason.as_str();
        if self.status.is_server_error() {
            tracing::error!("{} {reason}: {message}", self.status.as_u16());
        }
        let body = json!({"error": {"code": self.status.as_u16(), "message": message, "reason": reason}});
        let mut response = reply(self.status, &body);
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response.extensions_mut().insert(Logged { token: self.token, decision: reason });
        response
    }
}

/// The `WWW-Authenticate` challenge for a refusal of offered credentials (RFC 6750, D29, D33):
/// the token itself is no good, the credentials are ambiguous, or the token is good but not for
/// this.
pub fn challenge(reason: CheckReason) -> &'static str {
    match reason {
        _ if reason.rejects_the_token() => r#"Bearer error="invalid_token""#,
        CheckReason::InvalidRequest => r#"Bearer error="invalid_request""#,
        _ => r#"Bearer error="insufficient_scope""#,
    }
}
