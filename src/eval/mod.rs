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
//! let query = engine.query(&Request::new(alice, "storage:logs:read").in_environment("prod")).unwrap();
//! let decision = engine.evaluate(&query);
//! assert_eq!(engine.residual_text(&query, &decision).unwrap(),
//!     "ALLOW storage:logs:read WHERE storage:k8s.cluster.name IN (\"a\", \"b\");\n");
//! ```

mod compile;
pub mod diff;
mod effective;
mod error;
pub mod explain;
mod value;

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use chrono::{DateTime, Utc};

pub(crate) use compile::CompiledStatement;
pub use effective::Grant;
pub use error::RequestError;
pub use explain::Explanation;
pub use value::AttrValue;
pub(crate) use value::Truth;

use crate::catalog::Catalog;
use crate::diagnostic::nearest;
use crate::iam::{Principal, Stamp, Tenant};
use crate::syntax::Effect;

/// Whether a statement reaches a principal in these groups at this level (D16).
fn reaches(statement: &CompiledStatement, groups: &GroupSet, environment: Option<usize>) -> bool {
    statement.groups.intersects(groups) && statement.environment.is_none_or(|e| environment == Some(e))
}

/// A set of groups, one bit each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct GroupSet {
    /// The first 64 groups, inline: a decision tests this word for every statement it reads.
    first: u64,
    rest: Vec<u64>,
}

impl GroupSet {
    pub fn of(size: usize, members: impl IntoIterator<Item = usize>) -> GroupSet {
        let mut set = GroupSet { first: 0, rest: vec![0u64; size.div_ceil(64).saturating_sub(1)] };
        for i in members {
            match i {
                0..64 => set.first |= 1 << i,
                _ => set.rest[i / 64 - 1] |= 1 << (i % 64),
            }
        }
        set
    }

    pub fn intersects(&self, other: &GroupSet) -> bool {
        self.first & other.first != 0 || self.rest.iter().zip(&other.rest).any(|(a, b)| a & b != 0)
    }
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
/// by interned key. Evaluate and explain it with the engine that made it.
#[derive(Debug, Clone)]
pub struct Query {
    /// The engine that made it: its attribute ids mean nothing to another.
    pub(crate) engine: Stamp,
    pub(crate) principal: Principal,
    pub(crate) permission: String,
    pub(crate) environment: Option<usize>,
    pub(crate) attributes: Vec<Option<AttrValue>>,
    /// Known keys the permission does not accept: ignored (decisions D15).
    pub(crate) ignored: Vec<String>,
    pub(crate) time: DateTime<Utc>,
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
    pub groups: GroupSet,
    pub ids: Vec<String>,
}

/// A tenant compiled for evaluation: its statements indexed by permission, each principal's
/// groups worked out. Immutable: a changed tenant compiles into a new engine.
pub struct Engine {
    /// What its queries carry.
    stamp: Stamp,
    tenant: Tenant,
    /// Users first, then service users (see [`Engine::membership`]).
    memberships: Vec<Membership>,
    catalog: Catalog,
    keys: HashMap<String, u32>,
    index: HashMap<String, Vec<CompiledStatement>>,
}

impl Engine {
    /// Compiles a loaded tenant.
    pub fn new(tenant: Tenant, catalog: &Catalog) -> Engine {
        compile::compile(tenant, catalog)
    }

    fn assemble(
        tenant: Tenant,
        catalog: &Catalog,
        keys: HashMap<String, u32>,
        index: HashMap<String, Vec<CompiledStatement>>,
    ) -> Engine {
        let memberships = tenant
            .principals()
            .map(|principal| {
                let groups = tenant.groups_of(principal);
                Membership {
                    groups: GroupSet::of(tenant.groups.len(), groups.iter().copied()),
                    ids: groups.iter().map(|&g| tenant.groups[g].id.clone()).collect(),
                }
            })
            .collect();
        Engine { stamp: Stamp::new(), tenant, memberships, catalog: catalog.clone(), keys, index }
    }

    /// The principal's groups.
    ///
    /// # Panics
    ///
    /// When the principal is not one of the engine's tenant's.
    pub(crate) fn membership(&self, principal: Principal) -> &Membership {
        &self.memberships[self.tenant.ordinal(principal)]
    }

    /// Refuses a query that another engine made.
    fn assert_own(&self, query: &Query) {
        assert!(query.engine == self.stamp, "a query made by another engine: make it again with this one");
    }

    /// The tenant it was compiled from.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The statements on a permission, in the order of the tenant's bindings.
    pub(crate) fn statements(&self, permission: &str) -> &[CompiledStatement] {
        self.index.get(permission).map_or(&[], Vec::as_slice)
    }

    /// The statements on a permission as compiled, one per binding and boundary, in the policy
    /// language: bind parameters filled in, boundary conditions appended.
    pub fn statement_texts(&self, permission: &str) -> Vec<String> {
        self.statements(permission).iter().map(CompiledStatement::text).collect()
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
    ) -> impl Iterator<Item = &CompiledStatement> {
        let groups = &self.membership(principal).groups;
        self.statements(permission).iter().filter(move |statement| statement.groups.intersects(groups))
    }

    /// Every permission that some statement names, sorted.
    pub fn permissions(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.index.iter().filter(|(_, s)| !s.is_empty()).map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        names
    }

    /// Resolves a request (decisions D15, D16): unknown permissions, environments and attribute
    /// keys are errors with a did-you-mean; `global:` keys cannot come from a request.
    pub fn query(&self, request: &Request) -> Result<Query, RequestError> {
        if !self.tenant.owns(request.principal) {
            return Err(RequestError::ForeignPrincipal);
        }
        if !self.index.contains_key(&request.permission) {
            let suggestion = nearest(&request.permission, self.index.keys().map(String::as_str)).map(str::to_string);
            return Err(RequestError::UnknownPermission { permission: request.permission.clone(), suggestion });
        }
        let environment = match &request.environment {
            None => None,
            Some(id) => match self.tenant.environments.iter().position(|e| &e.id == id) {
                Some(position) => Some(position),
                None => {
                    let known = self.tenant.environments.iter().map(|e| (e.id.as_str(), e.name.as_str()));
                    return Err(RequestError::unknown_environment(id, known));
                }
            },
        };
        let permission = self.catalog.permission(&request.permission);
        let accepted = |key: &str| permission.is_none_or(|p| self.catalog.operators(p, key).is_some());
        let mut attributes = vec![None; self.keys.len()];
        let mut ignored = Vec::new();
        for (key, value) in &request.attributes {
            if key.starts_with("global:") {
                return Err(RequestError::GlobalAttribute { key: key.clone() });
            }
            match self.keys.get(key) {
                Some(&id) if accepted(key) => attributes[id as usize] = Some(value.clone()),
                Some(_) => ignored.push(key.clone()),
                None => return Err(RequestError::unknown_attribute(key, &request.permission, &self.catalog)),
            }
        }
        Ok(Query {
            engine: self.stamp,
            principal: request.principal,
            permission: request.permission.clone(),
            environment,
            attributes,
            ignored,
            time: request.time,
        })
    }

    fn context<'q>(&'q self, query: &'q Query) -> value::Context<'q> {
        value::Context {
            attributes: &query.attributes,
            environment: query.environment.map(|i| self.tenant.environments[i].id.as_str()),
            user_id: self.tenant.id(query.principal),
            groups: &self.membership(query.principal).ids,
            time: query.time,
        }
    }

    /// Whether a statement reaches the query's principal at the query's level (D16).
    fn applies(&self, statement: &CompiledStatement, query: &Query) -> bool {
        reaches(statement, &self.membership(query.principal).groups, query.environment)
    }

    /// The truth of a statement: all conditions True → True, any False → False, else Unknown.
    fn truth(statement: &CompiledStatement, context: &value::Context<'_>) -> Truth {
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
    /// # Panics
    ///
    /// When another engine made the query.
    pub fn evaluate(&self, query: &Query) -> Decision {
        self.assert_own(query);
        let context = self.context(query);
        let statements = self.statements(&query.permission);
        let (mut allowed, mut allow_unknown, mut deny_unknown) = (None, false, false);
        let groups = &self.membership(query.principal).groups;
        for (i, statement) in statements.iter().enumerate() {
            if !reaches(statement, groups, query.environment) {
                continue;
            }
            match (statement.effect, Engine::truth(statement, &context)) {
                (Effect::Deny, Truth::True) => return Decision::Deny { statement: i },
                (Effect::Deny, Truth::Unknown) => deny_unknown = true,
                (Effect::Allow, Truth::True) => allowed = allowed.or(Some(i)),
                (Effect::Allow, Truth::Unknown) => allow_unknown = true,
                (_, Truth::False) => {}
            }
        }
        match allowed {
            Some(statement) if !deny_unknown => Decision::Allow { statement },
            Some(_) => self.residual(query, &context),
            None if allow_unknown => self.residual(query, &context),
            None => Decision::NoMatch,
        }
    }

    /// The remaining ALLOW and DENY statements, without the conditions known to hold (D12).
    /// An ALLOW that already holds makes the other ALLOWs redundant.
    fn residual(&self, query: &Query, context: &value::Context<'_>) -> Decision {
        let statements = self.statements(&query.permission);
        let mut residual = Vec::new();
        for (i, statement) in statements.iter().enumerate() {
            if !self.applies(statement, query) {
                continue;
            }
            let mut conditions = Vec::new();
            let mut possible = true;
            for (c, condition) in statement.conditions.iter().enumerate() {
                match condition.evaluate(context) {
                    Truth::False => possible = false,
                    Truth::Unknown => conditions.push(c),
                    Truth::True => {}
                }
            }
            if possible {
                residual.push(Remaining { statement: i, conditions });
            }
        }
        let unconditional =
            residual.iter().any(|r| statements[r.statement].effect == Effect::Allow && r.conditions.is_empty());
        if unconditional {
            let mut kept_one = false;
            residual.retain(|r| {
                let allow = statements[r.statement].effect == Effect::Allow;
                let keep = !allow || (r.conditions.is_empty() && !kept_one);
                kept_one |= allow && keep;
                keep
            });
        }
        Decision::Conditional { residual }
    }

    /// The residual of a Conditional decision as a policy text, one statement per line, ALLOWs
    /// first, each distinct line once; `None` for other decisions.
    ///
    /// # Panics
    ///
    /// When another engine made the query.
    pub fn residual_text(&self, query: &Query, decision: &Decision) -> Option<String> {
        self.residual_within(query, decision, ResidualLimit::NONE).and_then(Residual::into_text)
    }

    /// The residual as [`Engine::residual_text`] writes it, or [`Residual::Omitted`] as soon as
    /// it outgrows `limit`; linear in what it writes, and it stops writing at the limit.
    ///
    /// # Panics
    ///
    /// When another engine made the query.
    pub fn residual_within(&self, query: &Query, decision: &Decision, limit: ResidualLimit) -> Option<Residual> {
        self.assert_own(query);
        let Decision::Conditional { residual } = decision else { return None };
        let statements = self.statements(&query.permission);
        // Residuals speak of this principal: its id and groups are filled in.
        let fill = compile::Fill {
            parameters: None,
            level_id: None,
            user: Some((self.tenant.id(query.principal), &self.membership(query.principal).ids)),
        };
        let mut written: HashSet<String> = HashSet::default();
        let mut text = String::new();
        for effect in [Effect::Allow, Effect::Deny] {
            for remaining in residual.iter().filter(|r| statements[r.statement].effect == effect) {
                let statement = &statements[remaining.statement];
                let conditions: Vec<String> = remaining
                    .conditions
                    .iter()
                    .map(|&c| crate::syntax::condition_text(&fill.condition(&statement.conditions[c].source)))
                    .collect();
                let line = match conditions.is_empty() {
                    true => format!("{} {};", effect.keyword(), statement.permission),
                    false => {
                        format!("{} {} WHERE {};", effect.keyword(), statement.permission, conditions.join(" AND "))
                    }
                };
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
        let query = engine.query(&Request::new(alice, "storage:logs:read")).unwrap();
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
