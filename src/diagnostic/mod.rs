//! One diagnostic type for every finding warden reports (syntax errors, catalog checks, lints,
//! tenant problems), and its three renderers: [`human`] (ariadne), [`json`] and [`sarif`].

pub mod human;
pub mod json;
pub mod sarif;
mod source;
mod suggest;

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::Serialize;
use smallvec::SmallVec;

pub use source::SourceFile;
pub use suggest::{did_you_mean, did_you_mean_clause, nearest, nearest_expected_field, nearest_few};

/// How bad a finding is, in the order AWS IAM Access Analyzer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// A better way to say the same thing.
    Suggestion,
    /// Probably not what was meant.
    Warning,
    /// Grants more than it seems to, or less than it should.
    SecurityWarning,
    /// The text is invalid: warden refuses to load it.
    Error,
}

impl Severity {
    /// The kebab-case name the JSON and SARIF outputs use.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Suggestion => "suggestion",
            Severity::Warning => "warning",
            Severity::SecurityWarning => "security-warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind of finding: its stable code, a short kebab-case name, its severity and one line that
/// says what it is about (SARIF's rule description).
#[non_exhaustive]
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// The stable code: `E0008`, `W0301`, …
    pub code: &'static str,
    /// The stable kebab-case name, which suppression comments may use too.
    pub name: &'static str,
    /// How bad a finding of this rule is.
    pub severity: Severity,
    /// One sentence about what the rule finds.
    pub summary: &'static str,
}

/// Declares a `static` [`Rule`]: `rule!(NAME, "E0001", "kebab-name", Severity, "Summary.");`
macro_rules! rule {
    ($name:ident, $code:literal, $kebab:literal, $severity:expr, $summary:literal) => {
        #[doc = $summary]
        pub static $name: $crate::diagnostic::Rule =
            $crate::diagnostic::Rule { code: $code, name: $kebab, severity: $severity, summary: $summary };
    };
}
pub(crate) use rule;

/// A secondary location with a message.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Byte offsets in the diagnostic's file.
    pub span: Range<usize>,
    /// What is there.
    pub message: Cow<'static, str>,
}

/// One text replacement of a fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    /// The bytes replaced; empty to insert.
    #[serde(skip)]
    pub span: Range<usize>,
    /// The new text.
    pub replacement: String,
}

/// A machine-applicable fix: what it does, and the edits that do it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// What the fix does, in a few words: "quote the value".
    pub description: String,
    /// The edits, applied together or not at all.
    pub edits: Vec<Edit>,
}

impl Fix {
    /// A fix that replaces the bytes of `span` with `replacement`.
    pub fn replace(description: impl Into<String>, span: Range<usize>, replacement: impl Into<String>) -> Fix {
        Fix { description: description.into(), edits: vec![Edit { span, replacement: replacement.into() }] }
    }

    /// A fix that inserts `text` at byte offset `at`.
    pub fn insert(description: impl Into<String>, at: usize, text: impl Into<String>) -> Fix {
        Fix::replace(description, at..at, text)
    }
}

/// A finding at a byte span of one file.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What kind of finding it is.
    pub rule: &'static Rule,
    /// One lower-case sentence with the user's text in backticks.
    pub message: Cow<'static, str>,
    /// Byte offsets in the file: where the caret goes.
    pub span: Range<usize>,
    /// Other places that explain it. Most findings have at most one, held inline.
    pub labels: SmallVec<[Label; 1]>,
    /// What to do about it. Most helps and labels are fixed texts: `Cow` spares a copy of
    /// each for every finding.
    pub help: Option<Cow<'static, str>>,
    /// An edit that mends it, for `warden lint --fix`. Boxed: few findings have one, and every
    /// finding is moved several times (collected, sorted), forty bytes more each.
    pub fix: Option<Box<Fix>>,
    /// What the finding belongs to inside its file, when the file holds several policies: a
    /// Terraform resource (`dynatrace_iam_policy.admin`), a monaco entry (`policies[id=admin]`).
    pub resource: Option<String>,
    /// Context that has no place of its own in the file, such as the resource that reads it.
    pub notes: Vec<Cow<'static, str>>,
}

impl Diagnostic {
    /// A finding of `rule` at `span`.
    pub fn new(rule: &'static Rule, span: Range<usize>, message: impl Into<Cow<'static, str>>) -> Diagnostic {
        Diagnostic {
            rule,
            message: message.into(),
            span,
            labels: SmallVec::new(),
            help: None,
            fix: None,
            resource: None,
            notes: Vec::new(),
        }
    }

    /// Adds what to do about it.
    pub fn with_help(mut self, help: impl Into<Cow<'static, str>>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary location.
    pub fn with_label(mut self, span: Range<usize>, message: impl Into<Cow<'static, str>>) -> Diagnostic {
        // Most findings have one label: room for it alone, not for the four a first push makes
        // (a large policy has tens of thousands of findings).
        self.labels.reserve_exact(1);
        self.labels.push(Label { span, message: message.into() });
        self
    }

    /// Adds the fix that mends it.
    pub fn with_fix(mut self, fix: Fix) -> Diagnostic {
        self.fix = Some(Box::new(fix));
        self
    }

    /// Says what in the file the finding belongs to (a Terraform resource, a monaco entry).
    pub fn with_resource(mut self, resource: impl Into<String>) -> Diagnostic {
        self.resource = Some(resource.into());
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<Cow<'static, str>>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    /// The rule's stable code.
    pub fn code(&self) -> &'static str {
        self.rule.code
    }

    /// The rule's severity.
    pub fn severity(&self) -> Severity {
        self.rule.severity
    }

    /// Whether it makes the text invalid.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// Sorts findings by place (start, then end) and code, keeping the order of findings alike.
/// Sorts their positions and then moves each finding once: a stable sort of the findings
/// themselves would copy them all aside, megabytes for a large policy.
pub fn sort_by_place(diagnostics: &mut [Diagnostic]) {
    let mut order: Vec<(usize, usize, &str, usize)> =
        diagnostics.iter().enumerate().map(|(i, d)| (d.span.start, d.span.end, d.code(), i)).collect();
    // The findings come in a few runs in order already, which a stable sort merges in linear time.
    order.sort();
    // `order[to].3` is the finding that goes to `to`: follow each cycle of that permutation.
    for start in 0..order.len() {
        let mut to = start;
        while order[to].3 != start {
            let from = order[to].3;
            diagnostics.swap(to, from);
            order[to].3 = to;
            to = from;
        }
        order[to].3 = to;
    }
}

/// Applies the fixes of `diagnostics` to `text`. Fixes whose edits overlap an earlier fix are
/// left for a later round; returns the new text and how many fixes were applied.
pub fn apply_fixes(text: &str, diagnostics: &[Diagnostic]) -> (String, usize) {
    let mut fixes: Vec<&Fix> = diagnostics.iter().filter_map(|d| d.fix.as_deref()).collect();
    fixes.sort_by_key(|fix| fix.edits.iter().map(|e| e.span.start).min().unwrap_or(0));
    let mut taken: Vec<&Edit> = Vec::new();
    let mut applied = 0;
    for fix in fixes {
        let overlaps = fix.edits.iter().any(|edit| {
            taken.iter().any(|other| {
                edit.span.start < other.span.end && other.span.start < edit.span.end
                    || edit.span == other.span
                    || (edit.span.is_empty() && edit.span.start == other.span.start)
            })
        });
        if !overlaps {
            taken.extend(fix.edits.iter());
            applied += 1;
        }
    }
    taken.sort_by_key(|edit| (edit.span.start, edit.span.end));
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    for edit in taken {
        out.push_str(&text[at..edit.span.start]);
        out.push_str(&edit.replacement);
        at = edit.span.end;
    }
    out.push_str(&text[at..]);
    (out, applied)
}

/// The findings of one file, ready to render.
pub struct FileReport<'a> {
    /// The file the spans point into.
    pub file: &'a SourceFile,
    /// Its findings, in the order to show them.
    pub diagnostics: &'a [Diagnostic],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::rules;

    /// The same order as a stable sort by place and code, ties and all.
    #[test]
    fn sorting_by_place_is_a_stable_sort() {
        let codes = [&rules::DUPLICATE_VALUE, &rules::CONTRADICTION, &rules::KEYWORD_CASE];
        // A fixed pseudo-random sequence with many ties of place and code.
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) % n) as usize
        };
        for length in [0, 1, 2, 5, 64, 500] {
            let diagnostics: Vec<Diagnostic> = (0..length)
                .map(|i| {
                    let start = next(8);
                    Diagnostic::new(codes[next(3)], start..start + next(3), i.to_string())
                })
                .collect();
            let mut stable = diagnostics.clone();
            stable.sort_by_key(|d| (d.span.start, d.span.end, d.code()));
            let mut sorted = diagnostics;
            sort_by_place(&mut sorted);
            assert_eq!(sorted, stable, "{length} findings");
        }
    }
}
