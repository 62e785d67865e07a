//! Explanations (semantics.md §6): the statements that decided, the binding each came
//! through, and for an implicit deny the statements that came closest, each with the first
//! condition that failed and the value that failed it. Rendered for a person (ariadne, the
//! policy line underlined) and as JSON.

use std::collections::BTreeMap;
use std::ops::Range;

use ariadne::{Color, Config, IndexType, Label, Report, ReportKind, Source};
use serde::Serialize;

use super::compile;
use super::value::{Subject, Truth};
use super::{CompiledStatement, Decision, Engine, Query, Residual, ResidualLimit, StatementRef};
use crate::catalog::GlobalType;
use crate::iam::{Level, Parameter};
use crate::syntax::{Condition, Effect, condition_text};

/// Why a decision came out as it did, for a person ([`Engine::render_explanation`]) or as
/// JSON (its fields, in `snake_case`).
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The principal's email.
    pub principal: String,
    /// The environment asked about; `None` at account level.
    pub environment: Option<String>,
    /// The permission asked for.
    pub permission: String,
    /// `allow`, `deny` or `conditional`.
    pub decision: &'static str,
    /// `allowed`, `explicit_deny`, `no_match` or `conditional`.
    pub reason: &'static str,
    /// The decision in one sentence.
    pub summary: String,
    /// The statements that decided: the ALLOW that granted, the DENY that fired, or the
    /// residual statements of a conditional answer.
    pub deciding: Vec<StatementReport>,
    /// For an implicit deny: the statements on the permission that reach the principal, closest first.
    pub closest: Vec<NearMiss>,
    /// Statements that grant the permission to other groups or in other environments.
    pub elsewhere: Vec<StatementReport>,
    /// Attribute keys a statement tests that the request did not carry.
    pub missing_attributes: Vec<String>,
    /// Known keys the request carried that the permission does not take (decisions D15).
    pub ignored_attributes: Vec<String>,
    /// A conditional answer's residual policy.
    pub residual: Option<String>,
    /// The residual was larger than the explanation's [`ResidualLimit`] and is left out (the
    /// decision stands: a residual cut short would grant more than the policies do).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub residual_omitted: bool,
    /// How many statements of a conditional answer `deciding` leaves out, past the same limit.
    #[serde(skip_serializing_if = "is_zero")]
    pub deciding_omitted: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

/// One statement of the tenant, where it is written and how it is bound.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    /// `ALLOW` or `DENY`.
    pub effect: &'static str,
    /// The policy's name.
    pub policy: String,
    /// The policy's file.
    pub file: String,
    /// The statement's first line (1-based).
    pub line: usize,
    /// The statement's first byte in the file.
    pub start: usize,
    /// The byte after its end.
    pub end: usize,
    /// The statement as written in its policy.
    pub text: String,
    /// The binding it came through.
    pub binding: BindingReport,
    /// In words: "policy `x` (bound to group `y` at account level)".
    pub via: String,
    /// For a statement that does not reach the principal: why, in words.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub unreached: String,
    /// Conditions of the written statement that do not restrict this permission, which does not
    /// accept their keys (decisions D30): the statement holds for it without them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_restricting: Vec<String>,
    #[serde(skip)]
    statement: StatementRef,
}

/// A binding, as an explanation shows it.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct BindingReport {
    /// The ids of its groups.
    pub groups: Vec<String>,
    /// `account level` or `environment `…``.
    pub level: String,
    /// The binding's parameters as JSON values: a string, or an array of strings.
    pub parameters: BTreeMap<String, Parameter>,
    /// Every boundary of the binding, with what it does for the statement's permission.
    pub boundaries: Vec<BoundaryReport>,
    /// The boundary this copy of the statement came through (each boundary makes its own copy
    /// of the policy's ALLOWs, and the copies unite: semantics.md §4).
    pub boundary: Option<String>,
}

/// What one boundary of a binding does for the permission of a statement.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct BoundaryReport {
    /// The boundary's name in the tenant.
    pub name: String,
    /// What it does for the permission.
    pub effect: BoundaryEffect,
    /// For `restricted`: the boundary's conditions on this permission, parameters filled in.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// For `not_applicable`: the boundary's keys, none of which the permission accepts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

/// How a boundary bears on a permission (semantics.md §4.2–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BoundaryEffect {
    /// The permission accepts some of the boundary's keys: its copy of the grant carries them.
    Restricted,
    /// The permission accepts none of the boundary's keys: its copy of the grant is unrestricted.
    NotApplicable,
    /// Boundaries never change a DENY.
    DenyUnchanged,
}

/// A statement that reaches the principal but did not hold, and the first condition it failed.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct NearMiss {
    /// The statement.
    pub statement: StatementReport,
    /// The first condition that failed, as written after substitution.
    pub condition: String,
    /// The key that condition tests.
    pub attribute: String,
    /// The value the request carried that failed the condition.
    pub failure: String,
    /// How many of its conditions held.
    pub conditions_met: usize,
    /// How many conditions it has.
    pub conditions: usize,
    #[serde(skip)]
    condition_index: usize,
}

impl Engine {
    /// Explains a decision made for `query`, every statement of it.
    ///
    /// # Panics
    ///
    /// When another engine made the query.
    pub fn explain(&self, query: &Query<'_>, decision: &Decision) -> Explanation {
        self.explain_within(query, decision, ResidualLimit::NONE)
    }

    /// Explains a decision made for `query` within `limit`: a conditional answer's residual
    /// ([`Engine::residual_within`]) and the statements it lists as deciding stop at the limit,
    /// and the explanation says what it left out.
    ///
    /// # Panics
    ///
    /// When another engine made the query.
    pub fn explain_within(&self, query: &Query<'_>, decision: &Decision, limit: ResidualLimit) -> Explanation {
        self.assert_own(query);
        let residual = self.residual_within(query, decision, limit);
        let statements = self.statements_of(query);
        let permission = self.permission_of(query);
        let principal = self.tenant.email(query.principal).to_string();
        let environment = query.environment().map(|i| self.tenant.environments[i].id.clone());
        let place = environment.as_ref().map_or_else(|| "at account level".to_string(), |e| format!("in `{e}`"));
        let mut explanation = Explanation {
            principal: principal.clone(),
            environment: environment.clone(),
            permission: permission.to_string(),
            decision: "deny",
            reason: "no_match",
            summary: String::new(),
            deciding: Vec::new(),
            closest: Vec::new(),
            elsewhere: Vec::new(),
            missing_attributes: Vec::new(),
            ignored_attributes: self.ignored(query).map(str::to_string).collect(),
            residual_omitted: residual == Some(Residual::Omitted),
            residual: residual.and_then(Residual::into_text),
            deciding_omitted: 0,
        };
        match decision {
            Decision::Allow { statement } => {
                let report = self.report(query, *statement);
                explanation.decision = "allow";
                explanation.reason = "allowed";
                explanation.summary = format!("allowed by {}", report.via);
                explanation.deciding.push(report);
            }
            Decision::Deny { statement } => {
                let report = self.report(query, *statement);
                explanation.reason = "explicit_deny";
                explanation.summary = format!("denied by an explicit DENY in {}", report.via);
                explanation.deciding.push(report);
            }
            Decision::Conditional { residual } => {
                explanation.decision = "conditional";
                explanation.reason = "conditional";
                let context = self.context(query);
                let mut text_bytes = 0usize;
                for remaining in residual {
                    let statement = statements.at(remaining.statement);
                    let span = &statement.span;
                    text_bytes = text_bytes.saturating_add(span.end - span.start);
                    if explanation.deciding.len() < limit.statements && text_bytes <= limit.bytes {
                        explanation.deciding.push(self.report(query, remaining.statement));
                    } else {
                        explanation.deciding_omitted += 1;
                    }
                    for &c in &remaining.conditions {
                        let condition = &statement.compiled.conditions[c];
                        let key = &condition.source.key.text;
                        if condition.evaluate(&context) == Truth::Unknown
                            && !explanation.missing_attributes.iter().any(|k| **k == **key)
                        {
                            explanation.missing_attributes.push(key.to_string());
                        }
                    }
                }
                let missing: Vec<String> = explanation.missing_attributes.iter().map(|k| format!("`{k}`")).collect();
                explanation.summary = format!(
                    "it depends on {} that the request does not carry: allowed only where the residual policy allows",
                    missing.join(", ")
                );
            }
            Decision::NoMatch => {
                explanation.closest = self.near_misses(query);
                explanation.elsewhere = self.elsewhere(query);
                explanation.summary = match explanation.closest.len() {
                    0 => format!("no policy allows `{permission}` for `{principal}` {place}"),
                    n => format!(
                        "no policy allows `{permission}` for `{principal}` {place}: {n} statement{} came close",
                        if n == 1 { "" } else { "s" }
                    ),
                };
            }
        }
        explanation
    }

    fn report(&self, query: &Query, statement: StatementRef) -> StatementReport {
        let compiled = self.statements_of(query).at(statement);
        let binding = &self.tenant.bindings[compiled.binding];
        let policy = &self.tenant.policies[&binding.policy];
        let (line, _) = policy.file.line_column(compiled.span.start);
        // The group through which the statement reaches this principal, else the binding's first.
        let groups: Vec<String> = binding.groups.iter().map(|&g| self.tenant.groups[g].id.clone()).collect();
        let through = binding
            .groups
            .iter()
            .find(|&&g| self.membership(query.principal).ids.contains(&self.tenant.groups[g].id))
            .or(binding.groups.first())
            .map(|&g| self.tenant.groups[g].id.clone())
            .unwrap_or_default();
        let boundaries = self.boundary_reports(&compiled);
        let mut via = format!("policy `{}` (bound to group `{through}` at {}", binding.policy, binding.level);
        if !binding.parameters.is_empty() {
            let list: Vec<String> = binding.parameters.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            via.push_str(&format!(" with {}", list.join(", ")));
        }
        if let Some(boundary) = compiled.boundary {
            match boundaries.iter().find(|b| b.name == boundary).map(|b| b.effect) {
                Some(BoundaryEffect::NotApplicable) => {
                    via.push_str(&format!(", through boundary `{boundary}`, which does not restrict it"))
                }
                _ => via.push_str(&format!(", within boundary `{boundary}`")),
            }
        }
        via.push(')');
        StatementReport {
            effect: if compiled.effect == Effect::Allow { "ALLOW" } else { "DENY" },
            policy: binding.policy.clone(),
            file: policy.file.name.clone(),
            line,
            start: compiled.span.start,
            end: compiled.span.end,
            text: policy.file.text[compiled.span.clone()].to_string(),
            binding: BindingReport {
                groups,
                level: binding.level.to_string(),
                parameters: binding.parameters.clone(),
                boundaries,
                boundary: compiled.boundary.map(str::to_string),
            },
            unreached: if self.applies(&compiled, query) { String::new() } else { self.unreached(&compiled, query) },
            not_restricting: compiled.not_applicable.iter().map(condition_text).collect(),
            via,
            statement,
        }
    }

    /// What each boundary of the statement's binding does for its permission.
    fn boundary_reports(&self, compiled: &CompiledStatement<'_>) -> Vec<BoundaryReport> {
        let binding = &self.tenant.bindings[compiled.binding];
        let permission = self.catalog.permission(&compiled.permission);
        binding
            .boundaries
            .iter()
            .map(|name| {
                let boundary = &self.tenant.boundaries[name];
                let report = |effect, conditions, keys| BoundaryReport { name: name.clone(), effect, conditions, keys };
                let restricting: Vec<Condition> = match permission {
                    Some(permission) => boundary.conditions_on(permission, &self.catalog).cloned().collect(),
                    None => Vec::new(),
                };
                if compiled.effect == Effect::Deny {
                    report(BoundaryEffect::DenyUnchanged, Vec::new(), Vec::new())
                } else if restricting.is_empty() {
                    report(
                        BoundaryEffect::NotApplicable,
                        Vec::new(),
                        boundary.keys().iter().map(|k| k.to_string()).collect(),
                    )
                } else {
                    let filled = compile::substitute_all(&restricting, binding, &self.tenant);
                    report(BoundaryEffect::Restricted, filled.iter().map(condition_text).collect(), Vec::new())
                }
            })
            .collect()
    }

    /// The ALLOWs that reach the principal, each with its first failing condition, the ones
    /// that met the most conditions first.
    fn near_misses(&self, query: &Query) -> Vec<NearMiss> {
        const SHOWN: usize = 3;
        let context = self.context(query);
        let mut misses: Vec<NearMiss> = Vec::new();
        for (i, statement) in self.statements_of(query).iter().enumerate() {
            if statement.effect != Effect::Allow || !self.applies(&statement, query) {
                continue;
            }
            let truths: Vec<Truth> = statement.conditions.iter().map(|c| c.evaluate(&context)).collect();
            let Some(failed) = truths.iter().position(|t| *t == Truth::False) else { continue };
            let condition = &statement.conditions[failed];
            misses.push(NearMiss {
                statement: self.report(query, i),
                condition: condition_text(&condition.source),
                attribute: condition.source.key.text.to_string(),
                failure: self.failure(query, &statement, failed),
                conditions_met: truths.iter().filter(|t| **t == Truth::True).count(),
                conditions: truths.len(),
                condition_index: failed,
            });
        }
        misses.sort_by_key(|m| (std::cmp::Reverse(m.conditions_met), m.statement.statement));
        misses.dedup_by(|a, b| a.statement.text == b.statement.text && a.condition == b.condition);
        misses.truncate(SHOWN);
        misses
    }

    /// Why a condition is False, in words, with the value the request carried.
    fn failure(&self, query: &Query<'_>, statement: &CompiledStatement<'_>, condition: usize) -> String {
        let condition = &statement.conditions[condition];
        let key = &condition.source.key.text;
        let actual = match condition.subject {
            Subject::Attribute(id) => self.attributes(query).get(id).map(ToString::to_string).unwrap_or_default(),
            Subject::Global(GlobalType::Environment) => {
                query.environment().map(|i| format!("{:?}", self.tenant.environments[i].id)).unwrap_or_default()
            }
            Subject::Global(GlobalType::Groups) => format!("{:?}", self.membership(query.principal).ids),
            Subject::Global(GlobalType::WeekDay) => format!("{} (UTC)", query.time.format("%A")),
            Subject::Global(_) => query.time.to_rfc3339(),
        };
        format!("`{key}` is {actual}")
    }

    /// Why a statement does not reach the query's principal: the groups, or the level.
    fn unreached(&self, statement: &CompiledStatement<'_>, query: &Query<'_>) -> String {
        let principal = self.tenant.email(query.principal);
        let groups = &self.membership(query.principal).groups;
        if !statement.groups.iter().any(|g| groups.binary_search(g).is_ok()) {
            let groups: Vec<String> = self.tenant.bindings[statement.binding]
                .groups
                .iter()
                .map(|&g| format!("`{}`", self.tenant.groups[g].id))
                .collect();
            return format!("`{principal}` is not in {}", groups.join(" or "));
        }
        match (&self.tenant.bindings[statement.binding].level, query.environment()) {
            (Level::Environment(id), None) => {
                format!("it is bound in environment `{id}` and the request is account-level")
            }
            (Level::Environment(id), Some(_)) => format!("it is bound in environment `{id}` only"),
            (Level::Account, _) => String::new(),
        }
    }

    /// ALLOWs of the permission that do not reach the principal: another group, another environment.
    fn elsewhere(&self, query: &Query) -> Vec<StatementReport> {
        const SHOWN: usize = 3;
        let mut out: Vec<StatementReport> = Vec::new();
        for (i, statement) in self.statements_of(query).iter().enumerate() {
            if statement.effect == Effect::Allow && !self.applies(&statement, query) && out.len() < SHOWN {
                let report = self.report(query, i);
                if !out.iter().any(|r| r.text == report.text && r.binding.groups == report.binding.groups) {
                    out.push(report);
                }
            }
        }
        out
    }

    /// The explanation for a person: the verdict, then each statement with its policy line
    /// underlined by ariadne.
    pub fn render_explanation(&self, explanation: &Explanation, color: bool) -> String {
        let verdict = match explanation.decision {
            "allow" => "ALLOWED",
            "conditional" => "CONDITIONAL",
            _ => "DENIED",
        };
        let place =
            explanation.environment.as_ref().map_or_else(|| "at account level".to_string(), |e| format!("in {e}"));
        let mut out = format!(
            "{verdict}: {} → {} {place}\n{}\n",
            explanation.principal, explanation.permission, explanation.summary
        );
        let statements = self.statements(&explanation.permission);
        for report in &explanation.deciding {
            let (kind, label) = match (explanation.reason, report.effect) {
                ("allowed", _) => ("Granted", "this ALLOW grants it".to_string()),
                ("explicit_deny", _) => ("Denied", "this DENY applies".to_string()),
                (_, effect) => ("Depends", format!("this {effect} depends on the missing attributes")),
            };
            out.push_str(&self.snippet(&statements.at(report.statement), report, kind, &label, None, color));
        }
        if explanation.deciding_omitted > 0 {
            let more = explanation.deciding_omitted;
            out.push_str(&format!(
                "… and {more} more statement{} that depend{} on the missing attributes, left out\n",
                if more == 1 { "" } else { "s" },
                if more == 1 { "s" } else { "" }
            ));
        }
        for miss in &explanation.closest {
            let statement = &statements.at(miss.statement.statement);
            let condition = &statement.conditions[miss.condition_index];
            let label = format!("{} of {} conditions hold", miss.conditions_met, miss.conditions);
            out.push_str(&self.snippet(
                statement,
                &miss.statement,
                "Near miss",
                &label,
                Some((condition, &miss.failure)),
                color,
            ));
        }
        for report in &explanation.elsewhere {
            out.push_str(&format!(
                "note: {} line {} allows it through {}, but {}\n",
                report.file, report.line, report.via, report.unreached
            ));
        }
        if let Some(residual) = &explanation.residual {
            out.push_str("residual policy (applies where these hold):\n");
            for line in residual.lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
        if explanation.residual_omitted {
            out.push_str("residual policy: left out, too large to show (the decision stands)\n");
        }
        if !explanation.ignored_attributes.is_empty() {
            let list: Vec<String> = explanation.ignored_attributes.iter().map(|k| format!("`{k}`")).collect();
            out.push_str(&format!(
                "note: ignored attributes that `{}` does not take: {}\n",
                explanation.permission,
                list.join(", ")
            ));
        }
        out
    }

    fn snippet(
        &self,
        statement: &CompiledStatement<'_>,
        report: &StatementReport,
        kind: &str,
        label: &str,
        failed: Option<(&super::value::CompiledCondition, &String)>,
        color: bool,
    ) -> String {
        let policy = &self.tenant.policies[&self.tenant.bindings[statement.binding].policy];
        let name = policy.file.name.as_str();
        let span: Range<usize> = statement.span.clone();
        let mut builder = Report::build(ReportKind::Custom(kind, Color::Cyan), (name, span.clone()))
            .with_config(Config::default().with_color(color).with_index_type(IndexType::Byte))
            .with_message(format!("{} in {}", report.effect, report.via))
            .with_label(Label::new((name, span)).with_message(label).with_color(Color::Cyan));
        if let Some((condition, failure)) = failed {
            match condition.boundary.as_ref() {
                None => {
                    builder = builder.with_label(
                        Label::new((name, condition.source.span.clone()))
                            .with_message(failure)
                            .with_color(Color::Red)
                            .with_order(-1),
                    );
                }
                Some(boundary) => {
                    builder = builder.with_note(format!(
                        "the failing condition `{}` comes from boundary `{boundary}`: {failure}",
                        condition_text(&condition.source)
                    ))
                }
            }
        }
        // The boundary of a failing condition is named already.
        let failing_boundary = failed.and_then(|(condition, _)| condition.boundary.as_deref());
        for note in notes(statement, report, failing_boundary) {
            builder = builder.with_note(note);
        }
        let mut out = Vec::new();
        let _ = builder.finish().write((name, Source::from(policy.file.text.as_str())), &mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        if color { text } else { crate::diagnostic::human::strip_colors(&text) }
    }
}

/// The notes under a statement: what each boundary of its binding did for its permission, and
/// the conditions that do not restrict it (D30).
fn notes(statement: &CompiledStatement<'_>, report: &StatementReport, named: Option<&str>) -> Vec<String> {
    let permission = &statement.permission;
    let mut notes = Vec::new();
    let lifting: Vec<String> = report
        .binding
        .boundaries
        .iter()
        .filter(|b| b.effect == BoundaryEffect::NotApplicable)
        .map(|b| format!("`{}`", b.name))
        .collect();
    for boundary in report.binding.boundaries.iter().filter(|b| Some(b.name.as_str()) != named) {
        let name = &boundary.name;
        match boundary.effect {
            BoundaryEffect::Restricted => {
                let conditions: Vec<String> = boundary.conditions.iter().map(|c| format!("`{c}`")).collect();
                let mut note = format!("boundary `{name}` restricts `{permission}` to {}", conditions.join(" and "));
                if !lifting.is_empty() {
                    note.push_str(&format!(
                        "; but a binding's boundaries unite, and {} does not restrict it, so this limit is lifted",
                        lifting.join(" and ")
                    ));
                }
                notes.push(note);
            }
            BoundaryEffect::NotApplicable => {
                let keys: Vec<String> = boundary.keys.iter().map(|k| format!("`{k}`")).collect();
                notes.push(format!(
                    "boundary `{name}` does not apply to `{permission}`, which takes none of its keys ({}): through `{name}` the grant has no boundary condition",
                    keys.join(", ")
                ));
            }
            BoundaryEffect::DenyUnchanged => {}
        }
    }
    for condition in &report.not_restricting {
        notes.push(format!(
            "`{condition}` does not restrict `{permission}`, which does not accept its key: the statement holds for `{permission}` without it"
        ));
    }
    notes
}
