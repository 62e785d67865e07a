//! What the benchmarks on the shared workload share.

use std::path::{Path, PathBuf};

use warden::catalog::Catalog;
use warden::eval::Engine;
use warden::iam::{TenantFiles, load};

/// `$BENCH_WORKLOAD`, or `../shared/bench/workload` beside the crate.
pub fn workload_dir() -> PathBuf {
    std::env::var_os("BENCH_WORKLOAD")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/workload"))
}

/// Loads, checks and compiles a workload tenant (they have no errors).
pub fn compile(files: &TenantFiles) -> Engine {
    let loaded = load(files, Catalog::builtin());
    Engine::new(loaded.tenant.expect("the workload tenants load"), Catalog::builtin())
}
