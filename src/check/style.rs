//! Style lints: keywords as the formatter prints them, and comments that swallowed a statement.

use super::rules;
use crate::diagnostic::{Diagnostic, Fix};
use crate::syntax::{Comment, KeywordUse};

pub(super) fn keyword_case(text: &str, keywords: &[KeywordUse], out: &mut Vec<Diagnostic>) {
    for keyword in keywords {
        let written = &text[keyword.span.clone()];
        if written != keyword.canonical {
            out.push(
                Diagnostic::new(
                    &rules::KEYWORD_CASE,
                    keyword.span.clone(),
                    format!("write `{written}` as `{}`", keyword.canonical),
                )
                .with_help("keywords match in any case, but one spelling reads best; `warden fmt` writes it")
                .with_fix(Fix::replace(
                    format!("write `{}`", keyword.canonical),
                    keyword.span.clone(),
                    keyword.canonical,
                )),
            );
        }
    }
}

/// `//GrailALLOW storage:…;` or `// Vulnerability service ALLOW x:y:z;`: text and then a
/// statement in one comment, the mark of a line break lost in copying. A comment that starts
/// with the statement is taken as commented out on purpose.
pub(super) fn statements_in_comments(comments: &[Comment], out: &mut Vec<Diagnostic>) {
    for comment in comments {
        let body = comment.text.as_str();
        let Some(at) = statement_start(body) else { continue };
        if body[..at].trim().is_empty() {
            continue;
        }
        let start = comment.text_start + at;
        out.push(
            Diagnostic::new(
                &rules::STATEMENT_IN_COMMENT,
                start..comment.span.end,
                "this comment holds a statement that is not in effect",
            )
            .with_label(comment.span.start..start, "the comment starts here")
            .with_help("a line break was probably lost in copying; put the statement on a line of its own")
            .with_fix(Fix::insert("break the line before the statement", start, "\n")),
        );
    }
}

/// The offset of `ALLOW`/`DENY` followed by something shaped like a permission.
fn statement_start(body: &str) -> Option<usize> {
    // Most comments hold neither keyword: one pass over the bytes passes them over.
    if !body.bytes().any(|byte| matches!(byte, b'A' | b'D')) {
        return None;
    }
    ["ALLOW", "DENY"]
        .iter()
        .filter_map(|keyword| {
            body.match_indices(keyword).filter(|(at, _)| outside_quotes(body, *at)).find_map(|(at, _)| {
                let rest = body[at + keyword.len()..].trim_start();
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-'))
                    .collect();
                (name.split(':').count() == 3 && name.split(':').all(|part| !part.is_empty())).then_some(at)
            })
        })
        .min()
}

/// A statement quoted in prose (`like "ALLOW x:y:z"`) is not a lost one.
fn outside_quotes(body: &str, at: usize) -> bool {
    body[..at].matches(['"', '`']).count() % 2 == 0
}
