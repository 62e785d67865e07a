//! How an [`Engine`] keeps the compiled statements: each statement compiled once per way a
//! binding brings it (its [`Compiled`] form shared by every binding that brings it the same
//! way), every permission's statements in the order of the tenant's bindings, and for each
//! permission and group the statements that reach the group's members, so that a decision reads
//! only the statements that reach its principal.

use std::ops::Deref;

use super::Engine;
use super::value::{CompiledCondition, Subject};
use crate::syntax::{Condition, Effect, Span, condition_text};

/// A statement compiled for one permission: the binding's parameters filled in, a boundary's
/// conditions appended. Bindings that bring a policy the same way share it.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub effect: Effect,
    pub permission: std::sync::Arc<str>,
    /// Shared by every statement that compiles the same condition the same way (a boundary's
    /// condition appended to many statements is compiled once).
    pub conditions: Vec<std::sync::Arc<CompiledCondition>>,
    /// The statement's span in its policy file.
    pub span: Span,
    /// Conditions of the written statement that do not restrict this permission, because it does
    /// not accept their keys (decisions D30): the statement holds for it without them.
    pub not_applicable: Vec<Condition>,
}

impl Compiled {
    /// The statement as it reads after substitution and boundaries, in the policy language.
    pub fn text(&self) -> String {
        let conditions: Vec<String> = self.conditions.iter().map(|c| condition_text(&c.source)).collect();
        match conditions.is_empty() {
            true => format!("{} {};", self.effect.keyword(), self.permission),
            false => format!("{} {} WHERE {};", self.effect.keyword(), self.permission, conditions.join(" AND ")),
        }
    }
}

/// No boundary: the copy of a statement that a binding without boundaries brings.
pub(super) const NO_BOUNDARY: u32 = u32::MAX;

/// One statement of a policy as a way of binding it brings it: its compiled form and the
/// boundary it came through.
#[derive(Debug, Clone, Copy)]
pub(super) struct Copy {
    pub compiled: u32,
    /// Position in [`Engine`]'s boundary names, or [`NO_BOUNDARY`].
    pub boundary: u32,
}

/// A policy as one way of binding it brings it (its parameters, boundaries and level): its
/// copies, grouped by permission.
#[derive(Debug, Default)]
pub(super) struct Unit {
    pub copies: Vec<Copy>,
    /// `(slot, start, end)`: the copies on each permission, sorted by slot.
    pub slots: Vec<(u32, u32, u32)>,
}

/// A binding's copies on one permission, and where they stand in the permission's statements.
#[derive(Debug, Clone, Copy)]
pub(super) struct SlotBinding {
    /// The position of its first copy among the permission's statements.
    pub base: u32,
    pub binding: u32,
    pub unit: u32,
    pub start: u32,
    pub end: u32,
}

/// A statement that reaches the members of a group: what a decision reads, without looking
/// anything else up for unconditional statements.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reach {
    /// The statement's position among the permission's statements.
    pub position: u32,
    pub compiled: u32,
    /// 0 at account level, else the environment's position plus one.
    pub level: u16,
    pub flags: u16,
}

/// A statement in a permission's list of all its statements ([`Slot::few`]), with the groups
/// it reaches in one word of group bits: a principal's word ANDed with them says whether it
/// reaches the principal. A statement whose groups span several words is listed once per word.
#[derive(Debug, Clone, Copy)]
pub(super) struct Listed {
    pub reach: Reach,
    /// Which word of group bits (groups `64 * word ..`).
    pub word: u32,
    pub groups: u64,
}

impl Reach {
    pub const DENY: u16 = 1;
    pub const UNCONDITIONAL: u16 = 2;

    /// The flags of a reach of this statement.
    pub fn flags_of(statement: &Compiled) -> u16 {
        let deny = if statement.effect == Effect::Deny { Reach::DENY } else { 0 };
        deny | if statement.conditions.is_empty() { Reach::UNCONDITIONAL } else { 0 }
    }
}

/// One permission: the keys it accepts, its statements and who they reach.
#[derive(Debug)]
pub(crate) struct Slot {
    pub name: std::sync::Arc<str>,
    /// Attribute key ids the permission accepts, one bit each; `None` for a permission outside
    /// the catalog, which is judged by no key (decisions D15).
    pub accepted: Option<Vec<u64>>,
    /// The attribute keys that conditions on the permission read (and it accepts), each once:
    /// a query keeps the values of these and only checks the request's other keys.
    pub read: Vec<u32>,
    pub bindings: Vec<SlotBinding>,
    pub len: usize,
    /// For each group (position in the tenant), its range of `reaches`; empty when no statement
    /// is on the permission.
    pub reach_offsets: Vec<u32>,
    pub reaches: Vec<Reach>,
    /// The groups with statements here, ascending, each with its range of `reaches`.
    pub present: Vec<(u32, u32, u32)>,
    /// The same groups, one bit each: ANDed with a principal's groups, the groups a decision
    /// reads.
    pub reached: Vec<u64>,
    /// For a permission with few statements: every statement in the permission's order, read
    /// through at once rather than group by group; empty for the others.
    pub few: Vec<Listed>,
}

impl Slot {
    /// Up to this many reaches a permission keeps them in order too (see [`Slot::few`]).
    pub const FEW: usize = 256;
}

impl Slot {
    pub fn new(name: std::sync::Arc<str>, accepted: Option<Vec<u64>>) -> Slot {
        Slot {
            name,
            accepted,
            read: Vec::new(),
            bindings: Vec::new(),
            len: 0,
            reach_offsets: Vec::new(),
            reaches: Vec::new(),
            present: Vec::new(),
            reached: Vec::new(),
            few: Vec::new(),
        }
    }

    /// Whether the permission accepts the attribute key with this id.
    pub fn accepts(&self, key: u32) -> bool {
        self.accepted.as_ref().is_none_or(|bits| bits.get(key as usize / 64).is_some_and(|w| w >> (key % 64) & 1 == 1))
    }

    /// The statements on the permission that reach the members of a group, in order.
    pub fn reaching(&self, group: usize) -> &[Reach] {
        match self.reach_offsets.get(group..group + 2) {
            Some(&[start, end]) => &self.reaches[start as usize..end as usize],
            _ => &[],
        }
    }
}

/// Fills each slot's [`Slot::read`] from the conditions of the copies its units bring, the keys
/// that most conditions read first: those are the values a query keeps at hand.
pub(super) fn read_keys(slots: &mut [Slot], units: &[Unit], compiled: &[Compiled]) {
    // Per slot: each key read, with how many conditions read it.
    let mut counts: Vec<Vec<(u32, usize)>> = vec![Vec::new(); slots.len()];
    for unit in units {
        for &(slot, start, end) in &unit.slots {
            let conditions = unit.copies[start as usize..end as usize]
                .iter()
                .flat_map(|copy| &compiled[copy.compiled as usize].conditions);
            for condition in conditions {
                let Subject::Attribute(key) = condition.subject else { continue };
                if !slots[slot as usize].accepts(key) {
                    continue;
                }
                let counted = &mut counts[slot as usize];
                match counted.iter_mut().find(|(read, _)| *read == key) {
                    Some((_, count)) => *count += 1,
                    None => counted.push((key, 1)),
                }
            }
        }
    }
    for (slot, mut counted) in slots.iter_mut().zip(counts) {
        counted.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
        slot.read = counted.into_iter().map(|(key, _)| key).collect();
    }
}

/// One statement as a binding brings it: its compiled form, and the binding's groups and level.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompiledStatement<'e> {
    pub compiled: &'e Compiled,
    /// Position of the binding in [`crate::iam::Tenant::bindings`].
    pub binding: usize,
    /// The binding's groups (positions in the tenant).
    pub groups: &'e [usize],
    /// `None` at account level, else the environment's position in the tenant.
    pub environment: Option<usize>,
    /// For an ALLOW bound with boundaries: the boundary this copy of the statement came through
    /// (semantics §4.3), whether or not that boundary restricts the permission.
    pub boundary: Option<&'e str>,
}

impl Deref for CompiledStatement<'_> {
    type Target = Compiled;

    fn deref(&self) -> &Compiled {
        self.compiled
    }
}

/// The statements on one permission, in the order of the tenant's bindings.
#[derive(Clone, Copy)]
pub(crate) struct Statements<'e> {
    engine: &'e Engine,
    slot: Option<&'e Slot>,
}

impl<'e> Statements<'e> {
    pub(super) fn new(engine: &'e Engine, slot: Option<&'e Slot>) -> Statements<'e> {
        Statements { engine, slot }
    }

    /// The statement at a position.
    ///
    /// # Panics
    ///
    /// When there is no statement there.
    pub fn at(&self, position: usize) -> CompiledStatement<'e> {
        let slot = self.slot.expect("a statement of this permission");
        let i = slot.bindings.partition_point(|b| b.base as usize <= position) - 1;
        let binding = &slot.bindings[i];
        self.view(binding, binding.start as usize + position - binding.base as usize)
    }

    pub fn iter(&self) -> impl Iterator<Item = CompiledStatement<'e>> + use<'e> {
        let this = *self;
        this.slot
            .into_iter()
            .flat_map(|slot| &slot.bindings)
            .flat_map(move |binding| (binding.start..binding.end).map(move |copy| this.view(binding, copy as usize)))
    }

    fn view(&self, binding: &SlotBinding, copy: usize) -> CompiledStatement<'e> {
        let engine = self.engine;
        let copy = engine.tables.units[binding.unit as usize].copies[copy];
        let bound = &engine.tenant.bindings[binding.binding as usize];
        CompiledStatement {
            compiled: &engine.tables.compiled[copy.compiled as usize],
            binding: binding.binding as usize,
            groups: &bound.groups,
            environment: engine.tables.levels[binding.binding as usize],
            boundary: (copy.boundary != NO_BOUNDARY).then(|| engine.tables.boundaries[copy.boundary as usize].as_str()),
        }
    }
}
