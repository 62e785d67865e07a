//! clap commands, one file per subcommand; rendering and exit codes live here, not in the library.

mod catalog;
mod effective;
mod exit;
mod explain;
mod files;
mod fmt;
mod lint;
mod tenant;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub use exit::Exit;

const ABOUT: &str = "warden checks IAM policy statements (`ALLOW storage:logs:read WHERE …;`) against the \
permission catalog, lints and formats them, and decides and explains access requests.";

const EXIT_CODES: &str = "Exit codes: 0 ok, allowed · 1 the answer is no (errors found, a file would change, \
denied) · 2 could not run (bad flags, unreadable input, unknown principal or permission) · 3 the tenant has errors";

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
    Catalog(catalog::Args),
}

/// How the evaluating commands print.
#[derive(Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// for a person
    Human,
    /// one JSON document
    Json,
}

/// What a text is, for standard input and for files whose name does not say.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum KindArg {
    /// Statements: `ALLOW …;` and `DENY …;`
    Policy,
    /// Conditions only, one per `;`
    Boundary,
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
                Catalog::with_extension(&text)
                    .map(std::borrow::Cow::Owned)
                    .map_err(|e| format!("cannot load the catalog `{}`: {e}", path.display()))
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
        Command::Catalog(args) => catalog::run(args),
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
