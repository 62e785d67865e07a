//! `warden token …`, `warden account tokens …` and `warden audit` run as users run them, on the
//! example tenant with a database in a temp dir: exit codes (D1), where the header comes from
//! (D2), JSON shapes, `token scan`, the account switch, the audit log, racing processes (D25),
//! killed processes, and where secrets may (once) and may not (anywhere else) appear.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use crate::support::{TempDir, copy_dir, example_tenant, stderr, stdout};
use warden::catalog::Catalog;
use warden::eval::Engine;
use warden::iam::{TenantFiles, load};
use warden::store::SqliteStore;
use warden::token::{
    CheckRequest, NewToken, Rotation, Settings, SystemClock, TokenId, TokenService, TokenStore, parse,
};

const ALICE: &str = "alice@acme.example";
const GRACE: &str = "grace@acme.example";
const BOB: &str = "bob@acme.example";
const READ: &str = "document:documents:read";

/// A fresh directory (the commands' working directory) holding the token database; removed on drop.
struct Sandbox {
    dir: TempDir,
    db: PathBuf,
    tenant: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = TempDir::new();
        let db = dir.join("tokens.db");
        Sandbox { dir, db, tenant: example_tenant().to_path_buf() }
    }

    /// A sandbox whose tenant is a copy of the example with `extra` appended to its warden.toml.
    fn with_tenant_config(extra: &str) -> Sandbox {
        let mut sandbox = Sandbox::new();
        let copy = sandbox.dir.join("tenant");
        copy_dir(example_tenant(), &copy);
        let config = std::fs::read_to_string(example_tenant().join("warden.toml")).unwrap();
        std::fs::write(copy.join("warden.toml"), format!("{config}\n{extra}")).unwrap();
        sandbox.tenant = copy;
        sandbox
    }

    /// The command with the tenant and database flags appended, environment variables that
    /// would change it removed, and `env` set.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
        command.args(args).arg("--tenant").arg(&self.tenant).arg("--db").arg(&self.db).current_dir(&self.dir);
        for name in
            ["WARDEN_DB", "WARDEN_TOKEN", "WARDEN_TOKEN_LIMIT", "WARDEN_TOKEN_PREFIX", "WARDEN_PROPAGATION_SECONDS"]
        {
            command.env_remove(name);
        }
        command.env("NO_COLOR", "1").envs(env.iter().copied());
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command
    }

    fn run_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut child = self.command(args, env).spawn().expect("the binary runs");
        // A command that does not read standard input may have closed it: ignore a broken pipe.
        let _ = child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes());
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, None, &[])
    }

    /// Creates a never-expiring, account-wide token and returns the token string.
    fn create(&self, actor: &str, name: &str, scopes: &[&str]) -> String {
        let mut args = vec!["token", "create", "--as", actor, "--name", name, "--account-wide", "--never-expires"];
        for scope in scopes {
            args.extend(["--scope", scope]);
        }
        let output = self.run(&args);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        stdout(&output).lines().next().unwrap().to_string()
    }
}

/// `token create` of an account-wide token that never expires.
fn create_args<'a>(actor: &'a str, name: &'a str, scope: &'a str) -> Vec<&'a str> {
    vec!["token", "create", "--as", actor, "--name", name, "--scope", scope, "--account-wide", "--never-expires"]
}

#[track_caller]
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", stdout(output), stderr(output));
}

/// A refusal: exit 1 and the rule id on standard error.
#[track_caller]
fn assert_refused(output: &Output, rule: &str) {
    assert_exit(output, 1);
    assert!(stderr(output).contains(&format!("`{rule}`")), "{}", stderr(output));
}

fn id_of(token: &str) -> String {
    parse(token).expect("a real token").0.as_str().to_string()
}

fn secret_of(token: &str) -> &str {
    token.split('.').nth(2).expect("three parts")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

// --- D1: exit codes ------------------------------------------------------------------------------

#[test]
fn refusals_exit_1_with_the_rule_and_unknown_ids_exit_2() {
    let sb = Sandbox::new();
    let token = sb.create(ALICE, "mine", &[READ]);
    let id = id_of(&token);
    let create = |actor: &str, scope: &str| sb.run(&create_args(actor, "t", scope));

    let output = create(ALICE, "hub:catalog:read");
    assert_refused(&output, "unknown_scope");
    let output = create(ALICE, "document:documents:raed");
    assert_refused(&output, "unknown_scope");
    assert!(stderr(&output).contains("did you mean `document:documents:read`?"), "{}", stderr(&output));
    assert_refused(&create(BOB, READ), "not_permitted");
    assert_refused(&sb.run(&["token", "disable", &id, "--as", BOB]), "not_permitted");
    let past = sb.run(&[
        "token",
        "create",
        "--as",
        ALICE,
        "--name",
        "t",
        "--scope",
        READ,
        "--env",
        "prod",
        "--expires",
        "2001-01-01",
    ]);
    assert_refused(&past, "expiry_in_past");
    assert_refused(&sb.run(&["token", "expire", &id, "--as", ALICE, "--at", "2001-01-01T00:00:00Z"]), "expiry_in_past");
    let limited = sb.run_with(&create_args(ALICE, "t", READ), None, &[("WARDEN_TOKEN_LIMIT", "1")]);
    assert_refused(&limited, "token_limit");
    assert_refused(
        &sb.run_with(&["token", "duplicate", &id, "--as", ALICE], None, &[("WARDEN_TOKEN_LIMIT", "1")]),
        "token_limit",
    );

    let unknown = "dt0s16.AAAAAAAAAAAAAAAAAAAAAAAA";
    for command in ["show", "disable", "enable", "delete", "duplicate"] {
        let output = sb.run(&["token", command, unknown, "--as", ALICE]);
        assert_exit(&output, 2);
        assert!(stderr(&output).contains(unknown), "{command}: {}", stderr(&output));
    }
    assert_exit(&sb.run(&["token", "expire", unknown, "--as", ALICE, "--never"]), 2);
    // Several ids: each is reported, the worst outcome is the exit code.
    let output = sb.run(&["token", "disable", &id, unknown, "--as", ALICE]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains(&format!("{id}: disabled")), "{}", stderr(&output));
    // An unknown principal, bad flags.
    assert_exit(&sb.run(&["token", "list", "--as", "nobody@acme.example"]), 2);
    assert_exit(&sb.run(&["token", "create", "--as", ALICE, "--name", "t", "--scope", READ]), 2);
    // Done: 0.
    assert_exit(&sb.run(&["token", "enable", &id, "--as", ALICE]), 0);
    assert_exit(&sb.run(&["token", "expire", &id, "--as", ALICE, "--at", "2099-01-01"]), 0);
    assert_exit(&sb.run(&["token", "delete", &id, "--as", ALICE]), 0);
    assert_exit(&sb.run(&["token", "show", &id, "--as", ALICE]), 2);
}

#[test]
fn the_deployment_table_of_the_tenant_sets_the_limit_and_prefix() {
    let sb = Sandbox::with_tenant_config("[deployment]\ntoken_limit = 1\ntoken_prefix = \"dt0x42\"\n");
    let token = sb.create(ALICE, "first", &[READ]);
    assert!(token.starts_with("dt0x42."), "{token}");
    assert_refused(&sb.run(&create_args(ALICE, "second", READ)), "token_limit");
    // The environment overrides the table.
    assert_exit(&sb.run_with(&create_args(ALICE, "second", READ), None, &[("WARDEN_TOKEN_LIMIT", "2")]), 0);

    let misspelt = Sandbox::with_tenant_config("[deployment]\ntoken_limt = 1\n");
    let output = misspelt.run(&create_args(ALICE, "first", READ));
    assert_exit(&output, 3);
    assert!(stderr(&output).contains("unknown field `token_limt`"), "{}", stderr(&output));
}

/// A setting that cannot be read is an error naming where it came from, never ignored.
#[test]
fn bad_settings_from_the_environment_exit_2_naming_the_variable() {
    let sb = Sandbox::new();
    for (variable, value) in [
        ("WARDEN_TOKEN_LIMIT", "abc"),
        ("WARDEN_TOKEN_LIMIT", "-1"),
        ("WARDEN_PROPAGATION_SECONDS", "abc"),
        ("WARDEN_PROPAGATION_SECONDS", "301"),
        ("WARDEN_TOKEN_PREFIX", "dt0S16"),
    ] {
        let output = sb.run_with(&create_args(ALICE, "t", READ), None, &[(variable, value)]);
        assert_exit(&output, 2);
        assert!(stderr(&output).contains(variable), "{variable}={value}: {}", stderr(&output));
    }
    assert!(!sb.db.exists(), "nothing was done");
    // The flags take the same values.
    let mut args = create_args(ALICE, "t", READ);
    args.extend(["--token-prefix", "dt0q77"]);
    let flagged = sb.run(&args);
    assert_exit(&flagged, 0);
    assert!(stdout(&flagged).starts_with("dt0q77."), "{}", stdout(&flagged));
}

#[test]
fn check_exits_0_1_4_and_reads_the_header_from_stdin_or_the_environment() {
    let sb = Sandbox::new();
    let token = sb.create(ALICE, "reader", &[READ, "storage:logs:read"]);
    let header = format!("Bearer {token}");
    // --header VALUE; alice may read documents in staging (builtin appengine-admin), not in prod.
    assert_exit(&sb.run(&["token", "check", "--header", &header, READ, "--env", "staging"]), 0);
    let denied = sb.run(&["token", "check", "--header", &header, READ, "--env", "prod"]);
    assert_exit(&denied, 1);
    assert!(stdout(&denied).contains("403 policy_denied"), "{}", stdout(&denied));
    assert_exit(&sb.run(&["token", "check", "--header", &header, "storage:spans:read", "--env", "prod"]), 1);
    let invalid = sb.run(&["token", "check", "--header", "Bearer dt0s16.nothing.here", READ]);
    assert_exit(&invalid, 4);
    assert!(stdout(&invalid).contains("401 invalid_token"), "{}", stdout(&invalid));

    // --header - reads standard input; a bare token is taken as `Bearer <token>`.
    assert_exit(
        &sb.run_with(&["token", "check", "--header", "-", READ, "--env", "dev"], Some(&format!("{header}\n")), &[]),
        0,
    );
    assert_exit(&sb.run_with(&["token", "check", "--header", "-", READ, "--env", "dev"], Some(&token), &[]), 0);
    assert_exit(&sb.run_with(&["token", "check", "--header", "-", READ, "--env", "prod"], Some(&token), &[]), 1);
    assert_exit(&sb.run_with(&["token", "check", "--header", "-", READ], Some("Bearer nonsense"), &[]), 4);
    // Without --header: WARDEN_TOKEN.
    assert_exit(&sb.run_with(&["token", "check", READ, "--env", "dev"], None, &[("WARDEN_TOKEN", &token)]), 0);
    assert_exit(&sb.run_with(&["token", "check", READ, "--env", "prod"], None, &[("WARDEN_TOKEN", &header)]), 1);
    assert_exit(&sb.run_with(&["token", "check", READ], None, &[("WARDEN_TOKEN", "dt0s16.x.y")]), 4);
    // No header anywhere: could not run.
    assert_exit(&sb.run(&["token", "check", READ]), 2);

    // Conditional: 1 unless --allow-conditional, the residual printed.
    let conditional =
        sb.run_with(&["token", "check", "storage:logs:read", "--env", "prod"], None, &[("WARDEN_TOKEN", &token)]);
    assert_exit(&conditional, 1);
    assert!(
        stdout(&conditional).contains("403 conditional") && stdout(&conditional).contains("residual"),
        "{}",
        stdout(&conditional)
    );
    let allowed = sb.run_with(
        &["token", "check", "storage:logs:read", "--env", "prod", "--allow-conditional"],
        None,
        &[("WARDEN_TOKEN", &token)],
    );
    assert_exit(&allowed, 0);
    // The JSON outcome.
    let output = sb.run_with(
        &["token", "check", READ, "--env", "prod", "--explain", "--format", "json"],
        None,
        &[("WARDEN_TOKEN", &token)],
    );
    assert_exit(&output, 1);
    let outcome = json(&output);
    assert_eq!((outcome["status"].as_u64(), outcome["reason"].as_str()), (Some(403), Some("policy_denied")));
    assert_eq!(outcome["allowed"], false);
    assert_eq!(outcome["tokenId"], id_of(&token));
    assert!(outcome.get("explanation").is_some(), "{outcome}");
    // A disabled token is a 403, not a 401.
    assert_exit(&sb.run(&["token", "disable", &id_of(&token), "--as", ALICE]), 0);
    assert_exit(&sb.run_with(&["token", "check", READ, "--env", "dev"], None, &[("WARDEN_TOKEN", &token)]), 1);
}

// --- Output shapes ---------------------------------------------------------------------------------

/// What `token check` says, for every row of the check's table, read as a person reads it.
#[test]
fn check_answers_read_as_sentences() {
    let sb = Sandbox::new();
    let token = sb.create(ALICE, "reader", &[READ, "storage:logs:read"]);
    let narrow = sb.run(&[
        "token",
        "create",
        "--as",
        ALICE,
        "--name",
        "dev only",
        "--scope",
        READ,
        "--env",
        "dev",
        "--never-expires",
    ]);
    let narrow = stdout(&narrow).lines().next().unwrap().to_string();
    let disabled = sb.create(ALICE, "disabled", &[READ]);
    assert_exit(&sb.run(&["token", "disable", &id_of(&disabled), "--as", ALICE]), 0);
    // A token that expired yesterday, made by a service whose clock stands two days back.
    let past = chrono::Utc::now() - chrono::Duration::days(2);
    let service = TokenService::new(
        Arc::new(SqliteStore::open(&sb.db).unwrap()),
        Arc::new(warden::token::ManualClock::new(past)),
        example_engine(),
        Catalog::builtin(),
        Settings::default(),
    )
    .unwrap();
    let alice = service.engine().tenant().find_user(ALICE).unwrap();
    let new = NewToken {
        name: "expired".into(),
        scopes: vec![READ.into()],
        expires_at: Some(past + chrono::Duration::days(1)),
        ..Default::default()
    };
    let expired = service.create(alice, new).unwrap().secret.expose().to_string();

    let mut text = String::new();
    for (what, token, args) in [
        ("allowed", &token, vec![READ, "--env", "staging"]),
        ("at account level", &token, vec![READ]),
        ("not a token", &"dt0s16.nothing.here".to_string(), vec![READ, "--env", "prod"]),
        ("expired", &expired, vec![READ, "--env", "dev"]),
        ("disabled", &disabled, vec![READ, "--env", "dev"]),
        ("another environment", &narrow, vec![READ, "--env", "prod"]),
        ("account level for an environment token", &narrow, vec![READ]),
        ("a permission out of scope", &token, vec!["storage:spans:read", "--env", "prod"]),
        ("denied by policy", &token, vec![READ, "--env", "prod"]),
        ("conditional", &token, vec!["storage:logs:read", "--env", "prod"]),
    ] {
        let mut command = vec!["token", "check"];
        command.extend(args);
        let output = sb.run_with(&command, None, &[("WARDEN_TOKEN", token.as_str())]);
        text.push_str(&format!("{what}: exit {}\n{}\n", output.status.code().unwrap_or(-1), stdout(&output)));
    }
    for (token, name) in [(&token, "reader"), (&narrow, "dev only"), (&disabled, "disabled"), (&expired, "expired")] {
        text = text.replace(&id_of(token), &format!("<{name}>"));
    }
    insta::assert_snapshot!(text);
}

#[test]
fn create_prints_the_secret_once_and_its_json_has_name_id_and_token() {
    let sb = Sandbox::new();
    let human = sb.run(&[
        "token",
        "create",
        "--as",
        ALICE,
        "--name",
        "CI reader",
        "--scope",
        READ,
        "--env",
        "prod",
        "--expires",
        "2099-12-31",
        "--tag",
        "ci",
    ]);
    assert_exit(&human, 0);
    let token = stdout(&human).lines().next().unwrap().to_string();
    assert_eq!(token.len(), 96);
    assert!(token.starts_with("dt0s16."));
    assert_eq!(stdout(&human).matches(secret_of(&token)).count(), 1, "{}", stdout(&human));
    assert!(stdout(&human).contains(&id_of(&token)));
    assert!(!stderr(&human).contains(secret_of(&token)));
    assert!(stderr(&human).contains("only time"), "{}", stderr(&human));

    let output = sb.run(&[create_args(ALICE, "json", READ), vec!["--format", "json"]].concat());
    assert_exit(&output, 0);
    let created = json(&output);
    let token = created["token"].as_str().expect("the token").to_string();
    assert_eq!(created["name"], "json");
    assert_eq!(created["tokenId"].as_str(), Some(id_of(&token).as_str()));
    assert_eq!(created["scope"], serde_json::json!([READ]));
    assert_eq!(created["resource"], serde_json::json!(["urn:dtaccount:acme"]));
    assert_eq!(created["expirationDate"], serde_json::Value::Null);
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(stdout(&output).matches(secret_of(&token)).count(), 1);
}

#[test]
fn list_json_is_an_array_without_secrets() {
    let sb = Sandbox::new();
    let tokens = [sb.create(ALICE, "one", &[READ]), sb.create(ALICE, "two", &[READ])];
    let other = sb.create("heidi@acme.example", "heidi's", &[READ]);
    assert_exit(&sb.run(&["token", "disable", &id_of(&tokens[1]), "--as", ALICE]), 0);
    let output = sb.run(&["token", "list", "--as", ALICE, "--format", "json"]);
    assert_exit(&output, 0);
    let list = json(&output);
    let list = list.as_array().expect("an array");
    let ids: Vec<&str> = list.iter().map(|t| t["tokenId"].as_str().unwrap()).collect();
    assert_eq!(ids, [id_of(&tokens[0]), id_of(&tokens[1])]);
    assert_eq!(list[1]["status"], "INACTIVE");
    assert!(list.iter().all(|t| t.get("token").is_none()));
    for token in tokens.iter().chain([&other]) {
        assert!(!stdout(&output).contains(secret_of(token)));
    }
    let all = sb.run(&["token", "list", "--as", GRACE, "--all", "--format", "json"]);
    assert_exit(&all, 0);
    assert_eq!(json(&all).as_array().unwrap().len(), 3);
    assert_refused(&sb.run(&["token", "list", "--as", "heidi@acme.example", "--all"]), "not_permitted");
}

/// A name stored before the name rule (or by another tool) may hold a terminal escape or a
/// direction override: the human list shows it escaped, so it cannot act in an admin's terminal.
#[test]
fn list_shows_stored_control_characters_escaped() {
    let sb = Sandbox::new();
    let token = sb.create(ALICE, "plain", &[READ]);
    let connection = rusqlite::Connection::open(&sb.db).unwrap();
    let changed = connection
        .execute(
            "UPDATE tokens SET name = ?1, tags = ?2 WHERE id = ?3",
            ("deploy\u{1b}[2J\nfake line\u{202e}txt", r#"["ok tag","bell\u0007"]"#, id_of(&token)),
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(connection);
    let output = sb.run(&["token", "list", "--as", ALICE]);
    assert_exit(&output, 0);
    let shown = stdout(&output);
    assert!(shown.contains("  name      deploy\\u{1b}[2J\\nfake line\\u{202e}txt\n"), "{shown}");
    assert!(shown.contains("  tags      ok tag, bell\\u{7}\n"), "{shown}");
    assert!(!shown.contains(['\u{1b}', '\u{7}', '\u{202e}']), "{shown:?}");
    // Machines read JSON, whose strings carry the characters themselves, escaped by JSON.
    let listed = json(&sb.run(&["token", "list", "--as", ALICE, "--format", "json"]));
    assert_eq!(listed[0]["name"], "deploy\u{1b}[2J\nfake line\u{202e}txt");
}

#[test]
fn scan_reports_verified_tokens_by_file_line_and_id() {
    let sb = Sandbox::new();
    let token = sb.create(ALICE, "leaked", &[READ]);
    let lookalike = format!("dt0s16.{}.{}", "A".repeat(24), "B".repeat(64));
    let mut broken = token.clone();
    let replacement = if broken.ends_with('A') { "B" } else { "A" };
    broken.replace_range(95..96, replacement);
    let leaks = sb.dir.join("leaks");
    std::fs::create_dir_all(&leaks).unwrap();
    let real = leaks.join("deploy.sh");
    std::fs::write(&real, format!("#!/bin/sh\nexport DT_TOKEN=\"{token}\"\n")).unwrap();
    let fake = sb.dir.join("docs.md");
    std::fs::write(&fake, format!("Tokens look like `{lookalike}`\nor {broken}\n")).unwrap();

    let scan = |path: &Path| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
        command.args(["token", "scan"]).arg(path).env("NO_COLOR", "1").output().unwrap()
    };
    let found = scan(&real);
    assert_exit(&found, 1);
    assert_eq!(stdout(&found), format!("{}:2: platform token {}\n", real.display(), id_of(&token)));
    assert!(!stdout(&found).contains(secret_of(&token)) && !stderr(&found).contains(secret_of(&token)));
    let clean = scan(&fake);
    assert_exit(&clean, 0);
    assert_eq!(stdout(&clean), "");
    // A directory is searched.
    let dir = scan(&sb.dir);
    assert_exit(&dir, 1);
    assert_eq!(stdout(&dir).lines().count(), 1, "{}", stdout(&dir));
    assert_exit(&scan(&sb.dir.join("missing")), 2);
}

// --- The account switch and the audit log ----------------------------------------------------------

#[test]
fn the_account_switch_and_the_audit_log_through_the_cli() {
    let sb = Sandbox::new();
    let token = sb.create(ALICE, "before", &[READ]);
    assert_refused(&sb.run(&["account", "tokens", "deny", "--as", BOB]), "not_permitted");
    assert_refused(&sb.run(&["account", "tokens", "deny", "--as", "heidi@acme.example"]), "not_permitted");
    assert_exit(&sb.run(&["account", "tokens", "deny", "--as", GRACE]), 0);
    let create = || sb.run(&create_args(ALICE, "t", READ));
    assert_refused(&create(), "tokens_disabled");
    assert_refused(&sb.run(&["token", "duplicate", &id_of(&token), "--as", ALICE]), "tokens_disabled");
    // The existing token keeps working.
    assert_exit(&sb.run_with(&["token", "check", READ, "--env", "dev"], None, &[("WARDEN_TOKEN", &token)]), 0);
    // The database holds the truth now; the tenant file still says allowed: a warning.
    assert!(stderr(&create()).contains("warning"), "the switch differs from warden.toml");
    assert_exit(&sb.run(&["account", "tokens", "allow", "--as", GRACE]), 0);
    assert_exit(&create(), 0);
    assert_exit(&sb.run(&["token", "disable", &id_of(&token), "--as", GRACE]), 0);

    let audit = sb.run(&["audit", "--as", GRACE]);
    assert_exit(&audit, 0);
    let text = stdout(&audit);
    let id = id_of(&token);
    for line in [
        format!("{ALICE}  create  {id}  ok"),
        format!("{BOB}  deny_tokens  -  not_permitted"),
        format!("{GRACE}  deny_tokens  -  ok"),
        format!("{ALICE}  create  -  tokens_disabled"),
        format!("{ALICE}  duplicate  {id}  tokens_disabled"),
        format!("{GRACE}  allow_tokens  -  ok"),
        format!("{GRACE}  disable  {id}  ok"),
    ] {
        assert!(text.contains(&line), "no `{line}` in\n{text}");
    }
    assert!(!text.contains(secret_of(&token)));
    let entries = json(&sb.run(&["audit", "--as", GRACE, "--token", &id, "--format", "json"]));
    let actions: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "duplicate", "disable"]);
    // An owner sees the entries of her own tokens only.
    sb.create("heidi@acme.example", "heidi's", &[READ]);
    let heidi = json(&sb.run(&["audit", "--as", "heidi@acme.example", "--format", "json"]));
    assert_eq!(heidi.as_array().unwrap().len(), 1, "{heidi}");
    assert_eq!(heidi[0]["actor"], "heidi@acme.example");
}

// --- D25: racing processes; killed processes -------------------------------------------------------

/// Also on a database file that does not exist yet: none of them fails busy while another sets
/// the file up (the store's tests hold that moment still).
#[test]
fn twenty_processes_get_exactly_ten_tokens() {
    let sb = Sandbox::new();
    let children: Vec<Child> = (0..20)
        .map(|i| {
            let name = format!("racer {i}");
            let args = create_args(ALICE, &name, READ);
            sb.command(&args, &[]).stdin(Stdio::null()).spawn().unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
    let stderrs: Vec<String> = outputs.iter().map(stderr).collect();
    assert_eq!(codes.iter().filter(|c| **c == Some(0)).count(), 10, "{codes:?}\n{stderrs:#?}");
    assert_eq!(codes.iter().filter(|c| **c == Some(1)).count(), 10, "{codes:?}\n{stderrs:#?}");
    for output in outputs.iter().filter(|o| o.status.code() == Some(1)) {
        assert!(stderr(output).contains("token_limit"), "{}", stderr(output));
    }
    let list = sb.run(&["token", "list", "--as", ALICE, "--format", "json"]);
    assert_exit(&list, 0);
    assert_eq!(json(&list).as_array().unwrap().len(), 10);
}

/// D35: the database and its `-wal` and `-shm` files are readable by their owner only, under
/// the common umask 022 too. `serve` keeps the database open, so all three are there to see.
#[test]
fn the_database_files_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let mut args = vec!["-c".to_string(), r#"umask 022 && exec "$0" "$@""#.to_string()];
    args.push(env!("CARGO_BIN_EXE_warden").to_string());
    for arg in ["serve", "--listen", "127.0.0.1:0", "--watch", "0", "--tenant"] {
        args.push(arg.to_string());
    }
    args.extend([sb.tenant.display().to_string(), "--db".into(), sb.db.display().to_string()]);
    let mut server = Command::new("sh").args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let files = ["", "-wal", "-shm"].map(|suffix| PathBuf::from(format!("{}{suffix}", sb.db.display())));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !files.iter().all(|f| f.exists()) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let modes: Vec<(String, u32)> = files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::metadata(f).map_or(0, |m| m.permissions().mode() & 0o777)))
        .collect();
    let _ = server.kill();
    let _ = server.wait();
    for (file, mode) in modes {
        assert_eq!(mode, 0o600, "{file} has mode {mode:o}");
    }
}

/// A token row read straight from SQLite: id, digest length, digest, name, scopes, owner, account.
type RawRow = (String, i64, Vec<u8>, String, String, String, String);

#[test]
fn killed_creates_leave_a_whole_database() {
    let sb = Sandbox::new();
    // A create takes 10–20 ms; every other one is killed 0 to 14 ms after it started: at every
    // stage of its work, while the others run alongside.
    let mut children = Vec::new();
    for i in 0..30u64 {
        let name = format!("crash {i}");
        let args = create_args(ALICE, &name, READ);
        let mut child = sb.command(&args, &[("WARDEN_TOKEN_LIMIT", "1000")]).stdin(Stdio::null()).spawn().unwrap();
        if i % 2 == 1 {
            std::thread::sleep(std::time::Duration::from_millis((i / 2) % 8 * 2));
            let _ = child.kill();
        }
        children.push(child);
    }
    let (mut finished, mut killed) = (Vec::new(), 0);
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        if i % 2 == 0 {
            assert_exit(&output, 0);
            finished.push(id_of(stdout(&output).lines().next().unwrap()));
        }
        killed += usize::from(std::os::unix::process::ExitStatusExt::signal(&output.status) == Some(9));
    }
    assert!(killed > 0, "no process was killed before it finished: the test proved nothing");

    let connection = rusqlite::Connection::open(&sb.db).unwrap();
    let integrity: String = connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let mut statement =
        connection.prepare("SELECT id, length(digest), digest, name, scopes, owner, account FROM tokens").unwrap();
    let rows: Vec<RawRow> = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(statement);
    drop(connection);
    assert!(rows.len() >= finished.len(), "{} rows, {} finished", rows.len(), finished.len());
    eprintln!("{} tokens stored; {} processes finished, {killed} killed", rows.len(), finished.len());

    let store = SqliteStore::open(&sb.db).unwrap();
    let listed = store.list("acme", None).unwrap();
    assert_eq!(listed.len(), rows.len());
    let audit = store.audit_log("acme", None, None).unwrap();
    for (id, length, digest, name, scopes, owner, account) in &rows {
        assert_eq!(*length, 32, "{id}");
        assert!(digest.iter().any(|b| *b != 0), "{id}");
        assert!(name.starts_with("crash "), "{id}: {name}");
        assert_eq!(serde_json::from_str::<Vec<String>>(scopes).unwrap(), [READ], "{id}");
        assert_eq!((owner.as_str(), account.as_str()), ("1ed2e571-bacc-41a8-85aa-2285a69f6ad3", "acme"));
        let created = audit.iter().filter(|e| e.action == "create" && e.outcome == "ok");
        assert_eq!(created.filter(|e| e.token.as_ref().map(|t| t.as_str()) == Some(id.as_str())).count(), 1, "{id}");
    }
    assert_eq!(audit.iter().filter(|e| e.action == "create" && e.outcome == "ok").count(), rows.len());
    for id in &finished {
        assert!(rows.iter().any(|r| &r.0 == id), "{id} finished but is missing");
    }
    // And it still works.
    assert_exit(&sb.run(&["token", "list", "--as", ALICE]), 0);
    let after = create_args(ALICE, "after", READ);
    assert_exit(&sb.run_with(&after, None, &[("WARDEN_TOKEN_LIMIT", "1000")]), 0);
}

// --- Secrets ------------------------------------------------------------------------------------------

fn example_engine() -> Engine {
    let files = TenantFiles::read(example_tenant()).unwrap();
    Engine::new(load(&files, Catalog::builtin()).tenant.unwrap(), Catalog::builtin())
}

/// The bytes of the database and its `-wal` and `-shm` files (D25).
fn database_bytes(db: &Path) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let path = PathBuf::from(format!("{}{suffix}", db.display()));
            std::fs::read(&path).ok().map(|bytes| (path.display().to_string(), bytes))
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn secrets_are_shown_once_and_nowhere_else() {
    let sb = Sandbox::new();
    let mut tokens: Vec<String> = Vec::new();
    // Everything that must not hold a secret.
    let mut texts: Vec<(String, String)> = Vec::new();

    // Through the library, on the same database the CLI uses below (kept open so its WAL stays).
    let store = Arc::new(SqliteStore::open(&sb.db).unwrap());
    let service = TokenService::new(
        store.clone(),
        Arc::new(SystemClock),
        example_engine(),
        Catalog::builtin(),
        Settings::default(),
    )
    .unwrap();
    let alice = service.engine().tenant().find_user(ALICE).unwrap();
    let bob = service.engine().tenant().find_user(BOB).unwrap();
    let new = NewToken { name: "library".into(), scopes: vec![READ.into()], ..Default::default() };
    let created = service.create(alice, new).unwrap();
    let duplicated = service.duplicate(alice, &created.record.id).unwrap();
    let rotated = service.rotate(alice, &duplicated.record.id, Rotation::default()).unwrap();
    for made in [&created, &duplicated, &rotated] {
        tokens.push(made.secret.expose().to_string());
        texts.push(("Debug of Created".into(), format!("{made:?} {made:#?}")));
        texts.push(("Debug of TokenRecord".into(), format!("{:?}", made.record)));
        texts.push(("Debug of TokenSecret".into(), format!("{:?}", made.secret)));
        texts.push(("JSON of TokenRecord".into(), serde_json::to_string(&made.record).unwrap()));
        let request = CheckRequest {
            permission: READ.into(),
            environment: Some("prod".into()),
            explain: true,
            ..Default::default()
        };
        let outcome = service.check(&format!("Bearer {}", made.secret.expose()), &request).unwrap();
        texts.push(("check outcome".into(), format!("{outcome:?} {}", serde_json::to_string(&outcome).unwrap())));
    }
    let errors = [
        service.disable(bob, &created.record.id).unwrap_err(),
        service.rotate(alice, &duplicated.record.id, Rotation::default()).unwrap_err(),
        service
            .set_expiry(alice, &created.record.id, Some(chrono::Utc::now() - chrono::Duration::days(1)))
            .unwrap_err(),
        service
            .create(bob, NewToken { name: "x".into(), scopes: vec![READ.into()], ..Default::default() })
            .unwrap_err(),
    ];
    for error in &errors {
        texts.push(("error".into(), format!("{error} {error:?}")));
    }
    texts.push(("list".into(), format!("{:?}", service.list(alice, false).unwrap())));

    // Through the CLI: create (both formats) and duplicate (`token rotate` panics: see
    // `cli_rotate_replaces_a_token`).
    let human = sb.run(&create_args(ALICE, "cli", READ));
    assert_exit(&human, 0);
    let cli_token = stdout(&human).lines().next().unwrap().to_string();
    assert_eq!(stdout(&human).matches(secret_of(&cli_token)).count(), 1, "exactly once on stdout");
    texts.push(("create stderr".into(), stderr(&human)));
    let cli_id = id_of(&cli_token);
    let mut made = vec![cli_token];
    let json_args = [create_args(ALICE, "json", READ), vec!["--format", "json"]].concat();
    for args in [&json_args[..], &["token", "duplicate", &cli_id, "--as", ALICE]] {
        let output = sb.run(args);
        assert_exit(&output, 0);
        let token = match args.contains(&"json") {
            true => json(&output)["token"].as_str().unwrap().to_string(),
            false => stdout(&output).lines().next().unwrap().to_string(),
        };
        assert_eq!(stdout(&output).matches(secret_of(&token)).count(), 1, "{args:?}: exactly once on stdout");
        texts.push((format!("{args:?} stderr"), stderr(&output)));
        made.push(token);
    }
    tokens.extend(made);

    // Everything else the CLI prints.
    for args in [
        &["token", "list", "--as", ALICE][..],
        &["token", "list", "--as", ALICE, "--format", "json"],
        &["token", "list", "--as", GRACE, "--all", "--format", "json"],
        &["token", "show", &cli_id, "--as", ALICE],
        &["audit", "--as", GRACE],
        &["audit", "--as", GRACE, "--format", "json"],
        &["token", "duplicate", &cli_id, "--as", ALICE],
        &["token", "disable", &cli_id, "--as", BOB],
        &create_args(ALICE, "x", "hub:catalog:read"),
    ] {
        let output = sb.run(args);
        texts.push((format!("{args:?} stdout"), stdout(&output)));
        texts.push((format!("{args:?} stderr"), stderr(&output)));
    }
    for token in &tokens {
        for explain in [&["--explain"][..], &[]] {
            let mut args = vec!["token", "check", READ, "--env", "prod"];
            args.extend(explain);
            let output = sb.run_with(&args, None, &[("WARDEN_TOKEN", token)]);
            texts.push((format!("check {args:?} stdout"), stdout(&output)));
            texts.push((format!("check {args:?} stderr"), stderr(&output)));
        }
    }
    texts.push(("audit log".into(), format!("{:?}", store.audit_log("acme", None, None).unwrap())));

    assert_eq!(tokens.len(), 6);
    for token in &tokens {
        let secret = secret_of(token);
        for (what, text) in &texts {
            assert!(!text.contains(secret), "the secret of {} is in the {what}:\n{text}", id_of(token));
        }
    }
    // The database files, while open and after every connection closed.
    let scan_files = |when: &str| {
        let files = database_bytes(&sb.db);
        for (path, bytes) in &files {
            for token in &tokens {
                assert!(!contains(bytes, secret_of(token)), "{when}: the secret of {} is in {path}", id_of(token));
            }
        }
        // Sanity: the scan reads what was written (the ids are there, in the file or its WAL).
        for token in &tokens {
            assert!(files.iter().any(|(_, bytes)| contains(bytes, &id_of(token))), "{when}: no {}", id_of(token));
        }
    };
    assert!(PathBuf::from(format!("{}-wal", sb.db.display())).exists(), "the WAL is there to scan");
    scan_files("open");
    drop(service);
    drop(store);
    scan_files("closed");
}

/// Lifecycle commands take a token id; a user who pastes the whole token there gets the token
/// its id names, and never sees the secret echoed (tokens.md §1: never in output or errors).
#[test]
fn a_whole_token_given_as_an_id_is_not_echoed() {
    let sb = Sandbox::new();
    let token = sb.create(ALICE, "t", &[READ]);
    for command in ["show", "disable", "delete"] {
        let output = sb.run(&["token", command, &token, "--as", ALICE]);
        assert_exit(&output, 0);
        assert!(
            !stderr(&output).contains(secret_of(&token)) && !stdout(&output).contains(secret_of(&token)),
            "{command}"
        );
    }
    let gone = sb.run(&["token", "show", &token, "--as", ALICE]);
    assert_exit(&gone, 2);
    assert!(!stderr(&gone).contains(secret_of(&token)), "{}", stderr(&gone));
    let audit = sb.run(&["audit", "--as", GRACE, "--token", &token]);
    assert!(!stdout(&audit).contains(secret_of(&token)) && !stderr(&audit).contains(secret_of(&token)));
    // The library error the CLI prints.
    let store = Arc::new(SqliteStore::open(&sb.db).unwrap());
    let service =
        TokenService::new(store, Arc::new(SystemClock), example_engine(), Catalog::builtin(), Settings::default())
            .unwrap();
    let alice = service.engine().tenant().find_user(ALICE).unwrap();
    let error = service.show(alice, &TokenId(token.as_str().into())).unwrap_err();
    assert_eq!(error.rule().as_str(), "unknown_token");
    assert!(!format!("{error} {error:?}").contains(secret_of(&token)), "{error}");
}

/// `token rotate` through the CLI: a new token printed once, the old one stopped now or at the
/// end of the overlap, refusals exit 1, unknown ids 2.
#[test]
fn cli_rotate_replaces_a_token() {
    let sb = Sandbox::new();
    let old = sb.create(ALICE, "K8s operator 2026-01-02", &[READ]);
    let id = id_of(&old);
    assert_refused(
        &sb.run(&["token", "rotate", &id, "--as", ALICE, "--old-expires", "2001-01-01T00:00:00Z"]),
        "invalid_overlap",
    );
    assert_exit(&sb.run(&["token", "rotate", "dt0s16.AAAAAAAAAAAAAAAAAAAAAAAA", "--as", ALICE]), 2);
    let rotated = sb.run(&["token", "rotate", &id, "--as", ALICE, "--format", "json"]);
    assert_exit(&rotated, 0);
    let created = json(&rotated);
    let new = created["token"].as_str().unwrap().to_string();
    assert_eq!(stdout(&rotated).matches(secret_of(&new)).count(), 1);
    assert!(!stderr(&rotated).contains(secret_of(&new)));
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(created["name"], format!("K8s operator {today}"));
    let check = |token: &str| sb.run_with(&["token", "check", READ, "--env", "dev"], None, &[("WARDEN_TOKEN", token)]);
    assert_exit(&check(&new), 0);
    let stopped = check(&old);
    assert_exit(&stopped, 1);
    assert!(stdout(&stopped).contains("token_expired"), "{}", stdout(&stopped));
    // An overlap window of at most 30 days; then neither token is rotated again meanwhile.
    let in_days = |days: i64| (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339();
    let rotate_new = |until: &str| sb.run(&["token", "rotate", &id_of(&new), "--as", ALICE, "--old-expires", until]);
    assert_refused(&rotate_new(&in_days(31)), "invalid_overlap");
    let overlapping = rotate_new(&in_days(29));
    assert_exit(&overlapping, 0);
    assert_exit(&check(&new), 0);
    assert_refused(&rotate_new(&in_days(1)), "already_rotated");
    let newest = stdout(&overlapping).lines().next().unwrap().to_string();
    assert_refused(&sb.run(&["token", "rotate", &id_of(&newest), "--as", ALICE]), "rotation_in_progress");
    // The audit log names the old and the new token of each rotation.
    let audit = stdout(&sb.run(&["audit", "--as", ALICE, "--token", &id_of(&new)]));
    assert!(audit.contains(&format!("rotate  {id} → {}  ok", id_of(&new))), "{audit}");
    assert!(audit.contains(&format!("rotate  {} → {}  ok", id_of(&new), id_of(&newest))), "{audit}");
}
