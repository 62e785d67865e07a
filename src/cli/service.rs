//! Opening the token service that `token`, `account`, `audit` and `serve` work on: the tenant,
//! the database and the deployment's settings (decisions D26), and the actor of `--as`.

use std::sync::Arc;

use chrono::Duration;
use warden::diagnostic::{FileReport, SourceFile, human};
use warden::iam::Principal;
use warden::store::Schema;
use warden::token::{Deployment, MAX_PROPAGATION, SystemClock, TokenError, TokenService, valid_prefix};

use super::tenant::TenantArgs;
use super::{Exit, OutputFormat, color_for, db, fail};

/// The tenant and the database: what a token service is opened from.
#[derive(clap::Args)]
pub struct StoreArgs {
    /// The token database: a file or `sqlite:PATH` (SQLite, created on first use), or
    /// `postgres://USER@HOST:PORT/DB?sslmode=verify-full` with the password in WARDEN_DB,
    /// PGPASSWORD or a PGPASSFILE [env: WARDEN_DB] [default: the tenant's [deployment]
    /// database, else ./warden.db]
    #[arg(long, value_name = "PATH|URL")]
    db: Option<String>,
    /// Tokens one owner may hold in the account; every token not deleted counts [default: the
    /// tenant's [deployment] token_limit, else 10]
    #[arg(long, value_name = "N", env = "WARDEN_TOKEN_LIMIT", value_parser = setting(token_limit, "WARDEN_TOKEN_LIMIT"), help_heading = "Deployment")]
    token_limit: Option<usize>,
    /// The prefix of new tokens, `dt0` + a letter + two digits [default: the tenant's
    /// [deployment] token_prefix, else dt0s16]
    #[arg(long, value_name = "PREFIX", env = "WARDEN_TOKEN_PREFIX", value_parser = setting(token_prefix, "WARDEN_TOKEN_PREFIX"), help_heading = "Deployment")]
    token_prefix: Option<String>,
    /// How long a cached token or tenant may serve before it is read again, 0 to 300 [default:
    /// the tenant's [deployment] propagation_seconds, else 60]
    #[arg(long, value_name = "SECONDS", env = "WARDEN_PROPAGATION_SECONDS", value_parser = setting(propagation_seconds, "WARDEN_PROPAGATION_SECONDS"), help_heading = "Deployment")]
    propagation_seconds: Option<i64>,
    #[command(flatten)]
    pub tenant: TenantArgs,
}

/// A parser of a deployment setting whose complaint names the environment variable too: clap
/// names only the flag, and the value may well have come from the variable.
fn setting<T: 'static>(
    parse: fn(&str) -> Result<T, String>,
    variable: &'static str,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |text| parse(text).map_err(|why| format!("{why} (set by the flag or by {variable})"))
}

fn token_limit(text: &str) -> Result<usize, String> {
    text.parse().map_err(|_| format!("`{text}` is not a number of tokens"))
}

fn token_prefix(text: &str) -> Result<String, String> {
    if valid_prefix(text) {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not a token prefix: `dt0`, a lower-case letter and two digits"))
    }
}

fn propagation_seconds(text: &str) -> Result<i64, String> {
    match text.parse() {
        Ok(seconds) if (0..=MAX_PROPAGATION.num_seconds()).contains(&seconds) => Ok(seconds),
        _ => Err(format!("`{text}` is not a number of seconds from 0 to {}", MAX_PROPAGATION.num_seconds())),
    }
}

/// The tenant, database and output flags every token command takes.
#[derive(clap::Args)]
pub struct ServiceArgs {
    #[arg(long, value_enum, default_value = "human")]
    format: OutputFormat,
    #[command(flatten)]
    store: StoreArgs,
}

/// A running service, and how to print what it answers.
pub struct Opened {
    pub service: TokenService,
    pub format: OutputFormat,
}

impl ServiceArgs {
    pub fn open(&self) -> Result<Opened, Exit> {
        Ok(Opened { service: self.store.open(Schema::Expect)?, format: self.format })
    }
}

impl StoreArgs {
    /// Loads the tenant, opens the database (migrating a PostgreSQL schema only with
    /// [`Schema::Migrate`]), applies `[deployment]` and the flags (or their environment
    /// variables) over it.
    pub fn open(&self, schema: Schema) -> Result<TokenService, Exit> {
        let engine = self.tenant.engine()?;
        let catalog = self.tenant.catalog.load().map_err(fail)?;
        let deployment = self.deployment()?;
        let mut settings = deployment.settings();
        if let Some(limit) = self.token_limit {
            settings.limit = limit;
        }
        if let Some(prefix) = &self.token_prefix {
            settings.prefix = prefix.clone();
        }
        if let Some(seconds) = self.propagation_seconds {
            settings.propagation = Duration::seconds(seconds);
        }
        let settings = settings.validated().map_err(fail)?;
        let database = db::named(self.db.as_deref(), Some(deployment.database.as_deref().unwrap_or("warden.db")))?;
        let store = database.open(schema).map_err(db::failed)?;
        let service = TokenService::new(store, Arc::new(SystemClock), engine, &catalog, settings).map_err(fail)?;
        if service.switch_differs_from_tenant().map_err(fail)? {
            eprintln!(
                "warning: the account switch in the database differs from `platform_tokens` in warden.toml; the database holds the truth"
            );
        }
        Ok(service)
    }

    /// The `[deployment]` table of the tenant's `warden.toml`; a wrong one is a tenant error.
    /// A Terraform module or monaco project has none: the flags and environment give it.
    fn deployment(&self) -> Result<Deployment, Exit> {
        let path = self.tenant.tenant.join("warden.toml");
        if !path.exists() {
            return Ok(Deployment::default());
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| fail(format!("cannot read the tenant `{}`: {e}", self.tenant.tenant.display())))?;
        let config = SourceFile::new(path.to_string_lossy().trim_start_matches("./"), text);
        Deployment::read(&config).map_err(|diagnostic| {
            let report = FileReport { file: &config, diagnostics: std::slice::from_ref(&*diagnostic) };
            eprint!("{}", human::render(&report, color_for(&std::io::stderr())));
            Exit::TenantErrors
        })
    }
}

/// The acting user or service user (`--as`).
pub fn actor(service: &TokenService, name: &str) -> Result<Principal, Exit> {
    service.engine().tenant().principal(name, None).map_err(fail)
}

/// A refusal exits 1 and names the rule; an unknown token or a failure exits 2 (decisions D1).
pub fn refused(error: TokenError) -> Exit {
    let rule = error.rule();
    if !rule.is_refusal() {
        return fail(error);
    }
    eprintln!("refused: {error}");
    if let Some(help) = rule.help() {
        eprintln!("(rule `{rule}`: {help})");
    }
    Exit::No
}
