//! The checks: `POST /v1/authorize` for services (the outcome in a 200 body, D28) and
//! `GET /v1/auth`, forward-auth for nginx `auth_request`, Traefik `forwardAuth` and Envoy
//! `ext_authz` (the outcome as the status and `X-Warden-*` headers, D29).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, challenge};
use super::json::{Json, reply};
use super::log::Logged;
use super::metrics::Endpoint;
use crate::eval::AttrValue;
use crate::token::{Actor, Caller, CheckReason, CheckRequest, Outcome, TokenError, TokenService};

/// Reading policies is the right to see an explanation (D29).
const READ_POLICIES: &str = "iam:policies:read";

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

fn authorization(headers: &HeaderMap) -> String {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

/// Runs a check where it may block: on the async worker when it needs no database read (the
/// common case: a cached token, or no token at all), else where blocking is allowed, so that
/// a flood of unknown tokens cannot stall the workers. `work` gets the `Authorization` header.
async fn on_a_fitting_thread<T: Send + 'static>(
    service: &Arc<TokenService>,
    authorization: String,
    work: impl FnOnce(&TokenService, &str) -> T + Send + 'static,
) -> T {
    if service.answers_from_memory(&authorization) {
        return work(service, &authorization);
    }
    let service = Arc::clone(service);
    tokio::task::spawn_blocking(move || work(&service, &authorization))
        .await
        .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))
}

pub async fn authorize(
    State(state): State<Arc<super::State>>,
    headers: HeaderMap,
    Json(body): Json<AuthorizeBody>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let mut request = CheckRequest {
        environment: body.environment,
        permission: body.permission,
        attributes: body.attributes,
        explain: false,
    };
    let checked = on_a_fitting_thread(&state.service, authorization(&headers), move |service, header| {
        let (owner, token) = match service.caller(header)? {
            Caller::Token { owner, token } => (owner, token),
            Caller::Refused(outcome) => return Ok((outcome, false)),
        };
        // D29: the explanation goes to tokens that may read policies.
        request.explain =
            body.explain && service.permits(Actor { principal: owner, token: Some(&token) }, READ_POLICIES)?;
        let outcome = service.check_caller(owner, &token, &request)?;
        Ok::<_, TokenError>((outcome, body.explain && !request.explain))
    })
    .await;
    let (outcome, withheld) = checked.map_err(|error| {
        state.metrics.decision(Endpoint::Authorize, error.check_reason(), started.elapsed());
        ApiError::from(error)
    })?;
    state.metrics.decision(Endpoint::Authorize, outcome.reason, started.elapsed());
    // Only a policy decision (one with a user) has an explanation to withhold.
    let explanation_withheld = (withheld && outcome.user.is_some()).then(|| {
        format!("an explanation needs `{READ_POLICIES}` among the calling token's scopes and its owner's rights")
    });
    let logged = Logged { token: outcome.token_id.clone(), decision: outcome.reason.as_str() };
    let mut response = reply(StatusCode::OK, &Authorized { outcome, explanation_withheld });
    response.extensions_mut().insert(logged);
    Ok(response)
}

/// Forward-auth: the permission and environment from the query the gateway's configuration
/// sets, else from `X-Warden-Permission` / `X-Warden-Environment` (D29). Answers are 200, 401
/// or 403 (gateways turn anything else into 500) unless warden itself fails, and carry
/// `X-Warden-Reason`.
pub async fn forward_auth(State(state): State<Arc<super::State>>, uri: Uri, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let refuse = |message: &str| {
        state.metrics.decision(Endpoint::ForwardAuth, CheckReason::BadRequest, started.elapsed());
        bad_call(message)
    };
    let query: Vec<(String, String)> = match Query::try_from_uri(&uri) {
        Ok(Query(query)) => query,
        Err(rejection) => return refuse(&rejection.body_text()),
    };
    let from_query = |name: &str| {
        let mut values = query.iter().filter(|(key, _)| key == name).map(|(_, value)| value.clone());
        let first = values.next();
        match values.next() {
            None => Ok(first),
            Some(_) => Err(format!("`{name}` is in the query more than once; the gateway sets it once")),
        }
    };
    let from_header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (permission, environment) = match (from_query("permission"), from_query("environment")) {
        (Ok(permission), Ok(environment)) => (
            permission.or_else(|| from_header("x-warden-permission")),
            environment.or_else(|| from_header("x-warden-environment")),
        ),
        (Err(message), _) | (_, Err(message)) => return refuse(&message),
    };
    let Some(permission) = permission.filter(|p| !p.trim().is_empty()) else {
        return refuse(
            "no permission to check: set `?permission=` in the gateway's auth URL or send `X-Warden-Permission`",
        );
    };
    let request = CheckRequest { environment, permission, ..CheckRequest::default() };
    let checked = on_a_fitting_thread(&state.service, authorization(&headers), move |service, header| {
        service.check(header, &request)
    })
    .await;
    let outcome = match checked {
        Ok(outcome) => outcome,
        Err(TokenError::Request(error)) => return refuse(&error.to_string()),
        Err(error) => {
            state.metrics.decision(Endpoint::ForwardAuth, error.check_reason(), started.elapsed());
            let error = ApiError::from(error);
            let reason = error.reason.as_str();
            let mut response = error.into_response();
            response.headers_mut().insert(REASON, HeaderValue::from_static(reason));
            return response;
        }
    };
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
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge(outcome.reason)));
    }
    response.extensions_mut().insert(Logged { token: outcome.token_id, decision: outcome.reason.as_str() });
    response
}

const REASON: HeaderName = HeaderName::from_static("x-warden-reason");

/// A call the gateway's configuration got wrong: 403 `bad_request` (D29), with the message.
fn bad_call(message: &str) -> Response {
    let reason = CheckReason::BadRequest;
    let mut response = ApiError::new(StatusCode::FORBIDDEN, reason, message).into_response();
    let headers = response.headers_mut();
    headers.insert(REASON, HeaderValue::from_static(reason.as_str()));
    headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge(reason)));
    response
}
