//! `warden lint` on host files written to hurt it: small files that expand without end, paths
//! that reach out of the module, bytes that are no text. Each must end with a finding or a clear
//! error, soon, and never read what it was not asked to read.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{scratch, stderr, stdout};

/// `warden ARGS` in `dir`, killed if it runs longer than a linter ever should.
fn lint_within(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`warden {}` still ran after {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_yaml_alias_bomb_is_refused_at_once() {
    // 30 lines whose aliases double at each line: 2^30 copies of one policy.
    let dir = scratch("alias-bomb");
    let mut yaml = String::from("a0: &a0 [\"ALLOW storage:logs:read;\", \"ALLOW storage:logs:read;\"]\n");
    for level in 1..30 {
        yaml.push_str(&format!("a{level}: &a{level} [*a{}, *a{}]\n", level - 1, level - 1));
    }
    yaml.push_str("policies:\n  - id: p\n    name: p\n    policy: *a29\n");
    std::fs::write(dir.join("accounts.yaml"), yaml).unwrap();
    let output = lint_within(&dir, &["lint", "accounts.yaml"], Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("E0701"), "{text}");
    assert!(text.contains("its aliases expand to more than 16 MiB"), "{text}");

    // Aliases that repeat a little, as monaco projects reuse a list of groups, still read.
    let reuse = "groups: &g [\"a\", \"b\"]\nusers:\n  - email: a@x.example\n    groups: *g\n  - email: b@x.example\n    groups: *g\npolicies:\n  - id: p\n    name: p\n    policy: \"ALLOW storage:logs:read;\"\n";
    std::fs::write(dir.join("accounts.yaml"), reuse).unwrap();
    let output = lint_within(&dir, &["lint", "accounts.yaml"], Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
}
