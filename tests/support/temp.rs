//! Temporary directories on the `tempfile` crate: a new one under the system's temp dir per
//! call, with a random name, so tests and runs side by side never share one.

#![allow(dead_code)] // each test binary uses its own part of the support code

use std::ffi::OsStr;
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A new, empty directory, removed with all it holds when the value is dropped: when the test
/// ends, pass or fail (a failed assertion unwinds through the drop). It reads as the `Path` it
/// is, so `dir.join("x")` and `&dir` as a `&Path` work as they would on a `PathBuf`.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new() -> TempDir {
        TempDir(tempfile::Builder::new().prefix("warden-test-").tempdir().expect("a temp dir can be made"))
    }

    /// A new directory holding `files` (a path inside it, a text), their folders made.
    pub fn with_files(files: &[(&str, &str)]) -> TempDir {
        let dir = TempDir::new();
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<OsStr> for TempDir {
    fn as_ref(&self) -> &OsStr {
        self.path().as_os_str()
    }
}

/// A new, empty directory `warden-KIND-…` that no value owns: for an owner that removes it
/// itself at a time of its own choosing (a database server's directory, removed by the process
/// that watches over the tests).
pub fn dir(kind: &str) -> PathBuf {
    tempfile::Builder::new().prefix(&format!("warden-{kind}-")).tempdir().expect("a temp dir can be made").keep()
}
