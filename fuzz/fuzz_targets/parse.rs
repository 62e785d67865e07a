//! Fuzzes the whole lint path on arbitrary UTF-8, as a policy and as a boundary: parsing and
//! every check must not panic, every span of a finding (its own, its labels', its fix's edits)
//! must lie inside the text on character boundaries, and the formatter must be idempotent
//! (`format(format(x)) == format(x)`).
//!
//! Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). From the crate root:
//!
//! ```text
//! cargo +nightly fuzz run parse -- -max_total_time=60
//! cargo +nightly fuzz run parse fuzz/corpus/parse tests/corpus policies/builtin   # seeded
//! cargo +nightly fuzz build parse                                                  # build only
//! ```
//!
//! Crashes land in `fuzz/artifacts/parse/`; replay one with
//! `cargo +nightly fuzz run parse fuzz/artifacts/parse/crash-…`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::catalog::Catalog;
use warden::check::lint;
use warden::diagnostic::SourceFile;
use warden::syntax::{Kind, format};
use warden_fuzz::assert_spans_inside;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = SourceFile::new("fuzz.policy", text);
    for kind in [Kind::Policy, Kind::Boundary] {
        let linted = lint(&file, kind, Catalog::builtin());
        assert_spans_inside(&file, &linted.diagnostics);
        if let Some(formatted) = format(text, kind) {
            let again = format(&formatted, kind);
            assert_eq!(
                again.as_deref(),
                Some(formatted.as_str()),
                "{kind:?}: formatting the formatted text changed it (or made it invalid)"
            );
        }
    }
});
