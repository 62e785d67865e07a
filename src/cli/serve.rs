//! `warden serve`: the token service over HTTP.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::HeaderName;

use tracing_subscriber::fmt::MakeWriter;
use warden::server::{Cidr, Config, Limits, LogLine, REQUEST_TARGET, RequestLog, TenantSource, UiConfig, run};
use warden::store::Schema;

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

The token pages (My platform tokens, Manage users tokens) are under /ui/ when
--ui-user-header is given: people sign in at a gateway (oauth2-proxy, nginx auth_request,
an SSO proxy) that sets that header to their email; only --trusted-proxies may set it.

Signals: SIGHUP reloads the tenant (so does a change to its files); SIGTERM or SIGINT stops
accepting and lets requests in flight finish.

Examples:
  warden serve --tenant policies/example --db /tmp/warden.db --listen 127.0.0.1:8080
  warden serve --tenant policies/example --ui-user-header X-Forwarded-Email \\
      --trusted-proxies 127.0.0.1/32 --public-origin https://tokens.acme.example";

/// Serve the token service over HTTP: token management, checks, forward-auth for gateways
#[derive(clap::Args)]
#[command(after_help = ENDPOINTS)]
pub struct Args {
    /// The address to listen on, an IP address and a port; port 0 picks a free port (the log
    /// names it)
    #[arg(
        long,
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:8080",
        env = "WARDEN_LISTEN",
        value_parser = listen_address
    )]
    listen: SocketAddr,
    /// Look for changed tenant files this often; 0: only on SIGHUP
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    watch: f64,
    /// Cut off a client that takes longer than this to send its headers or its body
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    client_timeout: f64,
    /// Serve the token pages under /ui/ to people a gateway signed in, named by this header
    /// (their email, e.g. X-Forwarded-Email); without it the pages are off
    #[arg(long, value_name = "HEADER", requires = "trusted_proxies")]
    ui_user_header: Option<String>,
    /// The gateway's addresses (CIDR, comma-separated): the only peers whose --ui-user-header
    /// is believed. No peer is trusted by default, not even loopback
    #[arg(long, value_name = "CIDR,…", value_delimiter = ',', requires = "ui_user_header")]
    trusted_proxies: Vec<Cidr>,
    /// The origin people open the pages at; forms from any other are refused [default:
    /// http://LISTEN]
    #[arg(long, value_name = "URL", requires = "ui_user_header")]
    public_origin: Option<String>,
    /// Bring a PostgreSQL schema up to date before serving, for setups where the service's role
    /// may change it (else `warden db migrate` does, and serve refuses a schema behind its own)
    #[arg(long)]
    migrate: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// `--listen`: a bare port or a host name are the usual slips, so the message shows the form.
fn listen_address(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        let example = match text.parse::<u16>() {
            Ok(port) => format!("127.0.0.1:{port} (this host only) or 0.0.0.0:{port} (every interface)"),
            Err(_) => "127.0.0.1:8080".to_string(),
        };
        format!("`--listen` takes host:port, an IP address and a port, such as {example}")
    })
}

/// The log's lines to standard error, each request's line in a batch with others (see
/// [`LogLine`]).
struct LogLines;

impl<'a> MakeWriter<'a> for LogLines {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine::Now
    }

    fn make_writer_for(&'a self, line: &tracing::Metadata<'_>) -> LogLine {
        match line.target() == REQUEST_TARGET {
            true => LogLine::Request,
            false => LogLine::Now,
        }
    }
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
    let ui = match args.ui_user_header.as_deref().map(HeaderName::try_from) {
        None => None,
        Some(Ok(user_header)) => Some(UiConfig {
            user_header,
            trusted_proxies: args.trusted_proxies.clone(),
            public_origin: args.public_origin.clone(),
        }),
        Some(Err(_)) => return fail("`--ui-user-header` takes a header name, such as X-Forwarded-Email"),
    };
    if let Some(origin) = args.public_origin.as_deref() {
        let host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
        if host.is_none_or(|host| host.is_empty() || host.trim_end_matches('/').contains('/')) {
            return fail(format!(
                "`--public-origin` is a scheme and a host, such as https://tokens.acme.example, not `{origin}`"
            ));
        }
    }
    let color = color_for(&std::io::stderr());
    tracing_subscriber::fmt().with_writer(LogLines).with_ansi(color).with_target(false).init();
    let schema = if args.migrate { Schema::Migrate } else { Schema::Expect };
    let service = match args.store.open(schema) {
        Ok(service) => service,
        Err(exit) => return exit,
    };
    let catalog = match args.store.tenant.catalog.load() {
        Ok(catalog) => catalog.into_owned(),
        Err(message) => return fail(message),
    };
    let config = Config {
        listen: args.listen,
        tenant: TenantSource {
            dir: args.store.tenant.tenant.clone(),
            catalog,
            #[cfg(feature = "iac")]
            variables: args.store.tenant.variables.variables(),
        },
        watch_every: (!watch.is_zero()).then_some(watch),
        limits: Limits { client_timeout, ..Limits::default() },
        ui,
        // A terminal shows the lines as `tracing` colours them, and at once.
        request_log: if color { RequestLog::Tracing } else { RequestLog::Stderr },
    };
    match run(service, config) {
        Ok(()) => Exit::Ok,
        Err(error) => fail(format!("cannot serve on {}: {error}", args.listen)),
    }
}
