use thiserror::Error;

use super::store::StoreError;
use super::string::TokenId;
use crate::eval::RequestError;

/// Why a token operation did not happen.
#[derive(Debug, Error)]
pub enum TokenError {
    /// A rule of tokens.md §3 refused it; `rule` is a stable snake_case id.
    #[error("{message} (rule `{rule}`)")]
    Refused { rule: &'static str, message: String },
    #[error("no token `{0}` in this account")]
    UnknownToken(TokenId),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("cannot draw randomness from the operating system: {0}")]
    Random(String),
}

impl TokenError {
    pub(super) fn refused(rule: &'static str, message: impl Into<String>) -> TokenError {
        TokenError::Refused { rule, message: message.into() }
    }

    /// The rule id of a refusal, or a generic id for the other errors.
    pub fn rule(&self) -> &'static str {
        match self {
            TokenError::Refused { rule, .. } => rule,
            // A token deleted between the lookup and the change is as unknown as any other.
            TokenError::UnknownToken(_) | TokenError::Store(StoreError::NotFound(_)) => "unknown_token",
            TokenError::Store(StoreError::LimitReached(_)) => "token_limit",
            TokenError::Store(StoreError::Busy) => "storage_busy",
            TokenError::Store(_) => "storage_error",
            TokenError::Request(RequestError::UnknownPermission { .. }) => "unknown_permission",
            TokenError::Request(RequestError::UnknownEnvironment { .. }) => "unknown_environment",
            TokenError::Request(RequestError::UnknownAttribute { .. }) => "unknown_attribute",
            TokenError::Request(RequestError::GlobalAttribute { .. }) => "bad_request",
            TokenError::Random(_) => "no_randomness",
        }
    }
}
