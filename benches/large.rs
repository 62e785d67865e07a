//! The platform's largest account (`support/large.rs`: 200 policies × 100 statements, 5,000
//! groups, 10,000 users in 5 groups each, 30,000 bindings, 10 % with bind parameters, 5 % with
//! boundaries), generated in memory, so this bench needs no files:
//!
//! - `large/load`: parse, check and compile the tenant from its texts (goal ≤ 300 ms); the
//!   engine is freed after each timing, not in it.
//! - `large/request/p50` and `/p99`: `Engine::query` + `Engine::evaluate` of the request at the
//!   median and at the 99th percentile of 1,000 generated requests (goal p99 ≤ 5 µs). The
//!   requests are ranked by a first timing of each (the least of 200 runs); criterion then
//!   times the two that rank there.
//! - `large/effective/p50` and `/p99`: every permission of one user, ranked the same way over
//!   200 users.
//! - `large/who-can/<permission>`: every principal holding the most popular permission, and one
//!   from the middle of the generator's list (goal ≤ 50 ms). Before it is timed, its answer is
//!   checked against each principal's own request without attributes.
//!
//! Before anything is timed, every one of the 1,000 decisions is checked against the reference
//! evaluator (`tests/support/reference.rs`, semantics.md read naively), and the engine's heap is
//! measured by a counting allocator: the bytes allocated and not freed while the engine is
//! built from the loaded tenant, plus the tenant itself (goal ≤ 256 MiB); printed as
//! `large: memory …`. It counts only then: what is timed runs on the system allocator, with
//! one flag read per allocation. Run: `cargo bench --bench large`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use warden::catalog::Catalog;
use warden::eval::{AttrValue, Decision, Engine, Request};
use warden::iam::{Principal, load};

#[path = "support/counting.rs"]
mod counting;
#[path = "support/large.rs"]
mod large;
#[path = "../tests/support/reference.rs"]
#[allow(dead_code)]
mod reference;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// 1,000 requests: a user, a permission some statement names (popular ones more often), in
/// `prod` or at account level, with some of the keys the permission accepts.
fn requests(engine: &Engine) -> Vec<Request> {
    let catalog = Catalog::builtin();
    let permissions = engine.permissions();
    let mut random = large::Random::new(7);
    (0..1_000)
        .map(|_| {
            let user = engine.tenant().find_user(&large::email(random.below(large::USERS))).expect("a user");
            let permission = permissions[random.skewed(permissions.len())];
            let mut request = Request::new(user, permission);
            if random.below(4) != 0 {
                request = request.in_environment("prod");
            }
            if let Some(known) = catalog.permission(permission) {
                for key in known.keys.keys() {
                    if random.below(3) != 0 {
                        let value = large::value(catalog, key, &mut random);
                        request.attributes.insert(key.clone(), AttrValue::One(value));
                    }
                }
            }
            request
        })
        .collect()
}

fn outcome(decision: &Decision) -> reference::Outcome {
    match decision {
        Decision::Allow { .. } => reference::Outcome::Allow,
        Decision::Deny { .. } => reference::Outcome::Deny,
        Decision::NoMatch => reference::Outcome::NoMatch,
        _ => reference::Outcome::Conditional,
    }
}

/// Who-can as each principal's own request in `prod` without attributes answers it.
fn who_can_one_by_one(
    engine: &Engine,
    permission: &str,
    now: chrono::DateTime<Utc>,
) -> Vec<(String, String, Option<String>)> {
    let mut grants = Vec::new();
    for principal in engine.tenant().principals() {
        let request = Request::new(principal, permission).in_environment("prod").at(now);
        let query = engine.query(&request).expect("a valid request");
        let decision = engine.evaluate(&query);
        if matches!(decision, Decision::Allow { .. } | Decision::Conditional { .. }) {
            let email = engine.tenant().email(principal).to_string();
            grants.push((permission.to_string(), email, engine.residual_text(&query, &decision)));
        }
    }
    grants
}

/// The least time of `runs` runs of `work`: a first ranking, before criterion times the few
/// that rank at the percentiles.
fn least(runs: usize, mut work: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .min()
        .expect("runs")
}

/// The positions of the median and the 99th percentile of `times`.
fn percentiles(times: &[Duration]) -> [(&'static str, usize); 2] {
    let mut ranked: Vec<usize> = (0..times.len()).collect();
    ranked.sort_by_key(|&i| times[i]);
    let at = |p: usize| ranked[(times.len() * p / 100).min(times.len() - 1)];
    [("p50", at(50)), ("p99", at(99))]
}

fn bench(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let files = large::tenant();
    let engine = counting::engine_of("large", catalog, || {
        let loaded = load(&files, catalog);
        let first_error = loaded.findings.iter().flat_map(|f| f.diagnostics.iter().map(move |d| (&f.file.name, d)));
        let first_error =
            first_error.filter(|(_, d)| d.is_error()).map(|(file, d)| format!("{file}: {}", d.message)).next();
        assert!(first_error.is_none(), "the largest account loads: {first_error:?}");
        let warnings: usize = loaded.findings.iter().map(|f| f.diagnostics.len()).sum();
        println!("large: {warnings} warnings on loading");
        loaded.tenant.expect("the largest account loads")
    });

    let requests = requests(&engine);
    let mut outcomes = BTreeMap::new();
    for (i, request) in requests.iter().enumerate() {
        let query = engine.query(request).expect("a valid request");
        let decision = engine.evaluate(&query);
        let facts = reference::Facts::new(
            engine.tenant(),
            request.principal,
            request.environment.as_deref(),
            &request.attributes,
            request.time,
        );
        let expected = reference::evaluate(engine.tenant(), &facts, &request.permission);
        assert_eq!(outcome(&decision), expected, "request {i} on {}: {decision:?}", request.permission);
        *outcomes.entry(format!("{expected:?}")).or_insert(0) += 1;
    }
    println!("large: 1000 decisions agree with the reference: {outcomes:?}");

    let mut group = c.benchmark_group("large");
    group.sample_size(10);
    group.bench_function("load", |b| {
        // The engine is freed after the timing: what a load costs is reading and compiling.
        b.iter_with_large_drop(|| {
            let loaded = load(black_box(&files), catalog);
            black_box(Engine::new(loaded.tenant.expect("loads"), catalog))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("large/request");
    let ask = |request: &Request| {
        let query = engine.query(request).expect("a valid request");
        black_box(engine.evaluate(&query));
    };
    let times: Vec<Duration> = requests.iter().map(|request| least(200, || ask(request))).collect();
    for (name, i) in percentiles(&times) {
        group.bench_function(name, |b| b.iter(|| ask(black_box(&requests[i]))));
    }
    group.finish();

    let mut group = c.benchmark_group("large/effective");
    let now = Utc::now();
    let users: Vec<Principal> =
        (0..200).map(|i| engine.tenant().find_user(&large::email(i * 50)).expect("a user")).collect();
    let effective = |user: Principal| black_box(engine.effective(user, Some("prod"), now).expect("effective"));
    let times: Vec<Duration> = users.iter().map(|&user| least(5, || drop(effective(user)))).collect();
    for (name, i) in percentiles(&times) {
        group.bench_function(name, |b| b.iter(|| effective(users[i])));
    }
    group.finish();

    let mut group = c.benchmark_group("large/who-can");
    group.sample_size(10);
    // The generator's most popular permission, and one from the middle of its list.
    let named = engine.permissions();
    let permissions: Vec<&str> =
        large::permissions(catalog).iter().map(|p| p.name.as_str()).filter(|p| named.contains(p)).collect();
    for permission in [permissions[0], permissions[permissions.len() / 2]] {
        let grants = engine.who_can(permission, Some("prod"), now).expect("who-can");
        assert_eq!(
            grants.into_iter().map(|g| (g.permission, g.principal, g.conditions)).collect::<Vec<_>>(),
            who_can_one_by_one(&engine, permission, now),
            "who-can {permission} answers what each principal's request answers"
        );
        group.bench_function(permission, |b| {
            b.iter(|| black_box(engine.who_can(permission, Some("prod"), now).expect("who-can")))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
