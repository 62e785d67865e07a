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
    /// Heredocs without interpolations, which warden reads itself (see [`LiteralHeredoc`]).
    pub heredocs: Vec<LiteralHeredoc>,
}

/// A heredoc whose text has no interpolation or directive. hcl-edit reads heredoc text one
/// character at a time at a few MB/s; such a heredoc is handed to it as `(null/* … */)` of the
/// same length (so every other span stays put; a comment is skipped at memchr speed) and its
/// text decoded here.
#[derive(Debug, Clone)]
pub(super) struct LiteralHeredoc {
    /// Where `<<` starts (and the `(null …)` stand-in), and where the closing delimiter ends.
    pub start: usize,
    pub end: usize,
    /// The text, up to and with the line break before the closing delimiter.
    pub body: Range<usize>,
    /// `<<-`: the common leading spaces are stripped.
    pub indented: bool,
}

impl LiteralHeredoc {
    /// The number of leading spaces `<<-` strips, as Terraform counts them: the fewest of any
    /// non-empty line.
    pub fn indent(&self, host: &str) -> usize {
        if !self.indented {
            return 0;
        }
        host[self.body.clone()]
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| line.chars().take_while(|c| c.is_whitespace()).count())
            .min()
            .unwrap_or(0)
    }
}

/// The heredocs of an HCL text that hold no `${`/`%{` (escaped `$${`/`%%{` are fine), outside
/// strings and comments.
fn literal_heredocs(text: &str) -> Vec<LiteralHeredoc> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        // Only these bytes start something to skip or a heredoc.
        match bytes[at..].iter().position(|b| matches!(b, b'#' | b'/' | b'"' | b'<')) {
            Some(next) => at += next,
            None => break,
        }
        match bytes[at] {
            b'#' => at = text[at..].find('\n').map_or(bytes.len(), |i| at + i),
            b'/' if bytes.get(at + 1) == Some(&b'/') => at = text[at..].find('\n').map_or(bytes.len(), |i| at + i),
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at = text[at + 2..].find("*/").map_or(bytes.len(), |i| at + i + 4)
            }
            b'"' => at = skip_string(bytes, at + 1),
            b'<' if bytes.get(at + 1) == Some(&b'<') => match heredoc_at(text, at) {
                Some((heredoc, end, literal)) => {
                    if literal && end - at >= "(null/**/)".len() {
                        found.push(heredoc);
                    }
                    at = end;
                }
                None => at += 2,
            },
            _ => at += 1,
        }
    }
    found
}

/// Past the quoted string whose text starts at `at` (its interpolations skipped whole).
fn skip_string(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() {
        match bytes[at..].iter().position(|b| matches!(b, b'\\' | b'"' | b'\n' | b'$' | b'%')) {
            Some(next) => at += next,
            None => return bytes.len(),
        }
        match bytes[at] {
            b'\\' => at += 2,
            b'"' | b'\n' => return at + 1,
            b'$' | b'%' if bytes.get(at + 1) == Some(&b'{') => at = skip_braces(bytes, at + 2),
            _ => at += 1,
        }
    }
    at
}

/// Past the `}` that closes a `{` whose inside starts at `at`.
fn skip_braces(bytes: &[u8], mut at: usize) -> usize {
    let mut depth = 1;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                at = skip_string(bytes, at + 1);
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
        at += 1;
    }
    at
}

/// The heredoc starting at `<<` at `at`: it, where it ends, and whether its text is literal.
fn heredoc_at(text: &str, at: usize) -> Option<(LiteralHeredoc, usize, bool)> {
    let bytes = text.as_bytes();
    let mut i = at + 2;
    let indented = bytes.get(i) == Some(&b'-');
    if indented {
        i += 1;
    }
    let ident_start = i;
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || (i > ident_start && bytes[i] == b'-'))
    {
        i += 1;
    }
    let delimiter = &text[ident_start..i];
    if delimiter.is_empty() || !bytes[ident_start].is_ascii_alphabetic() && bytes[ident_start] != b'_' {
        return None;
    }
    let body_start = match (bytes.get(i), bytes.get(i + 1)) {
        (Some(b'\n'), _) => i + 1,
        (Some(b'\r'), Some(b'\n')) => i + 2,
        _ => return None,
    };
    let mut line = body_start;
    while line <= bytes.len() {
        let line_end = text[line..].find('\n').map_or(bytes.len(), |n| line + n);
        let content = text[line..line_end].trim_start_matches([' ', '\t']);
        if let Some(rest) = content.strip_prefix(delimiter) {
            if !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-') {
                let end = line_end - rest.len();
                let body = body_start..line;
                let literal = !has_template_marker(&text[body.clone()]);
                return Some((LiteralHeredoc { start: at, end, body, indented }, end, literal));
            }
        }
        if line_end >= bytes.len() {
            return None;
        }
        line = line_end + 1;
    }
    None
}

/// Whether a heredoc text holds an interpolation or directive (not an escaped `$${`/`%%{`).
fn has_template_marker(body: &str) -> bool {
    let bytes = body.as_bytes();
    body.match_indices('{')
        .any(|(i, _)| i > 0 && matches!(bytes[i - 1], b'$' | b'%') && !(i > 1 && bytes[i - 2] == bytes[i - 1]))
}

/// The text hcl-edit parses: literal heredocs replaced by `(null/* … */)` of the same length.
fn stand_ins(text: &str, heredocs: &[LiteralHeredoc]) -> Option<String> {
    if heredocs.is_empty() {
        return None;
    }
    let mut bytes = text.as_bytes().to_vec();
    for heredoc in heredocs {
        let end = heredoc.end;
        for byte in &mut bytes[heredoc.start..end] {
            if *byte != b'\n' && *byte != b'\r' {
                *byte = b' ';
            }
        }
        bytes[heredoc.start..heredoc.start + 7].copy_from_slice(b"(null/*");
        bytes[end - 3..end].copy_from_slice(b"*/)");
    }
    Some(String::from_utf8(bytes).expect("ASCII put in place of whole characters"))
}

/// Parses a `.tf` file already in `sources`.
pub(super) fn parse(sources: &Sources, file: FileId) -> Parsed {
    let host = &sources.file(file).text;
    let heredocs = literal_heredocs(host);
    let with_stand_ins = stand_ins(host, &heredocs);
    let text = with_stand_ins.as_deref().unwrap_or(host);
    match text.parse::<Body>() {
        Ok(body) => Parsed { body: Some(body), patched: false, findings: Vec::new(), heredocs },
        Err(error) => {
            let patches = unescaped_placeholders(text);
            match (!patches.is_empty()).then(|| patched(text, &patches).parse::<Body>()) {
                Some(Ok(body)) => Parsed {
                    body: Some(body),
                    patched: true,
                    findings: placeholder_findings(host, &patches, |at| Some((file, at))),
                    heredocs,
                },
                _ => {
                    let at = error.location().offset();
                    Parsed {
                        body: None,
                        patched: false,
                        findings: vec![(file, host_error("HCL", at..at, error.message()))],
                        heredocs,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_heredocs_are_found_outside_strings_and_comments() {
        let text = "# <<EOT\nq = \"<<EOT\"\na = <<-EOT\n  ALLOW a:b:c WHERE k = \"$${bindParam:x}\";\n  EOT\nb = <<EOT\n${var.x}\nEOT\n";
        let found = literal_heredocs(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].body.clone()], "  ALLOW a:b:c WHERE k = \"$${bindParam:x}\";\n");
        assert_eq!(found[0].indent(text), 2);
        let stand_in = stand_ins(text, &found).unwrap();
        assert_eq!(stand_in.len(), text.len());
        assert!(stand_in.contains("a = (null/*"));
        assert!(stand_in.parse::<Body>().is_ok());
    }
}
