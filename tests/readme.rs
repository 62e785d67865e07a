//! README.md is executable: every fenced block in it is run, written or marked as not run, so the
//! examples a newcomer copies do what the README shows.
//!
//! # Markers
//!
//! Each fenced block says what it is in its info string. The first word is the language GitHub
//! highlights; the words after it are for this test:
//!
//! - ```` ```console ```` — a shell session: a line `$ COMMAND` (continued on the next line
//!   when it ends in `\`) is run, and the lines after it, up to the next `$ `, are its output
//!   (standard output and standard error, as a terminal shows them), compared with what it
//!   printed.
//! - ```` ```LANG file=PATH ```` — a file that later blocks use (`team.policy`): its text is
//!   written to PATH in the work directory when the run reaches it.
//! - ```` ```rust ```` — compiled and run by `cargo test --doc`: `src/lib.rs` includes README.md
//!   as the documentation of a hidden item.
//! - ```` ```LANG not-run ```` — shown only: the test commands, illustrations with `…` in
//!   place of ids. The top block, `cargo run -- …` and `cargo test`, is one of these; its first
//!   command is checked by [`the_first_command_is_allowed`].
//!
//! A block with none of these fails the test, so nothing is skipped silently.
//!
//! # The run
//!
//! One session for the whole README, in a fresh temporary directory (so a fresh `./warden.db`)
//! holding copies of `policies/example`, `policies/example-terraform`, `examples/diff` and the
//! host files of the tests (`tests/hosts`, `tests/tenants/unresolved-terraform`), committed to a
//! git repository of its own (for `warden diff --git HEAD …`), with bash, `PATH` starting with
//! the warden binary under test, `NO_COLOR=1` and no other `WARDEN_*` variable. As in one shell
//! session:
//!
//! - a variable that a command assigns (`TOKEN=$(warden token create … | sed -n 1p)`,
//!   `export WARDEN_TOKEN=…`) is there for every later command;
//! - a command ending in `&` runs in the background until the end of the run. `warden serve …
//!   &` is ready when it prints `listening on http://ADDRESS`; its output in the README is what
//!   it printed up to that line (request log lines that follow belong to no block). The
//!   README's `127.0.0.1:8080` stands for a free loopback port: the server is started on port 0,
//!   and the address it prints replaces `127.0.0.1:8080` in every later command and back again
//!   in every output;
//! - `curl` must be installed (CI's `.ci/run` installs it).
//!
//! # Comparing, and what is masked
//!
//! Trailing whitespace, `\r` and trailing empty lines are ignored. A line that is only `…` in
//! the README stands for any number of lines (zero included). Values that differ from run to
//! run are masked:
//!
//! - token ids (`dt0s16.` + 24 base-32 characters) and token strings (an id, `.`, 64 more) are
//!   *variables*: the first time a README value meets a real one they are bound together, and
//!   from then on the README value must stand for that same real value wherever it appears
//!   again, and it is replaced by the real one in every later command. So
//!   `warden token disable dt0s16.OOTRUNTGARUDGQFDAFGE64S7` disables the token the README
//!   created, and an output showing a different token where the README shows the same fails;
//! - times (RFC 3339, and HTTP dates such as `Mon, 30 Nov 2026 16:36:35 GMT`) match when they
//!   are equal, or when the real one is a reading of the clock during this run (within five
//!   minutes of it). An expiry the README set (`--expires 2099-12-31`) is compared as it is.
//!
//! # When an output changes
//!
//! The test fails with a diff per command, README against the real output (written with the
//! README's values for masked ones), and says how to update: `WARDEN_README_BLESS=1 cargo
//! test --test readme` rewrites, in README.md, the output of every command that differs, keeping
//! the README's token ids, secrets and times where it can and each `…` in place of the lines it
//! stood for; review the change with `git diff README.md`. Commands and prose are never
//! rewritten.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use similar::{Algorithm, DiffTag, TextDiff, capture_diff_slices};

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
const BLESS: &str = "WARDEN_README_BLESS";
/// How long a foreground command may take, and a server to get ready.
const PATIENCE: Duration = Duration::from_secs(60);
/// The line of `warden serve` that says it accepts connections, and where.
const READY: &str = "listening on http://";
/// What the README's commands read from the repository, copied into the work directory.
const COPIED: [&str; 5] = [
    "policies/example",
    "policies/example-terraform",
    "examples/diff",
    "tests/hosts",
    "tests/tenants/unresolved-terraform",
];

#[test]
fn readme_blocks_do_what_they_show() {
    let text = std::fs::read_to_string(README).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let blocks = blocks(&lines);
    let mut session = Session::new();
    // Problems no rewrite of an output mends (unmarked blocks, commands that cannot run), and
    // outputs that changed: a diff each, and the README lines that would show the new output.
    let mut problems = Vec::new();
    let mut changes: Vec<(String, Range<usize>, Vec<String>)> = Vec::new();
    let (mut commands, mut files, mut not_run) = (0, 0, Vec::new());
    for block in &blocks {
        match marker(&block.info) {
            Err(problem) => problems.push(format!("README.md line {}: {problem}", block.fence + 1)),
            Ok(Marker::NotRun) => not_run.push(block.fence + 1),
            Ok(Marker::Rust) => {}
            Ok(Marker::File(path)) => {
                session.write(&path, &lines[block.body.clone()]);
                files += 1;
            }
            Ok(Marker::Console) => {
                let steps = match steps(&lines, block) {
                    Ok(steps) => steps,
                    Err(problem) => {
                        problems.push(problem);
                        continue;
                    }
                };
                for step in steps {
                    commands += 1;
                    let expected: Vec<String> = normalized(&lines[step.output.clone()].join("\n"));
                    let actual = match session.run(&step.command) {
                        Ok(output) => output,
                        Err(problem) => {
                            problems.push(format!("README.md line {}: `$ {}`: {problem}", step.line + 1, step.command));
                            continue;
                        }
                    };
                    if let Some(rewritten) = session.compare(&expected, &actual) {
                        let diff = TextDiff::from_lines(&lines_text(&expected), &lines_text(&rewritten))
                            .unified_diff()
                            .context_radius(3)
                            .header("README.md", "what it printed")
                            .to_string();
                        let what = format!("README.md line {}: `$ {}`:\n{diff}", step.line + 1, step.command);
                        changes.push((what, step.output.clone(), rewritten));
                    }
                }
            }
        }
    }
    drop(session);
    eprintln!(
        "README.md: {commands} commands run, {files} files written, blocks not run at lines {not_run:?}; \
         {} outputs differ, {} other problems",
        changes.len(),
        problems.len()
    );
    if std::env::var_os(BLESS).is_some() && !changes.is_empty() {
        let edits = changes.drain(..).map(|(_, lines, output)| (lines, output)).collect();
        std::fs::write(README, apply(&lines, edits)).unwrap();
        eprintln!("{BLESS}: rewrote the outputs that differed in README.md; review `git diff README.md`");
    }
    let mut failures = problems;
    if !changes.is_empty() {
        failures.extend(changes.into_iter().map(|(what, _, _)| what));
        failures.push(format!(
            "If the new output is right, update README.md with `{BLESS}=1 cargo test --test readme` and review \
             `git diff README.md` (see tests/readme.rs)."
        ));
    }
    assert!(failures.is_empty(), "README.md does not show what its examples do:\n\n{}", failures.join("\n"));
}

/// The README begins with two commands: the main job on the bundled tenant, and the tests. The
/// first must do what the prose under it says: allow Bob's request, exit 0.
#[test]
fn the_first_command_is_allowed() {
    let text = std::fs::read_to_string(README).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let first = &blocks(&lines)[0];
    let commands = &lines[first.body.clone()];
    assert_eq!(commands.len(), 2, "the README starts with exactly two commands: {commands:?}");
    assert_eq!(commands[1], "cargo test");
    let args = commands[0].strip_prefix("cargo run -- ").expect("the first command runs warden with `cargo run -- `");
    let mut session = Session::new();
    let output = session.run(&format!("warden {args}; echo \"exit $?\"")).unwrap();
    assert!(output.starts_with("ALLOWED: "), "the first command does not allow:\n{output}");
    assert!(output.ends_with("exit 0\n"), "the first command does not exit 0:\n{output}");
}

/// A fenced block: where its fence is, its info string, and its lines.
struct Block {
    fence: usize,
    info: String,
    body: Range<usize>,
}

/// The fenced blocks of a Markdown text (fences of backticks at the start of a line).
fn blocks(lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(info) = lines[i].strip_prefix("```") {
            let end = (i + 1..lines.len()).find(|&j| lines[j] == "```").expect("every fence is closed");
            blocks.push(Block { fence: i, info: info.trim().to_string(), body: i + 1..end });
            i = end;
        }
        i += 1;
    }
    blocks
}

enum Marker {
    Console,
    File(String),
    Rust,
    NotRun,
}

fn marker(info: &str) -> Result<Marker, String> {
    let words: Vec<&str> = info.split_whitespace().collect();
    if words.contains(&"not-run") {
        return Ok(Marker::NotRun);
    }
    if let Some(path) = words.iter().find_map(|w| w.strip_prefix("file=")) {
        let relative = Path::new(path).components().all(|c| matches!(c, std::path::Component::Normal(_)));
        return match relative {
            true => Ok(Marker::File(path.to_string())),
            false => Err(format!("`file={path}` must be a relative path inside the work directory")),
        };
    }
    match words.as_slice() {
        ["console"] => Ok(Marker::Console),
        ["rust"] => Ok(Marker::Rust),
        _ => Err(format!(
            "the block ```{info} says neither `console`, `rust`, `file=PATH` nor `not-run` (see tests/readme.rs)"
        )),
    }
}

/// One command of a console block and the README lines of its output.
struct Step {
    line: usize,
    command: String,
    output: Range<usize>,
}

fn steps(lines: &[&str], block: &Block) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut i = block.body.start;
    while i < block.body.end {
        let Some(first) = lines[i].strip_prefix("$ ") else {
            return Err(format!("README.md line {}: a console block starts with `$ COMMAND`", i + 1));
        };
        let line = i;
        let mut command = first.to_string();
        while command.ends_with('\\') && i + 1 < block.body.end {
            i += 1;
            command.push('\n');
            command.push_str(lines[i]);
        }
        i += 1;
        let start = i;
        while i < block.body.end && !lines[i].starts_with("$ ") {
            i += 1;
        }
        steps.push(Step { line, command, output: start..i });
    }
    Ok(steps)
}

/// The README with each edit's lines replaced.
fn apply(lines: &[&str], mut edits: Vec<(Range<usize>, Vec<String>)>) -> String {
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    for (range, replacement) in edits {
        out.splice(range, replacement);
    }
    out.iter().map(|l| format!("{l}\n")).collect()
}

/// Lines without trailing whitespace or `\r`, without trailing empty lines.
fn normalized(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

fn lines_text(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn is_elision(line: &str) -> bool {
    line.trim() == "…"
}

/// The shell session the README's commands run in.
struct Session {
    dir: PathBuf,
    env: BTreeMap<String, String>,
    /// Variables that commands assigned, for the commands after them.
    variables: BTreeMap<String, String>,
    values: Values,
    /// README address → the address a server really listens on.
    addresses: Vec<(String, String)>,
    background: Vec<Child>,
    started: DateTime<Utc>,
}

impl Session {
    fn new() -> Session {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("warden-readme-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Copies, so that no README command can change the repository's files, in a repository
        // of their own.
        for path in COPIED {
            let to = dir.join(path);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            let from = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
            let copied = Command::new("cp").arg("-R").arg(from).arg(&to).status();
            assert!(copied.is_ok_and(|s| s.success()), "cannot copy {path}");
        }
        for git in [&["init", "-q"][..], &["add", "-A"], &["commit", "-qm", "what the README's commands read"]] {
            let done = Command::new("git")
                .args(["-c", "user.name=warden", "-c", "user.email=readme@warden.invalid"])
                .args(git)
                .current_dir(&dir)
                .output();
            assert!(done.as_ref().is_ok_and(|o| o.status.success()), "git {git:?} in the work directory: {done:?}");
        }
        let bin = Path::new(env!("CARGO_BIN_EXE_warden")).parent().unwrap().to_str().unwrap().to_string();
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()));
        env.insert("HOME".to_string(), dir.to_str().unwrap().to_string());
        env.insert("NO_COLOR".to_string(), "1".to_string());
        env.insert("WARDEN_README_ENV".to_string(), dir.join(".env").to_str().unwrap().to_string());
        Session {
            dir,
            env,
            variables: BTreeMap::new(),
            values: Values::default(),
            addresses: Vec::new(),
            background: Vec::new(),
            started: Utc::now(),
        }
    }

    fn write(&self, path: &str, lines: &[&str]) {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    }

    /// A bash in the work directory with the session's environment, its standard error joined
    /// to its standard output, in a process group of its own (so that it can be ended whole).
    fn shell(&self, script: &str) -> Child {
        Command::new("bash")
            .arg("-c")
            .arg(format!("exec 2>&1\n{script}"))
            .current_dir(&self.dir)
            .env_clear()
            .envs(&self.env)
            .envs(&self.variables)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("bash runs")
    }

    /// Runs one README command (with the README's values replaced by the real ones) and returns
    /// what it printed, with real addresses written as the README's.
    fn run(&mut self, command: &str) -> Result<String, String> {
        if command.contains("curl ") && Command::new("curl").arg("--version").output().is_err() {
            return Err("curl is missing: install it (Debian: apt-get install curl)".to_string());
        }
        let mut command = self.values.to_real(command);
        for (readme, real) in &self.addresses {
            command = command.replace(readme, real);
        }
        let output = match command.trim_end().strip_suffix('&') {
            Some(server) => self.start(server)?,
            None => self.foreground(&command)?,
        };
        Ok(self.addresses.iter().fold(output, |output, (readme, real)| output.replace(real, readme)))
    }

    fn foreground(&mut self, command: &str) -> Result<String, String> {
        // Every variable the command assigns is exported (`set -a`), so that the environment
        // bash leaves behind holds it.
        let mut child = self.shell(&format!("trap 'env -0 > \"$WARDEN_README_ENV\"' EXIT\nset -a\n{command}"));
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stdout.read_to_end(&mut bytes);
            bytes
        });
        let deadline = Instant::now() + PATIENCE;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                end(&mut child);
                return Err(format!("still running after {PATIENCE:?}"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let output = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
        let env = std::fs::read(&self.env["WARDEN_README_ENV"]).unwrap_or_default();
        for entry in String::from_utf8_lossy(&env).split('\0') {
            let Some((name, value)) = entry.split_once('=') else { continue };
            let assigned =
                !["_", "SHLVL", "PWD", "OLDPWD"].contains(&name) && self.env.get(name).is_none_or(|v| v != value);
            if assigned {
                self.variables.insert(name.to_string(), value.to_string());
            }
        }
        Ok(output)
    }

    /// Starts a server in the background on a free port and returns what it printed until it
    /// was ready.
    fn start(&mut self, command: &str) -> Result<String, String> {
        let readme_address = loopback_address(command);
        let command = match &readme_address {
            Some(address) => command.replace(address, "127.0.0.1:0"),
            None => command.to_string(),
        };
        let mut child = self.shell(&command);
        let (lines, received) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        // Reads to the end even when nobody listens any more, so the server never blocks on a
        // full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + PATIENCE;
        let mut output = String::new();
        loop {
            let line = match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => line,
                Err(_) => {
                    end(&mut child);
                    return Err(format!("never printed `{READY}…`; it printed:\n{output}"));
                }
            };
            output.push_str(&line);
            output.push('\n');
            if let Some(rest) = line.split_once(READY).map(|(_, rest)| rest) {
                let real = rest.split_whitespace().next().unwrap_or_default().trim_end_matches('/').to_string();
                if let Some(readme) = readme_address {
                    self.addresses.push((readme, real));
                }
                self.background.push(child);
                return Ok(output);
            }
        }
    }

    /// Compares a command's output with the README's: `None` when they agree, else the output
    /// as the README would show it.
    fn compare(&mut self, expected: &[String], actual: &str) -> Option<Vec<String>> {
        let actual = normalized(actual);
        let clock = self.started - TimeDelta::minutes(5)..=Utc::now() + TimeDelta::minutes(5);
        if let Some(values) = matches(expected, &actual, &self.values, &clock) {
            self.values = values;
            return None;
        }
        Some(self.values.rewrite(expected, &actual, &clock))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for child in &mut self.background {
            end(child);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Ends a shell and everything it started.
fn end(child: &mut Child) {
    // SAFETY: kill(2) on the process group the child leads; no memory is involved.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGTERM) };
    let _ = child.wait();
}

/// The first `127.0.0.1:PORT` in a command.
fn loopback_address(command: &str) -> Option<String> {
    let at = command.find("127.0.0.1:")?;
    let rest = &command[at + "127.0.0.1:".len()..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    (digits > 0).then(|| command[at..at + "127.0.0.1:".len() + digits].to_string())
}

/// The kinds of run-specific values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mask {
    TokenId,
    Token,
    Time,
    HttpDate,
}

#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Masked(Mask, &'a str),
}

/// A line cut into text and masked values.
fn pieces(line: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let (mut text_start, mut i) = (0, 0);
    while i < line.len() {
        if !line.is_char_boundary(i) {
            i += 1;
            continue;
        }
        match masked_at(&line[i..]) {
            Some((mask, len)) => {
                if text_start < i {
                    pieces.push(Piece::Text(&line[text_start..i]));
                }
                pieces.push(Piece::Masked(mask, &line[i..i + len]));
                i += len;
                text_start = i;
            }
            None => i += 1,
        }
    }
    if text_start < line.len() {
        pieces.push(Piece::Text(&line[text_start..]));
    }
    pieces
}

/// The masked value that `text` starts with, and its length.
fn masked_at(text: &str) -> Option<(Mask, usize)> {
    let base32 = |s: &str, n: usize| {
        s.len() >= n
            && s.bytes().take(n).all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
            && !s.as_bytes().get(n).is_some_and(u8::is_ascii_alphanumeric)
    };
    if let Some(rest) = text.strip_prefix("dt0s16.") {
        if base32(rest, 24) {
            let id = "dt0s16.".len() + 24;
            return match rest[24..].strip_prefix('.') {
                Some(secret) if base32(secret, 64) => Some((Mask::Token, id + 1 + 64)),
                _ => Some((Mask::TokenId, id)),
            };
        }
    }
    if let Some(len) = rfc3339_len(text) {
        return Some((Mask::Time, len));
    }
    // `Mon, 30 Nov 2026 16:36:35 GMT`
    let candidate = text.get(..29)?;
    (candidate.ends_with(" GMT") && DateTime::parse_from_rfc2822(candidate).is_ok()).then_some((Mask::HttpDate, 29))
}

/// The length of the RFC 3339 date-time that `text` starts with.
fn rfc3339_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if bytes.len() < shape.len()
        || !shape.iter().zip(bytes).all(|(s, b)| if *s == b'd' { b.is_ascii_digit() } else { s == b })
    {
        return None;
    }
    let mut len = shape.len();
    if bytes.get(len) == Some(&b'.') {
        len += 1 + bytes[len + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
    }
    len += match bytes.get(len) {
        Some(b'Z') => 1,
        Some(b'+' | b'-') => 6,
        _ => return None,
    };
    let candidate = text.get(..len)?;
    DateTime::parse_from_rfc3339(candidate).is_ok().then_some(len)
}

/// A time that is a reading of the clock during the run.
fn of_the_run(value: &str, clock: &std::ops::RangeInclusive<DateTime<Utc>>) -> bool {
    let time = DateTime::parse_from_rfc3339(value).or_else(|_| DateTime::parse_from_rfc2822(value));
    time.is_ok_and(|t| clock.contains(&t.with_timezone(&Utc)))
}

/// The token ids and token strings of the README bound to the real ones.
#[derive(Debug, Clone, Default)]
struct Values {
    real: HashMap<String, String>,
    readme: HashMap<String, String>,
}

impl Values {
    /// Binds a README value to a real one; false when either is bound to something else.
    fn bind(&mut self, readme: &str, real: &str) -> bool {
        let consistent = |map: &HashMap<String, String>, from: &str, to: &str| map.get(from).is_none_or(|v| v == to);
        if !consistent(&self.real, readme, real) || !consistent(&self.readme, real, readme) {
            return false;
        }
        self.real.insert(readme.to_string(), real.to_string());
        self.readme.insert(real.to_string(), readme.to_string());
        // A token string holds its id: bind that too.
        match (readme.rsplit_once('.'), real.rsplit_once('.')) {
            (Some((readme_id, _)), Some((real_id, _))) if readme.len() > 40 => self.bind(readme_id, real_id),
            _ => true,
        }
    }

    /// A README command with the README's values replaced by the real ones (token strings first:
    /// they hold ids).
    fn to_real(&self, command: &str) -> String {
        let mut bound: Vec<(&String, &String)> = self.real.iter().collect();
        bound.sort_by_key(|(readme, _)| std::cmp::Reverse(readme.len()));
        bound.iter().fold(command.to_string(), |command, (readme, real)| command.replace(readme.as_str(), real))
    }

    /// The output as the README would show it: values bound to README ones written as those,
    /// new ones paired with the README's new ones in the order they appear, fresh token strings
    /// with a broken checksum (a real one in the README would be found by `warden token scan`),
    /// and each `…` of the README in place of the lines it stood for.
    fn rewrite(
        &mut self,
        expected: &[String],
        actual: &[String],
        clock: &std::ops::RangeInclusive<DateTime<Utc>>,
    ) -> Vec<String> {
        let masked = |lines: &[String], wanted: &dyn Fn(Mask) -> bool| -> Vec<(Mask, String)> {
            let mut values: Vec<(Mask, String)> = Vec::new();
            for line in lines {
                for piece in pieces(line) {
                    let Piece::Masked(mask, value) = piece else { continue };
                    if wanted(mask) && !values.iter().any(|(_, v)| v == value) {
                        values.push((mask, value.to_string()));
                    }
                }
            }
            values
        };
        let variable = |mask| matches!(mask, Mask::Token | Mask::TokenId);
        let old: Vec<_> =
            masked(expected, &|m| variable(m)).into_iter().filter(|(_, v)| !self.real.contains_key(v)).collect();
        let new: Vec<_> =
            masked(actual, &|m| variable(m)).into_iter().filter(|(_, v)| !self.readme.contains_key(v)).collect();
        for mask in [Mask::Token, Mask::TokenId] {
            let old = old.iter().filter(|(m, _)| *m == mask);
            let new = new.iter().filter(|(m, _)| *m == mask);
            for ((_, readme), (_, real)) in old.zip(new) {
                self.bind(readme, real);
            }
        }
        let mut times = masked(expected, &|m| matches!(m, Mask::Time | Mask::HttpDate)).into_iter();
        let mut written: HashMap<String, String> = HashMap::new();
        let mut lines = Vec::new();
        for line in actual {
            let mut out = String::new();
            for piece in pieces(line) {
                match piece {
                    Piece::Text(text) => out.push_str(text),
                    Piece::Masked(mask, value) if variable(mask) => {
                        if !self.readme.contains_key(value) && mask == Mask::Token {
                            self.bind(&broken_checksum(value), value);
                        }
                        out.push_str(self.readme.get(value).map_or(value, String::as_str));
                    }
                    Piece::Masked(mask, value) => {
                        let shown = match of_the_run(value, clock) {
                            true => written.entry(value.to_string()).or_insert_with(|| {
                                times.find(|(m, _)| *m == mask).map_or_else(|| value.to_string(), |(_, v)| v)
                            }),
                            false => value,
                        };
                        out.push_str(shown);
                    }
                }
            }
            lines.push(out);
        }
        elide(expected, lines)
    }
}

/// A token string whose checksum no longer holds: its last character changed.
fn broken_checksum(token: &str) -> String {
    let (head, last) = token.split_at(token.len() - 1);
    format!("{head}{}", if last == "A" { "B" } else { "A" })
}

/// Whether the output matches the README's lines (`…` standing for any lines), and the values
/// bound on the way.
fn matches(
    expected: &[String],
    actual: &[String],
    values: &Values,
    clock: &std::ops::RangeInclusive<DateTime<Utc>>,
) -> Option<Values> {
    match expected.split_first() {
        None => actual.is_empty().then(|| values.clone()),
        Some((first, rest)) if is_elision(first) => {
            (0..=actual.len()).find_map(|skip| matches(rest, &actual[skip..], values, clock))
        }
        Some((first, rest)) => {
            let (line, others) = actual.split_first()?;
            let mut values = values.clone();
            line_matches(first, line, &mut values, clock).then_some(())?;
            matches(rest, others, &values, clock)
        }
    }
}

fn line_matches(
    expected: &str,
    actual: &str,
    values: &mut Values,
    clock: &std::ops::RangeInclusive<DateTime<Utc>>,
) -> bool {
    let (expected, actual) = (pieces(expected), pieces(actual));
    expected.len() == actual.len()
        && expected.iter().zip(&actual).all(|(e, a)| match (e, a) {
            (Piece::Text(e), Piece::Text(a)) => e == a,
            (Piece::Masked(m, e), Piece::Masked(n, a)) if m == n => match m {
                Mask::Token | Mask::TokenId => values.bind(e, a),
                Mask::Time | Mask::HttpDate => e == a || of_the_run(a, clock),
            },
            _ => false,
        })
}

/// The rewritten output with each `…` of the README standing again for the lines between the
/// README lines around it (found by a line diff); an `…` whose neighbours changed stands for
/// nothing, and the lines show.
fn elide(expected: &[String], rewritten: Vec<String>) -> Vec<String> {
    if !expected.iter().any(|l| is_elision(l)) {
        return rewritten;
    }
    // The line of the output each README line is equal to.
    let mut equal: Vec<Option<usize>> = vec![None; expected.len()];
    for op in capture_diff_slices(Algorithm::Patience, expected, &rewritten) {
        if op.tag() == DiffTag::Equal {
            for (e, r) in op.old_range().zip(op.new_range()) {
                equal[e] = Some(r);
            }
        }
    }
    let mut out = Vec::new();
    let mut next = 0; // the next output line to copy
    for (e, line) in expected.iter().enumerate() {
        if !is_elision(line) {
            continue;
        }
        let before = (0..e).rev().find_map(|i| equal[i].map(|r| (i, r)));
        let after = (e + 1..expected.len()).find_map(|i| equal[i].map(|r| (i, r)));
        // README lines between the `…` and its equal neighbours that changed keep their place.
        let changed_before = before.map_or(e, |(i, _)| e - i - 1);
        let changed_after = after.map_or(expected.len() - e - 1, |(i, _)| i - e - 1);
        let start = before.map_or(0, |(_, r)| r + 1) + changed_before;
        let stop = after.map_or(rewritten.len(), |(_, r)| r).saturating_sub(changed_after);
        let (start, stop) = (start.max(next), stop.max(start.max(next)));
        out.extend(rewritten[next..start.min(rewritten.len())].iter().cloned());
        out.push(line.clone());
        next = stop.min(rewritten.len()).max(next);
    }
    out.extend(rewritten[next.min(rewritten.len())..].iter().cloned());
    out
}

#[test]
fn masking_binds_token_ids_and_accepts_clock_times() {
    let clock = Utc::now() - TimeDelta::minutes(5)..=Utc::now() + TimeDelta::minutes(5);
    let now = Utc::now().to_rfc3339();
    let readme_id = "dt0s16.OOTRUNTGARUDGQFDAFGE64S7";
    let real_id = "dt0s16.Y5MSXAYODGGCZBPPIQM5AWU2";
    let lines = |text: &str| normalized(text);
    let expected =
        lines(&format!("{readme_id}  ACTIVE\n  created   2026-11-27T22:41:20.119+00:00\n…\nowner {readme_id}"));
    let actual = lines(&format!("{real_id}  ACTIVE\n  created   {now}\n  x\n  y\nowner {real_id}"));
    let values = matches(&expected, &actual, &Values::default(), &clock).expect("the same output, other values");
    assert_eq!(values.to_real(&format!("warden token show {readme_id}")), format!("warden token show {real_id}"));

    // The same README id for two different tokens, and a fixed time that differs, do not match.
    let other = "dt0s16.BTQJANUUYFZXH5CG5R7F7OFG";
    let twice = lines(&format!("{real_id}  ACTIVE\n  created   {now}\nowner {other}"));
    assert!(matches(&expected, &twice, &Values::default(), &clock).is_none());
    let expiry = lines("  expires   2099-12-31T00:00:00+00:00");
    assert!(matches(&expiry, &lines("  expires   2098-12-31T00:00:00+00:00"), &Values::default(), &clock).is_none());
    assert!(matches(&expiry, &expiry, &Values::default(), &clock).is_some());

    // A rewrite keeps the README's values and its elision, and shows what changed.
    let mut values = Values::default();
    let changed = lines(&format!("{real_id}  DISABLED\n  created   {now}\n  x\n  y\nowner {real_id}"));
    assert_eq!(
        values.rewrite(&expected, &changed, &clock),
        lines(&format!("{readme_id}  DISABLED\n  created   2026-11-27T22:41:20.119+00:00\n…\nowner {readme_id}"))
    );
}

#[test]
fn masked_values_are_found_inside_text() {
    let token = format!("dt0s16.{}.{}", "A".repeat(24), "B".repeat(64));
    let line = format!("x-id: {token}; date: Mon, 30 Nov 2026 16:36:35 GMT at 2026-11-30T16:36:23.046726728Z.");
    assert_eq!(
        pieces(&line),
        vec![
            Piece::Text("x-id: "),
            Piece::Masked(Mask::Token, &token),
            Piece::Text("; date: "),
            Piece::Masked(Mask::HttpDate, "Mon, 30 Nov 2026 16:36:35 GMT"),
            Piece::Text(" at "),
            Piece::Masked(Mask::Time, "2026-11-30T16:36:23.046726728Z"),
            Piece::Text("."),
        ]
    );
    // Too short, too long, or lower case: not a token id.
    for text in ["dt0s16.AAAA", &format!("dt0s16.{}", "A".repeat(25)), &format!("dt0s16.{}", "a".repeat(24))] {
        assert_eq!(pieces(text), vec![Piece::Text(text)]);
    }
}
