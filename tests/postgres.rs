//! warden on PostgreSQL as users run it: the built binary against a real server the tests start
//! (tests/support/postgres.rs), migrated by its superuser and served by a role granted only what
//! the service needs. Two `warden serve` instances on one database: racing creates, a disable
//! heard by the other instance, one instance killed, the database restarted under load; the
//! schema's version, the roles' walls, where passwords may come from, TLS, and `db copy`.

#![cfg(feature = "postgres")]

#[path = "support/postgres.rs"]
mod cluster;
#[path = "support/serve.rs"]
mod serving;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cluster::{ADMIN, ADMIN_PASSWORD, Cluster, SERVICE, SERVICE_PASSWORD};
use serde_json::{Value, json};

const ALICE: &str = "alice@acme.example";
const CI_BOT_ID: &str = "6f3105c0-e092-4073-a7ae-a09e09515d7c";
const WRITE: &str = "platform-token:tokens:write";
const RUN: &str = "app-engine:apps:run";
const TOKENS: &str = "/iam/v1/accounts/acme/platform-tokens";
const CHECK_RUN: &str = "/v1/auth?permission=app-engine:apps:run&environment=staging";

/// The server most tests share, with TLS on (its certificates in `tls/`).
fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        Cluster::start_with(|dir| {
            let tls = certificates(&dir.join("tls"));
            vec![
                "ssl=on".to_string(),
                format!("ssl_cert_file={}", tls.join("server.crt").display()),
                format!("ssl_key_file={}", tls.join("server.key").display()),
            ]
        })
    })
}

/// A CA, a server certificate for `localhost` signed by it, and another CA, made by openssl
/// (which Debian's postgresql package brings along) in a directory the server may read.
fn certificates(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("server.ext"), "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n").unwrap();
    let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    for (args, what) in [
        (
            vec!["req", "-x509", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=warden test CA"],
            "the CA",
        ),
        (
            vec!["req", "-x509", "-keyout", "other.key", "-out", "other.crt", "-days", "2", "-subj", "/CN=other CA"],
            "another CA",
        ),
        (vec!["req", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], "the server's key"),
    ] {
        let status = Command::new("openssl").args(&args).args(key).current_dir(dir).output().unwrap();
        assert!(status.status.success(), "{what}: {}", String::from_utf8_lossy(&status.stderr));
    }
    let signed = Command::new("openssl")
        .args(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"])
        .args(["-out", "server.crt", "-days", "2", "-extfile", "server.ext"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert!(Command::new("chown").args(["-R", "nobody"]).arg(dir).status().unwrap().success());
    }
    std::fs::set_permissions(dir.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    dir.to_path_buf()
}

// --- A deployment: one database, the CLI, instances of `warden serve` ---------------------------

/// A migrated database on a server, a scratch directory, and the example tenant.
struct Deployment<'a> {
    cluster: &'a Cluster,
    name: String,
    dir: PathBuf,
    tenant: PathBuf,
}

impl<'a> Deployment<'a> {
    /// A fresh database, migrated by the superuser with grants for the service's role.
    fn new(cluster: &'a Cluster) -> Deployment<'a> {
        let deployment = Deployment::unmigrated(cluster);
        let migrated =
            deployment.warden_as_admin(&["db", "migrate", "--grant", SERVICE, "--db", &deployment.admin_url()]);
        assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
        deployment
    }

    fn unmigrated(cluster: &'a Cluster) -> Deployment<'a> {
        let dir = cluster::temp::dir("pg-deploy");
        let tenant = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/example");
        Deployment { cluster, name: cluster.database(), dir, tenant }
    }

    fn url(&self) -> String {
        self.cluster.url(SERVICE, &self.name)
    }

    fn admin_url(&self) -> String {
        self.cluster.url(ADMIN, &self.name)
    }

    /// The binary with a clean environment and the service role's password in PGPASSWORD.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
        command.args(args).current_dir(&self.dir).env("NO_COLOR", "1").env("PGPASSWORD", SERVICE_PASSWORD);
        for name in ["WARDEN_DB", "WARDEN_TOKEN_LIMIT", "WARDEN_PROPAGATION_SECONDS", "PGPASSFILE", "WARDEN_LISTEN"] {
            command.env_remove(name);
        }
        command.env("HOME", &self.dir);
        command
    }

    /// A token command on this database as the service's role.
    fn warden(&self, args: &[&str]) -> Output {
        let url = self.url();
        let mut all = args.to_vec();
        all.extend(["--tenant", self.tenant.to_str().unwrap(), "--db", &url]);
        self.command(&all).output().unwrap()
    }

    fn warden_as_admin(&self, args: &[&str]) -> Output {
        self.command(args).env("PGPASSWORD", ADMIN_PASSWORD).output().unwrap()
    }

    /// Alice's token for the API: she may make tokens, act for ci-bot and run apps.
    fn bootstrap(&self) -> String {
        let mut args =
            vec!["token", "create", "--as", ALICE, "--name", "bootstrap", "--account-wide", "--never-expires"];
        for scope in [WRITE, RUN, "iam:service-users:use"] {
            args.extend(["--scope", scope]);
        }
        let output = self.warden(&args);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().lines().next().unwrap().to_string()
    }

    /// `warden serve` on a free port; `env` adds variables (a token limit, a database URL).
    fn serve(&self, env: &[(&str, &str)]) -> Instance {
        let url = self.url();
        let tenant = self.tenant.to_str().unwrap();
        let mut command = self.command(&["serve", "--listen", "127.0.0.1:0", "--watch", "0", "--tenant", tenant]);
        if !env.iter().any(|(name, _)| *name == "WARDEN_DB") {
            command.args(["--db", &url]);
        }
        command.envs(env.iter().copied());
        let serving::Serving { child, address, log } = serving::spawn(&mut command);
        Instance { child, address, log }
    }

    /// The ids of every token in the database, deleted ones too (each once: the primary key).
    fn token_ids(&self) -> std::collections::HashSet<String> {
        self.cluster.sql(&self.name, "SELECT id FROM tokens").lines().map(str::to_string).collect()
    }

    /// One value from the database, read as the superuser.
    fn query(&self, sql: &str) -> String {
        self.cluster.sql(&self.name, sql).trim().to_string()
    }
}

impl Drop for Deployment<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Instance {
    child: Child,
    address: String,
    log: Arc<Mutex<String>>,
}

/// An answer: status, headers (names in lower case), body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl Instance {
    /// One request on a connection of its own; `None` when the instance does not answer.
    fn try_call(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> Option<Answer> {
        let mut stream = TcpStream::connect(&self.address).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: warden\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.lines();
        let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        Some(Answer { status, headers, body: body.to_string() })
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<&Value>) -> Answer {
        self.try_call(method, path, token, body).unwrap_or_else(|| panic!("no answer from {}", self.address))
    }

    /// Creates a token named `name` for the caller's owner, who may run apps in staging.
    fn create(&self, token: &str, name: &str) -> Answer {
        let body = json!({"name": name, "scope": [RUN], "resource": ["urn:dtaccount:acme"], "expirationDate": null});
        self.call("POST", TOKENS, token, Some(&body))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

// --- Two instances on one database ---------------------------------------------------------------

#[test]
fn twenty_creates_spread_over_two_instances_make_exactly_ten_tokens() {
    let deployment = Deployment::new(shared());
    let alice = deployment.bootstrap();
    let (a, b) = (deployment.serve(&[]), deployment.serve(&[]));
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..20)
            .map(|i| {
                let (instance, alice) = (if i % 2 == 0 { &a } else { &b }, &alice);
                scope.spawn(move || {
                    instance.call("POST", TOKENS, alice, Some(&create_body(&format!("race {i}")))).status
                })
            })
            .collect();
        racers.into_iter().map(|racer| racer.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 10, "{statuses:?}");
    assert!(statuses.iter().all(|s| [201, 409].contains(s)), "{statuses:?}");
    let owned = format!("SELECT count(*) FROM tokens WHERE owner = '{CI_BOT_ID}' AND NOT deleted");
    assert_eq!(deployment.query(&owned), "10");
}

#[test]
fn a_token_disabled_through_one_instance_is_refused_by_the_other_within_a_second() {
    let deployment = Deployment::new(shared());
    let alice = deployment.bootstrap();
    // B is given its database (password included) in WARDEN_DB; its log must never show it.
    let with_password = deployment.url().replacen(SERVICE, &format!("{SERVICE}:{SERVICE_PASSWORD}"), 1);
    let (a, b) = (deployment.serve(&[]), deployment.serve(&[("WARDEN_DB", &with_password), ("PGPASSWORD", "")]));
    let made = a.create(&alice, "to disable").json();
    let (id, victim) = (made["tokenId"].as_str().unwrap(), made["token"].as_str().unwrap());
    assert_eq!(b.call("GET", CHECK_RUN, victim, None).status, 200, "B has it cached now");
    let status = a.call("PUT", &format!("{TOKENS}/{id}/status"), &alice, Some(&json!({"status": "INACTIVE"})));
    assert_eq!(status.status, 204, "{status:?}");
    let disabled = Instant::now();
    let refused = loop {
        let answer = b.call("GET", CHECK_RUN, victim, None);
        if answer.status != 200 {
            break answer;
        }
        assert!(disabled.elapsed() < Duration::from_secs(5), "B still allows the disabled token");
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = disabled.elapsed();
    assert_eq!((refused.status, refused.header("x-warden-reason")), (403, Some("token_disabled")));
    assert!(took < Duration::from_secs(1), "B refused it only after {took:?} (the propagation bound is 60 s)");
    // Enabling it again reaches B as fast.
    let status = a.call("PUT", &format!("{TOKENS}/{id}/status"), &alice, Some(&json!({"status": "ACTIVE"})));
    assert_eq!(status.status, 204);
    let enabled = Instant::now();
    while b.call("GET", CHECK_RUN, victim, None).status != 200 {
        assert!(enabled.elapsed() < Duration::from_secs(1), "B still refuses the enabled token");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!b.log().contains(SERVICE_PASSWORD), "{}", b.log());
}

#[test]
fn an_instance_killed_during_creates_leaves_the_other_serving_and_the_database_whole() {
    let deployment = Deployment::new(shared());
    let alice = deployment.bootstrap();
    let limit = [("WARDEN_TOKEN_LIMIT", "10000")];
    let (mut a, b) = (deployment.serve(&limit), deployment.serve(&limit));
    let made = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for (racer, instance) in [(0, &a), (1, &a), (2, &b), (3, &b)] {
            let (made, stop, alice) = (&made, &stop, &alice);
            scope.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("racer {racer} #{i}");
                    if let Some(answer) = instance.try_call("POST", TOKENS, alice, Some(&create_body(&name))) {
                        assert!([201, 503].contains(&answer.status), "{answer:?}");
                        if answer.status == 201 {
                            made.lock().unwrap().push(answer.json()["tokenId"].as_str().unwrap().to_string());
                        }
                    }
                    i += 1;
                }
            });
        }
        std::thread::sleep(Duration::from_millis(700));
        // SAFETY: kill(2) on a child this test started and has not reaped.
        unsafe { libc::kill(i32::try_from(a.child.id()).unwrap(), libc::SIGKILL) };
        std::thread::sleep(Duration::from_millis(700));
        stop.store(true, Ordering::Relaxed);
    });
    a.kill();
    let after = b.create(&alice, "after the kill");
    assert_eq!(after.status, 201, "{after:?}");
    let made = made.into_inner().unwrap();
    assert!(made.len() > 20, "only {} tokens were made", made.len());
    let stored = deployment.token_ids();
    assert!(made.iter().all(|id| stored.contains(id)), "a token answered 201 is missing");
    // Every token has the audit entry of its making, and every such entry its token.
    let orphans = "SELECT count(*) FROM tokens t WHERE NOT EXISTS \
         (SELECT 1 FROM audit a WHERE a.token = t.id AND a.action = 'create' AND a.outcome = 'ok')";
    assert_eq!(deployment.query(orphans), "0");
    let ghosts = "SELECT count(*) FROM audit a WHERE a.action = 'create' AND a.outcome = 'ok' AND NOT EXISTS \
         (SELECT 1 FROM tokens t WHERE t.id = a.token)";
    assert_eq!(deployment.query(ghosts), "0");
    assert_eq!(deployment.query("SELECT count(*) FROM pg_locks WHERE NOT granted"), "0");
}

/// The body of a create for ci-bot, whom alice may act for.
fn create_body(name: &str) -> Value {
    json!({"name": name, "scope": [RUN], "resource": ["urn:dtaccount:acme"], "expirationDate": null, "userUuid": CI_BOT_ID})
}

#[test]
fn a_database_restart_under_load_answers_503_and_both_instances_recover() {
    let cluster = Cluster::start();
    let deployment = Deployment::new(&cluster);
    let alice = deployment.bootstrap();
    let limit = [("WARDEN_TOKEN_LIMIT", "10000")];
    let (a, b) = (deployment.serve(&limit), deployment.serve(&limit));
    let cached = a.create(&alice, "cached").json()["token"].as_str().unwrap().to_string();
    // Well formed but never stored: every check of it reads the database.
    let unknown = warden::token::TokenSecret::generate("dt0s16").unwrap().expose().to_string();
    for instance in [&a, &b] {
        assert_eq!(instance.call("GET", CHECK_RUN, &cached, None).status, 200);
    }
    let down = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let seen = Mutex::new(Vec::<(&str, bool, u16, Option<String>)>::new());
    let made = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for instance in [&a, &b] {
            let (seen, made, down, stop, alice) = (&seen, &made, &down, &stop, &alice);
            let (cached, unknown) = (&cached, &unknown);
            scope.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    for (what, token) in [("cached", cached), ("unknown", unknown)] {
                        let answer = instance.call("GET", CHECK_RUN, token, None);
                        let retry = answer.header("retry-after").map(str::to_string);
                        seen.lock().unwrap().push((what, down.load(Ordering::Relaxed), answer.status, retry));
                    }
                    let answer =
                        instance.call("POST", TOKENS, alice, Some(&create_body(&format!("{} #{i}", instance.address))));
                    let retry = answer.header("retry-after").map(str::to_string);
                    seen.lock().unwrap().push(("create", down.load(Ordering::Relaxed), answer.status, retry));
                    if answer.status == 201 {
                        made.lock().unwrap().push(answer.json()["tokenId"].as_str().unwrap().to_string());
                    }
                    i += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
        }
        std::thread::sleep(Duration::from_millis(500));
        down.store(true, Ordering::Relaxed);
        cluster.stop();
        std::thread::sleep(Duration::from_millis(1500));
        cluster.start_again();
        down.store(false, Ordering::Relaxed);
        // Both instances are back by themselves: a create through each succeeds.
        let back = Instant::now();
        for instance in [&a, &b] {
            while instance.create(&alice, "back").status != 201 {
                assert!(back.elapsed() < Duration::from_secs(15), "{} did not recover", instance.address);
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
    });
    let seen = seen.into_inner().unwrap();
    let during: Vec<_> = seen.iter().filter(|(_, down, _, _)| *down).collect();
    assert!(during.iter().any(|(what, _, status, _)| *what == "unknown" && *status == 503), "{during:?}");
    assert!(during.iter().any(|(what, _, status, _)| *what == "create" && *status == 503), "{during:?}");
    for (what, _, status, retry) in &seen {
        let allowed: &[u16] = match *what {
            // A cached token is answered from memory while the database is away.
            "cached" => &[200],
            "unknown" => &[401, 503],
            _ => &[201, 503],
        };
        assert!(allowed.contains(status), "{what}: {status} in {seen:?}");
        if *status == 503 {
            assert_eq!(retry.as_deref(), Some("1"), "a 503 says when to try again");
        }
    }
    // Nothing lost, nothing twice: every token answered 201 is there once, and every token
    // there has the audit entry of its making.
    let made = made.into_inner().unwrap();
    let stored = deployment.token_ids();
    assert!(made.iter().all(|id| stored.contains(id)), "a token answered 201 is missing");
    let names = "SELECT count(*) FROM (SELECT name FROM tokens WHERE name LIKE '127.%' GROUP BY name HAVING count(*) > 1) twice";
    assert_eq!(deployment.query(names), "0");
    let unaudited = "SELECT count(*) FROM tokens t WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.token = t.id AND a.outcome = 'ok')";
    assert_eq!(deployment.query(unaudited), "0");
    for instance in [&a, &b] {
        assert!(!instance.log().contains(SERVICE_PASSWORD));
    }
    drop(deployment);
}

// --- Schema versions and roles --------------------------------------------------------------------

/// What a user reads, with this run's port and database names made stable.
fn stable(text: &str, deployment: &Deployment) -> String {
    text.replace(&deployment.cluster.port.to_string(), "PORT").replace(&deployment.name, "DB")
}

#[test]
fn serve_refuses_a_schema_it_does_not_know_and_migrate_brings_it_up() {
    let deployment = Deployment::unmigrated(shared());
    let refused = deployment.warden(&["token", "list", "--as", ALICE]);
    assert_eq!(refused.status.code(), Some(2));
    let behind = stable(&text(&refused), &deployment);
    // The service's role may not change the schema, so `--migrate` cannot help it.
    let url = deployment.url();
    let tenant = deployment.tenant.to_str().unwrap();
    let denied = deployment.command(&["serve", "--migrate", "--db", &url, "--tenant", tenant]).output().unwrap();
    assert_eq!(denied.status.code(), Some(2));
    assert!(text(&denied).contains("permission denied for schema public"), "{}", text(&denied));
    let migrated = deployment.warden_as_admin(&["db", "migrate", "--db", &deployment.admin_url(), "--grant", SERVICE]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let migrated = stable(&text(&migrated), &deployment);
    let again = deployment.warden_as_admin(&["db", "migrate", "--db", &deployment.admin_url()]);
    let again = stable(&text(&again), &deployment);
    assert!(deployment.warden(&["token", "list", "--as", ALICE]).status.success());
    deployment.query("INSERT INTO warden_schema_version (version) VALUES (2)");
    let newer = deployment.warden(&["token", "list", "--as", ALICE]);
    assert_eq!(newer.status.code(), Some(2));
    let newer = stable(&text(&newer), &deployment);
    insta::assert_snapshot!(format!(
        "$ warden token list …   (schema not migrated)\n{behind}\n$ warden db migrate --grant {SERVICE}\n{migrated}\n\
         $ warden db migrate   (again)\n{again}\n$ warden token list …   (a newer warden migrated it)\n{newer}"
    ));
}

#[test]
fn a_single_role_setup_migrates_on_start() {
    let deployment = Deployment::unmigrated(shared());
    let admin = deployment.admin_url();
    let tenant = deployment.tenant.to_str().unwrap();
    let mut serve = deployment
        .command(&["serve", "--migrate", "--listen", "127.0.0.1:0", "--db", &admin, "--tenant", tenant])
        .env("PGPASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(serve.stderr.take().unwrap()).lines().map_while(Result::ok);
    assert!(log.any(|line| line.contains("listening on http://")));
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(deployment.query("SELECT max(version) FROM warden_schema_version"), "1");
}

#[test]
fn the_service_role_may_only_append_to_the_audit_log_and_never_remove_a_token() {
    let deployment = Deployment::new(shared());
    let token = deployment.bootstrap();
    let id: String = token.split('.').take(2).collect::<Vec<_>>().join(".");
    let as_service = |sql: &str| text(&deployment.cluster.psql(&deployment.name, SERVICE, sql));
    for sql in [
        "UPDATE audit SET actor = 'mallory'",
        "DELETE FROM audit",
        "TRUNCATE audit",
        "DELETE FROM tokens",
        "CREATE TABLE extra (x int)",
    ] {
        let refused = as_service(sql);
        assert!(refused.contains("permission denied"), "{sql}: {refused}");
    }
    // The owner is stopped by the triggers, the second wall.
    let as_owner = |sql: &str| text(&deployment.cluster.psql(&deployment.name, ADMIN, sql));
    assert!(as_owner("UPDATE audit SET actor = 'mallory'").contains("the audit log is append-only"));
    assert!(as_owner("TRUNCATE audit").contains("the audit log is append-only"));
    assert!(as_owner("DELETE FROM tokens").contains("tokens are never removed"));
    let deleted = deployment.warden(&["token", "delete", &id, "--as", ALICE]);
    assert!(deleted.status.success(), "{}", text(&deleted));
    assert!(as_owner(&format!("UPDATE tokens SET deleted = false WHERE id = '{id}'")).contains("stays deleted"));
    assert_eq!(deployment.query("SELECT count(*) FROM audit WHERE actor = 'mallory'"), "0");
}

// --- Passwords, TLS, an unreachable database ----------------------------------------------------------

#[test]
fn passwords_come_from_the_environment_or_a_password_file_only() {
    let deployment = Deployment::new(shared());
    let list = ["token", "list", "--as", ALICE];
    let tenant = deployment.tenant.to_str().unwrap();
    let with_password = deployment.url().replacen(SERVICE, &format!("{SERVICE}:{SERVICE_PASSWORD}"), 1);
    let mut flag = deployment.command(&list);
    let on_the_command_line = flag.args(["--tenant", tenant, "--db", &with_password]).output().unwrap();
    assert_eq!(on_the_command_line.status.code(), Some(2));
    let on_the_command_line = text(&on_the_command_line);

    let copy = deployment.dir.join("tenant");
    let copied = Command::new("cp").arg("-r").arg(&deployment.tenant).arg(&copy).status().unwrap();
    assert!(copied.success());
    let config = std::fs::read_to_string(deployment.tenant.join("warden.toml")).unwrap();
    std::fs::write(copy.join("warden.toml"), format!("[deployment]\ndatabase = \"{with_password}\"\n\n{config}"))
        .unwrap();
    let in_the_tenant = deployment.command(&list).args(["--tenant", copy.to_str().unwrap()]).output().unwrap();
    assert_eq!(in_the_tenant.status.code(), Some(3));
    let in_the_tenant = text(&in_the_tenant);

    let mut from_env = deployment.command(&list);
    from_env.args(["--tenant", tenant]).env("WARDEN_DB", &with_password).env("PGPASSWORD", "");
    assert!(from_env.output().unwrap().status.success());
    let url = deployment.url();
    let pgpass = deployment.dir.join("pgpass");
    std::fs::write(&pgpass, format!("127.0.0.1:{}:*:{SERVICE}:{SERVICE_PASSWORD}\n", deployment.cluster.port)).unwrap();
    let mode = |mode| std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    let from_file = || {
        let mut command = deployment.command(&list);
        command.args(["--tenant", tenant, "--db", &url]).env("PGPASSWORD", "").env("PGPASSFILE", &pgpass);
        command.output().unwrap()
    };
    mode(0o600);
    assert!(from_file().status.success(), "{}", text(&from_file()));
    mode(0o644);
    let readable = from_file();
    assert_eq!(readable.status.code(), Some(2));
    let readable = text(&readable).replace(&pgpass.display().to_string(), "PGPASSFILE");

    let wrong = deployment
        .command(&list)
        .args(["--tenant", tenant, "--db", &url])
        .env("PGPASSWORD", "wrong-9c2e")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    let wrong = text(&wrong);
    assert!(!wrong.contains("wrong-9c2e"));

    let nobody_there = format!("postgres://{SERVICE}@127.0.0.1:1/{}?sslmode=disable", deployment.name);
    let unavailable = deployment.command(&list).args(["--tenant", tenant, "--db", &nobody_there]).output().unwrap();
    assert_eq!(unavailable.status.code(), Some(2));
    let unavailable = text(&unavailable);
    for said in [&on_the_command_line, &in_the_tenant, &readable, &wrong, &unavailable] {
        assert!(!said.contains(SERVICE_PASSWORD), "{said}");
    }
    let said = [
        ("a password in --db", on_the_command_line),
        ("a password in warden.toml", in_the_tenant),
        ("a password file others may read", readable),
        ("a wrong password", wrong),
        ("nothing listening", unavailable),
    ];
    let said: Vec<String> =
        said.iter().map(|(case, text)| format!("# {case}\n{}", stable(text, &deployment))).collect();
    insta::assert_snapshot!(said.join("\n"));
}

#[test]
fn tls_is_checked_as_sslmode_asks() {
    let cluster = shared();
    let name = cluster.database();
    let certificates = cluster.dir.join("tls");
    let open = |host: &str, mode: &str, ca: &str| {
        let url = format!(
            "postgres://{ADMIN}:{ADMIN_PASSWORD}@{host}:{}/{name}?sslmode={mode}&sslrootcert={}",
            cluster.port,
            certificates.join(ca).display()
        );
        let database = warden::store::Database::parse(&url, warden::store::Origin::Environment).unwrap();
        database.open(warden::store::Schema::Migrate).map(|_| ()).map_err(|e| e.to_string())
    };
    assert_eq!(open("localhost", "verify-full", "ca.crt"), Ok(()));
    assert_eq!(open("127.0.0.1", "verify-ca", "ca.crt"), Ok(()), "verify-ca does not look at the name");
    let wrong_name = open("127.0.0.1", "verify-full", "ca.crt").unwrap_err();
    assert!(wrong_name.contains("TLS: invalid peer certificate: certificate not valid for name"), "{wrong_name}");
    let wrong_ca = open("localhost", "verify-full", "other.crt").unwrap_err();
    assert!(wrong_ca.contains("TLS: invalid peer certificate: UnknownIssuer"), "{wrong_ca}");
    assert_eq!(open("localhost", "require", "other.crt"), Ok(()), "require encrypts without checking");
    let missing = open("localhost", "verify-full", "missing.crt").unwrap_err();
    assert!(missing.contains("sslrootcert=PATH") && missing.contains("cannot be read"), "{missing}");
    // The connections were encrypted: the server says so.
    let encrypted = "SELECT count(*) > 0 FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                     WHERE s.ssl AND a.application_name = 'warden' AND a.datname = current_database()";
    let url = format!(
        "postgres://{ADMIN}:{ADMIN_PASSWORD}@localhost:{}/{name}?sslmode=verify-full&sslrootcert={}",
        cluster.port,
        certificates.join("ca.crt").display()
    );
    let store = warden::store::Database::parse(&url, warden::store::Origin::Environment)
        .unwrap()
        .open(warden::store::Schema::Expect)
        .unwrap();
    assert!(store.account_switch("acme").unwrap().is_none());
    assert_eq!(cluster.sql(&name, encrypted).trim(), "t");
}

// --- db copy -------------------------------------------------------------------------------------------

#[test]
fn db_copy_from_sqlite_to_postgres_and_back_is_lossless() {
    let deployment = Deployment::new(shared());
    let first = deployment.dir.join("first.db");
    let sqlite = |db: &Path, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--tenant", deployment.tenant.to_str().unwrap(), "--db", db.to_str().unwrap()]);
        let output = deployment.command(&all).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", text(&output));
        String::from_utf8(output.stdout).unwrap()
    };
    let mut ids = Vec::new();
    for name in ["ci", "deploy", "retired", "paused"] {
        let args =
            ["token", "create", "--as", ALICE, "--name", name, "--scope", RUN, "--account-wide", "--never-expires"];
        let token = sqlite(&first, &args);
        ids.push(token.split('.').take(2).collect::<Vec<_>>().join("."));
    }
    sqlite(&first, &["token", "delete", &ids[2], "--as", ALICE]);
    sqlite(&first, &["token", "disable", &ids[3], "--as", ALICE]);
    let second = deployment.dir.join("second.db");
    let admin = deployment.admin_url();
    let there = deployment.warden_as_admin(&["db", "copy", "--from", first.to_str().unwrap(), "--to", &admin]);
    assert!(there.status.success(), "{}", text(&there));
    let back = deployment.warden_as_admin(&["db", "copy", "--from", &admin, "--to", second.to_str().unwrap()]);
    assert!(back.status.success(), "{}", text(&back));
    let digest = |output: &Output| text(output).lines().find(|l| l.contains("sha256")).unwrap().to_string();
    assert_eq!(digest(&there), digest(&back));
    for what in
        [&["audit", "--as", ALICE, "--format", "json"][..], &["token", "list", "--as", ALICE, "--format", "json"]]
    {
        assert_eq!(sqlite(&first, what), sqlite(&second, what), "{what:?}");
    }
    assert_eq!(deployment.query(&format!("SELECT deleted FROM tokens WHERE id = '{}'", ids[2])), "t");
    let again = deployment.warden_as_admin(&["db", "copy", "--from", first.to_str().unwrap(), "--to", &admin]);
    assert_eq!(again.status.code(), Some(2));
    let dir = deployment.dir.display().to_string();
    let said = format!(
        "$ warden db copy --from first.db --to postgres://…\n{}\n$ warden db copy --from postgres://… --to second.db\n{}\n$ warden db copy --from first.db --to postgres://…   (again)\n{}",
        text(&there).replace(&dir, "DIR"),
        text(&back).replace(&dir, "DIR"),
        text(&again).replace(&dir, "DIR")
    );
    let said = stable(&said, &deployment);
    let said: String = said
        .lines()
        .map(|line| match line.find("sha256 ") {
            Some(at) => format!("{}sha256 <digest>\n", &line[..at]),
            None => format!("{line}\n"),
        })
        .collect();
    insta::assert_snapshot!(said);
}
