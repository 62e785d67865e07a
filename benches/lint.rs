//! Throughput and scaling of `warden::check::lint` (parse + every catalog check and lint).
//!
//! Groups, each with `Throughput::Bytes` so criterion prints MB/s:
//!
//! - `lint/10000`: the 10000-statement benchmark workload (`10000.policy`, ~678 KB) linted as ONE
//!   text. It exceeds the 100-statement limit, so it reports that error too; that is part of the
//!   workload. Target: ≥ 50 MB/s.
//! - `parse/10000`: the same text through the parser only (`warden::syntax::parse`), to see what
//!   share of `lint/10000` the checks take.
//! - `linear/1x`, `linear/10x`: lint of that text and of that text repeated 10 times. Linear
//!   scaling means the 10x time is at most ~11x the 1x time (MB/s about equal).
//! - `pathological/*`: synthetic inputs of about 1 MB each (they need no workload):
//!   `long-line` (statements separated by `;`, no newline), `long-string` (one statement with a
//!   1 MB string value), `in-list` (one `IN` with 100,000 values), `unterminated-lines`
//!   (100,000 lines that open a `"` and never close it), `quotes-one-line` (`"` repeated on one
//!   line), `open-parens` (`(((…`), `random` (fixed-seed LCG bytes: printable ASCII plus some
//!   multi-byte characters), `open-comments` (100,000 `/*` lines, none closed) and
//!   `closed-comments-one-line` (100,000 `/* … */` on one line).
//!
//! The workload folder is `$BENCH_WORKLOAD`, or `../shared/bench/workload` beside the crate. When
//! it is missing, the workload groups are skipped with a note on stderr and the synthetic ones run.
//!
//! Run everything with `cargo bench --bench lint`, one group with `cargo bench --bench lint --
//! linear`, and a quicker pass with `cargo bench --bench lint -- --warm-up-time 1
//! --measurement-time 3`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use warden::catalog::Catalog;
use warden::check::lint;
use warden::diagnostic::SourceFile;
use warden::syntax::{Kind, parse};

/// About 1 MB: the size of every pathological input.
const MB: usize = 1 << 20;

/// 100,000: the element count of the pathological inputs that have one.
const COUNT: usize = 100_000;

fn workload_dir() -> PathBuf {
    match std::env::var_os("BENCH_WORKLOAD") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/bench/workload")),
    }
}

/// The 10000-statement workload, or `None` with a note on stderr saying what is skipped.
fn workload() -> Option<String> {
    let path = workload_dir().join("10000.policy");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(error) => {
            eprintln!(
                "warden bench: cannot read the workload {} ({error}); set BENCH_WORKLOAD to the folder \
                 holding 10000.policy. Skipping lint/10000, parse/10000, linear/1x and linear/10x; \
                 the pathological/* benchmarks still run.",
                path.display()
            );
            None
        }
    }
}

fn lint_text(file: &SourceFile) -> usize {
    lint(file, Kind::Policy, Catalog::builtin()).diagnostics.len()
}

/// Lints `text` as one file; the `SourceFile` (line index) is built once, outside the timing,
/// as the CLI builds it once per file.
fn bench_lint(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, id: &str, text: &str) {
    let file = SourceFile::new("bench.policy", text);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function(id, |b| b.iter(|| lint_text(black_box(&file))));
}

fn workload_benches(c: &mut Criterion) {
    let Some(text) = workload() else { return };
    // Build the catalog outside any timing.
    Catalog::builtin();

    let mut group = c.benchmark_group("lint");
    bench_lint(&mut group, "10000", &text);
    group.finish();

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("10000", |b| b.iter(|| parse(black_box(&text), Kind::Policy).diagnostics.len()));
    group.finish();

    let mut group = c.benchmark_group("linear");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    bench_lint(&mut group, "1x", &text);
    bench_lint(&mut group, "10x", &text.repeat(10));
    group.finish();
}

/// A small linear congruential generator (Knuth's MMIX constants): reproducible inputs without
/// a dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }

    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n
    }
}

/// Statements separated by `;` and a space, with no line break: a mix of ALLOWs and DENYs, with
/// and without conditions, some repeated, from the catalog's vocabulary.
fn long_line() -> String {
    const TEMPLATES: [&str; 8] = [
        "ALLOW storage:logs:read WHERE storage:gcp.project.id = \"project-{n}\"",
        "ALLOW storage:logs:read WHERE storage:log.source IN (\"/var/log/syslog\", \"/var/log/app-{n}.log\")",
        "DENY storage:spans:read WHERE storage:k8s.namespace.name = \"ns-{n}\" AND storage:host.name startsWith \"db-\"",
        "ALLOW storage:spans:read WHERE storage:k8s.namespace.name = \"ns-{n}\"",
        "ALLOW document:documents:read",
        "ALLOW app-settings:objects:read WHERE settings:schemaId = \"app:my.app-{n}:connection\"",
        "DENY extensions:definitions:read WHERE extensions:extension-name = \"com.example.ext-{n}\"",
        "ALLOW automation:workflows:read",
    ];
    let mut lcg = Lcg(7);
    let mut text = String::with_capacity(MB + 200);
    while text.len() < MB {
        let template = TEMPLATES[lcg.below(TEMPLATES.len())];
        text.push_str(&template.replace("{n}", &lcg.below(1000).to_string()));
        text.push_str("; ");
    }
    text
}

fn long_string() -> String {
    let prefix = "ALLOW storage:logs:read WHERE storage:gcp.project.id = \"";
    let mut text = String::with_capacity(MB + 100);
    text.push_str(prefix);
    text.extend(std::iter::repeat_n('p', MB - prefix.len() - 3));
    text.push_str("\";\n");
    text
}

fn in_list() -> String {
    let mut text = String::from("ALLOW storage:logs:read WHERE storage:gcp.project.id IN (");
    for i in 0..COUNT {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(&format!("\"p{i:05}\""));
    }
    text.push_str(");\n");
    text
}

/// Random text over printable ASCII and some multi-byte characters the lexer treats specially
/// (typographic quotes, foreign spaces) or not at all.
fn random() -> String {
    const EXTRA: [char; 8] = ['é', '“', '”', '‘', '\u{a0}', '\u{3000}', '→', '🦀'];
    let mut lcg = Lcg(42);
    let mut text = String::with_capacity(MB + 4);
    while text.len() < MB {
        let roll = lcg.below(100);
        let c = match roll {
            0..=4 => EXTRA[lcg.below(EXTRA.len())],
            5..=7 => '\n',
            _ => char::from(b' ' + lcg.below(95) as u8),
        };
        text.push(c);
    }
    text
}

fn pathological_inputs() -> Vec<(&'static str, String)> {
    vec![
        ("long-line", long_line()),
        ("long-string", long_string()),
        ("in-list", in_list()),
        // 100,000 lines opening a string that never closes, padded to ~1 MB.
        ("unterminated-lines", "\"unclosed\n".repeat(COUNT)),
        // On one line a `"` closes the one before: 500,000 empty strings `""`, none a statement.
        ("quotes-one-line", "\"".repeat(MB)),
        ("open-parens", "(".repeat(MB)),
        ("random", random()),
        // 100,000 `/*`, none closed, padded to ~1 MB: the first one runs to the end of the text.
        ("open-comments", "/* open \n".repeat(COUNT)),
        // 100,000 closed block comments on one line.
        ("closed-comments-one-line", "/* c */ ".repeat(COUNT)),
    ]
}

fn pathological_benches(c: &mut Criterion) {
    Catalog::builtin();
    let mut group = c.benchmark_group("pathological");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for (id, text) in pathological_inputs() {
        bench_lint(&mut group, id, &text);
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = workload_benches, pathological_benches
}
criterion_main!(benches);
