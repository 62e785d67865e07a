//! clap commands, one file per subcommand; rendering and exit codes live here, not in the library.

mod account;
mod audit;
mod catalog;
mod db;
mod diff;
mod effective;
mod exit;
mod explain;
mod files;
mod fmt;
mod lint;
mod serve;
mod service;
mod tenant;
mod test;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use warden::diagnostic::{did_you_mean, nearest_expected_field};

pub use exit::Exit;

const ABOUT: &str = "warden checks IAM policy statements (`ALLOW storage:logs:read WHERE …;`) against the \
permission catalog, lints and formats them, and decides and explains access requests.";

const EXIT_CODES: &str = "Exit codes: 0 ok, allowed · 1 the answer is no (errors found, a file would change, \
denied, refused, tokens found) · 2 could not run (bad flags, unreadable input, unknown principal, permission or \
token id) · 3 the tenant has errors · 4 `token check`: the token is invalid (401)";

#[derive(Parser)]
#[command(name = "warden", version, about = ABOUT, after_help = EXIT_CODES, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Lint(lint::Args),
    Fmt(fmt::Args),
    Explain(explain::Args),
    Effective(effective::EffectiveArgs),
    WhoCan(effective::WhoCanArgs),
    Diff(diff::Args),
    Test(test::Args),
    /// Platform tokens: create, list, show, disable, enable, delete, duplicate, rotate, expire,
    /// check, scan
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Account settings: the platform-tokens switch
    #[command(subcommand)]
    Account(account::AccountCommand),
    Audit(audit::Args),
    Serve(serve::Args),
    /// The token database: migrate its schema, copy it into another
    #[command(subcommand)]
    Db(db::DbCommand),
    Catalog(catalog::Args),
    /// Tenants kept as Terraform modules or monaco projects: export them as warden.toml
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
}

/// How the evaluating commands print.
#[derive(Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// for a person
    Human,
    /// one JSON document
    Json,
}

/// The catalog flag shared by the commands that check names.
#[derive(clap::Args)]
pub struct CatalogArg {
    /// A catalog file in the format of policies/catalog.toml whose services and permissions are
    /// added to the built-in catalog
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
}

impl CatalogArg {
    fn load(&self) -> Result<std::borrow::Cow<'static, warden::catalog::Catalog>, String> {
        use warden::catalog::Catalog;
        match &self.catalog {
            None => Ok(std::borrow::Cow::Borrowed(Catalog::builtin())),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the catalog `{}`: {e}", path.display()))?;
                Catalog::with_extension(&text).map(std::borrow::Cow::Owned).map_err(|e| {
                    // TOML's message ends its snippet; the key meant goes on a line of its own.
                    let hint = match &e {
                        warden::catalog::CatalogError::Toml(toml) => nearest_expected_field(toml.message())
                            .map(|field| format!("{}\n", did_you_mean(field)))
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    format!("cannot load the catalog `{}`: {e}{hint}", path.display())
                })
            }
        }
    }
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let exit = match cli.command {
        Command::Lint(args) => lint::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Effective(args) => effective::effective(args),
        Command::WhoCan(args) => effective::who_can(args),
        Command::Diff(args) => diff::run(args),
        Command::Test(args) => test::run(args),
        Command::Token(command) => token::run(command),
        Command::Account(command) => account::run(command),
        Command::Audit(args) => audit::run(args),
        Command::Serve(args) => serve::run_server(args),
        Command::Db(command) => db::run(command),
        Command::Catalog(args) => catalog::run(args),
        Command::Tenant(command) => tenant::run(command),
    };
    exit.into()
}

/// Prints a could-not-run error the way every subcommand does.
pub fn fail(message: impl std::fmt::Display) -> Exit {
    eprintln!("error: {message}");
    Exit::CouldNotRun
}

/// Whether to colour output for a person: a terminal, and no `NO_COLOR`.
pub fn color_for(stream: &impl std::io::IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
