//! Fuzzes tenant loading: an arbitrary `warden.toml` over the fixed policies and boundaries of
//! `policies/example`. Loading must not panic; every finding lies inside its file and renders
//! (human and JSON); a tenant that loads compiles, and a principal in no bound group holds
//! nothing, in any environment.
//!
//! ```text
//! cargo +nightly fuzz run tenant fuzz/corpus/tenant policies/example tests/tenants -- -max_total_time=60
//! ```

#![no_main]

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use warden::catalog::Catalog;
use warden::diagnostic::{FileReport, SourceFile, human, json};
use warden::eval::Engine;
use warden::iam::{TenantFiles, load};
use warden_fuzz::assert_spans_inside;

/// Only so many principals and environments are asked about, to keep every input fast.
const PRINCIPALS: usize = 6;
const ENVIRONMENTS: usize = 2;

/// The example tenant's files, read once.
fn example() -> &'static TenantFiles {
    static FILES: OnceLock<TenantFiles> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/example");
        TenantFiles::read(dir.as_ref()).expect("policies/example is readable")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(config) = std::str::from_utf8(data) else { return };
    let mut files = example().clone();
    files.config = SourceFile::new("warden.toml", config);
    let catalog = Catalog::builtin();
    let loaded = load(&files, catalog);
    let mut reports = Vec::new();
    for findings in &loaded.findings {
        assert_spans_inside(&findings.file, &findings.diagnostics);
        let report = FileReport { file: &findings.file, diagnostics: &findings.diagnostics };
        human::render(&report, false);
        reports.push(report);
    }
    // Written by hand (diagnostic::json), so it must still be JSON whatever the input holds.
    let mut written = Vec::new();
    json::write(&reports, &mut written).expect("writing to memory does not fail");
    serde_json::from_slice::<serde_json::Value>(&written).expect("the findings' JSON parses");
    let Some(tenant) = loaded.tenant else { return };

    let bound: Vec<usize> = tenant.bindings.iter().flat_map(|b| b.groups.iter().copied()).collect();
    let unbound: Vec<bool> =
        tenant.principals().map(|p| !tenant.groups_of(p).iter().any(|g| bound.contains(g))).collect();
    let principals: Vec<_> = tenant.principals().take(PRINCIPALS).collect();
    let environments: Vec<Option<String>> = std::iter::once(None)
        .chain(tenant.environments.iter().take(ENVIRONMENTS).map(|e| Some(e.id.clone())))
        .collect();
    let engine = Engine::new(tenant, catalog);
    let time = DateTime::parse_from_rfc3339("2026-03-02T10:30:00Z").unwrap().with_timezone(&Utc);
    for (i, &principal) in principals.iter().enumerate() {
        for environment in &environments {
            let grants = engine.effective(principal, environment.as_deref(), time).expect("known environments");
            assert!(
                !unbound[i] || grants.is_empty(),
                "principal {principal:?} is in no bound group, yet holds {grants:?}"
            );
        }
    }
});
