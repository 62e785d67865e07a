//! Checking a bearer token (tokens.md §4), the hot path: the header, the token's record (cached
//! within the propagation bound), expiry against the clock, status, resource, scope, and then
//! the owner's policies *now*: a token's rights are its scopes ∩ its owner's decision.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::cache::{KnownOwner, UseStamp};
use super::error::TokenError;
use super::reason::CheckReason;
use super::record::{Status, TokenRecord};
use super::service::TokenService;
use super::string::{TokenDigest, TokenId, shaped_id, verified_id};
use crate::eval::{AttrValue, Decision, Engine, Explanation, Residual, ResidualLimit};
use crate::iam::Principal;

/// What is asked of a token.
#[derive(Debug, Clone, Default)]
pub struct CheckRequest {
    /// `None`: an account-level request (D16).
    pub environment: Option<String>,
    /// The permission asked for.
    pub permission: String,
    /// The request's attributes, by key.
    pub attributes: BTreeMap<String, AttrValue>,
    /// Attach the evaluator's explanation to a policy decision.
    pub explain: bool,
}

/// The answer: an HTTP status, a machine-readable reason and, for policy decisions, the residual
/// of a conditional answer and (on request) the explanation.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Whether the request is allowed (200).
    pub allowed: bool,
    /// `allow`, `deny` or `conditional` (D23: conditional is not allowed): the reason's outcome.
    pub decision: &'static str,
    /// 200, 401 or 403: the reason's status.
    pub status: u16,
    /// Why: `ok` or the step of tokens.md §4 that refused.
    pub reason: CheckReason,
    /// The token, once it is known to be one of this service's.
    #[serde(rename = "tokenId")]
    pub token_id: Option<TokenId>,
    /// The owner's email.
    pub user: Option<Arc<str>>,
    /// A conditional answer's residual policy (D23).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residual: Option<String>,
    /// The residual was larger than [`ResidualLimit::ANSWER`] and is left out.
    #[serde(rename = "residualOmitted", skip_serializing_if = "std::ops::Not::not")]
    pub residual_omitted: bool,
    /// The evaluator's explanation, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Box<Explanation>>,
}

impl Outcome {
    fn refused(reason: CheckReason, token: Option<&TokenRecord>) -> Outcome {
        Outcome {
            allowed: false,
            decision: reason.outcome(),
            status: reason.status(),
            reason,
            token_id: token.map(|t| t.id.clone()),
            user: None,
            residual: None,
            residual_omitted: false,
            explanation: None,
        }
    }
}

/// Who is behind an `Authorization` header: a live token of this account and its owner, or the
/// check's refusal (steps 1–5 of tokens.md §4 as far as they concern the token itself).
#[derive(Debug)]
pub enum Caller {
    /// A token that passed steps 1–5, and its owner.
    Token {
        /// The user or service user the token acts for.
        owner: Principal,
        /// The token's record.
        token: Arc<TokenRecord>,
    },
    /// The check's answer for a token that did not pass.
    Refused(Outcome),
}

/// The token of an `Authorization: Bearer <token>` header value; `None` when the header offers no
/// bearer token at all. The scheme is case-insensitive (RFC 6750 follows RFC 7235).
pub fn bearer(header: &str) -> Option<&str> {
    let header = header.trim();
    let scheme = header.get(..BEARER.len())?;
    let token = header[BEARER.len()..].strip_prefix(' ')?;
    scheme.eq_ignore_ascii_case(BEARER).then(|| token.trim())
}

const BEARER: &str = "bearer";

/// Where the check may look for a token's record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lookup {
    /// In the cache only: a record that is not there (or stale) is no answer yet.
    Memory,
    /// In the cache, else in the store.
    Store,
}

impl TokenService {
    /// Checks an `Authorization` header value against a request. Errors are requests that
    /// cannot be evaluated (an unknown attribute key, a `global:` attribute): a bad call, not a
    /// denial.
    pub fn check(&self, authorization: &str, request: &CheckRequest) -> Result<Outcome, TokenError> {
        // One reading of the clock and of the compiled tenant serves the whole check.
        let now = self.clock.now();
        let Some((token, id)) = bearer(authorization).and_then(|token| Some((token, shaped_id(token)?))) else {
            return Ok(Outcome::refused(CheckReason::InvalidToken, None));
        };
        // The hot path: a fresh cached record and the current tenant, both read where they are
        // kept, so no reference count changes hands. The decision runs under their read locks:
        // a cache fill or a reload waits for the checks in flight (and later checks behind it),
        // as long as the costliest of them takes (about 2 ms over 20,000 statements). The
        // server, which must not wait so, decides through `check_caller` and holds no lock.
        let warm = self.tokens.with_fresh(id, now, |cached| {
            let found = cached.as_ref().map(|cached| (cached.record, Some(cached.owner)));
            let engine = |engine: &Engine| match self.judge(engine, now, token, found) {
                Ok(owner) => {
                    let cached = cached.expect("a judged token is cached");
                    self.decide(engine, now, owner, (cached.record, Some(cached.last_use)), request)
                }
                Err(refused) => Ok(refused),
            };
            self.engine.with_current(now, self.settings.propagation, engine)
        });
        if let Some(Some(outcome)) = warm {
            return outcome;
        }
        let engine = self.engine_at(now);
        match self
            .identify(authorization, &engine, now, Lookup::Store)
            .expect("the store answers what memory does not")?
        {
            Caller::Token { owner, token } => self.decide(&engine, now, owner, (&token, None), request),
            Caller::Refused(outcome) => Ok(outcome),
        }
    }

    /// Steps 5–9 of the check for a caller already authenticated (see [`TokenService::caller`]).
    pub fn check_caller(
        &self,
        owner: Principal,
        record: &TokenRecord,
        request: &CheckRequest,
    ) -> Result<Outcome, TokenError> {
        let now = self.clock.now();
        self.decide(&self.engine_at(now), now, owner, (record, None), request)
    }

    /// Steps 5–9 for `record`, and with it the stamp of its last use when it is cached.
    fn decide(
        &self,
        engine: &Engine,
        now: DateTime<Utc>,
        owner: Principal,
        (record, last_use): (&TokenRecord, Option<&UseStamp>),
        request: &CheckRequest,
    ) -> Result<Outcome, TokenError> {
        let tenant = engine.tenant();
        // The tenant may have been reloaded since the caller was found: find the owner again.
        let owner = match tenant.owns(owner) {
            true => owner,
            false => match record.owner.principal(tenant) {
                Some(owner) => owner,
                None => return Ok(Outcome::refused(CheckReason::PolicyDenied, Some(record))),
            },
        };
        // An unknown permission, environment or attribute key is a mistake to name (D34), not a
        // denial: the request is resolved before the token's resource and scopes are judged.
        // The query borrows the request's parts.
        let query =
            engine.resolve(owner, &request.permission, request.environment.as_deref(), &request.attributes, now)?;
        let in_resource = match &request.environment {
            Some(environment) => record.environments.is_empty() || record.environments.contains(environment),
            // D22: a token narrowed to environments is no good for an account-level request.
            None => record.environments.is_empty(),
        };
        if !in_resource {
            return Ok(Outcome::refused(CheckReason::WrongResource, Some(record)));
        }
        if !record.scopes.contains(&request.permission) {
            return Ok(Outcome::refused(CheckReason::InsufficientScope, Some(record)));
        }
        let decision = engine.evaluate(&query);
        let reason = match decision {
            Decision::Allow { .. } => CheckReason::Ok,
            Decision::Conditional { .. } => CheckReason::Conditional,
            Decision::Deny { .. } | Decision::NoMatch => CheckReason::PolicyDenied,
        };
        let allowed = reason == CheckReason::Ok;
        if allowed {
            self.last_used.record(&record.id, now, last_use);
        }
        let residual = engine.residual_within(&query, &decision, ResidualLimit::ANSWER);
        Ok(Outcome {
            allowed,
            decision: reason.outcome(),
            status: reason.status(),
            reason,
            token_id: Some(record.id.clone()),
            user: Some(Arc::clone(tenant.shared_email(owner))),
            residual_omitted: residual == Some(Residual::Omitted),
            residual: residual.and_then(Residual::into_text),
            explanation: request
                .explain
                .then(|| Box::new(engine.explain_within(&query, &decision, ResidualLimit::ANSWER))),
        })
    }

    /// The caller behind an `Authorization` header (steps 1–5 as far as they concern the token
    /// itself): what the HTTP API acts for.
    pub fn caller(&self, authorization: &str) -> Result<Caller, TokenError> {
        let now = self.clock.now();
        self.identify(authorization, &self.engine_at(now), now, Lookup::Store)
            .expect("the store answers what memory does not")
    }

    /// [`TokenService::caller`] when it needs no database read: the header offers no token of
    /// the right shape, or the token's record is cached and fresh; `None` otherwise. A server
    /// answers these on its async workers and sends the others where blocking is allowed.
    pub fn cached_caller(&self, authorization: &str) -> Option<Result<Caller, TokenError>> {
        let now = self.clock.now();
        self.identify(authorization, &self.engine_at(now), now, Lookup::Memory)
    }

    /// Steps 1–5 against `engine` at `now`; `None` only for [`Lookup::Memory`] when the record
    /// is not in memory.
    fn identify(
        &self,
        authorization: &str,
        engine: &Engine,
        now: DateTime<Utc>,
        lookup: Lookup,
    ) -> Option<Result<Caller, TokenError>> {
        let invalid = || Some(Ok(Caller::Refused(Outcome::refused(CheckReason::InvalidToken, None))));
        let Some((token, id)) = bearer(authorization).and_then(|token| Some((token, verified_id(token).ok()?))) else {
            return invalid();
        };
        let bound = self.settings.propagation;
        let found = match lookup {
            Lookup::Memory => self.tokens.fresh(id, now).map(Ok),
            Lookup::Store => Some(self.tokens.get_or_fetch(id, now, bound, || self.store.get(&TokenId(id.into())))),
        }?;
        let record = match found {
            Ok(record) => record,
            Err(error) => return Some(Err(error.into())),
        };
        Some(Ok(match self.judge(engine, now, token, record.as_deref().map(|record| (record, None))) {
            Ok(owner) => Caller::Token { owner, token: record.expect("a judged token is found") },
            Err(refused) => Caller::Refused(refused),
        }))
    }

    /// Steps 2–5 for the record found under a presented token's id (`None`: no such token),
    /// with its owner when a cached record knows it: the owner the token acts for, or the
    /// check's refusal.
    fn judge(
        &self,
        engine: &Engine,
        now: DateTime<Utc>,
        token: &str,
        found: Option<(&TokenRecord, Option<&KnownOwner>)>,
    ) -> Result<Principal, Outcome> {
        // The digest of what was presented, compared in constant time with the stored one.
        let Some((record, known_owner)) = found.filter(|(record, _)| record.digest.matches(&TokenDigest::of(token)))
        else {
            return Err(Outcome::refused(CheckReason::InvalidToken, None));
        };
        let refused = |reason| Err(Outcome::refused(reason, Some(record)));
        if record.is_expired(now) {
            return refused(CheckReason::TokenExpired);
        }
        if record.status == Status::Disabled {
            return refused(CheckReason::TokenDisabled);
        }
        let tenant = engine.tenant();
        if record.account != tenant.account.id {
            return refused(CheckReason::WrongResource);
        }
        let owner = match known_owner {
            Some(known) => known.principal(record, tenant),
            None => record.owner.principal(tenant),
        };
        match owner {
            Some(owner) => Ok(owner),
            // An owner who left the tenant has no policies: nothing is allowed.
            None => refused(CheckReason::PolicyDenied),
        }
    }

    /// Records a use of a token other than an allowed check (a call of the HTTP API it made).
    pub fn record_use(&self, id: &TokenId) {
        self.last_used.record(id, self.clock.now(), None);
    }
}
