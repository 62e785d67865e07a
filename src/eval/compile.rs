//! From a tenant to an [`Engine`]: each binding's policy with its parameters substituted, its
//! boundaries applied (semantics.md §4, decisions D18), and every statement indexed by
//! permission, so a decision only looks at the statements on the permission it asks about.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use super::value::{CompiledCondition, Subject, Value};
use super::{Engine, GroupSet};
use crate::catalog::Catalog;
use crate::iam::{Binding, Boundary, Level, Parameter, Tenant};
use crate::syntax::{Condition, Effect, Operand, Operator, Placeholder, Segment, Span, Statement, StringLit};

/// One statement of the pool: a single permission, the binding it came through, and where
/// its text stands.
#[derive(Debug, Clone)]
pub struct CompiledStatement {
    pub effect: Effect,
    pub permission: String,
    pub groups: GroupSet,
    /// `None` at account level, else the environment's position in the tenant.
    pub environment: Option<usize>,
    pub conditions: Vec<CompiledCondition>,
    /// Position of the binding in [`Tenant::bindings`].
    pub binding: usize,
    /// The statement's span in its policy file.
    pub span: Span,
    /// For an ALLOW bound with boundaries: the boundary this copy of the statement came through
    /// (semantics §4.3), whether or not that boundary restricts the permission.
    pub boundary: Option<String>,
    /// Conditions of the written statement that do not restrict this permission, because it does
    /// not accept their keys (decisions D30): the statement holds for it without them.
    pub not_applicable: Vec<Condition>,
}

impl CompiledStatement {
    /// The statement as it reads after substitution and boundaries, in the policy language.
    pub fn text(&self) -> String {
        let conditions: Vec<String> =
            self.conditions.iter().map(|c| crate::syntax::condition_text(&c.source)).collect();
        match conditions.is_empty() {
            true => format!("{} {};", self.effect.keyword(), self.permission),
            false => format!("{} {} WHERE {};", self.effect.keyword(), self.permission, conditions.join(" AND ")),
        }
    }
}

pub(super) fn compile(tenant: Tenant, catalog: &Catalog) -> Engine {
    let mut keys: HashMap<String, u32> = HashMap::default();
    for key in catalog.key_names() {
        let next = keys.len() as u32;
        keys.entry(key.to_string()).or_insert(next);
    }
    let mut index: HashMap<String, Vec<CompiledStatement>> = HashMap::default();
    for permission in catalog.permissions() {
        index.insert(permission.name.clone(), Vec::new());
    }
    let groups = tenant.groups.len();
    for (position, binding) in tenant.bindings.iter().enumerate() {
        let policy = &tenant.policies[&binding.policy];
        let boundaries: Vec<Vec<Condition>> = binding
            .boundaries
            .iter()
            .map(|name| substitute_all(&tenant.boundaries[name].conditions, binding, &tenant))
            .collect();
        let attached: Vec<&Boundary> = binding.boundaries.iter().map(|name| &tenant.boundaries[name]).collect();
        let environment = match &binding.level {
            Level::Account => None,
            Level::Environment(id) => tenant.environments.iter().position(|e| &e.id == id),
        };
        let group_set = GroupSet::of(groups, binding.groups.iter().copied());
        for statement in &policy.document.statements {
            // DENY statements are never changed by a boundary (semantics §4.2).
            let applied: &[Vec<Condition>] = if statement.effect == Effect::Allow { &boundaries } else { &[] };
            for (permission, own, not_applicable) in split(statement, binding, &tenant, catalog) {
                for (conditions, boundary) in bounded(own, permission, applied, &attached, catalog) {
                    let compiled = conditions
                        .into_iter()
                        .map(|(condition, from)| compile_condition(condition, from, catalog, &mut keys))
                        .collect();
                    index.entry(permission.to_string()).or_default().push(CompiledStatement {
                        effect: statement.effect,
                        permission: permission.to_string(),
                        groups: group_set.clone(),
                        environment,
                        conditions: compiled,
                        binding: position,
                        span: statement.span.clone(),
                        boundary,
                        not_applicable: not_applicable.clone(),
                    });
                }
            }
        }
    }
    Engine::assemble(tenant, catalog, keys, index)
}

/// Semantics §4.1: one statement per permission, with the binding's parameters substituted. A
/// condition is part of a permission's statement only if the permission accepts its key; the
/// others come back apart, as not restricting it (decisions D30).
fn split<'s>(
    statement: &'s Statement,
    binding: &Binding,
    tenant: &Tenant,
    catalog: &Catalog,
) -> Vec<(&'s str, Vec<Condition>, Vec<Condition>)> {
    let conditions = substitute_all(statement.conditions(), binding, tenant);
    statement
        .permissions
        .iter()
        .map(|name| {
            let (own, not_applicable) =
                conditions.iter().cloned().partition(|c: &Condition| catalog.restricts(&name.text, &c.key.text));
            (&*name.text, own, not_applicable)
        })
        .collect()
}

/// Conditions after the binding's parameters and `${global:levelId}` are filled in.
pub(super) fn substitute_all(conditions: &[Condition], binding: &Binding, tenant: &Tenant) -> Vec<Condition> {
    let level_id = match &binding.level {
        Level::Account => tenant.account.id.clone(),
        Level::Environment(id) => id.clone(),
    };
    let fill = Fill { parameters: Some(&binding.parameters), level_id: Some(&level_id), user: None };
    conditions.iter().map(|c| fill.condition(c)).collect()
}

/// Bind parameters are raw text: a backslash in them is escaped so the value means itself;
/// a `*` in them is a wildcard in `MATCH` (decisions D5).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\")
}

/// What to put in for placeholders: a binding's parameters and level (at compile time), or a
/// request's user id and group ids (for residuals and explanations). Others stay as they are.
pub(super) struct Fill<'a> {
    pub parameters: Option<&'a BTreeMap<String, Parameter>>,
    pub level_id: Option<&'a str>,
    pub user: Option<(&'a str, &'a [String])>,
}

impl Fill<'_> {
    /// The values a whole list element expands into, if it is a list placeholder (D14).
    fn list(&self, placeholder: &Placeholder) -> Option<Vec<String>> {
        match placeholder {
            Placeholder::BindParam(name) => match self.parameters?.get(name)? {
                Parameter::Many(values) => Some(values.iter().map(|v| escape(v)).collect()),
                Parameter::One(_) => None,
            },
            Placeholder::UserGroup => self.user.map(|(_, groups)| groups.iter().map(|g| escape(g)).collect()),
            _ => None,
        }
    }

    fn text(&self, placeholder: &Placeholder) -> Option<String> {
        match placeholder {
            Placeholder::BindParam(name) => match self.parameters?.get(name)? {
                Parameter::One(v) => Some(escape(v)),
                Parameter::Many(vs) => Some(escape(&vs.join(","))),
            },
            Placeholder::LevelId => self.level_id.map(str::to_string),
            Placeholder::UserId => self.user.map(|(id, _)| escape(id)),
            Placeholder::UserGroup => None,
        }
    }

    pub fn condition(&self, condition: &Condition) -> Condition {
        let mut items = Vec::new();
        for value in condition.operand.values() {
            if let [Segment::Placeholder(placeholder)] = value.segments.as_slice() {
                if let Some(values) = self.list(placeholder) {
                    items.extend(
                        values
                            .into_iter()
                            .map(|v| StringLit { segments: vec![Segment::Text(v)], span: value.span.clone() }),
                    );
                    continue;
                }
            }
            let mut segments: Vec<Segment> = Vec::new();
            for segment in &value.segments {
                let text = match segment {
                    Segment::Text(text) => Some(text.clone()),
                    Segment::Placeholder(placeholder) => self.text(placeholder),
                };
                match (text, segments.last_mut()) {
                    (Some(text), Some(Segment::Text(previous))) => previous.push_str(&text),
                    (Some(text), _) => segments.push(Segment::Text(text)),
                    (None, _) => segments.push(segment.clone()),
                }
            }
            items.push(StringLit { segments, span: value.span.clone() });
        }
        let operand = match &condition.operand {
            Operand::Single(_) if items.len() == 1 => Operand::Single(items.pop().expect("one item")),
            Operand::Single(s) => Operand::List { items, span: s.span.clone() },
            Operand::List { span, .. } => Operand::List { items, span: span.clone() },
        };
        Condition { operand, ..condition.clone() }
    }
}

type Conditions = Vec<(Condition, Option<String>)>;

/// Semantics §4.2–5: DENYs pass unchanged; each boundary copies every ALLOW with the boundary's
/// conditions on keys the permission accepts, one copy per alternative (D18).
fn bounded(
    own: Vec<Condition>,
    permission: &str,
    boundaries: &[Vec<Condition>],
    attached: &[&Boundary],
    catalog: &Catalog,
) -> Vec<(Conditions, Option<String>)> {
    let own: Conditions = own.into_iter().map(|c| (c, None)).collect();
    if boundaries.is_empty() {
        return vec![(own, None)];
    }
    let Some(info) = catalog.permission(permission) else { return vec![(own, None)] };
    let mut out = Vec::new();
    for (conditions, boundary) in boundaries.iter().zip(attached) {
        let applicable: Vec<&Condition> = conditions.iter().filter(|c| catalog.accepts(info, &c.key.text)).collect();
        let mut together: Vec<&Condition> = Vec::new();
        let mut alternatives: Vec<(&str, Vec<&Condition>)> = Vec::new();
        for condition in applicable {
            let alternative =
                matches!(condition.operator, Operator::Eq | Operator::In | Operator::StartsWith | Operator::Match);
            if !alternative {
                together.push(condition);
            } else if let Some((_, list)) = alternatives.iter_mut().find(|(key, _)| *key == &*condition.key.text) {
                list.push(condition);
            } else {
                alternatives.push((&condition.key.text, vec![condition]));
            }
        }
        let mut copies: Vec<Vec<&Condition>> = vec![together];
        for (_, choices) in &alternatives {
            copies = copies
                .iter()
                .flat_map(|copy| choices.iter().map(move |choice| copy.iter().copied().chain([*choice]).collect()))
                .collect();
        }
        for copy in copies {
            let mut conditions = own.clone();
            conditions.extend(copy.into_iter().map(|c| (c.clone(), Some(boundary.name.clone()))));
            out.push((conditions, Some(boundary.name.clone())));
        }
    }
    out
}

fn compile_condition(
    condition: Condition,
    boundary: Option<String>,
    catalog: &Catalog,
    keys: &mut HashMap<String, u32>,
) -> CompiledCondition {
    let subject = match catalog.global(&condition.key.text) {
        Some((kind, _)) => Subject::Global(kind),
        None => {
            let next = keys.len() as u32;
            Subject::Attribute(*keys.entry(condition.key.text.to_string()).or_insert(next))
        }
    };
    let typed = catalog.global(&condition.key.text).map(|(kind, _)| kind);
    let values = condition
        .operand
        .values()
        .iter()
        .map(|value| match (value.segments.as_slice(), typed) {
            ([Segment::Placeholder(Placeholder::UserGroup)], _) => Value::UserGroups,
            ([Segment::Placeholder(Placeholder::UserId)], _) => Value::UserId,
            (_, Some(kind)) => match value.literal().and_then(|text| kind.parse_value(&text).ok().flatten()) {
                Some(parsed) => Value::Typed(parsed),
                None => Value::Text(value.literal().map(|t| t.into_owned()).unwrap_or_default()),
            },
            _ if value.placeholders().next().is_some() => Value::Template(value.segments.clone()),
            _ if condition.operator == Operator::Match => {
                Value::Pattern(super::value::Pattern::compile(&value.display_value()))
            }
            _ => Value::Text(crate::syntax::unescape(&value.display_value()).into_owned()),
        })
        .collect();
    CompiledCondition { subject, operator: condition.operator, values, boundary, source: condition }
}
