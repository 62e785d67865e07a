//! `warden fmt`: rewrite files in the canonical layout, or check that they are.

use std::path::PathBuf;

use similar::TextDiff;
use warden::syntax;

use super::files;
use super::{Exit, KindArg, fail};

const EXAMPLES: &str = "Examples:
  warden fmt policies/               rewrite every *.policy and *.boundary below policies/
  warden fmt --check .               in CI: print a diff and exit 1 when a file would change
  warden fmt - < team.policy         print the formatted text

A file with syntax errors is left untouched (run `warden lint` on it).";

/// Write policies and boundaries in one canonical layout
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Files, directories (searched for *.policy and *.boundary) or `-` for standard input
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Change nothing: print a diff of what would change and exit 1 if anything would
    #[arg(long)]
    check: bool,
    /// What standard input (and a file with another extension) holds
    #[arg(long, value_enum, default_value = "policy")]
    kind: KindArg,
}

pub fn run(args: Args) -> Exit {
    let inputs = match files::collect(&args.paths, args.kind) {
        Ok(inputs) => inputs,
        Err(message) => return fail(message),
    };
    let mut exit = Exit::Ok;
    for input in &inputs {
        let text = match files::read(input) {
            Ok(text) => text,
            Err(message) => return fail(message),
        };
        let Some(formatted) = syntax::format(&text, input.kind) else {
            eprintln!("{}: has syntax errors, left as it is (`warden lint {}` shows them)", input.name, input.name);
            exit = Exit::No;
            continue;
        };
        match (&input.path, args.check) {
            (None, false) => print!("{formatted}"),
            (_, true) => {
                if formatted != text {
                    let diff = TextDiff::from_lines(&text, &formatted);
                    print!("{}", diff.unified_diff().header(&input.name, &format!("{} (formatted)", input.name)));
                    exit = Exit::No;
                }
            }
            (Some(path), false) => {
                if formatted != text {
                    if let Err(e) = std::fs::write(path, &formatted) {
                        return fail(format!("cannot write `{}`: {e}", path.display()));
                    }
                    eprintln!("formatted {}", input.name);
                }
            }
        }
    }
    exit
}
