//! The rules a new token must pass, whether created, duplicated or rotated (tokens.md §3,
//! decisions D20, D21): the account switch, the actor's rights, the service user, the name,
//! the expiry, the environments and the scopes. The limit is the store's, checked in the same
//! transaction as the insert.

use chrono::{DateTime, Utc};

use super::actor::{Actor, WRITE_OWN};
use super::error::TokenError;
use super::reason::Rule;
use super::record::TokenRecord;
use super::service::{NewToken, TokenService};
use crate::catalog::nearest;
use crate::eval::Engine;
use crate::iam::Principal;

const USE_SERVICE_USER: &str = "iam:service-users:use";
const SERVICE_USER_EMAIL: &str = "iam:service-user-email";

/// The longest token name, in characters after trimming.
pub(super) const MAX_NAME: usize = 255;

impl TokenService {
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
            if !self.allows(engine, actor, USE_SERVICE_USER, Some((SERVICE_USER_EMAIL, email)))? {
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
        if let Some(at) = token.expires_at {
            in_the_future(at, self.clock.now())?;
        }
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
                let hint = nearest(scope, scopes.map(|p| p.name.as_str()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
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
