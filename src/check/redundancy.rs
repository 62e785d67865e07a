//! Lints for what a policy says twice: duplicate permissions and values, repeated statements,
//! and ALLOWs that a DENY of the same policy always overrides.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::rules;
use super::shape::{ConditionShape, Set, StatementShape};
use crate::diagnostic::{Diagnostic, Fix};
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

pub(super) fn repeated_statements(statements: &[Statement], shapes: &[StatementShape<'_>], out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&StatementShape<'_>, usize> = HashMap::default();
    seen.reserve(statements.len());
    for (i, shape) in shapes.iter().enumerate() {
        let first = *seen.entry(shape).or_insert(i);
        if first != i {
            out.push(
                Diagnostic::new(
                    &rules::REPEATED_STATEMENT,
                    statements[i].span.clone(),
                    "this statement repeats an earlier one",
                )
                .with_label(statements[first].span.clone(), "the same statement first stands here")
                .with_help("remove one of them; a repeated statement grants or denies nothing more"),
            );
        }
    }
}

/// An ALLOW of `p` is always overridden when a DENY of `p` in the same policy has no condition
/// that the ALLOW does not also have: whenever the ALLOW applies, so does the DENY.
pub(super) fn overridden_allows(statements: &[Statement], shapes: &[StatementShape<'_>], out: &mut Vec<Diagnostic>) {
    // Each distinct DENY once, filed under its permission and its first (smallest) condition:
    // a DENY whose conditions are all among an ALLOW's has its first one among them too, so an
    // ALLOW looks only under its own conditions and under "none" (the unconditional DENYs).
    type Filed<'a, 's> = HashMap<(&'a str, Option<&'s ConditionShape<'a>>), Vec<usize>>;
    let mut denies: Filed<'_, '_> = HashMap::default();
    let mut seen: HashSet<(&str, Option<&Set<ConditionShape<'_>>>)> = HashSet::default();
    for (i, statement) in statements.iter().enumerate().filter(|(_, s)| s.effect == Effect::Deny) {
        let shape = &shapes[i];
        for permission in &statement.permissions {
            if seen.insert((&*permission.text, shape.conditions.as_ref())) {
                denies.entry((&*permission.text, shape.conditions().next())).or_default().push(i);
            }
        }
    }
    if denies.is_empty() {
        return;
    }
    for (statement, shape) in statements.iter().zip(shapes).filter(|(s, _)| s.effect == Effect::Allow) {
        for permission in &statement.permissions {
            let name = &*permission.text;
            let filed = std::iter::once(None).chain(shape.conditions().map(Some));
            let overriding = filed
                .filter_map(|first| denies.get(&(name, first)))
                .flatten()
                .filter(|&&d| shapes[d].conditions().all(|c| shape.has_condition(c)))
                .min_by_key(|&&d| (shapes[d].condition_count(), d));
            if let Some(&deny) = overriding {
                let deny = &statements[deny];
                out.push(
                    Diagnostic::new(
                        &rules::OVERRIDDEN_ALLOW,
                        permission.span.clone(),
                        format!("this ALLOW of `{name}` never takes effect: a DENY always overrides it"),
                    )
                    .with_label(deny.span.clone(), "this DENY always applies where the ALLOW does")
                    .with_help("remove the ALLOW, or narrow the DENY with conditions the ALLOW does not meet"),
                );
            }
        }
    }
}
