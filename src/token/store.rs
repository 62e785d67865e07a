//! What the lifecycle needs from storage. `store::SqliteStore` and `store::PostgresStore`
//! implement it; every method is one transaction.

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
    /// The database cannot be reached (stopped, restarting, unreachable): nothing was changed.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database failed.
    #[error("token database error: {0}")]
    Database(String),
}

/// What another process changed, as a store shared between processes reports it: a copy of it
/// held in memory is stale.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalidation {
    /// A token was disabled, enabled, deleted or given a new expiry.
    Token(TokenId),
    /// An account's platform-tokens switch was set.
    Account(String),
    /// Changes may have been missed (the store lost touch with the database for a while).
    Everything,
}

/// Called with every [`Invalidation`], on a thread of the store's.
pub type InvalidationListener = Box<dyn Fn(Invalidation) + Send + Sync>;

/// Why [`TokenStore::import`] refused a store that holds something.
pub const NOT_EMPTY: &str =
    "it holds tokens, account switches or audit entries already; a copy goes into an empty database";

/// Everything a store holds, for moving it to another store (`warden db copy`).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Each account's platform-tokens switch, by account id.
    pub accounts: Vec<(String, bool)>,
    /// Every token, deleted ones included (the flag), ordered by id.
    pub tokens: Vec<(TokenRecord, bool)>,
    /// The audit log, oldest first.
    pub audit: Vec<AuditEntry>,
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
    /// Records successful uses, a batch in one transaction; a time never moves backwards.
    fn touch(&self, uses: &[(TokenId, DateTime<Utc>)]) -> Result<(), StoreError>;
    /// The key that signs the token pages' form tokens (D36): the stored one, else `candidate`,
    /// stored now, in one transaction, so that processes sharing the database agree on it.
    fn ui_form_key(&self, candidate: &[u8; 32]) -> Result<[u8; 32], StoreError>;
    /// Marks a form token of the token pages as used, by its nonce, until `until`: `false` when
    /// it was used already (a replay). Marks whose time is before `now` may be dropped.
    fn spend_ui_form_token(&self, nonce: &str, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Has `listener` called with what other processes change, as soon as they commit it. A
    /// store that cannot tell (SQLite) never calls it: changes then reach this process within
    /// the propagation bound.
    fn subscribe(&self, listener: InvalidationListener) {
        let _ = listener;
    }
    /// Everything the store holds but the token pages' form state.
    fn export(&self) -> Result<Snapshot, StoreError>;
    /// Fills an empty store with a snapshot, in one transaction; a store that holds tokens,
    /// accounts or audit entries already is refused.
    fn import(&self, snapshot: &Snapshot) -> Result<(), StoreError>;
}
