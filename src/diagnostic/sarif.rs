//! SARIF 2.1.0 for code scanning (GitHub accepts it as `github/codeql-action/upload-sarif`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Diagnostic, FileReport, Rule, Severity, SourceFile};

/// One SARIF log holding every file's results; `rules` lists every rule warden knows, so a
/// result's `ruleIndex` is stable across runs.
pub fn render(reports: &[FileReport<'_>], rules: &[&'static Rule]) -> String {
    let index: BTreeMap<&str, usize> = rules.iter().enumerate().map(|(i, rule)| (rule.code, i)).collect();
    let results: Vec<Value> = reports
        .iter()
        .flat_map(|report| report.diagnostics.iter().map(|d| result(report.file, d, index.get(d.code()).copied())))
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "warden",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|rule| rule_descriptor(rule)).collect::<Vec<_>>(),
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).expect("SARIF always serializes")
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::SecurityWarning | Severity::Warning => "warning",
        Severity::Suggestion => "note",
    }
}

fn rule_descriptor(rule: &Rule) -> Value {
    let mut properties = json!({"tags": [rule.severity.as_str()]});
    if rule.severity == Severity::SecurityWarning {
        properties["tags"] = json!(["security", rule.severity.as_str()]);
        properties["security-severity"] = json!("7.0");
    }
    json!({
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": properties,
    })
}

fn region(file: &SourceFile, span: &std::ops::Range<usize>) -> Value {
    let (start_line, start_column) = file.line_column(span.start);
    let (end_line, end_column) = file.line_column(span.end);
    json!({"startLine": start_line, "startColumn": start_column, "endLine": end_line, "endColumn": end_column})
}

fn location(file: &SourceFile, span: &std::ops::Range<usize>, message: Option<&str>) -> Value {
    let mut location = json!({"physicalLocation": {
        "artifactLocation": {"uri": uri(&file.name)},
        "region": region(file, span),
    }});
    if let Some(message) = message {
        location["message"] = json!({"text": message});
    }
    location
}

fn uri(name: &str) -> String {
    name.replace('\\', "/").trim_start_matches("./").to_string()
}

fn result(file: &SourceFile, d: &Diagnostic, rule_index: Option<usize>) -> Value {
    let mut text = match &d.help {
        Some(help) => format!("{} ({help})", d.message),
        None => d.message.to_string(),
    };
    for note in &d.notes {
        text.push_str(&format!(". Note: {note}"));
    }
    let mut result = json!({
        "ruleId": d.code(),
        "level": level(d.severity()),
        "message": {"text": text},
        "locations": [location(file, &d.span, None)],
    });
    if let Some(index) = rule_index {
        result["ruleIndex"] = json!(index);
    }
    if let Some(resource) = &d.resource {
        result["locations"][0]["logicalLocations"] = json!([{"fullyQualifiedName": resource, "kind": "resource"}]);
    }
    if !d.labels.is_empty() {
        result["relatedLocations"] = d
            .labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let mut related = location(file, &label.span, Some(&label.message));
                related["id"] = json!(i + 1);
                related
            })
            .collect();
    }
    if let Some(fix) = &d.fix {
        result["fixes"] = json!([{
            "description": {"text": fix.description},
            "artifactChanges": [{
                "artifactLocation": {"uri": uri(&file.name)},
                "replacements": fix.edits.iter().map(|edit| json!({
                    "deletedRegion": region(file, &edit.span),
                    "insertedContent": {"text": edit.replacement},
                })).collect::<Vec<_>>(),
            }],
        }]);
    }
    result
}
