//! Inline suppression: `// warden:ignore CODE[, CODE…]` silences those codes on the next line.

use std::collections::HashSet;

use super::rules;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::syntax::Comment;

const MARKER: &str = "warden:ignore";

/// Drops the diagnostics that a suppression comment on the line before silences, and reports
/// suppressions naming codes warden does not have. Syntax errors cannot be silenced.
pub(super) fn apply(file: &SourceFile, comments: &[Comment], known: &HashSet<&str>, diagnostics: &mut Vec<Diagnostic>) {
    let mut silenced: Vec<(usize, &str)> = Vec::new();
    let mut unknown = Vec::new();
    for comment in comments {
        let Some(list) = comment.text.trim_start().strip_prefix(MARKER) else { continue };
        let (line, _) = file.line_column(comment.span.start);
        for code in list.split([',', ' ']).map(str::trim).filter(|c| !c.is_empty()) {
            if known.contains(code) {
                silenced.push((line + 1, code));
            } else {
                unknown.push(
                    Diagnostic::new(
                        &rules::UNKNOWN_SUPPRESSION,
                        comment.span.clone(),
                        format!("`{code}` is not a warden code"),
                    )
                    .with_help("codes look like `W0303`; `warden lint --format json` shows the code of every finding"),
                );
            }
        }
    }
    if !silenced.is_empty() {
        diagnostics.retain(|d| {
            let syntax = d.code().starts_with("E00") || d.code().starts_with("W00");
            let (line, _) = file.line_column(d.span.start);
            syntax || !silenced.iter().any(|&(l, code)| l == line && code == d.code())
        });
    }
    diagnostics.extend(unknown);
}
