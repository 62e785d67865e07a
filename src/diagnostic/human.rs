//! Diagnostics for a person: ariadne reports with the source line, carets, labels and help.

use std::ops::Range;

use ariadne::{Color, Config, IndexType, Label as AriadneLabel, Report, ReportKind, Source};

use super::{Diagnostic, FileReport, Severity};

/// Renders every diagnostic of `report` into one string; `color` turns ANSI colours on.
pub fn render(report: &FileReport<'_>, color: bool) -> String {
    let mut out = Vec::new();
    let source = Source::from(report.file.text.as_str());
    let name = report.file.name.as_str();
    for diagnostic in report.diagnostics {
        let built = build(diagnostic, name, &report.file.text, color);
        // Writing into a Vec cannot fail.
        let _ = built.write((name, &source), &mut out);
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    if color { text } else { strip_colors(&text) }
}

/// ariadne paints the header of a custom report kind even with colour off; remove those codes.
pub fn strip_colors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        rest = rest.find('m').map_or("", |end| &rest[end + 1..]);
    }
    out.push_str(rest);
    out
}

fn build<'a>(diagnostic: &Diagnostic, name: &'a str, text: &str, color: bool) -> Report<'a, (&'a str, Range<usize>)> {
    let kind = match diagnostic.severity() {
        Severity::Error => ReportKind::Error,
        Severity::SecurityWarning => ReportKind::Custom("Security warning", Color::Red),
        Severity::Warning => ReportKind::Warning,
        Severity::Suggestion => ReportKind::Custom("Suggestion", Color::Cyan),
    };
    let span = visible(&diagnostic.span, text);
    let mut report = Report::build(kind, (name, span.clone()))
        .with_config(Config::default().with_color(color).with_index_type(IndexType::Byte))
        .with_code(diagnostic.code())
        .with_message(&diagnostic.message)
        .with_label(AriadneLabel::new((name, span)).with_message(primary_label(diagnostic)).with_color(Color::Red));
    for label in &diagnostic.labels {
        report = report.with_label(
            AriadneLabel::new((name, visible(&label.span, text))).with_message(&label.message).with_color(Color::Blue),
        );
    }
    if let Some(help) = &diagnostic.help {
        report = report.with_help(help);
    }
    if let Some(resource) = &diagnostic.resource {
        report = report.with_note(format!("in `{resource}`"));
    }
    for note in &diagnostic.notes {
        report = report.with_note(note);
    }
    if let Some(fix) = &diagnostic.fix {
        report = report.with_note(format!("fix: {} (`warden lint --fix` applies it)", fix.description));
    }
    report.finish()
}

/// The caret text: the rule's name, so the source line says what kind of problem sits there.
fn primary_label(diagnostic: &Diagnostic) -> String {
    diagnostic.rule.name.replace('-', " ")
}

/// ariadne draws nothing for an empty span: widen an insertion point to the character before it.
fn visible(span: &Range<usize>, text: &str) -> Range<usize> {
    if !span.is_empty() || text.is_empty() {
        return span.clone();
    }
    let at = span.start.min(text.len());
    match text[..at].char_indices().next_back() {
        Some((start, _)) => start..at,
        None => at..text[at..].chars().next().map_or(at, |c| at + c.len_utf8()),
    }
}
