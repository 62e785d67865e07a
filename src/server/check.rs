//! The checks: `POST /v1/authorize` for services (the outcome in a 200 body, D28) and
//! `GET /v1/auth`, forward-auth for nginx `auth_request`, Traefik `forwardAuth` and Envoy
//! `ext_authz` (the outcome as the status and `X-Warden-*` headers, D29).
//!
//! Both authenticate the caller before anything it sent is judged (D33), and answer an unknown
//! permission, environment or attribute key with the evaluator's did-you-mean (D34). A cheap
//! decision, the common case, runs on the async worker; a costly one (many candidate
//! statements, long attribute lists, an explanation) runs on blocking threads, a few at a time,
//! so that expensive answers cannot starve `/healthz` and the cheap checks.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::num::NonZero;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::credentials::Credentials;
use super::error::{ApiError, ApiReason, challenge, outgoing};
use super::json::{RawBody, parse, reply};
use super::log::Logged;
use super::metrics::Endpoint;
use crate::eval::AttrValue;
use crate::iam::Principal;
use crate::token::{Actor, Caller, CheckReason, CheckRequest, Outcome, TokenError, TokenService};

/// Reading policies is the right to see an explanation (D29).
const READ_POLICIES: &str = "iam:policies:read";

/// The most work a decision may do on an async worker, in statements and values (see
/// [`is_cheap`]): some tens of microseconds, residual included.
const INLINE_BUDGET: usize = 1_024;

/// Forward-auth logs at most this many distinct unknown names (D34); the metric counts them all.
const LOGGED_UNKNOWN_NAMES: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizeBody {
    permission: String,
    environment: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, AttrValue>,
    #[serde(default)]
    explain: bool,
}

#[derive(Serialize)]
struct Authorized {
    #[serde(flatten)]
    outcome: Outcome,
    #[serde(rename = "explanationWithheld", skip_serializing_if = "Option::is_none")]
    explanation_withheld: Option<String>,
}

/// Where costly decisions run: on blocking threads, at most one per core at a time, so a flood
/// of them waits its turn instead of taking every core from the async workers.
pub(super) struct CostlyDecisions {
    permits: Semaphore,
}

impl CostlyDecisions {
    /// One turn per core the process may use.
    pub fn new() -> CostlyDecisions {
        let cores = std::thread::available_parallelism().map_or(1, NonZero::get);
        CostlyDecisions { permits: Semaphore::new(cores) }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let _turn = self.permits.acquire().await.expect("the semaphore is never closed");
        blocking(work).await
    }
}

/// The unknown names forward-auth has logged (D34): they come from a gateway's configuration,
/// so its operators learn of each once, with its did-you-mean, without a flood of them filling
/// the log.
#[derive(Default)]
pub(super) struct UnknownNames(Mutex<HashSet<String>>);

impl UnknownNames {
    fn warn_once(&self, message: &str) {
        let mut logged = self.0.lock().expect("the unknown names lock is never poisoned");
        if logged.len() >= LOGGED_UNKNOWN_NAMES || !logged.insert(message.to_string()) {
            return;
        }
        tracing::warn!("forward-auth: {}", outgoing(message));
        if logged.len() == LOGGED_UNKNOWN_NAMES {
            tracing::warn!(
                "forward-auth: {LOGGED_UNKNOWN_NAMES} unknown names logged; further ones are only counted, in warden_decisions_total{{endpoint=\"auth\"}}"
            );
        }
    }
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))
}

/// Who the credentials belong to: looked up on the async worker when that needs no database
/// read (a cached token, or no token at all), else where blocking is allowed, so that a flood
/// of unknown tokens cannot stall the workers.
async fn authenticate(service: &Arc<TokenService>, credentials: &Credentials) -> Result<Caller, TokenError> {
    if let Some(caller) = service.cached_caller(credentials.header()) {
        return caller;
    }
    let (service, header) = (Arc::clone(service), credentials.header().to_string());
    blocking(move || service.caller(&header)).await
}

/// Whether a decision is cheap enough for an async worker: no explanation, and within the
/// budget each candidate statement costs one, plus the values its conditions list (what a
/// residual may have to write), plus the request's attribute elements (what it is tested on).
/// Counting stops at the budget, so the estimate itself stays cheap.
fn is_cheap(service: &TokenService, owner: Principal, request: &CheckRequest) -> bool {
    if request.explain {
        return false;
    }
    let elements: usize = request.attributes.values().map(|value| value.as_slice().len()).sum();
    let engine = service.engine();
    if !engine.tenant().owns(owner) {
        // Reloaded since the caller was found: the check finds the owner again, off the workers.
        return false;
    }
    let mut cost = 0usize;
    for statement in engine.statements_reaching(owner, &request.permission) {
        let values: usize = statement.conditions.iter().map(|condition| condition.values.len()).sum();
        cost = cost.saturating_add(1 + values + elements);
        if cost > INLINE_BUDGET {
            return false;
        }
    }
    true
}

/// Runs the decision for an authenticated caller where its cost allows.
async fn decide<T: Send + 'static>(
    state: &super::State,
    owner: Principal,
    request: CheckRequest,
    work: impl FnOnce(&TokenService, CheckRequest) -> T + Send + 'static,
) -> T {
    if is_cheap(&state.service, owner, &request) {
        return work(&state.service, request);
    }
    let service = Arc::clone(&state.service);
    state.costly.run(move || work(&service, request)).await
}

pub async fn authorize(
    State(state): State<Arc<super::State>>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let failed = |error: ApiError| {
        if let ApiReason::Check(reason) = error.reason {
            state.metrics.decision(Endpoint::Authorize, reason, started.elapsed());
        }
        error
    };
    let credentials = Credentials::of(&headers).map_err(failed)?;
    let (owner, token) = match authenticate(&state.service, &credentials).await {
        Ok(Caller::Token { owner, token }) => (owner, token),
        Ok(Caller::Refused(outcome)) => return Ok(authorized(&state, started, outcome, false)),
        Err(error) => return Err(failed(ApiError::check_failed(error))),
    };
    // Only now is the body read as a request: a stranger learns nothing from its mistakes.
    let body: AuthorizeBody = parse(&body).map_err(|error| error.by(Some(token.id.clone())))?;
    let request = CheckRequest {
        environment: body.environment,
        permission: body.permission,
        attributes: body.attributes,
        explain: body.explain,
    };
    let caller = token.id.clone();
    let checked = decide(&state, owner, request, move |service, mut request| {
        let asked = request.explain;
        // D29: the explanation goes to tokens that may read policies.
        request.explain = asked && service.permits(Actor { principal: owner, token: Some(&token) }, READ_POLICIES)?;
        let outcome = service.check_caller(owner, &token, &request)?;
        Ok::<_, TokenError>((outcome, asked && !request.explain))
    })
    .await;
    match checked {
        Ok((outcome, withheld)) => Ok(authorized(&state, started, outcome, withheld)),
        Err(error) => Err(failed(ApiError::check_failed(error).by(Some(caller)))),
    }
}

/// The 200 answer of `/v1/authorize`, the outcome in its body.
fn authorized(state: &super::State, started: Instant, outcome: Outcome, withheld: bool) -> Response {
    state.metrics.decision(Endpoint::Authorize, outcome.reason, started.elapsed());
    // Only a policy decision (one with a user) has an explanation to withhold.
    let explanation_withheld = (withheld && outcome.user.is_some()).then(|| {
        format!("an explanation needs `{READ_POLICIES}` among the calling token's scopes and its owner's rights")
    });
    let logged = Logged { token: outcome.token_id.clone(), decision: outcome.reason.as_str() };
    let mut response = reply(StatusCode::OK, &Authorized { outcome, explanation_withheld });
    response.extensions_mut().insert(logged);
    response
}

/// Forward-auth: the permission and environment from the query the gateway's configuration
/// sets, else from `X-Warden-Permission` / `X-Warden-Environment` (D29). Answers are 200, 401
/// or 403 (gateways turn anything else into 500) unless warden itself fails, and carry
/// `X-Warden-Reason`.
pub async fn forward_auth(State(state): State<Arc<super::State>>, request: Request) -> Response {
    forward_auth_to(&state, request.uri(), request.headers()).await
}

/// [`forward_auth`] on a request's parts, borrowed: also what the direct route (see
/// [`super::serve`]) answers `GET /v1/auth` with.
pub(super) async fn forward_auth_to(state: &super::State, uri: &Uri, headers: &HeaderMap) -> Response {
    let started = Instant::now();
    let failed = |error: ApiError| {
        if let ApiReason::Check(reason) = error.reason {
            state.metrics.decision(Endpoint::ForwardAuth, reason, started.elapsed());
        }
        let reason = error.reason.as_str();
        let mut response = error.into_response();
        response.headers_mut().insert(REASON, HeaderValue::from_static(reason));
        response
    };
    let credentials = match Credentials::of(headers) {
        Ok(credentials) => credentials,
        // D33: 401, not 400, which gateways turn into 500.
        Err(error) => return failed(ApiError { status: StatusCode::UNAUTHORIZED, ..error }),
    };
    let (permission, environment) = match asked(uri, headers) {
        Ok(asked) => asked,
        Err(message) => return failed(bad_call(message)),
    };
    let (owner, token) = match authenticate(&state.service, &credentials).await {
        Ok(Caller::Token { owner, token }) => (owner, token),
        Ok(Caller::Refused(outcome)) => return forward_answer(state, started, outcome, &credentials),
        Err(error) => return failed(ApiError::check_failed(error)),
    };
    let request = CheckRequest { environment, permission, ..CheckRequest::default() };
    let caller = token.id.clone();
    let checked =
        decide(state, owner, request, move |service, request| service.check_caller(owner, &token, &request)).await;
    match checked {
        Ok(outcome) => forward_answer(state, started, outcome, &credentials),
        Err(TokenError::Request(mistake)) => {
            // The names sit in the gateway's configuration: 403 with the reason, and a word
            // in the log for its operators (D34).
            state.unknown_names.warn_once(&mistake.to_string());
            let error = TokenError::Request(mistake);
            let challenge = HeaderValue::from_static(challenge(error.check_reason()));
            let error = ApiError { status: StatusCode::FORBIDDEN, ..ApiError::check_failed(error) };
            failed(error.by(Some(caller)).challenged(challenge))
        }
        Err(error) => failed(ApiError::check_failed(error).by(Some(caller))),
    }
}

/// The permission (required) and environment to check: from the query, else the headers.
fn asked(uri: &Uri, headers: &HeaderMap) -> Result<(String, Option<String>), String> {
    // One pass over the query; only the values asked for are copied.
    const ASKED: [&str; 2] = ["permission", "environment"];
    let mut found: [(Option<String>, bool); 2] = Default::default();
    for (key, value) in query_pairs(uri.query().unwrap_or_default()) {
        let Some(at) = ASKED.iter().position(|name| *name == key) else { continue };
        let (value_of, repeated) = &mut found[at];
        *repeated |= value_of.replace(value.into_owned()).is_some();
    }
    if let Some(at) = found.iter().position(|(_, repeated)| *repeated) {
        return Err(format!("`{}` is in the query more than once; the gateway sets it once", ASKED[at]));
    }
    let [(permission, _), (environment, _)] = found;
    let from_header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let permission = permission.or_else(|| from_header("x-warden-permission"));
    let environment = environment.or_else(|| from_header("x-warden-environment"));
    let Some(permission) = permission.filter(|p| !p.trim().is_empty()) else {
        return Err(
            "no permission to check: set `?permission=` in the gateway's auth URL or send `X-Warden-Permission`".into(),
        );
    };
    Ok((permission, environment))
}

/// The query's name–value pairs as [`form_urlencoded::parse`] reads them, without its decoding
/// pass over each name and value when there is nothing to decode (no `%`, no `+`): the query a
/// gateway sends on every request.
fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    // By bytes, without an early exit: a pass the compiler runs on many bytes at once.
    let plain = !query.bytes().fold(false, |found, byte| found | (byte == b'%') | (byte == b'+'));
    let split = plain.then(|| {
        query.split('&').filter(|pair| !pair.is_empty()).map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (Cow::Borrowed(key), Cow::Borrowed(value))
        })
    });
    let decoded = (!plain).then(|| form_urlencoded::parse(query.as_bytes()));
    split.into_iter().flatten().chain(decoded.into_iter().flatten())
}

/// A decision as forward-auth answers it: the status, `X-Warden-*` headers and a challenge.
fn forward_answer(state: &super::State, started: Instant, outcome: Outcome, credentials: &Credentials) -> Response {
    state.metrics.decision(Endpoint::ForwardAuth, outcome.reason, started.elapsed());
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = reply(status, &outcome);
    let headers = response.headers_mut();
    headers.insert(REASON, HeaderValue::from_static(outcome.reason.as_str()));
    if let Some(id) = outcome.token_id.as_ref().and_then(|id| HeaderValue::from_str(&id.0).ok()) {
        headers.insert(HeaderName::from_static("x-warden-token-id"), id);
    }
    if let Some(user) = outcome.user.as_deref().and_then(|user| HeaderValue::from_str(user).ok()) {
        headers.insert(HeaderName::from_static("x-warden-user"), user);
    }
    if !outcome.allowed {
        headers.insert(header::WWW_AUTHENTICATE, credentials.challenge(outcome.reason));
    }
    response.extensions_mut().insert(Logged { token: outcome.token_id, decision: outcome.reason.as_str() });
    response
}

const REASON: HeaderName = HeaderName::from_static("x-warden-reason");

/// A call the gateway's configuration got wrong: 403 `bad_request` (D29), with the message.
fn bad_call(message: String) -> ApiError {
    let reason = CheckReason::BadRequest;
    ApiError::new(StatusCode::FORBIDDEN, reason, message).challenged(HeaderValue::from_static(challenge(reason)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_query_reads_as_form_urlencoded_reads_it() {
        let queries = [
            "permission=app-engine:apps:run&environment=staging",
            "permission=a%3Ab&environment=st+ag",
            "&&permission&=x&permission==y=&",
            "permission=caf%C3%A9&environment=%FF",
            "",
            "é=ü&x",
        ];
        for query in queries {
            let read: Vec<_> = super::query_pairs(query).collect();
            let expected: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
            assert_eq!(read, expected, "{query}");
        }
    }
}
