//! From a tenant to an [`Engine`]: each binding's policy with its parameters substituted, its
//! boundaries applied (semantics.md §4, decisions D18), and every statement indexed by
//! permission and by the groups it reaches, so a decision only looks at the statements on the
//! permission it asks about that reach its principal.
//!
//! Bindings that bring a policy the same way (the same boundaries, the same parameters where the
//! policy uses any, the same level where it uses `${global:levelId}`) share its compiled
//! statements, and a statement without placeholders compiles once for every way of binding its
//! policy with the same boundaries: a policy bound to a thousand groups is compiled once. A large
//! tenant compiles on two threads, every way of binding one policy on the same thread.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::FxHashMap as HashMap;
use smallvec::{SmallVec, smallvec};

use super::index::{Compiled, Copy, Listed, NO_BOUNDARY, Reach, Slot, SlotBinding, Unit};
use super::value::{CompiledCondition, Subject, Value};
use super::{Engine, Membership};
use crate::catalog::Catalog;
use crate::iam::{Binding, Boundary, Level, Parameter, Policy, Tenant};
use crate::syntax::{Condition, Effect, Operand, Operator, Placeholder, Segment, Statement, StringLit};

/// Whether conditions hold a placeholder that a binding fills in (a bind parameter or the
/// level's id): such a statement compiles once per binding.
fn binding_dependent(conditions: &[Condition]) -> bool {
    conditions
        .iter()
        .flat_map(|c| c.operand.values())
        .flat_map(|v| v.placeholders())
        .any(|p| matches!(p, Placeholder::BindParam(_) | Placeholder::LevelId))
}

/// The engine's vocabulary: the permissions' slots and the keys' ids, every one made before a unit
/// compiles (so that units compile on two threads at once), and the boundaries' names.
struct Vocabulary {
    keys: HashMap<String, u32>,
    /// The `global:` keys' ids, one bit each: every permission that takes conditions accepts them.
    global_keys: Vec<u64>,
    slots: Vec<Slot>,
    slot_names: HashMap<Arc<str>, u32>,
    boundaries: Vec<String>,
}

/// What compiling a share of the units keeps besides the engine's tables.
struct Compiler<'t> {
    tenant: &'t Tenant,
    catalog: &'t Catalog,
    vocabulary: &'t Vocabulary,
    compiled: Vec<Compiled>,
    /// The copies of statements that compile alike for every binding with the same boundaries:
    /// by policy and boundaries.
    shared: HashMap<SharedStatements<'t>, Shared>,
    /// The conditions that no binding changes, compiled once: a statement's by policy,
    /// statement and position; a boundary's by the boundary's position and its own.
    statement_conditions: HashMap<(&'t str, usize, usize), Arc<CompiledCondition>>,
    boundary_conditions: HashMap<(u32, usize), Arc<CompiledCondition>>,
}

/// A boundary as a binding brings it: its position among the engine's boundary names, and its
/// conditions with the binding's placeholders filled in when it holds any.
struct Through<'t> {
    boundary: &'t Boundary,
    position: u32,
    filled: Option<Vec<Condition>>,
}

/// Below this many statements, units compile on one thread: a second one costs more than it
/// saves.
const PARALLEL_UNITS: usize = 1000;

/// A policy as bound through these boundaries.
type SharedStatements<'t> = (&'t str, &'t [String]);

/// The copies of a policy's statements as every way of binding it through the same boundaries
/// brings them, each with its permission's slot: one list for all of the policy's statements
/// (not one per statement), and each statement's range of it once compiled.
struct Shared {
    copies: Vec<(u32, Copy)>,
    at: Vec<Option<(u32, u32)>>,
}

impl Shared {
    fn new(statements: usize) -> Shared {
        Shared { copies: Vec::new(), at: vec![None; statements] }
    }

    fn get(&self, statement: usize) -> Option<&[(u32, Copy)]> {
        self.at[statement].map(|(start, end)| &self.copies[start as usize..end as usize])
    }

    fn keep(&mut self, statement: usize, copies: &[(u32, Copy)]) {
        let start = self.copies.len() as u32;
        self.copies.extend_from_slice(copies);
        self.at[statement] = Some((start, self.copies.len() as u32));
    }
}

/// What makes two ways of binding a policy compile differently: its boundaries, its parameters
/// where the policy or a boundary uses any, its level where one uses `${global:levelId}`.
#[derive(PartialEq, Eq, Hash)]
struct Way<'t> {
    policy: &'t str,
    boundaries: &'t [String],
    parameters: Option<&'t BTreeMap<String, Parameter>>,
    level: Option<&'t str>,
}

pub(super) fn compile(tenant: Tenant, catalog: &Catalog) -> Engine {
    let mut vocabulary = Vocabulary::new(&tenant, catalog);
    // One unit per way of binding a policy; the key says what makes two ways differ. Each unit
    // is compiled for the first binding that brings its way.
    let mut units: HashMap<Way<'_>, u32> = HashMap::default();
    let mut ways: Vec<(&Policy, &Binding)> = Vec::new();
    let mut bound_units = Vec::with_capacity(tenant.bindings.len());
    // Each policy, and what its statements use, looked up once per policy, not once per binding.
    let mut policy_uses: HashMap<&str, (&Policy, bool, bool)> = HashMap::default();
    for binding in &tenant.bindings {
        let (policy, own_parameters, own_level) = *policy_uses.entry(&binding.policy).or_insert_with(|| {
            let policy = &tenant.policies[&binding.policy];
            let (parameters, level) = uses(policy.document.statements.iter().map(Statement::conditions));
            (policy, parameters, level)
        });
        let attached = binding.boundaries.iter().map(|name| tenant.boundaries[name].conditions.as_slice());
        let (boundary_parameters, boundary_level) = uses(attached);
        let (parameters, level) = (own_parameters || boundary_parameters, own_level || boundary_level);
        let key = Way {
            policy: &binding.policy,
            boundaries: &binding.boundaries,
            parameters: parameters.then_some(&binding.parameters),
            level: level.then(|| level_id(binding, &tenant)),
        };
        let next = ways.len() as u32;
        let unit = *units.entry(key).or_insert_with(|| {
            ways.push((policy, binding));
            next
        });
        bound_units.push(unit);
    }
    // Each policy's units, in the order of their first binding; how many statements they compile.
    let mut by_policy: HashMap<&str, usize> = HashMap::default();
    let mut shares: Vec<Vec<u32>> = Vec::new();
    let mut total = 0;
    for (unit, &(policy, _)) in ways.iter().enumerate() {
        let at = *by_policy.entry(&policy.name).or_insert_with(|| {
            vocabulary.meet(policy, catalog);
            shares.push(Vec::new());
            shares.len() - 1
        });
        shares[at].push(unit as u32);
        total += policy.document.statements.len();
    }
    // Two threads take each next policy's units that neither has taken (a policy's units on one
    // thread: they share what compiles alike), when there are enough to pay for the second. A
    // thread that waits for a core takes less, so the other never waits for it long.
    let next = AtomicUsize::new(0);
    let compile_shares = |room: usize| {
        let mut compiler = Compiler::new(&tenant, catalog, &vocabulary, room);
        let mut units: Vec<(u32, Unit)> = Vec::new();
        while let Some(share) = shares.get(next.fetch_add(1, Ordering::Relaxed)) {
            for &unit in share {
                let (policy, binding) = ways[unit as usize];
                units.push((unit, compiler.unit(policy, binding)));
            }
        }
        (compiler.compiled, units)
    };
    // Room for a copy of every statement's permissions at once in the main thread's table, which
    // takes the helper's after: grown one at a time, it would be copied over and over and, at
    // its peak, held twice.
    let room = shares
        .iter()
        .map(|units| ways[units[0] as usize].0)
        .flat_map(|p| &p.document.statements)
        .map(|s| s.permissions.len())
        .sum();
    let ((mut compiled, mine), (theirs_compiled, theirs)) = std::thread::scope(|scope| {
        let helper = (total >= PARALLEL_UNITS).then(|| scope.spawn(|| compile_shares(0)));
        let mine = compile_shares(room);
        let theirs = helper.map_or_else(Default::default, |helper| {
            helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (mine, theirs)
    });
    // The helper's statements follow the main thread's.
    let offset = compiled.len() as u32;
    compiled.extend(theirs_compiled);
    let mut units: Vec<Unit> = std::iter::repeat_with(Unit::default).take(ways.len()).collect();
    for (unit, made) in mine {
        units[unit as usize] = made;
    }
    for (unit, mut made) in theirs {
        for copy in &mut made.copies {
            copy.compiled += offset;
        }
        units[unit as usize] = made;
    }
    let Vocabulary { mut slots, slot_names, boundaries, keys, .. } = vocabulary;
    // The engine keeps them as long as it lives: not the room that growing them left.
    compiled.shrink_to_fit();
    let levels: Vec<Option<usize>> = tenant
        .bindings
        .iter()
        .map(|binding| match &binding.level {
            Level::Account => None,
            Level::Environment(id) => tenant.environments.iter().position(|e| &e.id == id),
        })
        .collect();
    // Each permission's bindings counted first: a large account has millions.
    let mut counts = vec![0usize; slots.len()];
    for &unit in &bound_units {
        for &(slot, ..) in &units[unit as usize].slots {
            counts[slot as usize] += 1;
        }
    }
    for (slot, count) in slots.iter_mut().zip(counts) {
        slot.bindings.reserve_exact(count);
    }
    for (position, &unit) in bound_units.iter().enumerate() {
        for &(slot, start, end) in &units[unit as usize].slots {
            let slot = &mut slots[slot as usize];
            let base = slot.len as u32;
            slot.bindings.push(SlotBinding { base, binding: position as u32, unit, start, end });
            slot.len += (end - start) as usize;
        }
    }
    let flags: Vec<u16> = compiled.iter().map(Reach::flags_of).collect();
    let index = |slots: &mut [Slot]| {
        for slot in slots {
            index_reaches(slot, &tenant, &units, &flags, &levels);
        }
    };
    // The permissions are indexed apart from each other and from the principals' groups: the
    // permissions in two halves of about as many statements, one beside the rest of the work.
    let total: usize = slots.iter().map(|slot| slot.len).sum();
    let mut before = 0;
    let half = slots
        .iter()
        .take_while(|slot| {
            before += slot.len;
            before < total / 2
        })
        .count();
    let (first, second) = slots.split_at_mut(half);
    let memberships = std::thread::scope(|scope| {
        scope.spawn(|| index(first));
        index(second);
        memberships(&tenant)
    });
    let keys: super::names::Names = keys.into_iter().collect();
    Engine::assemble(
        tenant,
        catalog,
        super::Tables {
            global_keys: keys.iter().map(|key| key.starts_with("global:")).collect(),
            keys,
            slots,
            slot_names: slot_names.into_iter().collect(),
            compiled,
            units,
            boundaries,
            levels,
            memberships,
        },
    )
}

/// Whether conditions use bind parameters, and whether they use `${global:levelId}`.
fn uses<'c>(conditions: impl Iterator<Item = &'c [Condition]>) -> (bool, bool) {
    let (mut parameters, mut level) = (false, false);
    for placeholder in conditions.flatten().flat_map(|c| c.operand.values()).flat_map(|v| v.placeholders()) {
        parameters |= matches!(placeholder, Placeholder::BindParam(_));
        level |= matches!(placeholder, Placeholder::LevelId);
    }
    (parameters, level)
}

fn level_id<'t>(binding: &'t Binding, tenant: &'t Tenant) -> &'t str {
    match &binding.level {
        Level::Account => &tenant.account.id,
        Level::Environment(id) => id,
    }
}

/// Each principal's groups, from the groups' member lists.
fn memberships(tenant: &Tenant) -> Vec<Membership> {
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); tenant.users.len() + tenant.service_users.len()];
    for (position, group) in tenant.groups.iter().enumerate() {
        for &member in &group.members {
            let mine = &mut groups[tenant.ordinal(member)];
            if mine.last() != Some(&position) {
                mine.push(position);
            }
        }
    }
    groups
        .into_iter()
        .map(|groups| {
            let mut bits = vec![0u64; tenant.groups.len().div_ceil(64)];
            for &g in &groups {
                bits[g / 64] |= 1 << (g % 64);
            }
            let ids = groups.iter().map(|&g| tenant.groups[g].id.clone()).collect();
            Membership { groups, bits, ids }
        })
        .collect()
}

/// For each group, the statements on the slot that reach its members, in the slot's order.
fn index_reaches(slot: &mut Slot, tenant: &Tenant, units: &[Unit], flags: &[u16], levels: &[Option<usize>]) {
    if slot.bindings.is_empty() {
        return;
    }
    let mut counts = vec![0u32; tenant.groups.len() + 1];
    for binding in &slot.bindings {
        for &group in &tenant.bindings[binding.binding as usize].groups {
            counts[group + 1] += binding.end - binding.start;
        }
    }
    for group in 1..counts.len() {
        counts[group] += counts[group - 1];
    }
    let mut next = counts.clone();
    let total = *counts.last().expect("one more than the groups") as usize;
    let placeholder = Reach { position: 0, compiled: 0, level: 0, flags: 0 };
    // Each reach's group, for the list of all statements (see below).
    let mut groups = vec![0u32; total];
    let mut reaches = vec![placeholder; total];
    for binding in &slot.bindings {
        let level = levels[binding.binding as usize].map_or(0, |e| e as u16 + 1);
        let copies = &units[binding.unit as usize].copies[binding.start as usize..binding.end as usize];
        for &group in &tenant.bindings[binding.binding as usize].groups {
            // The binding's copies are one run of the group's reaches.
            let at = next[group] as usize;
            next[group] += copies.len() as u32;
            for ((k, copy), reach) in copies.iter().enumerate().zip(&mut reaches[at..at + copies.len()]) {
                let flags = flags[copy.compiled as usize];
                let position = binding.base + k as u32;
                *reach = Reach { position, compiled: copy.compiled, level, flags };
            }
            groups[at..at + copies.len()].fill(group as u32);
        }
    }
    slot.present = counts
        .windows(2)
        .enumerate()
        .filter(|(_, range)| range[0] < range[1])
        .map(|(group, range)| (group as u32, range[0], range[1]))
        .collect();
    slot.reached = vec![0; tenant.groups.len().div_ceil(64)];
    for &(group, _, _) in &slot.present {
        slot.reached[group as usize / 64] |= 1 << (group % 64);
    }
    if reaches.len() <= Slot::FEW {
        let mut listed: Vec<(Reach, u32)> = reaches.iter().copied().zip(groups).collect();
        listed.sort_by_key(|&(reach, group)| (reach.position, group));
        // A statement's groups within one word of bits make one entry.
        for (reach, group) in listed {
            let (word, bit) = (group / 64, 1 << (group % 64));
            match slot.few.last_mut() {
                Some(last) if last.reach.position == reach.position && last.word == word => last.groups |= bit,
                _ => slot.few.push(Listed { reach, word, groups: bit }),
            }
        }
    }
    slot.reach_offsets = counts;
    slot.reaches = reaches;
}

impl Vocabulary {
    /// The catalog's keys and permissions, and the tenant's boundaries.
    fn new(tenant: &Tenant, catalog: &Catalog) -> Vocabulary {
        let mut keys: HashMap<String, u32> = HashMap::default();
        for key in catalog.key_names() {
            let next = keys.len() as u32;
            keys.entry(key.to_string()).or_insert(next);
        }
        let mut global_keys = vec![0u64; keys.len().div_ceil(64)];
        for id in catalog.key_names().filter(|key| catalog.global(key).is_some()).map(|key| keys[key]) {
            global_keys[id as usize / 64] |= 1 << (id % 64);
        }
        let mut vocabulary = Vocabulary {
            keys,
            global_keys,
            slots: Vec::new(),
            slot_names: HashMap::default(),
            boundaries: tenant.boundaries.keys().cloned().collect(),
        };
        for permission in catalog.permissions() {
            vocabulary.slot(&permission.name, catalog);
        }
        vocabulary
    }

    /// The slots of a policy's permissions outside the catalog and the ids of the keys outside
    /// it that its statements compile, in the order that compiling them meets them. (Every
    /// other key a unit compiles is the catalog's: one a catalog permission accepts.)
    fn meet(&mut self, policy: &Policy, catalog: &Catalog) {
        for statement in &policy.document.statements {
            for permission in &statement.permissions {
                if catalog.permission(&permission.text).is_some_and(|p| p.takes_conditions) {
                    continue;
                }
                self.slot(&permission.text, catalog);
                for condition in statement.conditions() {
                    let key = &*condition.key.text;
                    if catalog.global(key).is_none() && !self.keys.contains_key(key) {
                        let id = self.keys.len() as u32;
                        self.keys.insert(key.to_string(), id);
                    }
                }
            }
        }
    }

    /// The slot of a permission, made on first sight.
    fn slot(&mut self, permission: &str, catalog: &Catalog) -> u32 {
        if let Some(&slot) = self.slot_names.get(permission) {
            return slot;
        }
        let name: Arc<str> = permission.into();
        // What `Catalog::operators` accepts: the permission's keys and the `global:` ones, when it
        // takes conditions at all.
        let accepted = catalog.permission(permission).map(|p| match p.takes_conditions {
            true => {
                let mut bits = self.global_keys.clone();
                for &id in p.keys.keys().filter_map(|key| self.keys.get(key.as_str())) {
                    bits[id as usize / 64] |= 1 << (id % 64);
                }
                bits
            }
            false => vec![0; self.global_keys.len()],
        });
        let slot = self.slots.len() as u32;
        self.slots.push(Slot::new(name.clone(), accepted));
        self.slot_names.insert(name, slot);
        slot
    }
}

impl<'t> Compiler<'t> {
    fn new(tenant: &'t Tenant, catalog: &'t Catalog, vocabulary: &'t Vocabulary, room: usize) -> Compiler<'t> {
        Compiler {
            tenant,
            catalog,
            vocabulary,
            compiled: Vec::with_capacity(room),
            shared: HashMap::default(),
            statement_conditions: HashMap::default(),
            boundary_conditions: HashMap::default(),
        }
    }

    /// A statement's condition compiled: once for every binding when no placeholder of the
    /// binding's is in it, else as this binding fills it in (`filled`).
    fn statement_condition(
        &mut self,
        policy: &'t Policy,
        index: usize,
        position: usize,
        filled: Option<Condition>,
    ) -> Arc<CompiledCondition> {
        let written = &policy.document.statements[index].conditions()[position];
        match filled {
            Some(filled) => Arc::new(compile_condition(filled, None, self.catalog, &self.vocabulary.keys)),
            None => {
                let key = (policy.name.as_str(), index, position);
                if let Some(compiled) = self.statement_conditions.get(&key) {
                    return Arc::clone(compiled);
                }
                let compiled = Arc::new(compile_condition(written.clone(), None, self.catalog, &self.vocabulary.keys));
                self.statement_conditions.insert(key, Arc::clone(&compiled));
                compiled
            }
        }
    }

    /// A boundary's condition compiled: once for every binding when the boundary holds no
    /// placeholder of the binding's, else as this binding fills it in.
    fn boundary_condition(&mut self, through: &Through<'t>, position: usize) -> Arc<CompiledCondition> {
        let from = || Some(through.boundary.name.clone());
        let Some(filled) = &through.filled else {
            let key = (through.position, position);
            if let Some(compiled) = self.boundary_conditions.get(&key) {
                return Arc::clone(compiled);
            }
            let written = through.boundary.conditions[position].clone();
            let compiled = Arc::new(compile_condition(written, from(), self.catalog, &self.vocabulary.keys));
            self.boundary_conditions.insert(key, Arc::clone(&compiled));
            return compiled;
        };
        Arc::new(compile_condition(filled[position].clone(), from(), self.catalog, &self.vocabulary.keys))
    }

    /// The copies of a policy's statement without the binding's boundaries, compiled once for
    /// every binding that brings it alike, added to `out`.
    fn statement_copies(&mut self, policy: &'t Policy, binding: &Binding, index: usize, out: &mut Vec<(u32, Copy)>) {
        let key: SharedStatements<'t> = (policy.name.as_str(), &[]);
        if let Some(shared) = self.shared.get(&key).and_then(|shared| shared.get(index)) {
            out.extend_from_slice(shared);
            return;
        }
        let start = out.len();
        self.compile_statement(policy, index, binding, &[], out);
        let statements = policy.document.statements.len();
        self.shared.entry(key).or_insert_with(|| Shared::new(statements)).keep(index, &out[start..]);
    }

    /// Whether no boundary restricts an ALLOW: none applies to any of its permissions, each of
    /// which the catalog knows (semantics §4.3: it passes through each boundary unchanged).
    fn unrestricted(&self, statement: &Statement, through: &[Through<'_>]) -> bool {
        let catalog = self.catalog;
        statement.effect == Effect::Allow
            && !through.is_empty()
            && statement.permissions.iter().all(|name| {
                catalog.permission(&name.text).is_some_and(|permission| {
                    through
                        .iter()
                        .flat_map(|t| &t.boundary.conditions)
                        .all(|condition| !catalog.accepts(permission, &condition.key.text))
                })
            })
    }

    /// Compiles one statement as a binding brings it through its boundaries (semantics §4.1):
    /// one statement per permission, with the binding's parameters substituted. A condition is
    /// part of a permission's statement only if the permission accepts its key; the others
    /// come back apart, as not restricting it (decisions D30). The copies are added to `copies`.
    fn compile_statement(
        &mut self,
        policy: &'t Policy,
        index: usize,
        binding: &Binding,
        through: &[Through<'t>],
        copies: &mut Vec<(u32, Copy)>,
    ) {
        let statement = &policy.document.statements[index];
        let written = statement.conditions();
        let level_id = level_id(binding, self.tenant);
        let fill = Fill { parameters: Some(&binding.parameters), level_id: Some(level_id), user: None };
        // Only the conditions that hold a placeholder of the binding's change with it.
        let filled = |c: usize| match binding_dependent(std::slice::from_ref(&written[c])) {
            true => Some(fill.condition(&written[c])),
            false => None,
        };
        // Each condition compiled once for all of the statement's permissions, when one needs it.
        let mut made: Vec<Option<Arc<CompiledCondition>>> = vec![None; written.len()];
        // DENY statements are never changed by a boundary (semantics §4.2).
        let through = if statement.effect == Effect::Allow { through } else { &[] };
        for permission in &statement.permissions {
            let slot = self.vocabulary.slot_names[&*permission.text];
            let mut own: Vec<Arc<CompiledCondition>> = Vec::with_capacity(written.len());
            let mut not_applicable: Vec<Condition> = Vec::new();
            for (c, condition) in written.iter().enumerate() {
                if !self.catalog.restricts(&permission.text, &condition.key.text) {
                    not_applicable.push(filled(c).unwrap_or_else(|| condition.clone()));
                } else if let Some(compiled) = &made[c] {
                    own.push(Arc::clone(compiled));
                } else {
                    let compiled = self.statement_condition(policy, index, c, filled(c));
                    own.push(Arc::clone(made[c].insert(compiled)));
                }
            }
            let mut push = |compiler: &mut Self, conditions: Vec<Arc<CompiledCondition>>, boundary: u32| {
                let compiled = compiler.compiled.len() as u32;
                compiler.compiled.push(Compiled {
                    effect: statement.effect,
                    permission: permission.text.clone(),
                    conditions,
                    span: statement.span.clone(),
                    not_applicable: not_applicable.clone(),
                });
                copies.push((slot, Copy { compiled, boundary }));
            };
            // Without boundaries, the one copy as it is (most statements: no list to build).
            match through.is_empty() {
                true => push(self, own, NO_BOUNDARY),
                false => {
                    for (conditions, boundary) in self.bounded(own, &permission.text, through) {
                        push(self, conditions, boundary);
                    }
                }
            }
        }
    }

    /// Semantics §4.2–5: each boundary copies an ALLOW with the boundary's conditions on keys
    /// the permission accepts, one copy per alternative (D18): the copies' conditions and the
    /// boundary each came through.
    fn bounded(
        &mut self,
        own: Vec<Arc<CompiledCondition>>,
        permission: &str,
        through: &[Through<'t>],
    ) -> Vec<(Vec<Arc<CompiledCondition>>, u32)> {
        let catalog = self.catalog;
        let info = match catalog.permission(permission) {
            Some(info) if !through.is_empty() => info,
            _ => return vec![(own, NO_BOUNDARY)],
        };
        let mut out = Vec::new();
        for boundary in through {
            let conditions = &boundary.boundary.conditions;
            let applicable = (0..conditions.len()).filter(|&c| catalog.accepts(info, &conditions[c].key.text));
            let mut together: Vec<usize> = Vec::new();
            let mut alternatives: Vec<(&str, Vec<usize>)> = Vec::new();
            for c in applicable {
                let condition = &conditions[c];
                let alternative =
                    matches!(condition.operator, Operator::Eq | Operator::In | Operator::StartsWith | Operator::Match);
                if !alternative {
                    together.push(c);
                } else if let Some((_, list)) = alternatives.iter_mut().find(|(key, _)| *key == &*condition.key.text) {
                    list.push(c);
                } else {
                    alternatives.push((&condition.key.text, vec![c]));
                }
            }
            let mut copies: Vec<Vec<usize>> = vec![together];
            for (_, choices) in &alternatives {
                copies = copies
                    .iter()
                    .flat_map(|copy| choices.iter().map(move |&choice| copy.iter().copied().chain([choice]).collect()))
                    .collect();
            }
            for copy in copies {
                let mut conditions = own.clone();
                conditions.extend(copy.into_iter().map(|c| self.boundary_condition(boundary, c)));
                out.push((conditions, boundary.position));
            }
        }
        out
    }

    /// The position of a boundary among the engine's boundary names.
    fn boundary(&self, name: &str) -> u32 {
        self.vocabulary.boundaries.iter().position(|b| b == name).expect("a boundary") as u32
    }

    /// Compiles a policy as a binding brings it.
    fn unit(&mut self, policy: &'t Policy, binding: &'t Binding) -> Unit {
        let tenant = self.tenant;
        let through: Vec<Through<'t>> = binding
            .boundaries
            .iter()
            .map(|name| {
                let boundary = &tenant.boundaries[name];
                let filled = binding_dependent(&boundary.conditions)
                    .then(|| substitute_all(&boundary.conditions, binding, tenant));
                Through { boundary, position: self.boundary(name), filled }
            })
            .collect();
        let boundaries_alike = through.iter().all(|t| t.filled.is_none());
        let mut copies: Vec<(u32, Copy)> = Vec::new();
        // This policy's shared statements with these boundaries, taken out while the unit
        // compiles (the copies without boundaries that it may read are kept apart).
        let key: SharedStatements<'t> = (policy.name.as_str(), binding.boundaries.as_slice());
        let statements = policy.document.statements.len();
        let mut shared = self.shared.remove(&key).unwrap_or_else(|| Shared::new(statements));
        for (index, statement) in policy.document.statements.iter().enumerate() {
            let alike = boundaries_alike && !binding_dependent(statement.conditions());
            if let Some(copied) = shared.get(index).filter(|_| alike) {
                copies.extend_from_slice(copied);
                continue;
            }
            let start = copies.len();
            if alike && !through.is_empty() && statement.effect == Effect::Deny {
                // No boundary changes a DENY (semantics §4.2): the copy without boundaries.
                self.statement_copies(policy, binding, index, &mut copies);
            } else if alike && self.unrestricted(statement, &through) {
                // The boundaries add nothing to it: the copy without boundaries, once through
                // each boundary, sharing its compiled form.
                let mut plain = Vec::new();
                self.statement_copies(policy, binding, index, &mut plain);
                let each = |(slot, copy): (u32, Copy)| {
                    through.iter().map(move |t| (slot, Copy { boundary: t.position, ..copy }))
                };
                copies.extend(plain.into_iter().flat_map(each));
            } else {
                self.compile_statement(policy, index, binding, &through, &mut copies);
            }
            if alike {
                shared.keep(index, &copies[start..]);
            }
        }
        self.shared.insert(key, shared);
        // By permission, each permission's copies in the policy's order.
        copies.sort_by_key(|&(slot, _)| slot);
        let mut unit = Unit { copies: Vec::with_capacity(copies.len()), slots: Vec::new() };
        for (slot, copy) in copies {
            match unit.slots.last_mut() {
                Some((last, _, end)) if *last == slot => *end += 1,
                _ => {
                    let at = unit.copies.len() as u32;
                    unit.slots.push((slot, at, at + 1));
                }
            }
            unit.copies.push(copy);
        }
        unit
    }
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
                            .map(|v| StringLit { segments: smallvec![Segment::Text(v)], span: value.span.clone() }),
                    );
                    continue;
                }
            }
            let mut segments: SmallVec<[Segment; 1]> = SmallVec::new();
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
        // Field by field: cloning the whole condition would copy the operand only to drop it.
        Condition {
            key: condition.key.clone(),
            operator: condition.operator,
            operator_span: condition.operator_span.clone(),
            operand,
            span: condition.span.clone(),
        }
    }
}

/// Compiles a condition whose key has its id (see [`Vocabulary::meet`]).
fn compile_condition(
    condition: Condition,
    boundary: Option<String>,
    catalog: &Catalog,
    keys: &HashMap<String, u32>,
) -> CompiledCondition {
    let typed = catalog.global(&condition.key.text).map(|(kind, _)| kind);
    let subject = match typed {
        Some(kind) => Subject::Global(kind),
        None => Subject::Attribute(*keys.get(&*condition.key.text).expect("the key's id, made before compiling")),
    };
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
            _ if value.placeholders().next().is_some() => Value::Template(value.segments.to_vec()),
            _ if condition.operator == Operator::Match => {
                Value::Pattern(super::value::Pattern::compile(&value.display_value()))
            }
            _ => {
                // The text itself when it has nothing to unescape, rather than a copy of it.
                let text = value.display_value();
                let unescaped = match crate::syntax::unescape(&text) {
                    std::borrow::Cow::Owned(unescaped) => Some(unescaped),
                    std::borrow::Cow::Borrowed(_) => None,
                };
                Value::Text(unescaped.unwrap_or(text))
            }
        })
        .collect();
    CompiledCondition::new(condition, boundary, subject, values)
}
