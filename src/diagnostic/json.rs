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

/// Writes every file's diagnostics as one JSON array, byte for byte as serde_json's pretty
/// printer writes the [`JsonDiagnostic`]s of [`diagnostics`] (two spaces per level), one finding
/// at a time. Written by hand because serde_json spends most of its time on the keys, which are
/// the same for every finding: `warden lint --format json` writes about 15 bytes per byte it
/// reads.
pub fn write(reports: &[FileReport<'_>], mut out: impl std::io::Write) -> std::io::Result<()> {
    let mut all = reports.iter().flat_map(|report| report.diagnostics.iter().map(move |d| one(report, d))).peekable();
    if all.peek().is_none() {
        return out.write_all(b"[]");
    }
    // One finding's text at a time, reused: a few hundred bytes, one write each.
    let mut buffer = String::with_capacity(1024);
    let mut separator = "[\n";
    for diagnostic in all {
        buffer.clear();
        buffer.push_str(separator);
        separator = ",\n";
        Pretty(&mut buffer).diagnostic(&diagnostic);
        out.write_all(buffer.as_bytes())?;
    }
    out.write_all(b"\n]")
}

/// `"name": ` on a line of its own, `depth` levels of two spaces in, after a comma unless it is
/// the first of its object: one literal, as every finding has the same keys.
macro_rules! key {
    (first, $depth:tt, $name:literal) => {
        concat!("\n", indent!($depth), "\"", $name, "\": ")
    };
    ($depth:tt, $name:literal) => {
        concat!(",\n", indent!($depth), "\"", $name, "\": ")
    };
}

macro_rules! indent {
    (2) => {
        "    "
    };
    (3) => {
        "      "
    };
    (4) => {
        "        "
    };
    (5) => {
        "          "
    };
}

/// serde_json's pretty layout of the shape above, into a string.
struct Pretty<'b>(&'b mut String);

impl Pretty<'_> {
    fn diagnostic(&mut self, d: &JsonDiagnostic<'_>) {
        self.0.push_str("  {");
        self.string_at(key!(first, 2, "code"), d.code);
        self.string_at(key!(2, "severity"), d.severity.as_str());
        self.string_at(key!(2, "message"), d.message);
        self.string_at(key!(2, "file"), d.file);
        self.number_at(key!(2, "start"), d.start);
        self.number_at(key!(2, "end"), d.end);
        self.number_at(key!(2, "line"), d.line);
        self.number_at(key!(2, "column"), d.column);
        self.number_at(key!(2, "end_line"), d.end_line);
        self.number_at(key!(2, "end_column"), d.end_column);
        self.0.push_str(key!(2, "labels"));
        self.list(&d.labels, indent!(3), |this, label| {
            this.string_at(concat!("{", key!(first, 4, "message")), label.message);
            this.number_at(key!(4, "start"), label.start);
            this.number_at(key!(4, "end"), label.end);
            this.number_at(key!(4, "line"), label.line);
            this.number_at(key!(4, "column"), label.column);
            this.0.push_str(concat!("\n", indent!(3), "}"));
        });
        self.optional_string_at(key!(2, "help"), d.help);
        self.0.push_str(key!(2, "fix"));
        match &d.fix {
            None => self.0.push_str("null"),
            Some(fix) => {
                self.string_at(concat!("{", key!(first, 3, "description")), fix.description);
                self.0.push_str(key!(3, "edits"));
                self.list(&fix.edits, indent!(4), |this, edit| {
                    this.number_at(concat!("{", key!(first, 5, "start")), edit.start);
                    this.number_at(key!(5, "end"), edit.end);
                    this.string_at(key!(5, "replacement"), edit.replacement);
                    this.0.push_str(concat!("\n", indent!(4), "}"));
                });
                self.0.push_str(concat!("\n", indent!(2), "}"));
            }
        }
        self.optional_string_at(key!(2, "resource"), d.resource);
        self.0.push_str(key!(2, "notes"));
        self.list(&d.notes, indent!(3), |this, note| this.string(note));
        self.0.push_str("\n  }");
    }

    /// `[]`, or each item on a line of its own at `indent`, and `]` one level (two spaces) back.
    fn list<T>(&mut self, items: &[T], indent: &str, mut item: impl FnMut(&mut Self, &T)) {
        if items.is_empty() {
            self.0.push_str("[]");
            return;
        }
        self.0.push('[');
        for (i, one) in items.iter().enumerate() {
            self.0.push_str(if i == 0 { "\n" } else { ",\n" });
            self.0.push_str(indent);
            item(self, one);
        }
        self.0.push('\n');
        self.0.push_str(&indent[2..]);
        self.0.push(']');
    }

    /// `key` (a `key!` literal), then the number.
    fn number_at(&mut self, key: &str, number: usize) {
        self.0.push_str(key);
        self.0.push_str(itoa::Buffer::new().format(number));
    }

    /// `key`, then the string.
    fn string_at(&mut self, key: &str, text: &str) {
        self.0.push_str(key);
        self.string(text);
    }

    /// `key`, then the string or `null`.
    fn optional_string_at(&mut self, key: &str, text: Option<&str>) {
        match text {
            Some(text) => self.string_at(key, text),
            None => {
                self.0.push_str(key);
                self.0.push_str("null");
            }
        }
    }

    /// A JSON string, escaped as serde_json escapes: `"`, `\\`, and the control characters
    /// (`\n`, `\t`, … where JSON has a short form, `\u001f` where not).
    fn string(&mut self, text: &str) {
        self.0.push('"');
        // Most texts need no escape. One pass without an early exit, which the compiler
        // vectorizes, tells them apart.
        let plain = text.bytes().fold(true, |plain, byte| plain & (byte >= 0x20) & (byte != b'"') & (byte != b'\\'));
        if plain {
            self.0.push_str(text);
        } else {
            self.escaped(text);
        }
        self.0.push('"');
    }

    fn escaped(&mut self, text: &str) {
        let mut plain = 0;
        for (at, byte) in text.bytes().enumerate() {
            let short = match byte {
                b'"' => '"',
                b'\\' => '\\',
                b'\n' => 'n',
                b'\t' => 't',
                b'\r' => 'r',
                0x08 => 'b',
                0x0c => 'f',
                0x00..=0x1f => 'u',
                _ => continue,
            };
            self.0.push_str(&text[plain..at]);
            plain = at + 1;
            self.0.push('\\');
            self.0.push(short);
            if short == 'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.0.push_str("00");
                self.0.push(char::from(HEX[usize::from(byte >> 4)]));
                self.0.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
        }
        self.0.push_str(&text[plain..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::rules;
    use crate::diagnostic::{Edit, Fix, SourceFile};

    /// What serde_json's pretty printer writes for the same findings: the layout `write` keeps.
    fn serde_pretty(reports: &[FileReport<'_>]) -> String {
        let all: Vec<JsonDiagnostic<'_>> = reports.iter().flat_map(diagnostics).collect();
        serde_json::to_string_pretty(&all).expect("diagnostics serialize")
    }

    fn written(reports: &[FileReport<'_>]) -> String {
        let mut out = Vec::new();
        write(reports, &mut out).expect("a Vec takes every byte");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn the_hand_written_json_is_serde_jsons_pretty_json_byte_for_byte() {
        let awkward =
            "quote \" backslash \\ line\nfeed\r\ttab \u{8}\u{c} nul \u{0} unit \u{1f} del \u{7f} é “curly” 🦀";
        let file = SourceFile::new("dir/\"odd\".policy", format!("ALLOW a:b:c;\n// {awkward}\n"));
        let other = SourceFile::new("other.policy", "é\n".repeat(3));
        let bare = Diagnostic::new(&rules::UNKNOWN_PERMISSION, 6..11, "unknown permission `a:b:c`");
        let full = Diagnostic::new(&rules::PADDED_VALUE, 3..40, awkward.to_string())
            .with_label(0..5, "first")
            .with_label(13..20, awkward.to_string())
            .with_help(awkward.to_string())
            .with_fix(Fix {
                description: awkward.to_string(),
                edits: vec![
                    Edit { span: 1..2, replacement: String::new() },
                    Edit { span: 9..9, replacement: awkward.to_string() },
                ],
            })
            .with_resource(awkward.to_string())
            .with_note("one")
            .with_note(awkward.to_string());
        let no_edits = Diagnostic::new(&rules::WHERE_NULL, 0..0, "")
            .with_fix(Fix { description: String::new(), edits: Vec::new() })
            .with_note("");
        let first = [bare.clone(), full, no_edits];
        let second = [bare];
        for reports in [
            vec![],
            vec![FileReport { file: &file, diagnostics: &[] }],
            vec![FileReport { file: &file, diagnostics: &first[..1] }],
            vec![FileReport { file: &file, diagnostics: &first }, FileReport { file: &other, diagnostics: &second }],
        ] {
            assert_eq!(written(&reports), serde_pretty(&reports));
        }
    }

    #[test]
    fn every_control_character_is_escaped_as_serde_json_escapes_it() {
        let text: String = (0u8..=0x7f).map(char::from).collect();
        let file = SourceFile::new("f", "");
        let found = [Diagnostic::new(&rules::UNKNOWN_KEY, 0..0, text)];
        let reports = [FileReport { file: &file, diagnostics: &found }];
        assert_eq!(written(&reports), serde_pretty(&reports));
    }
}
