//! Loading the tenant for the commands that evaluate (`explain`, `effective`, `who-can`,
//! `token …`, `serve`), and `warden tenant export`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use warden::catalog::Catalog;
use warden::diagnostic::{FileReport, human};
use warden::eval::Engine;
use warden::iam::{Principal, PrincipalKind, TenantDir};

use super::{CatalogArg, Exit, color_for, fail};

/// Where the tenant is: the flags every command that loads one shares.
#[derive(clap::Args)]
pub struct TenantArgs {
    /// The tenant directory: warden.toml (with policies/*.policy, boundaries/*.boundary), a
    /// Terraform module (*.tf) or a monaco project
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub tenant: PathBuf,
    #[command(flatten)]
    pub variables: VariableArgs,
    #[command(flatten)]
    pub catalog: CatalogArg,
}

/// Values of Terraform variables, as `terraform plan` takes them.
#[derive(clap::Args, Clone, Default)]
pub struct VariableArgs {
    /// A Terraform variable's value (repeatable); lists and maps in HCL syntax
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_assignment)]
    pub values: Vec<(String, String)>,
    /// A .tfvars file of variable values (repeatable); terraform.tfvars and *.auto.tfvars of
    /// the module are read as Terraform reads them
    #[arg(long = "var-file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

fn parse_assignment(text: &str) -> Result<(String, String), String> {
    let (name, value) =
        text.split_once('=').ok_or_else(|| format!("`{text}` is not NAME=VALUE, e.g. `--var team=payments`"))?;
    Ok((name.trim().to_string(), value.to_string()))
}

impl VariableArgs {
    /// The values as the host readers take them.
    #[cfg(feature = "iac")]
    pub fn variables(&self) -> warden::host::Variables {
        warden::host::Variables { values: self.values.clone(), files: self.files.clone() }
    }

    /// Reads a tenant directory of any kind with these values.
    pub fn read(&self, dir: &Path) -> std::io::Result<TenantDir> {
        #[cfg(feature = "iac")]
        return TenantDir::read_with(dir, &self.variables());
        #[cfg(not(feature = "iac"))]
        TenantDir::read(dir)
    }
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
        let tenant = self
            .variables
            .read(&self.tenant)
            .map_err(|e| fail(format!("cannot read the tenant `{}`: {e}", self.tenant.display())))?;
        let shown = self.tenant.display().to_string();
        compile(&tenant, &catalog, &format!("the tenant `{shown}`"), &format!("`warden lint {shown}` lists them"))
    }
}

/// Reads a tenant directory of any kind (variables at their defaults); exit 2 when it cannot
/// be read.
pub fn read(dir: &Path) -> Result<TenantDir, Exit> {
    TenantDir::read(dir).map_err(|e| fail(format!("cannot read the tenant `{}`: {e}", dir.display())))
}

/// Loads and compiles a tenant; prints its problems and returns exit 3 when it has errors,
/// saying what has them ("the tenant `x`") and where to see them again (`hint`).
pub fn compile(tenant: &TenantDir, catalog: &Catalog, what: &str, hint: &str) -> Result<Engine, Exit> {
    let loaded = tenant.load(catalog);
    match loaded.tenant {
        Some(tenant) => Ok(Engine::new(tenant, catalog)),
        None => {
            report(&loaded);
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

/// Tenants: `export` writes a Terraform module's or monaco project's tenant as warden.toml
#[derive(clap::Subcommand)]
pub enum TenantCommand {
    /// Write the warden.toml tenant equivalent to a Terraform module or a monaco project
    #[command(after_help = "Example:
  warden tenant export infra/iam --out iam-tenant
  warden explain --tenant iam-tenant --user bob@acme.example storage:logs:read   same decisions as --tenant infra/iam

The export is refused, as loading is (exit 3), while a reference cannot be resolved.")]
    Export {
        /// The Terraform module or monaco project
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The directory to write (created; it must not hold a warden.toml yet)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        variables: VariableArgs,
        #[command(flatten)]
        catalog: CatalogArg,
    },
}

pub fn run(command: TenantCommand) -> Exit {
    let TenantCommand::Export { dir, out, variables, catalog } = command;
    export(&dir, &out, &variables, &catalog)
}

#[cfg(not(feature = "iac"))]
fn export(_: &Path, _: &Path, _: &VariableArgs, _: &CatalogArg) -> Exit {
    fail("warden was built without the `iac` feature: it reads no Terraform module or monaco project")
}

#[cfg(feature = "iac")]
fn export(dir: &Path, out: &Path, variables: &VariableArgs, catalog: &CatalogArg) -> Exit {
    let catalog = match catalog.load() {
        Ok(catalog) => catalog,
        Err(message) => return fail(message),
    };
    let tenant = match variables.read(dir) {
        Ok(TenantDir::Host(tenant)) => tenant,
        Ok(_) => return fail(format!("`{}` is a warden.toml tenant already", dir.display())),
        Err(e) => return fail(format!("cannot read the tenant `{}`: {e}", dir.display())),
    };
    let loaded = tenant.load(&catalog);
    if loaded.tenant.is_none() {
        report(&loaded);
        eprintln!("error: the tenant `{}` has errors; `warden lint {}` lists them", dir.display(), dir.display());
        return Exit::TenantErrors;
    }
    if out.join("warden.toml").exists() {
        return fail(format!("`{}` holds a warden.toml already; export into a new directory", out.display()));
    }
    for (path, text) in tenant.export() {
        let path = out.join(path);
        let written = std::fs::create_dir_all(path.parent().unwrap_or(out)).and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            return fail(format!("cannot write `{}`: {e}", path.display()));
        }
    }
    eprintln!("wrote the tenant of `{}` to `{}`", dir.display(), out.display());
    Exit::Ok
}

/// Prints every finding of a refused tenant.
fn report(loaded: &warden::iam::Loaded) {
    let color = color_for(&std::io::stderr());
    for findings in &loaded.findings {
        let report = FileReport { file: &findings.file, diagnostics: &findings.diagnostics };
        eprint!("{}", human::render(&report, color));
    }
}
