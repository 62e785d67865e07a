//! The token stores side by side: SQLite on a temp file and PostgreSQL on a loopback server the
//! benchmark starts itself (Debian's postgresql package, fsync on; see tests/support/postgres.rs).
//! `check/warm/*`: an allowed check whose token record is cached; `check/cold/*`: the same check
//! reading the token from the store every time (propagation bound 0); `create/*`: `TokenStore::insert`
//! with the per-owner limit, 8 threads spread over two store instances (two processes' worth of
//! connections), each insert a new owner's token — its throughput is creates per second.
//! Run: `cargo bench --bench store`.

#[path = "../tests/support/postgres.rs"]
mod cluster;

use cluster::temp;
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration as Elapsed, Instant};

use chrono::{Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use warden::catalog::Catalog;
use warden::eval::Engine;
use warden::iam::{TenantFiles, load};
use warden::store::{Database, Origin, Schema};
use warden::token::{
    AuditEntry, CheckRequest, NewToken, Owner, Settings, Status, SystemClock, TokenRecord, TokenSecret, TokenService,
    TokenStore,
};

const ALICE: &str = "alice@acme.example";
const RUN: &str = "app-engine:apps:run";
const THREADS: usize = 8;

fn example() -> Engine {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/example");
    let files = TenantFiles::read(&dir).expect("the example tenant reads");
    Engine::new(load(&files, Catalog::builtin()).tenant.expect("the example tenant loads"), Catalog::builtin())
}

fn service(store: Arc<dyn TokenStore>, propagation: i64) -> TokenService {
    let settings = Settings { propagation: Duration::seconds(propagation), ..Settings::default() };
    TokenService::new(store, Arc::new(SystemClock), example(), Catalog::builtin(), settings).expect("the service")
}

/// A new owner's token, as a create makes it.
fn record(owner: usize) -> (TokenRecord, AuditEntry) {
    let secret = TokenSecret::generate("dt0s16").expect("randomness");
    let now = Utc::now();
    let record = TokenRecord {
        id: secret.id(),
        name: format!("bench {owner}"),
        tags: Vec::new(),
        owner: Owner { id: format!("owner-{owner}"), service_user: false },
        creator: format!("owner-{owner}"),
        account: "acme".into(),
        environments: Vec::new(),
        scopes: vec![RUN.into()],
        created_at: now,
        expires_at: None,
        status: Status::Active,
        last_used_at: None,
        rotated_from: None,
        rotated_to: None,
        digest: secret.digest(),
    };
    let audit = AuditEntry {
        at: now,
        account: "acme".into(),
        actor: "bench".into(),
        action: "create".into(),
        token: Some(record.id.clone()),
        new_token: None,
        outcome: "ok".into(),
    };
    (record, audit)
}

/// The time `count` inserts take, spread over [`THREADS`] threads and the given instances.
fn insert_many(instances: &[Arc<dyn TokenStore>], next_owner: &AtomicUsize, count: u64) -> Elapsed {
    let per_thread = count.div_ceil(THREADS as u64);
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let store = Arc::clone(&instances[i % instances.len()]);
            let records: Vec<_> = (0..per_thread).map(|_| record(next_owner.fetch_add(1, Ordering::Relaxed))).collect();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for (record, audit) in &records {
                    store.insert(record, Some(10), audit).expect("the insert");
                }
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    for thread in threads {
        thread.join().expect("the inserting thread");
    }
    started.elapsed().mul_f64(count as f64 / (per_thread * THREADS as u64) as f64)
}

fn stores(c: &mut Criterion) {
    let dir = temp::TempDir::new();
    let server = cluster::Cluster::start_with(|_| vec!["fsync=on".into(), "full_page_writes=on".into()]);
    let name = server.database();
    let admin = server.url(cluster::ADMIN, &name).replacen(
        cluster::ADMIN,
        &format!("{}:{}", cluster::ADMIN, cluster::ADMIN_PASSWORD),
        1,
    );
    let postgres = Database::parse(&admin, Origin::Environment).expect("the URL");
    postgres.migrate(None).expect("the migration");
    let sqlite = Database::Sqlite(dir.join("tokens.db"));

    let request =
        CheckRequest { permission: RUN.into(), environment: Some("staging".into()), ..CheckRequest::default() };
    let mut checks = c.benchmark_group("check");
    for (label, database) in [("sqlite", &sqlite), ("postgres", &postgres)] {
        let store = database.open(Schema::Migrate).expect("the store opens");
        let warm = service(Arc::clone(&store), 300);
        let engine = warm.engine();
        let alice = engine.tenant().find_user(ALICE).expect("alice");
        let new = NewToken { name: "bench".into(), scopes: vec![RUN.into()], ..NewToken::default() };
        let created = warm.create(alice, new).expect("the token");
        let header = format!("Bearer {}", created.secret.expose());
        assert_eq!(warm.check(&header, &request).expect("the check").status, 200, "an allowed check is timed");
        let cold = service(store, 0);
        checks.bench_function(format!("warm/{label}"), |b| b.iter(|| black_box(warm.check(&header, &request))));
        checks.bench_function(format!("cold/{label}"), |b| b.iter(|| black_box(cold.check(&header, &request))));
    }
    checks.finish();

    let mut creates = c.benchmark_group("create");
    creates.throughput(Throughput::Elements(1)).sample_size(10).measurement_time(Elapsed::from_secs(10));
    let next_owner = AtomicUsize::new(0);
    for (label, database) in [("sqlite-two-connections", &sqlite), ("postgres-two-instances", &postgres)] {
        let instances = [
            database.open(Schema::Expect).expect("the first instance"),
            database.open(Schema::Expect).expect("the second instance"),
        ];
        creates.bench_function(label, |b| b.iter_custom(|count| insert_many(&instances, &next_owner, count)));
    }
    creates.finish();
}

criterion_group!(benches, stores);
criterion_main!(benches);
