//! `warden diff`: who gains or loses what between two versions of a tenant, or of one policy.

mod git;
mod policy;
mod render;

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use warden::catalog::Catalog;
use warden::diagnostic::SourceFile;
use warden::eval::Engine;
use warden::eval::diff::diff;
use warden::iam::TenantDir;

use super::tenant::{compile, read};
use super::{CatalogArg, Exit, fail};

const EXAMPLES: &str = "Examples:
  warden diff before/ policies/example                  two tenant directories
  warden diff --git origin/main policies/example        the tenant now, against the branch
  warden diff --git HEAD~1 policies/example/policies/team-logs.policy
  warden diff old.policy new.policy                     one policy, as bound with no boundary
  warden diff --git origin/main policies/example --format markdown --fail-on gained

Every principal (users, service users) is compared at account level and in every environment,
on every permission: a change is `gained` or `lost` (access in one version only), `widened` or
`narrowed` (access in both, for more or fewer requests; Conditional to Allow widens), each with
a request whose decision differs, judged by the evaluator in both versions, and the statements
that decided it. No change reported means none exists: the comparison is exact.

Exit codes: 0 access is unchanged · 1 access changed (with --fail-on gained: some request is
decided higher than before) · 2 could not run · 3 a tenant or policy has errors";

/// Compare two versions of a tenant (or of one policy): who gains or loses access to what,
/// each change with a request that proves it
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The old tenant directory or policy file; with --git, the one path to compare with itself
    /// as it was at the revision
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The new tenant directory or policy file
    #[arg(value_name = "NEW")]
    new: Option<PathBuf>,
    /// Compare OLD as it is now with OLD at this git revision (commit, branch, tag), read
    /// through `git` without a checkout
    #[arg(long, value_name = "REV")]
    git: Option<String>,
    /// What makes the exit code 1: any change, or only new access (gained or widened)
    #[arg(long, value_enum, default_value = "any", value_name = "WHAT")]
    fail_on: FailOn,
    /// How to print the changes
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    catalog: CatalogArg,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum FailOn {
    /// any change of access
    Any,
    /// a request decided higher than before (gained or widened access)
    Gained,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// for a person
    Human,
    /// one JSON document
    Json,
    /// a pull-request comment, one collapsible section per principal
    Markdown,
}

pub fn run(args: Args) -> Exit {
    compare(args).unwrap_or_else(|exit| exit)
}

fn compare(args: Args) -> Result<Exit, Exit> {
    let catalog = args.catalog.load().map_err(fail)?;
    let (engines, names) = match (&args.git, &args.new) {
        (Some(revision), None) => from_git(revision, &args.old, &catalog)?,
        (None, Some(new)) => (from_paths([&args.old, new], &catalog)?, [shown(&args.old), shown(new)]),
        (Some(_), Some(_)) => {
            return Err(fail("with --git, give one path: the tenant directory or policy file to compare"));
        }
        (None, None) => return Err(fail("give two paths, OLD and NEW (or one path with --git REV)")),
    };
    // The binding of a lone policy is made up: not worth showing.
    let bindings = !is_policy(&args.old);
    let [old, new] = &engines;
    let report = diff(old, new).map_err(fail)?;
    match args.format {
        Format::Human => print!("{}", render::human(&report, bindings)),
        Format::Markdown => print!("{}", render::markdown(&report, &names[0], &names[1], bindings)),
        Format::Json => println!("{}", render::json(&report)),
    }
    let failed = match args.fail_on {
        FailOn::Any => !report.is_unchanged(),
        FailOn::Gained => report.changes.iter().any(|c| c.kind.is_gain()),
    };
    Ok(if failed { Exit::No } else { Exit::Ok })
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// A policy file, by its extension; anything else is a tenant directory.
fn is_policy(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "policy")
}

fn from_paths(paths: [&PathBuf; 2], catalog: &Catalog) -> Result<[Engine; 2], Exit> {
    for path in paths {
        if !path.exists() {
            return Err(fail(format!("`{}` does not exist", path.display())));
        }
    }
    match paths.map(|p| is_policy(p)) {
        [true, true] => {
            let old = read_policy(paths[0], shown(paths[0]))?;
            let new = read_policy(paths[1], shown(paths[1]))?;
            policy::engines([old, new], catalog)
        }
        [false, false] => Ok([tenant(paths[0], catalog)?, tenant(paths[1], catalog)?]),
        _ => Err(fail("compare two tenant directories or two `.policy` files, not one of each")),
    }
}

fn read_policy(path: &Path, name: String) -> Result<SourceFile, Exit> {
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read `{}`: {e}", path.display())))?;
    Ok(SourceFile::new(name, text))
}

fn tenant(dir: &Path, catalog: &Catalog) -> Result<Engine, Exit> {
    let files = read(dir)?;
    let shown = dir.display();
    compile(&files, catalog, &format!("the tenant `{shown}`"), &format!("`warden lint {shown}` lists them"))
}

/// The path at the revision against the path now; the old side's files are named
/// `REV:path` wherever the output shows them.
fn from_git(revision: &str, path: &Path, catalog: &Catalog) -> Result<([Engine; 2], [String; 2]), Exit> {
    if !path.exists() {
        return Err(fail(format!("`{}` does not exist", path.display())));
    }
    let snapshot = git::snapshot(revision, path).map_err(fail)?;
    let old_name = format!("{revision}:{}", path.display());
    let engines = if is_policy(path) {
        let old = read_policy(&snapshot.path, old_name.clone())?;
        let new = read_policy(path, shown(path))?;
        policy::engines([old, new], catalog)?
    } else {
        let mut old_tenant = read(&snapshot.path)?;
        if let TenantDir::Warden(files) = &mut old_tenant {
            for file in std::iter::once(&mut files.config).chain(&mut files.policies).chain(&mut files.boundaries) {
                file.name = snapshot.display_name(&file.name, revision, path);
            }
        }
        let old = compile(&old_tenant, catalog, &format!("the tenant `{old_name}`"), "they are listed above")?;
        [old, tenant(path, catalog)?]
    };
    Ok((engines, [old_name, shown(path)]))
}
