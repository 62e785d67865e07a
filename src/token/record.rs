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

impl ShownStatus {
    /// The account-management API's name (D27): `ACTIVE`, `INACTIVE` or `EXPIRED`.
    pub fn api_name(self) -> &'static str {
        match self {
            ShownStatus::Active => "ACTIVE",
            ShownStatus::Disabled => "INACTIVE",
            ShownStatus::Expired => "EXPIRED",
        }
    }
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
    /// The token this one replaced by rotation.
    pub rotated_from: Option<TokenId>,
    /// The token that replaced this one by rotation (D31: it cannot be rotated or duplicated
    /// again).
    pub rotated_to: Option<TokenId>,
    #[serde(skip)]
    pub digest: TokenDigest,
}

impl TokenRecord {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether the token may carry an account-level right (D16, D22): it holds the scope and is
    /// not narrowed to environments.
    pub fn holds_account_right(&self, permission: &str) -> bool {
        self.environments.is_empty() && self.scopes.iter().any(|s| s == permission)
    }

    pub fn shown_status(&self, now: DateTime<Utc>) -> ShownStatus {
        match (self.is_expired(now), self.status) {
            (true, _) => ShownStatus::Expired,
            (false, Status::Disabled) => ShownStatus::Disabled,
            (false, Status::Active) => ShownStatus::Active,
        }
    }
}

/// A token as the account-management API shows it (decisions D27): never the secret.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub token_id: TokenId,
    pub name: String,
    pub scope: Vec<String>,
    /// `urn:dtaccount:<id>`, or `urn:dtenvironment:<id>` for each environment.
    pub resource: Vec<String>,
    pub tags: Vec<String>,
    pub expiration_date: Option<DateTime<Utc>>,
    pub user_uuid: String,
    /// `ACTIVE`, `INACTIVE` (disabled) or `EXPIRED`.
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    pub fn view(&self, now: DateTime<Utc>) -> TokenView {
        let resource = match self.environments.is_empty() {
            true => vec![format!("urn:dtaccount:{}", self.account)],
            false => self.environments.iter().map(|e| format!("urn:dtenvironment:{e}")).collect(),
        };
        TokenView {
            token_id: self.id.clone(),
            name: self.name.clone(),
            scope: self.scopes.clone(),
            resource,
            tags: self.tags.clone(),
            expiration_date: self.expires_at,
            user_uuid: self.owner.id.clone(),
            status: self.shown_status(now).api_name(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}
