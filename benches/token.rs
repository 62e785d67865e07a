//! The token check (tokens.md §4) on the 1,000-statement workload tenant with 10,000 tokens in
//! the store (the per-owner limit raised to 10,000 for this): `check/warm` with the token's
//! record cached, `check/cold` with every check reading SQLite (propagation bound 0), and
//! `check/floor` for its two unavoidable parts: one SHA-256 of the token string plus one
//! decision. Run: `cargo bench --bench token`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use chrono::{Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;
use warden::catalog::Catalog;
use warden::eval::{AttrValue, Engine, Request};
use warden::iam::{TenantFiles, load};
use warden::store::SqliteStore;
use warden::token::{
    AuditEntry, CheckRequest, Owner, Settings, Status, SystemClock, TokenDigest, TokenRecord, TokenSecret,
    TokenService, TokenStore,
};

#[path = "../tests/support/temp.rs"]
mod temp;

#[derive(Deserialize)]
struct Line {
    email: String,
    permission: String,
    attributes: BTreeMap<String, String>,
    expected: String,
}

const TOKENS: usize = 10_000;

fn engine(dir: &Path) -> Engine {
    let files = TenantFiles::read(&dir.join("tenant-1000")).expect("the workload tenant reads");
    Engine::new(load(&files, Catalog::builtin()).tenant.expect("the workload tenant loads"), Catalog::builtin())
}

fn check(c: &mut Criterion) {
    // The workload copy the tests use: the benchmark runs without ../shared too.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/workload");
    let requests = std::fs::read_to_string(dir.join("1000.requests.jsonl")).expect("the requests read");
    let line: Line = requests
        .lines()
        .map(|l| serde_json::from_str::<Line>(l).expect("a request line"))
        .find(|l| l.expected == "ALLOW" && !l.attributes.is_empty())
        .expect("an allowed request with attributes");

    // The database and its -wal/-shm files go with the directory.
    let db_dir = temp::TempDir::new();
    let store = Arc::new(SqliteStore::open(&db_dir.join("tokens.db")).expect("the database opens"));
    let engine = engine(&dir);
    let tenant = engine.tenant().clone();
    let now = Utc::now();
    let audit = AuditEntry {
        at: now,
        account: tenant.account.id.clone(),
        actor: "bench".into(),
        action: "create".into(),
        token: None,
        new_token: None,
        outcome: "ok".into(),
    };
    let mut chosen = None;
    for i in 0..TOKENS {
        let secret = TokenSecret::generate("dt0s16").expect("randomness");
        let owner = &tenant.users[i % tenant.users.len()];
        let record = TokenRecord {
            id: secret.id(),
            name: format!("bench {i}"),
            tags: Vec::new(),
            owner: Owner { id: owner.id.clone(), service_user: false },
            creator: owner.id.clone(),
            account: tenant.account.id.clone(),
            environments: Vec::new(),
            scopes: vec![line.permission.clone()],
            created_at: now,
            expires_at: Some(now + Duration::days(365)),
            status: Status::Active,
            last_used_at: None,
            rotated_from: None,
            rotated_to: None,
            digest: secret.digest(),
        };
        store.insert(&record, None, &audit).expect("the insert");
        if *owner.email == *line.email && chosen.is_none() {
            chosen = Some(secret);
        }
    }
    let secret = chosen.expect("a token of the request's user");
    let header = format!("Bearer {}", secret.expose());
    let request = CheckRequest {
        environment: Some("prod".into()),
        permission: line.permission.clone(),
        attributes: line.attributes.iter().map(|(k, v)| (k.clone(), AttrValue::One(v.clone()))).collect(),
        explain: false,
    };
    let settings = |seconds| Settings { limit: TOKENS, propagation: Duration::seconds(seconds), ..Settings::default() };

    let warm = TokenService::new(store.clone(), Arc::new(SystemClock), engine, Catalog::builtin(), settings(300))
        .expect("the service");
    assert_eq!(warm.check(&header, &request).expect("the check").status, 200, "the benchmark times an allowed check");
    let cold =
        TokenService::new(store.clone(), Arc::new(SystemClock), self::engine(&dir), Catalog::builtin(), settings(0))
            .expect("the service");

    let mut group = c.benchmark_group("check");
    group.bench_function("warm", |b| b.iter(|| black_box(warm.check(black_box(&header), black_box(&request)))));
    group.bench_function("cold", |b| b.iter(|| black_box(cold.check(black_box(&header), black_box(&request)))));
    let floor_engine = warm.engine();
    let principal = floor_engine.tenant().find_user(&line.email).expect("the user");
    let mut floor_request = Request::new(principal, line.permission.clone()).in_environment("prod");
    floor_request.attributes = request.attributes.clone();
    let query = floor_engine.query(&floor_request).expect("a valid request");
    group.bench_function("floor", |b| {
        b.iter(|| {
            black_box(TokenDigest::of(black_box(secret.expose())));
            black_box(floor_engine.evaluate(black_box(&query)))
        })
    });
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
