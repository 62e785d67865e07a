//! What the lifecycle needs from storage. `store::SqliteStore` implements it; every method is
//! one transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::record::{Status, TokenRecord};
use super::string::TokenId;

/// One line of the append-only audit log: who did what to which token, and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// The account it happened in: one database may hold several.
    pub account: String,
    /// Who: the actor's email.
    pub actor: String,
    /// What: `create`, `disable`, `rotate`, `deny_tokens`, …
    pub action: String,
    /// The token acted on (for a create, the new one).
    pub token: Option<TokenId>,
    /// The token a duplicate or rotate made (D31).
    pub new_token: Option<TokenId>,
    /// `ok`, or the rule id that refused it.
    pub outcome: String,
}

/// A change to one token.
#[derive(Debug, Clone)]
pub enum Change {
    /// Disable or enable.
    Status(Status),
    /// A new expiry; `None`: never.
    Expiry(Option<DateTime<Utc>>),
    /// Delete for good.
    Delete,
}

/// Why the store did not do what it was asked.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The owner already has `limit` tokens: the insert did not happen.
    #[error("the owner already has {0} tokens")]
    LimitReached(usize),
    /// No such token, or it is deleted.
    #[error("no token `{0}`")]
    NotFound(TokenId),
    /// The token to rotate was rotated already: the rotation did not happen (D31).
    #[error("`{0}` was rotated already")]
    AlreadyRotated(TokenId),
    /// The database stayed busy beyond the busy timeout.
    #[error("the token database is busy; try again")]
    Busy,
    /// The database failed.
    #[error("token database error: {0}")]
    Database(String),
}

/// Storage of tokens, account switches and the audit log: what the lifecycle needs, each method
/// one transaction.
pub trait TokenStore: Send + Sync {
    /// Inserts a token unless its owner already has `limit` tokens in its account (deleted ones
    /// do not count); the count and the insert are one transaction. `limit: None` skips it.
    fn insert(&self, record: &TokenRecord, limit: Option<usize>, audit: &AuditEntry) -> Result<(), StoreError>;
    /// A token by id, deleted ones included: the second value says whether it is deleted.
    fn get(&self, id: &TokenId) -> Result<Option<(TokenRecord, bool)>, StoreError>;
    /// The account's tokens that are not deleted, of one owner or of all.
    fn list(&self, account: &str, owner: Option<&str>) -> Result<Vec<TokenRecord>, StoreError>;
    /// Applies a change and writes its audit entry, in one transaction.
    fn change(&self, id: &TokenId, change: &Change, audit: &AuditEntry) -> Result<(), StoreError>;
    /// Inserts `new` and sets the old token's expiry and successor, in one transaction
    /// (rotation); refuses with [`StoreError::AlreadyRotated`] when the old token has a
    /// successor already.
    fn rotate(
        &self,
        old: &TokenId,
        old_expires: DateTime<Utc>,
        new: &TokenRecord,
        audit: &AuditEntry,
    ) -> Result<(), StoreError>;
    /// The account's platform-tokens switch, `None` before it was ever set.
    fn account_switch(&self, account: &str) -> Result<Option<bool>, StoreError>;
    /// Sets the account's switch, with its audit entry (none when the tenant seeds it).
    fn set_account_switch(&self, account: &str, allowed: bool, audit: Option<&AuditEntry>) -> Result<(), StoreError>;
    /// Appends an audit entry (a refusal: nothing else changed).
    fn record_audit(&self, audit: &AuditEntry) -> Result<(), StoreError>;
    /// An account's audit entries since a time, of one token (acted on or made) or of all,
    /// oldest first.
    fn audit_log(
        &self,
        account: &str,
        since: Option<DateTime<Utc>>,
        token: Option<&TokenId>,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// Records a successful use.
    fn touch(&self, id: &TokenId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// The key that signs the token pages' form tokens (D36): the stored one, else `candidate`,
    /// stored now, in one transaction, so that processes sharing the database agree on it.
    fn ui_form_key(&self, candidate: &[u8; 32]) -> Result<[u8; 32], StoreError>;
    /// Marks a form token of the token pages as used, by its nonce, until `until`: `false` when
    /// it was used already (a replay). Marks whose time is before `now` may be dropped.
    fn spend_ui_form_token(&self, nonce: &str, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, StoreError>;
}
