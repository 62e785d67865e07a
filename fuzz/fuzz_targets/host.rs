//! Fuzzes the readers of the host formats: arbitrary UTF-8 read as each of them (Terraform HCL,
//! Terraform JSON, IAM API JSON, and the YAML hosts: monaco, Crossplane, dtiam, and YAML told
//! apart by content). Reading and linting the texts found must not panic; every finding, the
//! host file's own and each finding on a found text moved back to its host (with its labels
//! and its fix), must lie inside the file it names, on character boundaries.
//!
//! ```text
//! cargo +nightly fuzz run host fuzz/corpus/host tests/hosts -- -max_total_time=60
//! ```

#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::catalog::Catalog;
use warden::check::lint;
use warden::diagnostic::SourceFile;
use warden::host::{self, Format, Sources, TextKind};
use warden::syntax::Kind;
use warden_fuzz::assert_spans_inside;

const HOSTS: [Format; 7] = [
    Format::Terraform,
    Format::TerraformJson,
    Format::Json,
    Format::Yaml,
    Format::Monaco,
    Format::Crossplane,
    Format::Dtiam,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for format in HOSTS {
        // A file without a path: a Terraform reader evaluates it alone, as a module of one file.
        let mut sources = Sources::new();
        let file = sources.add(None, "fuzz", text);
        let extract = host::read(&mut sources, file, format);
        let mut findings = extract.findings;
        for found in &extract.found {
            let kind = match found.kind {
                TextKind::Policy => Kind::Policy,
                TextKind::Boundary => Kind::Boundary,
            };
            let linted = lint(&SourceFile::new("found", found.text.text()), kind, Catalog::builtin());
            findings.extend(linted.diagnostics.iter().filter_map(|d| found.to_host(d, &sources)));
            findings.extend(found.not_checked("fuzz", &sources));
        }
        for (id, diagnostic) in &findings {
            assert_spans_inside(sources.file(*id), std::slice::from_ref(diagnostic));
        }
    }
});
