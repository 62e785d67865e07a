use thiserror::Error;

use super::reason::{CheckReason, Rule};
use super::store::StoreError;
use super::string::TokenId;
use crate::eval::RequestError;

/// Why a token operation did not happen.
#[non_exhaustive]
#[derive(Debug, Error)]
pub enum TokenError {
    /// A rule of tokens.md §3 refused it.
    #[error("{message} (rule `{rule}`)")]
    Refused {
        /// The rule.
        rule: Rule,
        /// What stood in the way, and what to do.
        message: String,
    },
    /// No such token in the account, or it is deleted.
    #[error("no token `{0}` in this account")]
    UnknownToken(TokenId),
    /// The store failed, or refused inside its transaction (the limit).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A right could not be evaluated as asked.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The operating system gave no randomness for a secret.
    #[error("cannot draw randomness from the operating system: {0}")]
    Random(String),
}

impl TokenError {
    pub(super) fn refused(rule: Rule, message: impl Into<String>) -> TokenError {
        TokenError::Refused { rule, message: message.into() }
    }

    /// The rule of a refusal, or what kept the operation from being carried out.
    pub fn rule(&self) -> Rule {
        match self {
            TokenError::Refused { rule, .. } => *rule,
            // A token deleted between the lookup and the change is as unknown as any other.
            TokenError::UnknownToken(_) | TokenError::Store(StoreError::NotFound(_)) => Rule::UnknownToken,
            TokenError::Store(StoreError::LimitReached(_)) => Rule::TokenLimit,
            TokenError::Store(StoreError::AlreadyRotated(_)) => Rule::AlreadyRotated,
            TokenError::Store(StoreError::Busy) => Rule::StorageBusy,
            TokenError::Store(StoreError::Unavailable(_)) => Rule::StorageUnavailable,
            TokenError::Store(_) => Rule::StorageError,
            TokenError::Request(_) => Rule::BadRequest,
            TokenError::Random(_) => Rule::NoRandomness,
        }
    }

    /// Why a check could not be made, for the check's answer and its metrics.
    pub fn check_reason(&self) -> CheckReason {
        match self {
            TokenError::Request(RequestError::UnknownPermission { .. }) => CheckReason::UnknownPermission,
            TokenError::Request(RequestError::UnknownEnvironment { .. }) => CheckReason::UnknownEnvironment,
            TokenError::Request(RequestError::UnknownAttribute { .. }) => CheckReason::UnknownAttribute,
            TokenError::Request(_) => CheckReason::BadRequest,
            TokenError::Store(StoreError::Busy) => CheckReason::StorageBusy,
            TokenError::Store(StoreError::Unavailable(_)) => CheckReason::StorageUnavailable,
            _ => CheckReason::StorageError,
        }
    }
}
