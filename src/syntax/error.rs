//! The syntax rules: every finding the lexer and parser report, with the builders that word
//! their messages (lower case, one sentence, user text in backticks, a help that says what to do).

use super::ast::Span;
use crate::diagnostic::{Diagnostic, Fix, Rule, Severity};

/// The rules of the syntax, `E0001` to `E0017` and `W0001`.
pub mod rules {
    use super::{Rule, Severity::*};
    use crate::diagnostic::rule;

    rule!(
        UNEXPECTED_CHARACTER,
        "E0001",
        "unexpected-character",
        Error,
        "A character that no token of the language starts with."
    );
    rule!(
        UNTERMINATED_STRING,
        "E0002",
        "unterminated-string",
        Error,
        "A string whose closing quote is missing on its line."
    );
    rule!(INVALID_ESCAPE, "E0003", "invalid-escape", Error, "A backslash sequence other than \\\\, \\\", \\' or \\*.");
    rule!(
        TYPOGRAPHIC_QUOTE,
        "E0004",
        "typographic-quote",
        Error,
        "Curly quotes copied from a web page instead of straight ones."
    );
    rule!(
        NON_ASCII_SPACE,
        "E0005",
        "non-ascii-space",
        Error,
        "A no-break or other non-ASCII space where a plain space belongs."
    );
    rule!(
        FOREIGN_COMMENT,
        "E0006",
        "foreign-comment",
        Error,
        "A `/* */`, `--` or `#` comment; the language only has `//` comments."
    );
    rule!(
        INVALID_PLACEHOLDER,
        "E0007",
        "invalid-placeholder",
        Error,
        "A `${...}` that is not a bind parameter or a global placeholder."
    );
    rule!(UNEXPECTED_TOKEN, "E0008", "syntax-error", Error, "A token where the grammar expects something else.");
    rule!(
        MISSING_SEMICOLON,
        "E0009",
        "missing-semicolon",
        Error,
        "Two statements or boundary conditions without a `;` between them."
    );
    rule!(GLUED_KEYWORD, "E0010", "missing-space", Error, "A keyword run together with the name after it.");
    rule!(
        WILDCARD,
        "E0011",
        "wildcard-permission",
        Error,
        "A `*` in a permission or key; the language has no wildcards."
    );
    rule!(MALFORMED_NAME, "E0012", "malformed-name", Error, "A permission without three parts, or a key without two.");
    rule!(EMPTY_LIST, "E0013", "empty-list", Error, "A value list `()` with no element.");
    rule!(
        TEMPLATE_SLOT,
        "E0014",
        "template-slot",
        Error,
        "A slot such as `<permissions>` copied from a documentation template."
    );
    rule!(QUOTED_STATEMENT, "E0015", "quoted-statement", Error, "A whole statement written inside quotes.");
    rule!(
        TOO_MANY_STATEMENTS,
        "E0016",
        "too-many-statements",
        Error,
        "A policy with more than 100 statements, the platform's limit."
    );
    rule!(
        TOO_MANY_CONDITIONS,
        "E0017",
        "too-many-conditions",
        Error,
        "A boundary with more than 10 conditions, the platform's limit."
    );
    rule!(
        MISSING_FINAL_SEMICOLON,
        "W0001",
        "missing-final-semicolon",
        Warning,
        "The last statement or boundary condition has no `;`."
    );

    /// Every syntax rule, in code order.
    pub static ALL: [&Rule; 18] = [
        &UNEXPECTED_CHARACTER,
        &UNTERMINATED_STRING,
        &INVALID_ESCAPE,
        &TYPOGRAPHIC_QUOTE,
        &NON_ASCII_SPACE,
        &FOREIGN_COMMENT,
        &INVALID_PLACEHOLDER,
        &UNEXPECTED_TOKEN,
        &MISSING_SEMICOLON,
        &GLUED_KEYWORD,
        &WILDCARD,
        &MALFORMED_NAME,
        &EMPTY_LIST,
        &TEMPLATE_SLOT,
        &QUOTED_STATEMENT,
        &TOO_MANY_STATEMENTS,
        &TOO_MANY_CONDITIONS,
        &MISSING_FINAL_SEMICOLON,
    ];
}

pub(super) fn foreign_space(span: Span, c: char) -> Diagnostic {
    Diagnostic::new(&rules::NON_ASCII_SPACE, span.clone(), format!("non-ASCII space U+{:04X} between tokens", c as u32))
        .with_help("web pages put no-break and thin spaces into copied text; use a plain space")
        .with_fix(Fix::replace("replace it with a plain space", span, " "))
}

pub(super) fn unterminated_string(span: Span, open: char) -> Diagnostic {
    Diagnostic::new(
        &rules::UNTERMINATED_STRING,
        span.clone(),
        "unterminated string: the closing quote is missing on this line",
    )
    .with_label(span.start..span.start + open.len_utf8(), "the string opens here")
    .with_help(format!("close the string with `{}` before the end of the line", if open == '\'' { '\'' } else { '"' }))
}

pub(super) fn typographic_quotes(start: usize, quotes: &[(usize, char)], body: &str) -> Diagnostic {
    let (first_offset, first) = quotes[0];
    let span = start + first_offset..start + first_offset + first.len_utf8();
    let mut diagnostic = Diagnostic::new(
        &rules::TYPOGRAPHIC_QUOTE,
        span,
        format!("typographic quote `{first}` around the value `{body}`"),
    )
    .with_help("curly quotes come from word processors and web pages; policies use straight quotes `\"` or `'`")
    .with_fix(super::lexer::requote_fix(start, quotes, body));
    for &(offset, c) in &quotes[1..] {
        diagnostic = diagnostic.with_label(start + offset..start + offset + c.len_utf8(), format!("and `{c}` here"));
    }
    diagnostic
}

pub(super) fn foreign_comment(span: Span, marker: &str, replacement: String) -> Diagnostic {
    let fix_span = span.clone();
    Diagnostic::new(&rules::FOREIGN_COMMENT, span, format!("`{marker}` comments are not part of the policy language"))
        .with_help("write comments with `//`; they run to the end of the line")
        .with_fix(Fix::replace("turn it into a `//` comment", fix_span, replacement))
}

pub(super) fn unexpected_characters(span: Span, text: &str) -> Diagnostic {
    let help = match text.chars().next() {
        Some('$') => "placeholders stand inside quotes: `\"${bindParam:name}\"`",
        Some('`') => "backticks are markup from documentation; remove them",
        Some('…') => "`…` stands for text the documentation left out; write the conditions in full",
        _ => "remove it; values go inside quotes",
    };
    let diagnostic =
        Diagnostic::new(&rules::UNEXPECTED_CHARACTER, span.clone(), format!("unexpected {}", quoted(text)))
            .with_help(help);
    if text.chars().all(|c| c == '`') {
        diagnostic.with_fix(Fix::replace("remove the backticks", span, ""))
    } else {
        diagnostic
    }
}

/// User text in backticks, readable even when it holds backticks itself: backticks alone are
/// named ("a backtick", "3 backticks"); other text goes in a longer run of backticks, as Markdown
/// does (`` `a`b` ``).
fn quoted(text: &str) -> String {
    let ticks = text.chars().filter(|&c| c == '`').count();
    if ticks == 0 {
        return format!("`{text}`");
    }
    if ticks == text.chars().count() {
        return if ticks == 1 { "backtick".to_string() } else { format!("{ticks} backticks") };
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    format!("{fence} {text} {fence}")
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn text_with_backticks_is_quoted_readably() {
        assert_eq!(quoted("€"), "`€`");
        assert_eq!(quoted("`"), "backtick");
        assert_eq!(quoted("```"), "3 backticks");
        assert_eq!(quoted("`…"), "`` `… ``");
        assert_eq!(quoted("``…"), "``` ``… ```");
    }
}
