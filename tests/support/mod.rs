//! What the test binaries share: temporary directories removed when the test ends, copies of
//! fixture trees, tenants built from texts, and the built binary run as users run it.

#![allow(dead_code)] // each test binary uses its own part of the support code

pub mod serve;
pub mod temp;

use std::path::Path;

use warden::diagnostic::SourceFile;
use warden::iam::TenantFiles;

#[allow(unused_imports)] // not every binary makes directories
pub use temp::TempDir;

/// The example tenant of the README, `policies/example`.
pub fn example_tenant() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/example"))
}

/// Copies the tree below `from` to `to`, folders made as needed.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A tenant in memory: `warden.toml` holding `config`, and policies and boundaries given as
/// (name, text), read as `policies/NAME.policy` and `boundaries/NAME.boundary`.
pub fn tenant_files(config: &str, policies: &[(&str, &str)], boundaries: &[(&str, &str)]) -> TenantFiles {
    let file =
        |folder: &str, ext: &str, (name, text): &(&str, &str)| SourceFile::new(format!("{folder}/{name}.{ext}"), *text);
    TenantFiles {
        config: SourceFile::new("warden.toml", config),
        policies: policies.iter().map(|p| file("policies", "policy", p)).collect(),
        boundaries: boundaries.iter().map(|b| file("boundaries", "boundary", b)).collect(),
    }
}

#[cfg(feature = "cli")]
#[allow(unused_imports)] // not every binary runs the binary
pub use run::*;

/// The built binary (it exists where the `cli` feature is on).
#[cfg(feature = "cli")]
mod run {
    use std::io::Write;
    use std::path::Path;
    use std::process::{Command, Output, Stdio};

    /// `warden ARGS` without colours, in this process's working directory (the crate's root).
    pub fn warden(args: &[&str]) -> Output {
        warden_in(Path::new("."), args)
    }

    /// `warden ARGS`, run in `dir` without colours.
    pub fn warden_in(dir: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .output()
            .expect("the binary runs")
    }

    /// `warden ARGS` without colours, `stdin` written to its standard input.
    pub fn warden_with_input(args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        // A command that fails before reading standard input closes it: ignore the broken pipe.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    /// Standard output, which must be UTF-8.
    pub fn stdout(output: &Output) -> String {
        String::from_utf8(output.stdout.clone()).unwrap()
    }

    /// Standard error, which must be UTF-8.
    pub fn stderr(output: &Output) -> String {
        String::from_utf8(output.stderr.clone()).unwrap()
    }
}
