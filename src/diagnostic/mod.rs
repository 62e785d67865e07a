//! One diagnostic type for every finding warden reports (syntax errors, catalog checks, lints,
//! tenant problems), and its three renderers: [`human`] (ariadne), [`json`] and [`sarif`].

pub mod human;
pub mod json;
pub mod sarif;
mod source;

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::Serialize;

pub use source::SourceFile;

/// How bad a finding is, in the order AWS IAM Access Analyzer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Suggestion,
    Warning,
    SecurityWarning,
    Error,
}

impl Severity {
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
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

/// Declares a `static` [`Rule`]: `rule!(NAME, "E0001", "kebab-name", Severity, "Summary.");`
macro_rules! rule {
    ($name:ident, $code:literal, $kebab:literal, $severity:expr, $summary:literal) => {
        pub static $name: $crate::diagnostic::Rule =
            $crate::diagnostic::Rule { code: $code, name: $kebab, severity: $severity, summary: $summary };
    };
}
pub(crate) use rule;

/// A secondary location with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Range<usize>,
    pub message: Cow<'static, str>,
}

/// One text replacement of a fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    #[serde(skip)]
    pub span: Range<usize>,
    pub replacement: String,
}

/// A machine-applicable fix: what it does, and the edits that do it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub description: String,
    pub edits: Vec<Edit>,
}

impl Fix {
    pub fn replace(description: impl Into<String>, span: Range<usize>, replacement: impl Into<String>) -> Fix {
        Fix { description: description.into(), edits: vec![Edit { span, replacement: replacement.into() }] }
    }

    pub fn insert(description: impl Into<String>, at: usize, text: impl Into<String>) -> Fix {
        Fix::replace(description, at..at, text)
    }
}

/// A finding at a byte span of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: &'static Rule,
    pub message: Cow<'static, str>,
    pub span: Range<usize>,
    pub labels: Vec<Label>,
    /// Most helps and labels are fixed texts: `Cow` spares a copy of each for every finding.
    pub help: Option<Cow<'static, str>>,
    pub fix: Option<Fix>,
    /// What the finding belongs to inside its file, when the file holds several policies: a
    /// Terraform resource (`dynatrace_iam_policy.admin`), a monaco entry (`policies[id=admin]`).
    pub resource: Option<String>,
    /// Context that has no place of its own in the file, such as the resource that reads it.
    pub notes: Vec<Cow<'static, str>>,
}

impl Diagnostic {
    pub fn new(rule: &'static Rule, span: Range<usize>, message: impl Into<Cow<'static, str>>) -> Diagnostic {
        Diagnostic {
            rule,
            message: message.into(),
            span,
            labels: Vec::new(),
            help: None,
            fix: None,
            resource: None,
            notes: Vec::new(),
        }
    }

    pub fn with_help(mut self, help: impl Into<Cow<'static, str>>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, span: Range<usize>, message: impl Into<Cow<'static, str>>) -> Diagnostic {
        self.labels.push(Label { span, message: message.into() });
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Diagnostic {
        self.fix = Some(fix);
        self
    }

    pub fn with_resource(mut self, resource: impl Into<String>) -> Diagnostic {
        self.resource = Some(resource.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<Cow<'static, str>>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn code(&self) -> &'static str {
        self.rule.code
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// Applies the fixes of `diagnostics` to `text`. Fixes whose edits overlap an earlier fix are
/// left for a later round; returns the new text and how many fixes were applied.
pub fn apply_fixes(text: &str, diagnostics: &[Diagnostic]) -> (String, usize) {
    let mut fixes: Vec<&Fix> = diagnostics.iter().filter_map(|d| d.fix.as_ref()).collect();
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
    pub file: &'a SourceFile,
    pub diagnostics: &'a [Diagnostic],
}
