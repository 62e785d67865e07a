//! The one error answer of the HTTP API (decisions D28): `{"error": {"code", "message", "reason"}}`,
//! `reason` a stable snake_case rule id, the message saying what to change.

use std::borrow::Cow;

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
        let message = outgoing(&self.message);
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

/// How much of one piece of client input a message shows.
const QUOTED_CHARS: usize = 100;
/// The most of a message that is shown: quotes that do not pair up (client input holding
/// backticks) cannot make one long either.
const MESSAGE_CHARS: usize = 1_000;

/// A message as it leaves the service, in an answer, on a page or in the log. Messages quote
/// what the client sent in backticks (serde's in double quotes): each quote is cut to its first
/// 100 characters and `…`, and the whole message to 1,000. A token pasted where it does not
/// belong is cut to its id first (tokens.md §1: secrets never appear in errors or logs).
pub(crate) fn outgoing(message: &str) -> Cow<'_, str> {
    let redacted = redact(message);
    if redacted.len() <= QUOTED_CHARS {
        return redacted;
    }
    let mut out = String::with_capacity(redacted.len().min(4 * MESSAGE_CHARS));
    // The open quote's delimiter and how many characters it has shown; a backslash inside
    // double quotes escapes the next character, as serde writes strings.
    let mut quote: Option<(char, usize)> = None;
    let mut escaped = false;
    let mut shown = 0;
    for c in redacted.chars() {
        if shown == MESSAGE_CHARS {
            out.push('…');
            break;
        }
        let kept = match quote {
            Some((delimiter, _)) if c == delimiter && !escaped => {
                quote = None;
                Some(c)
            }
            Some((delimiter, count)) => {
                escaped = delimiter == '"' && c == '\\' && !escaped;
                quote = Some((delimiter, count + 1));
                match count.cmp(&QUOTED_CHARS) {
                    std::cmp::Ordering::Less => Some(c),
                    std::cmp::Ordering::Equal => Some('…'),
                    std::cmp::Ordering::Greater => None,
                }
            }
            None => {
                if c == '`' || c == '"' {
                    quote = Some((c, 0));
                }
                Some(c)
            }
        };
        if let Some(kept) = kept {
            out.push(kept);
            shown += 1;
        }
    }
    Cow::Owned(out)
}

/// One piece of client input shown on its own (a token id a form sent): its first 100
/// characters and `…`.
pub(crate) fn shortened(input: &str) -> Cow<'_, str> {
    match input.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &input[..cut])),
        None => Cow::Borrowed(input),
    }
}

#[cfg(test)]
mod tests {
    use super::{outgoing, shortened};

    #[test]
    fn quoted_input_is_cut_and_the_rest_of_the_message_kept() {
        let name = "é".repeat(60_000);
        let message = format!("unknown environment `{name}`; the tenant's environments are `dev`, `prod`");
        let shown = outgoing(&message);
        assert_eq!(
            shown,
            format!("unknown environment `{}…`; the tenant's environments are `dev`, `prod`", "é".repeat(100))
        );
        let serde =
            format!("`scope`: invalid type: string \"{}\\\"{}\", expected a sequence", "a".repeat(50), "b".repeat(500));
        assert_eq!(
            outgoing(&serde),
            format!("`scope`: invalid type: string \"{}\\\"{}…\", expected a sequence", "a".repeat(50), "b".repeat(48))
        );
        let short = "no route `GET /v1/authorise`";
        assert_eq!(outgoing(short), short);
    }

    #[test]
    fn input_that_quotes_itself_cannot_make_a_message_long() {
        let message = format!("unknown environment `{}`; did you mean `prod`?", "a`".repeat(30_000));
        let shown = outgoing(&message);
        assert_eq!(shown.chars().count(), 1_001);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn a_token_in_quoted_input_is_cut_to_its_id_before_the_quote_is_cut() {
        let secret = "S".repeat(64);
        let token = format!("dt0s16.ABCDEFGHIJKLMNOPQRSTUVWX.{secret}");
        let message = format!("no token `{}{token}`", "x".repeat(90));
        let shown = outgoing(&message);
        assert!(!shown.contains("SSSS"), "{shown}");
        assert_eq!(shown, format!("no token `{}dt0s16.ABC…`", "x".repeat(90)));
        assert_eq!(shortened(&"i".repeat(150)), format!("{}…", "i".repeat(100)));
        assert_eq!(shortened("dt0s16.ABC"), "dt0s16.ABC");
    }
}
