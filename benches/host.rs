//! `warden lint` on a Terraform module: 200 `dynatrace_iam_policy` resources of 100 statements
//! each (20,000 statements, about 1.6 MB of HCL in one directory), as `warden lint DIR` does
//! it: read the module, evaluate it, undo the heredoc escapes, lint every policy and move
//! every finding back to its line in the `.tf` file. Goal: at most 100 ms.
//!
//! - `host/terraform-module`: the whole run on a clean module, written to a temp directory.
//! - `host/terraform-module-with-findings`: the same with one misspelt permission per policy
//!   (200 findings to map back, each with its did-you-mean).
//! - `host/terraform-read`: reading and evaluating the module only (no policy checks).
//! - `host/terraform-check`: the policy checks of the 200 texts only (what `warden lint`
//!   spends on `.policy` files of the same statements).
//!
//! The module is generated (no workload files needed): policies in heredocs with
//! `$${bindParam:…}` escapes and indentation, every twentieth in a quoted string.
//!
//! Run with `cargo bench --bench host`.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use warden::catalog::Catalog;
use warden::check::lint;
use warden::diagnostic::SourceFile;
use warden::host::{self, Format, Sources, TextKind};
use warden::syntax::Kind;

#[path = "../tests/support/temp.rs"]
mod temp;

const POLICIES: usize = 200;
const STATEMENTS: usize = 100;

/// Statements shaped like those of real policies: a permission or two, a condition on most,
/// a bind parameter on some, one in three laid out over two lines.
fn statement(policy: usize, i: usize, misspelt: bool) -> String {
    let permission = if misspelt && i == 50 {
        "storage:logs:reed"
    } else {
        ["storage:logs:read", "storage:spans:read, storage:events:read", "settings:objects:read"][i % 3]
    };
    match i % 3 {
        0 => format!("ALLOW {permission} WHERE storage:k8s.namespace.name = \"team-$${{bindParam:team}}-{i}\";"),
        1 => format!(
            "ALLOW {permission}\n      WHERE storage:k8s.cluster.name IN (\"prod-eu-{policy}\", \"prod-us-{i}\");"
        ),
        _ => format!("ALLOW {permission} WHERE settings:schemaId = \"builtin:app-{i}\";"),
    }
}

/// The module's text: one file, 200 resources.
fn module(misspelt: bool) -> String {
    let mut text = String::from("variable \"account_id\" {\n  default = \"acme\"\n}\n\n");
    for p in 0..POLICIES {
        let statements: Vec<String> = (0..STATEMENTS).map(|i| statement(p, i, misspelt)).collect();
        if p % 20 == 0 {
            let one_line = statements.join(" ").replace('\n', " ").replace('"', "\\\"");
            text.push_str(&format!(
                "resource \"dynatrace_iam_policy\" \"p{p}\" {{\n  name            = \"Policy {p}\"\n  account         = var.account_id\n  statement_query = \"{one_line}\"\n}}\n\n"
            ));
        } else {
            text.push_str(&format!(
                "resource \"dynatrace_iam_policy\" \"p{p}\" {{\n  name            = \"Policy {p}\"\n  account         = var.account_id\n  statement_query = <<-EOT\n    {}\n  EOT\n}}\n\n",
                statements.join("\n    ")
            ));
        }
    }
    text
}

fn write_module(misspelt: bool) -> temp::TempDir {
    temp::TempDir::with_files(&[("main.tf", &module(misspelt))])
}

/// Sources that may read `dir`, as `warden lint DIR` may read the directory it is given (the
/// module is in a temp dir, outside the working directory).
fn sources_for(dir: &Path) -> Sources {
    let mut sources = Sources::new();
    sources.read_within(dir);
    sources
}

/// What `warden lint DIR` does for each file of the module: read, find the texts, lint them,
/// move the findings to the host. Returns the number of findings.
fn lint_module(dir: &Path, catalog: &Catalog) -> usize {
    let mut sources = sources_for(dir);
    let mut findings = 0;
    for path in host::walk(dir).files {
        let Some(format) = Format::from_path(&path) else { continue };
        let id = sources.load(&path).unwrap();
        let extract = host::read(&mut sources, id, format);
        findings += extract.findings.len();
        for found in &extract.found {
            let kind = if found.kind == TextKind::Policy { Kind::Policy } else { Kind::Boundary };
            let linted = lint(&SourceFile::new("main.tf", found.text.text()), kind, catalog);
            findings += linted.diagnostics.iter().filter_map(|d| found.to_host(d, &sources)).count();
        }
    }
    findings
}

fn bench(c: &mut Criterion) {
    let dir = write_module(false);
    let misspelt = write_module(true);
    let bytes = std::fs::metadata(dir.join("main.tf")).unwrap().len();
    let catalog = Catalog::builtin();
    assert_eq!(lint_module(&dir, catalog), 0, "the clean module has no finding");
    assert_eq!(lint_module(&misspelt, catalog), POLICIES, "one unknown permission per policy, nothing else");
    let mut group = c.benchmark_group("host");
    group.throughput(Throughput::Bytes(bytes));
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(20);
    group.bench_function("terraform-module", |b| b.iter(|| black_box(lint_module(&dir, catalog))));
    group.bench_function("terraform-module-with-findings", |b| b.iter(|| black_box(lint_module(&misspelt, catalog))));
    group.bench_function("terraform-read", |b| {
        b.iter(|| {
            let mut sources = sources_for(&dir);
            let id = sources.load(&dir.join("main.tf")).unwrap();
            black_box(host::read(&mut sources, id, Format::Terraform).found.len())
        })
    });
    let texts: Vec<String> = {
        let mut sources = sources_for(&dir);
        let id = sources.load(&dir.join("main.tf")).unwrap();
        host::read(&mut sources, id, Format::Terraform).found.iter().map(|f| f.text.text().to_string()).collect()
    };
    group.bench_function("terraform-check", |b| {
        b.iter(|| {
            let findings: usize = texts
                .iter()
                .map(|t| lint(&SourceFile::new("main.tf", t.as_str()), Kind::Policy, catalog).diagnostics.len())
                .sum();
            black_box(findings)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
