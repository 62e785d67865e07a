//! What the token-page tests share: `warden serve` with the pages on, on loopback with a
//! database in a temp dir, and a gateway in front of it that signs people in as an
//! authenticating proxy would (it sets `X-Forwarded-Email`, dropping any the client sent, and
//! connects from 127.0.0.2, the one address warden trusts).

#![allow(dead_code)] // each test file uses part of it

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

#[path = "../support/serve.rs"]
mod serving;
#[path = "../support/temp.rs"]
mod temp;
use temp::TempDir;

pub const USER_HEADER: &str = "X-Forwarded-Email";
/// The address the gateway connects from, the only one warden trusts.
pub const GATEWAY_ADDRESS: &str = "127.0.0.2";
pub const HEIDI: &str = "heidi@acme.example";
pub const GRACE: &str = "grace@acme.example";

/// `warden serve` with the token pages, and its temp dir.
pub struct Warden {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    dir: TempDir,
}

fn warden(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
    let tenant = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/example");
    command.args(args).arg("--tenant").arg(tenant).arg("--db").arg(dir.join("tokens.db")).current_dir(dir);
    for name in ["WARDEN_DB", "WARDEN_TOKEN", "WARDEN_TOKEN_LIMIT", "WARDEN_TOKEN_PREFIX", "WARDEN_LISTEN"] {
        command.env_remove(name);
    }
    command.env("NO_COLOR", "1");
    command
}

impl Warden {
    /// Serves the pages to people the gateway at 127.0.0.2 signs in; forms must come from
    /// `public_origin`.
    pub fn start(public_origin: &str) -> Warden {
        let trusted = format!("{GATEWAY_ADDRESS}/32");
        Warden::serve(&[
            "--ui-user-header",
            USER_HEADER,
            "--trusted-proxies",
            &trusted,
            "--public-origin",
            public_origin,
        ])
    }

    /// `warden serve` as it runs without `--ui-user-header`.
    pub fn start_without_pages() -> Warden {
        Warden::serve(&[])
    }

    fn serve(extra: &[&str]) -> Warden {
        let dir = TempDir::new();
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let serving::Serving { child, address, log } = serving::spawn(&mut warden(&dir, &args));
        Warden { child, addr: address.parse().unwrap(), log, dir }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn db_files(&self) -> Vec<PathBuf> {
        ["tokens.db", "tokens.db-wal", "tokens.db-shm"].iter().map(|f| self.dir.join(f)).collect()
    }

    /// A token made with the CLI, account-wide and never expiring: its string.
    pub fn cli_token(&self, actor: &str, name: &str, scope: &str) -> String {
        let args =
            ["token", "create", "--as", actor, "--name", name, "--scope", scope, "--account-wide", "--never-expires"];
        let output = warden(&self.dir, &args).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().lines().next().unwrap().to_string()
    }

    /// `warden audit --as actor`: the audit log's lines.
    pub fn audit(&self, actor: &str) -> String {
        let output = warden(&self.dir, &["audit", "--as", actor]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    /// `GET /v1/auth` with a bearer token: the status and `X-Warden-Reason`.
    pub async fn forward_auth(&self, token: &str, permission: &str, environment: &str) -> (u16, String) {
        let request = format!(
            "GET /v1/auth?permission={permission}&environment={environment} HTTP/1.1\r\nHost: warden\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        let reply = send(self.addr, None, request.as_bytes()).await;
        let status = reply.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let reason = reply
            .lines()
            .find_map(|line| line.to_ascii_lowercase().strip_prefix("x-warden-reason: ").map(str::to_string))
            .unwrap_or_default();
        (status, reason)
    }
}

impl Drop for Warden {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends raw bytes to `to` (from `from`, when given) and reads the answer until the server
/// closes (send `Connection: close`).
pub async fn send(to: SocketAddr, from: Option<&str>, request: &[u8]) -> String {
    let mut stream = connect(to, from).await;
    stream.write_all(request).await.unwrap();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut reply)).await;
    String::from_utf8_lossy(&reply).into_owned()
}

/// A connection to `to`, from the address `from` when given (127.0.0.2: the gateway).
pub async fn connect(to: SocketAddr, from: Option<&str>) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(from) = from {
        socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    }
    socket.connect(to).await.unwrap()
}

/// An authenticating gateway: every request it passes on names `user` (when set) in
/// `X-Forwarded-Email`, whatever the client sent.
pub struct Gateway {
    pub addr: SocketAddr,
    user: Arc<Mutex<Option<String>>>,
}

impl Gateway {
    /// Listens on loopback; [`Gateway::forward_to`] starts it.
    pub async fn bind() -> (Gateway, TcpListener) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = Gateway { addr: listener.local_addr().unwrap(), user: Arc::default() };
        (gateway, listener)
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn forward_to(&self, listener: TcpListener, upstream: SocketAddr) {
        let user = Arc::clone(&self.user);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(pass_on(client, upstream, Arc::clone(&user)));
            }
        });
    }

    /// Signs `user` in for every request from now on (`None`: nobody).
    pub fn sign_in(&self, user: Option<&str>) {
        *self.user.lock().unwrap() = user.map(str::to_string);
    }
}

/// One request: its head rewritten (the user header set, the connection closed after it), the
/// rest copied both ways.
async fn pass_on(mut client: TcpStream, upstream: SocketAddr, user: Arc<Mutex<Option<String>>>) {
    let mut received = Vec::new();
    let end = loop {
        let mut chunk = [0u8; 4096];
        match client.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8_lossy(&received[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut rewritten = format!("{}\r\n", lines.next().unwrap_or_default());
    for line in lines {
        let name = line.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
        if name != USER_HEADER.to_ascii_lowercase() && name != "connection" && name != "keep-alive" {
            rewritten.push_str(line);
            rewritten.push_str("\r\n");
        }
    }
    if let Some(user) = user.lock().unwrap().clone() {
        rewritten.push_str(&format!("{USER_HEADER}: {user}\r\n"));
    }
    rewritten.push_str("Connection: close\r\n\r\n");
    let mut server = connect(upstream, Some(GATEWAY_ADDRESS)).await;
    if server.write_all(rewritten.as_bytes()).await.is_err() || server.write_all(&received[end + 4..]).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// The value of the first `name="form_token"` field of a page.
pub fn form_token(html: &str) -> String {
    let at = html.find("name=\"form_token\" value=\"").expect("the page has a form token") + 25;
    html[at..].split('"').next().unwrap().to_string()
}
