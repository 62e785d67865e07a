//! `warden serve` over a real loopback socket: the built binary on the example tenant with a
//! database in a temp dir, spoken to in raw HTTP/1.1 so that limits and malformed input can be
//! sent as they are. Every endpoint, every error answer, limits, reloads, shutdown, concurrent
//! creates, and the log (captured) never holding a secret.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::serve::{Serving, spawn};
use support::{TempDir, copy_dir, example_tenant};

const ALICE: &str = "alice@acme.example";
const GRACE: &str = "grace@acme.example";
const BOB_ID: &str = "743bac42-98e6-40e1-9cdb-907eebe15756";
const ALICE_ID: &str = "1ed2e571-bacc-41a8-85aa-2285a69f6ad3";
const CI_BOT_ID: &str = "6f3105c0-e092-4073-a7ae-a09e09515d7c";
const LOG_SHIPPER_ID: &str = "e0816ad7-11a9-4427-8a8c-e0e5900df546";
const WRITE: &str = "platform-token:tokens:write";
const MANAGE: &str = "platform-token:tokens:manage";
const RUN: &str = "app-engine:apps:run";
const LOGS: &str = "storage:logs:read";
const TOKENS: &str = "/iam/v1/accounts/acme/platform-tokens";

/// A temp dir with the token database (and, for reload tests, a copy of the tenant).
struct Sandbox {
    dir: TempDir,
    tenant: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox { dir: TempDir::new(), tenant: example_tenant().to_path_buf() }
    }

    /// A sandbox whose tenant is a copy the test may change.
    fn with_tenant_copy() -> Sandbox {
        Sandbox::with_copy_of(example_tenant())
    }

    /// A sandbox whose tenant is a copy of `tenant` the test may change.
    fn with_copy_of(tenant: &Path) -> Sandbox {
        let mut sandbox = Sandbox::new();
        let copy = sandbox.dir.join("tenant");
        copy_dir(tenant, &copy);
        sandbox.tenant = copy;
        sandbox
    }

    /// Replaces a file at once, as editors save, so a reload never reads it half-written.
    fn replace(&self, file: &Path, text: &str) {
        let staged = self.dir.join("staged");
        std::fs::write(&staged, text).unwrap();
        std::fs::rename(&staged, file).unwrap();
    }

    fn db(&self) -> PathBuf {
        self.dir.join("tokens.db")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
        command.args(args).arg("--tenant").arg(&self.tenant).arg("--db").arg(self.db()).current_dir(&self.dir);
        for name in [
            "WARDEN_DB",
            "WARDEN_TOKEN",
            "WARDEN_TOKEN_LIMIT",
            "WARDEN_TOKEN_PREFIX",
            "WARDEN_PROPAGATION_SECONDS",
            "WARDEN_LISTEN",
        ] {
            command.env_remove(name);
        }
        command.env("NO_COLOR", "1");
        command
    }

    /// A token made with the CLI (the first token of a deployment has to be): account-wide,
    /// never expiring.
    fn token(&self, actor: &str, scopes: &[&str]) -> String {
        let mut args =
            vec!["token", "create", "--as", actor, "--name", "bootstrap", "--account-wide", "--never-expires"];
        for scope in scopes {
            args.extend(["--scope", scope]);
        }
        let output = self.command(&args).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().lines().next().unwrap().to_string()
    }

    fn serve(&self, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend(extra);
        let Serving { child, address, log } = spawn(&mut self.command(&args));
        Server { child, address, log }
    }
}

struct Server {
    child: Child,
    address: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn wait_for_log(&self, found: impl Fn(&str) -> bool, within: Duration) -> bool {
        eventually(within, || found(&self.log()))
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream
    }

    /// Sends raw bytes on a new connection and reads the answer until the server closes it.
    fn raw(&self, request: &[u8]) -> Reply {
        let mut stream = self.connect();
        stream.write_all(request).unwrap();
        read_reply(&mut stream)
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Reply {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: warden\r\nConnection: close\r\n");
        if let Some(token) = token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() || method != "GET" {
            request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        request.push_str(body);
        self.raw(request.as_bytes())
    }

    fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call("GET", path, token, None)
    }

    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.call("POST", path, token, Some(&body.to_string()))
    }

    fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.call("PUT", path, token, Some(&body.to_string()))
    }

    /// SIGTERM, then the exit status and the whole log.
    fn stop(mut self) -> (ExitStatus, String) {
        signal(&self.child, libc::SIGTERM);
        let status = self.child.wait().unwrap();
        // The log thread reads to the end of the closed pipe.
        std::thread::sleep(Duration::from_millis(100));
        (status, self.log())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on a child this test started and has not reaped yet.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    condition()
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    /// The `reason` of an error body.
    fn reason(&self) -> String {
        self.json()["error"]["reason"].as_str().unwrap_or_else(|| panic!("no error reason: {self:?}")).to_string()
    }

    fn message(&self) -> String {
        self.json()["error"]["message"].as_str().unwrap().to_string()
    }
}

fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    parse_reply(&bytes).unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(&bytes)))
}

fn parse_reply(bytes: &[u8]) -> Option<Reply> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    Some(Reply { status, headers, body: body.to_string() })
}

#[track_caller]
fn assert_status(reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{reply:?}");
}

#[track_caller]
fn assert_error(reply: &Reply, status: u16, reason: &str) {
    assert_status(reply, status);
    assert_eq!(reply.reason(), reason, "{reply:?}");
    assert_eq!(reply.json()["error"]["code"], status, "{reply:?}");
}

fn secret_of(token: &str) -> &str {
    token.split('.').nth(2).expect("three parts")
}

fn id_of(token: &str) -> &str {
    &token[..token.rfind('.').unwrap()]
}

fn new_token(name: &str, scopes: &[&str]) -> Value {
    json!({"name": name, "scope": scopes, "resource": ["urn:dtaccount:acme"], "expirationDate": null})
}

// --- Forward-auth (D29) ----------------------------------------------------------------------------

#[test]
fn forward_auth_answers_200_401_403_with_the_headers_gateways_read() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&[]);

    let allowed = server.get(&format!("/v1/auth?permission={RUN}&environment=staging"), Some(&token));
    assert_status(&allowed, 200);
    assert_eq!(allowed.header("x-warden-token-id"), Some(id_of(&token)));
    assert_eq!(allowed.header("x-warden-user"), Some(ALICE));
    assert_eq!(allowed.header("x-warden-reason"), Some("ok"));
    assert_eq!(allowed.header("www-authenticate"), None);

    // No credentials at all: a bare challenge (RFC 6750 §3.1, D33); a bad token: `invalid_token`.
    let missing = server.get(&format!("/v1/auth?permission={RUN}&environment=staging"), None);
    assert_status(&missing, 401);
    assert_eq!(missing.header("www-authenticate"), Some(r#"Bearer realm="warden""#));
    assert_eq!(missing.header("x-warden-reason"), Some("invalid_token"));

    // Another last character than the token's own: a forgery, never the token itself.
    let other = if token.ends_with('X') { 'Y' } else { 'X' };
    let forged = format!("{}{other}", &token[..token.len() - 1]);
    let forged = server.get(&format!("/v1/auth?permission={RUN}&environment=staging"), Some(&forged));
    assert_status(&forged, 401);
    assert_eq!(forged.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));

    // Denied by the owner's policies (nothing allows it in prod) and outside the scopes.
    let denied = server.get(&format!("/v1/auth?permission={RUN}&environment=prod"), Some(&token));
    assert_status(&denied, 403);
    assert_eq!(denied.header("x-warden-reason"), Some("policy_denied"));
    assert_eq!(denied.header("www-authenticate"), Some(r#"Bearer error="insufficient_scope""#));
    let unscoped = server.get(&format!("/v1/auth?permission={LOGS}&environment=staging"), Some(&token));
    assert_eq!(unscoped.header("x-warden-reason"), Some("insufficient_scope"));

    // No permission at all: a configuration mistake, answered 403 so gateways do not turn it into 500.
    let unconfigured = server.get("/v1/auth", Some(&token));
    assert_status(&unconfigured, 403);
    assert_eq!(unconfigured.header("x-warden-reason"), Some("bad_request"));
    assert!(unconfigured.message().contains("permission"), "{unconfigured:?}");
}

#[test]
fn forward_auth_takes_the_permission_from_headers_unless_the_query_sets_it() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&[]);
    let with_headers = |path: &str, permission: &str, environment: &str| {
        server.raw(
            format!(
                "GET {path} HTTP/1.1\r\nHost: w\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nX-Warden-Permission: {permission}\r\nX-Warden-Environment: {environment}\r\n\r\n"
            )
            .as_bytes(),
        )
    };
    assert_status(&with_headers("/v1/auth", RUN, "staging"), 200);
    assert_status(&with_headers("/v1/auth", RUN, "prod"), 403);
    // A permission given twice is the gateway's mistake, not a choice.
    let twice = server.get(&format!("/v1/auth?permission={RUN}&permission={RUN}"), Some(&token));
    assert_eq!((twice.status, twice.header("x-warden-reason")), (403, Some("bad_request")), "{twice:?}");
    // The gateway's query wins over headers a client may have smuggled in.
    let smuggled = with_headers(&format!("/v1/auth?permission={RUN}&environment=prod"), RUN, "staging");
    assert_eq!(smuggled.header("x-warden-reason"), Some("policy_denied"), "{smuggled:?}");
}

#[test]
fn forward_auth_refuses_disabled_and_expired_tokens_as_invalid_tokens() {
    let sandbox = Sandbox::new();
    let admin = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let path = format!("/v1/auth?permission={RUN}&environment=staging");
    assert_status(&server.get(&path, Some(&admin)), 200);
    let made = server.post(TOKENS, Some(&admin), &new_token("victim", &[RUN]));
    assert_status(&made, 201);
    let victim = made.json()["token"].as_str().unwrap().to_string();
    assert_status(&server.get(&path, Some(&victim)), 200);

    let status = format!("{TOKENS}/{}/status", id_of(&victim));
    assert_status(&server.put(&status, Some(&admin), &json!({"status": "INACTIVE"})), 204);
    let disabled = server.get(&path, Some(&victim));
    assert_status(&disabled, 403);
    assert_eq!(disabled.header("x-warden-reason"), Some("token_disabled"));
    assert_eq!(disabled.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    assert_status(&server.put(&status, Some(&admin), &json!({"status": "ACTIVE"})), 204);
    assert_status(&server.get(&path, Some(&victim)), 200);

    // Expiry is judged against the clock at every check: within seconds, with no other change.
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let expiry = format!("{TOKENS}/{}/expiration-date", id_of(&victim));
    assert_status(&server.put(&expiry, Some(&admin), &json!({"expirationDate": soon})), 204);
    let expired = || server.get(&path, Some(&victim));
    assert!(
        eventually(Duration::from_secs(10), || expired().header("x-warden-reason") == Some("token_expired")),
        "{:?}",
        expired()
    );
    let expired = expired();
    assert_eq!(expired.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
}

// --- /v1/authorize (D28, D23) -----------------------------------------------------------------------

#[test]
fn authorize_answers_200_with_the_outcome_for_every_evaluated_request() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN, LOGS]);
    let server = sandbox.serve(&[]);
    let ask = |token: Option<&str>, body: Value| {
        let reply = server.post("/v1/authorize", token, &body);
        assert_status(&reply, 200);
        reply.json()
    };

    let allowed = ask(Some(&token), json!({"permission": RUN, "environment": "staging"}));
    assert_eq!(allowed["allowed"], true);
    assert_eq!(allowed["decision"], "allow");
    assert_eq!((allowed["status"].as_u64(), allowed["reason"].as_str()), (Some(200), Some("ok")));
    assert_eq!(allowed["tokenId"], id_of(&token));
    assert_eq!(allowed["user"], ALICE);

    let invalid = ask(None, json!({"permission": RUN}));
    assert_eq!((invalid["status"].as_u64(), invalid["reason"].as_str()), (Some(401), Some("invalid_token")));

    // D23: a conditional answer is not allowed, and carries the residual the caller may apply.
    let conditional = ask(Some(&token), json!({"permission": LOGS, "environment": "prod"}));
    assert_eq!(
        (conditional["allowed"].as_bool(), conditional["decision"].as_str()),
        (Some(false), Some("conditional"))
    );
    assert_eq!(conditional["status"], 403);
    assert!(conditional["residual"].as_str().unwrap().contains("storage:k8s.namespace.name"), "{conditional}");
    let with_attributes = ask(
        Some(&token),
        json!({"permission": LOGS, "environment": "prod", "attributes": {"storage:k8s.namespace.name": "team-payments"}}),
    );
    assert_eq!(with_attributes["decision"], "allow", "{with_attributes}");
    let secret_namespace = ask(
        Some(&token),
        json!({"permission": LOGS, "environment": "prod", "attributes": {"storage:k8s.namespace.name": ["vault"]}}),
    );
    assert_eq!(secret_namespace["reason"], "policy_denied", "{secret_namespace}");
}

#[test]
fn authorize_explains_only_to_tokens_that_may_read_policies() {
    let sandbox = Sandbox::new();
    let reader = sandbox.token(ALICE, &[RUN, "iam:policies:read"]);
    let plain = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&[]);
    let body = json!({"permission": RUN, "environment": "prod", "explain": true});

    let explained = server.post("/v1/authorize", Some(&reader), &body).json();
    assert_eq!(explained["explanation"]["decision"], "deny", "{explained}");
    assert!(explained.get("explanationWithheld").is_none());

    let withheld = server.post("/v1/authorize", Some(&plain), &body).json();
    assert!(withheld.get("explanation").is_none(), "{withheld}");
    assert!(withheld["explanationWithheld"].as_str().unwrap().contains("iam:policies:read"), "{withheld}");
}

#[test]
fn authorize_answers_400_for_a_malformed_call_naming_the_field() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&[]);
    let bad = |body: &str| server.call("POST", "/v1/authorize", Some(&token), Some(body));

    let not_json = bad("{permission: app-engine}");
    assert_error(&not_json, 400, "invalid_body");
    let missing = bad("{}");
    assert_error(&missing, 400, "invalid_body");
    assert!(missing.message().contains("missing field `permission`"), "{missing:?}");
    let wrong_type = bad(r#"{"permission": "app-engine:apps:run", "explain": "yes"}"#);
    assert!(wrong_type.message().starts_with("`explain`: invalid type"), "{wrong_type:?}");
    let unknown = bad(r#"{"permission": "app-engine:apps:run", "enviroment": "prod"}"#);
    assert!(unknown.message().contains("unknown field `enviroment`"), "{unknown:?}");
    let nested = bad(r#"{"permission": "app-engine:apps:run", "attributes": {"storage:k8s.namespace.name": 3}}"#);
    assert!(nested.message().starts_with("`attributes.storage:k8s.namespace.name`"), "{nested:?}");
    let trailing = bad(r#"{"permission": "app-engine:apps:run"} {}"#);
    assert_error(&trailing, 400, "invalid_body");
    // A request the evaluator cannot judge: an attribute key the catalog does not know.
    let unknown_key =
        bad(r#"{"permission": "app-engine:apps:run", "environment": "staging", "attributes": {"storage:nope": "x"}}"#);
    assert_error(&unknown_key, 400, "unknown_attribute");
}

// --- Token management ------------------------------------------------------------------------------

#[test]
fn a_created_token_is_shown_once_works_and_is_listed_without_its_secret() {
    let sandbox = Sandbox::new();
    let admin = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let body = json!({
        "name": "  deploy bot  ", "scope": [RUN], "resource": ["urn:dtenvironment:staging"],
        "tags": ["ci"], "expirationDate": "2099-01-01T00:00:00Z"
    });
    let made = server.post(TOKENS, Some(&admin), &body);
    assert_status(&made, 201);
    let made = made.json();
    let token = made["token"].as_str().unwrap().to_string();
    assert_eq!(made["name"], "deploy bot");
    assert_eq!(made["tokenId"], id_of(&token));
    assert_status(&server.get(&format!("/v1/auth?permission={RUN}&environment=staging"), Some(&token)), 200);
    // D22: narrowed to staging, so no good in dev.
    let elsewhere = server.get(&format!("/v1/auth?permission={RUN}&environment=dev"), Some(&token));
    assert_eq!(elsewhere.header("x-warden-reason"), Some("wrong_resource"));

    let shown = server.get(&format!("{TOKENS}/{}", id_of(&token)), Some(&admin));
    assert_status(&shown, 200);
    let shown = shown.json();
    assert_eq!(shown["resource"], json!(["urn:dtenvironment:staging"]));
    assert_eq!(shown["tags"], json!(["ci"]));
    assert_eq!(shown["expirationDate"], "2099-01-01T00:00:00Z");
    assert_eq!(shown["userUuid"], ALICE_ID);
    assert_eq!(shown["status"], "ACTIVE");
    let listed = server.get(TOKENS, Some(&admin));
    assert!(!listed.body.contains(secret_of(&token)) && !shown.to_string().contains(secret_of(&token)));
    assert_eq!(listed.json()["total"], 2);
    // The allowed check above is recorded as its last use (written in the background).
    let last_used = || server.get(&format!("{TOKENS}/{}", id_of(&token)), Some(&admin)).json()["lastUsedAt"].clone();
    assert!(eventually(Duration::from_secs(5), || last_used().is_string()), "lastUsedAt stays {}", last_used());
}

#[test]
fn listing_pages_searches_and_filters_by_status() {
    let sandbox = Sandbox::new();
    let admin = sandbox.token(GRACE, &[WRITE, MANAGE, RUN]);
    let own = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    for name in ["alpha", "beta", "Gamma", "delta"] {
        assert_status(&server.post(TOKENS, Some(&own), &new_token(name, &[RUN])), 201);
    }
    let page = |query: &str, token: &str| {
        let reply = server.get(&format!("{TOKENS}{query}"), Some(token));
        assert_status(&reply, 200);
        reply.json()
    };
    let first = page("?size=2", &own);
    assert_eq!(
        (first["pageSize"].as_u64(), first["pageNumber"].as_u64(), first["total"].as_u64()),
        (Some(2), Some(0), Some(5))
    );
    assert_eq!(first["results"].as_array().unwrap().len(), 2);
    let last = page("?size=2&page=2", &own);
    assert_eq!(last["results"].as_array().unwrap().len(), 1);
    assert_eq!(page("?searchTerm=GAMMA", &own)["results"][0]["name"], "Gamma");
    assert_eq!(page(&format!("?searchTerm={}", &id_of(&own)[7..15].to_lowercase()), &own)["total"], 1);

    // The admin sees the account's tokens, the owner their own.
    assert_eq!(page("", &admin)["total"], 6);
    let gamma = page("?searchTerm=gamma", &own)["results"][0]["tokenId"].as_str().unwrap().to_string();
    assert_status(&server.put(&format!("{TOKENS}/{gamma}/status"), Some(&admin), &json!({"status": "INACTIVE"})), 204);
    let inactive = page("?status=INACTIVE", &own);
    assert_eq!((inactive["total"].as_u64(), inactive["results"][0]["name"].as_str()), (Some(1), Some("Gamma")));
    assert_eq!(page("?status=ACTIVE", &own)["total"], 4);

    assert_error(&server.get(&format!("{TOKENS}?size=101"), Some(&own)), 400, "invalid_query");
    assert_error(&server.get(&format!("{TOKENS}?size=0"), Some(&own)), 400, "invalid_query");
    let bad_status = server.get(&format!("{TOKENS}?status=GONE"), Some(&own));
    assert_error(&bad_status, 400, "invalid_query");
    assert!(bad_status.message().contains("ACTIVE"), "{bad_status:?}");
    assert_error(&server.get(&format!("{TOKENS}?page=-1"), Some(&own)), 400, "invalid_query");
    assert_error(&server.get(&format!("{TOKENS}?pages=1"), Some(&own)), 400, "invalid_query");
}

#[test]
fn every_lifecycle_operation_works_over_http() {
    let sandbox = Sandbox::new();
    let admin = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let made = server.post(TOKENS, Some(&admin), &new_token("K8s operator 2026-01-02", &[RUN]));
    let old = made.json()["token"].as_str().unwrap().to_string();
    let path = format!("/v1/auth?permission={RUN}&environment=staging");

    let duplicated = server.post(&format!("{TOKENS}/{}/duplicate", id_of(&old)), Some(&admin), &json!({}));
    assert_status(&duplicated, 201);
    assert_eq!(duplicated.json()["name"], "Duplicate of: K8s operator 2026-01-02");
    let copy = duplicated.json()["token"].as_str().unwrap().to_string();
    assert_status(&server.get(&path, Some(&copy)), 200);

    // Rotation with an empty body: the old token stops now, the new one has today's date.
    let rotated = server.call("POST", &format!("{TOKENS}/{}/rotate", id_of(&old)), Some(&admin), None);
    assert_status(&rotated, 201);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(rotated.json()["name"], format!("K8s operator {today}"));
    let new = rotated.json()["token"].as_str().unwrap().to_string();
    assert_status(&server.get(&path, Some(&new)), 200);
    assert_eq!(server.get(&path, Some(&old)).header("x-warden-reason"), Some("token_expired"));
    // An expired token cannot be rotated again.
    assert_error(
        &server.call("POST", &format!("{TOKENS}/{}/rotate", id_of(&old)), Some(&admin), None),
        409,
        "token_expired",
    );

    let with_overlap = server.post(
        &format!("{TOKENS}/{}/rotate", id_of(&copy)),
        Some(&admin),
        &json!({"name": "overlapping", "expirationDate": null, "oldTokenExpiresAt": hours_ahead(30 * 24)}),
    );
    assert_status(&with_overlap, 201);
    assert_status(&server.get(&path, Some(&copy)), 200);

    let forever = format!("{TOKENS}/{}/expiration-date", id_of(&new));
    assert_status(&server.put(&forever, Some(&admin), &json!({"expirationDate": null})), 204);
    assert_error(
        &server.put(&forever, Some(&admin), &json!({"expirationDate": "2001-01-01T00:00:00Z"})),
        400,
        "expiry_in_past",
    );
    assert_error(&server.put(&forever, Some(&admin), &json!({})), 400, "invalid_body");
    let expired_status =
        server.put(&format!("{TOKENS}/{}/status", id_of(&new)), Some(&admin), &json!({"status": "EXPIRED"}));
    assert_error(&expired_status, 400, "invalid_body");

    let delete = format!("{TOKENS}/{}", id_of(&new));
    assert_status(&server.call("DELETE", &delete, Some(&admin), None), 204);
    assert_status(&server.get(&path, Some(&new)), 401);
    assert_error(&server.call("DELETE", &delete, Some(&admin), None), 404, "unknown_token");
    assert_error(&server.get(&format!("{TOKENS}/dt0s16.NOSUCHTOKEN"), Some(&admin)), 404, "unknown_token");
}

fn hours_ahead(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339()
}

/// D31 and D32 as the API shows them: rotation does not breed, and a token makes no token and
/// sets no expiry that outlives it.
#[test]
fn rotation_and_expiry_bounds_over_http() {
    let sandbox = Sandbox::new();
    let admin = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let mut body = new_token("short", &[WRITE, RUN]);
    body["expirationDate"] = json!(hours_ahead(24));
    let short = server.post(TOKENS, Some(&admin), &body).json()["token"].as_str().unwrap().to_string();

    assert_error(&server.post(TOKENS, Some(&short), &new_token("forever", &[RUN])), 403, "expiry_beyond_caller");
    body["expirationDate"] = json!(hours_ahead(48));
    assert_error(&server.post(TOKENS, Some(&short), &body), 403, "expiry_beyond_caller");
    let forever = server.post(TOKENS, Some(&admin), &new_token("forever", &[RUN])).json()["tokenId"].clone();
    let forever = forever.as_str().unwrap();
    let never = json!({"expirationDate": null});
    let expiry = format!("{TOKENS}/{forever}/expiration-date");
    assert_status(&server.put(&expiry, Some(&short), &json!({"expirationDate": hours_ahead(12)})), 204);
    assert_error(&server.put(&expiry, Some(&short), &never), 403, "expiry_beyond_caller");

    let lasting = server.post(TOKENS, Some(&admin), &new_token("lasting", &[RUN])).json()["tokenId"].clone();
    let rotate = format!("{TOKENS}/{}/rotate", lasting.as_str().unwrap());
    let too_long = json!({"expirationDate": null, "oldTokenExpiresAt": hours_ahead(31 * 24)});
    assert_error(&server.post(&rotate, Some(&admin), &too_long), 400, "invalid_overlap");
    let overlap = json!({"expirationDate": null, "oldTokenExpiresAt": hours_ahead(24)});
    assert_status(&server.post(&rotate, Some(&admin), &overlap), 201);
    assert_error(&server.post(&rotate, Some(&admin), &overlap), 409, "already_rotated");
}

#[test]
fn rights_are_the_calling_tokens_scopes_and_its_owners_policies() {
    let sandbox = Sandbox::new();
    let narrow = sandbox.token(ALICE, &[WRITE, RUN]);
    let no_write = sandbox.token(ALICE, &[RUN]);
    let grace = sandbox.token(GRACE, &[WRITE, MANAGE, RUN]);
    let server = sandbox.serve(&[]);

    // D21: a new token's scopes must be among the caller's.
    let wider = server.post(TOKENS, Some(&narrow), &new_token("wider", &[RUN, LOGS]));
    assert_error(&wider, 403, "scope_not_held");
    assert!(wider.message().contains(LOGS), "{wider:?}");
    // The token lacks the right's scope though its owner's policies grant it.
    let unscoped = server.post(TOKENS, Some(&no_write), &new_token("x", &[RUN]));
    assert_error(&unscoped, 403, "not_permitted");
    assert!(unscoped.message().contains(&format!("does not hold the scope `{WRITE}`")), "{unscoped:?}");

    // Owners manage their own; an admin manages everyone's; others are refused.
    let mine =
        server.post(TOKENS, Some(&narrow), &new_token("mine", &[RUN])).json()["tokenId"].as_str().unwrap().to_string();
    let status = format!("{TOKENS}/{mine}/status");
    assert_error(&server.put(&status, Some(&no_write), &json!({"status": "INACTIVE"})), 403, "not_permitted");
    assert_status(&server.put(&status, Some(&grace), &json!({"status": "INACTIVE"})), 204);

    // The account switch: admins only.
    let settings = "/iam/v1/accounts/acme/settings/platform-tokens";
    assert_error(&server.put(settings, Some(&narrow), &json!({"allowed": false})), 403, "not_permitted");
    assert_status(&server.put(settings, Some(&grace), &json!({"allowed": false})), 204);
    assert_eq!(server.get(settings, Some(&narrow)).json(), json!({"allowed": false}));
    assert_error(&server.get(settings, Some(&no_write)), 403, "not_permitted");
    assert_error(&server.post(TOKENS, Some(&narrow), &new_token("x", &[RUN])), 403, "tokens_disabled");
    assert_status(&server.put(settings, Some(&grace), &json!({"allowed": true})), 204);
    assert_status(&server.post(TOKENS, Some(&narrow), &new_token("x", &[RUN])), 201);
}

#[test]
fn user_uuid_is_the_caller_or_a_service_user_the_caller_may_act_for() {
    let sandbox = Sandbox::new();
    let alice = sandbox.token(ALICE, &[WRITE, RUN, "iam:service-users:use"]);
    let server = sandbox.serve(&[]);
    let body = |uuid: &str| json!({"name": "n", "scope": [RUN], "resource": ["urn:dtaccount:acme"], "expirationDate": null, "userUuid": uuid});

    assert_status(&server.post(TOKENS, Some(&alice), &body(ALICE_ID)), 201);
    let for_bot = server.post(TOKENS, Some(&alice), &body(CI_BOT_ID));
    assert_status(&for_bot, 201);
    let shown = server.get(&format!("{TOKENS}/{}", for_bot.json()["tokenId"].as_str().unwrap()), Some(&alice));
    assert_eq!(shown.json()["userUuid"], CI_BOT_ID);
    assert_error(&server.post(TOKENS, Some(&alice), &body(LOG_SHIPPER_ID)), 403, "service_user_not_allowed");
    let other = server.post(TOKENS, Some(&alice), &body(BOB_ID));
    assert_error(&other, 400, "invalid_owner");
    assert!(other.message().starts_with("`userUuid`"), "{other:?}");
}

#[test]
fn create_names_what_is_wrong_with_the_body() {
    let sandbox = Sandbox::new();
    let alice = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let create = |body: Value| server.post(TOKENS, Some(&alice), &body);

    let no_expiry = create(json!({"name": "n", "scope": [RUN], "resource": ["urn:dtaccount:acme"]}));
    assert_error(&no_expiry, 400, "invalid_body");
    assert!(no_expiry.message().contains("`expirationDate`"), "{no_expiry:?}");
    let bad_date =
        create(json!({"name": "n", "scope": [RUN], "resource": ["urn:dtaccount:acme"], "expirationDate": "tomorrow"}));
    assert!(bad_date.message().starts_with("`expirationDate`: "), "{bad_date:?}");
    let bad_scope =
        create(json!({"name": "n", "scope": [RUN, 7], "resource": ["urn:dtaccount:acme"], "expirationDate": null}));
    assert!(bad_scope.message().starts_with("`scope[1]`: "), "{bad_scope:?}");
    let typo =
        create(json!({"name": "n", "scopes": [RUN], "resource": ["urn:dtaccount:acme"], "expirationDate": null}));
    assert!(typo.message().contains("unknown field `scopes`"), "{typo:?}");

    let other_account =
        create(json!({"name": "n", "scope": [RUN], "resource": ["urn:dtaccount:globex"], "expirationDate": null}));
    assert_error(&other_account, 400, "invalid_resource");
    assert!(other_account.message().starts_with("`resource[0]`"), "{other_account:?}");
    assert_error(
        &create(json!({"name": "n", "scope": [RUN], "resource": [], "expirationDate": null})),
        400,
        "invalid_resource",
    );
    assert_error(
        &create(json!({"name": "n", "scope": [RUN], "resource": ["urn:dtenvironment:qa"], "expirationDate": null})),
        400,
        "unknown_environment",
    );
    let typo_scope = create(
        json!({"name": "n", "scope": ["app-engine:apps:runn"], "resource": ["urn:dtaccount:acme"], "expirationDate": null}),
    );
    assert_error(&typo_scope, 400, "unknown_scope");
    assert!(typo_scope.message().contains("did you mean `app-engine:apps:run`?"), "{typo_scope:?}");
    assert_error(
        &create(json!({"name": " ", "scope": [RUN], "resource": ["urn:dtaccount:acme"], "expirationDate": null})),
        400,
        "invalid_name",
    );
}

#[test]
fn the_management_api_refuses_bad_callers_and_unknown_accounts() {
    let sandbox = Sandbox::new();
    let alice = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let none = server.get(TOKENS, None);
    assert_error(&none, 401, "invalid_token");
    assert_eq!(none.header("www-authenticate"), Some(r#"Bearer realm="warden""#));
    let bad = server.get(TOKENS, Some("dt0s16.AAAA.BBBB"));
    assert_error(&bad, 401, "invalid_token");
    assert_eq!(bad.header("www-authenticate"), Some(r#"Bearer error="invalid_token""#));
    let elsewhere = server.get("/iam/v1/accounts/globex/platform-tokens", Some(&alice));
    assert_error(&elsewhere, 404, "unknown_account");
    // Without a valid token nobody learns which account is served, nor has anything judged.
    let probe = server.get("/iam/v1/accounts/globex/platform-tokens", None);
    assert_error(&probe, 401, "invalid_token");
    assert!(!probe.body.contains("acme"), "{probe:?}");
    assert_error(&server.get(&format!("{TOKENS}?size=1000"), None), 401, "invalid_token");
    assert_error(&server.call("POST", TOKENS, None, Some("{not json")), 401, "invalid_token");
    // A call of the API is a use of the calling token.
    let last_used = || server.get(&format!("{TOKENS}/{}", id_of(&alice)), Some(&alice)).json()["lastUsedAt"].clone();
    assert!(eventually(Duration::from_secs(5), || last_used().is_string()), "lastUsedAt stays {}", last_used());
    assert!(elsewhere.message().contains("`acme`"), "{elsewhere:?}");
}

#[test]
fn twenty_concurrent_creates_over_http_make_exactly_ten_tokens() {
    let sandbox = Sandbox::new();
    let alice = sandbox.token(ALICE, &[WRITE, RUN, "iam:service-users:use"]);
    let server = sandbox.serve(&[]);
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let (server, alice) = (&server, &alice);
                scope.spawn(move || {
                    let body = json!({"name": format!("race {i}"), "scope": [RUN], "resource": ["urn:dtaccount:acme"], "expirationDate": null, "userUuid": CI_BOT_ID});
                    let reply = server.post(TOKENS, Some(alice), &body);
                    let reason = if reply.status == 201 { String::new() } else { reply.reason() };
                    (reply.status, reason)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let made = statuses.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(made, 10, "{statuses:?}");
    assert!(statuses.iter().filter(|(s, _)| *s != 201).all(|(s, r)| *s == 409 && r == "token_limit"), "{statuses:?}");
}

// --- Limits and bad input ---------------------------------------------------------------------------

#[test]
fn oversized_bodies_and_headers_are_refused_with_413_and_431() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&[]);
    let padding = "x".repeat(64 * 1024);
    let large = format!(r#"{{"permission": "{RUN}", "environment": "{padding}"}}"#);
    assert_error(&server.call("POST", "/v1/authorize", Some(&token), Some(&large)), 413, "body_too_large");
    // Without a Content-Length (chunked), the limit holds while reading.
    let chunked = format!(
        "POST /v1/authorize HTTP/1.1\r\nHost: w\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{large}\r\n0\r\n\r\n",
        large.len()
    );
    assert_error(&server.raw(chunked.as_bytes()), 413, "body_too_large");
    // Just under the limit is read (and judged: the environment does not exist).
    let fits = format!(r#"{{"permission": "{RUN}", "environment": "{}"}}"#, "x".repeat(60 * 1024));
    assert_error(&server.call("POST", "/v1/authorize", Some(&token), Some(&fits)), 400, "unknown_environment");

    let header =
        format!("GET /healthz HTTP/1.1\r\nHost: w\r\nConnection: close\r\nX-Filler: {}\r\n\r\n", "y".repeat(8 * 1024));
    assert_status(&server.raw(header.as_bytes()), 431);
    let small = "GET /healthz HTTP/1.1\r\nHost: w\r\nConnection: close\r\nX-Filler: y\r\n\r\n";
    assert_status(&server.raw(small.as_bytes()), 200);
}

#[test]
fn unknown_routes_and_methods_answer_json() {
    let sandbox = Sandbox::new();
    let server = sandbox.serve(&[]);
    let missing = server.get("/v2/nothing", None);
    assert_error(&missing, 404, "not_found");
    assert!(missing.message().contains("/v1/auth"), "{missing:?}");
    assert_eq!(missing.header("content-type"), Some("application/json"));
    assert_error(&server.call("DELETE", "/v1/authorize", None, None), 405, "method_not_allowed");
    let garbage = server.raw(b"NOT HTTP AT ALL\r\n\r\n");
    assert_status(&garbage, 400);
}

#[test]
fn slow_clients_are_cut_off() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&["--client-timeout", "0.5"]);
    // Headers that never end: the connection is closed.
    let mut stream = server.connect();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: w\r\n").unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(10), "closed after the timeout");
    // A body that never arrives: 408.
    let mut stream = server.connect();
    let head = format!(
        "POST /v1/authorize HTTP/1.1\r\nHost: w\r\nAuthorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n{{\"perm"
    );
    stream.write_all(head.as_bytes()).unwrap();
    assert_error(&read_reply(&mut stream), 408, "request_timeout");
    // The server still serves.
    assert_status(&server.get("/healthz", None), 200);
}

// --- Operations --------------------------------------------------------------------------------------

#[test]
fn health_readiness_and_metrics() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    assert_eq!(server.get("/healthz", None).json(), json!({"status": "ok"}));
    let ready = server.get("/readyz", None);
    assert_status(&ready, 200);
    // Anyone may ask: the answer names no account, path or error.
    assert_eq!(ready.json(), json!({"status": "ready", "tenantReload": "ok"}));

    server.get(&format!("/v1/auth?permission={RUN}&environment=staging"), Some(&token));
    server.get(&format!("/v1/auth?permission={RUN}&environment=prod"), Some(&token));
    server.post("/v1/authorize", None, &json!({"permission": RUN}));
    server.post(TOKENS, Some(&token), &new_token("m", &[RUN]));
    server.post(TOKENS, Some(&token), &new_token("m", &[LOGS]));
    let metrics = server.get("/metrics", None);
    assert_status(&metrics, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    for line in [
        r#"warden_decisions_total{endpoint="auth",outcome="allow",reason="ok"} 1"#,
        r#"warden_decisions_total{endpoint="auth",outcome="deny",reason="policy_denied"} 1"#,
        r#"warden_decisions_total{endpoint="authorize",outcome="deny",reason="invalid_token"} 1"#,
        r#"warden_check_duration_seconds_count 3"#,
        r#"warden_token_operations_total{operation="create",outcome="ok"} 1"#,
        r#"warden_token_operations_total{operation="create",outcome="scope_not_held"} 1"#,
        r#"warden_http_responses_total{code="201"} 1"#,
    ] {
        assert!(metrics.body.lines().any(|l| l == line), "missing `{line}` in\n{}", metrics.body);
    }
}

#[test]
fn the_tenant_reloads_when_its_files_change_and_a_broken_one_is_refused() {
    let sandbox = Sandbox::with_tenant_copy();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&["--watch", "0.1"]);
    let dev = format!("/v1/auth?permission={RUN}&environment=dev");
    assert_status(&server.get(&dev, Some(&token)), 200);
    let config = sandbox.tenant.join("warden.toml");
    let original = std::fs::read_to_string(&config).unwrap();

    // A broken tenant: refused, logged with its errors, the last good one keeps serving.
    sandbox.replace(
        &config,
        &original.replace("policy = \"builtin:appengine-admin\"", "policy = \"builtin:appengine-admn\""),
    );
    // The refusal and each of its errors are separate log lines: wait for the error too.
    let logged = |log: &str| log.contains("was refused") && log.contains("builtin:appengine-admn");
    assert!(server.wait_for_log(logged, Duration::from_secs(10)), "the log names the error:\n{}", server.log());
    assert_status(&server.get(&dev, Some(&token)), 200);
    let ready = server.get("/readyz", None);
    assert_eq!((ready.status, ready.json()["tenantReload"].as_str()), (200, Some("refused")), "{ready:?}");
    // Refused once, not at every look.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.log().matches("was refused").count(), 1, "{}", server.log());

    // A good change: SRE loses app-engine admin in dev, at once for this process.
    sandbox.replace(&config, &without_sre_admin_in_dev(&original));
    assert!(
        eventually(Duration::from_secs(10), || server.get(&dev, Some(&token)).status == 403),
        "the change is served:\n{}",
        server.log()
    );
    assert_eq!(server.get("/readyz", None).json()["tenantReload"], "ok");
    let metrics = server.get("/metrics", None).body;
    assert!(metrics.contains("warden_tenant_reloads_total{result=\"refused\"} 1"), "{metrics}");
}

/// The example tenant without the binding that makes SRE (alice) app-engine admins in dev.
fn without_sre_admin_in_dev(config: &str) -> String {
    let binding =
        "[[binding]]\npolicy = \"builtin:appengine-admin\"\ngroups = [\"sre\"]\nlevel = \"environment:dev\"\n";
    assert!(config.contains(binding), "the example tenant binds appengine-admin for sre in dev");
    config.replace(binding, "")
}

#[test]
fn a_terraform_tenant_that_nests_without_end_is_refused_and_the_server_serves_on() {
    // 5,000 locals each naming the one before: evaluating them ran the reload thread's stack
    // out, which aborts the whole process.
    let sandbox = Sandbox::with_copy_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/example-terraform"));
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&["--watch", "0.1"]);
    let dev = format!("/v1/auth?permission={RUN}&environment=dev");
    assert_status(&server.get(&dev, Some(&token)), 200);
    let mut chain = String::from("locals {\n  a0 = \"ALLOW storage:logs:read;\"\n");
    for level in 1..5_000 {
        chain.push_str(&format!("  a{level} = local.a{}\n", level - 1));
    }
    chain.push_str("}\nresource \"dynatrace_iam_policy\" \"chain\" {\n  name            = \"chain\"\n  account         = \"acme\"\n  statement_query = local.a4999\n}\n");
    sandbox.replace(&sandbox.tenant.join("chain.tf"), &chain);
    assert!(
        server.wait_for_log(|log| log.contains("was refused"), Duration::from_secs(20)),
        "the reload is refused:\n{}",
        server.log()
    );
    assert_status(&server.get(&dev, Some(&token)), 200);
    assert_status(&server.get("/healthz", None), 200);
}

#[test]
fn sighup_reloads_the_tenant() {
    let sandbox = Sandbox::with_tenant_copy();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&["--watch", "0"]);
    let dev = format!("/v1/auth?permission={RUN}&environment=dev");
    assert_status(&server.get(&dev, Some(&token)), 200);
    let config = sandbox.tenant.join("warden.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, without_sre_admin_in_dev(&original)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_status(&server.get(&dev, Some(&token)), 200);
    signal(&server.child, libc::SIGHUP);
    assert!(eventually(Duration::from_secs(10), || server.get(&dev, Some(&token)).status == 403), "{}", server.log());
}

#[test]
fn shutdown_lets_a_request_in_flight_finish() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&[]);
    let body = format!(r#"{{"permission": "{RUN}", "environment": "staging"}}"#);
    let mut stream = server.connect();
    let head = format!(
        "POST /v1/authorize HTTP/1.1\r\nHost: w\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    signal(&server.child, libc::SIGTERM);
    assert!(server.wait_for_log(|log| log.contains("shutting down"), Duration::from_secs(10)));
    assert!(TcpStream::connect(&server.address).is_err(), "no new connections once shutting down");
    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let reply = read_reply(&mut stream);
    assert_status(&reply, 200);
    assert_eq!(reply.json()["allowed"], true);
    let (status, _) = server.stop();
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_log_has_one_line_per_request_and_never_a_secret() {
    let sandbox = Sandbox::new();
    let admin = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let mut secrets = vec![admin.clone()];
    let made = server.post(TOKENS, Some(&admin), &new_token("logged", &[RUN])).json();
    let token = made["token"].as_str().unwrap().to_string();
    secrets.push(token.clone());
    let rotated = server.call("POST", &format!("{TOKENS}/{}/rotate", id_of(&token)), Some(&admin), None);
    secrets.push(rotated.json()["token"].as_str().unwrap().to_string());
    let duplicated = server.post(&format!("{TOKENS}/{}/duplicate", id_of(&admin)), Some(&admin), &json!({}));
    secrets.push(duplicated.json()["token"].as_str().unwrap().to_string());
    // Secrets where a careless client puts them: the path and the query.
    server.get(&format!("{TOKENS}/{admin}"), Some(&admin));
    server.get(&format!("/v1/auth?permission={RUN}&access_token={admin}"), Some(&admin));
    server.post("/v1/authorize", Some(&admin), &json!({"permission": admin}));
    server.get(&format!("/v1/auth?permission={RUN}&environment=staging"), Some(&format!("{admin}x")));

    let (status, log) = server.stop();
    assert!(status.success());
    for secret in &secrets {
        assert!(!log.contains(secret_of(secret)), "the secret of {} is in the log:\n{log}", id_of(secret));
    }
    let requests: Vec<&str> = log.lines().filter(|l| l.contains(" token=")).collect();
    assert_eq!(requests.len(), 7, "{log}");
    let create = requests[0];
    for part in [
        "POST /iam/v1/accounts/acme/platform-tokens 201",
        &format!("token={}", id_of(&admin)),
        "decision=ok",
        "latency_us=",
    ] {
        assert!(create.contains(part), "`{part}` in {create}");
    }
    assert!(requests[3].contains(&format!("{}.…", id_of(&admin))), "{}", requests[3]);
}

#[test]
fn no_input_crashes_the_server_or_gets_a_server_error() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies = [
        deep.as_str(),
        "\u{0}\u{1}\u{2}",
        "{\"permission\": \"\\ud800\"}",
        "{\"permission\": 1e999999}",
        "{\"name\": \"n\", \"scope\": [], \"resource\": [\"urn:dtaccount:acme\"], \"expirationDate\": null}",
        "{\"name\": \"n\", \"scope\": [\"app-engine:apps:run\"], \"resource\": [\"urn:dtaccount:acme\"], \"expirationDate\": \"2026-13-45T99:00:00Z\"}",
        "[1, 2, 3]",
        "null",
        "\"text\"",
        "{\"permission\": \"app-engine:apps:run\", \"attributes\": {\"\": []}}",
    ];
    let paths = [
        "/v1/authorize".to_string(),
        TOKENS.to_string(),
        format!("{TOKENS}/dt0s16.X/rotate"),
        format!("{TOKENS}/dt0s16.X/status"),
        format!("{TOKENS}/%FF%00/expiration-date"),
        "/iam/v1/accounts/acme/settings/platform-tokens".to_string(),
    ];
    let mut answers = Vec::new();
    for path in &paths {
        for body in &bodies {
            for method in ["POST", "PUT"] {
                answers.push(server.call(method, path, Some(&token), Some(body)).status);
            }
        }
    }
    let mut raw: Vec<Vec<u8>> = vec![
        b"GET /v1/auth?permission=%FF%FE HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n".to_vec(),
        b"GET /v1/auth HTTP/1.1\r\nHost: w\r\nConnection: close\r\nAuthorization: \xff\xfe\r\n\r\n".to_vec(),
        b"GET /v1/auth?permission=a HTTP/1.1\r\nHost: w\r\nConnection: close\r\nX-Warden-Environment: \xc3\r\n\r\n"
            .to_vec(),
        [
            format!("POST /v1/authorize HTTP/1.1\r\nHost: w\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: 5\r\n\r\n").as_bytes(),
            b"\xff\xff\xff\xff\xff",
        ]
        .concat(),
        b"POST /v1/authorize HTTP/1.1\r\nHost: w\r\nConnection: close\r\nContent-Length: -1\r\n\r\n".to_vec(),
        b"POST /v1/authorize HTTP/1.1\r\nHost: w\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"
            .to_vec(),
    ];
    raw.push(format!("GET /{} HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n", "a/".repeat(3000)).into_bytes());
    for request in &raw {
        answers.push(server.raw(request).status);
    }
    assert!(answers.iter().all(|status| (400..500).contains(status)), "{answers:?}");

    // Racing changes to one token: each answer is a success or `unknown_token`, never a 500.
    let victim =
        server.post(TOKENS, Some(&token), &new_token("victim", &[RUN])).json()["tokenId"].as_str().unwrap().to_string();
    let deletes: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| server.call("DELETE", &format!("{TOKENS}/{victim}"), Some(&token), None).status))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(deletes.iter().filter(|s| **s == 204).count(), 1, "{deletes:?}");
    assert!(deletes.iter().all(|s| *s == 204 || *s == 404), "{deletes:?}");
    assert_status(&server.get("/healthz", None), 200);
    assert_status(&server.get(&format!("/v1/auth?permission={RUN}&environment=staging"), Some(&token)), 200);
}

#[test]
fn error_answers_never_quote_a_secret_back() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let status = format!("{TOKENS}/{}/status", id_of(&token));
    let answers = [
        server.get(&format!("/v1/authz/{token}"), None),
        server.put(&status, Some(&token), &json!({"status": token})),
        server.post("/v1/authorize", Some(&token), &json!({"permission": RUN, "explain": token})),
        server.post("/v1/authorize", Some(&token), &json!({"permission": RUN, token.as_str(): 1})),
        server.post(
            TOKENS,
            Some(&token),
            &json!({"name": "n", "scope": [RUN], "resource": [token], "expirationDate": null}),
        ),
    ];
    for answer in &answers {
        assert!((400..500).contains(&answer.status), "{answer:?}");
        assert!(!answer.body.contains(secret_of(&token)), "the secret is quoted back: {answer:?}");
        assert!(answer.body.contains(id_of(&token)), "the id is kept to say what was wrong: {answer:?}");
    }
}

#[test]
fn error_answers_say_what_to_change() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let create = |body: Value| server.post(TOKENS, Some(&token), &body);
    let answers = [
        ("no token", server.get(TOKENS, None)),
        (
            "a wrong type",
            create(json!({"name": "n", "scope": "app-engine:apps:run", "resource": [], "expirationDate": null})),
        ),
        ("a misspelt field", create(json!({"name": "n", "scope": [RUN], "resources": [], "expirationDate": null}))),
        ("no expirationDate", create(json!({"name": "n", "scope": [RUN], "resource": ["urn:dtaccount:acme"]}))),
        ("a scope the token lacks", create(new_token("n", &[LOGS]))),
        ("a misspelt scope", create(new_token("n", &["storage:log:read"]))),
        (
            "a resource of another kind",
            create(json!({"name": "n", "scope": [RUN], "resource": ["prod"], "expirationDate": null})),
        ),
        (
            "an unknown status",
            server.put(&format!("{TOKENS}/dt0s16.X/status"), Some(&token), &json!({"status": "DISABLED"})),
        ),
        ("a page too large", server.get(&format!("{TOKENS}?size=500"), Some(&token))),
        ("an unknown route", server.get("/v1/authorise", None)),
    ];
    let text = answers
        .iter()
        .map(|(what, reply)| {
            format!("{what}: {}\n{}\n", reply.status, serde_json::to_string_pretty(&reply.json()).unwrap())
        })
        .collect::<String>()
        .replace(id_of(&token), "<the caller's token id>");
    insta::assert_snapshot!(text);
}

// --- Hostile clients ------------------------------------------------------------------------------

#[test]
fn clients_that_pipeline_and_hang_up_never_end_the_server() {
    use std::os::unix::process::ExitStatusExt;
    let sandbox = Sandbox::new();
    let mut server = sandbox.serve(&[]);
    // Ten requests on one connection, closed without reading a byte: the answers go to a peer
    // that is gone (closing with unread data resets the connection), so the server's writes
    // fail with EPIPE, which is SIGPIPE unless the server ignores it.
    let pipelined = "GET /nope/answered-with-a-json-body HTTP/1.1\r\nHost: w\r\n\r\n".repeat(10);
    for round in 0..500 {
        let Ok(mut stream) = TcpStream::connect(&server.address) else {
            let status = server.child.wait().unwrap();
            panic!("the server ended after {round} hang-ups: {status:?} (signal {:?})", status.signal());
        };
        let _ = stream.write_all(pipelined.as_bytes());
        drop(stream);
    }
    assert_still_serving(server);
}

#[test]
fn a_burst_of_requests_stopped_at_once_loses_no_log_line() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&[]);
    // Request lines are written in batches: SIGTERM right after the last answer must still find
    // every line written.
    let check = format!(
        "GET /v1/auth?permission={RUN}&environment=staging HTTP/1.1\r\nHost: w\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    let (connections, each) = (8, 50);
    for _ in 0..connections {
        let mut stream = server.connect();
        let last = format!("{}\r\nConnection: close\r\n\r\n", check.trim_end_matches("\r\n"));
        stream.write_all(format!("{}{last}", check.repeat(each - 1)).as_bytes()).unwrap();
        let mut answers = String::new();
        stream.read_to_string(&mut answers).unwrap();
        assert_eq!(answers.matches("HTTP/1.1 200 OK").count(), each, "{answers}");
    }
    let (status, log) = server.stop();
    assert!(status.success(), "{status:?}");
    let logged = log.lines().filter(|line| line.contains("GET /v1/auth 200 token=")).count();
    assert_eq!(logged, connections * each, "{log}");
    assert!(!log.contains(secret_of(&token)), "{log}");
}

/// `GET /v1/auth` takes a direct route past the router: every other request for that path, and
/// every near miss, must still be answered as the router answers it, on one pipelined
/// connection, each with its log line and its count.
#[test]
fn forward_auth_s_direct_route_answers_as_the_router_does() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&[]);
    let asked = format!("permission={RUN}&environment=staging");
    let encoded = "permission=app-engine%3Aapps%3Arun&environment=stag%69ng";
    let sent = [
        ("GET", format!("/v1/auth?{asked}"), 200),
        ("HEAD", format!("/v1/auth?{asked}"), 200),
        ("GET", format!("/v1/auth?{encoded}"), 200),
        ("GET", format!("/v1/auth/?{asked}"), 404),
        ("GET", format!("/V1/AUTH?{asked}"), 404),
        ("POST", format!("/v1/auth?{asked}"), 405),
        ("GET", "/v1/auth?permission=app-engine:apps:deploy".to_string(), 403),
        ("GET", format!("/v1/auth?{asked}&permission={RUN}"), 403),
    ];
    let mut pipelined = String::new();
    for (method, path, _) in &sent {
        let length = if *method == "POST" { "Content-Length: 0\r\n" } else { "" };
        pipelined
            .push_str(&format!("{method} {path} HTTP/1.1\r\nHost: w\r\nAuthorization: Bearer {token}\r\n{length}\r\n"));
    }
    pipelined.push_str("GET /healthz HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n");
    let mut stream = server.connect();
    stream.write_all(pipelined.as_bytes()).unwrap();
    let mut answers = String::new();
    stream.read_to_string(&mut answers).unwrap();
    // Bodies end without a line break: each answer begins where the next status line does.
    let replies: Vec<&str> = answers.split("HTTP/1.1 ").skip(1).collect();
    let statuses: Vec<&str> = replies.iter().map(|reply| &reply[..3]).collect();
    let mut expected: Vec<String> = sent.iter().map(|(_, _, status)| status.to_string()).collect();
    expected.push("200".into());
    assert_eq!(statuses, expected, "{answers}");
    for reply in &replies[..3] {
        assert!(
            reply.contains("x-warden-reason: ok") && reply.contains("x-warden-user: alice@acme.example"),
            "{reply}"
        );
    }
    assert!(
        replies[0].contains("\"allowed\":true") && !replies[1].contains("\"allowed\""),
        "HEAD has no body: {answers}"
    );
    let metrics = server.get("/metrics", None).body;
    assert!(
        metrics.contains("warden_decisions_total{endpoint=\"auth\",outcome=\"allow\",reason=\"ok\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("warden_http_responses_total{code=\"200\"} 4"), "{metrics}");

    let (_, log) = server.stop();
    let lines: Vec<&str> = log.lines().filter(|line| line.contains(" token=")).collect();
    let first = format!("INFO GET /v1/auth 200 token={} user=- decision=ok latency_us=", id_of(&token));
    assert!(lines[0].contains(&first), "{log}");
    for (line, (method, path, status)) in lines.iter().zip(&sent) {
        let path = path.split('?').next().unwrap();
        assert!(line.contains(&format!("INFO {method} {path} {status} ")), "{line} for {method} {path}");
    }
    assert_eq!(lines.len(), sent.len() + 2, "{log}");
    assert!(!log.contains(secret_of(&token)), "{log}");
}

/// The server answers, and stops cleanly when asked: nothing a client did ended it.
#[track_caller]
fn assert_still_serving(server: Server) {
    assert_status(&server.get("/healthz", None), 200);
    let (status, log) = server.stop();
    assert!(status.success(), "{status:?}\n{log}");
}

/// The other side of the server ignoring SIGPIPE: the command line keeps the default, so a
/// reader that goes away (`warden lint … | head`) ends it quietly rather than with a panic.
#[test]
fn the_command_line_still_ends_quietly_when_its_reader_goes_away() {
    use std::os::unix::process::ExitStatusExt;
    let sandbox = Sandbox::new();
    let policy = sandbox.dir.join("many.policy");
    // Far more findings than a pipe holds, so the writer is still writing when the reader goes.
    std::fs::write(&policy, "ALLOW storage:logs:reed;\n".repeat(5_000)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("lint")
        .arg(&policy)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.signal(), Some(libc::SIGPIPE), "{:?}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

// --- Credentials, redaction and typos (D33, D34) -----------------------------------------------------

/// A request with the `Authorization` header given twice (the second in another case).
fn twice_authorized(method: &str, path: &str, first: &str, second: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: w\r\nConnection: close\r\nAuthorization: Bearer {first}\r\nAUTHORIZATION: Bearer {second}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn two_authorization_headers_are_refused_never_picked_from() {
    let sandbox = Sandbox::new();
    let alice = sandbox.token(ALICE, &[WRITE, RUN]);
    let grace = sandbox.token(GRACE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let check = format!(r#"{{"permission": "{RUN}", "environment": "staging"}}"#);
    // Both valid, one valid and one not, the same one twice: each is refused the same way.
    for (first, second) in [(alice.as_str(), grace.as_str()), (&alice, "dt0s16.AAAA.BBBB"), (&alice, &alice)] {
        let authorize = server.raw(&twice_authorized("POST", "/v1/authorize", first, second, &check));
        assert_error(&authorize, 400, "invalid_request");
        assert!(authorize.message().contains("exactly one"), "{authorize:?}");
        let listed = server.raw(&twice_authorized("GET", TOKENS, first, second, ""));
        assert_error(&listed, 400, "invalid_request");
        // Gateways turn a 400 into a 500: forward-auth says 401.
        let gated = server.raw(&twice_authorized("GET", &format!("/v1/auth?permission={RUN}"), first, second, ""));
        assert_error(&gated, 401, "invalid_request");
        assert_eq!(gated.header("x-warden-reason"), Some("invalid_request"));
        assert_eq!(gated.header("www-authenticate"), Some(r#"Bearer error="invalid_request""#));
        for answer in [&authorize, &listed, &gated] {
            assert!(!answer.body.contains(secret_of(&alice)) && !answer.body.contains(id_of(&alice)), "{answer:?}");
        }
    }
    // Nothing was created, nothing was used.
    let tokens = server.get(TOKENS, Some(&alice)).json();
    assert_eq!(tokens["total"], 1, "{tokens}");
    let metrics = server.get("/metrics", None).body;
    for line in [
        r#"warden_decisions_total{endpoint="authorize",outcome="error",reason="invalid_request"} 3"#,
        r#"warden_decisions_total{endpoint="auth",outcome="error",reason="invalid_request"} 3"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing `{line}` in\n{metrics}");
    }
}

#[test]
fn without_credentials_the_challenge_is_bare_and_the_body_is_never_judged() {
    let sandbox = Sandbox::new();
    let server = sandbox.serve(&[]);
    for (what, headers) in [("no header", ""), ("another scheme", "Authorization: Basic YWxpY2U6c2VjcmV0\r\n")] {
        let gated = server.raw(
            format!("GET /v1/auth?permission={RUN} HTTP/1.1\r\nHost: w\r\nConnection: close\r\n{headers}\r\n")
                .as_bytes(),
        );
        assert_status(&gated, 401);
        assert_eq!(gated.header("www-authenticate"), Some(r#"Bearer realm="warden""#), "{what}");
        let listed =
            server.raw(format!("GET {TOKENS} HTTP/1.1\r\nHost: w\r\nConnection: close\r\n{headers}\r\n").as_bytes());
        assert_error(&listed, 401, "invalid_token");
        assert_eq!(listed.header("www-authenticate"), Some(r#"Bearer realm="warden""#), "{what}");
    }
    // `/v1/authorize` authenticates first: a stranger's body, however wrong, is not read (D28:
    // the refusal is the outcome, in a 200).
    for body in
        ["{not json", r#"{"permision": "x"}"#, r#"{"permission": "app-engine:app:run"}"#, "[[[[[[[[[[]]]]]]]]]]"]
    {
        let reply = server.call("POST", "/v1/authorize", None, Some(body));
        assert_status(&reply, 200);
        assert_eq!(reply.json()["reason"], "invalid_token", "{body}: {reply:?}");
        assert!(!reply.body.contains("did you mean") && !reply.body.contains("permision"), "{reply:?}");
    }
}

#[test]
fn secrets_in_paths_never_echo_however_they_are_encoded() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[WRITE, RUN]);
    let server = sandbox.serve(&[]);
    let (prefix, rest) = token.split_once('.').unwrap();
    let (public, secret) = rest.split_once('.').unwrap();
    let paths = [
        format!("/nope/{prefix}%2E{public}%2E{secret}"),
        format!("/nope/{prefix}%2e{public}%2e{secret}/more"),
        format!("/nope/{prefix}%252E{public}%252E{secret}"),
        format!("/nope/{prefix}.{public}.{}%{:02X}{}", &secret[..10], secret.as_bytes()[10], &secret[11..]),
        format!("{TOKENS}/{prefix}%2E{public}%2E{secret}"),
        format!("{TOKENS}/{prefix}%252E{public}%252E{secret}/status"),
    ];
    let mut answers = Vec::new();
    for path in &paths {
        answers.push(server.get(path, Some(&token)));
        answers.push(server.call("DELETE", "/v1/auth", None, None));
        answers.push(server.call("PATCH", path, Some(&token), None));
    }
    let (_, log) = server.stop();
    let tail = &secret[secret.len() - 16..];
    for answer in &answers {
        // A token pasted as a token id names that token (its id is kept): 200, or 404.
        assert!(answer.status < 500, "{answer:?}");
        assert!(!answer.body.contains(tail), "the secret is echoed: {answer:?}");
    }
    assert!(answers[0].message().contains(&format!("{prefix}%2E{public}%2E…")), "{:?}", answers[0]);
    assert!(!log.contains(tail), "the secret is in the log:\n{log}");
    assert!(log.contains(&format!("GET /nope/{prefix}%252E{public}%252E… 404")), "{log}");
}

#[test]
fn typos_are_named_to_authenticated_callers_and_only_to_them() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN, LOGS]);
    let server = sandbox.serve(&[]);
    let authorize = |token: Option<&str>, body: Value| server.post("/v1/authorize", token, &body);

    let permission = authorize(Some(&token), json!({"permission": "app-engine:app:run", "environment": "staging"}));
    assert_error(&permission, 400, "unknown_permission");
    assert!(permission.message().contains("did you mean `app-engine:apps:run`?"), "{permission:?}");
    let environment = authorize(Some(&token), json!({"permission": RUN, "environment": "stagin"}));
    assert_error(&environment, 400, "unknown_environment");
    assert!(environment.message().contains("did you mean `staging`?"), "{environment:?}");
    let attribute = authorize(
        Some(&token),
        json!({"permission": LOGS, "environment": "prod", "attributes": {"storage:k8s.namespace.nam": "x"}}),
    );
    assert_error(&attribute, 400, "unknown_attribute");
    assert!(attribute.message().contains("did you mean `storage:k8s.namespace.name`?"), "{attribute:?}");
    // A stranger learns nothing: not the names, not even that the name is wrong.
    let stranger = authorize(None, json!({"permission": RUN, "environment": "stagin"}));
    assert_eq!((stranger.status, stranger.json()["reason"].as_str()), (200, Some("invalid_token")));
    assert!(!stranger.body.contains("staging"), "{stranger:?}");

    // Forward-auth: 403 with the reason, and the did-you-mean for the gateway's operators.
    let gated = |query: &str, token: Option<&str>| server.get(&format!("/v1/auth?{query}"), token);
    for _ in 0..3 {
        let typo = gated("permission=app-engine:app:run&environment=staging", Some(&token));
        assert_error(&typo, 403, "unknown_permission");
        assert_eq!(typo.header("x-warden-reason"), Some("unknown_permission"));
        assert_eq!(typo.header("www-authenticate"), Some(r#"Bearer error="insufficient_scope""#));
    }
    let typo = gated(&format!("permission={RUN}&environment=stagin"), Some(&token));
    assert_eq!((typo.status, typo.header("x-warden-reason")), (403, Some("unknown_environment")), "{typo:?}");
    let stranger = gated(&format!("permission={RUN}&environment=stagin"), None);
    assert_eq!((stranger.status, stranger.header("x-warden-reason")), (401, Some("invalid_token")));
    assert!(!stranger.body.contains("staging"), "{stranger:?}");

    let (_, log) = server.stop();
    let warnings: Vec<&str> = log.lines().filter(|line| line.contains("WARN")).collect();
    assert_eq!(warnings.len(), 2, "one warning per distinct wrong name:\n{log}");
    assert!(warnings[0].contains("unknown permission `app-engine:app:run`; did you mean `app-engine:apps:run`?"));
    assert!(warnings[1].contains("unknown environment `stagin`; did you mean `staging`?"));
}

#[test]
fn forward_auth_logs_at_most_a_hundred_wrong_names_and_counts_them_all() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&[]);
    for i in 0..105 {
        let reply = server.get(&format!("/v1/auth?permission=app-engine:app{i}:run"), Some(&token));
        assert_eq!(reply.header("x-warden-reason"), Some("unknown_permission"), "{reply:?}");
    }
    let metrics = server.get("/metrics", None).body;
    let line = r#"warden_decisions_total{endpoint="auth",outcome="error",reason="unknown_permission"} 105"#;
    assert!(metrics.lines().any(|l| l == line), "missing `{line}` in\n{metrics}");
    let (_, log) = server.stop();
    assert_eq!(log.matches("forward-auth: unknown permission").count(), 100, "{log}");
    assert_eq!(log.matches("further ones are only counted").count(), 1, "{log}");
}

#[test]
fn messages_quote_at_most_a_hundred_characters_of_what_was_sent() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN, LOGS]);
    let server = sandbox.serve(&[]);
    let long = "x".repeat(60_000);
    let authorize = |body: Value| server.post("/v1/authorize", Some(&token), &body);
    let mut long_field = serde_json::Map::new();
    long_field.insert("permission".into(), json!(RUN));
    long_field.insert(long.clone(), json!(true));
    let answers = [
        ("a 60,000-character environment", authorize(json!({"permission": RUN, "environment": long}))),
        ("a 60,000-character permission", authorize(json!({"permission": long}))),
        ("a 60,000-character field name", authorize(Value::Object(long_field))),
        ("a 60,000-character attribute key", authorize(json!({"permission": LOGS, "attributes": {&long: "x"}}))),
        ("an environment of backticks", authorize(json!({"permission": RUN, "environment": "`x".repeat(30_000)}))),
        (
            "a long environment holding a token",
            authorize(json!({"permission": RUN, "environment": format!("{token} {}", "y".repeat(120))})),
        ),
        ("a 6,000-character path", server.get(&format!("/{}", "p".repeat(6_000)), None)),
    ];
    let mut text = String::new();
    for (what, reply) in &answers {
        assert!(reply.status == 400 || reply.status == 404, "{what}: {reply:?}");
        let message = reply.message();
        assert!(message.chars().count() <= 1_001, "{what}: {} characters", message.chars().count());
        assert!(!message.contains(secret_of(&token)), "{what}: {message}");
        text.push_str(&format!("{what}: {} {}\n{message}\n", reply.status, reply.reason()));
    }
    insta::assert_snapshot!(text.replace(id_of(&token).split_once('.').unwrap().1, "<public>"));
}

#[test]
fn credential_and_typo_answers_say_what_to_change() {
    let sandbox = Sandbox::new();
    let token = sandbox.token(ALICE, &[RUN, LOGS]);
    let server = sandbox.serve(&[]);
    let check = format!(r#"{{"permission": "{RUN}"}}"#);
    let authorize = |body: Value| server.post("/v1/authorize", Some(&token), &body);
    let answers = [
        ("two Authorization headers", server.raw(&twice_authorized("POST", "/v1/authorize", &token, &token, &check))),
        (
            "two Authorization headers, forward-auth",
            server.raw(&twice_authorized("GET", &format!("/v1/auth?permission={RUN}"), &token, &token, "")),
        ),
        ("a misspelt permission", authorize(json!({"permission": "app-engine:app:run"}))),
        ("a misspelt environment", authorize(json!({"permission": RUN, "environment": "stagin"}))),
        (
            "a misspelt attribute key",
            authorize(json!({"permission": LOGS, "attributes": {"storage:k8s.namespace.nam": "x"}})),
        ),
        ("a misspelt permission, forward-auth", server.get("/v1/auth?permission=app-engine:app:run", Some(&token))),
        ("an encoded token in a path", server.get(&format!("/nope/{}", token.replace('.', "%2E")), None)),
    ];
    let text = answers
        .iter()
        .map(|(what, reply)| {
            let headers: String = ["www-authenticate", "x-warden-reason"]
                .iter()
                .filter_map(|name| reply.header(name).map(|value| format!("{name}: {value}\n")))
                .collect();
            format!("{what}: {}\n{headers}{}\n", reply.status, serde_json::to_string_pretty(&reply.json()).unwrap())
        })
        .collect::<String>()
        .replace(id_of(&token).split_once('.').unwrap().1, "<public>");
    insta::assert_snapshot!(text);
}

// --- Costly answers ------------------------------------------------------------------------------------

const FRANK: &str = "frank@acme.example";

/// Binds these statements to `group` across the account, in policies of the platform's 100
/// statements at most.
fn bind_statements(tenant: &Path, group: &str, name: &str, statements: &[String]) {
    let mut config = std::fs::read_to_string(tenant.join("warden.toml")).unwrap();
    for (i, chunk) in statements.chunks(100).enumerate() {
        std::fs::write(tenant.join(format!("policies/{name}-{i}.policy")), chunk.concat()).unwrap();
        config.push_str(&format!(
            "\n[[binding]]\npolicy = \"{name}-{i}\"\ngroups = [\"{group}\"]\nlevel = \"account\"\n"
        ));
    }
    std::fs::write(tenant.join("warden.toml"), config).unwrap();
}

/// The example tenant with two costly things for frank (a reader, here allowed his own tokens):
/// 1,100 DENYs on reading logs, so a conditional answer's residual is too large to send, and an
/// ALLOW to run the apps of a 10,000-value list.
fn costly_sandbox() -> Sandbox {
    let sandbox = Sandbox::with_tenant_copy();
    bind_statements(&sandbox.tenant, "readers", "own-tokens", &["ALLOW platform-token:tokens:write;\n".to_string()]);
    let denies: Vec<String> = (0..1_100)
        .map(|i| format!("DENY storage:logs:read WHERE storage:k8s.namespace.name = \"team-{i}\";\n"))
        .collect();
    bind_statements(&sandbox.tenant, "readers", "many-denies", &denies);
    let apps: Vec<String> = (0..10_000).map(|i| format!("\"app-{i}\"")).collect();
    let allow = format!("ALLOW app-engine:apps:run WHERE shared:app-id IN ({});\n", apps.join(", "));
    bind_statements(&sandbox.tenant, "readers", "many-apps", &[allow]);
    sandbox
}

/// A 5,000-element list of app ids, the last one `last`.
fn long_app_list(last: &str) -> Vec<String> {
    let mut elements: Vec<String> = (0..4_999).map(|i| format!("x{i}")).collect();
    elements.push(last.to_string());
    elements
}

#[test]
fn a_residual_too_large_to_send_is_left_out_and_the_decision_stands() {
    let sandbox = costly_sandbox();
    let token = sandbox.token(FRANK, &[LOGS, RUN]);
    let server = sandbox.serve(&[]);
    let conditional = server.post("/v1/authorize", Some(&token), &json!({"permission": LOGS, "environment": "dev"}));
    let answer = conditional.json();
    assert_eq!((answer["decision"].as_str(), answer["allowed"].as_bool()), (Some("conditional"), Some(false)));
    assert_eq!(answer["residualOmitted"], true, "{answer}");
    assert!(answer.get("residual").is_none(), "{answer}");
    // With the attributes that decide it, the same request is answered in full.
    let decided = server.post(
        "/v1/authorize",
        Some(&token),
        &json!({"permission": LOGS, "environment": "dev", "attributes": {"storage:k8s.namespace.name": "team-7", "storage:k8s.cluster.name": "dev-eu-1"}}),
    );
    assert_eq!(decided.json()["reason"], "policy_denied", "{decided:?}");
    assert!(decided.json().get("residualOmitted").is_none(), "{decided:?}");
}

#[test]
fn an_explanation_leaves_out_what_the_answer_leaves_out() {
    let sandbox = costly_sandbox();
    bind_statements(&sandbox.tenant, "readers", "policy-readers", &["ALLOW iam:policies:read;\n".to_string()]);
    let token = sandbox.token(FRANK, &[LOGS, "iam:policies:read"]);
    let server = sandbox.serve(&[]);
    let body = json!({"permission": LOGS, "environment": "dev", "explain": true});
    let reply = server.post("/v1/authorize", Some(&token), &body);
    let answer = reply.json();
    assert_eq!(answer["residualOmitted"], true, "{answer}");
    let explanation = &answer["explanation"];
    assert_eq!(explanation["decision"], "conditional");
    assert_eq!(explanation["residual_omitted"], true);
    assert!(explanation["residual"].is_null(), "the explanation's residual is left out as the answer's is");
    let listed = explanation["deciding"].as_array().unwrap().len();
    let omitted = explanation["deciding_omitted"].as_u64().unwrap() as usize;
    assert_eq!(listed, 1_000, "as many statements as the residual's limit");
    assert!(listed + omitted > 1_100, "every DENY is listed or counted: {listed} + {omitted}");
    let missing = explanation["missing_attributes"].as_array().unwrap();
    assert!(missing.contains(&json!("storage:k8s.namespace.name")), "{missing:?}");
    assert!(reply.body.len() < 2 * 1024 * 1024, "the answer is bounded: {} bytes", reply.body.len());
}

#[test]
fn a_long_attribute_list_against_a_long_in_list_is_decided_right() {
    let sandbox = costly_sandbox();
    let token = sandbox.token(FRANK, &[RUN]);
    let server = sandbox.serve(&[]);
    let ask = |last: &str| {
        let body = json!({"permission": RUN, "attributes": {"shared:app-id": long_app_list(last)}});
        let reply = server.post("/v1/authorize", Some(&token), &body);
        assert_status(&reply, 200);
        reply.json()["reason"].as_str().unwrap().to_string()
    };
    assert_eq!(ask("app-9999"), "ok");
    assert_eq!(ask("app-0"), "ok");
    assert_eq!(ask("app-10000"), "policy_denied");
    assert_eq!(ask("app-"), "policy_denied");
}

#[test]
fn costly_requests_pipelined_and_abandoned_leave_the_server_answering() {
    let sandbox = costly_sandbox();
    let token = sandbox.token(FRANK, &[LOGS, RUN]);
    let alice = sandbox.token(ALICE, &[RUN]);
    let server = sandbox.serve(&[]);
    let bodies = [
        json!({"permission": LOGS, "environment": "dev"}).to_string(),
        json!({"permission": RUN, "attributes": {"shared:app-id": long_app_list("none")}}).to_string(),
    ];
    let pipelined: String = (0..10)
        .map(|i| {
            let body = &bodies[i % 2];
            format!(
                "POST /v1/authorize HTTP/1.1\r\nHost: w\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        })
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..10 {
                    let mut stream = server.connect();
                    let _ = stream.write_all(pipelined.as_bytes());
                }
            });
        }
        // Meanwhile health and cheap checks are answered.
        for _ in 0..20 {
            assert_status(&server.get("/healthz", None), 200);
            let cheap = server.get(&format!("/v1/auth?permission={RUN}&environment=staging"), Some(&alice));
            assert_eq!(cheap.header("x-warden-reason"), Some("ok"), "{cheap:?}");
        }
    });
    assert_still_serving(server);
}

#[test]
fn listen_takes_host_and_port_and_says_so() {
    let sandbox = Sandbox::new();
    let messages: String = ["8080", "localhost:8080"]
        .iter()
        .map(|listen| {
            let output = sandbox.command(&["serve", "--listen", listen]).output().unwrap();
            assert_eq!(output.status.code(), Some(2), "{output:?}");
            format!("--listen {listen}:\n{}", String::from_utf8_lossy(&output.stderr))
        })
        .collect();
    insta::assert_snapshot!(messages);
}
