//! What a token holds (tokens.md §2): never its secret, only the digest.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::string::{TokenDigest, TokenId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Disabled,
}

/// What a token is shown as: `expired` wins over `disabled` (D20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShownStatus {
    Active,
    Disabled,
    Expired,
}

/// The owner: a user or a service user, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub id: String,
    pub service_user: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenRecord {
    pub id: TokenId,
    pub name: String,
    pub tags: Vec<String>,
    pub owner: Owner,
    /// The id of the user or service user that created it.
    pub creator: String,
    pub account: String,
    /// Empty: the whole account; else these environments only.
    pub environments: Vec<String>,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub status: Status,
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub digest: TokenDigest,
}

impl TokenRecord {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    pub fn shown_status(&self, now: DateTime<Utc>) -> ShownStatus {
        match (self.is_expired(now), self.status) {
            (true, _) => ShownStatus::Expired,
            (false, Status::Disabled) => ShownStatus::Disabled,
            (false, Status::Active) => ShownStatus::Active,
        }
    }
}
