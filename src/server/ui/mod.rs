//! The token pages people use, under `/ui/`: *My platform tokens* (one's own tokens, generate,
//! the one-time secret, disable, enable, delete, duplicate, rotate) and, for account admins,
//! *Manage users tokens* (every token of the account, bulk disable and delete, the account's
//! switch). Server-rendered HTML, assets in the binary, a few lines of plain JavaScript.
//!
//! People sign in at a gateway (decisions D36, `signin.rs`); forms are taken only from pages of
//! this origin with a single-use form token (`form.rs`); new secrets are shown once from memory
//! (`secret.rs`). Every operation is the token service's, as the management API calls it: the
//! same rules, refusals and audit entries. The pages act as the person (the CLI's `--as`).

mod assets;
mod error;
mod form;
mod generate;
mod layout;
mod manage;
mod secret;
mod signin;
mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, StatusCode, header};
use axum::response::Redirect;
use axum::routing::{any, get, post};

use crate::server::State;
use crate::token::TokenService;
use error::UiError;
pub use signin::{Cidr, normalized_origin};

/// How `warden serve` serves the pages: who names the signed-in person, and which peers are
/// believed when they do.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// The header an authenticating gateway sets to the signed-in person's email.
    pub user_header: HeaderName,
    /// The gateway's addresses; the header from any other peer is refused.
    pub trusted_proxies: Vec<Cidr>,
    /// The origin people open the pages at (`https://tokens.example`); `None`: the listen
    /// address, `http://ADDR`.
    pub public_origin: Option<String>,
}

/// What the pages keep while the server runs.
pub(crate) struct Pages {
    config: UiConfig,
    /// The origin forms must come from.
    origin: String,
    forms: form::FormKey,
    secrets: secret::OneTimeSecrets,
}

impl Pages {
    /// Reads (or makes, the first time) the form-token key from the token database.
    pub(crate) fn open(config: UiConfig, listening: SocketAddr, service: &TokenService) -> Result<Pages, String> {
        let key = service.ui_form_key().map_err(|e| format!("cannot read the key of the token pages: {e}"))?;
        let origin = normalized_origin(config.public_origin.as_deref().unwrap_or(&format!("http://{listening}")));
        Ok(Pages { config, origin, forms: form::FormKey::new(key), secrets: secret::OneTimeSecrets::default() })
    }
}

/// The routes of the pages, with their headers.
pub(crate) fn routes() -> Router<Arc<State>> {
    Router::new()
        .route("/ui", get(|| async { Redirect::to("/ui/tokens") }))
        .route("/ui/", get(|| async { Redirect::to("/ui/tokens") }))
        .route("/ui/assets/{file}", get(assets::serve))
        .route("/ui/tokens", get(tokens::list).post(generate::generate))
        .route("/ui/tokens/new", get(generate::form))
        // A HEAD would run the GET and use the secret up unseen (link checkers, prefetchers).
        .route(
            "/ui/tokens/shown/{key}",
            get(generate::shown).head(|| async { (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET")]) }),
        )
        .route("/ui/tokens/{token}/rotate", get(generate::rotate_form).post(generate::rotate))
        .route("/ui/tokens/{token}/duplicate", get(generate::duplicate_form).post(generate::duplicate))
        .route("/ui/confirm", get(tokens::confirm))
        .route("/ui/change", post(tokens::change))
        .route("/ui/manage", get(manage::list))
        .route("/ui/manage/switch", post(manage::switch))
        .route("/ui/{*rest}", any(missing_page))
        .layer(axum::middleware::map_response(layout::headers))
}

/// A mistyped page address gets a page, not the API's JSON; the person is signed in as on any
/// page, so the log names them.
async fn missing_page(_: Result<signin::SignedIn, UiError>) -> UiError {
    UiError::not_found()
}

/// Runs the work where it may block (the token service reads SQLite).
async fn blocking<T: Send + 'static>(
    state: Arc<State>,
    work: impl FnOnce(&State, &TokenService) -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    tokio::task::spawn_blocking(move || work(&state, &state.service)).await.unwrap_or_else(|_| {
        Err(UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "the page stopped unexpectedly"))
    })
}

/// The pages, once configured: a handler only runs when they are.
fn pages(state: &State) -> Result<&Pages, UiError> {
    state.ui.as_ref().ok_or_else(UiError::not_found)
}
