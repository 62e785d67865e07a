//! What a token holds (tokens.md §2): never its secret, only the digest.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::string::{TokenDigest, TokenId};
use crate::iam::{Principal, Tenant};

/// What a token was set to: a disabled token is refused until enabled again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Usable (while not expired).
    Active,
    /// Refused.
    Disabled,
}

/// What a token is shown as: `expired` wins over `disabled` (D20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShownStatus {
    /// Active and not expired.
    Active,
    /// Disabled and not expired.
    Disabled,
    /// Expired, whatever its status.
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
    /// The user's or service user's id.
    pub id: String,
    /// Whether it is a service user.
    pub service_user: bool,
}

impl Owner {
    /// The owner as a principal of `tenant`; `None` when it is no longer in the tenant.
    pub fn principal(&self, tenant: &Tenant) -> Option<Principal> {
        match self.service_user {
            true => tenant.find_service_user(&self.id),
            false => tenant.find_user(&self.id),
        }
    }
}

/// A token as stored (tokens.md §2).
#[derive(Debug, Clone, Serialize)]
pub struct TokenRecord {
    /// `PREFIX.PUBLIC`: safe to show, log and use in URLs.
    pub id: TokenId,
    /// 1 to 255 characters, trimmed; not unique.
    pub name: String,
    /// Free-form labels.
    pub tags: Vec<String>,
    /// Whom the token acts for.
    pub owner: Owner,
    /// The id of the user or service user that created it.
    pub creator: String,
    /// The account it belongs to.
    pub account: String,
    /// Empty: the whole account; else these environments only.
    pub environments: Vec<String>,
    /// The permissions it may be used for (its rights are these ∩ its owner's policies).
    pub scopes: Vec<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working; `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Active or disabled.
    pub status: Status,
    /// The last successful use, written at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// The token this one replaced by rotation.
    pub rotated_from: Option<TokenId>,
    /// The token that replaced this one by rotation (D31: it cannot be rotated or duplicated
    /// again).
    pub rotated_to: Option<TokenId>,
    /// The SHA-256 of the token string: never the secret itself.
    #[serde(skip)]
    pub digest: TokenDigest,
}

impl TokenRecord {
    /// Whether the token has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether the token may carry an account-level right (D16, D22): it holds the scope and is
    /// not narrowed to environments.
    pub fn holds_account_right(&self, permission: &str) -> bool {
        self.environments.is_empty() && self.scopes.iter().any(|s| s == permission)
    }

    /// How listings show it at `now` (D20: expired before disabled).
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
    /// The token's id.
    pub token_id: TokenId,
    /// Its name.
    pub name: String,
    /// Its scopes.
    pub scope: Vec<String>,
    /// `urn:dtaccount:<id>`, or `urn:dtenvironment:<id>` for each environment.
    pub resource: Vec<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// When it expires; `null`: never.
    pub expiration_date: Option<DateTime<Utc>>,
    /// The owner's id.
    pub user_uuid: String,
    /// `ACTIVE`, `INACTIVE` (disabled) or `EXPIRED`.
    pub status: &'static str,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Its last successful use.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// The token as the API shows it at `now`.
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
