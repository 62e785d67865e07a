//! One question's worth of two tenants: the statements on one permission that reach one
//! principal at one level, on each side, rewritten as rules over atoms both sides share.
//!
//! Everything a request does not choose is settled here with the evaluator itself: the
//! environment and group conditions (fixed by the level and the principal), a list that
//! expanded to nothing (D14), a condition on a key the permission does not take (the request
//! cannot carry it: Unknown for good, D15). What is left are atoms a request chooses: "some
//! element of attribute `k` lies in language `L`" and the time conditions.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::glob::{Glob, LanguageId, Languages};
use super::time::{Moment, moments};
use crate::catalog::GlobalType;
use crate::eval::value::{CompiledCondition, Context, Pattern, Subject, Value};
use crate::eval::{Attributes, CompiledStatement, Engine, Truth, reaches};
use crate::iam::Principal;
use crate::syntax::{Effect, Operator, condition_text};

/// An atom's position in [`Problem::atoms`].
pub(super) type AtomId = usize;

#[derive(Debug, Clone, Copy)]
pub(super) enum Atom {
    /// Some element of the attribute lies in the language: the positive form of the condition.
    Attribute { language: LanguageId },
    /// A time condition (its position in each moment's truths).
    Time { slot: usize },
}

/// An atom, or its negation (`!=`, `NOT IN`, `NOT startsWith`: no element lies in the set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Literal {
    pub atom: AtomId,
    pub negative: bool,
}

/// A statement as the search sees it: True when every literal is, False when one is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Rule {
    pub literals: Vec<Literal>,
    /// A condition that stays Unknown whatever the request: the rule is never True.
    pub never_true: bool,
}

/// The rules of one side; a side without the principal or the environment has none.
#[derive(Debug, Clone, Default)]
pub(super) struct Side {
    pub allows: Vec<Rule>,
    pub denies: Vec<Rule>,
}

#[derive(Debug)]
pub(super) struct Problem {
    pub atoms: Vec<Atom>,
    /// Each attribute key with its atoms.
    pub keys: Vec<(String, Vec<AtomId>)>,
    /// The time atoms, and one moment of every case of the time they tell apart.
    pub time_atoms: Vec<AtomId>,
    pub moments: Vec<Moment>,
    /// Old, then new.
    pub sides: [Side; 2],
}

/// One side of a question: whose statements, where, on what.
#[derive(Clone, Copy)]
pub(super) struct View<'e> {
    pub engine: &'e Engine,
    pub principal: Principal,
    /// The environment's position in this engine; `None` at account level.
    pub environment: Option<usize>,
    pub permission: &'e str,
}

impl<'e> View<'e> {
    /// The statements on the permission that reach the principal at the level.
    pub fn statements(&self) -> impl Iterator<Item = CompiledStatement<'e>> + use<'e> {
        let groups = &self.engine.membership(self.principal).groups;
        let environment = self.environment;
        self.engine.statements(self.permission).iter().filter(move |s| reaches(s, groups, environment))
    }
}

/// What outlives one question: the languages and the language of each condition that does not
/// depend on the principal.
#[derive(Default)]
pub(super) struct Shared {
    pub languages: Languages,
    condition_languages: HashMap<*const CompiledCondition, LanguageId>,
}

pub(super) struct Builder<'s, 'e> {
    shared: &'s mut Shared,
    atoms: Vec<Atom>,
    keys: Vec<(String, Vec<AtomId>)>,
    attribute_atoms: HashMap<(usize, LanguageId), AtomId>,
    time_atoms: HashMap<String, AtomId>,
    time_conditions: Vec<&'e CompiledCondition>,
}

impl<'s, 'e> Builder<'s, 'e> {
    pub fn new(shared: &'s mut Shared) -> Builder<'s, 'e> {
        Builder {
            shared,
            atoms: Vec::new(),
            keys: Vec::new(),
            attribute_atoms: HashMap::default(),
            time_atoms: HashMap::default(),
            time_conditions: Vec::new(),
        }
    }

    /// The rules of one side, each distinct rule once.
    pub fn side(&mut self, view: Option<View<'e>>) -> Side {
        let mut side = Side::default();
        let Some(view) = view else { return side };
        let engine = view.engine;
        let membership = engine.membership(view.principal);
        let context = Context {
            attributes: Attributes::none(),
            environment: view.environment.map(|i| &engine.tenant().environments[i].id),
            user_id: engine.tenant().id(view.principal),
            groups: &membership.ids,
            time: chrono::DateTime::UNIX_EPOCH,
        };
        let permission = engine.catalog.permission(view.permission);
        // A key the permission does not take never reaches the evaluator (decisions D15).
        let accepted = |key: &str| permission.is_none_or(|p| engine.catalog.accepts(p, key));
        let mut seen: HashSet<(Effect, Rule)> = HashSet::default();
        for statement in view.statements() {
            let Some(rule) = self.rule(statement, &context, &accepted) else { continue };
            if seen.insert((statement.effect, rule.clone())) {
                match statement.effect {
                    Effect::Allow => side.allows.push(rule),
                    Effect::Deny => side.denies.push(rule),
                }
            }
        }
        side
    }

    /// A statement's rule; `None` when a settled condition is False (it never holds).
    fn rule(
        &mut self,
        statement: CompiledStatement<'e>,
        context: &Context<'_>,
        accepted: &impl Fn(&str) -> bool,
    ) -> Option<Rule> {
        let mut rule = Rule { literals: Vec::new(), never_true: false };
        for condition in &statement.compiled.conditions {
            match condition.subject {
                Subject::Global(
                    GlobalType::Date | GlobalType::DateTime | GlobalType::TimeOfDay | GlobalType::WeekDay,
                ) => {
                    let atom = self.time_atom(condition);
                    rule.literals.push(Literal { atom, negative: false });
                }
                // With no attributes at all, an attribute condition is Unknown unless its list
                // expanded to nothing (D14); the environment and the groups are settled.
                subject => match condition.evaluate(context) {
                    Truth::True => {}
                    Truth::False => return None,
                    Truth::Unknown => match subject {
                        Subject::Attribute(_) if accepted(&condition.source.key.text) => {
                            let atom = self.attribute_atom(condition, context);
                            rule.literals.push(Literal { atom, negative: condition.operator.is_negative() });
                        }
                        _ => rule.never_true = true,
                    },
                },
            }
        }
        rule.literals.sort_unstable();
        rule.literals.dedup();
        Some(rule)
    }

    fn time_atom(&mut self, condition: &'e CompiledCondition) -> AtomId {
        let text = condition_text(&condition.source);
        if let Some(&atom) = self.time_atoms.get(&text) {
            return atom;
        }
        let atom = self.atoms.len();
        self.atoms.push(Atom::Time { slot: self.time_conditions.len() });
        self.time_conditions.push(condition);
        self.time_atoms.insert(text, atom);
        atom
    }

    fn attribute_atom(&mut self, condition: &CompiledCondition, context: &Context<'_>) -> AtomId {
        let personal =
            condition.values.iter().any(|v| matches!(v, Value::UserId | Value::UserGroups | Value::Template(_)));
        let language = match self.shared.condition_languages.get(&(condition as *const _)) {
            Some(&language) => language,
            None => {
                let language = self.shared.languages.intern(language(condition, context));
                if !personal {
                    self.shared.condition_languages.insert(condition as *const _, language);
                }
                language
            }
        };
        let key_name = &condition.source.key.text;
        let key = match self.keys.iter().position(|(name, _)| **name == **key_name) {
            Some(key) => key,
            None => {
                self.keys.push((key_name.to_string(), Vec::new()));
                self.keys.len() - 1
            }
        };
        *self.attribute_atoms.entry((key, language)).or_insert_with(|| {
            self.atoms.push(Atom::Attribute { language });
            self.keys[key].1.push(self.atoms.len() - 1);
            self.atoms.len() - 1
        })
    }

    pub fn finish(self, sides: [Side; 2]) -> Problem {
        let time_atoms: Vec<AtomId> =
            (0..self.atoms.len()).filter(|&a| matches!(self.atoms[a], Atom::Time { .. })).collect();
        let moments = if self.time_conditions.is_empty() { Vec::new() } else { moments(&self.time_conditions) };
        Problem { atoms: self.atoms, keys: self.keys, time_atoms, moments, sides }
    }
}

/// The values an element must take for the positive form of the condition to hold, as globs:
/// the evaluator's `satisfies`, read as sets.
fn language(condition: &CompiledCondition, context: &Context<'_>) -> Vec<Glob> {
    let operator = condition.operator.positive();
    let compared = |text: &str| match operator {
        Operator::Eq | Operator::In => Some(Glob::literal(text)),
        Operator::StartsWith => Some(Glob::prefix(text)),
        Operator::Match => Some(Glob::pieces(Pattern::compile(text).pieces())),
        _ => None,
    };
    let mut globs = Vec::new();
    for value in condition.values.iter() {
        match value {
            Value::Text(text) => globs.extend(compared(text)),
            Value::Pattern(pattern) if operator == Operator::Match => globs.push(Glob::pieces(pattern.pieces())),
            Value::Pattern(_) | Value::Typed(_) => {}
            Value::UserId => globs.extend(compared(context.user_id)),
            Value::UserGroups => globs.extend(context.groups.iter().filter_map(|g| compared(g))),
            Value::Template(segments) => {
                let escaped = crate::eval::value::fill_template(segments, context.user_id);
                globs.extend(match operator {
                    Operator::Match => Some(Glob::pieces(Pattern::compile(&escaped).pieces())),
                    _ => compared(&crate::syntax::unescape(&escaped)),
                });
            }
        }
    }
    globs
}
