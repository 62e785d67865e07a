//! The examples section of grammar/policy.ebnf: every example parses without a syntax error,
//! formats, and formatting it twice changes nothing.

use warden::syntax::{self, Kind};

struct Example {
    title: String,
    kind: Kind,
    text: String,
}

/// The text of a whole-line `(* … *)` comment, without the one space on each side.
fn comment_text(line: &str) -> Option<&str> {
    let inner = line.trim_end().strip_prefix("(*")?.strip_suffix("*)")?;
    let inner = inner.strip_prefix(' ').unwrap_or(inner);
    Some(inner.strip_suffix(' ').unwrap_or(inner))
}

/// An `(* example policy: … *)` or `(* example boundary: … *)` line starts an example; the comment
/// lines right after it hold its text.
fn examples(grammar: &str) -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    let mut open = false;
    for line in grammar.lines() {
        let Some(text) = comment_text(line) else {
            open = false;
            continue;
        };
        let header = [("example policy: ", Kind::Policy), ("example boundary: ", Kind::Boundary)]
            .into_iter()
            .find_map(|(prefix, kind)| text.strip_prefix(prefix).map(|title| (title, kind)));
        if let Some((title, kind)) = header {
            examples.push(Example { title: title.to_string(), kind, text: String::new() });
            open = true;
        } else if open {
            let example = examples.last_mut().expect("an open example");
            example.text.push_str(text);
            example.text.push('\n');
        }
    }
    examples
}

#[test]
fn every_grammar_example_parses_and_formats() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/policy.ebnf");
    let grammar = std::fs::read_to_string(path).expect("grammar/policy.ebnf is readable");
    let examples = examples(&grammar);
    assert!(examples.len() >= 15, "found only {} examples in {path}", examples.len());
    for Example { title, kind, text } in &examples {
        assert!(!text.is_empty(), "example `{title}` has no text");
        let parsed = syntax::parse(text, *kind);
        let messages: Vec<String> =
            parsed.diagnostics.iter().map(|d| format!("{} {}: {}", d.code(), d.severity(), d.message)).collect();
        assert!(!parsed.has_errors(), "example `{title}` ({kind:?}) has syntax errors:\n{text}\n{messages:#?}");

        let once = syntax::format(text, *kind).unwrap_or_else(|| panic!("example `{title}` does not format"));
        let twice = syntax::format(&once, *kind)
            .unwrap_or_else(|| panic!("example `{title}` formatted does not format again:\n{once}"));
        assert_eq!(once, twice, "formatting example `{title}` is not idempotent:\n{text}");
    }
}
