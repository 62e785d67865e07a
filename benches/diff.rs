//! `eval::diff` on the 10,000-statement reference tenant (`tenant-10000` of the shared workload):
//! the tenant against a copy of itself with 1 statement changed (`diff/1`, goal ≤ 1 s) and with
//! 100 statements changed (`diff/100`, goal ≤ 3 s), the engines already built. `diff_load/N`
//! also loads and compiles both tenants from texts in memory, as `warden diff OLD NEW` does
//! after reading the files.
//!
//! A changed statement is the first statement of its policy with its effect turned around
//! (ALLOW to DENY, DENY to ALLOW). The changes are spread over the policies, so they reach many
//! principals and permissions.
//!
//! The workload folder is `$BENCH_WORKLOAD`, or `../shared/bench/workload` beside the crate;
//! when `tenant-10000` is missing there, the benchmark says so and measures nothing (a copy of
//! the smaller tenants is in `tests/data/workload`: `BENCH_WORKLOAD=tests/data/workload` runs
//! nothing either, as that copy stops at 1,000 statements).
//!
//! Run: `cargo bench --bench diff`; one group: `cargo bench --bench diff -- diff/1`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use warden::eval::diff::diff;
use warden::iam::TenantFiles;

mod support;

use support::{compile, workload_dir};

/// One statement (a line) turned around: an ALLOW becomes a DENY and a DENY an ALLOW. (Most
/// permissions of a workload user are granted unconditionally several times over, so a changed
/// value alone rarely changes anyone's access; a new DENY always does.)
fn rewrite(line: &str) -> String {
    match line.strip_prefix("ALLOW") {
        Some(rest) => format!("DENY{rest}"),
        None => line.replacen("DENY", "ALLOW", 1),
    }
}

/// The tenant with `count` statements changed, each in a different policy, spread evenly.
fn changed(files: &TenantFiles, count: usize) -> TenantFiles {
    let mut changed = files.clone();
    let step = changed.policies.len() / count;
    for i in 0..count {
        let policy = &mut changed.policies[i * step];
        let mut lines: Vec<String> = policy.text.lines().map(str::to_string).collect();
        let statement =
            lines.iter().position(|l| l.starts_with("ALLOW") || l.starts_with("DENY")).expect("a statement");
        lines[statement] = rewrite(&lines[statement]);
        *policy = warden::diagnostic::SourceFile::new(policy.name.clone(), lines.join("\n") + "\n");
    }
    changed
}

fn bench(c: &mut Criterion) {
    let dir = workload_dir().join("tenant-10000");
    if !dir.join("warden.toml").is_file() {
        eprintln!(
            "warden bench: the reference tenant is missing at {} (set BENCH_WORKLOAD to the shared workload folder): diff/1 and diff/100 are skipped",
            dir.display()
        );
        return;
    }
    let files = TenantFiles::read(&dir).expect("the tenant reads");
    let old = compile(&files);
    for count in [1, 100] {
        let new_files = changed(&files, count);
        let new = compile(&new_files);
        // Never time a wrong or empty answer.
        let report = diff(&old, &new).expect("the diff decides");
        assert!(!report.is_unchanged(), "{count} changed statements change access");
        eprintln!("diff/{count}: {} changes; {}", report.changes.len(), report.summary());

        let mut group = c.benchmark_group("diff");
        group.sample_size(10);
        group.bench_function(BenchmarkId::from_parameter(count), |b| {
            b.iter(|| black_box(diff(black_box(&old), black_box(&new)).expect("the diff decides")))
        });
        group.finish();

        let mut group = c.benchmark_group("diff_load");
        group.sample_size(10);
        group.bench_function(BenchmarkId::from_parameter(count), |b| {
            b.iter(|| {
                let (old, new) = (compile(black_box(&files)), compile(black_box(&new_files)));
                black_box(diff(&old, &new).expect("the diff decides"))
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
