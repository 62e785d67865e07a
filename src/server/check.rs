//! The checks: `POST /v1/authorize` for services (the outcome in a 200 body, D28) and
//! `GET /v1/auth`, forward-auth for nginx `auth_request`, Traefik `forwardAuth` and Envoy
//! `ext_authz` (the outcome as the status and `X-Warden-*` headers, D29).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, challenge};
use super::json::{Json, reply};
use super::log::Logged;
use super::metrics::Endpoint;
use crate::eval::AttrValue;
use crate::token::{Actor, Caller, CheckRequest, Outcome, TokenService};

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

fn authorization(headers: &HeaderMap) -> &str {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

pub async fn authorize(
    State(state): State<Arc<super::State>>,
    headers: HeaderMap,
    Json(body): Json<AuthorizeBody>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let header = authorization(&headers);
    let may_explain = body.explain && may_read_policies(&state.service, header)?;
    let request = CheckRequest {
        environment: body.environment,
        permission: body.permission,
        attributes: body.attributes,
        explain: may_explain,
    };
    let outcome = state.service.check(header, &request).map_err(|error| {
        state.metrics.decision(Endpoint::Authorize, "bad_request", started.elapsed());
        ApiError::from(error)
    })?;
    state.metrics.decision(Endpoint::Authorize, outcome.reason, started.elapsed());
    // Only a policy decision (one with a user) has an explanation to withhold.
    let explanation_withheld = (body.explain && !may_explain && outcome.user.is_some()).then(|| {
        format!("an explanation needs `{READ_POLICIES}` among the calling token's scopes and its owner's rights")
    });
    let logged = Logged { token: outcome.token_id.clone(), decision: outcome.reason };
    let mut response = reply(StatusCode::OK, &Authorized { outcome, explanation_withheld });
    response.extensions_mut().insert(logged);
    Ok(response)
}

/// Whether the caller's token may read policies, and so see explanations.
fn may_read_policies(service: &TokenService, header: &str) -> Result<bool, ApiError> {
    Ok(match service.caller(header)? {
        Caller::Token { owner, token } => {
            service.permits(Actor { principal: owner, token: Some(&token) }, READ_POLICIES)?
        }
        Caller::Refused(_) => false,
    })
}

/// Forward-auth: the permission and environment from the query the gateway's configuration
/// sets, else from `X-Warden-Permission` / `X-Warden-Environment` (D29). Every answer is 200,
/// 401 or 403 (gateways turn anything else into 500) and carries `X-Warden-Reason`.
pub async fn forward_auth(
    State(state): State<Arc<super::State>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let query = query.map(|Query(query)| query).unwrap_or_default();
    let from_header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let permission = query.get("permission").cloned().or_else(|| from_header("x-warden-permission"));
    let environment = query.get("environment").cloned().or_else(|| from_header("x-warden-environment"));
    let Some(permission) = permission.filter(|p| !p.trim().is_empty()) else {
        state.metrics.decision(Endpoint::ForwardAuth, "bad_request", started.elapsed());
        return bad_call(
            "no permission to check: set `?permission=` in the gateway's auth URL or send `X-Warden-Permission`",
        );
    };
    let request = CheckRequest { environment, permission, ..CheckRequest::default() };
    let outcome = match state.service.check(authorization(&headers), &request) {
        Ok(outcome) => outcome,
        Err(error) => {
            state.metrics.decision(Endpoint::ForwardAuth, "bad_request", started.elapsed());
            return bad_call(&error.to_string());
        }
    };
    state.metrics.decision(Endpoint::ForwardAuth, outcome.reason, started.elapsed());
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = reply(status, &outcome);
    let headers = response.headers_mut();
    headers.insert(REASON, HeaderValue::from_static(outcome.reason));
    if let Some(id) = outcome.token_id.as_ref().and_then(|id| HeaderValue::from_str(&id.0).ok()) {
        headers.insert(HeaderName::from_static("x-warden-token-id"), id);
    }
    if let Some(user) = outcome.user.as_deref().and_then(|user| HeaderValue::from_str(user).ok()) {
        headers.insert(HeaderName::from_static("x-warden-user"), user);
    }
    if !outcome.allowed {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge(outcome.reason)));
    }
    response.extensions_mut().insert(Logged { token: outcome.token_id, decision: outcome.reason });
    response
}

const REASON: HeaderName = HeaderName::from_static("x-warden-reason");

/// A call the gateway's configuration got wrong: 403 `bad_request` (D29), with the message.
fn bad_call(message: &str) -> Response {
    let mut response = ApiError::new(StatusCode::FORBIDDEN, "bad_request", message).into_response();
    let headers = response.headers_mut();
    headers.insert(REASON, HeaderValue::from_static("bad_request"));
    headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge("bad_request")));
    response
}
