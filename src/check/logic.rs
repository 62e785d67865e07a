//! Lints about what statements mean: contradictions, `WHERE null`, unconditional DENYs, MATCH
//! patterns without a wildcard, conditions that every value satisfies, and values padded with
//! spaces that no id has.

use std::collections::HashMap;

use super::rules;
use super::validity::has_bind_param;
use crate::diagnostic::{Diagnostic, Edit, Fix};
use crate::syntax::{Condition, Effect, Operator, Statement, StringLit, Where};

pub(super) fn statement(statement: &Statement, out: &mut Vec<Diagnostic>) {
    match &statement.where_clause {
        Some(Where::Null(span)) => {
            let from = statement.permissions.last().map_or(span.start, |p| p.span.end);
            out.push(
                Diagnostic::new(&rules::WHERE_NULL, span.clone(), "`WHERE null` is the same as no WHERE")
                    .with_help("remove `WHERE null`")
                    .with_fix(Fix::replace("remove `WHERE null`", from..span.end, "")),
            );
        }
        None if statement.effect == Effect::Deny => {
            let names: Vec<String> = statement.permissions.iter().map(|p| format!("`{}`", p.text)).collect();
            out.push(
                Diagnostic::new(&rules::UNCONDITIONAL_DENY, statement.effect_span.clone(), format!("unconditional DENY of {}", names.join(", ")))
                    .with_label(statement.span.clone(), "no condition narrows this DENY")
                    .with_help("the platform advises granting less instead of denying everything; if you mean it, write `// warden:ignore W0303` on the line before"),
            );
        }
        _ => {}
    }
    let conditions = statement.conditions();
    contradictions(conditions, out);
    for condition in conditions {
        match_without_wildcard(condition, out);
        if statement.effect == Effect::Allow {
            matches_everything(condition, out);
        }
    }
}

/// A value with leading or trailing spaces (`" group:x"`): no id, name or key value has them, so
/// as written it matches nothing; usually the spaces came with a copy. The fix trims them.
pub(super) fn padded_values(text: &str, conditions: &[Condition], out: &mut Vec<Diagnostic>) {
    for value in conditions.iter().flat_map(|c| c.operand.values()) {
        let Some(raw) = text.get(value.span.clone()) else { continue };
        let mut chars = raw.chars();
        let (Some(open), Some(close)) = (chars.next(), chars.next_back()) else { continue };
        // An unterminated string is an error already.
        if !is_quote(open) || !is_quote(close) {
            continue;
        }
        let inner = chars.as_str();
        let start = value.span.start + open.len_utf8();
        let leading = inner.len() - inner.trim_start().len();
        let trailing = inner.len() - inner.trim_end().len();
        if leading == 0 && trailing == 0 {
            continue;
        }
        let trimmed = inner.trim();
        let spaces = |n: usize, place: &str| match n {
            1 => format!("a {place} space"),
            n => format!("{n} {place} spaces"),
        };
        let count = |s: &str| s.chars().count();
        let what = match (leading, trailing) {
            _ if trimmed.is_empty() => "is nothing but spaces".to_string(),
            (0, _) => format!("has {}", spaces(count(&inner[inner.len() - trailing..]), "trailing")),
            (_, 0) => format!("has {}", spaces(count(&inner[..leading]), "leading")),
            _ => format!(
                "has {} and {}",
                spaces(count(&inner[..leading]), "leading"),
                spaces(count(&inner[inner.len() - trailing..]), "trailing")
            ),
        };
        let mut diagnostic = Diagnostic::new(&rules::PADDED_VALUE, value.span.clone(), format!("the value {raw} {what}"))
        .with_help("no id, name or key value starts or ends with a space, so as written it matches no real value; the spaces usually come with a copy");
        if !trimmed.is_empty() {
            let end = start + inner.len();
            diagnostic = diagnostic.with_fix(Fix {
                description: format!("trim the value to \"{trimmed}\""),
                edits: [(start, start + leading), (end - trailing, end)]
                    .into_iter()
                    .filter(|(from, to)| from < to)
                    .map(|(from, to)| Edit { span: from..to, replacement: String::new() })
                    .collect(),
            });
        }
        out.push(diagnostic);
    }
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '“' | '”' | '‘' | '’')
}

/// Decisions D8: only a positive and a negative condition on one key that cannot both hold.
/// Linear in the conditions: the excluded values and prefixes of each key go into maps first.
pub(super) fn contradictions(conditions: &[Condition], out: &mut Vec<Diagnostic>) {
    let mut excluded: HashMap<(&str, String), &Condition> = HashMap::new();
    let mut excluded_prefixes: HashMap<(&str, String), &Condition> = HashMap::new();
    for negative in conditions.iter().filter(|c| c.operator.is_negative()) {
        let target = if negative.operator == Operator::NotStartsWith { &mut excluded_prefixes } else { &mut excluded };
        for value in negative.operand.values().iter().filter_map(StringLit::literal) {
            target.entry((&*negative.key.text, value.into_owned())).or_insert(negative);
        }
    }
    if excluded.is_empty() && excluded_prefixes.is_empty() {
        return;
    }
    for positive in
        conditions.iter().filter(|c| matches!(c.operator, Operator::Eq | Operator::In | Operator::StartsWith))
    {
        let key = &*positive.key.text;
        let excluder = |value: &str| -> Option<&Condition> {
            if positive.operator == Operator::StartsWith {
                // Some excluded prefix is a prefix of this one.
                value
                    .char_indices()
                    .map(|(i, _)| &value[..i])
                    .chain([value])
                    .find_map(|p| excluded_prefixes.get(&(key, p.to_string())).copied())
            } else {
                excluded.get(&(key, value.to_string())).copied()
            }
        };
        let literals: Option<Vec<_>> = positive.operand.values().iter().map(StringLit::literal).collect();
        let Some(literals) = literals else { continue };
        let excluders: Option<Vec<&Condition>> = literals.iter().map(|v| excluder(v)).collect();
        if let Some(negative) = excluders.and_then(|all| all.first().copied()) {
            out.push(
                Diagnostic::new(
                    &rules::CONTRADICTION,
                    positive.span.clone(),
                    format!("`{key}` cannot both match and not match these values: the statement never applies"),
                )
                .with_label(negative.span.clone(), "this condition excludes every value the other requires")
                .with_help("remove one of the two conditions"),
            );
        }
    }
}

/// Stars that are wildcards: not escaped with a backslash (decisions D5).
fn has_wildcard(pattern: &str) -> bool {
    let mut escaped = false;
    for c in pattern.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '*' if !escaped => return true,
            _ => escaped = false,
        }
    }
    false
}

fn match_without_wildcard(condition: &Condition, out: &mut Vec<Diagnostic>) {
    if condition.operator != Operator::Match {
        return;
    }
    let values = condition.operand.values();
    if values.iter().any(|v| has_bind_param(&v.segments)) {
        // A bind parameter may bring its own `*`.
        return;
    }
    let literals: Option<Vec<&str>> = values.iter().map(StringLit::pattern).collect();
    let Some(literals) = literals else { return };
    if literals.iter().any(|p| has_wildcard(p)) {
        return;
    }
    let mut diagnostic = Diagnostic::new(
        &rules::MATCH_WITHOUT_WILDCARD,
        condition.operator_span.clone(),
        "`MATCH` without a `*` compares the whole value, like `IN`",
    )
    .with_help("use `IN` for exact values; `MATCH` is for patterns such as `\"team-*\"`");
    if literals.iter().all(|p| !p.contains('\\')) {
        diagnostic = diagnostic.with_fix(Fix::replace("use `IN`", condition.operator_span.clone(), "IN"));
    }
    out.push(diagnostic);
}

fn matches_everything(condition: &Condition, out: &mut Vec<Diagnostic>) {
    let everything = |v: &StringLit| match (condition.operator, v.pattern()) {
        (Operator::Match, Some(pattern)) => !pattern.is_empty() && pattern.chars().all(|c| c == '*'),
        (Operator::StartsWith, Some(prefix)) => prefix.is_empty(),
        _ => false,
    };
    if let Some(value) = condition.operand.values().iter().find(|v| everything(v)) {
        out.push(
            Diagnostic::new(
                &rules::MATCHES_EVERYTHING,
                value.span.clone(),
                format!("every value of `{}` satisfies this condition: it restricts nothing", condition.key.text),
            )
            .with_label(condition.span.clone(), "always true when the attribute is present")
            .with_help("name the values you mean to allow, or drop the condition if access to everything is intended"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{Kind, parse};

    #[test]
    fn escaped_backslash_and_escaped_star_stay_apart() {
        let parsed = parse(r#"ALLOW a:b:c WHERE k:v MATCH ("a\\*", "b\*");"#, Kind::Policy);
        let values = parsed.document.statements[0].conditions()[0].operand.values();
        let patterns: Vec<&str> = values.iter().map(|v| v.pattern().unwrap()).collect();
        assert_eq!(patterns, [r"a\\*", r"b\*"]);
        assert!(has_wildcard(patterns[0]), "a backslash, then a wildcard");
        assert!(!has_wildcard(patterns[1]), "a literal star");
        assert_eq!(values[0].literal().unwrap(), r"a\*");
        assert_eq!(
            crate::syntax::format(r#"ALLOW a:b:c WHERE k:v MATCH ("a\\*", 'b\*');"#, Kind::Policy).unwrap(),
            "ALLOW a:b:c WHERE k:v MATCH (\"a\\\\*\", \"b\\*\");\n"
        );
    }

    #[test]
    fn padded_values_are_trimmed_in_policies_and_boundaries() {
        use crate::catalog::Catalog;
        use crate::diagnostic::{SourceFile, apply_fixes};
        for (kind, text, fixed) in [
            (
                Kind::Policy,
                "ALLOW storage:logs:read WHERE storage:host.name IN (\" a\", 'b  ');\n",
                "ALLOW storage:logs:read WHERE storage:host.name IN (\"a\", 'b');\n",
            ),
            (Kind::Boundary, "storage:host.name = \"\tweb-1 \";\n", "storage:host.name = \"web-1\";\n"),
        ] {
            let linted = crate::check::lint(&SourceFile::new("f", text), kind, Catalog::builtin());
            assert!(linted.diagnostics.iter().all(|d| d.code() == "W0306"), "{:?}", linted.diagnostics);
            assert_eq!(apply_fixes(text, &linted.diagnostics).0, fixed);
        }
    }
}
