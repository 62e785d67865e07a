//! `warden serve`: the token service over HTTP.

use std::net::SocketAddr;
use std::time::Duration;

use warden::server::{Config, Limits, TenantSource, run};

use super::service::StoreArgs;
use super::{Exit, color_for, fail};

const ENDPOINTS: &str = "Endpoints:
  GET    /v1/auth?permission=P[&environment=E]  forward-auth (nginx, Traefik, Envoy)
  POST   /v1/authorize {permission, environment?, attributes?, explain?}
  GET    /iam/v1/accounts/{account}/platform-tokens?searchTerm=&status=&page=&size=
  POST   …/platform-tokens {name, scope, resource, tags?, expirationDate, userUuid?}
  GET    …/platform-tokens/{tokenId}
  DELETE …/platform-tokens/{tokenId}
  PUT    …/platform-tokens/{tokenId}/expiration-date {expirationDate}
  PUT    …/platform-tokens/{tokenId}/status {status: ACTIVE|INACTIVE}
  POST   …/platform-tokens/{tokenId}/duplicate
  POST   …/platform-tokens/{tokenId}/rotate {name?, expirationDate?, oldTokenExpiresAt?}
  GET|PUT /iam/v1/accounts/{account}/settings/platform-tokens {allowed}
  GET    /healthz  /readyz  /metrics
Every call but the last three sends `Authorization: Bearer <platform token>`.

Signals: SIGHUP reloads the tenant (so does a change to its files); SIGTERM or SIGINT stops
accepting and lets requests in flight finish.

Example:
  warden serve --tenant policies/example --db /tmp/warden.db --listen 127.0.0.1:8080";

/// Serve the token service over HTTP: token management, checks, forward-auth for gateways
#[derive(clap::Args)]
#[command(after_help = ENDPOINTS)]
pub struct Args {
    /// The address to listen on; port 0 picks a free port (the log names it)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", env = "WARDEN_LISTEN")]
    listen: SocketAddr,
    /// Look for changed tenant files this often; 0: only on SIGHUP
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    watch: f64,
    /// Cut off a client that takes longer than this to send its headers or its body
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    client_timeout: f64,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run_server(args: Args) -> Exit {
    let seconds = |value: f64, flag: &str| {
        (value.is_finite() && value >= 0.0)
            .then(|| Duration::from_secs_f64(value))
            .ok_or_else(|| fail(format!("`--{flag}` takes a number of seconds, not {value}")))
    };
    let (watch, client_timeout) = match (seconds(args.watch, "watch"), seconds(args.client_timeout, "client-timeout")) {
        (Ok(watch), Ok(timeout)) if !timeout.is_zero() => (watch, timeout),
        (Ok(_), Ok(_)) => return fail("`--client-timeout` must be more than 0 seconds"),
        (Err(exit), _) | (_, Err(exit)) => return exit,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(color_for(&std::io::stderr()))
        .with_target(false)
        .init();
    let service = match args.store.open() {
        Ok(service) => service,
        Err(exit) => return exit,
    };
    let catalog = match args.store.tenant.catalog.load() {
        Ok(catalog) => catalog.into_owned(),
        Err(message) => return fail(message),
    };
    let config = Config {
        listen: args.listen,
        tenant: TenantSource { dir: args.store.tenant.tenant.clone(), catalog },
        watch_every: (!watch.is_zero()).then_some(watch),
        limits: Limits { client_timeout, ..Limits::default() },
    };
    match run(service, config) {
        Ok(()) => Exit::Ok,
        Err(error) => fail(format!("cannot serve on {}: {error}", args.listen)),
    }
}
