//! Checks of boundary texts (language.md §6, decisions D18).

use std::collections::HashMap;

use super::rules;
use super::validity::{self, Scope};
use crate::catalog::Catalog;
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::syntax::{Condition, Operator};

pub(super) fn check(file: &SourceFile, catalog: &Catalog, conditions: &[Condition], out: &mut Vec<Diagnostic>) {
    for condition in conditions {
        validity::condition(catalog, condition, &Scope::Boundary, out);
    }
    repeated_keys(file, conditions, out);
}

/// D18: lines repeating a key with `=`, `IN`, `startsWith` or `MATCH` are alternatives (one
/// copy of the statement each); with `<`, `>`, `!=`, `NOT IN`, `NOT startsWith` they all apply.
fn repeated_keys(file: &SourceFile, conditions: &[Condition], out: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &Condition> = HashMap::new();
    for condition in conditions {
        let Some(earlier) = first.get(&*condition.key.text) else {
            first.insert(&condition.key.text, condition);
            continue;
        };
        let (line, _) = file.line_column(earlier.span.start);
        let alternative =
            |op: Operator| matches!(op, Operator::Eq | Operator::In | Operator::StartsWith | Operator::Match);
        let meaning = match (alternative(earlier.operator), alternative(condition.operator)) {
            (true, true) => "the two lines are alternatives: each bound ALLOW is copied once per line (OR)",
            (false, false) => "the two lines apply together (AND), as a window or an exclusion",
            _ => {
                "the line with a positive operator is an alternative (OR) while the negative one applies to every copy (AND)"
            }
        };
        out.push(
            Diagnostic::new(
                &rules::REPEATED_BOUNDARY_KEY,
                condition.key.span.clone(),
                format!("`{}` also restricts line {line}: {meaning}", condition.key.text),
            )
            .with_label(earlier.key.span.clone(), "first restricted here")
            .with_help(
                "if you meant a choice of values, one `IN (…)` line says it plainly; see decisions D18 in the README",
            ),
        );
    }
}
