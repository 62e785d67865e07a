//! Platform tokens through the library (tokens.md §3–§6, decisions D19–D25): every lifecycle
//! rule allowed and refused (each refusal by its rule id, and found in the audit log), every row
//! of the check's table, propagation between services over one database, and the limit under
//! racing threads. Time is a `ManualClock`; the store is SQLite on a temp file.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::{Arc, Barrier};

use chrono::{DateTime, Duration, TimeZone, Utc};
use support::{TempDir, example_tenant, tenant_files};
use warden::catalog::Catalog;
use warden::eval::{AttrValue, Engine};
use warden::iam::{Principal, TenantFiles, load};
use warden::store::SqliteStore;
use warden::token::{
    Actor, Caller, CheckRequest, Created, DEFAULT_PREFIX, Duplication, Malformed, ManualClock, NewToken, Outcome,
    Rotation, Settings, ShownStatus, Status, TokenError, TokenId, TokenRecord, TokenSecret, TokenService, TokenStore,
    parse,
};

// --- Fixtures ---------------------------------------------------------------------------------

/// A small account: alice and bob are developers (alice with token rights, bob without any),
/// `admin` is the account admin. Two environments.
const SMALL: &str = r#"
[account]
id = "acme"
name = "ACME"

[[environment]]
id = "prod"

[[environment]]
id = "dev"

[[user]]
id = "u-alice"
email = "alice@acme.example"

[[user]]
id = "u-bob"
email = "bob@acme.example"

[[user]]
id = "u-admin"
email = "admin@acme.example"

[[group]]
id = "devs"
members = ["alice@acme.example"]

[[group]]
id = "readers"
members = ["bob@acme.example"]

[[group]]
id = "admins"
members = ["admin@acme.example"]

[[binding]]
policy = "devs"
groups = ["devs"]
level = "account"

[[binding]]
policy = "readers"
groups = ["readers"]
level = "account"

[[binding]]
policy = "admins"
groups = ["admins"]
level = "account"
"#;

/// Alice's rights: her own tokens, documents to read (but never to delete), and logs of two
/// clusters only.
const DEVS: &str = r#"ALLOW platform-token:tokens:write;
ALLOW document:documents:read;
DENY document:documents:delete;
ALLOW storage:logs:read WHERE storage:k8s.cluster.name IN ("a", "b");
"#;

/// The same, after an admin took document reading away.
const DEVS_EDITED: &str = r#"ALLOW platform-token:tokens:write;
DENY document:documents:delete;
ALLOW storage:logs:read WHERE storage:k8s.cluster.name IN ("a", "b");
"#;

const READERS: &str = "ALLOW document:documents:read;\n";
const ADMINS: &str = "ALLOW platform-token:tokens:write, platform-token:tokens:manage;\n";

fn engine_from(config: &str, devs: &str) -> Engine {
    let files = tenant_files(config, &[("devs", devs), ("readers", READERS), ("admins", ADMINS)], &[]);
    let loaded = load(&files, Catalog::builtin());
    loaded.tenant.map(|t| Engine::new(t, Catalog::builtin())).unwrap_or_else(|| panic!("{:#?}", loaded.findings))
}

fn small() -> Engine {
    engine_from(SMALL, DEVS)
}

fn example() -> Engine {
    let files = TenantFiles::read(example_tenant()).unwrap();
    let tenant = load(&files, Catalog::builtin()).tenant.expect("the example tenant loads");
    Engine::new(tenant, Catalog::builtin())
}

/// A whole second, so the store's millisecond times round-trip exactly.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap()
}

struct Fx {
    service: TokenService,
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
    dir: TempDir,
}

impl Fx {
    fn new(engine: Engine) -> Fx {
        Fx::with(engine, Settings::default())
    }

    fn with(engine: Engine, settings: Settings) -> Fx {
        let dir = TempDir::new();
        let store = Arc::new(SqliteStore::open(&dir.join("tokens.db")).unwrap());
        let clock = Arc::new(ManualClock::new(t0()));
        let service = TokenService::new(store.clone(), clock.clone(), engine, Catalog::builtin(), settings).unwrap();
        Fx { service, store, clock, dir }
    }

    /// Another service (another process, as it were) over the same database and clock.
    fn other(&self, engine: Engine) -> TokenService {
        TokenService::new(self.store.clone(), self.clock.clone(), engine, Catalog::builtin(), Settings::default())
            .unwrap()
    }

    fn user(&self, email: &str) -> Principal {
        user_of(&self.service, email)
    }

    fn service_user(&self, name: &str) -> Principal {
        self.service.engine().tenant().find_service_user(name).unwrap()
    }

    fn now(&self) -> DateTime<Utc> {
        use warden::token::Clock;
        self.clock.now()
    }

    fn advance(&self, seconds: i64) {
        self.clock.advance(Duration::seconds(seconds));
    }

    fn create(&self, actor: &str, name: &str, scopes: &[&str]) -> Created {
        self.service.create(self.user(actor), token(name, scopes)).unwrap()
    }

    fn record(&self, id: &TokenId) -> TokenRecord {
        self.store.get(id).unwrap().expect("the token is stored").0
    }

    /// Whether the audit log holds `action` with `outcome` (by this actor, on this token if given).
    fn audited(&self, actor: &str, action: &str, token: Option<&TokenId>, outcome: &str) -> bool {
        self.store.audit_log("acme", None, None).unwrap().iter().any(|e| {
            e.actor == actor
                && e.action == action
                && e.outcome == outcome
                && token.is_none_or(|t| e.token.as_ref() == Some(t) || e.new_token.as_ref() == Some(t))
        })
    }

    #[track_caller]
    fn assert_audited(&self, actor: &str, action: &str, token: Option<&TokenId>, outcome: &str) {
        assert!(
            self.audited(actor, action, token, outcome),
            "no audit entry `{actor} {action} {token:?} {outcome}` in {:#?}",
            self.store.audit_log("acme", None, None).unwrap()
        );
    }
}

/// A user as `service`'s tenant knows them: each load of a tenant has its own handles.
fn user_of(service: &TokenService, email: &str) -> Principal {
    service.engine().tenant().find_user(email).unwrap()
}

fn token(name: &str, scopes: &[&str]) -> NewToken {
    NewToken { name: name.into(), scopes: scopes.iter().map(|s| s.to_string()).collect(), ..Default::default() }
}

/// The refusal's message, after checking its rule id.
#[track_caller]
fn refused<T: Debug>(result: Result<T, TokenError>, rule: &str) -> String {
    match result {
        Ok(value) => panic!("expected a refusal by `{rule}`, got {value:?}"),
        Err(error) => {
            assert_eq!(error.rule().as_str(), rule, "{error}");
            error.to_string()
        }
    }
}

fn bearer(created: &Created) -> String {
    format!("Bearer {}", created.secret.expose())
}

fn request(permission: &str, environment: Option<&str>) -> CheckRequest {
    CheckRequest { permission: permission.into(), environment: environment.map(String::from), ..Default::default() }
}

fn check(service: &TokenService, header: &str, permission: &str, environment: Option<&str>) -> Outcome {
    service.check(header, &request(permission, environment)).unwrap()
}

#[track_caller]
fn assert_outcome(outcome: &Outcome, status: u16, reason: &str) {
    assert_eq!((outcome.status, outcome.reason.as_str()), (status, reason), "{outcome:?}");
    assert_eq!(outcome.allowed, status == 200, "{outcome:?}");
}

const READ: &str = "document:documents:read";
const ALICE: &str = "alice@acme.example";
const BOB: &str = "bob@acme.example";
const ADMIN: &str = "admin@acme.example";

// --- §3: create ---------------------------------------------------------------------------------

#[test]
fn the_limit_counts_every_token_not_deleted() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let soon = NewToken { expires_at: Some(fx.now() + Duration::hours(1)), ..token("soon", &[READ]) };
    let expiring = fx.service.create(alice, soon).unwrap();
    let disabled = fx.create(ALICE, "to disable", &[READ]);
    fx.service.disable(alice, &disabled.record.id).unwrap();
    for i in 2..10 {
        fx.create(ALICE, &format!("t{i}"), &[READ]);
    }
    fx.advance(2 * 3600);
    assert_eq!(fx.record(&expiring.record.id).shown_status(fx.now()), ShownStatus::Expired);
    assert_eq!(fx.service.list(alice, false).unwrap().len(), 10);

    let message = refused(fx.service.create(alice, token("eleventh", &[READ])), "token_limit");
    assert!(message.contains("10"), "{message}");
    fx.assert_audited(ALICE, "create", None, "token_limit");
    assert_eq!(fx.service.list(alice, false).unwrap().len(), 10, "the refused one was not stored");
    // The limit is per owner: another user still has every slot.
    fx.create(ADMIN, "admin's", &[READ]);

    // Deleting one (the expired one) frees a slot, and only one.
    fx.service.delete(alice, &expiring.record.id).unwrap();
    fx.create(ALICE, "in the freed slot", &[READ]);
    refused(fx.service.create(alice, token("again", &[READ])), "token_limit");
}

#[test]
fn the_limit_is_configurable() {
    let fx = Fx::with(small(), Settings { limit: 3, ..Settings::default() });
    let alice = fx.user(ALICE);
    let first = fx.create(ALICE, "1", &[READ]);
    fx.create(ALICE, "2", &[READ]);
    fx.create(ALICE, "3", &[READ]);
    refused(fx.service.create(alice, token("4", &[READ])), "token_limit");
    refused(fx.service.duplicate(alice, &first.record.id), "token_limit");
    fx.assert_audited(ALICE, "duplicate", Some(&first.record.id), "token_limit");
    assert_eq!(fx.service.list(alice, false).unwrap().len(), 3);
}

#[test]
fn names_count_characters_after_trimming() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    // 255 two-byte characters: 510 bytes, still 255 characters.
    let long = "é".repeat(255);
    let created = fx.service.create(alice, token(&format!("  {long}\t "), &[READ])).unwrap();
    assert_eq!(created.record.name, long, "stored trimmed");
    assert_eq!(fx.record(&created.record.id).name, long);

    let message = refused(fx.service.create(alice, token(&"é".repeat(256), &[READ])), "invalid_name");
    assert!(message.contains("256"), "{message}");
    fx.assert_audited(ALICE, "create", None, "invalid_name");
    refused(fx.service.create(alice, token("", &[READ])), "invalid_name");
    refused(fx.service.create(alice, token(" \t\n ", &[READ])), "invalid_name");

    let padded = fx.service.create(alice, token("  CI reader  ", &[READ])).unwrap();
    assert_eq!(fx.record(&padded.record.id).name, "CI reader");
    assert_eq!(fx.service.list(alice, false).unwrap().len(), 2, "refused names stored nothing");
}

#[test]
fn a_pasted_secret_is_never_kept_as_a_name_or_a_tag() {
    // A person pastes a token where its name goes: the secret would sit in the database in
    // clear and be shown to every admin in the list of the account's tokens.
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let pasted = fx.create(ALICE, "first", &[READ]).secret.expose().to_string();
    let secret = pasted.rsplit('.').next().unwrap().to_string();
    for name in [pasted.clone(), format!("CI {pasted}"), pasted.replace('.', "%2E")] {
        let message = refused(fx.service.create(alice, token(&name, &[READ])), "invalid_name");
        assert!(!message.contains(&secret), "{message}");
    }
    let tagged = NewToken { tags: vec!["ci".into(), format!("was {pasted}")], ..token("tagged", &[READ]) };
    refused(fx.service.create(alice, tagged), "invalid_name");
    let original = fx.service.list(alice, false).unwrap()[0].id.clone();
    let mut renamed = Duplication::default();
    renamed.name = Some(pasted.clone());
    refused(fx.service.duplicate_with(alice, &original, renamed), "invalid_name");
    let rotation = Rotation { name: Some(pasted.clone()), ..Rotation::default() };
    refused(fx.service.rotate(alice, &original, rotation), "invalid_name");
    assert_eq!(fx.service.list(alice, false).unwrap().len(), 1, "nothing was stored");
    // Text that only looks a little like a token is a name like any other.
    fx.create(ALICE, "dt0s16 reader for dt0 tools", &[READ]);
}

#[test]
fn names_hold_no_control_or_direction_characters() {
    // A name is shown in other people's terminals (`token list --all`) and pages: escapes would
    // clear an admin's screen or retitle it, a line break would forge a row, and a direction
    // override would show the name reversed.
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    for name in
        ["evil\u{1b}[2J\u{1b}]0;pwned\u{7}", "ci\ndt0s16.FAKE  bob  active", "a\tb", "x\u{202e}gnp.exe", "z\u{85}z"]
    {
        let message = refused(fx.service.create(alice, token(name, &[READ])), "invalid_name");
        assert!(message.contains("control"), "{message}");
    }
    let tagged = NewToken { tags: vec!["ok".into(), "bad\u{1b}[0m".into()], ..token("tagged", &[READ]) };
    refused(fx.service.create(alice, tagged), "invalid_name");
    assert!(fx.service.list(alice, false).unwrap().is_empty());
    fx.create(ALICE, "CI reader — prod (ü, 日本)", &[READ]);
}

#[test]
fn expiry_must_be_in_the_future_or_never() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let at = |offset: i64| NewToken { expires_at: Some(fx.now() + Duration::seconds(offset)), ..token("t", &[READ]) };
    refused(fx.service.create(alice, at(-1)), "expiry_in_past");
    refused(fx.service.create(alice, at(0)), "expiry_in_past");
    fx.assert_audited(ALICE, "create", None, "expiry_in_past");
    let soon = fx.service.create(alice, at(1)).unwrap();
    assert_eq!(fx.record(&soon.record.id).expires_at, Some(fx.now() + Duration::seconds(1)));
    let never = fx.service.create(alice, token("never", &[READ])).unwrap();
    assert_eq!(fx.record(&never.record.id).expires_at, None);
}

#[test]
fn environments_must_belong_to_the_account() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let envs =
        |list: &[&str]| NewToken { environments: list.iter().map(|e| e.to_string()).collect(), ..token("t", &[READ]) };
    // `staging` is an environment of the example tenant, not of this account.
    let message = refused(fx.service.create(alice, envs(&["staging"])), "unknown_environment");
    assert!(message.contains("staging"), "{message}");
    refused(fx.service.create(alice, envs(&["prod", "staging"])), "unknown_environment");
    fx.assert_audited(ALICE, "create", None, "unknown_environment");
    let ok = fx.service.create(alice, envs(&["prod", "dev"])).unwrap();
    assert_eq!(fx.record(&ok.record.id).environments, ["prod", "dev"]);
}

#[test]
fn scopes_and_environments_are_kept_once_each() {
    // A form of 64 KiB repeats one scope 1,500 times: the token kept every copy, and every
    // list of tokens and every check went through them all.
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let mut repeated = token("t", &[READ; 1500]);
    repeated.environments = ["prod", "dev", "prod"].repeat(500).iter().map(|e| e.to_string()).collect();
    let made = fx.service.create(alice, repeated).unwrap();
    let stored = fx.record(&made.record.id);
    assert_eq!((stored.scopes.len(), stored.environments.len()), (1, 2), "kept once each");
    assert_eq!((stored.scopes, stored.environments), (vec![READ.to_string()], vec!["prod".into(), "dev".into()]));
}

#[test]
fn scopes_must_be_catalog_permissions_of_token_services() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let typo = refused(fx.service.create(alice, token("t", &["document:documents:raed"])), "unknown_scope");
    assert!(typo.contains("did you mean `document:documents:read`?"), "{typo}");
    let unknown = refused(fx.service.create(alice, token("t", &["storage:lgos:read"])), "unknown_scope");
    assert!(unknown.contains("did you mean `storage:logs:read`?"), "{unknown}");
    for scope in ["deployment:activegates.groups:write", "hub:catalog:read"] {
        let message = refused(fx.service.create(alice, token("t", &[scope])), "unknown_scope");
        assert!(message.contains(scope) && message.contains("its service cannot be a token scope"), "{message}");
    }
    // One bad scope among good ones refuses the token.
    refused(fx.service.create(alice, token("t", &[READ, "hub:catalog:read"])), "unknown_scope");
    refused(fx.service.create(alice, token("t", &[])), "no_scopes");
    fx.assert_audited(ALICE, "create", None, "unknown_scope");
    fx.assert_audited(ALICE, "create", None, "no_scopes");
    assert!(fx.service.list(alice, false).unwrap().is_empty());
    // A scope the owner's policies do not grant is still a valid scope (rights are checked at use).
    fx.create(ALICE, "t", &[READ, "storage:logs:read", "platform-token:tokens:manage"]);
}

#[test]
fn the_account_switch_blocks_new_tokens_only() {
    let fx = Fx::new(small());
    let (alice, admin) = (fx.user(ALICE), fx.user(ADMIN));
    let existing = fx.create(ALICE, "existing", &[READ]);

    // Only an account admin flips it.
    refused(fx.service.set_account_switch(alice, false), "not_permitted");
    refused(fx.service.set_account_switch(fx.user(BOB), false), "not_permitted");
    fx.assert_audited(ALICE, "deny_tokens", None, "not_permitted");
    fx.create(ALICE, "still allowed", &[READ]);

    fx.service.set_account_switch(admin, false).unwrap();
    fx.assert_audited(ADMIN, "deny_tokens", None, "ok");
    refused(fx.service.create(alice, token("new", &[READ])), "tokens_disabled");
    refused(fx.service.create(admin, token("new", &[READ])), "tokens_disabled");
    refused(fx.service.duplicate(alice, &existing.record.id), "tokens_disabled");
    refused(fx.service.rotate(alice, &existing.record.id, Rotation::default()), "tokens_disabled");
    fx.assert_audited(ALICE, "create", None, "tokens_disabled");
    fx.assert_audited(ALICE, "duplicate", Some(&existing.record.id), "tokens_disabled");
    fx.assert_audited(ALICE, "rotate", Some(&existing.record.id), "tokens_disabled");
    // The rotation refused left the old token as it was.
    assert_eq!(fx.record(&existing.record.id).expires_at, None);

    // Existing tokens keep working, and are managed as before.
    assert_outcome(&check(&fx.service, &bearer(&existing), READ, None), 200, "ok");
    fx.service.disable(admin, &existing.record.id).unwrap();
    fx.service.enable(alice, &existing.record.id).unwrap();
    assert_outcome(&check(&fx.service, &bearer(&existing), READ, None), 200, "ok");

    fx.service.set_account_switch(admin, true).unwrap();
    fx.assert_audited(ADMIN, "allow_tokens", None, "ok");
    fx.create(ALICE, "allowed again", &[READ]);
}

#[test]
fn the_tenant_seeds_the_switch_once_then_the_database_holds_it() {
    let off = SMALL.replace("name = \"ACME\"", "name = \"ACME\"\nplatform_tokens = false");
    let fx = Fx::new(engine_from(&off, DEVS));
    refused(fx.service.create(fx.user(ALICE), token("t", &[READ])), "tokens_disabled");
    assert!(!fx.service.switch_differs_from_tenant().unwrap());
    fx.service.set_account_switch(fx.user(ADMIN), true).unwrap();
    // A new service over the same database: the file still says off, the database says on.
    let later = fx.other(engine_from(&off, DEVS));
    assert!(later.switch_differs_from_tenant().unwrap());
    later.create(user_of(&later, ALICE), token("t", &[READ])).unwrap();
}

#[test]
fn service_users_need_the_use_permission_for_their_email() {
    let fx = Fx::new(example());
    let alice = fx.user(ALICE);
    let (ci_bot, log_shipper) = (fx.service_user("ci-bot"), fx.service_user("log-shipper"));
    let for_bot = |bot| NewToken { service_user: Some(bot), ..token("pipeline", &["storage:events:write"]) };

    let created = fx.service.create(alice, for_bot(ci_bot)).unwrap();
    let record = fx.record(&created.record.id);
    assert_eq!(record.owner.id, "6f3105c0-e092-4073-a7ae-a09e09515d7c");
    assert!(record.owner.service_user);
    assert_eq!(record.creator, "1ed2e571-bacc-41a8-85aa-2285a69f6ad3");
    // The token acts as ci-bot: its policies (grail-ingest) allow writing events.
    let outcome = check(&fx.service, &bearer(&created), "storage:events:write", None);
    assert_outcome(&outcome, 200, "ok");
    assert_eq!(outcome.user.as_deref(), Some("6f3105c0-e092-4073-a7ae-a09e09515d7c@service.sso.dynatrace.com"));
    // The creator manages it.
    assert!(fx.service.list(alice, false).unwrap().iter().any(|r| r.id == created.record.id));

    let message = refused(fx.service.create(alice, for_bot(log_shipper)), "service_user_not_allowed");
    assert!(message.contains("e0816ad7-11a9-4427-8a8c-e0e5900df546@service.sso.dynatrace.com"), "{message}");
    fx.assert_audited(ALICE, "create", None, "service_user_not_allowed");
    // bob has no token rights at all.
    refused(fx.service.create(fx.user(BOB), for_bot(ci_bot)), "not_permitted");
    fx.assert_audited(BOB, "create", None, "not_permitted");
}

// --- §3: who manages what -----------------------------------------------------------------------

#[test]
fn admins_manage_every_token_owners_their_own() {
    // Example tenant: alice (sre, platform-admins), heidi (sre: tokens:write only), grace
    // (platform-admins: tokens:write and tokens:manage), bob (no token rights).
    let fx = Fx::new(example());
    let (alice, bob, grace, heidi) =
        (fx.user(ALICE), fx.user(BOB), fx.user("grace@acme.example"), fx.user("heidi@acme.example"));
    let a = fx.create(ALICE, "alice's", &["platform-token:tokens:write"]);
    let h = fx.create("heidi@acme.example", "heidi's", &["platform-token:tokens:write"]);
    let (a_id, h_id) = (&a.record.id, &h.record.id);

    refused(fx.service.disable(bob, a_id), "not_permitted");
    fx.assert_audited(BOB, "disable", Some(a_id), "not_permitted");
    refused(fx.service.delete(bob, a_id), "not_permitted");
    refused(fx.service.list(bob, false), "not_permitted");
    refused(fx.service.disable(heidi, a_id), "not_permitted");
    fx.assert_audited("heidi@acme.example", "disable", Some(a_id), "not_permitted");
    refused(fx.service.show(heidi, a_id), "not_permitted");
    refused(fx.service.list(heidi, true), "not_permitted");
    assert_outcome(&check(&fx.service, &bearer(&a), "platform-token:tokens:write", None), 200, "ok");

    let ids = |records: Vec<TokenRecord>| records.into_iter().map(|r| r.id).collect::<BTreeSet<_>>();
    assert_eq!(ids(fx.service.list(heidi, false).unwrap()), BTreeSet::from([h_id.clone()]));
    assert_eq!(fx.service.show(heidi, h_id).unwrap().id, *h_id);
    assert_eq!(ids(fx.service.list(grace, true).unwrap()), BTreeSet::from([a_id.clone(), h_id.clone()]));
    assert_eq!(ids(fx.service.list(grace, false).unwrap()), BTreeSet::new(), "without --all: her own");

    fx.service.disable(grace, a_id).unwrap();
    fx.assert_audited("grace@acme.example", "disable", Some(a_id), "ok");
    assert_outcome(&check(&fx.service, &bearer(&a), "platform-token:tokens:write", None), 403, "token_disabled");
    assert_eq!(fx.service.show(alice, a_id).unwrap().shown_status(fx.now()), ShownStatus::Disabled);
    fx.service.enable(grace, a_id).unwrap();
    assert_outcome(&check(&fx.service, &bearer(&a), "platform-token:tokens:write", None), 200, "ok");
    // An admin's reach does not mint tokens in someone else's name.
    refused(fx.service.duplicate(grace, h_id), "not_permitted");
    fx.service.delete(grace, h_id).unwrap();
    fx.assert_audited("grace@acme.example", "delete", Some(h_id), "ok");
    assert!(fx.service.list(heidi, false).unwrap().is_empty());
    // The owner manages her own.
    fx.service.disable(alice, a_id).unwrap();
    assert_eq!(fx.record(a_id).status, Status::Disabled);

    // D24: the admin reads the whole audit log; an owner the entries of her own tokens.
    let everything = fx.service.audit_log(grace, None, None).unwrap();
    assert!(everything.iter().any(|e| e.token.as_ref() == Some(h_id)));
    let more = fx.create("heidi@acme.example", "second", &["platform-token:tokens:write"]);
    let heidis = fx.service.audit_log(heidi, None, None).unwrap();
    let own =
        |e: &warden::token::AuditEntry| e.token.as_ref() == Some(&more.record.id) || e.token.as_ref() == Some(h_id);
    assert!(heidis.iter().any(|e| e.action == "delete") && heidis.iter().all(own), "{heidis:?}");
    assert!(everything.len() > heidis.len(), "alice's entries are not heidi's");
}

/// D24: an owner sees the entries of her own tokens, so also who deleted one of them.
#[test]
fn an_owner_sees_the_audit_of_her_deleted_token() {
    let fx = Fx::new(example());
    let heidi = fx.user("heidi@acme.example");
    let h = fx.create("heidi@acme.example", "heidi's", &["platform-token:tokens:write"]);
    fx.service.delete(fx.user("grace@acme.example"), &h.record.id).unwrap();
    let entries = fx.service.audit_log(heidi, None, None).unwrap();
    let actions: Vec<(&str, &str)> = entries.iter().map(|e| (e.actor.as_str(), e.action.as_str())).collect();
    assert_eq!(actions, [("heidi@acme.example", "create"), ("grace@acme.example", "delete")]);
}

// --- §3: duplicate, rotate, set expiry, delete --------------------------------------------------

#[test]
fn duplicate_copies_everything_but_name_and_secret() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let original = fx
        .service
        .create(
            alice,
            NewToken {
                environments: vec!["dev".into()],
                expires_at: Some(t0() + Duration::days(30)),
                tags: vec!["ci".into()],
                ..token("K8s operator", &[READ, "storage:logs:read"])
            },
        )
        .unwrap();
    fx.service.disable(alice, &original.record.id).unwrap();
    fx.advance(60);
    let copy = fx.service.duplicate(alice, &original.record.id).unwrap();
    let (old, new) = (fx.record(&original.record.id), fx.record(&copy.record.id));
    assert_eq!(new.name, "Duplicate of: K8s operator");
    assert_ne!(new.id, old.id);
    assert_ne!(copy.secret.expose(), original.secret.expose());
    assert_ne!(new.digest, old.digest);
    assert_eq!((&new.scopes, &new.environments, &new.tags), (&old.scopes, &old.environments, &old.tags));
    assert_eq!((new.expires_at, &new.owner), (old.expires_at, &old.owner));
    assert_eq!(new.status, Status::Active, "new tokens start active");
    assert_eq!(new.created_at, fx.now());
    fx.assert_audited(ALICE, "duplicate", Some(&new.id), "ok");
    assert_outcome(&check(&fx.service, &bearer(&copy), READ, Some("dev")), 200, "ok");
    assert_outcome(&check(&fx.service, &bearer(&original), READ, Some("dev")), 403, "token_disabled");

    // The name is cut to 255 characters.
    let long = fx.create(ALICE, &"x".repeat(255), &[READ]);
    let copy = fx.service.duplicate(alice, &long.record.id).unwrap();
    assert_eq!(copy.record.name.chars().count(), 255);
    assert_eq!(copy.record.name, format!("Duplicate of: {}", "x".repeat(255 - 14)));

    // It needs a free slot (alice has 4 of 10).
    for i in 0..6 {
        fx.create(ALICE, &format!("filler {i}"), &[READ]);
    }
    refused(fx.service.duplicate(alice, &long.record.id), "token_limit");
    fx.assert_audited(ALICE, "duplicate", Some(&long.record.id), "token_limit");

    // An expired token cannot be duplicated.
    fx.service.delete(alice, &copy.record.id).unwrap();
    fx.advance(31 * 24 * 3600);
    refused(fx.service.duplicate(alice, &original.record.id), "token_expired");
    fx.assert_audited(ALICE, "duplicate", Some(&original.record.id), "token_expired");
}

/// A duplicate made from an edited form (the token pages): the changes it gives, the rest the
/// original's, every create rule and D31 as for a plain duplicate, and the audit entry of both.
#[test]
fn a_duplicate_with_changes_keeps_every_rule_of_a_duplicate() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let original = fx.create(ALICE, "reader", &[READ]);
    let mut changes = Duplication::default();
    changes.name = Some("  second reader ".into());
    changes.expires_at = Some(Some(t0() + Duration::days(7)));
    changes.scopes = Some(vec![READ.into(), "storage:logs:read".into()]);
    changes.environments = Some(vec!["dev".into()]);
    let copy = fx.service.duplicate_with(alice, &original.record.id, changes.clone()).unwrap();
    let new = fx.record(&copy.record.id);
    assert_eq!(new.name, "second reader", "trimmed, as a created token's name");
    assert_eq!((new.expires_at, &new.environments), (Some(t0() + Duration::days(7)), &vec!["dev".to_string()]));
    assert_eq!(new.scopes, [READ, "storage:logs:read"]);
    assert_eq!(new.owner, original.record.owner);
    let entries = fx.service.audit_log(alice, None, Some(&copy.record.id)).unwrap();
    let made: Vec<_> = entries.iter().map(|e| (e.action.as_str(), e.token.as_ref(), e.new_token.as_ref())).collect();
    assert_eq!(made, [("duplicate", Some(&original.record.id), Some(&copy.record.id))]);

    // The create rules hold for what was changed.
    type Spoil = fn(&mut Duplication);
    let spoilt: [(Spoil, &str); 4] = [
        (|d| d.scopes = Some(vec!["storage:log:read".into()]), "unknown_scope"),
        (|d| d.environments = Some(vec!["qa".into()]), "unknown_environment"),
        (|d| d.name = Some(" ".into()), "invalid_name"),
        (|d| d.expires_at = Some(Some(t0() - Duration::days(1))), "expiry_in_past"),
    ];
    for (spoil, rule) in spoilt {
        let mut bad = changes.clone();
        spoil(&mut bad);
        refused(fx.service.duplicate_with(alice, &original.record.id, bad), rule);
        fx.assert_audited(ALICE, "duplicate", Some(&original.record.id), rule);
    }

    // D31: a rotated-out token is not duplicated, whatever the changes, even while it works.
    let overlap = Rotation { old_expires_at: Some(fx.now() + Duration::days(1)), ..Rotation::default() };
    fx.service.rotate(alice, &original.record.id, overlap).unwrap();
    refused(fx.service.duplicate_with(alice, &original.record.id, changes), "already_rotated");
    fx.assert_audited(ALICE, "duplicate", Some(&original.record.id), "already_rotated");
}

#[test]
fn rotate_defaults_to_a_dated_name_and_the_old_lifetime() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let dated = fx
        .service
        .create(
            alice,
            NewToken { expires_at: Some(t0() + Duration::days(30)), ..token("K8s operator 2026-01-02", &[READ]) },
        )
        .unwrap();
    let plain = fx.create(ALICE, "plain", &[READ]);
    fx.advance(10 * 24 * 3600); // 2026-12-07
    let rotated_at = fx.now();

    let rotated = fx.service.rotate(alice, &dated.record.id, Rotation::default()).unwrap();
    assert_eq!(rotated.record.name, "K8s operator 2026-12-07");
    assert_eq!(rotated.record.expires_at, Some(rotated_at + Duration::days(30)), "the old lifetime again");
    assert_ne!(rotated.secret.expose(), dated.secret.expose());
    assert_eq!(fx.record(&dated.record.id).expires_at, Some(rotated_at), "the old token stops now");
    fx.assert_audited(ALICE, "rotate", Some(&dated.record.id), "ok");
    assert_outcome(&check(&fx.service, &bearer(&dated), READ, None), 403, "token_expired");
    assert_outcome(&check(&fx.service, &bearer(&rotated), READ, None), 200, "ok");

    let rotated = fx.service.rotate(alice, &plain.record.id, Rotation::default()).unwrap();
    assert_eq!(rotated.record.name, "plain 2026-12-07");
    assert_eq!(rotated.record.expires_at, None, "never → never");

    // A chosen name and expiry; the name is trimmed like any.
    let chosen = fx
        .service
        .rotate(
            alice,
            &rotated.record.id,
            Rotation {
                name: Some("  chosen ".into()),
                expires_at: Some(Some(rotated_at + Duration::days(1))),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (chosen.record.name.as_str(), chosen.record.expires_at),
        ("chosen", Some(rotated_at + Duration::days(1)))
    );
    // Every create rule is re-checked: a new expiry in the past is refused.
    let past = Rotation { expires_at: Some(Some(rotated_at - Duration::days(1))), ..Default::default() };
    refused(fx.service.rotate(alice, &chosen.record.id, past), "expiry_in_past");
    fx.assert_audited(ALICE, "rotate", Some(&chosen.record.id), "expiry_in_past");
    assert_eq!(fx.record(&chosen.record.id).expires_at, Some(rotated_at + Duration::days(1)), "left as it was");
}

/// D20: only a trailing ` YYYY-MM-DD` is replaced; other date-like endings are kept.
#[test]
fn rotate_replaces_only_a_strict_trailing_date() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    for (name, rotated) in [("v 2026-1-2", "v 2026-1-2 2026-11-27"), ("v +2026-01-02", "v +2026-01-02 2026-11-27")] {
        let t = fx.create(ALICE, name, &[READ]);
        assert_eq!(fx.service.rotate(alice, &t.record.id, Rotation::default()).unwrap().record.name, rotated);
    }
}

#[test]
fn rotate_overlap_ends_no_later_than_the_old_expiry() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let expires = t0() + Duration::days(5);
    let old = fx.service.create(alice, NewToken { expires_at: Some(expires), ..token("old", &[READ]) }).unwrap();
    let id = &old.record.id;

    let beyond = Rotation { old_expires_at: Some(expires + Duration::seconds(1)), ..Default::default() };
    refused(fx.service.rotate(alice, id, beyond), "invalid_overlap");
    fx.assert_audited(ALICE, "rotate", Some(id), "invalid_overlap");
    let past = Rotation { old_expires_at: Some(fx.now() - Duration::seconds(1)), ..Default::default() };
    refused(fx.service.rotate(alice, id, past), "invalid_overlap");
    assert_eq!(fx.service.list(alice, false).unwrap().len(), 1, "refused rotations made nothing");

    let overlap = Rotation { old_expires_at: Some(fx.now() + Duration::days(1)), ..Default::default() };
    let new = fx.service.rotate(alice, id, overlap).unwrap();
    assert_eq!(fx.record(id).expires_at, Some(t0() + Duration::days(1)));
    fx.advance(23 * 3600);
    assert_outcome(&check(&fx.service, &bearer(&old), READ, None), 200, "ok");
    assert_outcome(&check(&fx.service, &bearer(&new), READ, None), 200, "ok");
    fx.advance(3600);
    assert_outcome(&check(&fx.service, &bearer(&old), READ, None), 403, "token_expired");
    assert_outcome(&check(&fx.service, &bearer(&new), READ, None), 200, "ok");

    // An overlap exactly up to the old expiry is allowed.
    let edge = fx
        .service
        .create(alice, NewToken { expires_at: Some(fx.now() + Duration::hours(2)), ..token("e", &[READ]) })
        .unwrap();
    let up_to = Rotation { old_expires_at: edge.record.expires_at, ..Default::default() };
    fx.service.rotate(alice, &edge.record.id, up_to).unwrap();
}

#[test]
fn rotate_works_at_the_limit_but_not_on_expired_tokens() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let first = fx.create(ALICE, "first", &[READ]);
    let short = fx
        .service
        .create(alice, NewToken { expires_at: Some(t0() + Duration::hours(1)), ..token("short", &[READ]) })
        .unwrap();
    for i in 2..10 {
        fx.create(ALICE, &format!("t{i}"), &[READ]);
    }
    refused(fx.service.create(alice, token("full", &[READ])), "token_limit");
    let rotated = fx.service.rotate(alice, &first.record.id, Rotation::default()).unwrap();
    assert_eq!(fx.service.list(alice, false).unwrap().len(), 11, "the old token still counts until deleted");
    assert_outcome(&check(&fx.service, &bearer(&rotated), READ, None), 200, "ok");

    fx.advance(2 * 3600);
    refused(fx.service.rotate(alice, &short.record.id, Rotation::default()), "token_expired");
    fx.assert_audited(ALICE, "rotate", Some(&short.record.id), "token_expired");
}

/// D31: one never-expiring token rotated again and again gives its owner no more tokens: a
/// rotated-out token cannot be rotated or duplicated again, and its successor waits until the
/// overlap is over.
#[test]
fn rotation_cannot_breed_tokens() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let original = fx.create(ALICE, "forever", &[READ]);
    let overlap = |fx: &Fx| Rotation { old_expires_at: Some(fx.now() + Duration::days(30)), ..Default::default() };
    let mut latest = original.record.id.clone();
    for _ in 0..15 {
        for old in [original.record.id.clone(), latest.clone()] {
            if let Ok(new) = fx.service.rotate(alice, &old, overlap(&fx)) {
                latest = new.record.id;
            }
        }
        let _ = fx.service.duplicate(alice, &original.record.id);
        fx.advance(3600);
    }
    let live = fx.service.list(alice, false).unwrap();
    let active = live.iter().filter(|r| r.shown_status(fx.now()) == ShownStatus::Active).count();
    assert_eq!((live.len(), active), (2, 2), "the original in its overlap and one successor: {live:#?}");

    let successor = live.iter().find(|r| r.id != original.record.id).unwrap().id.clone();
    let message = refused(fx.service.rotate(alice, &original.record.id, Rotation::default()), "already_rotated");
    assert!(message.contains(successor.as_str()), "names the successor: {message}");
    fx.assert_audited(ALICE, "rotate", Some(&original.record.id), "already_rotated");
    refused(fx.service.duplicate(alice, &original.record.id), "already_rotated");
    let message = refused(fx.service.rotate(alice, &successor, Rotation::default()), "rotation_in_progress");
    assert!(message.contains(original.record.id.as_str()), "names the predecessor: {message}");

    // Once the predecessor has gone (deleted here), the successor can be rotated.
    fx.service.delete(alice, &original.record.id).unwrap();
    fx.service.rotate(alice, &successor, overlap(&fx)).unwrap();
    // And once it has expired.
    fx.advance(30 * 24 * 3600 + 1);
    let newest =
        fx.service.list(alice, false).unwrap().into_iter().find(|r| r.rotated_from.as_ref() == Some(&successor));
    fx.service.rotate(alice, &newest.unwrap().id, Rotation::default()).unwrap();
}

/// D31: the overlap is `now` or at most 30 days ahead.
#[test]
fn rotation_overlap_is_at_most_thirty_days() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let forever = fx.create(ALICE, "forever", &[READ]);
    let too_long =
        Rotation { old_expires_at: Some(fx.now() + Duration::days(30) + Duration::seconds(1)), ..Default::default() };
    let message = refused(fx.service.rotate(alice, &forever.record.id, too_long), "invalid_overlap");
    assert!(message.contains("30 days"), "{message}");
    let longest = Rotation { old_expires_at: Some(fx.now() + Duration::days(30)), ..Default::default() };
    fx.service.rotate(alice, &forever.record.id, longest).unwrap();
    assert_eq!(fx.record(&forever.record.id).expires_at, Some(t0() + Duration::days(30)));
}

/// D31: a rotated-out token's expiry can be brought forward, never extended or cleared.
#[test]
fn a_rotated_out_token_can_only_be_brought_forward() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let old = fx.create(ALICE, "old", &[READ]);
    let id = &old.record.id;
    let overlap = Rotation { old_expires_at: Some(fx.now() + Duration::days(10)), ..Default::default() };
    fx.service.rotate(alice, id, overlap).unwrap();

    refused(fx.service.set_expiry(alice, id, None), "already_rotated");
    refused(fx.service.set_expiry(alice, id, Some(fx.now() + Duration::days(11))), "already_rotated");
    fx.assert_audited(ALICE, "set_expiry", Some(id), "already_rotated");
    assert_eq!(fx.record(id).expires_at, Some(t0() + Duration::days(10)), "left as it was");
    fx.service.set_expiry(alice, id, Some(fx.now() + Duration::days(10))).unwrap();
    fx.service.set_expiry(alice, id, Some(fx.now() + Duration::days(2))).unwrap();
    assert_eq!(fx.record(id).expires_at, Some(t0() + Duration::days(2)));
}

/// D31: the audit entry of a rotate or a duplicate names the old and the new token.
#[test]
fn rotate_and_duplicate_audit_both_ids() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let old = fx.create(ALICE, "old", &[READ]);
    let copy = fx.service.duplicate(alice, &old.record.id).unwrap();
    let new = fx.service.rotate(alice, &old.record.id, Rotation::default()).unwrap();
    let entries = fx.service.audit_log(alice, None, None).unwrap();
    let made: Vec<(&str, Option<&TokenId>, Option<&TokenId>)> = entries
        .iter()
        .filter(|e| e.action != "create")
        .map(|e| (e.action.as_str(), e.token.as_ref(), e.new_token.as_ref()))
        .collect();
    assert_eq!(
        made,
        [
            ("duplicate", Some(&old.record.id), Some(&copy.record.id)),
            ("rotate", Some(&old.record.id), Some(&new.record.id))
        ]
    );
    // Either id finds the entry.
    let by_new = fx.service.audit_log(alice, None, Some(&new.record.id)).unwrap();
    assert_eq!(by_new.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["rotate"]);
}

/// D32: through a token, no new token and no new expiry may outlive the calling token. A
/// person (the CLI's `--as`) and a never-expiring token have no such bound.
#[test]
fn a_token_cannot_mint_a_token_that_outlives_it() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let ends = t0() + Duration::days(10);
    let scopes = ["platform-token:tokens:write", READ];
    let caller = fx.service.create(alice, NewToken { expires_at: Some(ends), ..token("caller", &scopes) }).unwrap();
    let through = Actor { principal: alice, token: Some(&caller.record) };
    let expiring = |at: Option<DateTime<Utc>>| NewToken { expires_at: at, ..token("minted", &[READ]) };

    let message = refused(fx.service.create(through, expiring(None)), "expiry_beyond_caller");
    assert!(message.contains(caller.record.id.as_str()), "names the calling token: {message}");
    fx.assert_audited(ALICE, "create", None, "expiry_beyond_caller");
    refused(fx.service.create(through, expiring(Some(ends + Duration::seconds(1)))), "expiry_beyond_caller");
    fx.service.create(through, expiring(Some(ends))).unwrap();

    // Duplicate and rotate copy a lifetime the caller may not give.
    let forever = fx.create(ALICE, "forever", &[READ]);
    refused(fx.service.duplicate(through, &forever.record.id), "expiry_beyond_caller");
    refused(fx.service.rotate(through, &forever.record.id, Rotation::default()), "expiry_beyond_caller");
    let bounded = Rotation { expires_at: Some(Some(ends - Duration::days(1))), ..Default::default() };
    fx.service.rotate(through, &forever.record.id, bounded).unwrap();

    // A new expiry, `never` included.
    let other = fx.service.create(through, expiring(Some(ends - Duration::days(5)))).unwrap();
    refused(fx.service.set_expiry(through, &other.record.id, None), "expiry_beyond_caller");
    refused(fx.service.set_expiry(through, &other.record.id, Some(ends + Duration::days(1))), "expiry_beyond_caller");
    fx.service.set_expiry(through, &other.record.id, Some(ends)).unwrap();

    // In person there is no bound, nor through a token that never expires.
    fx.service.set_expiry(alice, &other.record.id, None).unwrap();
    let unbounded = fx.create(ALICE, "unbounded", &scopes);
    let through = Actor { principal: alice, token: Some(&unbounded.record) };
    fx.service.create(through, expiring(None)).unwrap();
}

/// One database may hold several accounts: each service reads the audit entries of its own.
#[test]
fn the_audit_log_is_the_served_accounts_own() {
    let fx = Fx::new(small());
    let other = fx.other(engine_from(&SMALL.replace(r#"id = "acme""#, r#"id = "globex""#), DEVS));
    let acme_alice = fx.user(ALICE);
    let globex_alice = other.engine().tenant().find_user(ALICE).unwrap();
    let acme = fx.service.create(acme_alice, token("acme's", &[READ])).unwrap();
    let globex = other.create(globex_alice, token("globex's", &[READ])).unwrap();
    other.set_account_switch(other.engine().tenant().find_user(ADMIN).unwrap(), false).unwrap();

    let tokens_of = |entries: Vec<warden::token::AuditEntry>| -> Vec<Option<TokenId>> {
        entries.into_iter().map(|e| e.token).collect()
    };
    let admin = fx.user(ADMIN);
    assert_eq!(tokens_of(fx.service.audit_log(admin, None, None).unwrap()), [Some(acme.record.id.clone())]);
    assert_eq!(tokens_of(fx.service.audit_log(acme_alice, None, None).unwrap()), [Some(acme.record.id)]);
    let globex_admin = other.engine().tenant().find_user(ADMIN).unwrap();
    assert_eq!(tokens_of(other.audit_log(globex_admin, None, None).unwrap()), [Some(globex.record.id), None]);
}

#[test]
fn set_expiry_takes_the_future_or_never() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let t = fx
        .service
        .create(alice, NewToken { expires_at: Some(t0() + Duration::hours(1)), ..token("t", &[READ]) })
        .unwrap();
    let id = &t.record.id;

    fx.service.set_expiry(alice, id, Some(t0() + Duration::days(2))).unwrap();
    assert_eq!(fx.record(id).expires_at, Some(t0() + Duration::days(2)));
    fx.assert_audited(ALICE, "set_expiry", Some(id), "ok");
    fx.advance(2 * 3600);
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 200, "ok");

    refused(fx.service.set_expiry(alice, id, Some(fx.now() - Duration::seconds(1))), "expiry_in_past");
    refused(fx.service.set_expiry(alice, id, Some(fx.now())), "expiry_in_past");
    fx.assert_audited(ALICE, "set_expiry", Some(id), "expiry_in_past");
    assert_eq!(fx.record(id).expires_at, Some(t0() + Duration::days(2)), "left as it was");

    fx.service.set_expiry(alice, id, None).unwrap();
    assert_eq!(fx.record(id).expires_at, None);
    refused(fx.service.set_expiry(fx.user(BOB), id, None), "not_permitted");

    let short = fx
        .service
        .create(alice, NewToken { expires_at: Some(fx.now() + Duration::hours(1)), ..token("s", &[READ]) })
        .unwrap();
    fx.advance(3600);
    refused(fx.service.set_expiry(alice, &short.record.id, None), "token_expired");
    fx.assert_audited(ALICE, "set_expiry", Some(&short.record.id), "token_expired");
    assert_eq!(fx.record(&short.record.id).shown_status(fx.now()), ShownStatus::Expired);
}

#[test]
fn delete_removes_a_token_for_good() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let t = fx.create(ALICE, "t", &[READ]);
    let keep = fx.create(ALICE, "keep", &[READ]);
    let id = &t.record.id;
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 200, "ok");

    refused(fx.service.delete(fx.user(BOB), id), "not_permitted");
    fx.service.delete(alice, id).unwrap();
    fx.assert_audited(ALICE, "delete", Some(id), "ok");
    let outcome = check(&fx.service, &bearer(&t), READ, None);
    assert_outcome(&outcome, 401, "invalid_token");
    assert_eq!((outcome.token_id, outcome.user), (None, None), "no hint which");
    let listed: Vec<TokenId> = fx.service.list(alice, false).unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(listed, std::slice::from_ref(&keep.record.id));
    assert!(fx.store.get(id).unwrap().expect("the row stays, its id never reused").1, "marked deleted");
    refused(fx.service.delete(alice, id), "unknown_token");
    refused(fx.service.show(alice, id), "unknown_token");
    refused(fx.service.enable(alice, id), "unknown_token");
    refused(fx.service.duplicate(alice, id), "unknown_token");
}

// --- §4: the check, row by row -----------------------------------------------------------------

#[test]
fn check_401_for_a_header_that_is_not_bearer() {
    let fx = Fx::new(small());
    let t = fx.create(ALICE, "t", &[READ]);
    let secret = t.secret.expose();
    for header in [
        String::new(),
        "Bearer".into(),
        "Bearer ".into(),
        secret.into(),
        format!("Basic {secret}"),
        format!("Token {secret}"),
        format!("Bearer {secret} extra"),
    ] {
        let outcome = check(&fx.service, &header, READ, None);
        assert_outcome(&outcome, 401, "invalid_token");
        assert_eq!(outcome.token_id, None);
    }
    // The scheme is case-insensitive (RFC 7235).
    assert_outcome(&check(&fx.service, &format!("bearer {secret}"), READ, None), 200, "ok");
}

#[test]
fn check_401_for_a_malformed_token_or_a_bad_checksum() {
    let fx = Fx::new(small());
    let t = fx.create(ALICE, "t", &[READ]);
    let text = t.secret.expose().to_string();
    let mut flipped = text.clone();
    let replacement = if text.as_bytes()[50] == b'A' { "B" } else { "A" };
    flipped.replace_range(50..51, replacement);
    assert_eq!(parse(&flipped).err(), Some(Malformed::Checksum));
    let malformed = [
        "dt0s16.short.secret".to_string(),
        text.to_lowercase(),
        text[..text.len() - 1].to_string(),
        format!("{text}A"),
        text.replacen("dt0s16", "xx0s16", 1),
        text.replacen('.', ":", 1),
    ];
    for token in malformed.iter().chain([&flipped]) {
        let outcome = check(&fx.service, &format!("Bearer {token}"), READ, None);
        assert_outcome(&outcome, 401, "invalid_token");
        assert_eq!(outcome.token_id, None, "{token}");
    }
}

#[test]
fn check_401_for_an_unknown_token_id() {
    let fx = Fx::new(small());
    fx.create(ALICE, "t", &[READ]);
    let stranger = TokenSecret::generate(DEFAULT_PREFIX).unwrap();
    assert!(parse(stranger.expose()).is_ok(), "well formed, checksum right");
    let outcome = check(&fx.service, &format!("Bearer {}", stranger.expose()), READ, None);
    assert_outcome(&outcome, 401, "invalid_token");
    assert_eq!(outcome.token_id, None);
}

/// The token's own id with another secret whose checksum is right (D19: CRC-32 of everything
/// before it, 35 bits big-endian in base32).
fn forge(real: &str) -> String {
    const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut body = real[..real.len() - 7].to_string();
    let at = body.len() - 1;
    let replacement = if body.as_bytes()[at] == b'Q' { "R" } else { "Q" };
    body.replace_range(at..at + 1, replacement);
    let crc = u64::from(crc32fast::hash(body.as_bytes()));
    body.extend((0..7).rev().map(|i| BASE32[((crc >> (5 * i)) & 31) as usize] as char));
    body
}

#[test]
fn check_401_for_a_secret_that_does_not_match_the_id() {
    let fx = Fx::new(small());
    let t = fx.create(ALICE, "t", &[READ]);
    let forged = forge(t.secret.expose());
    let (id, digest) = parse(&forged).expect("the forged token is well formed with a valid checksum");
    assert_eq!(id, t.record.id, "same id");
    assert!(!digest.matches(&t.record.digest), "another digest");
    // Once uncached and once cached.
    for _ in 0..2 {
        let outcome = check(&fx.service, &format!("Bearer {forged}"), READ, None);
        assert_outcome(&outcome, 401, "invalid_token");
        assert_eq!((outcome.token_id.as_ref(), outcome.user.as_ref()), (None, None), "no hint which");
        assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 200, "ok");
    }
}

#[test]
fn check_401_for_a_deleted_token() {
    let fx = Fx::new(small());
    let t = fx.create(ALICE, "t", &[READ]);
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 200, "ok");
    fx.service.delete(fx.user(ALICE), &t.record.id).unwrap();
    let outcome = check(&fx.service, &bearer(&t), READ, None);
    assert_outcome(&outcome, 401, "invalid_token");
    assert_eq!(outcome.token_id, None);
}

#[test]
fn check_403_expired_is_judged_at_every_check_even_when_cached() {
    let settings = Settings { propagation: Duration::seconds(300), ..Settings::default() };
    let fx = Fx::with(small(), settings);
    let t = fx
        .service
        .create(fx.user(ALICE), NewToken { expires_at: Some(t0() + Duration::seconds(30)), ..token("t", &[READ]) })
        .unwrap();
    fx.advance(29);
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 200, "ok");
    fx.advance(1); // the record is cached for 300 s; the expiry is not
    let outcome = check(&fx.service, &bearer(&t), READ, None);
    assert_outcome(&outcome, 403, "token_expired");
    assert_eq!(outcome.token_id.as_ref(), Some(&t.record.id));
}

#[test]
fn check_403_disabled() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let t = fx.create(ALICE, "t", &[READ]);
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 200, "ok");
    fx.service.disable(alice, &t.record.id).unwrap();
    // At once in the process that disabled it, although its record was cached.
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 403, "token_disabled");
    fx.service.enable(alice, &t.record.id).unwrap();
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 200, "ok");
}

#[test]
fn check_403_wrong_resource() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let dev = fx.service.create(alice, NewToken { environments: vec!["dev".into()], ..token("dev", &[READ]) }).unwrap();
    assert_outcome(&check(&fx.service, &bearer(&dev), READ, Some("dev")), 200, "ok");
    assert_outcome(&check(&fx.service, &bearer(&dev), READ, Some("prod")), 403, "wrong_resource");
    // D22: narrowed to environments, asked at account level.
    assert_outcome(&check(&fx.service, &bearer(&dev), READ, None), 403, "wrong_resource");

    let wide = fx.create(ALICE, "wide", &[READ]);
    assert_outcome(&check(&fx.service, &bearer(&wide), READ, None), 200, "ok");
    assert_outcome(&check(&fx.service, &bearer(&wide), READ, Some("prod")), 200, "ok");
    // An environment the account does not have is a mistake to name, not a denial (D34).
    let unknown = fx.service.check(&bearer(&wide), &request(READ, Some("staging"))).unwrap_err();
    assert_eq!(unknown.check_reason().as_str(), "unknown_environment", "{unknown}");

    // A token of another account, checked in this one.
    let other = SMALL.replace("id = \"acme\"", "id = \"globex\"");
    let elsewhere = fx.other(engine_from(&other, DEVS));
    let foreign = elsewhere.create(user_of(&elsewhere, ALICE), token("foreign", &[READ])).unwrap();
    assert_outcome(&check(&elsewhere, &bearer(&foreign), READ, None), 200, "ok");
    let outcome = check(&fx.service, &bearer(&foreign), READ, None);
    assert_outcome(&outcome, 403, "wrong_resource");
    refused(fx.service.disable(fx.user(ADMIN), &foreign.record.id), "unknown_token");
}

#[test]
fn check_403_insufficient_scope() {
    let fx = Fx::new(small());
    let t = fx.create(ALICE, "t", &["storage:logs:read"]);
    // The owner's policies allow it; the token's scopes do not.
    let outcome = check(&fx.service, &bearer(&t), READ, None);
    assert_outcome(&outcome, 403, "insufficient_scope");
    assert_eq!(outcome.token_id.as_ref(), Some(&t.record.id));
}

#[test]
fn check_403_policy_denied_with_the_explanation_on_request() {
    let fx = Fx::new(small());
    let t = fx.create(ALICE, "t", &["document:documents:delete", "document:documents:write"]);
    for permission in ["document:documents:delete", "document:documents:write"] {
        // Explicit DENY, then no ALLOW at all.
        let plain = check(&fx.service, &bearer(&t), permission, None);
        assert_outcome(&plain, 403, "policy_denied");
        assert!(plain.explanation.is_none(), "only on request");
        assert_eq!(plain.user.as_deref(), Some(ALICE));
        let asked = CheckRequest { explain: true, ..request(permission, None) };
        let explained = fx.service.check(&bearer(&t), &asked).unwrap();
        assert_outcome(&explained, 403, "policy_denied");
        assert!(explained.explanation.is_some(), "explanation attached");
    }
    // Scopes grant nothing the owner lacks.
    let admin_scope = fx.create(ALICE, "manage", &["platform-token:tokens:manage"]);
    assert_outcome(
        &check(&fx.service, &bearer(&admin_scope), "platform-token:tokens:manage", None),
        403,
        "policy_denied",
    );
}

#[test]
fn check_200_records_last_use_at_most_once_a_minute() {
    let fx = Fx::new(small());
    let t = fx.create(ALICE, "t", &[READ]);
    let id = &t.record.id;
    assert_eq!(fx.record(id).last_used_at, None);
    let last_used = || fx.record(id).last_used_at;

    // One process checks twice within a minute: one update, the first. Dropping the service
    // waits for its background writer.
    let checker = fx.other(small());
    let outcome = check(&checker, &bearer(&t), READ, None);
    assert_outcome(&outcome, 200, "ok");
    assert_eq!((outcome.token_id.as_ref(), outcome.user.as_deref()), (Some(id), Some(ALICE)));
    fx.advance(30);
    assert_outcome(&check(&checker, &bearer(&t), READ, None), 200, "ok");
    drop(checker);
    assert_eq!(last_used(), Some(t0()));

    // A minute later it is written again, then not for another minute.
    let checker = fx.other(small());
    fx.advance(31);
    assert_outcome(&check(&checker, &bearer(&t), READ, None), 200, "ok");
    fx.advance(59);
    assert_outcome(&check(&checker, &bearer(&t), READ, None), 200, "ok");
    // A refused check is no use.
    fx.advance(120);
    assert_outcome(&check(&checker, &bearer(&t), "document:documents:delete", None), 403, "insufficient_scope");
    drop(checker);
    assert_eq!(last_used(), Some(t0() + Duration::seconds(61)));

    // The same service writes again once the minute has passed (polled: the writer is a thread).
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 200, "ok");
    let expected = Some(fx.now());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while last_used() != expected && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(last_used(), expected);
}

#[test]
fn check_403_conditional_with_the_residual() {
    let fx = Fx::new(small());
    let t = fx.create(ALICE, "logs", &["storage:logs:read"]);
    let outcome = check(&fx.service, &bearer(&t), "storage:logs:read", Some("prod"));
    assert_outcome(&outcome, 403, "conditional");
    let residual = outcome.residual.expect("the residual is attached");
    assert_eq!(residual, "ALLOW storage:logs:read WHERE storage:k8s.cluster.name IN (\"a\", \"b\");\n");

    let on = |cluster: &str| CheckRequest {
        attributes: BTreeMap::from([("storage:k8s.cluster.name".to_string(), AttrValue::One(cluster.into()))]),
        ..request("storage:logs:read", Some("prod"))
    };
    let allowed = fx.service.check(&bearer(&t), &on("a")).unwrap();
    assert_outcome(&allowed, 200, "ok");
    assert!(allowed.residual.is_none());
    assert_outcome(&fx.service.check(&bearer(&t), &on("c")).unwrap(), 403, "policy_denied");
}

#[test]
fn checks_run_in_the_order_of_the_table() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let t = fx
        .service
        .create(
            alice,
            NewToken {
                environments: vec!["dev".into()],
                expires_at: Some(t0() + Duration::hours(1)),
                ..token("t", &[READ])
            },
        )
        .unwrap();
    fx.service.disable(alice, &t.record.id).unwrap();
    // Disabled, wrong environment, wrong scope, denied by policy — and expired: 403 expired.
    let all_wrong = "document:documents:delete";
    fx.advance(3600);
    assert_outcome(&check(&fx.service, &bearer(&t), all_wrong, Some("prod")), 403, "token_expired");
    let u = fx.service.create(alice, NewToken { environments: vec!["dev".into()], ..token("u", &[READ]) }).unwrap();
    fx.service.disable(alice, &u.record.id).unwrap();
    assert_outcome(&check(&fx.service, &bearer(&u), all_wrong, Some("prod")), 403, "token_disabled");
    fx.service.enable(alice, &u.record.id).unwrap();
    assert_outcome(&check(&fx.service, &bearer(&u), all_wrong, Some("prod")), 403, "wrong_resource");
    assert_outcome(&check(&fx.service, &bearer(&u), all_wrong, Some("dev")), 403, "insufficient_scope");
}

// --- §5: propagation ---------------------------------------------------------------------------

#[test]
fn a_lost_permission_is_lost_at_once_here_and_within_the_bound_elsewhere() {
    let fx = Fx::new(small());
    let t = fx.create(ALICE, "t", &[READ]);
    let elsewhere = fx.other(small()).with_reload(Box::new(|| Some(engine_from(SMALL, DEVS_EDITED))));
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 200, "ok");
    assert_outcome(&check(&elsewhere, &bearer(&t), READ, None), 200, "ok");

    fx.service.replace_engine(engine_from(SMALL, DEVS_EDITED));
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 403, "policy_denied");
    fx.advance(30);
    assert_outcome(&check(&elsewhere, &bearer(&t), READ, None), 200, "ok");
    fx.advance(30);
    assert_outcome(&check(&elsewhere, &bearer(&t), READ, None), 200, "ok");
    fx.advance(1); // past the 60 s bound
    assert_outcome(&check(&elsewhere, &bearer(&t), READ, None), 403, "policy_denied");
    assert_outcome(&check(&fx.service, &bearer(&t), READ, None), 403, "policy_denied");
}

/// A cached token keeps its owner as found in the tenant it was first checked against: a tenant
/// put in its place is asked again, whoever now stands at the owner's old place.
#[test]
fn a_cached_token_finds_its_owner_again_in_a_replaced_tenant() {
    let fx = Fx::new(small());
    let t = fx.create(ALICE, "t", &[READ]);
    let outcome = check(&fx.service, &bearer(&t), READ, None);
    assert_outcome(&outcome, 200, "ok");
    assert_eq!(outcome.user.as_deref(), Some(ALICE));

    // Carol first: alice's old place among the users is now carol's.
    let reordered =
        SMALL.replacen("[[user]]", "[[user]]\nid = \"u-carol\"\nemail = \"carol@acme.example\"\n\n[[user]]", 1);
    fx.service.replace_engine(engine_from(&reordered, DEVS));
    let outcome = check(&fx.service, &bearer(&t), READ, None);
    assert_outcome(&outcome, 200, "ok");
    assert_eq!(outcome.user.as_deref(), Some(ALICE));

    // Without alice, nothing is allowed, at once and at every check after.
    let without_alice = SMALL
        .replace("[[user]]\nid = \"u-alice\"\nemail = \"alice@acme.example\"\n\n", "")
        .replace("members = [\"alice@acme.example\"]", "members = []");
    fx.service.replace_engine(engine_from(&without_alice, DEVS));
    for _ in 0..2 {
        let outcome = check(&fx.service, &bearer(&t), READ, None);
        assert_outcome(&outcome, 403, "policy_denied");
        assert_eq!(outcome.user, None);
    }
}

/// A principal is a handle into one load of the tenant: after a reload, a caller found before
/// it is found again through its token, and a bare handle of the old load is refused rather
/// than taken for whoever now stands at its place.
#[test]
fn a_reload_between_finding_the_caller_and_acting_keeps_the_same_person() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let t = fx.create(ALICE, "t", &[READ]);
    let Caller::Token { owner, token } = fx.service.caller(&bearer(&t)).unwrap() else { panic!("alice's token") };
    fx.service.replace_engine(small());

    let outcome = fx.service.check_caller(owner, &token, &request(READ, None)).unwrap();
    assert_outcome(&outcome, 200, "ok");
    assert_eq!(outcome.user.as_deref(), Some(ALICE));
    assert!(fx.service.permits(Actor { principal: owner, token: Some(&token) }, READ).unwrap());

    let message = refused(fx.service.list(alice, false), "bad_request");
    assert!(message.contains("another tenant"), "{message}");
    assert_eq!(fx.service.list(fx.user(ALICE), false).unwrap().len(), 1);
}

#[test]
fn disabling_and_deleting_reach_other_services_within_the_bound() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let (d, x) = (fx.create(ALICE, "to disable", &[READ]), fx.create(ALICE, "to delete", &[READ]));
    let elsewhere = fx.other(small());
    for t in [&d, &x] {
        assert_outcome(&check(&elsewhere, &bearer(t), READ, None), 200, "ok");
    }
    fx.service.disable(alice, &d.record.id).unwrap();
    fx.service.delete(alice, &x.record.id).unwrap();
    assert_outcome(&check(&fx.service, &bearer(&d), READ, None), 403, "token_disabled");
    assert_outcome(&check(&fx.service, &bearer(&x), READ, None), 401, "invalid_token");

    fx.advance(60);
    assert_outcome(&check(&elsewhere, &bearer(&d), READ, None), 200, "ok");
    assert_outcome(&check(&elsewhere, &bearer(&x), READ, None), 200, "ok");
    fx.advance(1);
    assert_outcome(&check(&elsewhere, &bearer(&d), READ, None), 403, "token_disabled");
    assert_outcome(&check(&elsewhere, &bearer(&x), READ, None), 401, "invalid_token");
}

#[test]
fn the_propagation_bound_is_at_most_five_minutes() {
    let bound = |seconds| Settings { propagation: Duration::seconds(seconds), ..Settings::default() }.validated();
    assert!(bound(300).is_ok());
    assert!(bound(0).is_ok());
    assert!(bound(301).is_err());
    assert!(bound(-1).is_err());
    assert!(Settings { prefix: "dt0S16".into(), ..Settings::default() }.validated().is_err());
}

// --- §6 / D25: the limit under racing creates --------------------------------------------------

/// Each service creates a token for `owner` (an email: each service has its own load of the
/// tenant, and so its own principal handles) at the same moment.
fn race(services: Vec<TokenService>, owner: &'static str) -> (usize, Vec<&'static str>) {
    let barrier = Arc::new(Barrier::new(services.len()));
    let handles: Vec<_> = services
        .into_iter()
        .enumerate()
        .map(|(i, service)| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let owner = user_of(&service, owner);
                barrier.wait();
                service.create(owner, token(&format!("racer {i}"), &[READ])).map(|_| ()).map_err(|e| e.rule().as_str())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    (results.iter().filter(|r| r.is_ok()).count(), results.into_iter().filter_map(Result::err).collect())
}

#[test]
fn twenty_threads_on_one_store_get_exactly_ten_tokens() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let services = (0..20).map(|_| fx.other(small())).collect();
    let (ok, refusals) = race(services, ALICE);
    assert_eq!(ok, 10);
    assert_eq!(refusals, ["token_limit"; 10]);
    assert_eq!(fx.service.list(alice, false).unwrap().len(), 10);
    let audit = fx.store.audit_log("acme", None, None).unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "create" && e.outcome == "ok").count(), 10);
    assert_eq!(audit.iter().filter(|e| e.action == "create" && e.outcome == "token_limit").count(), 10);
}

#[test]
fn twenty_connections_to_one_file_get_exactly_ten_tokens() {
    let fx = Fx::new(small());
    let alice = fx.user(ALICE);
    let services = (0..20)
        .map(|_| {
            let store = Arc::new(SqliteStore::open(&fx.dir.join("tokens.db")).unwrap());
            TokenService::new(store, fx.clock.clone(), small(), Catalog::builtin(), Settings::default()).unwrap()
        })
        .collect();
    let (ok, refusals) = race(services, ALICE);
    assert_eq!(ok, 10);
    assert_eq!(refusals, ["token_limit"; 10]);
    assert_eq!(fx.service.list(alice, false).unwrap().len(), 10);
}
