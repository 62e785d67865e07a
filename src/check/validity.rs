//! Checks against the catalog (language.md §4): permissions, keys, operators, operand shapes,
//! enumerated values, typed global values and list placeholders.

use super::rules;
use crate::catalog::{Catalog, OperatorSet, Permission};
use crate::diagnostic::{Diagnostic, Edit, Fix, did_you_mean, nearest};
use crate::syntax::{Condition, Effect, Operand, Placeholder, Segment, Statement, Where, condition_text};

/// Where a condition stands: in a statement (judged against its permissions) or in a
/// boundary (judged against every permission of the catalog).
pub(super) enum Scope<'c> {
    Statement(&'c [&'c Permission]),
    Boundary,
}

pub(super) fn statement(catalog: &Catalog, statement: &Statement, out: &mut Vec<Diagnostic>) {
    // Each known permission once: a condition is judged against at most the catalog's size.
    let mut known: Vec<&Permission> = Vec::with_capacity(statement.permissions.len().min(8));
    for name in &statement.permissions {
        match catalog.permission(&name.text) {
            Some(permission) if !known.iter().any(|k| std::ptr::eq(*k, permission)) => known.push(permission),
            Some(_) => {}
            None => out.push(unknown_permission(catalog, &name.text, name.span.clone())),
        }
    }
    let conditions = match &statement.where_clause {
        Some(Where::Conditions(conditions)) => conditions,
        _ => return,
    };
    if let Some(bare) = known.iter().find(|p| !p.takes_conditions) {
        let span = conditions[0].span.start..conditions[conditions.len() - 1].span.end;
        out.push(
            Diagnostic::new(&rules::NO_CONDITIONS_ALLOWED, span, format!("`{}` takes no conditions, not even `global:` ones", bare.name))
                .with_help("the platform refuses a WHERE on this permission; remove the conditions or move the permission into a statement of its own"),
        );
        return;
    }
    for condition in conditions {
        self::condition(catalog, condition, &Scope::Statement(&known), out);
    }
    unrestricted_permissions(catalog, statement, &known, conditions, out);
}

/// Decisions D30: a condition whose key only some permissions of the statement accept restricts
/// only those; each other permission gets a security warning, with a fix that splits the
/// statement so that what every permission gets is written out.
fn unrestricted_permissions(
    catalog: &Catalog,
    statement: &Statement,
    known: &[&Permission],
    conditions: &[Condition],
    out: &mut Vec<Diagnostic>,
) {
    let accepted_by = |condition: &Condition| known.iter().filter(|p| catalog.accepts(p, &condition.key.text)).count();
    let counts: Vec<usize> = conditions.iter().map(accepted_by).collect();
    if counts.iter().all(|&n| n == known.len()) {
        return;
    }
    // A condition no permission accepts is an error already; splitting would silently drop it.
    let fix = counts.iter().all(|&n| n > 0).then(|| split_fix(catalog, statement, conditions));
    for permission in known {
        let ignored: Vec<&Condition> = conditions
            .iter()
            .zip(&counts)
            .filter(|(c, n)| **n > 0 && !catalog.restricts(&permission.name, &c.key.text))
            .map(|(c, _)| c)
            .collect();
        let Some(first) = ignored.first() else { continue };
        let name = &permission.name;
        let span =
            statement.permissions.iter().find(|p| *p.text == **name).map_or(first.key.span.clone(), |p| p.span.clone());
        let keys: Vec<String> = ignored.iter().map(|c| format!("`{}`", c.key.text)).collect();
        let message = match ignored.as_slice() {
            [one] => format!(
                "the condition on `{}` does not restrict `{name}`, which does not accept that key",
                one.key.text
            ),
            _ => format!(
                "the conditions on {} do not restrict `{name}`, which accepts none of those keys",
                keys.join(", ")
            ),
        };
        let (verb, outcome) = match statement.effect {
            Effect::Allow => ("grants", "a wider grant"),
            Effect::Deny => ("denies", "a wider deny"),
        };
        let mut diagnostic = Diagnostic::new(&rules::KEY_ACCEPTED_BY_SOME, span, message).with_help(format!(
            "the platform accepts such a statement and applies each condition only to the permissions that \
             take its key (warden infers this from the platform's own published policies; it is not documented), \
             so this {verb} `{name}` without the condition: {outcome} than it reads. Split the statement so that \
             each permission's conditions are written out"
        ));
        for condition in &ignored {
            diagnostic = diagnostic.with_label(condition.key.span.clone(), format!("does not restrict `{name}`"));
        }
        if let Some(fix) = &fix {
            diagnostic = diagnostic.with_fix(fix.clone());
        }
        out.push(diagnostic);
    }
}

/// The statement rewritten as one statement per set of conditions its permissions accept, in
/// the order the permissions are listed; permissions the catalog does not know keep every condition.
fn split_fix(catalog: &Catalog, statement: &Statement, conditions: &[Condition]) -> Fix {
    let mut groups: Vec<(Vec<usize>, Vec<&str>)> = Vec::new();
    for name in &statement.permissions {
        let taken: Vec<usize> =
            (0..conditions.len()).filter(|&i| catalog.restricts(&name.text, &conditions[i].key.text)).collect();
        match groups.iter_mut().find(|(t, _)| *t == taken) {
            Some((_, names)) if names.contains(&&*name.text) => {}
            Some((_, names)) => names.push(&name.text),
            None => groups.push((taken, vec![&name.text])),
        }
    }
    let statements: Vec<String> = groups
        .iter()
        .map(|(taken, names)| {
            let head = format!("{} {}", statement.effect.keyword(), names.join(", "));
            match taken.as_slice() {
                [] => format!("{head};"),
                _ => {
                    let where_: Vec<String> = taken.iter().map(|&i| condition_text(&conditions[i])).collect();
                    format!("{head} WHERE {};", where_.join(" AND "))
                }
            }
        })
        .collect();
    Fix::replace(
        "split the statement so that each permission keeps only the conditions that restrict it",
        statement.span.clone(),
        statements.join("\n"),
    )
}

fn unknown_permission(catalog: &Catalog, name: &str, span: std::ops::Range<usize>) -> Diagnostic {
    if let Some(permission) = catalog.permissions().find(|p| p.name.eq_ignore_ascii_case(name)) {
        return Diagnostic::new(
            &rules::CASE_MISMATCH,
            span.clone(),
            format!("`{name}` is written `{}` in the catalog", permission.name),
        )
        .with_help("permissions are case-sensitive: as written, this one matches nothing")
        .with_fix(Fix::replace(format!("write `{}`", permission.name), span, permission.name.clone()));
    }
    let diagnostic = Diagnostic::new(&rules::UNKNOWN_PERMISSION, span, format!("unknown permission `{name}`"));
    match nearest(name, catalog.permissions().map(|p| p.name.as_str())) {
        Some(suggestion) => diagnostic.with_help(did_you_mean(suggestion)),
        None => {
            let service = name.split(':').next().unwrap_or_default();
            match catalog.service(service) {
                Some(_) => diagnostic.with_help(format!(
                    "`{service}` has no such permission; `warden catalog` lists the permissions it has"
                )),
                None => diagnostic.with_help(format!(
                    "the catalog has no service `{service}`; add your own services with `--catalog FILE`"
                )),
            }
        }
    }
}

pub(super) fn condition(catalog: &Catalog, condition: &Condition, scope: &Scope<'_>, out: &mut Vec<Diagnostic>) {
    let key = &*condition.key.text;
    let key_span = condition.key.span.clone();
    let accepted: Option<OperatorSet> = match scope {
        Scope::Boundary => match catalog.key_operators(key) {
            Some(ops) => Some(ops),
            None => {
                out.push(unknown_key(catalog, key, key_span, catalog.key_names().collect()));
                return;
            }
        },
        Scope::Statement(permissions) => {
            // The operator is judged by the permissions that take the key; those that do not
            // are left unrestricted (D30, warned about per statement).
            let mut all = None::<OperatorSet>;
            for permission in *permissions {
                if let Some(ops) = catalog.operators(permission, key) {
                    all = Some(all.map_or(ops, |a| intersection(a, ops)));
                }
            }
            if let (None, Some(first)) = (all, permissions.first()) {
                out.push(key_not_accepted(catalog, key, key_span, first));
                return;
            }
            all
        }
    };
    // With no known permission there is nothing to judge the operator by.
    let Some(accepted) = accepted else { return };
    if !accepted.contains(condition.operator) {
        out.push(
            Diagnostic::new(
                &rules::OPERATOR_NOT_ACCEPTED,
                condition.operator_span.clone(),
                format!("`{key}` does not take the operator `{}`", condition.operator),
            )
            .with_label(key_span, format!("`{key}` takes {}", accepted.describe()))
            .with_help(format!("use one of {}", accepted.describe())),
        );
        return;
    }
    operand_shape(condition, accepted, out);
    values(catalog, condition, out);
}

fn intersection(a: OperatorSet, b: OperatorSet) -> OperatorSet {
    a.iter().filter(|op| b.contains(*op)).collect()
}

fn unknown_key(catalog: &Catalog, key: &str, span: std::ops::Range<usize>, candidates: Vec<&str>) -> Diagnostic {
    if let Some(known) = catalog.key_names().find(|k| k.eq_ignore_ascii_case(key)) {
        return Diagnostic::new(
            &rules::CASE_MISMATCH,
            span.clone(),
            format!("`{key}` is written `{known}` in the catalog"),
        )
        .with_help("condition keys are case-sensitive: as written, this one matches nothing")
        .with_fix(Fix::replace(format!("write `{known}`"), span, known.to_string()));
    }
    let diagnostic = Diagnostic::new(&rules::UNKNOWN_KEY, span, format!("unknown condition key `{key}`"));
    match nearest(key, candidates) {
        Some(suggestion) => diagnostic.with_help(did_you_mean(suggestion)),
        None => diagnostic.with_help("no permission of the catalog accepts this key; a misspelt key restricts nothing"),
    }
}

fn key_not_accepted(catalog: &Catalog, key: &str, span: std::ops::Range<usize>, permission: &Permission) -> Diagnostic {
    let own: Vec<&str> = permission.keys.keys().map(String::as_str).collect();
    if catalog.key_operators(key).is_none() {
        // Prefer the permission's own keys; fall back to every key of the catalog.
        let candidates = match nearest(key, own.iter().copied()) {
            Some(own_key) => vec![own_key],
            None => catalog.key_names().collect(),
        };
        return unknown_key(catalog, key, span, candidates);
    }
    let diagnostic = Diagnostic::new(
        &rules::KEY_NOT_ACCEPTED,
        span,
        format!("`{}` does not accept the condition key `{key}`", permission.name),
    );
    match (nearest(key, own.iter().copied()), own.as_slice()) {
        (Some(suggestion), _) => diagnostic.with_help(did_you_mean(suggestion)),
        (None, []) => diagnostic.with_help(format!("`{}` accepts only `global:` keys", permission.name)),
        (None, keys) => diagnostic.with_help(format!(
            "`{}` accepts {}",
            permission.name,
            keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// `= ("a", "b")` → `IN ("a", "b")`; `IN "a"` → `IN ("a")`.
fn operand_shape(condition: &Condition, accepted: OperatorSet, out: &mut Vec<Diagnostic>) {
    let operator = condition.operator;
    match (&condition.operand, operator.takes_list()) {
        (Operand::Single(value), true) => {
            let span = value.span.clone();
            let raw_fix = Fix {
                description: format!("put the value in a list: `{operator} (…)`"),
                edits: vec![
                    Edit { span: span.start..span.start, replacement: "(".to_string() },
                    Edit { span: span.end..span.end, replacement: ")".to_string() },
                ],
            };
            out.push(
                Diagnostic::new(&rules::OPERAND_SHAPE, span, format!("`{operator}` takes a list of values"))
                    .with_help(format!("write the values in parentheses: `{operator} (\"a\", \"b\")`"))
                    .with_fix(raw_fix),
            );
        }
        (Operand::List { span, .. }, false) => {
            let mut diagnostic = Diagnostic::new(
                &rules::OPERAND_SHAPE,
                span.clone(),
                format!("`{operator}` takes one value, not a list"),
            );
            diagnostic = match operator.other_shape().filter(|op| accepted.contains(*op)) {
                Some(list_operator) => diagnostic
                    .with_help(format!("to compare with several values use `{list_operator}`"))
                    .with_fix(Fix::replace(
                        format!("use `{list_operator}`"),
                        condition.operator_span.clone(),
                        list_operator.as_str(),
                    )),
                None => diagnostic
                    .with_help(format!("write one condition per value, or one statement per value, with `{operator}`")),
            };
            out.push(diagnostic);
        }
        _ => {}
    }
}

fn values(catalog: &Catalog, condition: &Condition, out: &mut Vec<Diagnostic>) {
    let key = &*condition.key.text;
    let is_list = matches!(condition.operand, Operand::List { .. });
    for value in condition.operand.values() {
        for placeholder in value.placeholders().filter(|p| p.is_list()) {
            let whole = value.segments.len() == 1 && is_list;
            if !whole {
                out.push(
                    Diagnostic::new(&rules::LIST_PLACEHOLDER, value.span.clone(), format!("`{placeholder}` stands for a list of values"))
                        .with_help("a list placeholder stands alone as an element of an `IN`, `NOT IN` or `MATCH` list: `IN (\"${global:userGroup}\")`"),
                );
            }
        }
        let Some(text) = value.literal() else { continue };
        let text = text.as_ref();
        if let Some(allowed) = catalog.enumerated_values(key) {
            if !allowed.iter().any(|a| a == text) {
                let listed = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
                let mut diagnostic = Diagnostic::new(
                    &rules::UNKNOWN_VALUE,
                    value.span.clone(),
                    format!("`{text}` is not a value of `{key}`"),
                );
                diagnostic = match allowed.iter().find(|a| a.eq_ignore_ascii_case(text)) {
                    Some(same) => diagnostic
                        .with_help(format!("values are case-sensitive: {}", did_you_mean(same)))
                        .with_fix(Fix::replace(format!("write `{same}`"), value.span.clone(), format!("\"{same}\""))),
                    None => match nearest(text, allowed.iter().map(String::as_str)) {
                        Some(suggestion) => {
                            diagnostic.with_help(format!("{} `{key}` takes {listed}", did_you_mean(suggestion)))
                        }
                        None => diagnostic.with_help(format!("`{key}` takes {listed}")),
                    },
                };
                out.push(diagnostic);
            }
        }
        if let Some((kind, _)) = catalog.global(key) {
            if let Err(reason) = kind.parse_value(text) {
                out.push(
                    Diagnostic::new(
                        &rules::INVALID_GLOBAL_VALUE,
                        value.span.clone(),
                        format!("`{text}` is not a valid value of `{key}`"),
                    )
                    .with_help(reason),
                );
            }
        }
    }
}

/// Whether a string has a placeholder whose value the binding decides.
pub(super) fn has_bind_param(segments: &[Segment]) -> bool {
    segments.iter().any(|s| matches!(s, Segment::Placeholder(Placeholder::BindParam(_))))
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::check::lint;
    use crate::diagnostic::{SourceFile, apply_fixes};
    use crate::syntax::Kind;

    fn codes(text: &str) -> Vec<&'static str> {
        let linted = lint(&SourceFile::new("p.policy", text), Kind::Policy, Catalog::builtin());
        linted.diagnostics.iter().map(|d| d.code()).collect()
    }

    #[test]
    fn a_key_only_some_permissions_take_is_a_warning_and_the_fix_splits_the_statement() {
        let text = "ALLOW app-engine:edge-connects:write, oauth2:clients:manage WHERE oauth2:scopes = \"x\";\n";
        assert_eq!(codes(text), ["W0111"]);
        let linted = lint(&SourceFile::new("p.policy", text), Kind::Policy, Catalog::builtin());
        let (fixed, applied) = apply_fixes(text, &linted.diagnostics);
        assert_eq!(applied, 1);
        assert_eq!(
            fixed,
            "ALLOW app-engine:edge-connects:write;\nALLOW oauth2:clients:manage WHERE oauth2:scopes = \"x\";\n"
        );
        assert!(codes(&fixed).is_empty(), "the split statements are clean: {:?}", codes(&fixed));
    }

    #[test]
    fn a_key_no_permission_takes_stays_an_error() {
        let text = "ALLOW app-engine:edge-connects:write, storage:logs:read WHERE oauth2:scopes = \"x\";\n";
        assert_eq!(codes(text), ["E0103"]);
    }
}
