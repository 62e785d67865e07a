//! The stable ids of the token layer's answers, spelled once: how a check of a token ends
//! ([`CheckReason`], tokens.md §4) and why a lifecycle operation did not happen ([`Rule`],
//! tokens.md §3). They are wire format — the `reason` of `/v1/authorize` and of the HTTP API's
//! errors, `X-Warden-Reason`, the audit log's `outcome`, the labels of `/metrics`, the CLI's
//! ``(rule `…`)`` — so code names the variants and a typo does not compile.
//!
//! The two enums share one namespace. An id found in both (`token_expired`,
//! `unknown_environment`, `bad_request`, `storage_busy`, `storage_unavailable`, `storage_error`) means the same thing,
//! said of the token that calls or of the token being managed; only the HTTP status can differ:
//! a check of an expired token is 403 (the platform documents 403 there), while duplicating an
//! expired token is a 409 conflict with the token's state.

use std::fmt;

use serde::{Serialize, Serializer};

/// How a check of a bearer token ends (tokens.md §4, D23, D29, D33, D34), or why it could not
/// be made: the `reason` of a check's answer and of `warden_decisions_total`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckReason {
    /// The owner's policies allow it (200).
    Ok,
    /// No `Bearer` token, a malformed one, a failed checksum, an unknown or deleted token or a
    /// wrong secret, without a hint which (401).
    InvalidToken,
    /// The token has expired (403).
    TokenExpired,
    /// The token is disabled (403).
    TokenDisabled,
    /// Another account, or an environment outside the token's resource scope (403).
    WrongResource,
    /// The permission is not among the token's scopes (403).
    InsufficientScope,
    /// The owner's policies deny it, explicitly or by default (403).
    PolicyDenied,
    /// The owner's policies allow it only under conditions on attributes the request lacks
    /// (403, the residual attached; D23).
    Conditional,
    /// The call cannot be evaluated as sent (a `global:` attribute; forward-auth without a
    /// permission).
    BadRequest,
    /// The credentials are ambiguous: several `Authorization` headers (D33).
    InvalidRequest,
    /// The permission is not in the catalog (D34).
    UnknownPermission,
    /// The account has no such environment (D34).
    UnknownEnvironment,
    /// The catalog knows no such attribute key (D34).
    UnknownAttribute,
    /// The database stayed busy beyond its timeout.
    StorageBusy,
    /// The database cannot be reached (503: a token not in memory cannot be checked).
    StorageUnavailable,
    /// The database failed.
    StorageError,
}

impl CheckReason {
    /// Every reason, in the order `/metrics` lists them.
    pub const ALL: [CheckReason; 16] = [
        CheckReason::Ok,
        CheckReason::InvalidToken,
        CheckReason::TokenExpired,
        CheckReason::TokenDisabled,
        CheckReason::WrongResource,
        CheckReason::InsufficientScope,
        CheckReason::PolicyDenied,
        CheckReason::Conditional,
        CheckReason::BadRequest,
        CheckReason::InvalidRequest,
        CheckReason::UnknownPermission,
        CheckReason::UnknownEnvironment,
        CheckReason::UnknownAttribute,
        CheckReason::StorageBusy,
        CheckReason::StorageUnavailable,
        CheckReason::StorageError,
    ];

    /// The stable snake_case id.
    pub const fn as_str(self) -> &'static str {
        match self {
            CheckReason::Ok => "ok",
            CheckReason::InvalidToken => "invalid_token",
            CheckReason::TokenExpired => "token_expired",
            CheckReason::TokenDisabled => "token_disabled",
            CheckReason::WrongResource => "wrong_resource",
            CheckReason::InsufficientScope => "insufficient_scope",
            CheckReason::PolicyDenied => "policy_denied",
            CheckReason::Conditional => "conditional",
            CheckReason::BadRequest => "bad_request",
            CheckReason::InvalidRequest => "invalid_request",
            CheckReason::UnknownPermission => "unknown_permission",
            CheckReason::UnknownEnvironment => "unknown_environment",
            CheckReason::UnknownAttribute => "unknown_attribute",
            CheckReason::StorageBusy => "storage_busy",
            CheckReason::StorageUnavailable => "storage_unavailable",
            CheckReason::StorageError => "storage_error",
        }
    }

    /// The HTTP status of the check (the `status` of `/v1/authorize`'s answer, and the status
    /// of an error answer). Forward-auth answers only 200, 401 and 403, which gateways pass on.
    pub const fn status(self) -> u16 {
        match self {
            CheckReason::Ok => 200,
            CheckReason::InvalidToken => 401,
            CheckReason::TokenExpired
            | CheckReason::TokenDisabled
            | CheckReason::WrongResource
            | CheckReason::InsufficientScope
            | CheckReason::PolicyDenied
            | CheckReason::Conditional => 403,
            CheckReason::BadRequest
            | CheckReason::InvalidRequest
            | CheckReason::UnknownPermission
            | CheckReason::UnknownEnvironment
            | CheckReason::UnknownAttribute => 400,
            CheckReason::StorageBusy | CheckReason::StorageUnavailable => 503,
            CheckReason::StorageError => 500,
        }
    }

    /// What was decided, as `/metrics` counts it: `allow`, `conditional`, `deny`, or `error`
    /// when no decision could be made.
    pub const fn outcome(self) -> &'static str {
        match self {
            CheckReason::Ok => "allow",
            CheckReason::Conditional => "conditional",
            CheckReason::InvalidToken
            | CheckReason::TokenExpired
            | CheckReason::TokenDisabled
            | CheckReason::WrongResource
            | CheckReason::InsufficientScope
            | CheckReason::PolicyDenied => "deny",
            CheckReason::BadRequest
            | CheckReason::InvalidRequest
            | CheckReason::UnknownPermission
            | CheckReason::UnknownEnvironment
            | CheckReason::UnknownAttribute
            | CheckReason::StorageBusy
            | CheckReason::StorageUnavailable
            | CheckReason::StorageError => "error",
        }
    }

    /// Whether the token itself is no good (bad, expired or disabled): the answer challenges it
    /// with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750, D29).
    pub const fn rejects_the_token(self) -> bool {
        matches!(self, CheckReason::InvalidToken | CheckReason::TokenExpired | CheckReason::TokenDisabled)
    }

    /// What it means for whoever sent the token, and what to do: the message of an error
    /// answer when the calling token is refused.
    pub const fn help(self) -> &'static str {
        match self {
            CheckReason::Ok => "the calling token's owner may do this",
            CheckReason::InvalidToken => {
                "send `Authorization: Bearer <platform token>` with a valid token of this account"
            }
            CheckReason::TokenExpired => "the calling token has expired; use another token or rotate this one",
            CheckReason::TokenDisabled => "the calling token is disabled; enable it or use another token",
            CheckReason::WrongResource => {
                "the calling token is not valid here: it belongs to another account, or to other environments"
            }
            CheckReason::InsufficientScope => "the calling token does not hold this permission among its scopes",
            CheckReason::PolicyDenied => {
                "the policies of the calling token's owner do not allow this (or the owner is no longer in the tenant)"
            }
            CheckReason::Conditional => {
                "the owner's policies allow this only where the residual's conditions hold; send the attributes they name"
            }
            CheckReason::BadRequest => "the call cannot be evaluated as sent",
            CheckReason::InvalidRequest => "send one `Authorization` header, not several",
            CheckReason::UnknownPermission => "the permission is not in the catalog; check its spelling",
            CheckReason::UnknownEnvironment => "the account has no such environment; check its id",
            CheckReason::UnknownAttribute => "the catalog knows no such attribute key; check its spelling",
            CheckReason::StorageBusy => "the token database is busy; try again",
            CheckReason::StorageUnavailable => "the token database is unavailable; try again shortly",
            CheckReason::StorageError => "the token database failed; see the service's log",
        }
    }
}

/// Why a lifecycle operation did not happen (tokens.md §3, D20–D24, D31, D32): the `reason` of
/// the management API's errors, the `outcome` of an audit entry, the `outcome` label of
/// `warden_token_operations_total`, the CLI's ``(rule `…`)``. The last five are failures to
/// carry the operation out rather than refusals by a rule ([`Rule::is_refusal`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// The account's switch is off: no create, duplicate or rotate (403).
    TokensDisabled,
    /// The actor lacks the right to do this (403).
    NotPermitted,
    /// The actor may not act for that service user (`iam:service-users:use`, 403).
    ServiceUserNotAllowed,
    /// Through the API, a new token may hold only scopes of the calling token (D21, 403).
    ScopeNotHeld,
    /// Through the API, a token cannot mint or set an expiry later than its own (D32, 403).
    ExpiryBeyondCaller,
    /// The owner holds the most tokens one owner may hold in the account (409).
    TokenLimit,
    /// The token has expired: it cannot be duplicated, rotated or given a new expiry (409).
    TokenExpired,
    /// The token was rotated out: it cannot be rotated or duplicated again, and its expiry can
    /// only be brought forward (D31, 409).
    AlreadyRotated,
    /// The token's predecessor is still inside its overlap (D31, 409).
    RotationInProgress,
    /// No such token in this account (404).
    UnknownToken,
    /// A name has 1 to 255 characters after trimming (400).
    InvalidName,
    /// An expiry must lie in the future (400).
    ExpiryInPast,
    /// The old token of a rotation stops now or within 30 days, never after its own expiry
    /// (D31, 400).
    InvalidOverlap,
    /// The account has no such environment (400).
    UnknownEnvironment,
    /// A scope must be a permission of a service whose permissions may be token scopes (400).
    UnknownScope,
    /// A token needs at least one scope (400).
    NoScopes,
    /// The token's owner is no longer in the tenant (400).
    UnknownOwner,
    /// A right could not be evaluated as asked (400).
    BadRequest,
    /// The database stayed busy beyond its timeout (503).
    StorageBusy,
    /// The database cannot be reached; nothing was changed (503).
    StorageUnavailable,
    /// The database failed (500).
    StorageError,
    /// The operating system gave no randomness for a secret (500).
    NoRandomness,
}

impl Rule {
    /// The stable snake_case id.
    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::TokensDisabled => "tokens_disabled",
            Rule::NotPermitted => "not_permitted",
            Rule::ServiceUserNotAllowed => "service_user_not_allowed",
            Rule::ScopeNotHeld => "scope_not_held",
            Rule::ExpiryBeyondCaller => "expiry_beyond_caller",
            Rule::TokenLimit => "token_limit",
            Rule::TokenExpired => "token_expired",
            Rule::AlreadyRotated => "already_rotated",
            Rule::RotationInProgress => "rotation_in_progress",
            Rule::UnknownToken => "unknown_token",
            Rule::InvalidName => "invalid_name",
            Rule::ExpiryInPast => "expiry_in_past",
            Rule::InvalidOverlap => "invalid_overlap",
            Rule::UnknownEnvironment => "unknown_environment",
            Rule::UnknownScope => "unknown_scope",
            Rule::NoScopes => "no_scopes",
            Rule::UnknownOwner => "unknown_owner",
            Rule::BadRequest => "bad_request",
            Rule::StorageBusy => "storage_busy",
            Rule::StorageUnavailable => "storage_unavailable",
            Rule::StorageError => "storage_error",
            Rule::NoRandomness => "no_randomness",
        }
    }

    /// The HTTP status of the API's answer: 403 when a right is missing, 409 when the token's
    /// state or the limit stands in the way, 404 for an unknown token, 400 when the request
    /// should say something else, 5xx when warden failed.
    pub const fn status(self) -> u16 {
        match self {
            Rule::TokensDisabled
            | Rule::NotPermitted
            | Rule::ServiceUserNotAllowed
            | Rule::ScopeNotHeld
            | Rule::ExpiryBeyondCaller => 403,
            Rule::TokenLimit | Rule::TokenExpired | Rule::AlreadyRotated | Rule::RotationInProgress => 409,
            Rule::UnknownToken => 404,
            Rule::InvalidName
            | Rule::ExpiryInPast
            | Rule::InvalidOverlap
            | Rule::UnknownEnvironment
            | Rule::UnknownScope
            | Rule::NoScopes
            | Rule::UnknownOwner
            | Rule::BadRequest => 400,
            Rule::StorageBusy | Rule::StorageUnavailable => 503,
            Rule::StorageError | Rule::NoRandomness => 500,
        }
    }

    /// Whether a rule refused the operation (audited, CLI exit 1; D1, D24), rather than the
    /// token being unknown or warden failing (CLI exit 2).
    pub const fn is_refusal(self) -> bool {
        !matches!(
            self,
            Rule::UnknownToken
                | Rule::BadRequest
                | Rule::StorageBusy
                | Rule::StorageUnavailable
                | Rule::StorageError
                | Rule::NoRandomness
        )
    }

    /// What to do about a refusal whose message alone does not say it.
    pub const fn help(self) -> Option<&'static str> {
        match self {
            Rule::TokenLimit => Some("every token not deleted counts, expired and disabled ones included"),
            _ => None,
        }
    }
}

impl fmt::Display for CheckReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CheckReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::CheckReason;

    #[test]
    fn every_check_reason_is_listed_once_in_its_own_place() {
        for (index, reason) in CheckReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, index, "{reason}");
        }
    }
}
