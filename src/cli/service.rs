//! Opening the token service that `token`, `account`, `audit` and `serve` work on: the tenant,
//! the database and the deployment's settings (decisions D26), and the actor of `--as`.

use std::sync::Arc;

use chrono::Duration;
use warden::diagnostic::{FileReport, SourceFile, human};
use warden::iam::Principal;
use warden::store::Schema;
use warden::token::{Deployment, SystemClock, TokenError, TokenService};

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
    #[command(flatten)]
    pub tenant: TenantArgs,
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
    /// [`Schema::Migrate`]), applies `[deployment]` and the environment's overrides
    /// (`WARDEN_TOKEN_LIMIT`, `WARDEN_TOKEN_PREFIX`, `WARDEN_PROPAGATION_SECONDS`).
    pub fn open(&self, schema: Schema) -> Result<TokenService, Exit> {
        let engine = self.tenant.engine()?;
        let catalog = self.tenant.catalog.load().map_err(fail)?;
        let deployment = self.deployment()?;
        let from_env = |name: &str| std::env::var(name).ok();
        let mut settings = deployment.settings();
        if let Some(limit) = from_env("WARDEN_TOKEN_LIMIT").and_then(|v| v.parse().ok()) {
            settings.limit = limit;
        }
        if let Some(prefix) = from_env("WARDEN_TOKEN_PREFIX") {
            settings.prefix = prefix;
        }
        if let Some(seconds) = from_env("WARDEN_PROPAGATION_SECONDS").and_then(|v| v.parse().ok()) {
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
    fn deployment(&self) -> Result<Deployment, Exit> {
        let path = self.tenant.tenant.join("warden.toml");
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
    let engine = service.engine();
    let tenant = engine.tenant();
    tenant.find_user(name).or_else(|| tenant.find_service_user(name)).ok_or_else(|| {
        let known =
            tenant.users.iter().map(|u| u.email.as_str()).chain(tenant.service_users.iter().map(|s| s.name.as_str()));
        let hint = warden::catalog::nearest(name, known).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
        fail(format!("the tenant has no user or service user `{name}`{hint}"))
    })
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
