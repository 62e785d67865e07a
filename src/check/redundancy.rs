//! Lints for what a policy says twice: duplicate permissions and values, repeated statements,
//! and ALLOWs that a DENY of the same policy always overrides.

use std::borrow::Cow;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::rules;
use super::shape::{ConditionShape, Set, StatementShape};
use crate::catalog::Catalog;
use crate::diagnostic::{Diagnostic, Fix, Label};
use crate::syntax::{Effect, Operand, Segment, Statement};

pub(super) fn duplicate_permissions(statement: &Statement, out: &mut Vec<Diagnostic>) {
    if statement.permissions.len() < 2 {
        return;
    }
    let mut first: HashMap<&str, usize> = HashMap::default();
    for (i, permission) in statement.permissions.iter().enumerate() {
        let earlier = *first.entry(&*permission.text).or_insert(i);
        if earlier != i {
            // Remove from the end of the previous permission to the end of this one: `, x`.
            let previous_end = statement.permissions[i - 1].span.end;
            out.push(
                Diagnostic::new(
                    &rules::DUPLICATE_PERMISSION,
                    permission.span.clone(),
                    format!("`{}` is listed twice", permission.text),
                )
                .with_label(statement.permissions[earlier].span.clone(), "first listed here")
                .with_help("remove the second one")
                .with_fix(Fix::replace("remove the duplicate", previous_end..permission.span.end, "")),
            );
        }
    }
}

pub(super) fn duplicate_values<'a>(operands: impl Iterator<Item = &'a Operand>, out: &mut Vec<Diagnostic>) {
    for operand in operands {
        let Operand::List { items, .. } = operand else { continue };
        if items.len() < 2 {
            continue;
        }
        let mut first: HashMap<&[Segment], usize> = HashMap::default();
        for (i, item) in items.iter().enumerate() {
            let earlier = *first.entry(item.segments.as_slice()).or_insert(i);
            if earlier != i {
                let previous_end = items[i - 1].span.end;
                out.push(
                    Diagnostic::new(
                        &rules::DUPLICATE_VALUE,
                        item.span.clone(),
                        format!("`{}` is in the list twice", item.display_value()),
                    )
                    .with_label(items[earlier].span.clone(), "first here")
                    .with_help("remove the second one")
                    .with_fix(Fix::replace(
                        "remove the duplicate",
                        previous_end..item.span.end,
                        "",
                    )),
                );
            }
        }
    }
}

/// Keeps a finding with one label and a help, completed where it is kept: a large policy has
/// thousands of these, and a chain of builders would move each through several copies.
fn push_labelled(out: &mut Vec<Diagnostic>, finding: Diagnostic, label: Label, help: &'static str) {
    out.push(finding);
    let kept = out.last_mut().expect("just pushed");
    kept.labels.push(label);
    kept.help = Some(help.into());
}

pub(super) fn repeated_statements(statements: &[Statement], shapes: &[StatementShape<'_>], out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&StatementShape<'_>, usize> = HashMap::default();
    seen.reserve(statements.len());
    for (i, shape) in shapes.iter().enumerate() {
        let first = *seen.entry(shape).or_insert(i);
        if first != i {
            push_labelled(
                out,
                Diagnostic::new(
                    &rules::REPEATED_STATEMENT,
                    statements[i].span.clone(),
                    "this statement repeats an earlier one",
                ),
                Label { span: statements[first].span.clone(), message: "the same statement first stands here".into() },
                "remove one of them; a repeated statement grants or denies nothing more",
            );
        }
    }
}

/// An ALLOW of `p` is always overridden when a DENY of `p` in the same policy has no condition
/// that the ALLOW does not also have: whenever the ALLOW applies, so does the DENY. Each
/// statement is read for `p` as evaluation reads it (decisions D30): a condition on a key that `p`
/// does not accept is no part of it, so a DENY that names `p` beside a permission that takes the
/// key denies `p` without that condition.
pub(super) fn overridden_allows(
    statements: &[Statement],
    shapes: &[StatementShape<'_>],
    catalog: &Catalog,
    out: &mut Vec<Diagnostic>,
) {
    // Each distinct DENY once per permission, filed under the permission and the first
    // (smallest) condition that restricts it: a DENY whose conditions are all among an ALLOW's
    // has its first one among them too, so an ALLOW looks only under its own conditions and
    // under "none" (the DENYs that are unconditional for the permission).
    type Filed<'a, 's> = HashMap<(&'a str, Option<&'s ConditionShape<'a>>), Vec<usize>>;
    let mut denies: Filed<'_, '_> = HashMap::default();
    let mut seen: HashSet<(&str, Option<&Set<ConditionShape<'_>>>)> = HashSet::default();
    for (i, statement) in statements.iter().enumerate().filter(|(_, s)| s.effect == Effect::Deny) {
        let shape = &shapes[i];
        for permission in &statement.permissions {
            let name = &*permission.text;
            if seen.insert((name, shape.conditions.as_ref())) {
                let first = shape.conditions().find(|c| catalog.restricts(name, c.key));
                denies.entry((name, first)).or_default().push(i);
            }
        }
    }
    if denies.is_empty() {
        return;
    }
    for (statement, shape) in statements.iter().zip(shapes).filter(|(s, _)| s.effect == Effect::Allow) {
        for permission in &statement.permissions {
            let name = &*permission.text;
            // A DENY's condition that restricts `name` restricts it in the ALLOW too: it is the
            // ALLOW's when the ALLOW's whole set holds it.
            let restricts = |condition: &&ConditionShape<'_>| catalog.restricts(name, condition.key);
            let filed = std::iter::once(None).chain(shape.conditions().filter(restricts).map(Some));
            let overriding = filed
                .filter_map(|first| denies.get(&(name, first)))
                .flatten()
                .filter(|&&d| shapes[d].conditions().filter(restricts).all(|c| shape.has_condition(c)))
                .min_by_key(|&&d| (shapes[d].conditions().filter(restricts).count(), d));
            let Some(&deny) = overriding else { continue };
            let mut dropped: Vec<String> =
                shapes[deny].conditions().filter(|c| !restricts(c)).map(|c| format!("`{}`", c.key)).collect();
            dropped.dedup();
            let always = "this DENY always applies where the ALLOW does";
            let label: Cow<'static, str> = match dropped.as_slice() {
                [] => always.into(),
                [key] => format!(
                    "{always}: its condition on {key} does not restrict `{name}`, which does not accept that key"
                )
                .into(),
                keys => format!(
                    "{always}: its conditions on {} do not restrict `{name}`, which accepts none of those keys",
                    keys.join(", ")
                )
                .into(),
            };
            // Thousands in a large policy: `concat` costs a fraction of `format!`.
            let message = ["this ALLOW of `", name, "` never takes effect: a DENY always overrides it"].concat();
            push_labelled(
                out,
                Diagnostic::new(&rules::OVERRIDDEN_ALLOW, permission.span.clone(), message),
                Label { span: statements[deny].span.clone(), message: label },
                "remove the ALLOW, or narrow the DENY with conditions the ALLOW does not meet",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::check::lint;
    use crate::diagnostic::SourceFile;
    use crate::syntax::Kind;

    /// The permissions whose ALLOW is reported as always overridden.
    fn overridden(text: &str) -> Vec<String> {
        let linted = lint(&SourceFile::new("p.policy", text), Kind::Policy, Catalog::builtin());
        linted.diagnostics.iter().filter(|d| d.code() == "W0203").map(|d| text[d.span.clone()].to_string()).collect()
    }

    #[test]
    fn a_deny_is_read_per_permission_as_evaluation_reads_it() {
        // `settings:objects:write` does not take the namespace key: for it the DENY holds
        // without its condition (D30), so it overrides every ALLOW of it; for
        // `storage:logs:read` it holds only in namespace `vault`.
        let deny = "DENY settings:objects:write, storage:logs:read WHERE storage:k8s.namespace.name = \"vault\";\n";
        let text =
            format!("{deny}ALLOW settings:objects:write WHERE settings:schemaId = \"x\";\nALLOW storage:logs:read;\n");
        assert_eq!(overridden(&text), ["settings:objects:write"]);
        let within = format!("{deny}ALLOW storage:logs:read WHERE storage:k8s.namespace.name = \"vault\";\n");
        assert_eq!(overridden(&within), ["storage:logs:read"]);
        // An ALLOW's condition that does not restrict its permission does not narrow it either:
        // a DENY on that condition does not cover the wider grant.
        let wider_allow = "ALLOW settings:objects:write, storage:logs:read WHERE storage:k8s.namespace.name = \"vault\";\n\
                           DENY settings:objects:write WHERE storage:k8s.namespace.name = \"vault\";\n";
        assert_eq!(overridden(wider_allow), ["settings:objects:write"], "the DENY is unconditional as well");
        let narrower_deny = "ALLOW settings:objects:write, storage:logs:read WHERE storage:k8s.namespace.name = \"vault\";\n\
                             DENY settings:objects:write WHERE settings:schemaId = \"x\";\n";
        assert!(overridden(narrower_deny).is_empty());
    }
}
