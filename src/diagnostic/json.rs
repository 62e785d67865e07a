//! The stable JSON shape of diagnostics (documented in the README):
//! `[{code, severity, message, file, start, end, line, column, end_line, end_column, labels, help, fix,
//! resource, notes}]`.

use serde::Serialize;

use super::{Diagnostic, FileReport, Severity};

#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'static str,
    pub severity: Severity,
    pub message: &'a str,
    pub file: &'a str,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub labels: Vec<JsonLabel<'a>>,
    pub help: Option<&'a str>,
    pub fix: Option<JsonFix<'a>>,
    /// The resource inside a host file (`dynatrace_iam_policy.admin`); `null` in policy files.
    pub resource: Option<&'a str>,
    pub notes: Vec<&'a str>,
}

#[derive(Serialize)]
pub struct JsonLabel<'a> {
    pub message: &'a str,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
}

#[derive(Serialize)]
pub struct JsonFix<'a> {
    pub description: &'a str,
    pub edits: Vec<JsonEdit<'a>>,
}

#[derive(Serialize)]
pub struct JsonEdit<'a> {
    pub start: usize,
    pub end: usize,
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

/// Every file's diagnostics as one pretty-printed JSON array.
pub fn render(reports: &[FileReport<'_>]) -> String {
    let all: Vec<JsonDiagnostic<'_>> = reports.iter().flat_map(diagnostics).collect();
    serde_json::to_string_pretty(&all).expect("diagnostics always serialize")
}
