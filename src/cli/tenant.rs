//! Loading the tenant for the commands that evaluate (`explain`, `effective`, `who-can`).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use warden::catalog::Catalog;
use warden::diagnostic::{FileReport, human};
use warden::eval::Engine;
use warden::iam::{Principal, PrincipalKind, TenantFiles, load};

use super::{CatalogArg, Exit, color_for, fail};

/// Where the tenant is: the flags every command that loads one shares.
#[derive(clap::Args)]
pub struct TenantArgs {
    /// The tenant directory: warden.toml, policies/*.policy, boundaries/*.boundary
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub tenant: PathBuf,
    #[command(flatten)]
    pub catalog: CatalogArg,
}

/// Where and when a request is made.
#[derive(clap::Args)]
pub struct RequestArgs {
    /// The environment of the request; without it the request is account-level
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// The time of the request (RFC 3339, e.g. 2026-05-04T10:00:00+02:00); default: now
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub at: Option<DateTime<Utc>>,
}

impl RequestArgs {
    pub fn time(&self) -> DateTime<Utc> {
        self.at.unwrap_or_else(Utc::now)
    }
}

/// An RFC 3339 time given on the command line, in UTC: the one parser of `--at`, `--since`,
/// `--expires` and their kin.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2026-05-04T10:00:00Z: {e}"))
}

/// Who is asking: a user or a service user.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct PrincipalArgs {
    /// A user, by email or id
    #[arg(long, value_name = "EMAIL|ID")]
    pub user: Option<String>,
    /// A service user, by email, id or name
    #[arg(long, value_name = "EMAIL|ID|NAME")]
    pub service_user: Option<String>,
}

impl TenantArgs {
    /// Loads and compiles the tenant; prints its problems and returns exit 3 when it has errors.
    pub fn engine(&self) -> Result<Engine, Exit> {
        let catalog = self.catalog.load().map_err(fail)?;
        let files = read(&self.tenant)?;
        let shown = self.tenant.display().to_string();
        compile(&files, &catalog, &format!("the tenant `{shown}`"), &format!("`warden lint {shown}` lists them"))
    }
}

/// Reads a tenant directory; exit 2 when it cannot be read.
pub fn read(dir: &Path) -> Result<TenantFiles, Exit> {
    TenantFiles::read(dir)
        .map_err(|e| fail(format!("cannot read the tenant `{}`: {e} (it needs a warden.toml)", dir.display())))
}

/// Loads and compiles tenant files; prints their problems and returns exit 3 when they have
/// errors, saying what has them ("the tenant `x`") and where to see them again (`hint`).
pub fn compile(files: &TenantFiles, catalog: &Catalog, what: &str, hint: &str) -> Result<Engine, Exit> {
    let loaded = load(files, catalog);
    match loaded.tenant {
        Some(tenant) => Ok(Engine::new(tenant, catalog)),
        None => {
            let color = color_for(&std::io::stderr());
            for findings in &loaded.findings {
                let report = FileReport { file: &findings.file, diagnostics: &findings.diagnostics };
                eprint!("{}", human::render(&report, color));
            }
            eprintln!("error: {what} has errors; {hint}");
            Err(Exit::TenantErrors)
        }
    }
}

impl PrincipalArgs {
    pub fn resolve(&self, engine: &Engine) -> Result<Principal, Exit> {
        let (name, kind) = match &self.user {
            Some(user) => (user.as_str(), PrincipalKind::User),
            None => (self.service_user.as_deref().unwrap_or_default(), PrincipalKind::ServiceUser),
        };
        engine.tenant().principal(name, Some(kind)).map_err(fail)
    }
}
