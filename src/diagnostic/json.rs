//! The stable JSON shape of diagnostics (documented in the README):
//! `[{code, severity, message, file, start, end, line, column, end_line, end_column, labels, help, fix,
//! resource, notes}]`.

use serde::Serialize;

use super::{Diagnostic, FileReport, Severity};

/// One finding as the JSON output shows it; lines and columns are 1-based, columns count
/// characters (decisions D7).
#[non_exhaustive]
#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    /// The rule's stable code.
    pub code: &'static str,
    /// The rule's severity.
    pub severity: Severity,
    /// What is wrong.
    pub message: &'a str,
    /// The file's name.
    pub file: &'a str,
    /// The byte offset where it starts.
    pub start: usize,
    /// The byte offset where it ends.
    pub end: usize,
    /// The line of the start offset.
    pub line: usize,
    /// The column of the start offset.
    pub column: usize,
    /// The line of the end offset.
    pub end_line: usize,
    /// The column of the end offset.
    pub end_column: usize,
    /// Other places that explain it.
    pub labels: Vec<JsonLabel<'a>>,
    /// What to do about it.
    pub help: Option<&'a str>,
    /// The edit that mends it.
    pub fix: Option<JsonFix<'a>>,
    /// The resource inside a host file (`dynatrace_iam_policy.admin`); `null` in policy files.
    pub resource: Option<&'a str>,
    /// Context with no place of its own (which resource reads a policy file).
    pub notes: Vec<&'a str>,
}

/// A secondary location of a finding.
#[non_exhaustive]
#[derive(Serialize)]
pub struct JsonLabel<'a> {
    /// What is there.
    pub message: &'a str,
    /// The byte offset where it starts.
    pub start: usize,
    /// The byte offset where it ends.
    pub end: usize,
    /// The line of the start offset.
    pub line: usize,
    /// The column of the start offset.
    pub column: usize,
}

/// A finding's fix.
#[non_exhaustive]
#[derive(Serialize)]
pub struct JsonFix<'a> {
    /// What the fix does.
    pub description: &'a str,
    /// The edits, applied together.
    pub edits: Vec<JsonEdit<'a>>,
}

/// One replacement of a fix, in byte offsets of the file.
#[non_exhaustive]
#[derive(Serialize)]
pub struct JsonEdit<'a> {
    /// The byte offset where it starts.
    pub start: usize,
    /// The byte offset where it ends.
    pub end: usize,
    /// The new text.
    pub replacement: &'a str,
}

/// The JSON objects of one file's diagnostics.
pub fn diagnostics<'a>(report: &FileReport<'a>) -> Vec<JsonDiagnostic<'a>> {
    report.diagnostics.iter().map(|d| one(report, d)).collect()
}

fn one<'a>(report: &FileReport<'a>, d: &'a Diagnostic) -> JsonDiagnostic<'a> {
    let file = report.file;
    let (line, column) = file.line_column(d.span.start);
    let (end_line, end_column) = file.line_column(d.span.end);
    JsonDiagnostic {
        code: d.code(),
        severity: d.severity(),
        message: &d.message,
        file: &file.name,
        start: d.span.start,
        end: d.span.end,
        line,
        column,
        end_line,
        end_column,
        labels: d
            .labels
            .iter()
            .map(|label| {
                let (line, column) = file.line_column(label.span.start);
                JsonLabel { message: &label.message, start: label.span.start, end: label.span.end, line, column }
            })
            .collect(),
        help: d.help.as_deref(),
        fix: d.fix.as_ref().map(|fix| JsonFix {
            description: &fix.description,
            edits: fix
                .edits
                .iter()
                .map(|e| JsonEdit { start: e.span.start, end: e.span.end, replacement: &e.replacement })
                .collect(),
        }),
        resource: d.resource.as_deref(),
        notes: d.notes.iter().map(|note| note.as_ref()).collect(),
    }
}

/// Writes every file's diagnostics as one pretty-printed JSON array, one finding at a time: no
/// copy of the whole output is built.
pub fn write(reports: &[FileReport<'_>], out: impl std::io::Write) -> std::io::Result<()> {
    struct All<'r, 'a>(&'r [FileReport<'a>]);
    impl Serialize for All<'_, '_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.iter().flat_map(|report| report.diagnostics.iter().map(|d| one(report, d))))
        }
    }
    serde_json::to_writer_pretty(out, &All(reports)).map_err(std::io::Error::from)
}
