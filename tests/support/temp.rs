//! Fresh directories under the system's temp dir: one per call, named after the test process,
//! so that runs side by side never share one.

#![allow(dead_code)] // each test binary uses its own part of the support code

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A new, empty directory `warden-KIND-PID-N`; the caller removes it.
pub fn dir(kind: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "warden-{kind}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
