//! One log line per request: method, path, status, the calling token's *id* or the person
//! signed in to the pages, the decision or refusal, and the latency. Never a secret: the
//! `Authorization` header and the query string (RFC 6750 allows a token there) are not logged,
//! and a token pasted into the path, plain or percent-encoded, is cut to its id.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::token::{TokenId, redact};

/// What a handler tells the log about its answer, carried in the response's extensions.
#[derive(Debug, Clone)]
pub struct Logged {
    pub token: Option<TokenId>,
    /// `ok`, a check's reason or a refusal's rule id.
    pub decision: &'static str,
}

/// The person signed in to the pages for a request, once the pages know them: every request
/// carries an empty one, and the pages' sign-in fills it in. An email is not a secret.
#[derive(Debug, Clone, Default)]
pub(crate) struct SignedInUser(Arc<OnceLock<String>>);

impl SignedInUser {
    pub fn set(&self, email: &str) {
        let _ = self.0.set(email.to_string());
    }
}

pub async fn log_request(State(state): State<Arc<super::State>>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = redact(request.uri().path()).into_owned();
    let user = SignedInUser::default();
    request.extensions_mut().insert(user.clone());
    let response = next.run(request).await;
    let latency = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.response(status);
    let logged = response.extensions().get::<Logged>();
    let token = logged.and_then(|l| l.token.as_ref()).map_or("-", |id| id.0.as_str());
    let decision = logged.map_or("-", |l| l.decision);
    let user = user.0.get().map_or("-", String::as_str);
    tracing::info!(
        target: "warden::request",
        "{method} {path} {status} token={token} user={user} decision={decision} latency_us={}",
        latency.as_micros()
    );
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pasted_token_in_a_path_is_cut_to_its_id() {
        let cut = |path| super::redact(path).into_owned();
        let path = "/iam/v1/accounts/acme/platform-tokens/dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.SECRETSECRET/status";
        assert_eq!(cut(path), "/iam/v1/accounts/acme/platform-tokens/dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.…/status");
        assert_eq!(cut("/x/dt0c01.ID%2ESECRET"), "/x/dt0c01.ID%2E…");
        assert_eq!(cut("/x/dt0c01%252EID%252ESECRET"), "/x/dt0c01%252EID%252E…");
        assert_eq!(cut("/v1/auth"), "/v1/auth");
    }
}
