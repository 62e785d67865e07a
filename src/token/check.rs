//! Checking a bearer token (tokens.md §4), the hot path: the header, the token's record (cached
//! within the propagation bound), expiry against the clock, status, resource, scope, and then
//! the owner's policies *now*: a token's rights are its scopes ∩ its owner's decision.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::TokenError;
use super::record::{Status, TokenRecord};
use super::service::{CachedToken, TokenService};
use super::string::{TokenId, parse};
use crate::eval::{AttrValue, Decision, Explanation, Request, Residual, ResidualLimit};
use crate::iam::Principal;

/// What is asked of a token.
#[derive(Debug, Clone, Default)]
pub struct CheckRequest {
    pub environment: Option<String>,
    pub permission: String,
    pub attributes: BTreeMap<String, AttrValue>,
    /// Attach the evaluator's explanation to a policy decision.
    pub explain: bool,
}

/// The answer: an HTTP status, a machine-readable reason and, for policy decisions, the residual
/// of a conditional answer and (on request) the explanation.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub allowed: bool,
    /// `allow`, `deny` or `conditional` (D23: conditional is not allowed).
    pub decision: &'static str,
    pub status: u16,
    /// `ok`, `invalid_token`, `token_expired`, `token_disabled`, `wrong_resource`,
    /// `insufficient_scope`, `policy_denied` or `conditional`.
    pub reason: &'static str,
    #[serde(rename = "tokenId")]
    pub token_id: Option<TokenId>,
    /// The owner's email.
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residual: Option<String>,
    /// The residual was larger than [`ResidualLimit::ANSWER`] and is left out.
    #[serde(rename = "residualOmitted", skip_serializing_if = "std::ops::Not::not")]
    pub residual_omitted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Box<Explanation>>,
}

impl Outcome {
    fn refused(status: u16, reason: &'static str, token: Option<&TokenRecord>) -> Outcome {
        Outcome {
            allowed: false,
            decision: "deny",
            status,
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
    Token { owner: Principal, token: Arc<TokenRecord> },
    Refused(Outcome),
}

/// The token of an `Authorization: Bearer <token>` header value; `None` when the header offers no
/// bearer token at all. The scheme is case-insensitive (RFC 6750 follows RFC 7235).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl TokenService {
    /// Checks an `Authorization` header value against a request. Errors are requests that
    /// cannot be evaluated (an unknown attribute key, a `global:` attribute): a bad call, not a
    /// denial.
    pub fn check(&self, authorization: &str, request: &CheckRequest) -> Result<Outcome, TokenError> {
        match self.caller(authorization)? {
            Caller::Token { owner, token } => self.check_caller(owner, &token, request),
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
        let engine = self.engine();
        let tenant = engine.tenant();
        // An unknown permission, environment or attribute key is a mistake to name (D34), not a
        // denial: the request is resolved before the token's resource and scopes are judged.
        let mut query = Request::new(owner, request.permission.clone()).at(now);
        query.environment = request.environment.clone();
        query.attributes = request.attributes.clone();
        let query = engine.query(&query)?;
        let in_resource = match &request.environment {
            Some(environment) => record.environments.is_empty() || record.environments.contains(environment),
            // D22: a token narrowed to environments is no good for an account-level request.
            None => record.environments.is_empty(),
        };
        if !in_resource {
            return Ok(Outcome::refused(403, "wrong_resource", Some(record)));
        }
        if !record.scopes.contains(&request.permission) {
            return Ok(Outcome::refused(403, "insufficient_scope", Some(record)));
        }
        let decision = engine.evaluate(&query);
        let (allowed, word, status, reason) = match decision {
            Decision::Allow { .. } => (true, "allow", 200, "ok"),
            Decision::Conditional { .. } => (false, "conditional", 403, "conditional"),
            Decision::Deny { .. } | Decision::NoMatch => (false, "deny", 403, "policy_denied"),
        };
        if allowed {
            self.touch(&record.id, now);
        }
        let residual = engine.residual_within(&query, &decision, ResidualLimit::ANSWER);
        Ok(Outcome {
            allowed,
            decision: word,
            status,
            reason,
            token_id: Some(record.id.clone()),
            user: Some(tenant.email(owner).to_string()),
            residual_omitted: residual == Some(Residual::Omitted),
            residual: residual.and_then(Residual::into_text),
            explanation: request.explain.then(|| Box::new(engine.explain(&query, &decision))),
        })
    }

    /// The caller behind an `Authorization` header (steps 1–5 as far as they concern the token
    /// itself): what the HTTP API acts for.
    pub fn caller(&self, authorization: &str) -> Result<Caller, TokenError> {
        let now = self.clock.now();
        let Some((id, digest)) = bearer(authorization).and_then(|token| parse(token).ok()) else {
            return Ok(Caller::Refused(Outcome::refused(401, "invalid_token", None)));
        };
        let Some(record) = self.record(&id, now)? else {
            return Ok(Caller::Refused(Outcome::refused(401, "invalid_token", None)));
        };
        if !record.digest.matches(&digest) {
            return Ok(Caller::Refused(Outcome::refused(401, "invalid_token", None)));
        }
        let refused = |reason| Ok(Caller::Refused(Outcome::refused(403, reason, Some(&record))));
        if record.is_expired(now) {
            return refused("token_expired");
        }
        if record.status == Status::Disabled {
            return refused("token_disabled");
        }
        let engine = self.engine();
        let tenant = engine.tenant();
        if record.account != tenant.account.id {
            return refused("wrong_resource");
        }
        let owner = match record.owner.service_user {
            true => tenant.find_service_user(&record.owner.id),
            false => tenant.find_user(&record.owner.id),
        };
        match owner {
            Some(owner) => Ok(Caller::Token { owner, token: record }),
            // An owner who left the tenant has no policies: nothing is allowed.
            None => refused("policy_denied"),
        }
    }

    /// Whether checking this header needs no database read: it is no token at all, or its
    /// record is cached and fresh. A server answers these on its async workers and sends the
    /// others where blocking is allowed.
    pub fn answers_from_memory(&self, authorization: &str) -> bool {
        let Some((id, _)) = bearer(authorization).and_then(|token| parse(token).ok()) else { return true };
        self.cached(&id, self.clock.now()).is_some()
    }

    /// Records a use of a token other than an allowed check (a call of the HTTP API it made).
    pub fn record_use(&self, id: &TokenId) {
        self.touch(id, self.clock.now());
    }

    /// The cached record while it is younger than the propagation bound: `Some(None)` for a
    /// deleted token.
    fn cached(&self, id: &TokenId, now: DateTime<Utc>) -> Option<Option<Arc<TokenRecord>>> {
        let cache = self.tokens.read().expect("the token cache lock is never poisoned");
        let cached = cache.get(id).filter(|c| now - c.fetched_at <= self.settings.propagation)?;
        Some((!cached.deleted).then(|| Arc::clone(&cached.record)))
    }

    /// The token's record, from the cache while it is fresh; `None` for unknown and deleted
    /// tokens.
    fn record(&self, id: &TokenId, now: DateTime<Utc>) -> Result<Option<Arc<TokenRecord>>, TokenError> {
        if let Some(cached) = self.cached(id, now) {
            return Ok(cached);
        }
        // A change made while the store is read must not be overwritten by what was read.
        let generation = self.forgotten.load(Ordering::Acquire);
        let Some((record, deleted)) = self.store.get(id)? else { return Ok(None) };
        let record = Arc::new(record);
        let mut cache = self.tokens.write().expect("the token cache lock is never poisoned");
        if self.forgotten.load(Ordering::Acquire) == generation {
            cache.insert(id.clone(), CachedToken { record: Arc::clone(&record), deleted, fetched_at: now });
        }
        Ok((!deleted).then_some(record))
    }
}
