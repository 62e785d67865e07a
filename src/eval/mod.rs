//! The evaluator: tenants compile into an [`Engine`] whose statements are indexed by
//! permission; a [`Query`] (a prepared request) evaluates to a [`Decision`]: Allow, an explicit
//! or implicit Deny, or Conditional with its residual policy (semantics.md §5, decisions D12).
//! [`explain`] says why, statement by statement and condition by condition.
//!
//! ```
//! use warden::catalog::Catalog;
//! use warden::eval::{Decision, Engine, Request};
//! use warden::iam::{TenantFiles, load};
//! use warden::diagnostic::SourceFile;
//!
//! let files = TenantFiles {
//!     config: SourceFile::new("warden.toml", r#"
//!         [account]
//!         id = "acme"
//!         [[environment]]
//!         id = "prod"
//!         [[user]]
//!         id = "0b6f3c1e-0000-4000-8000-000000000001"
//!         email = "alice@acme.example"
//!         [[group]]
//!         id = "sre"
//!         members = ["alice@acme.example"]
//!         [[binding]]
//!         policy = "logs"
//!         groups = ["sre"]
//!         level = "account"
//!     "#),
//!     policies: vec![SourceFile::new("policies/logs.policy",
//!         r#"ALLOW storage:logs:read WHERE storage:k8s.cluster.name IN ("a", "b");"#)],
//!     boundaries: vec![],
//! };
//! let tenant = load(&files, Catalog::builtin()).tenant.expect("the tenant has no errors");
//! let alice = tenant.find_user("alice@acme.example").unwrap();
//! let engine = Engine::new(tenant, Catalog::builtin());
//!
//! let mut request = Request::new(alice, "storage:logs:read").in_environment("prod");
//! request.attribute("storage:k8s.cluster.name", "a");
//! let query = engine.query(&request).unwrap();
//! assert!(matches!(engine.evaluate(&query), Decision::Allow { .. }));
//!
//! // Without the attribute the answer depends on it: the residual is the filter to apply.
//! let request = Request::new(alice, "storage:logs:read").in_environment("prod");
//! let query = engine.query(&request).unwrap();
//! let decision = engine.evaluate(&query);
//! assert_eq!(engine.residual_text(&query, &decision).unwrap(),
//!     "ALLOW storage:logs:read WHERE storage:k8s.cluster.name IN (\"a\", \"b\");\n");
//! ```

mod compile;
pub mod diff;
mod effective;
mod error;
pub mod explain;
mod index;
mod names;
mod value;

use std::collections::BTreeMap;

use rustc_hash::FxHashSet as HashSet;

use chrono::{DateTime, Utc};

pub use effective::Grant;
pub use error::RequestError;
pub use explain::Explanation;
pub(crate) use index::{Compiled, CompiledStatement, Statements};
pub use value::AttrValue;
pub(crate) use value::Truth;

use crate::catalog::Catalog;
use crate::diagnostic::nearest;
use crate::iam::{Principal, Stamp, Tenant};
use crate::syntax::Effect;

/// Whether a statement reaches a principal in these groups (sorted positions) at this level
/// (D16).
fn reaches(statement: &CompiledStatement<'_>, groups: &[usize], environment: Option<usize>) -> bool {
    statement.groups.iter().any(|g| groups.binary_search(g).is_ok())
        && statement.environment.is_none_or(|e| environment == Some(e))
}

/// What is asked: may `principal` use `permission` (in `environment`, on a resource with these
/// attributes, at `time`)?
#[derive(Debug, Clone)]
pub struct Request {
    /// Who asks, as the tenant of the engine found them.
    pub principal: Principal,
    /// The environment's id; `None` for an account-level request (D16).
    pub environment: Option<String>,
    /// The permission asked for.
    pub permission: String,
    /// The resource's attributes, by condition key (no `global:` keys: warden sets those).
    pub attributes: BTreeMap<String, AttrValue>,
    /// When: what `global:` time keys compare with.
    pub time: DateTime<Utc>,
}

impl Request {
    /// An account-level request at the current time with no attributes.
    pub fn new(principal: Principal, permission: impl Into<String>) -> Request {
        Request {
            principal,
            environment: None,
            permission: permission.into(),
            attributes: BTreeMap::new(),
            time: Utc::now(),
        }
    }

    /// The same request in an environment.
    pub fn in_environment(mut self, environment: impl Into<String>) -> Request {
        self.environment = Some(environment.into());
        self
    }

    /// The same request at another time.
    pub fn at(mut self, time: DateTime<Utc>) -> Request {
        self.time = time;
        self
    }

    /// Sets a single-valued attribute.
    pub fn attribute(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Request {
        self.attributes.insert(key.into(), AttrValue::One(value.into()));
        self
    }
}

/// A request resolved against the engine ([`Engine::query`]): ids instead of names, attributes
/// by interned key, borrowed from the request. Evaluate and explain it with the engine that made
/// it.
#[derive(Debug, Clone)]
pub struct Query<'r> {
    /// The engine that made it: its attribute ids mean nothing to another.
    pub(crate) engine: Stamp,
    pub(crate) principal: Principal,
    /// The permission's slot in the engine.
    pub(crate) slot: u32,
    /// The environment's position; `None` at account level.
    pub(crate) environment: Option<u32>,
    /// The values of the first few keys that the permission's conditions read (its
    /// [`index::Slot::read`]), in that order; the others are looked up in `asked` when read.
    pub(crate) values: [Option<&'r AttrValue>; Query::FIRST],
    /// All of the request's attributes: known keys the permission does not accept are ignored
    /// (decisions D15).
    pub(crate) asked: &'r BTreeMap<String, AttrValue>,
    pub(crate) time: DateTime<Utc>,
}

impl Query<'_> {
    /// The environment's position in the tenant; `None` at account level.
    pub(crate) fn environment(&self) -> Option<usize> {
        self.environment.map(|e| e as usize)
    }

    /// How many attribute values a query keeps at hand: as many keys as the conditions on most
    /// permissions read (those past it are looked up by name in the request, a search that
    /// costs more than the query's larger moves), and few enough that a query stays within
    /// 128 bytes.
    const FIRST: usize = 8;
}

// A query is returned and moved by value: past 128 bytes each move is a call to `memcpy`.
const _: () = assert!(std::mem::size_of::<Query<'static>>() <= 128);

/// A query's attribute values by key id, as its conditions look them up: the key found among
/// the keys the permission's conditions read, its value taken from the query's first few or
/// else looked up by name in the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attributes<'q> {
    read: &'q [u32],
    values: &'q [Option<&'q AttrValue>],
    asked: &'q BTreeMap<String, AttrValue>,
    names: Option<&'q names::Names>,
}

impl<'q> Attributes<'q> {
    /// No attributes at all.
    pub fn none() -> Attributes<'q> {
        static NO_ATTRIBUTES: BTreeMap<String, AttrValue> = BTreeMap::new();
        Attributes { read: &[], values: &[], asked: &NO_ATTRIBUTES, names: None }
    }

    /// The value of the attribute with this key id, if the permission accepts it.
    #[inline]
    pub fn get(&self, key: u32) -> Option<&'q AttrValue> {
        let at = self.read.iter().position(|&read| read == key)?;
        match self.values.get(at) {
            Some(value) => *value,
            None => self.named(key),
        }
    }

    /// A value past the few the query keeps, looked up by name: out of line, few permissions'
    /// conditions read that many keys.
    #[inline(never)]
    fn named(&self, key: u32) -> Option<&'q AttrValue> {
        self.asked.get(self.names?.name(key))
    }
}

/// What a decision has found so far: the first DENY and the first ALLOW that hold (positions;
/// `u32::MAX` for none), and whether a DENY or an ALLOW may hold.
struct Scan {
    /// The query's level: 0 at account level, else the environment's position plus one.
    level: u16,
    denied: u32,
    allowed: u32,
    deny_unknown: bool,
    allow_unknown: bool,
}

/// What a finished [`Scan`] says. Eight bytes, so that it comes back from the scan in a
/// register: a larger result is written to the caller's frame in pieces and read back whole,
/// which stalls the read.
enum Found {
    /// The first DENY that holds.
    Deny(u32),
    /// The first ALLOW that holds, and no DENY may.
    Allow(u32),
    /// The first ALLOW that holds, but a DENY may.
    AllowUnlessDeny(u32),
    /// No statement holds, but one may.
    Unknown,
    /// No statement holds or may.
    NoMatch,
}

impl Scan {
    fn found(&self) -> Found {
        let allows = self.allowed != u32::MAX;
        match () {
            _ if self.denied != u32::MAX => Found::Deny(self.denied),
            _ if allows && !self.deny_unknown => Found::Allow(self.allowed),
            _ if allows => Found::AllowUnlessDeny(self.allowed),
            _ if self.allow_unknown => Found::Unknown,
            _ => Found::NoMatch,
        }
    }
}

/// A statement that takes part in a decision, by its position in the permission's slot.
pub type StatementRef = usize;

/// What is left of a statement when the request lacks attributes: its remaining conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remaining {
    /// The statement.
    pub statement: StatementRef,
    /// Positions of the conditions still to be judged.
    pub conditions: Vec<usize>,
}

/// The answer to a query (semantics.md §5): [`Engine::explain`] says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An ALLOW holds and no DENY may.
    Allow {
        /// The first ALLOW that holds.
        statement: StatementRef,
    },
    /// A DENY holds.
    Deny {
        /// The first DENY that holds.
        statement: StatementRef,
    },
    /// Nothing allows it.
    NoMatch,
    /// It depends on attributes the request did not carry: the residual ALLOWs and DENYs.
    Conditional {
        /// The statements still open, with the conditions each still has to meet:
        /// [`Engine::residual_text`] writes them as a policy.
        residual: Vec<Remaining>,
    },
}

impl Decision {
    /// Whether it is an Allow (a Conditional is not: the caller must apply the residual).
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

/// A principal's groups, worked out once when the engine is built.
#[derive(Debug, Clone)]
pub(crate) struct Membership {
    /// Positions in the tenant, ascending.
    pub groups: Vec<usize>,
    /// The same positions, one bit each.
    pub bits: Vec<u64>,
    pub ids: Vec<String>,
}

impl Membership {
    /// Whether the principal is in one of the groups that a listed statement reaches.
    fn reaches(&self, listed: &index::Listed) -> bool {
        self.bits.get(listed.word as usize).is_some_and(|word| word & listed.groups != 0)
    }
}

/// What compiling makes of a tenant (see `compile.rs` and `index.rs`).
struct Tables {
    keys: names::Names,
    /// By key id: whether it is a `global:` key, which warden sets and a request may not carry.
    global_keys: Vec<bool>,
    /// One per permission: the catalog's, then any other a statement names.
    slots: Vec<index::Slot>,
    /// The permissions' names, each with its slot.
    slot_names: names::Names,
    /// Every statement compiled once for each way of binding it.
    compiled: Vec<Compiled>,
    /// Each way of binding a policy: its copies of the statements.
    units: Vec<index::Unit>,
    /// The boundaries' names, as copies name them.
    boundaries: Vec<String>,
    /// Each binding's level: `None` at account level, else the environment's position.
    levels: Vec<Option<usize>>,
    /// Users first, then service users (see [`Engine::membership`]).
    memberships: Vec<Membership>,
}

/// A tenant compiled for evaluation: its statements indexed by permission and by the groups
/// they reach, each principal's groups worked out. Immutable: a changed tenant compiles into a
/// new engine.
pub struct Engine {
    /// What its queries carry.
    stamp: Stamp,
    tenant: Tenant,
    catalog: Catalog,
    tables: Tables,
}

impl Engine {
    /// Compiles a loaded tenant.
    pub fn new(tenant: Tenant, catalog: &Catalog) -> Engine {
        compile::compile(tenant, catalog)
    }

    fn assemble(tenant: Tenant, catalog: &Catalog, mut tables: Tables) -> Engine {
        index::read_keys(&mut tables.slots, &tables.units, &tables.compiled);
        Engine { stamp: Stamp::new(), tenant, catalog: catalog.clone(), tables }
    }

    /// The principal's groups.
    ///
    /// # Panics
    ///
    /// When the principal is not one of the engine's tenant's.
    pub(crate) fn membership(&self, principal: Principal) -> &Membership {
        &self.tables.memberships[self.tenant.ordinal(principal)]
    }

    /// Refuses a query that another engine made.
    fn assert_own(&self, query: &Query<'_>) {
        assert!(query.engine == self.stamp, "a query made by another engine: make it again with this one");
    }

    /// The tenant it was compiled from.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    fn slot(&self, permission: &str) -> Option<&index::Slot> {
        self.tables.slot_names.get(permission).map(|slot| &self.tables.slots[slot as usize])
    }

    /// The statements on a permission, in the order of the tenant's bindings.
    pub(crate) fn statements(&self, permission: &str) -> Statements<'_> {
        Statements::new(self, self.slot(permission))
    }

    /// The statements on a query's permission.
    fn statements_of(&self, query: &Query<'_>) -> Statements<'_> {
        Statements::new(self, Some(&self.tables.slots[query.slot as usize]))
    }

    /// The name of a query's permission.
    pub(crate) fn permission_of(&self, query: &Query<'_>) -> &str {
        &self.tables.slots[query.slot as usize].name
    }

    /// The statements on a permission as compiled, one per binding and boundary, in the policy
    /// language: bind parameters filled in, boundary conditions appended.
    pub fn statement_texts(&self, permission: &str) -> Vec<String> {
        self.statements(permission).iter().map(|statement| statement.text()).collect()
    }

    /// The positions of the statements on a slot that reach a principal at this level (`None`:
    /// at any level), ascending, each once.
    fn reaching(
        &self,
        slot: &index::Slot,
        principal: Principal,
        level: Option<Option<usize>>,
        wanted: impl Fn(&index::Reach) -> bool,
    ) -> Vec<index::Reach> {
        let level = level.map(|environment| environment.map_or(0, |e| e as u16 + 1));
        let mut reaches: Vec<index::Reach> = self
            .membership(principal)
            .groups
            .iter()
            .flat_map(|&group| slot.reaching(group))
            .filter(|reach| level.is_none_or(|level| reach.level == 0 || reach.level == level) && wanted(reach))
            .copied()
            .collect();
        reaches.sort_unstable_by_key(|reach| reach.position);
        reaches.dedup_by_key(|reach| reach.position);
        reaches
    }

    /// The statements on a permission that reach a principal at some level: what a decision
    /// on its requests may read.
    ///
    /// # Panics
    ///
    /// When the principal is not one of the engine's tenant's.
    #[cfg(any(test, feature = "server"))]
    pub(crate) fn statements_reaching(
        &self,
        principal: Principal,
        permission: &str,
    ) -> impl Iterator<Item = CompiledStatement<'_>> {
        let statements = self.statements(permission);
        let reaches =
            self.slot(permission).map_or_else(Vec::new, |slot| self.reaching(slot, principal, None, |_| true));
        reaches.into_iter().map(move |reach| statements.at(reach.position as usize))
    }

    /// Every permission that some statement names, sorted.
    pub fn permissions(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tables.slots.iter().filter(|s| s.len > 0).map(|s| &*s.name).collect();
        names.sort_unstable();
        names
    }

    /// Resolves a request (decisions D15, D16): unknown permissions, environments and attribute
    /// keys are errors with a did-you-mean; `global:` keys cannot come from a request. The query
    /// borrows the request's attributes.
    #[inline(always)]
    pub fn query<'r>(&self, request: &'r Request) -> Result<Query<'r>, RequestError> {
        self.resolve(
            request.principal,
            &request.permission,
            request.environment.as_deref(),
            &request.attributes,
            request.time,
        )
    }

    /// [`Engine::query`] on a request's parts, borrowed from wherever the caller keeps them.
    ///
    /// Always inlined: a query is a few hundred bytes, made in the caller's frame rather than
    /// copied out of this one (the errors are made out of line).
    #[inline(always)]
    pub(crate) fn resolve<'r>(
        &self,
        principal: Principal,
        permission: &str,
        environment: Option<&str>,
        attributes: &'r BTreeMap<String, AttrValue>,
        time: DateTime<Utc>,
    ) -> Result<Query<'r>, RequestError> {
        if !self.tenant.owns(principal) {
            return Err(RequestError::ForeignPrincipal);
        }
        let Some(slot) = self.tables.slot_names.get(permission) else {
            return Err(self.unknown_permission(permission));
        };
        let environment = match environment {
            None => None,
            Some(id) => match self.tenant.environments.iter().position(|e| names::same(&e.id, id)) {
                // Environments are far fewer than 2³².
                Some(position) => Some(position as u32),
                None => return Err(self.unknown_environment(id)),
            },
        };
        let read = self.tables.slots[slot as usize].read.as_slice();
        let kept = &read[..read.len().min(Query::FIRST)];
        let mut values = [None; Query::FIRST];
        // Every key is checked (D15); only the values the permission's conditions read are kept.
        for (key, value) in attributes {
            let id = match self.tables.keys.get(key) {
                Some(id) if !self.tables.global_keys[id as usize] => id,
                _ => return Err(self.refused_attribute(key, permission)),
            };
            if let Some(at) = kept.iter().position(|&read| read == id) {
                values[at] = Some(value);
            }
        }
        Ok(Query { engine: self.stamp, principal, slot, environment, values, asked: attributes, time })
    }

    /// A permission the engine does not know, with the nearest one it does.
    #[cold]
    #[inline(never)]
    fn unknown_permission(&self, permission: &str) -> RequestError {
        let suggestion = nearest(permission, self.tables.slot_names.iter()).map(str::to_string);
        RequestError::UnknownPermission { permission: permission.to_string(), suggestion }
    }

    /// An environment the tenant does not have, with the nearest one it has.
    #[cold]
    #[inline(never)]
    fn unknown_environment(&self, id: &str) -> RequestError {
        let known = self.tenant.environments.iter().map(|e| (e.id.as_str(), e.name.as_str()));
        RequestError::unknown_environment(id, known)
    }

    /// A `global:` key, which warden sets, or a key no permission accepts, with the nearest one
    /// the permission does.
    #[cold]
    #[inline(never)]
    fn refused_attribute(&self, key: &str, permission: &str) -> RequestError {
        match key.starts_with("global:") {
            true => RequestError::GlobalAttribute { key: key.to_string() },
            false => RequestError::unknown_attribute(key, permission, &self.catalog),
        }
    }

    /// A query's attribute values, as its permission's conditions read them.
    pub(crate) fn attributes<'q>(&'q self, query: &'q Query<'_>) -> Attributes<'q> {
        let read = &self.tables.slots[query.slot as usize].read;
        Attributes { read, values: &query.values, asked: query.asked, names: Some(&self.tables.keys) }
    }

    /// What the query's conditions read: its attributes, principal, level and time. Always
    /// inlined: made in place rather than copied there.
    #[inline(always)]
    fn context<'q>(&'q self, query: &'q Query<'_>) -> value::Context<'q> {
        value::Context {
            attributes: self.attributes(query),
            environment: query.environment().map(|i| &self.tenant.environments[i].id),
            user_id: self.tenant.id(query.principal),
            groups: &self.membership(query.principal).ids,
            time: query.time,
        }
    }

    /// The request's keys that the query's permission does not accept (D15), in order.
    pub(crate) fn ignored<'q>(&self, query: &Query<'q>) -> impl Iterator<Item = &'q str> {
        let slot = &self.tables.slots[query.slot as usize];
        let accepted = move |key: &String| self.tables.keys.get(key).is_none_or(|id| slot.accepts(id));
        query.asked.keys().filter(move |key| !accepted(key)).map(String::as_str)
    }

    /// Whether a statement reaches the query's principal at the query's level (D16).
    fn applies(&self, statement: &CompiledStatement<'_>, query: &Query<'_>) -> bool {
        reaches(statement, &self.membership(query.principal).groups, query.environment())
    }

    /// The truth of a statement: all conditions True → True, any False → False, else Unknown.
    fn truth(statement: &Compiled, context: &value::Context<'_>) -> Truth {
        let mut truth = Truth::True;
        for condition in &statement.conditions {
            match condition.evaluate(context) {
                Truth::False => return Truth::False,
                Truth::Unknown => truth = Truth::Unknown,
                Truth::True => {}
            }
        }
        truth
    }

    /// Semantics §5: DENY beats ALLOW; an Unknown that could change the answer makes it
    /// Conditional; nothing that allows is a Deny.
    ///
    /// It reads only the statements that reach the principal, group by group, each group's in
    /// the permission's order: the first DENY that holds in a group is the least of that group,
    /// so the rest of the group is skipped, and so are ALLOWs after one that holds.
    ///
    /// # Panics
    ///
    /// When another engine made the query.
    ///
    /// Inlined: the decision is made in the caller's frame from what the scan found, which
    /// comes back in a register, rather than written out by a call and copied in.
    #[inline]
    pub fn evaluate(&self, query: &Query<'_>) -> Decision {
        self.assert_own(query);
        match self.scan(query) {
            Found::Deny(statement) => Decision::Deny { statement: statement as usize },
            Found::Allow(statement) => Decision::Allow { statement: statement as usize },
            Found::AllowUnlessDeny(holding) => self.residual(query, Some(holding)),
            Found::Unknown => self.residual(query, None),
            Found::NoMatch => Decision::NoMatch,
        }
    }

    /// What the statements that reach the query's principal say: the first DENY and the first
    /// ALLOW that hold, and whether any other may.
    #[inline(never)]
    fn scan(&self, query: &Query<'_>) -> Found {
        let level = query.environment().map_or(0, |e| e as u16 + 1);
        let mut scan = Scan { level, denied: u32::MAX, allowed: u32::MAX, deny_unknown: false, allow_unknown: false };
        let slot = &self.tables.slots[query.slot as usize];
        if slot.len == 0 {
            return Found::NoMatch;
        }
        // Made when a statement with conditions is read: unconditional ones need none.
        let mut context = None;
        // Few statements are read through in order, as a plain list; else group by group: the
        // groups both the principal's and the statements', found a word of bits at a time, or
        // (when the tenant's groups are many more words than the principal's groups) each of
        // the principal's groups.
        let membership = self.membership(query.principal);
        if !slot.few.is_empty() && slot.few.len() <= 8 * membership.groups.len() {
            let reaching = slot.few.iter().filter(|listed| membership.reaches(listed));
            self.read(query, &mut scan, &mut context, reaching.map(|listed| &listed.reach));
        } else if slot.reached.len() <= membership.groups.len() {
            for (word, (&mine, &reached)) in membership.bits.iter().zip(&slot.reached).enumerate() {
                let mut both = mine & reached;
                while both != 0 {
                    let group = word * 64 + both.trailing_zeros() as usize;
                    both &= both - 1;
                    self.read(query, &mut scan, &mut context, slot.reaching(group));
                }
            }
        } else {
            for &group in &membership.groups {
                self.read(query, &mut scan, &mut context, slot.reaching(group));
            }
        }
        scan.found()
    }

    /// Reads statements that reach the principal, in order, into the scan: one group's, or
    /// those of a permission's list of all its statements. The first DENY that holds ends the
    /// reading, ALLOWs after one that holds are skipped.
    #[inline(always)]
    fn read<'q, 'i>(
        &'q self,
        query: &'q Query<'_>,
        scan: &mut Scan,
        context: &mut Option<value::Context<'q>>,
        reaches: impl IntoIterator<Item = &'i index::Reach>,
    ) {
        for reach in reaches {
            if reach.position > scan.denied {
                return;
            }
            if reach.level != 0 && reach.level != scan.level {
                continue;
            }
            let deny = reach.flags & index::Reach::DENY != 0;
            if !deny && reach.position > scan.allowed {
                continue;
            }
            let truth = match reach.flags & index::Reach::UNCONDITIONAL != 0 {
                true => Truth::True,
                false => self.judge(query, context, reach.compiled),
            };
            match (deny, truth) {
                (true, Truth::True) => {
                    scan.denied = reach.position;
                    return;
                }
                (true, Truth::Unknown) => scan.deny_unknown = true,
                (false, Truth::True) => scan.allowed = reach.position,
                (false, Truth::Unknown) => scan.allow_unknown = true,
                (_, Truth::False) => {}
            }
        }
    }

    /// The truth of a statement with conditions, the context made when first needed. Out of
    /// line: what the context is made of stays out of a decision that reads no condition.
    #[inline(never)]
    fn judge<'q>(&'q self, query: &'q Query<'_>, context: &mut Option<value::Context<'q>>, compiled: u32) -> Truth {
        let context = context.get_or_insert_with(|| self.context(query));
        Engine::truth(&self.tables.compiled[compiled as usize], context)
    }

    /// The remaining ALLOW and DENY statements, without the conditions known to hold (D12).
    /// An ALLOW that already holds makes the other ALLOWs redundant.
    ///
    /// `holding`: the first ALLOW that holds, when the scan found one. It is the one ALLOW the
    /// residual keeps, so the other ALLOWs are not judged again. Without one, no ALLOW holds
    /// here either (the scan judged them all with the same context): none is left without
    /// conditions.
    ///
    /// Out of line: a decision that needs no residual does not set up for one.
    #[inline(never)]
    fn residual(&self, query: &Query<'_>, holding: Option<u32>) -> Decision {
        let context = self.context(query);
        let slot = &self.tables.slots[query.slot as usize];
        let mut residual: Vec<Remaining> = Vec::new();
        // With an ALLOW holding, only the DENYs are judged (and that ALLOW kept).
        let judged = |reach: &index::Reach| {
            holding.is_none() || reach.flags & index::Reach::DENY != 0 || holding == Some(reach.position)
        };
        let mut remaining = |reach: &index::Reach| {
            let statement = &self.tables.compiled[reach.compiled as usize];
            if holding == Some(reach.position) {
                residual.push(Remaining { statement: reach.position as usize, conditions: Vec::new() });
                return;
            }
            let mut conditions = Vec::new();
            for (c, condition) in statement.conditions.iter().enumerate() {
                match condition.evaluate(&context) {
                    // It cannot hold: the rest need not be judged.
                    Truth::False => return,
                    Truth::Unknown => conditions.push(c),
                    Truth::True => {}
                }
            }
            residual.push(Remaining { statement: reach.position as usize, conditions });
        };
        if slot.few.is_empty() {
            self.reaching(slot, query.principal, Some(query.environment()), judged).iter().for_each(remaining);
        } else {
            // Already in the permission's order, a statement's reaches side by side: no list to
            // collect and sort.
            let membership = self.membership(query.principal);
            let level = query.environment().map_or(0, |e| e as u16 + 1);
            let mut last = None;
            for listed in slot.few.iter().filter(|listed| membership.reaches(listed)) {
                let reach = &listed.reach;
                if (reach.level == 0 || reach.level == level) && judged(reach) && last != Some(reach.position) {
                    last = Some(reach.position);
                    remaining(reach);
                }
            }
        }
        Decision::Conditional { residual }
    }

    /// The residual of a Conditional decision as a policy text, one statement per line, ALLOWs
    /// first, each distinct line once; `None` for other decisions.
    ///
    /// # Panics
    ///
    /// When another engine made the query.
    pub fn residual_text(&self, query: &Query<'_>, decision: &Decision) -> Option<String> {
        self.residual_within(query, decision, ResidualLimit::NONE).and_then(Residual::into_text)
    }

    /// The residual as [`Engine::residual_text`] writes it, or [`Residual::Omitted`] as soon as
    /// it outgrows `limit`; linear in what it writes, and it stops writing at the limit.
    ///
    /// # Panics
    ///
    /// When another engine made the query.
    pub fn residual_within(&self, query: &Query<'_>, decision: &Decision, limit: ResidualLimit) -> Option<Residual> {
        self.assert_own(query);
        let Decision::Conditional { residual } = decision else { return None };
        let statements = self.statements_of(query);
        // Residuals speak of this principal: its id and groups are filled in.
        let fill = compile::Fill {
            parameters: None,
            level_id: None,
            user: Some((self.tenant.id(query.principal), &self.membership(query.principal).ids)),
        };
        let mut written: HashSet<String> = HashSet::default();
        let mut text = String::new();
        // Each statement looked up once: finding it among the permission's bindings is a search.
        let looked_up: Vec<_> = residual.iter().map(|r| (r, statements.at(r.statement))).collect();
        for effect in [Effect::Allow, Effect::Deny] {
            for (remaining, statement) in looked_up.iter().filter(|(_, s)| s.effect == effect) {
                let line = residual_line(statement, &remaining.conditions, &fill);
                if written.contains(&line) {
                    continue;
                }
                if written.len() == limit.statements || text.len() + line.len() + 1 > limit.bytes {
                    return Some(Residual::Omitted);
                }
                text.push_str(&line);
                text.push('\n');
                written.insert(line);
            }
        }
        Some(Residual::Text(text))
    }
}

/// One line of a residual: the statement with the conditions still to be judged (positions
/// in its conditions), the principal's placeholders filled in.
fn residual_line(statement: &Compiled, conditions: &[usize], fill: &compile::Fill<'_>) -> String {
    let conditions: Vec<String> = conditions
        .iter()
        .map(|&c| crate::syntax::condition_text(&fill.condition(&statement.conditions[c].source)))
        .collect();
    let effect = statement.effect.keyword();
    match conditions.is_empty() {
        true => format!("{effect} {};", statement.permission),
        false => format!("{effect} {} WHERE {};", statement.permission, conditions.join(" AND ")),
    }
}

/// How large a residual may grow before an answer leaves it out. The decision stands either
/// way: a residual cut short would grant more than the policies do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResidualLimit {
    /// Distinct statements.
    pub statements: usize,
    /// Bytes of policy text.
    pub bytes: usize,
}

impl ResidualLimit {
    /// What a service's answer carries: 1,000 statements or 256 KiB.
    pub const ANSWER: ResidualLimit = ResidualLimit { statements: 1_000, bytes: 256 * 1024 };
    /// What a person reads at a terminal: 20 statements or 16 KiB.
    pub const TERMINAL: ResidualLimit = ResidualLimit { statements: 20, bytes: 16 * 1024 };
    /// No limit.
    pub const NONE: ResidualLimit = ResidualLimit { statements: usize::MAX, bytes: usize::MAX };
}

/// A Conditional decision's residual, as far as a [`ResidualLimit`] lets it be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Residual {
    /// The residual policy, one statement per line.
    Text(String),
    /// Larger than the limit: left out.
    Omitted,
}

impl Residual {
    /// The text, unless it was left out.
    pub fn into_text(self) -> Option<String> {
        match self {
            Residual::Text(text) => Some(text),
            Residual::Omitted => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::SourceFile;
    use crate::iam::{TenantFiles, load};

    /// An engine where alice is bound to these statements, in policies of the platform's 100
    /// statements at most.
    fn alice_bound_to(statements: &[String]) -> (Engine, Principal) {
        let policies: Vec<SourceFile> = statements
            .chunks(100)
            .enumerate()
            .map(|(i, chunk)| SourceFile::new(format!("policies/p{i}.policy"), chunk.concat()))
            .collect();
        let mut config = "[account]\nid = \"acme\"\n[[user]]\nid = \"u-alice\"\nemail = \"alice@acme.example\"\n\
                          [[user]]\nid = \"u-bob\"\nemail = \"bob@acme.example\"\n\
                          [[group]]\nid = \"sre\"\nmembers = [\"alice@acme.example\"]\n"
            .to_string();
        for i in 0..policies.len() {
            config.push_str(&format!("[[binding]]\npolicy = \"p{i}\"\ngroups = [\"sre\"]\nlevel = \"account\"\n"));
        }
        let files = TenantFiles { config: SourceFile::new("warden.toml", config), policies, boundaries: vec![] };
        let loaded = load(&files, Catalog::builtin());
        let tenant = loaded.tenant.unwrap_or_else(|| panic!("{:?}", loaded.findings[0].diagnostics[0]));
        let alice = tenant.find_user("alice@acme.example").unwrap();
        (Engine::new(tenant, Catalog::builtin()), alice)
    }

    #[test]
    fn every_attribute_of_a_request_is_read_however_many_it_carries() {
        // storage:bizevents:read accepts 13 keys: statements reading them all, and a request
        // carrying them all, have values past the few a query keeps at hand.
        let permission = Catalog::builtin().permission("storage:bizevents:read").unwrap();
        let keys: Vec<&String> = permission.keys.keys().collect();
        assert_eq!(keys.len(), 13);
        let testable: Vec<&String> = permission
            .keys
            .iter()
            .filter(|(_, ops)| ops.contains(crate::syntax::Operator::Eq))
            .map(|(k, _)| k)
            .collect();
        assert!(testable.len() > Query::FIRST, "keys past the values kept at hand are tested");
        let statements: Vec<String> =
            testable.iter().map(|key| format!("ALLOW storage:bizevents:read WHERE {key} = \"x\";\n")).collect();
        let (engine, alice) = alice_bound_to(&statements);
        let decide = |holding: Option<&String>| {
            let mut request = Request::new(alice, "storage:bizevents:read");
            for key in &keys {
                request.attribute(key.as_str(), if Some(*key) == holding { "x" } else { "y" });
            }
            engine.evaluate(&engine.query(&request).unwrap())
        };
        assert_eq!(decide(None), Decision::NoMatch);
        for (i, key) in testable.iter().enumerate() {
            assert_eq!(decide(Some(key)), Decision::Allow { statement: i }, "{key}");
        }
    }

    #[test]
    fn long_in_lists_decide_as_short_ones_do() {
        let list = |n: usize| {
            let mut values: Vec<String> = (0..n).map(|i| format!("\"app-{i}\"")).collect();
            values.insert(n / 2, "\"${global:userId}\"".to_string());
            values.join(", ")
        };
        for n in [3, 1_000] {
            let (engine, alice) = alice_bound_to(&[
                format!("ALLOW app-engine:apps:run WHERE shared:app-id IN ({});\n", list(n)),
                format!("ALLOW app-engine:apps:install WHERE shared:app-id NOT IN ({});\n", list(n)),
            ]);
            let decide = |permission: &str, elements: &[&str]| {
                let mut request = Request::new(alice, permission);
                let elements = elements.iter().map(|e| e.to_string()).collect();
                request.attributes.insert("shared:app-id".into(), AttrValue::Many(elements));
                engine.evaluate(&engine.query(&request).unwrap()).is_allowed()
            };
            let last = format!("app-{}", n - 1);
            for (elements, inside) in [
                (vec!["elsewhere"], false),
                (vec!["elsewhere", last.as_str()], true),
                (vec!["app-0"], true),
                (vec!["u-alice"], true),
                (vec!["app-"], false),
                (vec![], false),
            ] {
                assert_eq!(decide("app-engine:apps:run", &elements), inside, "{n} values, IN {elements:?}");
                assert_eq!(decide("app-engine:apps:install", &elements), !inside, "{n} values, NOT IN {elements:?}");
            }
        }
    }

    #[test]
    fn a_residual_holds_each_line_once_up_to_its_limit_and_is_left_out_past_it() {
        // 1,001 distinct conditional ALLOWs, each written twice.
        let lines: Vec<String> = (0..2_002)
            .map(|i| format!("ALLOW storage:logs:read WHERE storage:k8s.namespace.name = \"ns-{}\";\n", i % 1_001))
            .collect();
        let (engine, alice) = alice_bound_to(&lines);
        let request = Request::new(alice, "storage:logs:read");
        let query = engine.query(&request).unwrap();
        let decision = engine.evaluate(&query);

        assert_eq!(engine.statements_reaching(alice, "storage:logs:read").count(), 2_002);
        let bob = engine.tenant().find_user("bob@acme.example").unwrap();
        assert_eq!(engine.statements_reaching(bob, "storage:logs:read").count(), 0, "bob is in no group");

        let whole = engine.residual_text(&query, &decision).unwrap();
        assert_eq!(whole.lines().count(), 1_001);
        assert_eq!(whole.lines().collect::<HashSet<_>>().len(), 1_001, "each line once");
        assert!(whole.starts_with("ALLOW storage:logs:read WHERE storage:k8s.namespace.name = \"ns-0\";\n"));
        let within = |statements, bytes| engine.residual_within(&query, &decision, ResidualLimit { statements, bytes });
        assert_eq!(within(1_001, whole.len()), Some(Residual::Text(whole.clone())));
        assert_eq!(within(1_000, usize::MAX), Some(Residual::Omitted));
        assert_eq!(within(usize::MAX, whole.len() - 1), Some(Residual::Omitted));
        assert_eq!(engine.residual_within(&query, &decision, ResidualLimit::ANSWER), Some(Residual::Omitted));
        // Other decisions have no residual at all.
        assert_eq!(engine.residual_within(&query, &Decision::NoMatch, ResidualLimit::ANSWER), None);
    }
}
