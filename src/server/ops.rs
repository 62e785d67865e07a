//! Operations: liveness, readiness, metrics, and the answers for routes that do not exist.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::{ApiError, HttpReason};
use super::json::reply;

/// The process is up and answering.
pub async fn healthz() -> Response {
    reply(StatusCode::OK, &json!({"status": "ok"}))
}

/// Ready to serve: the token database answers. It says whether the last tenant reload was
/// refused (the last good tenant keeps serving); the details are in the log, not here, since
/// anyone may ask.
pub async fn readyz(State(state): State<Arc<super::State>>) -> Response {
    let service = Arc::clone(&state.service);
    let database = tokio::task::spawn_blocking(move || service.tokens_allowed()).await;
    let refused = state.status().refused;
    let reload = if refused { "refused" } else { "ok" };
    match database {
        Ok(Ok(_)) => reply(StatusCode::OK, &json!({"status": "ready", "tenantReload": reload})),
        Ok(Err(error)) => {
            tracing::error!("not ready: {error}");
            reply(StatusCode::SERVICE_UNAVAILABLE, &json!({"status": "unready", "tenantReload": reload}))
        }
        Err(_) => reply(StatusCode::SERVICE_UNAVAILABLE, &json!({"status": "unready", "tenantReload": reload})),
    }
}

pub async fn metrics(State(state): State<Arc<super::State>>) -> Response {
    let mut response = state.metrics.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// No such route: the answer lists the routes there are, the token pages among them when they
/// are on.
pub async fn not_found(State(state): State<Arc<super::State>>, method: Method, uri: Uri) -> ApiError {
    let routes = "/iam/v1/accounts/{account}/platform-tokens, /v1/authorize, /v1/auth, /healthz, /readyz";
    let served = match state.ui {
        Some(_) => format!("{routes}, /metrics and the token pages under /ui/"),
        None => format!("{routes} and /metrics"),
    };
    ApiError::new(
        StatusCode::NOT_FOUND,
        HttpReason::NotFound,
        format!("no route `{method} {}`; warden serves {served}", uri.path()),
    )
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        HttpReason::MethodNotAllowed,
        format!("`{}` does not take `{method}`", uri.path()),
    )
}
