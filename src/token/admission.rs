//! The rules a new token must pass, whether created, duplicated or rotated (tokens.md §3,
//! decisions D20, D21, D32): the account switch, the actor's rights, the service user, the
//! name, the expiry, the environments and the scopes; and the rules of rotation that keep it
//! from breeding tokens (D31). The limit is the store's, checked in the same transaction as
//! the insert.

use std::borrow::Cow;

use chrono::{DateTime, Duration, Utc};

use super::actor::{Actor, WRITE_OWN};
use super::error::TokenError;
use super::reason::Rule;
use super::record::TokenRecord;
use super::service::{NewToken, TokenService};
use super::string::redact;
use crate::diagnostic::{did_you_mean_clause, nearest};
use crate::eval::{Engine, RequestError};
use crate::iam::Principal;

const USE_SERVICE_USER: &str = "iam:service-users:use";
const SERVICE_USER_EMAIL: &str = "iam:service-user-email";

/// The longest token name, in characters after trimming.
pub const MAX_NAME: usize = 255;

impl TokenService {
    /// Whether the actor may make tokens for `service_user`: `iam:service-users:use` where
    /// `iam:service-user-email` is its email (tokens.md §3).
    pub fn may_act_for<'a>(&self, actor: impl Into<Actor<'a>>, service_user: Principal) -> Result<bool, TokenError> {
        let (engine, actor) = self.engine_for(actor.into())?;
        if !engine.tenant().owns(service_user) {
            return Err(RequestError::ForeignPrincipal.into());
        }
        self.acts_for(&engine, actor, service_user)
    }

    fn acts_for(&self, engine: &Engine, actor: Actor, service_user: Principal) -> Result<bool, TokenError> {
        let email = engine.tenant().email(service_user);
        self.allows(engine, actor, USE_SERVICE_USER, Some((SERVICE_USER_EMAIL, email)))
    }

    /// Every create rule but the limit (D20: duplicate and rotate re-check them); the name to
    /// store, trimmed.
    pub(super) fn admit(
        &self,
        engine: &Engine,
        actor: Actor,
        owner: Principal,
        token: &NewToken,
    ) -> Result<String, TokenError> {
        let tenant = engine.tenant();
        if self.account_switch(&tenant.account.id)? == Some(false) {
            return Err(TokenError::refused(
                Rule::TokensDisabled,
                format!("account `{}` does not allow platform tokens", tenant.account.id),
            ));
        }
        self.require(engine, actor, WRITE_OWN, "create platform tokens")?;
        if token.service_user.is_some() {
            let email = tenant.email(owner);
            if !self.acts_for(engine, actor, owner)? {
                return Err(TokenError::refused(
                    Rule::ServiceUserNotAllowed,
                    format!(
                        "`{}` may not act for the service user `{email}`: that needs `{USE_SERVICE_USER}` where `{SERVICE_USER_EMAIL}` is its email",
                        tenant.email(actor.principal)
                    ),
                ));
            }
        }
        let name = token.name.trim();
        let length = name.chars().count();
        if length == 0 || length > MAX_NAME {
            return Err(TokenError::refused(
                Rule::InvalidName,
                format!("a token name has 1 to {MAX_NAME} characters; this one has {length}"),
            ));
        }
        // Names and tags are shown in other people's terminals and pages.
        if name.contains(acts_unseen) || token.tags.iter().any(|tag| tag.contains(acts_unseen)) {
            return Err(TokenError::refused(
                Rule::InvalidName,
                "a token's name and tags hold no control characters (line breaks, tabs, escapes) \
                 and no direction overrides",
            ));
        }
        // A pasted token would be stored in clear and shown to every admin of the account.
        let holds_a_token = |text: &str| redact(text) != text;
        if holds_a_token(name) || token.tags.iter().any(|tag| holds_a_token(tag)) {
            return Err(TokenError::refused(
                Rule::InvalidName,
                "a token's name and tags must not hold a token string: they are stored and shown in clear; \
                 name the token by what uses it",
            ));
        }
        if let Some(at) = token.expires_at {
            in_the_future(at, self.clock.now())?;
        }
        within_caller(actor, token.expires_at)?;
        for environment in &token.environments {
            if tenant.environment(environment).is_none() {
                return Err(TokenError::refused(
                    Rule::UnknownEnvironment,
                    format!("account `{}` has no environment `{environment}`", tenant.account.id),
                ));
            }
        }
        self.known_scopes(&token.scopes)?;
        if let Some(caller) = actor.token {
            if let Some(scope) = token.scopes.iter().find(|scope| !caller.scopes.contains(scope)) {
                return Err(TokenError::refused(
                    Rule::ScopeNotHeld,
                    format!(
                        "`{scope}` is not a scope of the calling token `{}`: a token passes on only scopes it holds",
                        caller.id
                    ),
                ));
            }
        }
        Ok(name.to_string())
    }

    /// At least one scope, each a permission of a service whose permissions may be token scopes.
    fn known_scopes(&self, scopes: &[String]) -> Result<(), TokenError> {
        if scopes.is_empty() {
            return Err(TokenError::refused(Rule::NoScopes, "a token needs at least one scope"));
        }
        let may_be_scope = |permission: &str| {
            let service = permission.split(':').next().unwrap_or_default();
            self.catalog.service(service).is_some_and(|s| s.token_scope)
        };
        for scope in scopes {
            let known = self.catalog.permission(scope).is_some();
            if !known || !may_be_scope(scope) {
                let scopes = self.catalog.permissions().filter(|p| may_be_scope(&p.name));
                let hint = did_you_mean_clause(nearest(scope, scopes.map(|p| p.name.as_str())));
                let why =
                    if known { "its service cannot be a token scope" } else { "it is not a permission of the catalog" };
                return Err(TokenError::refused(
                    Rule::UnknownScope,
                    format!("`{scope}` cannot be a scope: {why}{hint}"),
                ));
            }
        }
        Ok(())
    }
}

/// The longest overlap of a rotation: how long the old token may go on working (D31).
pub const MAX_OVERLAP: Duration = Duration::days(30);

impl TokenService {
    /// A token whose predecessor still works (inside its overlap) is not rotated again until
    /// the predecessor has expired or been deleted (D31).
    pub(super) fn no_rotation_in_progress(&self, record: &TokenRecord, now: DateTime<Utc>) -> Result<(), TokenError> {
        let Some(predecessor) = &record.rotated_from else { return Ok(()) };
        match self.store.get(predecessor)? {
            Some((old, false)) if !old.is_expired(now) => Err(TokenError::refused(
                Rule::RotationInProgress,
                format!(
                    "`{}` replaced `{}`, which works until {}; rotate it once that token has expired or been deleted",
                    record.id,
                    old.id,
                    old.expires_at.map_or_else(|| "it is deleted".to_string(), |at| at.to_rfc3339())
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// The old token of a rotation stops now or within 30 days, and never after its own expiry (D31).
pub(super) fn overlap_allowed(
    record: &TokenRecord,
    old_expires: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), TokenError> {
    let latest = record.expires_at.map_or(now + MAX_OVERLAP, |at| at.min(now + MAX_OVERLAP));
    if old_expires < now || old_expires > latest {
        return Err(TokenError::refused(
            Rule::InvalidOverlap,
            format!(
                "the old token can stop now or at most {} days ahead, never after its own expiry: between now and {}, not at {}",
                MAX_OVERLAP.num_days(),
                latest.to_rfc3339(),
                old_expires.to_rfc3339()
            ),
        ));
    }
    Ok(())
}

/// A rotated-out token is not rotated or duplicated again (D31).
pub(super) fn not_rotated_out(record: &TokenRecord, what: &str) -> Result<(), TokenError> {
    match &record.rotated_to {
        Some(successor) => Err(TokenError::refused(
            Rule::AlreadyRotated,
            format!("`{}` was rotated into `{successor}` and cannot be {what} again; use `{successor}`", record.id),
        )),
        None => Ok(()),
    }
}

/// A rotated-out token's expiry can be brought forward, never put later or cleared (D31).
pub(super) fn only_brought_forward(record: &TokenRecord, expires_at: Option<DateTime<Utc>>) -> Result<(), TokenError> {
    let (Some(successor), Some(current)) = (&record.rotated_to, record.expires_at) else { return Ok(()) };
    if expires_at.is_some_and(|at| at <= current) {
        return Ok(());
    }
    Err(TokenError::refused(
        Rule::AlreadyRotated,
        format!(
            "`{}` was rotated into `{successor}`: its expiry can only be brought forward, to {} or earlier",
            record.id,
            current.to_rfc3339()
        ),
    ))
}

/// Through a token, no expiry may be later than the calling token's own (D32); a caller that
/// never expires, and a person acting in person, have no such bound.
pub(super) fn within_caller(actor: Actor, expires_at: Option<DateTime<Utc>>) -> Result<(), TokenError> {
    let Some((caller, bound)) = actor.token.and_then(|token| Some((token, token.expires_at?))) else {
        return Ok(());
    };
    if expires_at.is_some_and(|at| at <= bound) {
        return Ok(());
    }
    let asked =
        expires_at.map_or_else(|| "never to expire".to_string(), |at| format!("to expire at {}", at.to_rfc3339()));
    Err(TokenError::refused(
        Rule::ExpiryBeyondCaller,
        format!(
            "the calling token `{}` expires at {}, and a token cannot make a token, or set an expiry, that outlives it; this asks {asked}",
            caller.id,
            bound.to_rfc3339()
        ),
    ))
}

/// An expiry must lie in the future.
pub(super) fn in_the_future(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), TokenError> {
    if at <= now {
        return Err(TokenError::refused(
            Rule::ExpiryInPast,
            format!("the expiry {} is not in the future", at.to_rfc3339()),
        ));
    }
    Ok(())
}

/// An expired token cannot be duplicated, rotated or given a new expiry (D20).
pub(super) fn not_expired(record: &TokenRecord, now: DateTime<Utc>, what: &str) -> Result<(), TokenError> {
    if record.is_expired(now) {
        return Err(TokenError::refused(
            Rule::TokenExpired,
            format!("`{}` has expired and cannot be {what}", record.id),
        ));
    }
    Ok(())
}

/// A duplicate's name: `Duplicate of: <name>`, cut to the longest name (tokens.md §3).
pub fn duplicate_name(name: &str) -> String {
    format!("Duplicate of: {name}").chars().take(MAX_NAME).collect()
}

/// A character that acts rather than shows where a name is read: a control character (an
/// escape, a line break) and a direction override, which reverses what follows it.
fn acts_unseen(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A token's name or tag as a terminal may print it: characters that would act there are
/// written as escapes (`\u{1b}`, `\n`). New names cannot hold them; names stored before that
/// rule, or written to the database by other tools, can.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.contains(acts_unseen) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acts_unseen(c) {
            shown.extend(c.escape_debug());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// `K8s operator 2026-01-02` → `K8s operator 2026-11-27`; other names get the date appended (D20).
pub(super) fn rotated_name(name: &str, now: DateTime<Utc>) -> String {
    let today = now.format("%Y-%m-%d").to_string();
    let strict_date = |text: &str| {
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        shaped && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
    };
    let stem = match name.rsplit_once(' ') {
        Some((stem, date)) if strict_date(date) => stem,
        _ => name,
    };
    let mut rotated: String = stem.chars().take(MAX_NAME - today.len() - 1).collect();
    rotated.push(' ');
    rotated.push_str(&today);
    rotated
}
