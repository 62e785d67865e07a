//! Lints for what a policy says twice: duplicate permissions and values, repeated statements,
//! and ALLOWs that a DENY of the same policy always overrides.

use rustc_hash::FxHashMap as HashMap;

use super::rules;
use super::shape::StatementShape;
use crate::diagnostic::{Diagnostic, Fix};
use crate::syntax::{Effect, Operand, Segment, Statement};

pub(super) fn duplicate_permissions(statement: &Statement, out: &mut Vec<Diagnostic>) {
    for (i, permission) in statement.permissions.iter().enumerate().skip(1) {
        if let Some(first) = statement.permissions[..i].iter().find(|p| p.text == permission.text) {
            // Remove from the end of the previous permission to the end of this one: `, x`.
            let previous_end = statement.permissions[i - 1].span.end;
            out.push(
                Diagnostic::new(
                    &rules::DUPLICATE_PERMISSION,
                    permission.span.clone(),
                    format!("`{}` is listed twice", permission.text),
                )
                .with_label(first.span.clone(), "first listed here")
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
    let mut denies: HashMap<&str, Vec<usize>> = HashMap::default();
    for (i, statement) in statements.iter().enumerate().filter(|(_, s)| s.effect == Effect::Deny) {
        for permission in &statement.permissions {
            denies.entry(permission.text.as_str()).or_default().push(i);
        }
    }
    if denies.is_empty() {
        return;
    }
    // The DENYs with the fewest conditions first: an unconditional one settles it at once.
    for candidates in denies.values_mut() {
        candidates.sort_by_key(|&d| (shapes[d].conditions.len(), d));
    }
    for (statement, shape) in statements.iter().zip(shapes).filter(|(s, _)| s.effect == Effect::Allow) {
        for permission in &statement.permissions {
            let Some(candidates) = denies.get(permission.text.as_str()) else { continue };
            let overriding =
                candidates.iter().find(|&&d| shapes[d].conditions.iter().all(|c| shape.conditions.contains(c)));
            if let Some(&deny) = overriding {
                let deny = &statements[deny];
                out.push(
                    Diagnostic::new(
                        &rules::OVERRIDDEN_ALLOW,
                        permission.span.clone(),
                        format!("this ALLOW of `{}` never takes effect: a DENY always overrides it", permission.text),
                    )
                    .with_label(deny.span.clone(), "this DENY always applies where the ALLOW does")
                    .with_help("remove the ALLOW, or narrow the DENY with conditions the ALLOW does not meet"),
                );
            }
        }
    }
}
