//! Throughput and scaling of `warden::check::lint` (parse + every catalog check and lint).
//!
//! Groups, each with `Throughput::Bytes` so criterion prints MB/s:
//!
//! - `lint/10000`: the 10000-statement benchmark workload (`10000.policy`, ~678 KB) linted as ONE
//!   text. It exceeds the 100-statement limit, so it reports that error too; that is part of the
//!   workload. Goal: ≥ 100 MB/s.
//! - `parse/10000`: the same text through the parser only (`warden::syntax::parse`), to see what
//!   share of `lint/10000` the checks take.
//! - `cli/json-10000`: the whole `warden lint --format json 10000.policy` process, as CI runs
//!   it: the release binary started on the file, its ~10 MB of JSON written to `/dev/null`.
//!   Throughput is the bytes of policy text read, as for `lint/10000`. Before timing, one run's
//!   output is checked to hold every finding `lint/10000` reports.
//! - `linear/1x`, `linear/10x`: lint of that text and of that text repeated 10 times. Linear
//!   scaling means the 10x time is at most ~11x the 1x time (MB/s about equal).
//! - `pathological/NAME/1MB`: synthetic inputs of about 1 MB (they need no workload), each also
//!   at a tenth of that size (`pathological/NAME/100KB`, 10,000 elements) so its scaling can be
//!   read off: `long-line` (statements separated by `;`, no newline), `long-string` (one
//!   statement with a 1 MB string value), `long-name` (an unknown permission 1 MB long),
//!   `in-list` (one `IN` with 100,000 values), `permission-list` (one statement listing ~48,000
//!   distinct unknown permissions), `unterminated-lines` (100,000 lines that open a `"` and never
//!   close it), `quotes-one-line` (`"` repeated on one line), `open-parens` (`(((…`), `random`
//!   (fixed-seed LCG: printable ASCII, line breaks and some multi-byte characters),
//!   `open-comments` (100,000 `/*` lines, none closed) and `closed-comments-one-line` (100,000
//!   `/* c */` on one line).
//!
//! The workload folder is `$BENCH_WORKLOAD`, or `../shared/bench/workload` beside the crate. When
//! it is missing, the workload groups are skipped with a note on stderr and the synthetic ones run.
//!
//! Run everything with `cargo bench --bench lint`, one group with `cargo bench --bench lint --
//! linear`, and a quicker pass with `cargo bench --bench lint -- --warm-up-time 1
//! --measurement-time 3`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use warden::catalog::Catalog;
use warden::check::lint;
use warden::diagnostic::SourceFile;
use warden::syntax::{Kind, parse};

/// About 1 MB: the full size of the pathological inputs.
const MB: usize = 1 << 20;

/// 100,000: the full element count of the pathological inputs that have elements.
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

/// Runs `warden lint --format json PATH` to its end, its standard output sent to `stdout`.
fn lint_json(path: &Path, stdout: Stdio) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["lint", "--format", "json"])
        .arg(path)
        .stdout(stdout)
        .output()
        .expect("the warden binary runs");
    // The workload has errors: exit code 1, and nothing on standard error.
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    output
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

    let path = workload_dir().join("10000.policy");
    let findings = lint_text(&SourceFile::new("bench.policy", text.as_str()));
    let json = lint_json(&path, Stdio::piped()).stdout;
    let reported = String::from_utf8(json).expect("UTF-8 JSON").matches("\n    \"code\": ").count();
    assert_eq!(reported, findings, "`warden lint --format json` reports every finding");
    let mut group = c.benchmark_group("cli");
    group.sample_size(20).throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("json-10000", |b| b.iter(|| lint_json(&path, Stdio::null())));
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

/// The size of a pathological input: about `bytes` long, with `count` elements where the input
/// has elements. The full size is ~1 MB and 100,000 elements; a tenth of it is also measured, so
/// each input shows its own scaling (linear: the 1MB time is ~10x the 100KB time).
#[derive(Clone, Copy)]
struct Size {
    label: &'static str,
    bytes: usize,
    count: usize,
}

const SIZES: [Size; 2] =
    [Size { label: "100KB", bytes: MB / 10, count: COUNT / 10 }, Size { label: "1MB", bytes: MB, count: COUNT }];

/// Statements separated by `;` and a space, with no line break: a mix of ALLOWs and DENYs, with
/// and without conditions, some repeated, from the catalog's vocabulary.
fn long_line(size: Size) -> String {
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
    let mut text = String::with_capacity(size.bytes + 200);
    while text.len() < size.bytes {
        let template = TEMPLATES[lcg.below(TEMPLATES.len())];
        text.push_str(&template.replace("{n}", &lcg.below(1000).to_string()));
        text.push_str("; ");
    }
    text
}

/// One statement whose value is a string of `size.bytes`.
fn long_string(size: Size) -> String {
    let prefix = "ALLOW storage:logs:read WHERE storage:gcp.project.id = \"";
    let mut text = String::with_capacity(size.bytes + 4);
    text.push_str(prefix);
    text.extend(std::iter::repeat_n('p', size.bytes - prefix.len() - 3));
    text.push_str("\";\n");
    text
}

/// One unknown permission `size.bytes` long: the catalog lookup and its "did you mean" search
/// see the whole name.
fn long_name(size: Size) -> String {
    let prefix = "ALLOW storage:logs:";
    let mut text = String::with_capacity(size.bytes + 4);
    text.push_str(prefix);
    text.extend(std::iter::repeat_n('r', size.bytes - prefix.len() - 2));
    text.push_str(";\n");
    text
}

/// One `IN` list of `size.count` distinct values.
fn in_list(size: Size) -> String {
    let mut text = String::from("ALLOW storage:logs:read WHERE storage:gcp.project.id IN (");
    for i in 0..size.count {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(&format!("\"p{i:05}\""));
    }
    text.push_str(");\n");
    text
}

/// One statement listing distinct (unknown) permissions up to `size.bytes`: about 48,000 at
/// 1 MB.
fn permission_list(size: Size) -> String {
    let mut text = String::from("ALLOW storage:logs:r000000");
    let mut i = 1;
    while text.len() < size.bytes {
        text.push_str(&format!(", storage:logs:r{i:06}"));
        i += 1;
    }
    text.push_str(";\n");
    text
}

/// Random text over printable ASCII, line breaks and some multi-byte characters the lexer treats
/// specially (typographic quotes, foreign spaces) or not at all.
fn random(size: Size) -> String {
    const EXTRA: [char; 8] = ['é', '“', '”', '‘', '\u{a0}', '\u{3000}', '→', '🦀'];
    let mut lcg = Lcg(42);
    let mut text = String::with_capacity(size.bytes + 4);
    while text.len() < size.bytes {
        let c = match lcg.below(100) {
            0..=4 => EXTRA[lcg.below(EXTRA.len())],
            5..=7 => '\n',
            _ => char::from(b' ' + lcg.below(95) as u8),
        };
        text.push(c);
    }
    text
}

fn pathological_inputs(size: Size) -> Vec<(&'static str, String)> {
    vec![
        ("long-line", long_line(size)),
        ("long-string", long_string(size)),
        ("long-name", long_name(size)),
        ("in-list", in_list(size)),
        ("permission-list", permission_list(size)),
        // `count` lines opening a string that never closes, padded to ~`bytes`.
        ("unterminated-lines", "\"unclosed\n".repeat(size.count)),
        // On one line a `"` closes the one before: `bytes / 2` empty strings `""`, none a statement.
        ("quotes-one-line", "\"".repeat(size.bytes)),
        ("open-parens", "(".repeat(size.bytes)),
        ("random", random(size)),
        // `count` lines opening a `/*`, none closed: the first one runs to the end of the text.
        ("open-comments", "/* open \n".repeat(size.count)),
        // `count` closed block comments on one line.
        ("closed-comments-one-line", "/* c */ ".repeat(size.count)),
    ]
}

fn pathological_benches(c: &mut Criterion) {
    Catalog::builtin();
    let mut group = c.benchmark_group("pathological");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    let inputs: Vec<(Size, Vec<(&str, String)>)> =
        SIZES.iter().map(|&size| (size, pathological_inputs(size))).collect();
    // Both sizes of one input side by side.
    for index in 0..inputs[0].1.len() {
        for (size, texts) in &inputs {
            let (name, text) = &texts[index];
            bench_lint(&mut group, &format!("{name}/{}", size.label), text);
        }
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
