//! Who acts, and what they may do (decisions D21): rights are evaluated by the policy engine as
//! account-level requests (Conditional counts as refused); through a token, every right is
//! also bounded by the token's scopes.

use super::error::TokenError;
use super::reason::Rule;
use super::record::TokenRecord;
use super::service::TokenService;
use super::string::TokenId;
use crate::eval::{AttrValue, Engine, Request};
use crate::iam::Principal;

/// The right to manage one's own tokens (tokens.md §3).
pub const WRITE_OWN: &str = "platform-token:tokens:write";
/// The right to manage every token of the account, flip its switch and read its audit log.
pub const MANAGE_ALL: &str = "platform-token:tokens:manage";

/// Who acts: a user or service user in person (the CLI's `--as`), or through one of its tokens
/// (the HTTP API), whose scopes bound every right it has and every scope it passes on (D21).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The user or service user.
    pub principal: Principal,
    /// The token it acts through, if any.
    pub token: Option<&'a TokenRecord>,
}

impl From<Principal> for Actor<'_> {
    fn from(principal: Principal) -> Self {
        Actor { principal, token: None }
    }
}

/// How far an actor's reach into other people's tokens goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// Owner or creator with `tokens:write`, or an account admin (D21).
    Managed,
    /// Owner or creator with `tokens:write` only: duplicate and rotate mint a token in the
    /// owner's name, and an admin's reach does not extend to that.
    Own,
}

impl TokenService {
    /// Whether the actor's policies allow `permission` at account level (D21); Conditional
    /// counts as refused.
    pub(super) fn allows(
        &self,
        engine: &Engine,
        actor: Actor,
        permission: &str,
        attribute: Option<(&str, &str)>,
    ) -> Result<bool, TokenError> {
        if actor.token.is_some_and(|token| !token.holds_account_right(permission)) {
            return Ok(false);
        }
        let mut request = Request::new(actor.principal, permission).at(self.clock.now());
        if let Some((key, value)) = attribute {
            request.attributes.insert(key.to_string(), AttrValue::One(value.to_string()));
        }
        let query = engine.query(&request)?;
        Ok(engine.evaluate(&query).is_allowed())
    }

    /// Refuses with `not_permitted` unless the actor holds `permission`.
    pub(super) fn require(
        &self,
        engine: &Engine,
        actor: Actor,
        permission: &str,
        what: &str,
    ) -> Result<(), TokenError> {
        if self.allows(engine, actor, permission, None)? {
            Ok(())
        } else {
            Err(not_permitted(engine, actor, permission, what))
        }
    }

    /// The token, if it is in this account, not deleted, and within the actor's reach.
    pub(super) fn reach(
        &self,
        engine: &Engine,
        actor: Actor,
        id: &TokenId,
        what: &str,
        reach: Reach,
    ) -> Result<TokenRecord, TokenError> {
        let account = &engine.tenant().account.id;
        let record = match self.store.get(id)? {
            Some((record, false)) if &record.account == account => record,
            _ => return Err(TokenError::UnknownToken(TokenId::from_input(&id.0))),
        };
        let actor_id = engine.tenant().id(actor.principal);
        let own = record.owner.id == actor_id || record.creator == actor_id;
        let admin = reach == Reach::Managed;
        if own && self.allows(engine, actor, WRITE_OWN, None)?
            || admin && self.allows(engine, actor, MANAGE_ALL, None)?
        {
            return Ok(record);
        }
        let needs = if own || !admin { WRITE_OWN } else { MANAGE_ALL };
        Err(not_permitted(engine, actor, needs, &format!("{what} `{id}`")))
    }
}

/// A refusal for want of a right, naming what stood in the way: the calling token or the policies.
fn not_permitted(engine: &Engine, actor: Actor, permission: &str, what: &str) -> TokenError {
    let who = engine.tenant().email(actor.principal);
    let why = match actor.token {
        Some(token) if !token.scopes.iter().any(|s| s == permission) => {
            format!("the calling token `{}` does not hold the scope `{permission}`", token.id)
        }
        Some(token) if !token.environments.is_empty() => format!(
            "the calling token `{}` is limited to environments, and `{permission}` is an account-level right",
            token.id
        ),
        _ => format!("that needs `{permission}`"),
    };
    TokenError::refused(Rule::NotPermitted, format!("`{who}` may not {what}: {why}"))
}
