//! One log line per request: method, path, status, the calling token's *id*, the decision or
//! refusal, and the latency. Never a secret: the `Authorization` header and the query string
//! (RFC 6750 allows a token there) are not logged.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::token::TokenId;

/// What a handler tells the log about its answer, carried in the response's extensions.
#[derive(Debug, Clone)]
pub struct Logged {
    pub token: Option<TokenId>,
    /// `ok`, a check's reason or a refusal's rule id.
    pub decision: &'static str,
}

pub async fn log_request(State(state): State<Arc<super::State>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = loggable(request.uri().path());
    let response = next.run(request).await;
    let latency = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.response(status);
    let logged = response.extensions().get::<Logged>();
    let token = logged.and_then(|l| l.token.as_ref()).map_or("-", |id| id.0.as_str());
    let decision = logged.map_or("-", |l| l.decision);
    tracing::info!(
        target: "warden::request",
        "{method} {path} {status} token={token} decision={decision} latency_us={}",
        latency.as_micros()
    );
    response
}

/// The path with any pasted token cut to its id: in a segment of three or more dot-separated
/// parts (`.` or `%2E`), everything after the second part becomes `…`.
fn loggable(path: &str) -> String {
    if !path.contains(['.', '%']) {
        return path.to_string();
    }
    let segments = path.split('/').map(|segment| {
        let dotted = segment.replace("%2E", ".").replace("%2e", ".");
        let mut parts = dotted.splitn(3, '.');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(prefix), Some(public), Some(_)) => format!("{prefix}.{public}.…"),
            _ => segment.to_string(),
        }
    });
    segments.collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pasted_token_in_a_path_is_cut_to_its_id() {
        let path = "/iam/v1/accounts/acme/platform-tokens/dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.SECRETSECRET/status";
        assert_eq!(
            super::loggable(path),
            "/iam/v1/accounts/acme/platform-tokens/dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.…/status"
        );
        assert_eq!(super::loggable("/x/dt0c01.ID%2ESECRET"), "/x/dt0c01.ID.…");
        assert_eq!(super::loggable("/v1/auth"), "/v1/auth");
    }
}
