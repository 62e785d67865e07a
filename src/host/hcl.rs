//! Terraform's HCL, read with hcl-edit (every expression and template part keeps its span):
//! the policy texts of `dynatrace_iam_policy` (`statement_query`), `dynatrace_policy` and
//! `dynatrace_iam_policy_boundary` (`query`), as quoted strings, heredocs, templates, or
//! `file()` / `templatefile()` of a policy file.

use std::ops::Range;

use hcl_edit::Span;
use hcl_edit::expr::Expression;
use hcl_edit::structure::Body;
use hcl_edit::template::{Element, Template};

use super::decode;
use super::format::TextKind;
use super::reader::{Sources, host_error};
use super::rules;
use super::traced::{FileId, Form, Traced};
use crate::diagnostic::{Diagnostic, Fix};

/// The resources that hold policy text, the attribute holding it, and what it is.
pub(super) const HOSTED_TEXTS: [(&str, &str, TextKind); 3] = [
    ("dynatrace_iam_policy", "statement_query", TextKind::Policy),
    ("dynatrace_policy", "statement_query", TextKind::Policy),
    ("dynatrace_iam_policy_boundary", "query", TextKind::Boundary),
];

/// What a filler is when the unresolved part stands alone on its lines (whole statements)
/// and when it stands inside them.
pub(super) const FILLER_LINES: &str = " ";
const FILLER_INLINE: &str = "opaque";

/// Where `${bindParam:…}` and `${global:…}` stand unescaped: Terraform would try to
/// interpolate them (and hcl-edit cannot parse them). Each is turned, at the same length,
/// into `$$…` so the rest of the file parses; the offsets say where.
fn unescaped_placeholders(text: &str) -> Vec<usize> {
    let mut found = Vec::new();
    for marker in ["${bindParam:", "${global:"] {
        for (at, _) in text.match_indices(marker) {
            if at == 0 || text.as_bytes()[at - 1] != b'$' {
                found.push(at);
            }
        }
    }
    found.sort_unstable();
    found
}

fn patched(text: &str, at: &[usize]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &at in at {
        bytes[at + 1] = b'$';
    }
    String::from_utf8(bytes).expect("ASCII replaced by ASCII")
}

/// The value hcl-edit decoded for a literal that was patched, as the author meant it.
fn unpatched(value: &str) -> String {
    value.replace("$$bindParam:", "${bindParam:").replace("$$global:", "${global:")
}

/// The findings for unescaped placeholders: Terraform would fail on them.
fn placeholder_findings(
    text: &str,
    at: &[usize],
    to_host: impl Fn(usize) -> Option<(FileId, usize)>,
) -> Vec<(FileId, Diagnostic)> {
    at.iter()
        .filter_map(|&at| {
            let end = text[at..].find('}').map_or(text.len(), |i| at + i + 1);
            let (file, host) = to_host(at)?;
            let (_, host_end) = to_host(end)?;
            let written = &text[at..end];
            Some((
                file,
                Diagnostic::new(
                    &rules::TERRAFORM_INTERPOLATION,
                    host..host_end.max(host),
                    format!("Terraform reads `{written}` as an interpolation and fails"),
                )
                .with_help("write `$${…}` so that Terraform passes the placeholder on to the platform")
                .with_fix(Fix::insert("escape the placeholder as `$${…}`", host, "$")),
            ))
        })
        .collect()
}

/// A parsed `.tf` file: its body, whether unescaped placeholders were patched for the
/// parser, and the findings of the file itself (it does not parse, `${bindParam:…}`).
pub(super) struct Parsed {
    pub body: Option<Body>,
    pub patched: bool,
    pub findings: Vec<(FileId, Diagnostic)>,
}

/// Parses a `.tf` file already in `sources`.
pub(super) fn parse(sources: &Sources, file: FileId) -> Parsed {
    let host = &sources.file(file).text;
    match host.parse::<Body>() {
        Ok(body) => Parsed { body: Some(body), patched: false, findings: Vec::new() },
        Err(error) => {
            let patches = unescaped_placeholders(host);
            match (!patches.is_empty()).then(|| patched(host, &patches).parse::<Body>()) {
                Some(Ok(body)) => Parsed {
                    body: Some(body),
                    patched: true,
                    findings: placeholder_findings(host, &patches, |at| Some((file, at))),
                },
                _ => {
                    let at = error.location().offset();
                    Parsed {
                        body: None,
                        patched: false,
                        findings: vec![(file, host_error("HCL", at..at, error.message()))],
                    }
                }
            }
        }
    }
}

/// A literal part of a quoted string or a heredoc, decoded and checked against hcl-edit's
/// value (`patched`: the file's placeholders were patched for the parser).
pub(super) fn literal(
    host: &str,
    file: FileId,
    patched: bool,
    span: Range<usize>,
    value: &str,
    form: Form,
    at_line_start: bool,
) -> Traced {
    let decoded = match form {
        Form::HclHeredoc { indent } => decode::heredoc(host, span.clone(), file, indent, at_line_start, form),
        _ => decode::hcl_quoted(host, span.clone(), file),
    };
    let expected = if patched { unpatched(value) } else { value.to_string() };
    decode::checked(decoded, &expected, file, span, form)
}

/// The filler for an unresolved part: blank when it stands alone on its lines (it may hold
/// whole statements), a word when it stands inside a statement or a value.
pub(super) fn filler(before: &str, after: Option<&str>) -> &'static str {
    let line_before = before.rsplit('\n').next().unwrap_or("");
    let line_after = after.map_or("", |a| a.split('\n').next().unwrap_or(""));
    if line_before.trim().is_empty() && line_after.trim().is_empty() { FILLER_LINES } else { FILLER_INLINE }
}

/// A text that Terraform reads as a template (a `templatefile()` file, a `.tf.json` string):
/// `$${` and `%%{` undone, interpolations and directives opaque; and the findings for
/// `${bindParam:…}` written where Terraform would interpolate it.
/// `resolve` gives the text of an interpolation where it is known (a `templatefile()`
/// variable).
pub(super) fn template_over(
    raw: &Traced,
    resolve: &mut dyn FnMut(&Expression) -> Option<Traced>,
) -> (Traced, Vec<(FileId, Diagnostic)>) {
    let text = raw.text();
    if let Ok(template) = hcl_edit::parser::parse_template(text) {
        return (template_elements(raw, &template, resolve), Vec::new());
    }
    let patches = unescaped_placeholders(text);
    match hcl_edit::parser::parse_template(&patched(text, &patches)) {
        Ok(template) if !patches.is_empty() => {
            (template_elements(raw, &template, resolve), placeholder_findings(text, &patches, |at| raw.locate(at)))
        }
        _ => (raw.clone(), Vec::new()),
    }
}

fn template_elements(
    raw: &Traced,
    template: &Template,
    resolve: &mut dyn FnMut(&Expression) -> Option<Traced>,
) -> Traced {
    let text = raw.text();
    let elements: Vec<&Element> = template.iter().collect();
    let mut out = Traced::new();
    for (i, element) in elements.iter().enumerate() {
        let span = element.span().unwrap_or(0..0);
        match element {
            Element::Literal(_) => {
                let mut at = span.start;
                let mut run = at;
                while at < span.end {
                    let rest = &text[at..span.end];
                    let escaped = if rest.starts_with("$${") {
                        Some("${")
                    } else if rest.starts_with("%%{") {
                        Some("%{")
                    } else {
                        None
                    };
                    match escaped {
                        Some(decoded) => {
                            out.append_range(raw, run..at);
                            out.append_escaped_from(decoded, raw, at..at + 3);
                            at += 3;
                            run = at;
                        }
                        None => at += rest.chars().next().map_or(1, char::len_utf8),
                    }
                }
                out.append_range(raw, run..span.end);
            }
            Element::Interpolation(_) | Element::Directive(_) => {
                let Some((file, host)) = raw.host_span(span.clone()) else { continue };
                let known = match element {
                    Element::Interpolation(i) => resolve(&i.expr),
                    _ => None,
                };
                match known {
                    Some(value) => out.append(&value),
                    None => {
                        let next = elements.get(i + 1).and_then(|e| e.span()).map(|s| &text[s]);
                        out.push_opaque(filler(out.text(), next), file, host, &text[span]);
                    }
                }
            }
        }
    }
    out
}
