//! `warden lint`: parse and check files, report every finding, optionally fix them.

use std::path::PathBuf;

use warden::catalog::Catalog;
use warden::check;
use warden::diagnostic::{self, Diagnostic, FileReport, Severity, SourceFile};
use warden::iam::{TenantFiles, load};

use super::files::{self, Input};
use super::{CatalogArg, Exit, KindArg, color_for, fail};

const EXAMPLES: &str = "Examples:
  warden lint policies/                 every *.policy and *.boundary below policies/
  warden lint policies/example          a tenant directory (warden.toml): also checks its bindings
  warden lint --fix team.policy         apply the mechanical fixes, then report what is left
  cat x.boundary | warden lint --kind boundary -
  warden lint --format sarif . > warden.sarif   for GitHub code scanning

Suppress a finding with `// warden:ignore CODE` on the line before it.";

/// Check policies and boundaries against the permission catalog and report every problem
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Files, directories (searched for *.policy and *.boundary) or `-` for standard input
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// What standard input (and a file with another extension) holds
    #[arg(long, value_enum, default_value = "policy")]
    kind: KindArg,
    /// How to print the findings
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Exit with 1 on warnings too, not only on errors
    #[arg(long)]
    deny_warnings: bool,
    /// Apply every machine-applicable fix in place, then report what is left
    #[arg(long)]
    fix: bool,
    #[command(flatten)]
    catalog: CatalogArg,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// ariadne reports with the source line and carets
    Human,
    /// one JSON array of findings: code, severity, message, file, start, end, line, column, …
    Json,
    /// SARIF 2.1.0, for code scanning
    Sarif,
}

pub fn run(args: Args) -> Exit {
    let catalog = match args.catalog.load() {
        Ok(catalog) => catalog,
        Err(message) => return fail(message),
    };
    let inputs = match files::collect(&args.paths, args.kind) {
        Ok(inputs) => inputs,
        Err(message) => return fail(message),
    };
    if args.fix && inputs.iter().any(|input| input.path.is_none()) {
        return fail("`--fix` rewrites files in place; it cannot fix standard input");
    }
    let mut results: Vec<(SourceFile, Vec<Diagnostic>)> = Vec::with_capacity(inputs.len());
    for input in &inputs {
        let text = match files::read(input) {
            Ok(text) => text,
            Err(message) => return fail(message),
        };
        let text = if args.fix {
            match fix(input, text, &catalog) {
                Ok(text) => text,
                Err(message) => return fail(message),
            }
        } else {
            text
        };
        let file = SourceFile::new(input.name.clone(), text);
        let linted = check::lint(&file, input.kind, &catalog);
        results.push((file, linted.diagnostics));
    }
    for dir in args.paths.iter().filter(|p| files::is_tenant(p)) {
        match tenant_findings(dir, &catalog, &results) {
            Ok(findings) => results.extend(findings),
            Err(message) => return fail(message),
        }
    }
    let reports: Vec<FileReport<'_>> =
        results.iter().map(|(file, diagnostics)| FileReport { file, diagnostics }).collect();
    match args.format {
        Format::Human => {
            let color = color_for(&std::io::stdout());
            for report in &reports {
                print!("{}", diagnostic::human::render(report, color));
            }
            println!("{}", summary(&reports));
        }
        Format::Json => println!("{}", diagnostic::json::render(&reports)),
        Format::Sarif => println!("{}", diagnostic::sarif::render(&reports, check::all_rules())),
    }
    let all = || reports.iter().flat_map(|r| r.diagnostics.iter());
    let failing = all().any(|d| d.is_error() || args.deny_warnings && d.severity() != Severity::Suggestion);
    if failing { Exit::No } else { Exit::Ok }
}

/// Applies fixes round by round (one fix can make the next one possible) and writes the file.
fn fix(input: &Input, original: String, catalog: &Catalog) -> Result<String, String> {
    const ROUNDS: usize = 10;
    let mut text = original.clone();
    let mut applied = 0;
    for _ in 0..ROUNDS {
        let file = SourceFile::new(input.name.clone(), text.clone());
        let linted = check::lint(&file, input.kind, catalog);
        let (fixed, count) = diagnostic::apply_fixes(&text, &linted.diagnostics);
        if count == 0 || fixed == text {
            break;
        }
        applied += count;
        text = fixed;
    }
    if text != original {
        let path = input.path.as_ref().expect("--fix only runs on files");
        std::fs::write(path, &text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        eprintln!("fixed {applied} problem{} in {}", if applied == 1 { "" } else { "s" }, input.name);
    }
    Ok(text)
}

/// The tenant checks of a tenant directory (decisions D9): bindings, parameters, references.
/// Its policy and boundary files are linted as files already; only the other findings are new.
fn tenant_findings(
    dir: &std::path::Path,
    catalog: &Catalog,
    linted: &[(SourceFile, Vec<Diagnostic>)],
) -> Result<Vec<(SourceFile, Vec<Diagnostic>)>, String> {
    let files = TenantFiles::read(dir).map_err(|e| format!("cannot read the tenant `{}`: {e}", dir.display()))?;
    let loaded = load(&files, catalog);
    Ok(loaded
        .findings
        .into_iter()
        .filter(|f| !linted.iter().any(|(file, _)| file.name == f.file.name))
        .map(|f| (f.file, f.diagnostics))
        .collect())
}

fn summary(reports: &[FileReport<'_>]) -> String {
    let count = |severity: Severity| {
        reports.iter().flat_map(|r| r.diagnostics.iter()).filter(|d| d.severity() == severity).count()
    };
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let files = plural(reports.len(), "file");
    let counts = [
        (count(Severity::Error), "error"),
        (count(Severity::SecurityWarning), "security warning"),
        (count(Severity::Warning), "warning"),
        (count(Severity::Suggestion), "suggestion"),
    ];
    let found: Vec<String> = counts.iter().filter(|(n, _)| *n > 0).map(|(n, word)| plural(*n, word)).collect();
    if found.is_empty() {
        format!("checked {files}: no problems")
    } else {
        format!("checked {files}: {}", found.join(", "))
    }
}
