//! Every block of the platform documentation's examples (tests/data, copied from the shared
//! examples) either lints with no error or gets a precise diagnostic: one snapshot per block.

use warden::catalog::Catalog;
use warden::check;
use warden::diagnostic::{FileReport, SourceFile, human};
use warden::syntax::Kind;

struct Block {
    source: String,
    notes: Vec<String>,
    text: String,
}

fn blocks() -> Vec<Block> {
    let all = include_str!("data/dynatrace-docs-examples.txt");
    let mut blocks: Vec<Block> = Vec::new();
    for line in all.lines() {
        if let Some(source) = line.strip_prefix("# source: ") {
            blocks.push(Block { source: source.to_string(), notes: Vec::new(), text: String::new() });
        } else if let Some(block) = blocks.last_mut() {
            if let Some(note) = line.strip_prefix("# note: ") {
                block.notes.push(note.to_string());
            } else if !line.starts_with('#') {
                block.text.push_str(line);
                block.text.push('\n');
            }
        }
    }
    for block in &mut blocks {
        let trimmed = block.text.trim_end().to_string();
        block.text = trimmed + "\n";
    }
    blocks
}

fn kind(block: &Block) -> Kind {
    if block.notes.iter().any(|note| note.contains("BOUNDARY")) { Kind::Boundary } else { Kind::Policy }
}

#[test]
fn every_docs_block_lints_cleanly_or_precisely() {
    let blocks = blocks();
    assert!(blocks.len() >= 60, "found only {} blocks", blocks.len());
    for (i, block) in blocks.iter().enumerate() {
        let file = SourceFile::new(
            format!("docs-{:02}.{}", i + 1, if kind(block) == Kind::Boundary { "boundary" } else { "policy" }),
            block.text.clone(),
        );
        let linted = check::lint(&file, kind(block), Catalog::builtin());
        for d in &linted.diagnostics {
            assert!(
                d.span.end <= block.text.len() && d.span.start <= d.span.end,
                "block {}: span out of the text",
                i + 1
            );
            assert!(d.help.is_some(), "block {}: `{}` has no help", i + 1, d.message);
        }
        let rendered = human::render(&FileReport { file: &file, diagnostics: &linted.diagnostics }, false);
        let notes: String = block.notes.iter().map(|n| format!("note: {n}\n")).collect();
        let snapshot = format!(
            "source: {}\n{notes}kind: {:?}\n---- text\n{}---- {} finding(s)\n{rendered}",
            block.source,
            kind(block),
            block.text,
            linted.diagnostics.len()
        );
        insta::assert_snapshot!(format!("docs_block_{:02}", i + 1), snapshot);
    }
}

/// The published statements that are plain valid policies must stay free of errors; this
/// guards the snapshots against a regression being accepted by mistake.
#[test]
fn valid_docs_statements_have_no_errors() {
    let clean = [
        "DENY storage:logs:read;",
        "ALLOW settings:schemas:read WHERE settings:schemaId IN (\"builtin:container.monitoring-rule\", \"builtin:container.built-in-monitoring-rule\");",
        "ALLOW storage:buckets:read WHERE storage:bucket-name MATCH (\"default_*\", \"common_logs\");",
        "ALLOW app-engine:apps:run WHERE shared:app-id = \"dynatrace.automations\" and global:time-of-day > \"09:00+01:00\" AND global:time-of-day < \"17:00+01:00\";",
        "ALLOW iam:service-users:use\nWHERE iam:service-user-email IN (\"abc@service.sso.dynatrace.com\", \"def@service.sso.dynatrace.com\");",
        "ALLOW\nstorage:entities:read\nWHERE\nstorage:dt.security_context = \"mySecurityContext\";",
    ];
    for text in clean {
        let linted = check::lint(&SourceFile::new("clean.policy", text), Kind::Policy, Catalog::builtin());
        let errors: Vec<_> = linted.diagnostics.iter().filter(|d| d.is_error()).map(|d| &d.message).collect();
        assert!(errors.is_empty(), "{text}\n{errors:?}");
    }
}
