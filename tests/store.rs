//! One test-suite for every token store: each test below runs twice, as `sqlite::NAME` on a
//! temporary file and as `postgres::NAME` on a fresh database of a PostgreSQL server the tests
//! start themselves (tests/support/postgres.rs), through the `TokenStore` trait and a
//! `TokenService` over it. What differs between the two is said by [`Backend`], not by
//! separate tests: PostgreSQL announces changes to other instances, SQLite leaves them to the
//! propagation bound.

#[cfg(feature = "postgres")]
#[path = "support/postgres.rs"]
mod cluster;
#[cfg(feature = "postgres")]
use cluster::temp;
#[cfg(not(feature = "postgres"))]
#[path = "support/temp.rs"]
mod temp;

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use warden::catalog::Catalog;
use warden::eval::Engine;
use warden::iam::{TenantFiles, load};
use warden::store::{Database, DatabaseError, Schema, copy, digest};
use warden::token::{
    AuditEntry, Change, CheckRequest, NewToken, Owner, Settings, Status, StoreError, SystemClock, TokenId, TokenRecord,
    TokenSecret, TokenService, TokenStore,
};

/// SQL run on a database as its owner, bypassing warden: `Err` with the database's message.
type RawSql = Box<dyn Fn(&str) -> Result<(), String>>;

/// Where a test's database lives, and what the backend can do that the other cannot.
struct Backend {
    database: Database,
    /// A temporary directory (the SQLite file), removed on drop.
    _dir: temp::TempDir,
    raw: RawSql,
    /// Whether other instances hear of a change at once (else: within the propagation bound).
    announces_changes: bool,
}

impl Backend {
    fn sqlite() -> Backend {
        let dir = temp::TempDir::new();
        let file = dir.join("tokens.db");
        let raw_file = file.clone();
        Backend {
            database: Database::Sqlite(file),
            _dir: dir,
            raw: Box::new(move |sql| {
                let connection = rusqlite::Connection::open(&raw_file).map_err(|e| e.to_string())?;
                connection.execute_batch(sql).map_err(|e| e.to_string())
            }),
            announces_changes: false,
        }
    }

    /// A fresh database, migrated by the server's superuser, opened as the service's role.
    #[cfg(feature = "postgres")]
    fn postgres() -> Backend {
        use cluster::{ADMIN, SERVICE, SERVICE_PASSWORD};
        use warden::store::Origin;
        static CLUSTER: std::sync::OnceLock<cluster::Cluster> = std::sync::OnceLock::new();
        let cluster = CLUSTER.get_or_init(cluster::Cluster::start);
        let name = cluster.database();
        let admin = cluster.url(ADMIN, &name).replacen(ADMIN, &format!("{ADMIN}:{}", cluster::ADMIN_PASSWORD), 1);
        Database::parse(&admin, Origin::Environment).unwrap().migrate(Some(SERVICE)).unwrap();
        let service = cluster.url(SERVICE, &name).replacen(SERVICE, &format!("{SERVICE}:{SERVICE_PASSWORD}"), 1);
        Backend {
            database: Database::parse(&service, Origin::Environment).unwrap(),
            _dir: temp::TempDir::new(),
            raw: Box::new(move |sql| {
                let output = cluster.psql(&name, ADMIN, sql);
                match output.status.success() {
                    true => Ok(()),
                    false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
                }
            }),
            announces_changes: true,
        }
    }

    /// Another instance's view of the database: a store of its own.
    fn open(&self) -> Arc<dyn TokenStore> {
        self.database.open(Schema::Expect).unwrap_or_else(|e| panic!("{}: {e}", self.database))
    }
}

/// Runs each test against both backends: `sqlite::NAME` and `postgres::NAME`.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(&super::Backend::sqlite()) })*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(#[test] fn $name() { super::$name(&super::Backend::postgres()) })*
        }
    };
}

suite!(
    a_token_reads_back_as_written,
    twenty_creates_racing_on_two_instances_make_exactly_ten,
    a_deleted_token_frees_its_slot_but_keeps_its_id,
    changes_reach_live_tokens_only,
    a_rotation_is_one_transaction,
    the_audit_log_is_append_only,
    last_uses_arrive_in_batches_and_never_go_back,
    the_account_switch_is_kept,
    the_audit_log_is_read_by_time_and_token,
    a_copy_reads_back_alike_and_needs_an_empty_destination,
    a_schema_newer_than_this_warden_is_refused,
    another_instance_refuses_a_disabled_token,
    the_token_pages_form_state_is_shared_by_instances,
);

const ACCOUNT: &str = "acme";
const ALICE_ID: &str = "1ed2e571-bacc-41a8-85aa-2285a69f6ad3";
const READ: &str = "storage:logs:read";
/// Alice may run apps in staging.
const RUN: &str = "app-engine:apps:run";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 10, 0, 0).unwrap() + Duration::milliseconds(123)
}

fn record(owner: &str, name: &str) -> TokenRecord {
    let secret = TokenSecret::generate("dt0s16").unwrap();
    TokenRecord {
        id: secret.id(),
        name: name.into(),
        tags: vec!["ci".into(), "näme".into()],
        owner: Owner { id: owner.into(), service_user: false },
        creator: owner.into(),
        account: ACCOUNT.into(),
        environments: vec!["prod".into(), "dev".into()],
        scopes: vec![READ.into(), "app-engine:apps:run".into()],
        created_at: t0(),
        expires_at: Some(t0() + Duration::days(30)),
        status: Status::Active,
        last_used_at: None,
        rotated_from: None,
        rotated_to: None,
        digest: secret.digest(),
    }
}

fn audit(action: &str, token: Option<&TokenId>, at: DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        at,
        account: ACCOUNT.into(),
        actor: "alice@acme.example".into(),
        action: action.into(),
        token: token.cloned(),
        new_token: None,
        outcome: "ok".into(),
    }
}

fn insert(store: &dyn TokenStore, record: &TokenRecord) {
    store.insert(record, Some(10), &audit("create", Some(&record.id), record.created_at)).unwrap();
}

fn a_token_reads_back_as_written(backend: &Backend) {
    let store = backend.open();
    let mut written = record("u1", "first");
    written.last_used_at = Some(t0() + Duration::seconds(5));
    written.expires_at = None;
    insert(&*store, &written);
    let second = record("u1", "second");
    insert(&*store, &second);
    let (read, deleted) = store.get(&written.id).unwrap().expect("the token is there");
    assert!(!deleted);
    assert_eq!(format!("{read:?}"), format!("{written:?}"));
    assert!(read.digest.matches(&written.digest));
    assert!(store.get(&TokenId("dt0s16.NOSUCHTOKEN".into())).unwrap().is_none());
    let listed: Vec<TokenId> = store.list(ACCOUNT, Some("u1")).unwrap().into_iter().map(|r| r.id).collect();
    let mut expected = vec![written.id.clone(), second.id.clone()];
    expected.sort();
    assert_eq!(listed, expected, "one creation time: ordered by id");
    assert!(store.list(ACCOUNT, Some("u2")).unwrap().is_empty());
    assert_eq!(store.list(ACCOUNT, None).unwrap().len(), 2);
}

fn twenty_creates_racing_on_two_instances_make_exactly_ten(backend: &Backend) {
    let instances = [backend.open(), backend.open()];
    let barrier = Arc::new(Barrier::new(20));
    let racers: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&instances[i % 2]);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let token = record("racer", &format!("racer {i}"));
                barrier.wait();
                store.insert(&token, Some(10), &audit("create", Some(&token.id), t0()))
            })
        })
        .collect();
    let results: Vec<_> = racers.into_iter().map(|racer| racer.join().unwrap()).collect();
    let refused = results.iter().filter(|r| matches!(r, Err(StoreError::LimitReached(10)))).count();
    assert_eq!((results.iter().filter(|r| r.is_ok()).count(), refused), (10, 10), "{results:?}");
    assert_eq!(instances[0].list(ACCOUNT, Some("racer")).unwrap().len(), 10);
    assert_eq!(instances[1].audit_log(ACCOUNT, None, None).unwrap().len(), 10, "one audit entry per token made");
}

fn a_deleted_token_frees_its_slot_but_keeps_its_id(backend: &Backend) {
    let store = backend.open();
    let tokens: Vec<TokenRecord> = (0..10).map(|i| record("u1", &format!("t{i}"))).collect();
    for token in &tokens {
        insert(&*store, token);
    }
    let eleventh = record("u1", "eleventh");
    let full = store.insert(&eleventh, Some(10), &audit("create", Some(&eleventh.id), t0()));
    assert!(matches!(full, Err(StoreError::LimitReached(10))), "{full:?}");
    assert!(store.get(&eleventh.id).unwrap().is_none(), "a refused insert leaves nothing");
    store.change(&tokens[0].id, &Change::Delete, &audit("delete", Some(&tokens[0].id), t0())).unwrap();
    insert(&*store, &eleventh);
    assert_eq!(store.get(&tokens[0].id).unwrap().map(|(_, deleted)| deleted), Some(true));
    let again = store.insert(&tokens[0], None, &audit("create", Some(&tokens[0].id), t0()));
    assert!(matches!(again, Err(StoreError::Database(_))), "a deleted token's id is taken for good: {again:?}");
    assert_eq!(store.list(ACCOUNT, Some("u1")).unwrap().len(), 10);
}

fn changes_reach_live_tokens_only(backend: &Backend) {
    let store = backend.open();
    let token = record("u1", "t");
    insert(&*store, &token);
    let change = |change: Change| store.change(&token.id, &change, &audit("change", Some(&token.id), t0()));
    change(Change::Status(Status::Disabled)).unwrap();
    let later = t0() + Duration::days(1) + Duration::milliseconds(7);
    change(Change::Expiry(Some(later))).unwrap();
    let (read, _) = store.get(&token.id).unwrap().unwrap();
    assert_eq!((read.status, read.expires_at), (Status::Disabled, Some(later)));
    change(Change::Expiry(None)).unwrap();
    assert_eq!(store.get(&token.id).unwrap().unwrap().0.expires_at, None);
    change(Change::Delete).unwrap();
    for refused in [change(Change::Delete), change(Change::Status(Status::Active))] {
        assert!(matches!(refused, Err(StoreError::NotFound(_))), "{refused:?}");
    }
    let unknown = TokenId("dt0s16.AAAAAAAAAAAAAAAAAAAAAAAA".into());
    let refused = store.change(&unknown, &Change::Delete, &audit("delete", Some(&unknown), t0()));
    assert!(matches!(refused, Err(StoreError::NotFound(_))));
    assert_eq!(store.audit_log(ACCOUNT, None, None).unwrap().len(), 5, "refused changes write no audit entry");
}

fn a_rotation_is_one_transaction(backend: &Backend) {
    let store = backend.open();
    let (old, new, orphan) = (record("u1", "old"), record("u1", "new"), record("u1", "orphan"));
    insert(&*store, &old);
    let stop = t0() + Duration::hours(1);
    let mut new = new;
    new.rotated_from = Some(old.id.clone());
    store.rotate(&old.id, stop, &new, &audit("rotate", Some(&old.id), t0())).unwrap();
    let (rotated, _) = store.get(&old.id).unwrap().unwrap();
    assert_eq!((rotated.expires_at, rotated.rotated_to.as_ref()), (Some(stop), Some(&new.id)));
    assert_eq!(store.get(&new.id).unwrap().unwrap().0.rotated_from.as_ref(), Some(&old.id));
    let twice = store.rotate(&old.id, stop, &orphan, &audit("rotate", Some(&old.id), t0()));
    assert!(matches!(twice, Err(StoreError::AlreadyRotated(_))), "{twice:?}");
    let missing = TokenId("dt0s16.BBBBBBBBBBBBBBBBBBBBBBBB".into());
    let refused = store.rotate(&missing, stop, &orphan, &audit("rotate", Some(&missing), t0()));
    assert!(matches!(refused, Err(StoreError::NotFound(_))), "{refused:?}");
    assert!(store.get(&orphan.id).unwrap().is_none(), "no new token without the old one's change");
    assert_eq!(store.audit_log(ACCOUNT, None, None).unwrap().len(), 2);
}

fn the_audit_log_is_append_only(backend: &Backend) {
    let store = backend.open();
    let token = record("u1", "t");
    insert(&*store, &token);
    for sql in ["UPDATE audit SET actor = 'mallory'", "DELETE FROM audit"] {
        let refused = (backend.raw)(sql).expect_err(sql);
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
    assert_eq!(store.audit_log(ACCOUNT, None, None).unwrap()[0].actor, "alice@acme.example");
}

fn last_uses_arrive_in_batches_and_never_go_back(backend: &Backend) {
    let store = backend.open();
    let (a, b) = (record("u1", "a"), record("u1", "b"));
    insert(&*store, &a);
    insert(&*store, &b);
    let (early, late) = (t0() + Duration::minutes(1), t0() + Duration::minutes(2));
    let unknown = TokenId("dt0s16.CCCCCCCCCCCCCCCCCCCCCCCC".into());
    store.touch(&[(a.id.clone(), late), (b.id.clone(), early), (unknown, late)]).unwrap();
    store.touch(&[(a.id.clone(), early)]).unwrap();
    let used = |id: &TokenId| store.get(id).unwrap().unwrap().0.last_used_at;
    assert_eq!((used(&a.id), used(&b.id)), (Some(late), Some(early)));
}

fn the_account_switch_is_kept(backend: &Backend) {
    let store = backend.open();
    assert_eq!(store.account_switch(ACCOUNT).unwrap(), None);
    store.set_account_switch(ACCOUNT, true, None).unwrap();
    store.set_account_switch(ACCOUNT, false, Some(&audit("deny_tokens", None, t0()))).unwrap();
    assert_eq!(backend.open().account_switch(ACCOUNT).unwrap(), Some(false));
    assert_eq!(store.account_switch("other").unwrap(), None);
    assert_eq!(store.audit_log(ACCOUNT, None, None).unwrap().len(), 1, "seeding the switch is not audited");
}

fn the_audit_log_is_read_by_time_and_token(backend: &Backend) {
    let store = backend.open();
    let (a, b) = (record("u1", "a"), record("u1", "b"));
    let entries = [
        audit("create", Some(&a.id), t0()),
        audit("create", Some(&b.id), t0() + Duration::seconds(1)),
        audit("allow_tokens", None, t0() + Duration::seconds(2)),
        audit("disable", Some(&a.id), t0() + Duration::seconds(3)),
        AuditEntry { new_token: Some(b.id.clone()), ..audit("duplicate", Some(&a.id), t0() + Duration::seconds(4)) },
        AuditEntry { account: "beta".into(), ..audit("create", Some(&a.id), t0() + Duration::seconds(5)) },
    ];
    for entry in &entries {
        store.record_audit(entry).unwrap();
    }
    let actions = |since: Option<DateTime<Utc>>, token: Option<&TokenId>| -> Vec<String> {
        store.audit_log(ACCOUNT, since, token).unwrap().into_iter().map(|e| e.action).collect()
    };
    assert_eq!(actions(None, None), ["create", "create", "allow_tokens", "disable", "duplicate"]);
    assert_eq!(actions(None, Some(&a.id)), ["create", "disable", "duplicate"]);
    assert_eq!(actions(None, Some(&b.id)), ["create", "duplicate"], "the token a duplicate made counts too");
    assert_eq!(actions(Some(t0() + Duration::seconds(1)), None), ["create", "allow_tokens", "disable", "duplicate"]);
    assert_eq!(actions(Some(t0() + Duration::seconds(2)), Some(&b.id)), ["duplicate"]);
    assert_eq!(store.audit_log("beta", None, None).unwrap().len(), 1, "each account sees its own entries");
    let first = &store.audit_log(ACCOUNT, None, None).unwrap()[0];
    assert_eq!((first.at, first.outcome.as_str(), first.token.as_ref()), (t0(), "ok", Some(&a.id)));
}

/// A store with some of everything: tokens live, disabled, deleted and used, two accounts, a
/// dozen audit entries.
fn fill(store: &dyn TokenStore) {
    store.set_account_switch(ACCOUNT, true, None).unwrap();
    store.set_account_switch("beta", false, Some(&audit("deny_tokens", None, t0()))).unwrap();
    let tokens: Vec<TokenRecord> = (0..6).map(|i| record(&format!("u{}", i % 2), &format!("token {i}"))).collect();
    for token in &tokens {
        insert(store, token);
    }
    store
        .change(&tokens[1].id, &Change::Status(Status::Disabled), &audit("disable", Some(&tokens[1].id), t0()))
        .unwrap();
    store.change(&tokens[2].id, &Change::Delete, &audit("delete", Some(&tokens[2].id), t0())).unwrap();
    store.touch(&[(tokens[3].id.clone(), t0() + Duration::milliseconds(999))]).unwrap();
    store.record_audit(&AuditEntry { outcome: "token_limit".into(), ..audit("create", None, t0()) }).unwrap();
}

fn a_copy_reads_back_alike_and_needs_an_empty_destination(backend: &Backend) {
    let source = backend.open();
    fill(&*source);
    let destination = Backend::sqlite();
    let copied = copy(&backend.database, &destination.database).unwrap();
    assert_eq!((copied.accounts, copied.tokens, copied.deleted, copied.audit), (2, 6, 1, 10));
    let (before, after) = (source.export().unwrap(), destination.open().export().unwrap());
    assert_eq!(digest(&before), copied.digest);
    assert_eq!(digest(&after), copied.digest);
    assert_eq!(format!("{before:?}"), format!("{after:?}"));
    let refused = copy(&destination.database, &backend.database).unwrap_err().to_string();
    assert!(refused.contains(warden::token::NOT_EMPTY), "{refused}");
    assert_eq!(digest(&source.export().unwrap()), copied.digest, "a refused copy changes nothing");
    let mut changed = before.clone();
    changed.tokens[0].0.name.push('!');
    assert_ne!(digest(&changed), copied.digest, "the digest covers every field");
}

fn a_schema_newer_than_this_warden_is_refused(backend: &Backend) {
    drop(backend.open());
    let newer = match backend.announces_changes {
        true => "INSERT INTO warden_schema_version (version) VALUES (99)",
        false => "PRAGMA user_version = 99",
    };
    (backend.raw)(newer).unwrap();
    for schema in [Schema::Expect, Schema::Migrate] {
        let refused = backend.database.open(schema).err().expect("a newer schema is refused");
        let message = refused.to_string();
        assert!(message.contains("newer than this warden knows"), "{message}");
        if backend.announces_changes {
            assert!(matches!(refused, DatabaseError::Schema { .. }), "{refused:?}");
        }
    }
}

fn example() -> Engine {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/example");
    let files = TenantFiles::read(&dir).unwrap();
    Engine::new(load(&files, Catalog::builtin()).tenant.expect("the example tenant loads"), Catalog::builtin())
}

fn service(store: Arc<dyn TokenStore>, propagation: i64) -> TokenService {
    let settings = Settings { propagation: Duration::seconds(propagation), ..Settings::default() };
    TokenService::new(store, Arc::new(SystemClock), example(), Catalog::builtin(), settings).unwrap()
}

/// Instance B caches a token, instance A disables it: B refuses it within a second where the
/// store announces changes, and within the propagation bound (here 3 s) where it does not.
fn another_instance_refuses_a_disabled_token(backend: &Backend) {
    let (a, b) = (service(backend.open(), 3), service(backend.open(), 3));
    let engine = a.engine();
    let alice = engine.tenant().find_user(ALICE_ID).unwrap();
    let new = NewToken { name: "shared".into(), scopes: vec![RUN.into()], ..NewToken::default() };
    let created = a.create(alice, new).unwrap();
    let header = format!("Bearer {}", created.secret.expose());
    let request =
        CheckRequest { permission: RUN.into(), environment: Some("staging".into()), ..CheckRequest::default() };
    let reason = |service: &TokenService| service.check(&header, &request).unwrap().reason.as_str();
    assert_eq!(reason(&b), "ok");
    a.disable(alice, &created.record.id).unwrap();
    assert_eq!(reason(&a), "token_disabled", "at once where it was done");
    let disabled_at = Instant::now();
    if !backend.announces_changes {
        assert_eq!(reason(&b), "ok", "B's copy stands until the bound");
    }
    while reason(&b) == "ok" {
        assert!(disabled_at.elapsed() < Elapsed::from_secs(5), "B still allows the disabled token");
        std::thread::sleep(Elapsed::from_millis(20));
    }
    let took = disabled_at.elapsed();
    assert_eq!(reason(&b), "token_disabled");
    let bound = if backend.announces_changes { Elapsed::from_secs(1) } else { Elapsed::from_millis(3_500) };
    assert!(took < bound, "B refused it after {took:?}");
}

fn the_token_pages_form_state_is_shared_by_instances(backend: &Backend) {
    let (a, b) = (backend.open(), backend.open());
    let key = a.ui_form_key(&[7; 32]).unwrap();
    assert_eq!(key, [7; 32], "the first candidate is kept");
    assert_eq!(b.ui_form_key(&[9; 32]).unwrap(), key, "every instance signs with the same key");
    let (now, later) = (t0(), t0() + Duration::minutes(10));
    assert!(a.spend_ui_form_token("nonce-1", later, now).unwrap());
    assert!(!b.spend_ui_form_token("nonce-1", later, now).unwrap(), "a replay through another instance");
    assert!(a.spend_ui_form_token("nonce-2", now, now).unwrap());
    let after = now + Duration::minutes(1);
    assert!(b.spend_ui_form_token("nonce-2", later, after).unwrap(), "marks past their time are dropped");
}
