//! `warden lint`: find every policy and boundary text (in policy files and in the files that
//! host them: Terraform, monaco, Crossplane, dtiam, IAM JSON), check them, and report every
//! finding at its place in the host file; optionally fix them there.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use warden::catalog::Catalog;
use warden::check;
use warden::diagnostic::{self, Diagnostic, FileReport, Rule, Severity, SourceFile};
use warden::host::{self, FileId, Found, Sources, TextKind};
use warden::iam::{TenantDir, load};
use warden::syntax::Kind;
use warden::token::Deployment;

use super::files::{self, FromArg, Inputs};
use super::tenant::VariableArgs;
use super::{CatalogArg, Exit, color_for, fail};

const EXAMPLES: &str = "Examples:
  warden lint policies/                 every policy file and policy host below policies/
  warden lint infra/main.tf             the policies and boundaries of a Terraform file
  warden lint policies/example          a tenant directory (warden.toml): also checks its bindings
                                        and its [deployment] table
  warden lint --fix team.policy         apply the mechanical fixes, then report what is left
  cat x.boundary | warden lint --from boundary -
  warden lint --format sarif . > warden.sarif   for GitHub code scanning

Reads *.policy and *.pol, *.boundary and *.bnd, Terraform (*.tf, *.tf.json), monaco,
Crossplane and dtiam YAML (*.yaml, *.yml) and IAM API JSON (*.json); findings point at the
line in the file the policy is kept in. Suppress a finding with `// warden:ignore CODE` on the
line before it.";

/// Check policies and boundaries against the permission catalog and report every problem
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Files, directories (searched for policy files and policy hosts) or `-` for standard input
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Read standard input and the files named here as this [default: by file name and content;
    /// standard input: policy]
    #[arg(long, alias = "kind", value_enum, value_name = "FORMAT")]
    from: Option<FromArg>,
    /// How to print the findings
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Exit with 1 on warnings too, not only on errors
    #[arg(long)]
    deny_warnings: bool,
    /// Apply every machine-applicable fix in place (escaped for the host file), then report what is left
    #[arg(long)]
    fix: bool,
    /// Also list the files passed over (no policy text, not a policy host, not a regular file)
    #[arg(short, long)]
    verbose: bool,
    #[command(flatten)]
    variables: VariableArgs,
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

/// Every rule `warden lint` can report, for SARIF's rule list.
fn all_rules() -> Vec<&'static Rule> {
    let mut rules: Vec<&'static Rule> = check::all_rules().to_vec();
    rules.extend(warden::iam::rules::ALL.iter().copied());
    rules.extend(host::rules::ALL.iter().copied());
    rules
}

pub fn run(args: Args) -> Exit {
    let catalog = match args.catalog.load() {
        Ok(catalog) => catalog,
        Err(message) => return fail(message),
    };
    let collected = match files::collect(&args.paths, args.from) {
        Ok(collected) => collected,
        Err(message) => return fail(message),
    };
    if let Some(input) = collected.inputs.iter().find(|i| !host::supported(i.format)) {
        return fail(format!("warden was built without the `iac` feature, so it cannot read `{}`", input.name));
    }
    if args.fix && collected.inputs.iter().any(|input| input.path.is_none()) {
        return fail("`--fix` rewrites files in place; it cannot fix standard input");
    }
    if args.fix {
        if let Err(message) = fix(&collected, &catalog, &args.variables) {
            return fail(message);
        }
    }
    let linted = match lint(&collected, &catalog, &args.variables) {
        Ok(linted) => linted,
        Err(message) => return fail(message),
    };
    if args.verbose {
        for (path, why) in &collected.skipped {
            eprintln!("skipped {}: {why}", path.display());
        }
        for name in &linted.not_hosts {
            eprintln!("skipped {name}: no policy or boundary text");
        }
    }
    let mut results: Vec<(SourceFile, Vec<Diagnostic>)> =
        linted.results.into_iter().map(|(id, diagnostics)| (linted.sources.file(id).clone(), diagnostics)).collect();
    for dir in args.paths.iter().filter(|p| p.is_dir()) {
        match tenant_findings(dir, &catalog, &args.variables, &results) {
            Ok(findings) => merge(&mut results, findings),
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
        Format::Json => {
            // Streamed: the JSON is about 15 times the size of the text it is about.
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            let written =
                diagnostic::json::write(&reports, &mut out).and_then(|()| writeln!(out)).and_then(|()| out.flush());
            if let Err(error) = written {
                return fail(format!("cannot write the findings: {error}"));
            }
        }
        Format::Sarif => println!("{}", diagnostic::sarif::render(&reports, &all_rules())),
    }
    let all = || reports.iter().flat_map(|r| r.diagnostics.iter());
    let failing = all().any(|d| d.is_error() || args.deny_warnings && d.severity() > Severity::Suggestion);
    // The process ends next: the operating system takes a large input's findings back whole,
    // where freeing them one by one costs milliseconds (16,000 findings of 10,000 statements).
    drop(reports);
    std::mem::forget((results, linted.sources, collected));
    if failing { Exit::No } else { Exit::Ok }
}

/// The findings of every input, on the files they are in.
struct Linted {
    sources: Sources,
    /// Every file checked, in the order read, with its findings.
    results: Vec<(FileId, Vec<Diagnostic>)>,
    /// Inputs that hold no policy text.
    not_hosts: Vec<String>,
}

fn lint(collected: &Inputs, catalog: &Catalog, variables: &VariableArgs) -> Result<Linted, String> {
    let mut sources = Sources::new();
    for named in &collected.named {
        sources.read_within(named);
    }
    #[cfg(feature = "iac")]
    {
        let variables = variables.variables();
        for file in &variables.files {
            sources.read_within(file);
        }
        sources.variables = variables;
    }
    #[cfg(not(feature = "iac"))]
    let _ = variables;
    let mut found: Vec<Found> = Vec::new();
    // Every file checked, with its findings in the order they are reached.
    let mut by_file: BTreeMap<FileId, Vec<Diagnostic>> = BTreeMap::new();
    let mut not_hosts = Vec::new();
    for input in &collected.inputs {
        let id = match input.path.as_deref().and_then(|path| sources.id(path)) {
            Some(id) => id,
            None => sources.add(input.path.as_deref(), input.name.clone(), files::read(input)?),
        };
        let extract = host::read(&mut sources, id, input.format);
        if !extract.host {
            not_hosts.push(input.name.clone());
            continue;
        }
        by_file.entry(id).or_default();
        found.extend(extract.found);
        add(&mut by_file, extract.findings);
    }
    // A policy file that a resource reads with `file()` is checked as that resource's text only.
    let read_by_resources: Vec<FileId> = found.iter().filter(|f| f.via.is_some()).filter_map(Found::file).collect();
    found.retain(|f| {
        f.via.is_some() || f.resource.is_some() || !f.file().is_some_and(|id| read_by_resources.contains(&id))
    });
    for text in &found {
        let kind = match text.kind {
            TextKind::Policy => Kind::Policy,
            TextKind::Boundary => Kind::Boundary,
        };
        let name = text.file().map_or_else(String::new, |id| sources.file(id).name.clone());
        let linted = check::lint(&SourceFile::new(name, text.text.text()), kind, catalog);
        for id in text.text.files() {
            by_file.entry(id).or_default();
        }
        // Most land in the text's own file: room for them at once, not by doubling.
        if let Some(list) = text.file().and_then(|id| by_file.get_mut(&id)) {
            list.reserve(linted.diagnostics.len());
        }
        add(&mut by_file, linted.diagnostics.iter().filter_map(|d| text.to_host(d, &sources)));
        add(&mut by_file, text.not_checked(NOT_CHECKED_HELP, &sources));
    }
    for list in by_file.values_mut() {
        sort_unique(list);
    }
    Ok(Linted { sources, results: by_file.into_iter().collect(), not_hosts })
}

/// Files findings under the files they are on.
fn add(by_file: &mut BTreeMap<FileId, Vec<Diagnostic>>, findings: impl IntoIterator<Item = (FileId, Diagnostic)>) {
    for (id, diagnostic) in findings {
        by_file.entry(id).or_default().push(diagnostic);
    }
}

/// Sorts one file's findings by place and code, and keeps each finding once (the same finding
/// reached twice: a policy file read by two resources, a `for_each`): the first one reached,
/// with the notes of the others. Sorting brings a finding's copies together in the order they
/// were reached, so this is linear after the sort where comparing each finding with
/// every earlier one was quadratic (seconds for a file with tens of thousands of findings).
fn sort_unique(list: &mut Vec<Diagnostic>) {
    diagnostic::sort_by_place(list);
    let place = |d: &Diagnostic| (d.span.start, d.span.end, d.code());
    // The first `kept` are kept; of those, the findings at the place of the last start at
    // `same_place`.
    let (mut kept, mut same_place) = (0, 0);
    for next in 0..list.len() {
        if kept > 0 && place(&list[kept - 1]) != place(&list[next]) {
            same_place = kept;
        }
        match (same_place..kept).find(|&earlier| list[earlier].message == list[next].message) {
            Some(earlier) => {
                for note in std::mem::take(&mut list[next].notes) {
                    if !list[earlier].notes.contains(&note) {
                        list[earlier].notes.push(note);
                    }
                }
            }
            None => {
                list.swap(kept, next);
                kept += 1;
            }
        }
    }
    list.truncate(kept);
}

const NOT_CHECKED_HELP: &str = "lint the module directory, or give the value with `--var`, so warden can resolve it";

/// The same finding reached twice (a policy file read by two resources, a `for_each`).
fn same_finding(a: &Diagnostic, b: &Diagnostic) -> bool {
    a.code() == b.code() && a.span == b.span && a.message == b.message
}

/// Applies fixes round by round (one fix can make the next one possible) and writes each
/// file that changed, host files escaped for their string forms.
fn fix(collected: &Inputs, catalog: &Catalog, variables: &VariableArgs) -> Result<(), String> {
    const ROUNDS: usize = 10;
    let mut applied: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for _ in 0..ROUNDS {
        let linted = lint(collected, catalog, variables)?;
        let mut changed = false;
        for (id, diagnostics) in &linted.results {
            let Some(path) = linted.sources.path(*id) else { continue };
            let text = &linted.sources.file(*id).text;
            let (fixed, count) = diagnostic::apply_fixes(text, diagnostics);
            if count == 0 || fixed == *text {
                continue;
            }
            std::fs::write(path, &fixed).map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
            *applied.entry(path.to_path_buf()).or_default() += count;
            changed = true;
        }
        if !changed {
            break;
        }
    }
    for (path, count) in applied {
        eprintln!("fixed {count} problem{} in {}", if count == 1 { "" } else { "s" }, path.display());
    }
    Ok(())
}

/// The tenant checks of a tenant directory (decisions D9): bindings, parameters, references,
/// and the `[deployment]` table the token commands read. Its policy and boundary texts are
/// linted as files already; only the other findings are new. A Terraform module or monaco project adds, as warnings (W0711), what loading it as a
/// tenant would refuse.
fn tenant_findings(
    dir: &std::path::Path,
    catalog: &Catalog,
    variables: &VariableArgs,
    linted: &[(SourceFile, Vec<Diagnostic>)],
) -> Result<Vec<(SourceFile, Vec<Diagnostic>)>, String> {
    let is_host = || {
        #[cfg(feature = "iac")]
        return host::tenant_host(dir).is_some();
        #[cfg(not(feature = "iac"))]
        false
    };
    if !files::is_tenant(dir) && !is_host() {
        return Ok(Vec::new());
    }
    let tenant = variables.read(dir).map_err(|e| format!("cannot read the tenant `{}`: {e}", dir.display()))?;
    let findings = match &tenant {
        TenantDir::Warden(files) => load(files, catalog)
            .findings
            .into_iter()
            .filter(|f| !linted.iter().any(|(file, _)| file.name == f.file.name))
            .collect(),
        #[cfg(feature = "iac")]
        TenantDir::Host(host) => host.lint_findings(catalog),
        #[allow(unreachable_patterns)]
        _ => Vec::new(),
    };
    let mut findings: Vec<_> = findings.into_iter().map(|f| (f.file, f.diagnostics)).collect();
    if let TenantDir::Warden(files) = &tenant {
        if let Err(diagnostic) = Deployment::read(&files.config) {
            findings.push((files.config.clone(), vec![*diagnostic]));
        }
    }
    Ok(findings)
}

/// Adds findings to the files already reported, or as files of their own.
fn merge(results: &mut Vec<(SourceFile, Vec<Diagnostic>)>, findings: Vec<(SourceFile, Vec<Diagnostic>)>) {
    for (file, diagnostics) in findings {
        match results.iter_mut().find(|(known, _)| known.name == file.name) {
            Some((_, known)) => {
                for diagnostic in diagnostics {
                    if !known.iter().any(|d| same_finding(d, &diagnostic)) {
                        known.push(diagnostic);
                    }
                }
                diagnostic::sort_by_place(known);
            }
            None => results.push((file, diagnostics)),
        }
    }
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
