//! One log line per request: method, path, status, the calling token's *id* or the person
//! signed in to the pages, the decision or refusal, and the latency. Never a secret: the
//! `Authorization` header and the query string (RFC 6750 allows a token there) are not logged,
//! and a token pasted into the path, plain or percent-encoded, is cut to its id.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::token::{TokenId, redact};

/// What a handler tells the log about its answer, carried in the response's extensions.
#[derive(Debug, Clone)]
pub struct Logged {
    pub token: Option<TokenId>,
    /// `ok`, a check's reason or a refusal's rule id.
    pub decision: &'static str,
}

/// The person signed in to the pages for a request, once the pages know them: every request
/// carries an empty one, and the pages' sign-in fills it in. An email is not a secret.
#[derive(Debug, Clone, Default)]
pub(crate) struct SignedInUser(Arc<OnceLock<String>>);

impl SignedInUser {
    pub fn set(&self, email: &str) {
        let _ = self.0.set(email.to_string());
    }
}

pub async fn log_request(State(state): State<Arc<super::State>>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = redact(request.uri().path()).into_owned();
    // Only the token pages sign people in.
    let user = state.ui.is_some().then(SignedInUser::default);
    if let Some(user) = &user {
        request.extensions_mut().insert(user.clone());
    }
    let response = next.run(request).await;
    let latency = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.response(status);
    let logged = response.extensions().get::<Logged>();
    let token = logged.and_then(|l| l.token.as_ref()).map_or("-", |id| id.0.as_str());
    let decision = logged.map_or("-", |l| l.decision);
    let user = user.as_ref().and_then(|user| user.0.get()).map_or("-", String::as_str);
    let micros = latency.as_micros();
    let line =
        format_args!("{method} {path} {status} token={token} user={user} decision={decision} latency_us={micros}");
    match state.request_log {
        RequestLog::Tracing => tracing::info!(target: REQUEST_TARGET, "{line}"),
        RequestLog::Stderr => write_request_line(line),
    }
    response
}

/// Where the request log lines go.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default)]
pub enum RequestLog {
    /// To `tracing`, target [`REQUEST_TARGET`], level INFO, like every other line.
    #[default]
    Tracing,
    /// Straight to standard error in `tracing`'s plain format (`2026-01-31T12:00:00.000000Z
    /// INFO …`, control characters escaped as it does), in batches: what `warden serve` uses
    /// when standard error is no terminal, to keep formatting off the requests' path.
    Stderr,
}

/// A request's line as `tracing`'s plain format writes it, into the batch.
fn write_request_line(line: std::fmt::Arguments<'_>) {
    use std::fmt::Write as _;
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut pending = PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    pending.extend_from_slice(at.as_bytes());
    pending.extend_from_slice(b"  INFO ");
    let _ = write!(Escaping(&mut pending), "{line}");
    pending.push(b'\n');
    if pending.len() >= FLUSH_AT {
        let _ = write_out(&mut pending);
    }
}

/// Escapes what `tracing`'s formatter escapes in a message: the C0 controls that start
/// terminal sequences (ESC, BEL, BS, FF), DEL, and the C1 controls.
struct Escaping<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Escaping<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let escaped = |c: char| matches!(c, '\x1b' | '\x07' | '\x08' | '\x0c' | '\x7f' | '\u{80}'..='\u{9f}');
        if !text.contains(escaped) {
            self.0.extend_from_slice(text.as_bytes());
            return Ok(());
        }
        for c in text.chars() {
            let written = match c {
                c if c < '\u{80}' && escaped(c) => write!(self.0, "\\x{:02x}", c as u32),
                c if escaped(c) => write!(self.0, "\\u{{{:x}}}", c as u32),
                c => self.0.write_all(c.encode_utf8(&mut [0; 4]).as_bytes()),
            };
            written.map_err(|_| std::fmt::Error)?;
        }
        Ok(())
    }
}

/// How long a request's log line may wait in memory before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A buffer this full is written at once: a flood of requests is logged in large writes.
const FLUSH_AT: usize = 64 * 1024;

/// Request log lines on their way to standard error: one write per [`FLUSH_EVERY`] or per
/// [`FLUSH_AT`] bytes instead of one per request. Any other log line is written at once, after
/// the lines waiting before it; [`run`](super::run) writes what waits before it returns.
static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Where the log's lines go: request lines wait in memory, every other line is written at once.
pub enum LogLine {
    /// A request's line ([`REQUEST_TARGET`]).
    Request,
    /// Any other line, written after the request lines before it.
    Now,
}

/// The target of the request log lines: [`LogLine::Request`] is for them.
pub const REQUEST_TARGET: &str = "warden::request";

impl Write for LogLine {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        pending.extend_from_slice(line);
        if matches!(self, LogLine::Now) || pending.len() >= FLUSH_AT {
            write_out(&mut pending)?;
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes what waits; under the lock, so lines keep their order.
fn write_out(pending: &mut Vec<u8>) -> std::io::Result<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let written = std::io::stderr().write_all(pending);
    pending.clear();
    written
}

/// Writes the waiting request lines.
pub(super) fn flush() {
    let _ = write_out(&mut PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
}

/// Writes the waiting request lines every [`FLUSH_EVERY`], for the life of the process; and,
/// when dropped, once more (a server that stops, however it stops, loses no line).
pub(super) struct Flusher;

impl Flusher {
    pub fn start() -> Flusher {
        static STARTED: OnceLock<()> = OnceLock::new();
        STARTED.get_or_init(|| {
            std::thread::spawn(|| {
                loop {
                    std::thread::sleep(FLUSH_EVERY);
                    flush();
                }
            });
        });
        Flusher
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        flush();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_request_line_escapes_what_tracing_escapes() {
        use std::fmt::Write as _;
        let mut line = Vec::new();
        let path = "/a\x1b[31m\x07\x7f\u{85}é";
        write!(super::Escaping(&mut line), "GET {path} {}", 200).unwrap();
        assert_eq!(String::from_utf8(line).unwrap(), "GET /a\\x1b[31m\\x07\\x7f\\u{85}é 200");
    }

    #[test]
    fn a_pasted_token_in_a_path_is_cut_to_its_id() {
        let cut = |path| super::redact(path).into_owned();
        let path = "/iam/v1/accounts/acme/platform-tokens/dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.SECRETSECRET/status";
        assert_eq!(cut(path), "/iam/v1/accounts/acme/platform-tokens/dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.…/status");
        assert_eq!(cut("/x/dt0c01.ID%2ESECRET"), "/x/dt0c01.ID%2E…");
        assert_eq!(cut("/x/dt0c01%252EID%252ESECRET"), "/x/dt0c01%252EID%252E…");
        assert_eq!(cut("/v1/auth"), "/v1/auth");
    }
}
