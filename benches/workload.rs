//! Decisions and tenant loading on the shared workload (`../shared/bench/workload`, or the
//! folder `BENCH_WORKLOAD` names): `decide/N` is one pass over the 1000 prepared requests of
//! tenant N, `compile/N` builds the engine from loaded tenant N, and `load/N` parses, checks
//! and compiles tenant N from texts already in memory.
//! Every decision is checked against `expected` before anything is timed.
//!
//! Run: `cargo bench --bench workload`; one group: `cargo bench --bench workload -- decide/1000`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use warden::catalog::Catalog;
use warden::eval::{AttrValue, Decision, Engine, Query, Request};
use warden::iam::{TenantFiles, load};

mod support;

use support::{compile, workload_dir};

/// One line of `N.requests.jsonl`.
#[derive(Deserialize)]
struct Line {
    id: usize,
    email: String,
    environment: String,
    permission: String,
    attributes: BTreeMap<String, String>,
    expected: String,
}

fn agrees(expected: &str, decision: &Decision) -> bool {
    matches!(
        (expected, decision),
        ("ALLOW", Decision::Allow { .. })
            | ("DENY_EXPLICIT", Decision::Deny { .. })
            | ("DENY_NO_MATCH", Decision::NoMatch | Decision::Conditional { .. })
    )
}

fn workload(c: &mut Criterion) {
    let dir = workload_dir();
    if !dir.join("tenant-10").is_dir() {
        eprintln!(
            "warden bench: the shared workload is missing at {} (set BENCH_WORKLOAD): decide/N and load/N are skipped",
            dir.display()
        );
        return;
    }
    for n in [10, 100, 1000, 10000] {
        let files = TenantFiles::read(&dir.join(format!("tenant-{n}"))).expect("the tenant reads");
        let engine = compile(&files);
        let text = std::fs::read_to_string(dir.join(format!("{n}.requests.jsonl"))).expect("the requests read");
        let lines: Vec<Line> = text.lines().map(|l| serde_json::from_str(l).expect("a request line")).collect();
        // Native requests are built before timing, as the peers' were.
        let queries: Vec<Query> = lines
            .iter()
            .map(|line| {
                let principal = engine.tenant().find_user(&line.email).expect("a workload user");
                let mut request =
                    Request::new(principal, line.permission.clone()).in_environment(line.environment.clone());
                request.attributes =
                    line.attributes.iter().map(|(k, v)| (k.clone(), AttrValue::One(v.clone()))).collect();
                engine.query(&request).expect("a valid request")
            })
            .collect();
        for (line, query) in lines.iter().zip(&queries) {
            let decision = engine.evaluate(query);
            assert!(
                agrees(&line.expected, &decision),
                "N={n} request {}: expected {}, got {decision:?}",
                line.id,
                line.expected
            );
        }

        let mut group = c.benchmark_group("decide");
        group.throughput(Throughput::Elements(queries.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                for query in &queries {
                    black_box(engine.evaluate(black_box(query)));
                }
            })
        });
        group.finish();

        // Compiling alone: bindings, parameters and boundaries into the permission index.
        let tenant = load(&files, Catalog::builtin()).tenant.expect("the workload tenants load");
        let mut group = c.benchmark_group("compile");
        if n >= 1000 {
            group.sample_size(10);
        }
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_batched(|| tenant.clone(), |t| black_box(Engine::new(t, Catalog::builtin())), BatchSize::LargeInput)
        });
        group.finish();

        let mut group = c.benchmark_group("load");
        if n >= 1000 {
            group.sample_size(10);
        }
        group.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(|| black_box(compile(black_box(&files)))));
        group.finish();
    }
}

criterion_group!(benches, workload);
criterion_main!(benches);
