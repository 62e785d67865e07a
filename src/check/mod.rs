//! Validation against the catalog and the lints (language.md §4–5): one file per family.
//! [`lint`] runs the parser and every check on a text and returns all findings, sorted.

mod boundary;
mod logic;
mod redundancy;
pub mod rules;
mod shape;
mod style;
mod suppress;
mod validity;

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::catalog::Catalog;
use crate::diagnostic::{self, Diagnostic, Rule, SourceFile};
use crate::syntax::{self, Document, Kind};

/// A linted text: its syntax tree and every finding.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Linted {
    /// The syntax tree, as far as the parser could build it.
    pub document: Document,
    /// Every finding, syntax ones included, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Linted {
    /// Whether a finding makes the text invalid.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Every rule warden reports, syntax first, then the checks and the tenant rules, in code order.
pub fn all_rules() -> &'static [&'static Rule] {
    static ALL: OnceLock<Vec<&'static Rule>> = OnceLock::new();
    ALL.get_or_init(|| {
        syntax::error::rules::ALL.iter().chain(rules::ALL.iter()).chain(rules::TENANT.iter()).copied().collect()
    })
}

fn known_codes() -> &'static HashSet<&'static str> {
    static CODES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    CODES.get_or_init(|| all_rules().iter().map(|rule| rule.code).collect())
}

/// From this many statements on, a policy's findings are given room before they are made.
const RESERVED_FROM: usize = 1000;

/// Parses and checks one file.
pub fn lint(file: &SourceFile, kind: Kind, catalog: &Catalog) -> Linted {
    lint_sharing(file, kind, catalog, &mut syntax::Names::default())
}

/// [`lint`], the parse sharing names with the files linted before ([`syntax::parse_sharing`]).
pub fn lint_sharing(file: &SourceFile, kind: Kind, catalog: &Catalog, names: &mut syntax::Names) -> Linted {
    let parsed = syntax::parse_sharing(&file.text, kind, names);
    let document = parsed.document;
    let mut diagnostics = parsed.diagnostics;
    match kind {
        Kind::Policy => {
            // A large policy's findings get room for two a statement, about what a generated
            // one has: the list does not grow by copies of itself (megabytes), and is trimmed
            // at the end. A small one's list is small: reserving would cost more than it saves.
            if document.statements.len() >= RESERVED_FROM {
                diagnostics.reserve(2 * document.statements.len());
            }
            for statement in &document.statements {
                validity::statement(catalog, statement, &mut diagnostics);
                redundancy::duplicate_permissions(statement, &mut diagnostics);
                redundancy::duplicate_values(statement.conditions().iter().map(|c| &c.operand), &mut diagnostics);
                logic::statement(statement, &mut diagnostics);
                logic::padded_values(&file.text, statement.conditions(), &mut diagnostics);
            }
            let shapes: Vec<_> = document.statements.iter().map(shape::statement_shape).collect();
            redundancy::repeated_statements(&document.statements, &shapes, &mut diagnostics);
            redundancy::overridden_allows(&document.statements, &shapes, catalog, &mut diagnostics);
        }
        Kind::Boundary => {
            let conditions: Vec<_> = document.boundary.iter().map(|(c, _)| c.clone()).collect();
            boundary::check(file, catalog, &conditions, &mut diagnostics);
            redundancy::duplicate_values(conditions.iter().map(|c| &c.operand), &mut diagnostics);
            logic::contradictions(&conditions, &mut diagnostics);
            logic::padded_values(&file.text, &conditions, &mut diagnostics);
        }
    }
    style::keyword_case(&file.text, &document.keywords, &mut diagnostics);
    style::statements_in_comments(&document.comments, &mut diagnostics);
    suppress::apply(file, &document.comments, known_codes(), &mut diagnostics);
    diagnostic::sort_by_place(&mut diagnostics);
    diagnostics.shrink_to_fit();
    Linted { document, diagnostics }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_one_code_and_the_tenant_rules_are_listed() {
        let codes: Vec<&str> = all_rules().iter().map(|rule| rule.code).collect();
        let unique: HashSet<&str> = codes.iter().copied().collect();
        assert_eq!(unique.len(), codes.len(), "a code used twice: {codes:?}");
        for code in ["W0111", "W0306", "E0601", "W0611", "S0612"] {
            assert!(codes.contains(&code), "{code} is missing from the rules SARIF lists");
        }
    }
}
