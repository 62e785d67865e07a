//! YAML read with saphyr's event parser into a small tree whose scalars keep their byte spans,
//! style and column; and the three YAML hosts: monaco account resources, Crossplane manifests
//! and dtiam documents.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::decode::{self, Flow};
use super::format::TextKind;
use super::reader::{Extract, Found, host_error};
use super::rules;
use super::traced::{FileId, Form, Traced};
use crate::diagnostic::Diagnostic;

/// A YAML node with the byte span it was written at.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone)]
pub(super) struct Scalar {
    pub value: String,
    pub style: ScalarStyle,
    /// Block scalars: from the first content character to where the parser stopped.
    pub span: Range<usize>,
    /// The column (in characters) of the first content character.
    pub column: usize,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(&s.value),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

/// Byte offsets of a text's characters (saphyr counts characters).
struct Offsets<'a> {
    text: &'a str,
    bytes: Option<Vec<usize>>,
}

impl Offsets<'_> {
    fn new(text: &str) -> Offsets<'_> {
        let bytes = (!text.is_ascii()).then(|| text.char_indices().map(|(at, _)| at).chain([text.len()]).collect());
        Offsets { text, bytes }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.bytes {
            None => char_index.min(self.text.len()),
            Some(bytes) => bytes.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }
}

/// The documents of a YAML text, or where and why it does not parse.
pub(super) fn parse(text: &str) -> Result<Vec<Node>, (usize, String)> {
    let offsets = Offsets::new(text);
    let mut documents = Vec::new();
    let mut stack: Vec<(Node, usize)> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut pending_key: Vec<Option<Node>> = Vec::new();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| (offsets.byte(e.marker().index()), e.info().to_string()))?;
        let node = match event {
            Event::Scalar(value, style, anchor, _) => {
                let node = Node::Scalar(Scalar {
                    value: value.into_owned(),
                    style,
                    span: offsets.byte(span.start.index())..offsets.byte(span.end.index()),
                    column: span.start.col(),
                });
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Alias(anchor) => anchors.get(&anchor).cloned().unwrap_or(Node::Seq(Vec::new())),
            Event::SequenceStart(anchor, _) => {
                stack.push((Node::Seq(Vec::new()), anchor));
                pending_key.push(None);
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push((Node::Map(Vec::new()), anchor));
                pending_key.push(None);
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = stack.pop().expect("the parser balances starts and ends");
                pending_key.pop();
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                node
            }
            _ => continue,
        };
        match stack.last_mut() {
            None => documents.push(node),
            Some((Node::Seq(items), _)) => items.push(node),
            Some((Node::Map(entries), _)) => {
                let key = pending_key.last_mut().expect("one pending key per open collection");
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                }
            }
            Some((Node::Scalar(_), _)) => unreachable!("scalars are never pushed"),
        }
    }
    Ok(documents)
}

/// The text of a scalar, positions kept through its style.
pub(super) fn traced(host: &str, file: FileId, scalar: &Scalar) -> Traced {
    let span = scalar.span.clone();
    let (decoded, form) = match scalar.style {
        ScalarStyle::Literal => (
            decode::yaml_literal(host, span.start, span.end, scalar.column, file),
            Form::YamlLiteral { indent: scalar.column },
        ),
        ScalarStyle::Folded => (decode::yaml_folded(host, span.start, span.end, scalar.column, file), Form::YamlFolded),
        ScalarStyle::SingleQuoted => (decode::yaml_flow(host, span.clone(), file, Flow::Single), Form::YamlSingle),
        ScalarStyle::DoubleQuoted => (decode::yaml_flow(host, span.clone(), file, Flow::Double), Form::YamlDouble),
        ScalarStyle::Plain => (decode::yaml_flow(host, span.clone(), file, Flow::Plain), Form::YamlPlain),
    };
    decode::checked(decoded, &scalar.value, file, span, form)
}

/// Which YAML host a text is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavour {
    Monaco,
    Crossplane,
    Dtiam,
}

const MONACO_KEYS: [&str; 5] = ["users", "serviceUsers", "groups", "policies", "boundaries"];

pub(super) fn flavour(documents: &[Node]) -> Option<Flavour> {
    if documents.iter().any(|d| MONACO_KEYS.iter().any(|k| d.get(k).is_some())) {
        return Some(Flavour::Monaco);
    }
    let kinds = || documents.iter().filter_map(|d| d.get("kind").and_then(Node::as_str));
    if documents.iter().any(|d| d.get("spec").and_then(|s| s.get("forProvider")).is_some()) && kinds().next().is_some()
    {
        return Some(Flavour::Crossplane);
    }
    if documents.iter().any(|d| dtiam_text(d).is_some()) {
        return Some(Flavour::Dtiam);
    }
    None
}

/// The policy or boundary text of a dtiam document.
fn dtiam_text(document: &Node) -> Option<(TextKind, &Node)> {
    let kind = document.get("kind")?.as_str()?;
    let spec = document.get("spec");
    let field = |top: &str, inner: &str| document.get(top).or_else(|| spec.and_then(|s| s.get(inner)));
    match kind {
        "Policy" => field("statement", "statementQuery").map(|n| (TextKind::Policy, n)),
        "Boundary" | "PolicyBoundary" => field("query", "boundaryQuery").map(|n| (TextKind::Boundary, n)),
        _ => None,
    }
}

/// Reads a YAML host file.
pub(super) fn read(host: &str, file: FileId, wanted: Option<Flavour>) -> Extract {
    let mut extract = Extract::default();
    let documents = match parse(host) {
        Ok(documents) => documents,
        Err((at, message)) => {
            // A YAML file that does not parse is reported only when it looks like a policy host.
            if wanted.is_some() || looks_like_a_host(host) {
                extract.host = true;
                extract.findings.push((file, host_error("YAML", at..at, &message)));
            }
            return extract;
        }
    };
    let Some(flavour) = wanted.or_else(|| flavour(&documents)) else { return extract };
    extract.host = true;
    match flavour {
        Flavour::Monaco => monaco(host, file, &documents, &mut extract),
        Flavour::Crossplane => crossplane(host, file, &documents, &mut extract),
        Flavour::Dtiam => {
            for document in &documents {
                if let Some((kind, node)) = dtiam_text(document) {
                    let name = document.get("name").or_else(|| document.get("metadata").and_then(|m| m.get("name")));
                    let resource = format!(
                        "{}/{}",
                        document.get("kind").and_then(Node::as_str).unwrap_or(""),
                        name.and_then(Node::as_str).unwrap_or("?")
                    );
                    push_text(host, file, kind, resource, name.and_then(Node::as_str), node, &mut extract);
                }
            }
        }
    }
    extract
}

fn looks_like_a_host(host: &str) -> bool {
    host.lines().any(|line| {
        let line = line.trim_start();
        ["policies:", "boundaries:", "statementQuery:", "boundaryQuery:", "kind: Policy", "policy:"]
            .iter()
            .any(|key| line.starts_with(key))
    })
}

fn monaco(host: &str, file: FileId, documents: &[Node], extract: &mut Extract) {
    for document in documents {
        let Node::Map(entries) = document else { continue };
        for other in ["configs", "delete"] {
            if let Some((key, _)) = entries.iter().find(|(k, _)| k.as_str() == Some(other)) {
                if MONACO_KEYS.iter().any(|k| document.get(k).is_some()) {
                    let span = key.scalar().map_or(0..0, |s| s.span.clone());
                    extract.findings.push((
                        file,
                        Diagnostic::new(
                            &rules::MIXED_MONACO_FILE,
                            span,
                            format!("a monaco file holds `{other}` beside account resources"),
                        )
                        .with_help("monaco refuses such a file: keep account resources in a file of their own"),
                    ));
                }
            }
        }
        for (list, field, kind) in
            [("policies", "policy", TextKind::Policy), ("boundaries", "query", TextKind::Boundary)]
        {
            for item in document.get(list).map(Node::items).unwrap_or_default() {
                let Some(node) = item.get(field) else { continue };
                let id = item.get("id").and_then(Node::as_str).unwrap_or("?");
                let resource = format!("{list}[id={id}]");
                push_text(host, file, kind, resource, item.get("name").and_then(Node::as_str), node, extract);
            }
        }
    }
}

fn crossplane(host: &str, file: FileId, documents: &[Node], extract: &mut Extract) {
    for document in documents {
        let Some(kind) = document.get("kind").and_then(Node::as_str) else { continue };
        let (field, text_kind) = match kind {
            "Policy" => ("statementQuery", TextKind::Policy),
            "PolicyBoundary" => ("query", TextKind::Boundary),
            _ => continue,
        };
        let provider = document.get("spec").and_then(|s| s.get("forProvider"));
        let Some(node) = provider.and_then(|p| p.get(field)) else { continue };
        let name = document.get("metadata").and_then(|m| m.get("name")).and_then(Node::as_str).unwrap_or("?");
        let display = provider.and_then(|p| p.get("name")).and_then(Node::as_str);
        push_text(host, file, text_kind, format!("{kind}/{name}"), display, node, extract);
    }
}

/// A policy or boundary text held by a scalar; a block scalar that swallowed the next key
/// is reported, and the text cut before it.
fn push_text(
    host: &str,
    file: FileId,
    kind: TextKind,
    resource: String,
    name: Option<&str>,
    node: &Node,
    extract: &mut Extract,
) {
    let Some(scalar) = node.scalar() else { return };
    let mut text = traced(host, file, scalar);
    if matches!(scalar.style, ScalarStyle::Literal | ScalarStyle::Folded) {
        if let Some(at) = swallowed_key(text.text()) {
            if let Some((_, span)) = text.host_span(at..at + text.text()[at..].find(':').unwrap_or(0) + 1) {
                extract.findings.push((
                    file,
                    Diagnostic::new(
                        &rules::SWALLOWED_LINE,
                        span,
                        format!("the block scalar of `{resource}` took in `{}` as policy text", text.text()[at..].lines().next().unwrap_or("").trim()),
                    )
                    .with_help("a block scalar ends only at a line indented less than its text: indent this key like the keys above the block")
                    .with_resource(resource.clone()),
                ));
            }
            text.truncate(at);
        }
    }
    extract.found.push(Found::new(kind, Some(resource), name.map(str::to_string), text, None));
}

/// The start of the first line of a block scalar's text that reads as a YAML key
/// (`name: …`, `- id: …`), which policy text never does.
fn swallowed_key(text: &str) -> Option<usize> {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let item = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        let key_len = item.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-').count();
        let after = &item[key_len..];
        if key_len > 0 && (after.starts_with(": ") || after.trim_end() == ":") {
            return Some(at + (line.len() - trimmed.len()));
        }
        at += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swallowed_keys_are_found_and_policy_lines_are_not() {
        assert_eq!(swallowed_key("ALLOW a:b:c;\n  WHERE k = \"x: y\";"), None);
        assert_eq!(swallowed_key("ALLOW storage:logs:read;\n- id: next\n"), Some(25));
        assert_eq!(swallowed_key("ALLOW a:b:c;\nname: x"), Some(13));
    }

    #[test]
    fn anchors_and_documents() {
        let docs = parse("a: &x |\n  ALLOW a:b:c;\nb: *x\n---\nc: 1\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("b").and_then(Node::as_str), Some("ALLOW a:b:c;\n"));
    }
}
