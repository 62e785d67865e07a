//! Decisions and tenant loading on the shared workload (`../shared/bench/workload`, or the
//! folder `BENCH_WORKLOAD` names), each beside a hand-written floor that does the same work on
//! the same statements with nothing else to do:
//!
//! - `decide/N`: one pass over the 1000 prepared requests of tenant N (`Engine::evaluate`);
//!   `decide-floor/N`: the same decisions by the hand-written permission index (statements as
//!   closures behind a `HashMap` keyed by permission, looked up on every decision, a group bit
//!   mask per statement: the peers' `rust-indexed`).
//! - `request/N`: the 1000 requests from their names (`Engine::query` + `Engine::evaluate` on a
//!   `Request` holding the permission, environment and attributes by name); `request-floor/N`:
//!   the hand-written path from the same names to the decision (one FxHash lookup for the
//!   permission, its statements and the keys it accepts; one for the environment; one per
//!   attribute key; then the floor's decision).
//! - `compile/N` builds the engine from loaded tenant N, and `load/N` parses, checks and
//!   compiles tenant N from texts already in memory. Neither times freeing the engine it made:
//!   `warden serve` frees a replaced engine on the reloading thread once the checks let go of it
//!   (`server::reload`), off every path a check or a load waits on. Freeing is timed on its own
//!   in `free/N`.
//!
//! Every decision, warden's and the floors', is checked against `expected` before anything is
//! timed. Before that, a counting allocator measures the memory that loading tenant N leaves held
//! (the engine, the tenant in it) and its peak on the way, printed as `load/N: memory …`; it counts
//! only then. Run: `cargo bench --bench workload`; one group: `cargo bench --bench workload --
//! decide/1000`.

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use warden::catalog::Catalog;
use warden::eval::{Engine, Request};
use warden::iam::{TenantFiles, load};

mod support;

use support::{compile, workload_dir};

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

#[path = "support/requests.rs"]
mod requests;

use requests::{Line, agrees};

#[path = "support/floor.rs"]
mod floor;

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
        let engine = measured(&files, n);
        let lines: Vec<Line> = requests::read(&dir, n);
        // Native requests are built before timing, as the peers' were.
        let requests: Vec<Request> = lines.iter().map(|line| line.request(&engine)).collect();
        let queries: Vec<_> = requests.iter().map(|r| engine.query(r).expect("a valid request")).collect();
        for (line, query) in lines.iter().zip(&queries) {
            let decision = engine.evaluate(query);
            assert!(
                agrees(&line.expected, &decision),
                "N={n} request {}: expected {}, got {decision:?}",
                line.id,
                line.expected
            );
        }
        let floor = floor::Index::new(engine.tenant());
        let prepared: Vec<(u64, &str, floor::Attributes<'_>)> = lines
            .iter()
            .map(|line| (floor.users[&line.email], line.permission.as_str(), floor.attributes(&line.attributes)))
            .collect();
        for (line, (groups, permission, attributes)) in lines.iter().zip(&prepared) {
            let verdict = floor.decide(*groups, permission, attributes);
            assert!(verdict.agrees(&line.expected), "floor, N={n} request {}: {verdict:?}", line.id);
            let named = floor.request(*groups, permission, &line.environment, &requests[line.id].attributes);
            assert_eq!(named, Some(verdict), "floor from names, N={n} request {}", line.id);
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
        let mut group = c.benchmark_group("decide-floor");
        group.throughput(Throughput::Elements(queries.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                for (groups, permission, attributes) in &prepared {
                    black_box(floor.decide(*groups, black_box(permission), black_box(attributes)));
                }
            })
        });
        group.finish();

        let mut group = c.benchmark_group("request");
        group.throughput(Throughput::Elements(requests.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                for request in &requests {
                    let query = engine.query(black_box(request)).expect("a valid request");
                    black_box(engine.evaluate(&query));
                }
            })
        });
        group.finish();
        let mut group = c.benchmark_group("request-floor");
        group.throughput(Throughput::Elements(requests.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                for (request, (groups, _, _)) in requests.iter().zip(&prepared) {
                    let environment = request.environment.as_deref().unwrap_or_default();
                    black_box(floor.request(
                        *groups,
                        black_box(&request.permission),
                        environment,
                        black_box(&request.attributes),
                    ));
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
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_batched(|| (), |()| compile(black_box(&files)), BatchSize::PerIteration)
        });
        group.finish();

        let mut group = c.benchmark_group("free");
        if n >= 1000 {
            group.sample_size(10);
        }
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_batched(|| compile(&files), drop, BatchSize::PerIteration)
        });
        group.finish();
    }
}

/// Loads tenant N as `compile` does, printing the bytes that the engine holds and the most in use
/// at once on the way (the findings, which the load returns beside the tenant, are freed first).
fn measured(files: &TenantFiles, n: usize) -> Engine {
    let catalog = Catalog::builtin();
    counting::engine_of(&format!("load/{n}"), catalog, || {
        load(files, catalog).tenant.expect("the workload tenants load")
    })
}

criterion_group!(benches, workload);
criterion_main!(benches);
