//! The one walker of `lint DIR`, `token scan DIR` and tenant loading, through the built binary
//! (decisions D35): symlink loops and tool folders, files that are not regular, files over
//! 16 MiB, FIFOs, files too large to hold in memory, and files the user cannot read.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::TempDir;
use warden::token::TokenSecret;

fn warden(args: &[&str], path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_warden")).args(args).arg(path).env("NO_COLOR", "1").output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

#[test]
fn lint_walks_a_symlink_loop_once_and_skips_tool_folders() {
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.join("team/.terraform/modules")).unwrap();
    std::fs::write(dir.join("team/logs.policy"), "ALLOW storage:logs:read;\n").unwrap();
    std::fs::write(dir.join("team/.terraform/modules/x.policy"), "ALLOW nope;\n").unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("team/loop")).unwrap();
    let output = warden(&["lint", "-v"], &dir);
    assert_eq!(output.status.code(), Some(0), "{}{}", text(&output.stdout), text(&output.stderr));
    assert!(text(&output.stdout).contains("checked 1 file: no problems"));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("team/loop: a symlink to a directory (not followed)"), "{stderr}");
    assert!(stderr.contains("team/.terraform: a tool or dependency folder"), "{stderr}");
}

#[test]
fn lint_refuses_devices_and_files_over_16_mib() {
    let dir = TempDir::new();
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.policy")).unwrap();
    let output = warden(&["lint"], &dir.join("zero.policy"));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("zero.policy`: it is not a regular file"), "{}", text(&output.stderr));
    // In a directory it is passed over, as every file that is not regular.
    std::fs::write(dir.join("ok.policy"), "ALLOW storage:logs:read;\n").unwrap();
    assert_eq!(warden(&["lint"], &dir).status.code(), Some(0));

    let big = dir.join("big.tf");
    std::fs::File::create(&big).unwrap().set_len(17 * 1024 * 1024).unwrap();
    let output = warden(&["lint"], &dir);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("big.tf`: it holds 17825792 bytes; warden reads policy files of at most 16 MiB")
    );
    // A file that is no policy host is never read, however big.
    std::fs::rename(&big, dir.join("big.iso")).unwrap();
    assert_eq!(warden(&["lint"], &dir).status.code(), Some(0));
}

#[test]
fn a_tenant_with_a_policy_file_over_the_limit_is_refused_clearly() {
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(dir.join("warden.toml"), "[account]\nid = \"acme\"\n").unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("policies/zero.policy")).unwrap();
    std::fs::File::create(dir.join("policies/big.policy")).unwrap().set_len(17 * 1024 * 1024).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["who-can", "storage:logs:read", "--tenant"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("big.policy`: it holds 17825792 bytes"), "{}", text(&output.stderr));
}

#[test]
fn token_scan_streams_big_files_and_never_waits_on_a_fifo() {
    let dir = TempDir::new();
    let token = TokenSecret::generate("dt0s16").unwrap();
    // 20 MiB on one line, the token in the middle: scanned in windows, found once.
    let mut line = vec![b'x'; 10 * 1024 * 1024];
    line.push(b' ');
    line.extend_from_slice(token.expose().as_bytes());
    line.push(b' ');
    line.extend(std::iter::repeat_n(b'y', 10 * 1024 * 1024));
    line.extend_from_slice(b"\nsecond line ");
    line.extend_from_slice(token.expose().as_bytes());
    line.push(b'\n');
    std::fs::write(dir.join("dump.log"), &line).unwrap();
    mkfifo(&dir.join("pipe"));
    let output = warden(&["token", "scan"], &dir);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let id = token.id().0;
    let expected = format!("{0}:1: platform token {id}\n{0}:2: platform token {id}\n", dir.join("dump.log").display());
    assert_eq!(text(&output.stdout), expected);
    // Named on the command line, a FIFO is refused rather than waited on.
    let output = warden(&["token", "scan"], &dir.join("pipe"));
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("it is not a regular file"));
}

/// The command that runs warden as an unprivileged user: as root, every file is readable.
fn unprivileged() -> Option<Command> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(Command::new(env!("CARGO_BIN_EXE_warden")));
    }
    let exists = |tool: &str| Command::new(tool).arg("--help").output().is_ok_and(|o| o.status.success());
    if exists("setpriv") {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_warden")]);
        return Some(command);
    }
    if exists("runuser") {
        let mut command = Command::new("runuser");
        command.args(["-u", "nobody", "--", env!("CARGO_BIN_EXE_warden")]);
        return Some(command);
    }
    None
}

#[test]
fn token_scan_fails_closed_on_a_file_it_cannot_read() {
    use std::os::unix::fs::PermissionsExt;
    let Some(mut command) = unprivileged() else {
        eprintln!("skipped: running as root and neither setpriv nor runuser exists to drop privileges");
        return;
    };
    let dir = TempDir::new();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let token = TokenSecret::generate("dt0s16").unwrap();
    std::fs::write(dir.join("a-secret.env"), format!("TOKEN={}\n", token.expose())).unwrap();
    std::fs::set_permissions(dir.join("a-secret.env"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::write(dir.join("b-visible.sh"), format!("export T={}\n", token.expose())).unwrap();
    std::fs::set_permissions(dir.join("b-visible.sh"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = command.args(["token", "scan"]).arg(&dir).output().unwrap();
    let stderr = text(&output.stderr);
    // Exit 2 although a token was found: the unread file might hold one too.
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("a-secret.env`: Permission denied"), "{stderr}");
    assert!(text(&output.stdout).contains("b-visible.sh:1: platform token"), "the rest is still scanned");
}
