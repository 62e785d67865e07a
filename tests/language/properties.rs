//! Properties of the parser and the formatter: `parse(fmt(p)) == p` up to spans, `fmt` is
//! idempotent, and no input makes `lint` or `fmt` panic.

use proptest::prelude::*;
use warden::catalog::Catalog;
use warden::check;
use warden::diagnostic::SourceFile;
use warden::syntax::{self, Document, Kind, Operand, Operator, Segment, Where};

/// A statement's meaning without spans: effect, permissions, and the conditions (or `null`).
type Shape = Vec<(String, Vec<String>, Option<Vec<(String, Operator, bool, Vec<Vec<Segment>>)>>)>;

fn shape(document: &Document) -> Shape {
    document
        .statements
        .iter()
        .map(|s| {
            let conditions = match &s.where_clause {
                None | Some(Where::Null(_)) => None,
                Some(Where::Conditions(list)) => Some(
                    list.iter()
                        .map(|c| {
                            let is_list = matches!(c.operand, Operand::List { .. });
                            let values = c.operand.values().iter().map(|v| v.segments.to_vec()).collect();
                            (c.key.text.to_string(), c.operator, is_list, values)
                        })
                        .collect(),
                ),
            };
            (s.effect.keyword().to_string(), s.permissions.iter().map(|p| p.text.to_string()).collect(), conditions)
        })
        .collect()
}

fn keyword(word: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![Just(word.to_string()), Just(word.to_lowercase()), Just(word.to_uppercase())]
}

/// Whitespace and comments that may stand between any two tokens.
fn gap() -> impl Strategy<Value = String> {
    prop_oneof![Just(" ".to_string()), Just("\n".to_string()), Just("\t ".to_string()), Just(" // note\n".to_string())]
}

fn string_literal() -> impl Strategy<Value = String> {
    let text = "[a-z0-9 _.*'\"\\\\-]{0,8}";
    (text, prop::bool::ANY, prop::option::of("[a-z]{1,5}")).prop_map(|(value, single, param)| {
        let quote = if single { '\'' } else { '"' };
        let mut out = String::from(quote);
        for c in value.chars() {
            if c == '\\' || c == quote {
                out.push('\\');
            }
            out.push(c);
        }
        if let Some(name) = param {
            out.push_str(&format!("${{bindParam:{name}}}"));
        }
        out.push(quote);
        out
    })
}

fn condition() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec!["storage:k8s.cluster.name", "shared:app-id", "global:week-day", "x:y_z"]);
    let operator =
        prop::sample::select(vec!["=", "!=", "<", ">", "IN", "NOT IN", "startsWith", "NOT startsWith", "MATCH"]);
    let operand = prop_oneof![
        string_literal(),
        prop::collection::vec(string_literal(), 1..4).prop_map(|items| format!("({})", items.join(", "))),
    ];
    (key, operator, operand, gap()).prop_map(|(k, o, v, g)| format!("{k}{g}{o} {v}"))
}

fn statement() -> impl Strategy<Value = String> {
    let permission = prop::sample::select(vec!["storage:logs:read", "settings:objects:write", "acme:widgets.v2:run"]);
    let effect = prop_oneof![keyword("ALLOW"), keyword("DENY")];
    let conditions =
        prop::option::of(prop_oneof![Just(vec!["null".to_string()]), prop::collection::vec(condition(), 1..4)]);
    (effect, prop::collection::vec(permission, 1..4), conditions, gap(), keyword("WHERE"), keyword("AND")).prop_map(
        |(effect, permissions, conditions, gap, where_, and)| {
            let mut text = format!("{effect} {}", permissions.join(&format!(",{gap}")));
            if let Some(conditions) = conditions {
                text.push_str(&format!("{gap}{where_} {}", conditions.join(&format!(" {and}{gap}"))));
            }
            text.push(';');
            text
        },
    )
}

fn policy() -> impl Strategy<Value = String> {
    (prop::collection::vec((statement(), gap()), 0..6), prop::option::of(Just("// trailing\n".to_string()))).prop_map(
        |(statements, tail)| {
            let mut text: String = statements.into_iter().map(|(s, g)| s + &g).collect();
            text.push_str(&tail.unwrap_or_default());
            text
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn formatting_keeps_the_meaning_and_is_idempotent(text in policy()) {
        let parsed = syntax::parse(&text, Kind::Policy);
        prop_assert!(!parsed.has_errors(), "{text}\n{:#?}", parsed.diagnostics);
        let formatted = syntax::format(&text, Kind::Policy).expect("no syntax errors");
        let reparsed = syntax::parse(&formatted, Kind::Policy);
        prop_assert!(!reparsed.has_errors(), "{formatted}");
        prop_assert_eq!(shape(&reparsed.document), shape(&parsed.document), "{}", formatted);
        prop_assert_eq!(reparsed.document.comments.len(), parsed.document.comments.len());
        prop_assert_eq!(syntax::format(&formatted, Kind::Policy), Some(formatted.clone()));
    }

    #[test]
    fn lint_and_fmt_never_panic(text in "[ -~\n\t“”‘’…\u{a0}\u{feff}é]{0,300}", boundary in prop::bool::ANY) {
        let kind = if boundary { Kind::Boundary } else { Kind::Policy };
        let linted = check::lint(&SourceFile::new("any", text.clone()), kind, Catalog::builtin());
        for d in &linted.diagnostics {
            prop_assert!(text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end));
            if let Some(fix) = &d.fix {
                for edit in &fix.edits {
                    prop_assert!(text.is_char_boundary(edit.span.start) && text.is_char_boundary(edit.span.end));
                }
            }
        }
        let (fixed, _) = warden::diagnostic::apply_fixes(&text, &linted.diagnostics);
        let _ = check::lint(&SourceFile::new("fixed", fixed), kind, Catalog::builtin());
        if let Some(formatted) = syntax::format(&text, kind) {
            prop_assert_eq!(syntax::format(&formatted, kind), Some(formatted.clone()));
        }
    }

    #[test]
    fn near_policies_never_panic(text in policy(), cut in 0usize..400, insert in "[;,()\"'/*“ ]{0,3}") {
        let at = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let mangled = format!("{}{insert}{}", &text[..at], &text[at..]);
        let linted = check::lint(&SourceFile::new("mangled", mangled.clone()), Kind::Policy, Catalog::builtin());
        let (fixed, _) = warden::diagnostic::apply_fixes(&mangled, &linted.diagnostics);
        let _ = check::lint(&SourceFile::new("fixed", fixed), Kind::Policy, Catalog::builtin());
        if let Some(formatted) = syntax::format(&mangled, Kind::Policy) {
            prop_assert_eq!(syntax::format(&formatted, Kind::Policy), Some(formatted.clone()));
        }
    }
}
