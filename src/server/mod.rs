//! `warden serve`: the token service over HTTP (axum on hyper and tokio). The management API
//! (`api`), the checks (`check`: `/v1/authorize` and forward-auth for gateways), health,
//! readiness and metrics (`ops`), limits on what a client may send, one log line per request,
//! tenant reloads, and a graceful shutdown that lets requests in flight finish.

mod api;
mod check;
mod credentials;
mod error;
mod json;
mod log;
mod metrics;
mod ops;
mod reload;
mod ui;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post, put};
use hyper::body::Incoming;
use hyper::service::{Service as _, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::token::TokenService;
pub use log::{LogLine, REQUEST_TARGET, RequestLog};
pub use reload::TenantSource;
pub use ui::{Cidr, UiConfig};

/// What a client may send, and how long it may take.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Larger bodies are answered 413.
    pub body_bytes: usize,
    /// A request line and headers larger than this are answered 431.
    pub header_bytes: usize,
    /// A client that has not sent its headers, or its body, within this time is cut off.
    pub client_timeout: Duration,
    /// How long requests in flight may take to finish after SIGTERM or SIGINT.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: 64 * 1024,
            header_bytes: 8 * 1024,
            client_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// What `warden serve` was asked to do.
pub struct Config {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The tenant to serve, read again on reload.
    pub tenant: TenantSource,
    /// How often to look for changed tenant files; `None`: on SIGHUP only.
    pub watch_every: Option<Duration>,
    /// The bounds on requests and connections.
    pub limits: Limits,
    /// The token pages under `/ui/`; `None`: off.
    pub ui: Option<UiConfig>,
    /// Where the request log lines go.
    pub request_log: RequestLog,
}

/// What every handler shares.
pub(crate) struct State {
    service: Arc<TokenService>,
    metrics: metrics::Metrics,
    tenant: TenantSource,
    tenant_status: Mutex<reload::TenantStatus>,
    limits: Limits,
    request_log: RequestLog,
    costly: check::CostlyDecisions,
    unknown_names: check::UnknownNames,
    ui: Option<ui::Pages>,
}

/// Forward-auth's path.
const FORWARD_AUTH: &str = "/v1/auth";

fn router(state: Arc<State>) -> Router {
    let tokens = "/iam/v1/accounts/{account}/platform-tokens";
    let pages = if state.ui.is_some() { ui::routes() } else { Router::new() };
    Router::new()
        .route(tokens, get(api::list).post(api::create))
        .route(&format!("{tokens}/{{token}}"), get(api::show).delete(api::delete))
        .route(&format!("{tokens}/{{token}}/expiration-date"), put(api::set_expiry))
        .route(&format!("{tokens}/{{token}}/status"), put(api::set_status))
        .route(&format!("{tokens}/{{token}}/duplicate"), post(api::duplicate))
        .route(&format!("{tokens}/{{token}}/rotate"), post(api::rotate))
        .route("/iam/v1/accounts/{account}/settings/platform-tokens", get(api::settings).put(api::set_settings))
        .route("/v1/authorize", post(check::authorize))
        .route(FORWARD_AUTH, get(check::forward_auth))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(pages)
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), log::log_request))
        .with_state(state)
}

/// Whether the router would send a request to [`check::forward_auth`] (`HEAD` goes there too,
/// through the router, which drops the body).
fn is_forward_auth<B>(request: &hyper::Request<B>) -> bool {
    request.method() == Method::GET && request.uri().path() == FORWARD_AUTH
}

/// `GET /v1/auth` straight to its handler and the request log, as the router and its log layer
/// would take it, without their per-request boxes and the copies of the URI and headers its
/// extractors make: gateways ask this once for every request they pass on.
async fn forward_auth(state: &State, request: hyper::Request<Incoming>) -> Response {
    let started = Instant::now();
    let response = check::forward_auth_to(state, request.uri(), request.headers()).await;
    // Its path holds no token to redact.
    log::answered(state, started, &Method::GET, FORWARD_AUTH, None, &response);
    response
}

/// Serves until SIGTERM or SIGINT on a runtime of its own; prints `listening on http://ADDR` to
/// the log once the socket is bound (port 0 picks a free one). Request log lines written
/// through [`LogLine::Request`] are flushed before it returns.
///
/// The process ignores SIGPIPE from here on: a client that hangs up before reading its answers
/// makes the next write fail with EPIPE, which ends that connection, never the process.
pub fn run(service: TokenService, config: Config) -> std::io::Result<()> {
    ignore_broken_pipes();
    let _flusher = log::Flusher::start();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve(service, config))
}

/// A command-line tool wants the default SIGPIPE (`warden lint … | head` ends quietly); a server
/// must not die of a peer's hang-up.
fn ignore_broken_pipes() {
    // SAFETY: setting a signal's disposition to SIG_IGN installs no handler; it is process-wide
    // and takes effect atomically, whatever other threads run.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

async fn serve(service: TokenService, config: Config) -> std::io::Result<()> {
    let listener = TcpListener::bind(config.listen).await?;
    let service = Arc::new(service);
    let ui = match config.ui {
        Some(ui) => {
            let (listening, opening) = (listener.local_addr()?, Arc::clone(&service));
            let pages = tokio::task::spawn_blocking(move || ui::Pages::open(ui, listening, &opening)).await?;
            Some(pages.map_err(std::io::Error::other)?)
        }
        None => None,
    };
    let state = Arc::new(State {
        service,
        metrics: metrics::Metrics::new(),
        tenant: config.tenant,
        tenant_status: Mutex::default(),
        limits: config.limits,
        request_log: config.request_log,
        costly: check::CostlyDecisions::new(),
        unknown_names: check::UnknownNames::default(),
        ui,
    });
    // Signals are ours before anything can send them: an early SIGHUP must not end the process.
    let hangup = signal(SignalKind::hangup())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    // Load the tenant once more, as the reloads will read it, so no edit since the service was
    // opened is taken for the one already served.
    let loading = Arc::clone(&state);
    let _ = tokio::task::spawn_blocking(move || loading.reload(true)).await;
    tokio::spawn(reload::keep_current(Arc::clone(&state), hangup, config.watch_every));
    let app = TowerToHyperService::new(router(Arc::clone(&state)));

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .writev(false)
        .header_read_timeout(state.limits.client_timeout)
        .max_header_size(state.limits.header_bytes);
    let graceful = GracefulShutdown::new();
    tracing::info!("listening on http://{}", listener.local_addr()?);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: wait, then go on accepting.
                        tracing::warn!("cannot accept a connection: {error}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                // The peer's address rides along with each request when the token pages are on
                // (they trust only their gateway's); nothing else asks for it.
                let (app, state) = (app.clone(), Arc::clone(&state));
                let with_peer = service_fn(move |mut request: hyper::Request<Incoming>| {
                    if state.ui.is_some() {
                        request.extensions_mut().insert(ConnectInfo(peer));
                    }
                    let routed = match is_forward_auth(&request) {
                        true => Err((request, Arc::clone(&state))),
                        false => Ok(app.call(request)),
                    };
                    async move {
                        match routed {
                            Ok(routed) => routed.await,
                            Err((request, state)) => Ok(forward_auth(&state, request).await),
                        }
                    }
                });
                let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), with_peer));
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!("connection ended: {error}");
                    }
                });
            }
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: finishing the requests in flight");
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("stopped"),
        _ = tokio::time::sleep(state.limits.shutdown_grace) => {
            tracing::warn!("stopped after {} s with requests still in flight", state.limits.shutdown_grace.as_secs());
        }
    }
    Ok(())
}
