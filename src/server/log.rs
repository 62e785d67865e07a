//! One log line per request: method, path, status, the calling token's *id* or the person
//! signed in to the pages, the decision or refusal, and the latency. Never a secret: the
//! `Authorization` header and the query string (RFC 6750 allows a token there) are not logged,
//! and a token pasted into the path, plain or percent-encoded, is cut to its id.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::Method;
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
    let user = user.as_ref().and_then(|user| user.0.get()).map(String::as_str);
    answered(&state, started, &method, &path, user, &response);
    response
}

/// Counts an answer and writes its request's line: what [`log_request`] does after the
/// handler, and what the direct route to forward-auth does (no one signs in there).
pub(super) fn answered(
    state: &super::State,
    started: Instant,
    method: &Method,
    path: &str,
    user: Option<&str>,
    response: &Response,
) {
    let latency = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.response(status);
    let logged = response.extensions().get::<Logged>();
    let token = logged.and_then(|l| l.token.as_ref()).map_or("-", |id| id.as_str());
    let decision = logged.map_or("-", |l| l.decision);
    let user = user.unwrap_or("-");
    let micros = latency.as_micros();
    match state.request_log {
        RequestLog::Tracing => tracing::info!(
            target: REQUEST_TARGET,
            "{method} {path} {status} token={token} user={user} decision={decision} latency_us={micros}"
        ),
        RequestLog::Stderr => {
            let line = RequestLine { method: method.as_str(), path, status, token, user, decision, micros };
            write_request_line(&line);
        }
    }
}

/// The fields of a request's log line.
struct RequestLine<'a> {
    method: &'a str,
    path: &'a str,
    status: u16,
    token: &'a str,
    user: &'a str,
    decision: &'a str,
    micros: u128,
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
fn write_request_line(line: &RequestLine<'_>) {
    let now = SystemTime::now();
    let mut pending = PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    pending.push_request(now, line);
    if pending.bytes.len() >= FLUSH_AT {
        let _ = write_out(&mut pending.bytes);
    }
}

impl Pending {
    /// Appends a request's line, field by field rather than through `format_args!`: this runs
    /// once per request.
    fn push_request(&mut self, now: SystemTime, line: &RequestLine<'_>) {
        use std::fmt::Write as _;
        let bytes = &mut self.bytes;
        self.clock.write(now, bytes);
        bytes.extend_from_slice(b"  INFO ");
        let (mut status, mut micros) = (itoa::Buffer::new(), itoa::Buffer::new());
        let (status, micros) = (status.format(line.status), micros.format(line.micros));
        let parts = [
            line.method,
            " ",
            line.path,
            " ",
            status,
            " token=",
            line.token,
            " user=",
            line.user,
            " decision=",
            line.decision,
            " latency_us=",
            micros,
            "\n",
        ];
        // Copied as they are, then looked over once: a line rarely holds anything to escape.
        let start = bytes.len();
        parts.iter().for_each(|part| bytes.extend_from_slice(part.as_bytes()));
        if may_need_escaping(&bytes[start..]) {
            bytes.truncate(start);
            parts.iter().for_each(|part| {
                let _ = Escaping(bytes).write_str(part);
            });
        }
    }
}

/// `tracing`'s timestamps (RFC 3339, UTC, microseconds), the date and time of day formatted
/// once a second rather than once a line.
#[derive(Default)]
struct Clock {
    /// The second [`Clock::formatted`] is of.
    second: u64,
    /// `2026-01-31T12:00:00`.
    formatted: String,
}

impl Clock {
    fn write(&mut self, now: SystemTime, out: &mut Vec<u8>) {
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let second = since_epoch.as_secs();
        if second != self.second || self.formatted.is_empty() {
            let at: chrono::DateTime<chrono::Utc> = (UNIX_EPOCH + Duration::from_secs(second)).into();
            self.formatted = at.format("%Y-%m-%dT%H:%M:%S").to_string();
            self.second = second;
        }
        out.extend_from_slice(self.formatted.as_bytes());
        let micros = since_epoch.subsec_micros();
        let mut digits = *b".000000Z";
        let mut rest = micros;
        for digit in digits[1..7].iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out.extend_from_slice(&digits);
    }
}

/// Whether UTF-8 text may hold what [`Escaping`] escapes: its ASCII controls, or the lead byte of
/// the C1 controls (0xC2, which other characters share). A pass without an early exit, which
/// the compiler runs on many bytes at once.
fn may_need_escaping(text: &[u8]) -> bool {
    text.iter().fold(false, |found, byte| found | matches!(byte, 0x1b | 0x07 | 0x08 | 0x0c | 0x7f | 0xc2))
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
static PENDING: Mutex<Pending> =
    Mutex::new(Pending { bytes: Vec::new(), clock: Clock { second: 0, formatted: String::new() } });

/// The lines waiting, and the clock that stamps them.
struct Pending {
    bytes: Vec<u8>,
    clock: Clock,
}

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
        let pending = &mut PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).bytes;
        pending.extend_from_slice(line);
        if matches!(self, LogLine::Now) || pending.len() >= FLUSH_AT {
            write_out(pending)?;
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
    let _ = write_out(&mut PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).bytes);
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
    fn a_request_line_is_tracing_s_line_escaped_as_tracing_escapes() {
        let mut pending = super::Pending { bytes: Vec::new(), clock: super::Clock::default() };
        let line = |path| super::RequestLine {
            method: "GET",
            path,
            status: 404,
            token: "-",
            user: "-",
            decision: "-",
            micros: 17,
        };
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_769_860_800_000_042);
        for (path, now) in [("/a\x1b[31m\u{85}é", at), ("/plain", at + std::time::Duration::from_micros(999_999))] {
            pending.push_request(now, &line(path));
        }
        let stamp = |now: std::time::SystemTime| {
            chrono::DateTime::<chrono::Utc>::from(now).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        };
        let (first, second) = (stamp(at), stamp(at + std::time::Duration::from_micros(999_999)));
        assert_eq!(
            String::from_utf8(pending.bytes).unwrap(),
            format!(
                "{first}  INFO GET /a\\x1b[31m\\u{{85}}é 404 token=- user=- decision=- latency_us=17\n\
                 {second}  INFO GET /plain 404 token=- user=- decision=- latency_us=17\n"
            )
        );
        assert_eq!((first.as_str(), second.as_str()), ("2026-01-31T12:00:00.000042Z", "2026-01-31T12:00:01.000041Z"));
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
