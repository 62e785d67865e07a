//! Effective permissions (every permission a principal holds, and under which conditions) and
//! who-can (every principal holding a permission): the platform's "effective permissions".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use super::value::{CompiledCondition, Context, Subject};
use super::{Attributes, Decision, Engine, Request, RequestError, Truth, index, residual_line};
use crate::catalog::GlobalType;
use crate::iam::Principal;
use crate::syntax::Effect;

/// A permission held by a principal: always, or where `conditions` (a residual policy) allows.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The permission.
    pub permission: String,
    /// The principal's email.
    pub principal: String,
    /// `None`: unconditionally; else the residual policy that says where.
    pub conditions: Option<String>,
}

impl Engine {
    /// Every permission `principal` holds in `environment` (account level when `None`) at `time`.
    pub fn effective(
        &self,
        principal: Principal,
        environment: Option<&str>,
        time: DateTime<Utc>,
    ) -> Result<Vec<Grant>, RequestError> {
        if !self.tenant.owns(principal) {
            return Err(RequestError::ForeignPrincipal);
        }
        let mut grants = Vec::new();
        for permission in self.permissions() {
            if let Some(grant) = self.grant(principal, permission, environment, time)? {
                grants.push(grant);
            }
        }
        Ok(grants)
    }

    /// Every user and service user that holds `permission` in `environment` at `time`: what
    /// [`Engine::evaluate`] and [`Engine::residual_text`] answer for each of them on a request
    /// without attributes.
    ///
    /// Without attributes, a statement that does not read the principal (its id or groups) is
    /// true, false or unknown for everyone alike, and so is its line in a residual: each is
    /// judged and written once, and every group's statements are summed up once. A principal
    /// then costs the statements its groups bring that are still open; one reached by a
    /// statement that reads the principal is asked about on its own.
    pub fn who_can(
        &self,
        permission: &str,
        environment: Option<&str>,
        time: DateTime<Utc>,
    ) -> Result<Vec<Grant>, RequestError> {
        let Some(first) = self.tenant.principals().next() else { return Ok(Vec::new()) };
        // Resolved as a request is: an unknown permission or environment is the same error.
        let no_attributes = BTreeMap::new();
        let query = self.resolve(first, permission, environment, &no_attributes, time)?;
        let context = Context {
            attributes: Attributes::none(),
            environment: query.environment().map(|i| &self.tenant.environments[i].id),
            user_id: "",
            groups: &[],
            time,
        };
        let slot = &self.tables.slots[query.slot as usize];
        let groups = GroupSummaries::new(self, slot, query.environment(), &context);
        let mut lines = Lines::new(self, &context);
        let mut grants = Vec::new();
        let mut open: Vec<(u32, u32, Effect)> = Vec::new();
        let mut reached: Vec<&OfGroup> = Vec::new();
        for principal in self.tenant.principals() {
            let mut summary = Summary::default();
            reached.clear();
            reached.extend(self.membership(principal).groups.iter().filter_map(|&group| groups.of(group)));
            for of_group in &reached {
                summary.add(&of_group.summary);
            }
            let grant = |conditions| Grant {
                permission: permission.to_string(),
                principal: self.tenant.email(principal).to_string(),
                conditions,
            };
            if summary.personal {
                grants.extend(self.grant(principal, permission, environment, time)?);
                continue;
            }
            match (summary.denied, summary.allowed, summary.deny_unknown, summary.allow_unknown) {
                (true, ..) => {}
                (false, Some(_), false, _) => grants.push(grant(None)),
                (false, None, _, false) => {}
                (false, holding, ..) => {
                    // Semantics §5 as `Engine::residual` reads it: with an ALLOW that holds, the
                    // open DENYs and that ALLOW (unconditional); else every open statement.
                    open.clear();
                    for of_group in &reached {
                        open.extend_from_slice(&groups.open[of_group.denies.clone()]);
                        if holding.is_none() {
                            open.extend_from_slice(&groups.open[of_group.allows.clone()]);
                        }
                    }
                    if let Some((position, compiled)) = holding {
                        open.push((position, compiled, Effect::Allow));
                    }
                    open.sort_unstable_by_key(|&(position, ..)| position);
                    grants.push(grant(Some(lines.residual(&open))));
                }
            }
        }
        Ok(grants)
    }

    fn grant(
        &self,
        principal: Principal,
        permission: &str,
        environment: Option<&str>,
        time: DateTime<Utc>,
    ) -> Result<Option<Grant>, RequestError> {
        let mut request = Request::new(principal, permission).at(time);
        request.environment = environment.map(str::to_string);
        let query = self.query(&request)?;
        let decision = self.evaluate(&query);
        let principal = self.tenant.email(principal).to_string();
        Ok(match decision {
            Decision::Allow { .. } => Some(Grant { permission: permission.to_string(), principal, conditions: None }),
            Decision::Conditional { .. } => Some(Grant {
                permission: permission.to_string(),
                principal,
                conditions: self.residual_text(&query, &decision),
            }),
            Decision::Deny { .. } | Decision::NoMatch => None,
        })
    }
}

/// Whether a condition reads the principal: its key is the principal's groups, or a value is
/// a placeholder of its id or groups. Its truth and its residual text are then the principal's own.
fn personal(condition: &CompiledCondition) -> bool {
    condition.subject == Subject::Global(GlobalType::Groups)
        || condition.source.operand.values().iter().any(|value| value.placeholders().next().is_some())
}

/// What the statements that reach a principal's groups decide, summed up (semantics §5).
#[derive(Debug, Clone, Default)]
struct Summary {
    /// A DENY holds.
    denied: bool,
    /// The first ALLOW that holds: its position and compiled statement.
    allowed: Option<(u32, u32)>,
    deny_unknown: bool,
    allow_unknown: bool,
    /// A statement reads the principal.
    personal: bool,
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.denied |= other.denied;
        self.allowed = match (self.allowed, other.allowed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.deny_unknown |= other.deny_unknown;
        self.allow_unknown |= other.allow_unknown;
        self.personal |= other.personal;
    }
}

/// One group's statements on the permission at the level asked about.
struct OfGroup {
    summary: Summary,
    /// Its open DENYs and its open ALLOWs, in `GroupSummaries::open`.
    denies: std::ops::Range<usize>,
    allows: std::ops::Range<usize>,
}

/// Every group's statements on one permission, judged without attributes.
struct GroupSummaries {
    /// By group position; `None` for a group no statement on the permission reaches.
    groups: Vec<Option<OfGroup>>,
    /// Open statements: position, compiled statement, effect.
    open: Vec<(u32, u32, Effect)>,
}

impl GroupSummaries {
    fn new(engine: &Engine, slot: &index::Slot, environment: Option<usize>, context: &Context<'_>) -> GroupSummaries {
        let level = environment.map_or(0, |e| e as u16 + 1);
        // Each compiled statement judged once (`Some(None)` for one that reads the principal).
        let mut judged: Vec<Option<Option<Truth>>> = vec![None; engine.tables.compiled.len()];
        let mut groups: Vec<Option<OfGroup>> = Vec::new();
        groups.resize_with(engine.tenant.groups.len(), || None);
        let mut open = Vec::new();
        let mut allows = Vec::new();
        for &(group, start, end) in &slot.present {
            let mut summary = Summary::default();
            allows.clear();
            let first = open.len();
            for reach in &slot.reaches[start as usize..end as usize] {
                if reach.level != 0 && reach.level != level {
                    continue;
                }
                let compiled = &engine.tables.compiled[reach.compiled as usize];
                let judgement = *judged[reach.compiled as usize].get_or_insert_with(|| {
                    let personal = compiled.conditions.iter().any(|c| personal(c));
                    (!personal).then(|| Engine::truth(compiled, context))
                });
                let Some(truth) = judgement else {
                    summary.personal = true;
                    continue;
                };
                let open_one = (reach.position, reach.compiled, compiled.effect);
                match (compiled.effect, truth) {
                    (Effect::Deny, Truth::True) => summary.denied = true,
                    (Effect::Allow, Truth::True) => {
                        let first = summary.allowed.is_none_or(|(position, _)| reach.position < position);
                        if first {
                            summary.allowed = Some((reach.position, reach.compiled));
                        }
                    }
                    (Effect::Deny, Truth::Unknown) => {
                        summary.deny_unknown = true;
                        open.push(open_one);
                    }
                    (Effect::Allow, Truth::Unknown) => {
                        summary.allow_unknown = true;
                        allows.push(open_one);
                    }
                    (_, Truth::False) => {}
                }
            }
            let middle = open.len();
            open.extend_from_slice(&allows);
            let of_group = OfGroup { summary, denies: first..middle, allows: middle..open.len() };
            groups[group as usize] = Some(of_group);
        }
        GroupSummaries { groups, open }
    }

    fn of(&self, group: usize) -> Option<&OfGroup> {
        self.groups[group].as_ref()
    }
}

/// The residual lines of statements that do not read the principal, each written once, when
/// a residual first holds it: an ALLOW that holds stands alone, an open statement with its
/// conditions still unknown. Each distinct text has a number, so a residual holds it once.
struct Lines<'e> {
    engine: &'e Engine,
    context: &'e Context<'e>,
    /// By compiled statement: its line's number, `u32::MAX` until written.
    of_statement: Vec<u32>,
    /// By effect and the conditions left (compiled once, shared by the statements that bring
    /// them alike): the line's number.
    of_conditions: HashMap<(Effect, Vec<*const CompiledCondition>), u32>,
    texts: Vec<String>,
    numbers: HashMap<String, u32>,
    /// By line number: the last residual that holds it.
    written_in: Vec<u32>,
    residuals: u32,
}

impl<'e> Lines<'e> {
    fn new(engine: &'e Engine, context: &'e Context<'e>) -> Lines<'e> {
        let of_statement = vec![u32::MAX; engine.tables.compiled.len()];
        Lines {
            engine,
            context,
            of_statement,
            of_conditions: HashMap::default(),
            texts: Vec::new(),
            numbers: HashMap::default(),
            written_in: Vec::new(),
            residuals: 0,
        }
    }

    /// The line of a compiled statement that does not read the principal.
    fn line(&mut self, compiled: u32) -> u32 {
        if self.of_statement[compiled as usize] != u32::MAX {
            return self.of_statement[compiled as usize];
        }
        let statement = &self.engine.tables.compiled[compiled as usize];
        let unknown: Vec<usize> = (0..statement.conditions.len())
            .filter(|&c| statement.conditions[c].evaluate(self.context) == Truth::Unknown)
            .collect();
        let left: Vec<*const CompiledCondition> =
            unknown.iter().map(|&c| std::sync::Arc::as_ptr(&statement.conditions[c])).collect();
        let number = match self.of_conditions.get(&(statement.effect, left.clone())) {
            Some(&number) => number,
            None => {
                // Its conditions hold no placeholder of the principal's: nothing to fill in.
                let fill = super::compile::Fill { parameters: None, level_id: None, user: None };
                let text = residual_line(statement, &unknown, &fill);
                let next = self.texts.len() as u32;
                let number = *self.numbers.entry(text).or_insert_with_key(|text| {
                    self.texts.push(text.clone());
                    self.written_in.push(u32::MAX);
                    next
                });
                self.of_conditions.insert((statement.effect, left), number);
                number
            }
        };
        self.of_statement[compiled as usize] = number;
        number
    }

    /// A residual's text: its statements (position, compiled statement, effect) in order,
    /// ALLOWs first, each distinct line once.
    fn residual(&mut self, statements: &[(u32, u32, Effect)]) -> String {
        let this = self.residuals;
        self.residuals += 1;
        let mut lines = Vec::with_capacity(statements.len());
        for effect in [Effect::Allow, Effect::Deny] {
            for &(_, compiled, _) in statements.iter().filter(|(.., e)| *e == effect) {
                let line = self.line(compiled) as usize;
                if self.written_in[line] != this {
                    self.written_in[line] = this;
                    lines.push(line);
                }
            }
        }
        let mut text = String::with_capacity(lines.iter().map(|&line| self.texts[line].len() + 1).sum());
        for line in lines {
            text.push_str(&self.texts[line]);
            text.push('\n');
        }
        text
    }
}
