//! Lints for what a policy says twice: duplicate permissions and values, repeated statements,
//! and ALLOWs that a DENY of the same policy always overrides.

use std::collections::HashMap;

use super::rules;
use super::shape::{ConditionShape, condition_shape};
use crate::diagnostic::{Diagnostic, Fix, SourceFile};
use crate::syntax::{Effect, Operand, Statement};

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
        for (i, item) in items.iter().enumerate().skip(1) {
            if let Some(first) = items[..i].iter().find(|other| other.segments == item.segments) {
                let previous_end = items[i - 1].span.end;
                out.push(
                    Diagnostic::new(
                        &rules::DUPLICATE_VALUE,
                        item.span.clone(),
                        format!("`{}` is in the list twice", item.display_value()),
                    )
                    .with_label(first.span.clone(), "first here")
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

/// What makes two statements the same, spans aside and order aside.
#[derive(PartialEq, Eq, Hash)]
struct StatementShape {
    effect: Effect,
    permissions: Vec<String>,
    conditions: Vec<ConditionShape>,
}

fn statement_shape(statement: &Statement) -> StatementShape {
    let mut permissions: Vec<String> = statement.permissions.iter().map(|p| p.text.clone()).collect();
    permissions.sort();
    permissions.dedup();
    let mut conditions: Vec<ConditionShape> = statement.conditions().iter().map(condition_shape).collect();
    conditions.sort();
    conditions.dedup();
    StatementShape { effect: statement.effect, permissions, conditions }
}

pub(super) fn repeated_statements(file: &SourceFile, statements: &[Statement], out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<StatementShape, usize> = HashMap::with_capacity(statements.len());
    for (i, statement) in statements.iter().enumerate() {
        if let Some(&first) = seen.get(&statement_shape(statement)) {
            let (line, _) = file.line_column(statements[first].span.start);
            out.push(
                Diagnostic::new(
                    &rules::REPEATED_STATEMENT,
                    statement.span.clone(),
                    format!("this statement repeats the one on line {line}"),
                )
                .with_label(statements[first].span.clone(), "the same statement")
                .with_help("remove one of them; a repeated statement grants or denies nothing more"),
            );
        } else {
            seen.insert(statement_shape(statement), i);
        }
    }
}

/// An ALLOW of `p` is always overridden when a DENY of `p` in the same policy has no condition
/// that the ALLOW does not also have: whenever the ALLOW applies, so does the DENY.
pub(super) fn overridden_allows(file: &SourceFile, statements: &[Statement], out: &mut Vec<Diagnostic>) {
    let mut denies: HashMap<&str, Vec<(&Statement, Vec<ConditionShape>)>> = HashMap::new();
    for statement in statements.iter().filter(|s| s.effect == Effect::Deny) {
        let conditions: Vec<ConditionShape> = statement.conditions().iter().map(condition_shape).collect();
        for permission in &statement.permissions {
            denies.entry(permission.text.as_str()).or_default().push((statement, conditions.clone()));
        }
    }
    if denies.is_empty() {
        return;
    }
    for statement in statements.iter().filter(|s| s.effect == Effect::Allow) {
        let conditions: Vec<ConditionShape> = statement.conditions().iter().map(condition_shape).collect();
        for permission in &statement.permissions {
            let Some(candidates) = denies.get(permission.text.as_str()) else { continue };
            let overriding = candidates.iter().find(|(_, deny)| deny.iter().all(|c| conditions.contains(c)));
            if let Some((deny, _)) = overriding {
                let (line, _) = file.line_column(deny.span.start);
                out.push(
                    Diagnostic::new(
                        &rules::OVERRIDDEN_ALLOW,
                        permission.span.clone(),
                        format!(
                            "this ALLOW of `{}` never takes effect: the DENY on line {line} always overrides it",
                            permission.text
                        ),
                    )
                    .with_label(deny.span.clone(), "DENY beats ALLOW")
                    .with_help("remove the ALLOW, or narrow the DENY with conditions the ALLOW does not meet"),
                );
            }
        }
    }
}
