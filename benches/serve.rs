//! `warden serve` under costly requests: does `/healthz` still answer at once (goal: under
//! 50 ms) while clients keep the service busy with the most expensive answers it gives?
//!
//! The built binary serves the example tenant plus, for frank (a reader), 20,000 conditional
//! ALLOWs on reading events (a conditional answer over 20,000 statements) and an ALLOW on
//! running the apps of a 100,000-value list. Benchmarks, each on a kept-alive loopback
//! connection:
//!
//! - `costly/residual_20000`: `/v1/authorize` conditional over those 20,000 statements;
//! - `costly/in_100000_x_6000`: `/v1/authorize` with a 6,000-element `shared:app-id` list
//!   against the 100,000-value `IN`;
//! - `healthz/idle`: `/healthz` with nothing else running;
//! - `healthz/under_costly_load`: `/healthz` while four clients send the two costly requests
//!   back to back (the latencies' median, 99th percentile and maximum are printed too).
//!
//! - `reload/…`: checks on the platform's largest account while it is reloaded (see [`reload`]).
//!
//! Run: `cargo bench --bench serve`. Load generator and server share the machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

const STATEMENTS: usize = 20_000;
const LIST_VALUES: usize = 100_000;
const ATTRIBUTE_ELEMENTS: usize = 6_000;
const LOADING_CLIENTS: usize = 4;
/// What the checks on the largest account ask.
const LARGE_CHECKED: &str = "storage:logs:read";

#[path = "support/large.rs"]
mod large;
#[path = "../tests/support/temp.rs"]
mod temp;

/// A temp dir with the tenant and the token database; the server in it, stopped on drop.
struct Service {
    /// Held for its drop: removed after the server is stopped.
    _dir: temp::TempDir,
    server: Child,
    addr: String,
    token: String,
}

impl Service {
    /// The example tenant with the costly statements, frank's token on them.
    fn start() -> Service {
        Service::start_with(&["storage:events:read", "app-engine:apps:run"], "frank@acme.example", |tenant| {
            copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/example"), tenant);
            bind(tenant, "own-tokens", &["ALLOW platform-token:tokens:write;\n".to_string()]);
            let events: Vec<String> = (0..STATEMENTS)
                .map(|i| format!("ALLOW storage:events:read WHERE storage:k8s.namespace.name = \"team-{i}\";\n"))
                .collect();
            bind(tenant, "events", &events);
            let apps: Vec<String> = (0..LIST_VALUES).map(|i| format!("\"app-{i}\"")).collect();
            bind(
                tenant,
                "apps",
                &[format!("ALLOW app-engine:apps:run WHERE shared:app-id IN ({});\n", apps.join(", "))],
            );
        })
    }

    /// The platform's largest account (`support/large.rs`), with a token for its first user on
    /// reading logs.
    fn start_large() -> Service {
        Service::start_with(&[LARGE_CHECKED], &large::email(0), |tenant| {
            let files = large::tenant();
            std::fs::create_dir_all(tenant.join("policies")).expect("a temp dir");
            for file in std::iter::once(&files.config).chain(&files.policies) {
                std::fs::write(tenant.join(&file.name), &file.text).expect("a tenant file");
            }
            let mut config = files.config.text.clone();
            config.push_str(&format!("[[group]]\nid = \"token-owners\"\nmembers = [\"{}\"]\n", large::email(0)));
            std::fs::write(tenant.join("warden.toml"), config).expect("the tenant's config");
            std::fs::write(tenant.join("policies/own-tokens.policy"), "ALLOW platform-token:tokens:write;\n")
                .expect("a policy");
            bind_to(tenant, "token-owners", "own-tokens");
        })
    }

    /// A tenant that `prepare` writes, and a token of `owner` on `scopes`.
    fn start_with(scopes: &[&str], owner: &str, prepare: impl FnOnce(&Path)) -> Service {
        let dir = temp::TempDir::new();
        let tenant = dir.join("tenant");
        prepare(&tenant);

        let warden = |args: &[&str]| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
            command.args(args).arg("--tenant").arg(&tenant).arg("--db").arg(dir.join("tokens.db"));
            command
        };
        let mut create = warden(&["token", "create", "--as", owner, "--name", "bench"]);
        for scope in scopes {
            create.arg("--scope").arg(scope);
        }
        let created = create.args(["--account-wide", "--never-expires"]).output().expect("warden runs");
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let token = String::from_utf8(created.stdout).expect("text").lines().next().expect("the token").to_string();

        let mut server = warden(&["serve", "--listen", "127.0.0.1:0", "--watch", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("warden serve starts");
        let mut log = BufReader::new(server.stderr.take().expect("the log"));
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(log.read_line(&mut line).expect("the log reads") > 0, "the server did not start");
            if let Some((_, rest)) = line.split_once("listening on http://") {
                break rest.split_whitespace().next().expect("an address").to_string();
            }
        };
        // Keep reading the request log so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        Service { _dir: dir, server, addr, token }
    }

    fn connect(&self) -> Client {
        let stream = TcpStream::connect(&self.addr).expect("the server accepts");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            reader: BufReader::new(stream.try_clone().expect("a second handle")),
            writer: stream,
            last_body: String::new(),
        }
    }

    fn residual_request(&self) -> Vec<u8> {
        authorize(&self.token, r#"{"permission": "storage:events:read", "environment": "dev"}"#)
    }

    fn list_request(&self) -> Vec<u8> {
        let elements: Vec<String> = (0..ATTRIBUTE_ELEMENTS).map(|i| format!("\"x{i}\"")).collect();
        let body = format!(
            r#"{{"permission": "app-engine:apps:run", "attributes": {{"shared:app-id": [{}]}}}}"#,
            elements.join(",")
        );
        authorize(&self.token, &body)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("a temp dir");
    for entry in std::fs::read_dir(from).expect("the example tenant") {
        let entry = entry.expect("an entry");
        if entry.file_type().expect("a type").is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("a copy");
        }
    }
}

/// Binds statements to the readers across the account, in policies of 100 statements at most.
fn bind(tenant: &Path, name: &str, statements: &[String]) {
    for (i, chunk) in statements.chunks(100).enumerate() {
        std::fs::write(tenant.join(format!("policies/{name}-{i}.policy")), chunk.concat()).expect("a policy");
        bind_to(tenant, "readers", &format!("{name}-{i}"));
    }
}

/// Binds a policy to a group across the account.
fn bind_to(tenant: &Path, group: &str, policy: &str) {
    let mut config = std::fs::read_to_string(tenant.join("warden.toml")).expect("the tenant's config");
    config.push_str(&format!("\n[[binding]]\npolicy = \"{policy}\"\ngroups = [\"{group}\"]\nlevel = \"account\"\n"));
    std::fs::write(tenant.join("warden.toml"), config).expect("the tenant's config");
}

fn authorize(token: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /v1/authorize HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n";

/// One kept-alive connection.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// The body of the last answer.
    last_body: String,
}

impl Client {
    /// Sends a request and reads its answer; returns the status.
    fn send(&mut self, request: &[u8]) -> u16 {
        self.writer.write_all(request).expect("the request is sent");
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("the status line");
        let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status");
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("a header");
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().expect("a length");
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("the body");
        self.last_body = String::from_utf8_lossy(&body).into_owned();
        status
    }
}

fn serve(c: &mut Criterion) {
    let service = Service::start();
    let mut group = c.benchmark_group("costly");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    let mut client = service.connect();
    let residual = service.residual_request();
    group.bench_function("residual_20000", |b| b.iter(|| assert_eq!(client.send(&residual), 200)));
    let list = service.list_request();
    group.bench_function("in_100000_x_6000", |b| b.iter(|| assert_eq!(client.send(&list), 200)));
    group.finish();

    let mut group = c.benchmark_group("healthz");
    group.sample_size(50).measurement_time(Duration::from_secs(10));
    group.bench_function("idle", |b| b.iter(|| assert_eq!(client.send(HEALTHZ), 200)));

    let running = Arc::new(AtomicBool::new(true));
    let loaders: Vec<_> = (0..LOADING_CLIENTS)
        .map(|i| {
            let (mut loader, running) = (service.connect(), Arc::clone(&running));
            let request = if i % 2 == 0 { residual.clone() } else { list.clone() };
            std::thread::spawn(move || {
                while running.load(Ordering::Relaxed) {
                    assert_eq!(loader.send(&request), 200);
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    group.bench_function("under_costly_load", |b| b.iter_custom(|n| timed(&mut client, HEALTHZ, &mut latencies, n)));
    group.finish();
    running.store(false, Ordering::Relaxed);
    for loader in loaders {
        loader.join().expect("a loading client");
    }
    eprintln!("healthz under {LOADING_CLIENTS} costly clients: {}", spread(&mut latencies));
}

/// The latencies' median, 99th percentile and maximum, in words.
fn spread(latencies: &mut [Duration]) -> String {
    if latencies.is_empty() {
        return "not run (filtered out)".to_string();
    }
    latencies.sort_unstable();
    let at = |fraction: f64| latencies[((latencies.len() - 1) as f64 * fraction) as usize];
    format!(
        "{} requests, median {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        at(0.5),
        at(0.99),
        latencies.last().expect("some requests")
    )
}

/// Times each request of one client, keeping every latency.
fn timed(client: &mut Client, request: &[u8], latencies: &mut Vec<Duration>, iterations: u64) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let started = Instant::now();
        assert_eq!(client.send(request), 200);
        let took = started.elapsed();
        latencies.push(took);
        total += took;
    }
    total
}

/// The reloads the service has made, from `/metrics`.
fn reloads(client: &mut Client) -> u64 {
    client.send(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n");
    client
        .last_body
        .lines()
        .find_map(|line| line.strip_prefix("warden_tenant_reloads_total{result=\"ok\"} "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the reload counter")
}

/// Checks on the largest account while it is reloaded again and again (SIGHUP, as `--watch`
/// does on a change): the new engine is built beside the one serving, off the async workers,
/// and swapped in, so checks go on.
///
/// - `reload/check_idle`: `/v1/authorize` on the largest account, nothing else running;
/// - `reload/check_during_reloads`: the same while a SIGHUP follows every 200 ms (each reload
///   parses, checks and compiles the whole account; the count made during the run, and the
///   latencies' median, 99th percentile and maximum, are printed).
fn reload(c: &mut Criterion) {
    let service = Service::start_large();
    let mut client = service.connect();
    let check = authorize(&service.token, &format!(r#"{{"permission": "{LARGE_CHECKED}"}}"#));
    let mut group = c.benchmark_group("reload");
    group.sample_size(50).measurement_time(Duration::from_secs(10));
    let mut latencies = Vec::new();
    group.bench_function("check_idle", |b| b.iter_custom(|n| timed(&mut client, &check, &mut latencies, n)));
    eprintln!("checks on the largest account, idle: {}", spread(&mut latencies));

    let running = Arc::new(AtomicBool::new(true));
    let pid = service.server.id().to_string();
    let hangups = {
        let running = Arc::clone(&running);
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                let sent = Command::new("kill").args(["-HUP", &pid]).status().expect("kill runs");
                assert!(sent.success(), "SIGHUP reaches the server");
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let before = reloads(&mut client);
    let mut latencies = Vec::new();
    group.bench_function("check_during_reloads", |b| b.iter_custom(|n| timed(&mut client, &check, &mut latencies, n)));
    group.finish();
    running.store(false, Ordering::Relaxed);
    hangups.join().expect("the SIGHUP sender");
    let made = reloads(&mut client) - before;
    // Filtered out, or run once by `--test` (too quickly for a reload), it proves nothing.
    assert!(latencies.len() <= 1 || made > 0, "the largest account was reloaded while the checks ran");
    eprintln!("checks on the largest account during {made} reloads: {}", spread(&mut latencies));
}

criterion_group!(benches, serve, reload);
criterion_main!(benches);
