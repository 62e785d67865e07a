//! A PostgreSQL server of the tests' own: Debian's `initdb` and `pg_ctl` (package `postgresql`)
//! in a temporary directory, run as `nobody` when the tests run as root (PostgreSQL refuses
//! root), listening on a free loopback port and a socket in that directory. A watcher process
//! stops it and removes the directory once the test process is gone, however it ended.

#![allow(dead_code)] // each test binary uses its own part of this

#[path = "temp.rs"]
pub mod temp;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server's superuser, which owns the test databases and migrates them.
pub const ADMIN: &str = "warden_admin";
pub const ADMIN_PASSWORD: &str = "admin-secret-9f3c";
/// The role `warden serve` runs as: what `warden db migrate --grant` gives it, nothing more.
pub const SERVICE: &str = "warden_service";
pub const SERVICE_PASSWORD: &str = "service-secret-7b1d";

/// A running server.
pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
    settings: Vec<String>,
}

fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WARDEN_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect(
        "PostgreSQL is not installed: `apt-get install postgresql` (the tests start a server of their own; \
         WARDEN_TEST_PG_BIN names another bin directory)",
    )
}

fn running_as_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A command run as the server's owner: `nobody` when we are root.
fn as_owner(program: &Path) -> Command {
    match running_as_root() {
        true => {
            let mut command = Command::new("runuser");
            command.args(["-u", "nobody", "--"]).arg(program);
            command
        }
        false => Command::new(program),
    }
}

fn run(command: &mut Command, what: &str) {
    let output = command.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Cluster {
    /// A new server with the default settings.
    pub fn start() -> Cluster {
        Cluster::start_with(|_| Vec::new())
    }

    /// A new server; `prepare` is given its directory before it starts and returns settings
    /// to add (`ssl=on`, …).
    pub fn start_with(prepare: impl FnOnce(&Path) -> Vec<String>) -> Cluster {
        let bin = bin_dir();
        let dir = temp::dir("pg");
        std::fs::write(dir.join("password"), ADMIN_PASSWORD).unwrap();
        if running_as_root() {
            run(Command::new("chown").args(["-R", "nobody"]).arg(&dir), "chown");
        }
        watch_over(&bin, &dir);
        run(
            as_owner(&bin.join("initdb"))
                .arg("-D")
                .arg(dir.join("data"))
                .args(["-U", ADMIN, "-A", "scram-sha-256", "--auth-local=trust", "-N", "--locale=C", "-E", "UTF8"])
                .arg(format!("--pwfile={}", dir.join("password").display())),
            "initdb",
        );
        let settings = prepare(&dir);
        let cluster = Cluster { dir, port: free_port(), bin, settings };
        cluster.start_again();
        cluster.sql("postgres", &format!("CREATE ROLE {SERVICE} LOGIN PASSWORD '{SERVICE_PASSWORD}'"));
        cluster
    }

    /// Starts the server (again).
    pub fn start_again(&self) {
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300",
            self.port,
            self.dir.display()
        );
        for setting in &self.settings {
            options.push_str(&format!(" -c {setting}"));
        }
        run(
            as_owner(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-w", "-t", "60", "-l"])
                .arg(self.dir.join("log"))
                .args(["-o", &options, "start"]),
            "pg_ctl start",
        );
    }

    /// Stops the server, dropping every connection at once.
    pub fn stop(&self) {
        run(
            as_owner(&self.bin.join("pg_ctl")).arg("-D").arg(self.dir.join("data")).args(["-w", "-m", "fast", "stop"]),
            "pg_ctl stop",
        );
    }

    /// `psql` as the superuser, over the socket; its output.
    pub fn sql(&self, database: &str, sql: &str) -> String {
        let output = self.psql(database, ADMIN, sql);
        assert!(output.status.success(), "{sql}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// `psql` as `role` over TCP (so with its password); the whole output.
    pub fn psql(&self, database: &str, role: &str, sql: &str) -> std::process::Output {
        let password = if role == ADMIN { ADMIN_PASSWORD } else { SERVICE_PASSWORD };
        Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .args(["-U", role, "-d", database, "-c", sql])
            .env("PGPASSWORD", password)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// A new, empty database owned by the superuser; its name.
    pub fn database(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("warden_{}", NEXT.fetch_add(1, Ordering::SeqCst));
        self.sql("postgres", &format!("CREATE DATABASE {name}"));
        name
    }

    /// The URL of a database for a role, without a password (that comes from PGPASSWORD or a file).
    pub fn url(&self, role: &str, database: &str) -> String {
        format!("postgres://{role}@127.0.0.1:{}/{database}?sslmode=disable", self.port)
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_owner(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A process of its own (so a Ctrl-C to the tests does not reach it) that waits for this one to
/// end, then stops the server and removes its directory: a test binary's statics are never
/// dropped, and a killed test runs no destructor.
fn watch_over(bin: &Path, dir: &Path) {
    let stop = match running_as_root() {
        true => format!(
            "runuser -u nobody -- '{}' -D '{}/data' -m immediate stop",
            bin.join("pg_ctl").display(),
            dir.display()
        ),
        false => format!("'{}' -D '{}/data' -m immediate stop", bin.join("pg_ctl").display(), dir.display()),
    };
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; if [ -d '{dir}/data' ]; then {stop} >/dev/null 2>&1; rm -rf '{dir}'; fi",
        pid = std::process::id(),
        dir = dir.display(),
    );
    // The shell starts the watcher in the background and ends at once; the watcher lives on.
    let started = Command::new("sh")
        .args(["-c", &format!("({script}) </dev/null >/dev/null 2>&1 &")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .status()
        .expect("the watcher starts");
    assert!(started.success());
}
