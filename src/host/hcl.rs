//! Terraform's HCL, read with hcl-edit (every expression and template part keeps its span):
//! the policy texts of `dynatrace_iam_policy` (`statement_query`), `dynatrace_policy` and
//! `dynatrace_iam_policy_boundary` (`query`), as quoted strings, heredocs, templates, or
//! `file()` / `templatefile()` of a policy file.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use hcl_edit::Span;
use hcl_edit::expr::{Expression, FuncCall, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, Body};
use hcl_edit::template::{Element, Template};

use super::decode;
use super::format::TextKind;
use super::reader::{Extract, Found, Sources, Via, host_error};
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
const FILLER_LINES: &str = " ";
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

/// Reads a `.tf` file.
pub(super) fn read(sources: &mut Sources, file: FileId) -> Extract {
    let host = sources.file(file).text.clone();
    let mut extract = Extract::default();
    let (body, patches) = match host.parse::<Body>() {
        Ok(body) => (body, Vec::new()),
        Err(error) => {
            let patches = unescaped_placeholders(&host);
            match (!patches.is_empty()).then(|| patched(&host, &patches).parse::<Body>()) {
                Some(Ok(body)) => (body, patches),
                _ => {
                    let at = error.location().offset();
                    extract.host = true;
                    extract.findings.push((file, host_error("HCL", at..at, error.message())));
                    return extract;
                }
            }
        }
    };
    extract.findings.extend(placeholder_findings(&host, &patches, |at| Some((file, at))));
    let module = sources.path(file).and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    let mut texts = Texts { host: &host, file, module, patched: !patches.is_empty(), sources, findings: Vec::new() };
    for block in body.blocks().filter(|b| b.ident.as_str() == "resource") {
        let Some((kind, field, text_kind)) = hosted(block) else { continue };
        let Some(attribute) = block.body.get_attribute(field) else { continue };
        let resource = format!("{kind}.{}", label(block, 1));
        let name = match &block.body.get_attribute("name").map(|a| &a.value) {
            Some(Expression::String(s)) => Some(s.value().clone()),
            _ => None,
        };
        match texts.text(&attribute.value, &resource) {
            Ok((text, via)) => extract.found.push(Found::new(text_kind, Some(resource), name, text, via)),
            Err(diagnostic) => extract.findings.push((file, diagnostic.with_resource(resource))),
        }
    }
    extract.findings.append(&mut texts.findings);
    extract.host = !extract.found.is_empty() || !extract.findings.is_empty();
    extract
}

fn hosted(block: &Block) -> Option<(&'static str, &'static str, TextKind)> {
    let kind = label(block, 0);
    HOSTED_TEXTS.iter().copied().find(|(k, _, _)| *k == kind)
}

fn label(block: &Block, index: usize) -> &str {
    block.labels.get(index).map_or("", |l| l.as_str())
}

/// Builds the texts of one HCL file.
struct Texts<'a> {
    host: &'a str,
    file: FileId,
    /// The module's directory (`path.module`).
    module: PathBuf,
    /// Whether unescaped placeholders were patched for the parser.
    patched: bool,
    sources: &'a mut Sources,
    /// Problems found on the way (in template files).
    findings: Vec<(FileId, Diagnostic)>,
}

impl Texts<'_> {
    /// The text of an attribute's expression, and the `file()` call when it reads a file.
    fn text(&mut self, expr: &Expression, resource: &str) -> Result<(Traced, Option<Via>), Box<Diagnostic>> {
        match expr {
            Expression::String(s) => {
                let span = s.span().unwrap_or(0..0);
                let inner = span.start + 1..span.end.saturating_sub(1).max(span.start + 1);
                Ok((self.literal(inner, s.value(), Form::HclQuoted, 0, true), None))
            }
            Expression::StringTemplate(t) => Ok((self.template(t.iter(), Form::HclQuoted, 0), None)),
            Expression::HeredocTemplate(h) => {
                let indent = h.indent().unwrap_or(0);
                Ok((self.template(h.template.iter(), Form::HclHeredoc { indent }, indent), None))
            }
            Expression::Parenthesis(p) => self.text(p.inner(), resource),
            Expression::FuncCall(call) if matches!(call.name.name.as_str(), "file" | "templatefile") => {
                self.file_call(call, resource)
            }
            other => {
                let span = other.span().unwrap_or(0..0);
                let mut text = Traced::new();
                text.push_opaque(FILLER_LINES, self.file, span.clone(), &self.host[span]);
                Ok((text, None))
            }
        }
    }

    /// A literal part of a string or heredoc, decoded and checked against hcl-edit's value.
    fn literal(&self, span: Range<usize>, value: &str, form: Form, indent: usize, at_line_start: bool) -> Traced {
        let decoded = match form {
            Form::HclQuoted => decode::hcl_quoted(self.host, span.clone(), self.file),
            _ => decode::heredoc(self.host, span.clone(), self.file, indent, at_line_start, form),
        };
        let expected = if self.patched { unpatched(value) } else { value.to_string() };
        decode::checked(decoded, &expected, self.file, span, form)
    }

    /// A quoted template or a heredoc: literal parts decoded, interpolations and directives
    /// opaque.
    fn template<'e>(&self, elements: impl Iterator<Item = &'e Element>, form: Form, indent: usize) -> Traced {
        let elements: Vec<&Element> = elements.collect();
        let mut out = Traced::new();
        for (i, element) in elements.iter().enumerate() {
            match element {
                Element::Literal(literal) => {
                    let at_line_start = out.is_empty() || out.text().ends_with('\n');
                    let span = literal.span().unwrap_or(0..0);
                    out.append(&self.literal(span, literal.value(), form, indent, at_line_start));
                }
                Element::Interpolation(_) | Element::Directive(_) => {
                    let span = element.span().unwrap_or(0..0);
                    let next = elements.get(i + 1).and_then(|e| match e {
                        Element::Literal(l) => Some(l.value().as_str()),
                        _ => None,
                    });
                    let filler = filler(out.text(), next);
                    out.push_opaque(filler, self.file, span.clone(), &self.host[span]);
                }
            }
        }
        out
    }

    /// `file("…")` or `templatefile("…", {…})` of a policy file in the module.
    fn file_call(&mut self, call: &FuncCall, resource: &str) -> Result<(Traced, Option<Via>), Box<Diagnostic>> {
        let span = call.span().unwrap_or(0..0);
        let opaque = |texts: &Self| {
            let mut text = Traced::new();
            text.push_opaque(FILLER_LINES, texts.file, span.clone(), &texts.host[span.clone()]);
            Ok((text, None))
        };
        let Some(path) = call.args.iter().next().and_then(|arg| self.known_string(arg)) else { return opaque(self) };
        // `${path.module}/…` names the module's directory already; a bare relative path is
        // taken relative to the module too (where Terraform runs for a root module).
        let path = PathBuf::from(&path);
        let path = if path.is_absolute() || path.starts_with(&self.module) { path } else { self.module.join(&path) };
        let id = self.sources.load(&path).map_err(|error| {
            Box::new(
                Diagnostic::new(
                    &rules::UNREADABLE_REFERENCE,
                    span.clone(),
                    format!("cannot read `{}` for `{resource}`: {error}", path.display()),
                )
                .with_help("the policy text of this resource is in that file; warden reads it relative to the module"),
            )
        })?;
        let via = Some(Via { file: self.file, span: span.clone(), resource: resource.to_string() });
        let whole = &self.sources.file(id).text;
        if call.name.name.as_str() == "file" {
            return Ok((Traced::verbatim(whole, id, 0, Form::Raw), via));
        }
        let raw = Traced::verbatim(whole, id, 0, Form::HclTemplate);
        let vars = match call.args.iter().nth(1) {
            Some(Expression::Object(object)) => object
                .iter()
                .filter_map(|(key, value)| {
                    let key = match key {
                        ObjectKey::Ident(ident) => ident.as_str().to_string(),
                        ObjectKey::Expression(expr) => self.known_string(expr)?,
                    };
                    Some((key, self.known_string(value.expr())?))
                })
                .collect(),
            _ => HashMap::new(),
        };
        let (text, findings) = template_over(&raw, &vars);
        self.findings.extend(findings);
        Ok((text, via))
    }

    /// A string whose value is known without evaluation: literals and `path.module`.
    fn known_string(&self, expr: &Expression) -> Option<String> {
        match expr {
            Expression::String(s) => Some(s.value().clone()),
            Expression::StringTemplate(t) => t
                .iter()
                .map(|element| match element {
                    Element::Literal(l) => Some(l.value().clone()),
                    Element::Interpolation(i) => self.known_string(&i.expr),
                    Element::Directive(_) => None,
                })
                .collect(),
            Expression::Traversal(t) => match (&t.expr, &t.operators[..]) {
                (Expression::Variable(v), [op]) if v.as_str() == "path" => match op.value() {
                    TraversalOperator::GetAttr(attr) if matches!(attr.as_str(), "module" | "root") => {
                        Some(if self.module.as_os_str().is_empty() {
                            ".".into()
                        } else {
                            self.module.display().to_string()
                        })
                    }
                    TraversalOperator::GetAttr(attr) if attr.as_str() == "cwd" => Some(".".into()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }
}

/// The filler for an unresolved part: blank when it stands alone on its lines (it may hold
/// whole statements), a word when it stands inside a statement or a value.
fn filler(before: &str, after: Option<&str>) -> &'static str {
    let line_before = before.rsplit('\n').next().unwrap_or("");
    let line_after = after.map_or("", |a| a.split('\n').next().unwrap_or(""));
    if line_before.trim().is_empty() && line_after.trim().is_empty() { FILLER_LINES } else { FILLER_INLINE }
}

/// A text that Terraform reads as a template (a `templatefile()` file, a `.tf.json` string):
/// `$${` and `%%{` undone, interpolations and directives opaque; and the findings for
/// `${bindParam:…}` written where Terraform would interpolate it.
/// `vars` are the template variables known as literal strings.
pub(super) fn template_over(raw: &Traced, vars: &HashMap<String, String>) -> (Traced, Vec<(FileId, Diagnostic)>) {
    let text = raw.text();
    if let Ok(template) = hcl_edit::parser::parse_template(text) {
        return (template_elements(raw, &template, vars), Vec::new());
    }
    let patches = unescaped_placeholders(text);
    match hcl_edit::parser::parse_template(&patched(text, &patches)) {
        Ok(template) if !patches.is_empty() => {
            (template_elements(raw, &template, vars), placeholder_findings(text, &patches, |at| raw.locate(at)))
        }
        _ => (raw.clone(), Vec::new()),
    }
}

fn template_elements(raw: &Traced, template: &Template, vars: &HashMap<String, String>) -> Traced {
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
                    Element::Interpolation(i) => match &i.expr {
                        Expression::Variable(name) => vars.get(name.as_str()),
                        _ => None,
                    },
                    _ => None,
                };
                match known {
                    Some(value) => out.push_escaped(value, file, host, Form::Interpolated),
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
