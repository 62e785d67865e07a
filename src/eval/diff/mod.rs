//! The exact comparison of two engines: for every principal, level (the account, each
//! environment) and permission, is there a request that one side decides differently from the
//! other, and which? "No change" is a proof; every change comes with a witness request that
//! the evaluator has judged on both sides.
//!
//! # Levels of access
//!
//! A decision is ranked Deny (explicit or implicit) < Conditional < Allow. A request *gains*
//! when the new side ranks it higher than the old one, and *loses* when lower. Per principal,
//! level and permission:
//!
//! - **gained**: some request gains, and the old side ranks every request Deny;
//! - **lost**: some request loses, and the new side ranks every request Deny;
//! - **widened** / **narrowed**: both sides rank some request above Deny, and some request
//!   gains (loses). A move from Conditional to Allow widens; both may happen at once.
//!
//! # What a request is, and what it is not
//!
//! The principal fixes its groups and id, the level fixes the environment: conditions on
//! `global:environmentId` and `global:userGroup`, placeholders such as `${global:userId}` and
//! lists that expanded to nothing (D14) are settled by the evaluator before the search, as is a
//! condition on a key the permission does not take (the request cannot carry it, D15, so it is
//! Unknown for good). What a request chooses is the rest:
//!
//! - each attribute: **absent**, or a **finite list of strings** (a single string is a list of
//!   one). A positive condition holds when some element lies in its set, a negative one when
//!   none does (D8), and any condition on an absent attribute is Unknown. Every string
//!   operator's set is a union of globs (`=`/`IN` without wildcards, `startsWith "v"` as
//!   `v*`, `MATCH` as written), so a condition is an *atom* "some element lies in `L`" or its
//!   negation. Which atoms a list makes true depends only on which of them it must hit and
//!   which it must miss, and such demands can be met exactly when each language to hit still
//!   has a value outside the union of the languages to miss: one element per language to hit
//!   then does it. That question is decided on the product of the globs' automata (module
//!   `glob`), which also yields the shortest element;
//! - the **time**: finitely many cases, one moment of each found from the conditions' own
//!   instants and daily changes (module `time`).
//!
//! # The search
//!
//! A side's rank follows semantics §5: Allow when some ALLOW is True and every DENY False;
//! above Deny when some ALLOW is not False and no DENY True. "New ranks a request above old"
//! is the union of four cases, each an existential choice of statements plus demands on all
//! the others:
//!
//! - G1: an ALLOW of new True, every DENY of new False, every ALLOW of old not True;
//! - G2: an ALLOW of new True, every DENY of new False, a DENY of old not False;
//! - G3: an ALLOW of new not False, every DENY of new not True, a DENY of old True;
//! - G4: an ALLOW of new not False, every DENY of new not True, every ALLOW of old False.
//!
//! A statement both sides have (the same atoms and literals) cannot be the chosen ALLOW of G1
//! or G4, nor the chosen DENY of G2 or G3: it would have to be True and not True, or False and
//! not False, at once. So the existential choices range over what the change touched, and a
//! one-statement edit costs one short search, whatever the size of the tenant. Each case is
//! decided by a complete branch-and-propagate search over the atoms' truth values
//! (module `solve`); the four together cover every request, so when none finds one there is none.
//! A search that exceeds its limits is an error, never a "no change".
//!
//! Before any search, the statements that reach the principal are compared by their text as
//! compiled (substitutions and boundaries included): identical sets decide identically, so
//! only the permissions a change touched are searched.

mod error;
mod glob;
mod model;
mod solve;
mod time;

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use rustc_hash::{FxHashMap as HashMap, FxHasher};
use serde::Serialize;

pub use error::DiffError;

use super::explain::StatementReport;
use super::{AttrValue, Decision, Engine, Request};
use crate::iam::Principal;
use model::{Builder, Shared, View};
use solve::{Found, Solver};

/// What happened to one principal's access to one permission at one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ChangeKind {
    /// No request was allowed (or conditional) before; some is now.
    Gained,
    /// Access held before and holds now, for more requests (or Allow where it was Conditional).
    Widened,
    /// Access holds before and now, for fewer requests (or Conditional where it was Allow).
    Narrowed,
    /// Some request was allowed (or conditional) before; none is now.
    Lost,
}

impl ChangeKind {
    /// Whether some request is decided higher than before: new access.
    pub fn is_gain(self) -> bool {
        matches!(self, ChangeKind::Gained | ChangeKind::Widened)
    }

    /// The word for it: `gained`, `widened`, `narrowed`, `lost`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Gained => "gained",
            ChangeKind::Widened => "widened",
            ChangeKind::Narrowed => "narrowed",
            ChangeKind::Lost => "lost",
        }
    }
}

/// A request whose decision differs: its attributes (the others absent) and, when time
/// conditions take part, its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Witness {
    /// The attributes the request carries; every other attribute is absent.
    pub attributes: BTreeMap<String, AttrValue>,
    /// The time of the request, when some `global:` time condition takes part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

/// How one side decided the witness, as the evaluator explains it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Outcome {
    /// `allow`, `conditional` or `deny`.
    pub decision: &'static str,
    /// The explanation's reason (`allowed`, `explicit_deny`, `no_match`, `conditional`), or
    /// `no_principal` / `no_environment` when that side does not have them.
    pub reason: &'static str,
    /// The explanation's one-line summary.
    pub summary: String,
    /// The statements that decided, with their files, lines and bindings.
    pub statements: Vec<Decider>,
    /// The residual policy of a conditional decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residual: Option<String>,
}

/// A statement that decided, and where the binding it came through is written.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Decider {
    /// The statement, its file and line, and its binding.
    #[serde(flatten)]
    pub statement: StatementReport,
    /// The binding's place: `file:line`.
    pub binding_at: String,
}

/// One change: a principal, a level, a permission, what happened, and the proof.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// What happened.
    pub kind: ChangeKind,
    /// The principal's email.
    pub principal: String,
    /// The environment of the requests; `None` for account-level requests.
    pub environment: Option<String>,
    /// The permission.
    pub permission: String,
    /// A request the two sides decide differently.
    pub witness: Witness,
    /// How the old side decides the witness.
    pub old: Outcome,
    /// How the new side decides the witness.
    pub new: Outcome,
}

/// Everything that changed, in the order principal, level, permission.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// Each change with its witness.
    pub changes: Vec<Change>,
    /// How many principals (of either side) were compared.
    pub principals: usize,
    /// How many levels: the account and each environment of either side.
    pub levels: usize,
    /// How many permissions some statement of either side names.
    pub permissions: usize,
}

impl Report {
    /// Whether access is the same for every request.
    pub fn is_unchanged(&self) -> bool {
        self.changes.is_empty()
    }

    /// How many principals gain access (gained or widened) and to how many permissions.
    pub fn gains(&self) -> (usize, usize) {
        self.count(|kind| kind.is_gain())
    }

    /// How many principals lose access (lost or narrowed) and to how many permissions.
    pub fn losses(&self) -> (usize, usize) {
        self.count(|kind| !kind.is_gain())
    }

    fn count(&self, which: impl Fn(ChangeKind) -> bool) -> (usize, usize) {
        let changes = || self.changes.iter().filter(|c| which(c.kind));
        let principals: std::collections::BTreeSet<&str> = changes().map(|c| c.principal.as_str()).collect();
        let permissions: std::collections::BTreeSet<&str> = changes().map(|c| c.permission.as_str()).collect();
        (principals.len(), permissions.len())
    }

    /// How much was compared: "12 principals × 4 levels × 67 permissions".
    pub fn scope(&self) -> String {
        format!(
            "{} × {} × {}",
            plural(self.principals, "principal"),
            plural(self.levels, "level"),
            plural(self.permissions, "permission")
        )
    }

    /// "2 principals gain access to 3 permissions; 1 principal loses access to 1 permission".
    pub fn summary(&self) -> String {
        let (gaining, gained) = self.gains();
        let (losing, lost) = self.losses();
        let mut line = format!(
            "{} gain{} access to {}",
            plural(gaining, "principal"),
            if gaining == 1 { "s" } else { "" },
            plural(gained, "permission")
        );
        if losing > 0 {
            line.push_str(&format!(
                "; {} lose{} access to {}",
                plural(losing, "principal"),
                if losing == 1 { "s" } else { "" },
                plural(lost, "permission")
            ));
        }
        line
    }
}

/// "1 principal", "2 principals".
fn plural(count: usize, noun: &str) -> String {
    format!("{count} {noun}{}", if count == 1 { "" } else { "s" })
}

/// A principal of either side, matched by email (users) or id (service users).
struct Pair {
    name: String,
    old: Option<Principal>,
    new: Option<Principal>,
}

fn pairs(old: &Engine, new: &Engine) -> Vec<Pair> {
    let mut pairs: Vec<Pair> = Vec::new();
    // Each side's users, or its service users, by email.
    let principals = |engine: &Engine, service_users: bool| -> Vec<(String, Principal)> {
        let tenant = engine.tenant();
        let of_kind = tenant.principals().filter(|p| p.is_service_user() == service_users);
        of_kind.map(|p| (tenant.email(p).to_string(), p)).collect()
    };
    for list in [(principals(old, false), principals(new, false)), (principals(old, true), principals(new, true))] {
        let (before, after) = list;
        let mut index: HashMap<String, Principal> = after.iter().cloned().collect();
        for (name, principal) in before {
            let new = index.remove(&name);
            pairs.push(Pair { name, old: Some(principal), new });
        }
        for (name, principal) in after {
            if index.contains_key(&name) {
                pairs.push(Pair { name, old: None, new: Some(principal) });
            }
        }
    }
    pairs
}

/// The account, then every environment of either side.
fn levels(old: &Engine, new: &Engine) -> Vec<Option<String>> {
    let mut levels: Vec<Option<String>> = vec![None];
    for environment in old.tenant().environments.iter().chain(&new.tenant().environments) {
        if !levels.contains(&Some(environment.id.clone())) {
            levels.push(Some(environment.id.clone()));
        }
    }
    levels
}

/// Each statement's text as compiled, hashed, and whether it depends on who asks.
struct Prints<'e> {
    by_permission: HashMap<&'e str, Vec<(u64, bool)>>,
}

impl<'e> Prints<'e> {
    fn of(engine: &'e Engine) -> Prints<'e> {
        let mut by_permission = HashMap::default();
        for permission in engine.permissions() {
            let prints = engine
                .statements(permission)
                .iter()
                .map(|statement| {
                    let text = statement.text();
                    let mut hasher = FxHasher::default();
                    text.hash(&mut hasher);
                    let personal = text.contains("${global:userId}")
                        || text.contains("${global:userGroup}")
                        || text.contains("global:userGroup");
                    (hasher.finish(), personal)
                })
                .collect();
            by_permission.insert(permission, prints);
        }
        Prints { by_permission }
    }

    /// The sorted prints of the statements that reach the view, and whether one is personal.
    fn reaching(&self, view: Option<View<'_>>) -> (Vec<u64>, bool) {
        let Some(view) = view else { return (Vec::new(), false) };
        let Some(prints) = self.by_permission.get(view.permission) else { return (Vec::new(), false) };
        let groups = &view.engine.membership(view.principal).groups;
        let mut personal = false;
        let mut reaching: Vec<u64> = view
            .engine
            .statements(view.permission)
            .iter()
            .zip(prints)
            .filter(|(s, _)| super::reaches(s, groups, view.environment))
            .map(|(_, &(print, mine))| {
                personal |= mine;
                print
            })
            .collect();
        reaching.sort_unstable();
        reaching.dedup();
        (reaching, personal)
    }
}

/// The instant at which witnesses without time conditions are judged (the time is irrelevant
/// to them).
fn judged_at() -> DateTime<Utc> {
    DateTime::from_timestamp(time::reference(), 0).expect("a valid instant")
}

/// Compares two engines built with the same catalog: every principal of either side, at
/// account level and in every environment of either side, on every permission some statement
/// of either side names.
pub fn diff(old: &Engine, new: &Engine) -> Result<Report, DiffError> {
    let pairs = pairs(old, new);
    let levels = levels(old, new);
    let mut permissions: Vec<&str> = old.permissions().into_iter().chain(new.permissions()).collect();
    permissions.sort_unstable();
    permissions.dedup();
    let prints = [Prints::of(old), Prints::of(new)];
    let mut shared = Shared::default();
    let mut changes = Vec::new();
    for pair in &pairs {
        // Who the principal is on each side: a change of id or groups changes personal statements.
        let identity = |engine: &Engine, principal: Option<Principal>| {
            principal.map(|p| {
                let mut groups = engine.membership(p).ids.clone();
                groups.sort_unstable();
                (engine.tenant().id(p).to_string(), groups)
            })
        };
        let same_identity = identity(old, pair.old) == identity(new, pair.new);
        for level in &levels {
            let place = |engine: &Engine| match level {
                None => Some(None),
                Some(id) => engine.tenant().environments.iter().position(|e| &e.id == id).map(Some),
            };
            let (old_place, new_place) = (place(old), place(new));
            for &permission in &permissions {
                let view = |engine, principal: Option<Principal>, environment: Option<Option<usize>>| {
                    Some(View { engine, principal: principal?, environment: environment?, permission })
                };
                let views = [view(old, pair.old, old_place), view(new, pair.new, new_place)];
                let (before, personal_before) = prints[0].reaching(views[0]);
                let (after, personal_after) = prints[1].reaching(views[1]);
                if before == after && (same_identity || !(personal_before || personal_after)) {
                    continue;
                }
                let question = Question {
                    name: &pair.name,
                    level: level.as_deref(),
                    permission,
                    principals: [pair.old, pair.new],
                    views,
                };
                changes.extend(question.compare(&mut shared)?);
            }
        }
    }
    Ok(Report { changes, principals: pairs.len(), levels: levels.len(), permissions: permissions.len() })
}

/// One principal, level and permission, on both sides.
struct Question<'q> {
    name: &'q str,
    level: Option<&'q str>,
    permission: &'q str,
    principals: [Option<Principal>; 2],
    /// `None` on a side without the principal or the environment.
    views: [Option<View<'q>>; 2],
}

/// A witness judged on both sides: its rank (0 Deny, 1 Conditional, 2 Allow) and outcome there.
struct Judged {
    witness: Witness,
    ranks: [u8; 2],
    outcomes: [Outcome; 2],
}

impl Question<'_> {
    fn place(&self) -> String {
        self.level.map_or_else(|| "at account level".to_string(), |e| format!("in `{e}`"))
    }

    fn compare(&self, shared: &mut Shared) -> Result<Vec<Change>, DiffError> {
        let mut builder = Builder::new(shared);
        let sides = [builder.side(self.views[0]), builder.side(self.views[1])];
        let problem = builder.finish(sides);
        let too_complex = |_| DiffError::TooComplex {
            principal: self.name.to_string(),
            place: self.place(),
            permission: self.permission.to_string(),
        };
        let mut solver = Solver::new(&problem, &mut shared.languages);
        let gain = solver.gain(0, 1).map_err(too_complex)?;
        let loss = solver.gain(1, 0).map_err(too_complex)?;
        if gain.is_none() && loss.is_none() {
            return Ok(Vec::new());
        }
        let gain = gain.map(|found| self.confirm(&problem, found, 0, 1)).transpose()?;
        let loss = loss.map(|found| self.confirm(&problem, found, 1, 0)).transpose()?;
        // Access held on a side when some witness ranks above Deny there, or a search says so.
        let mut holds = |side: usize, judged: [&Option<Judged>; 2]| -> Result<bool, DiffError> {
            if judged.iter().any(|j| j.as_ref().is_some_and(|j| j.ranks[side] > 0)) {
                return Ok(true);
            }
            Ok(solver.holds(side).map_err(too_complex)?.is_some())
        };
        let held_before = holds(0, [&gain, &loss])?;
        let held_after = holds(1, [&gain, &loss])?;
        let mut changes = Vec::new();
        if let Some(judged) = gain {
            let kind = if held_before { ChangeKind::Widened } else { ChangeKind::Gained };
            changes.push(self.change(kind, judged));
        }
        if let Some(judged) = loss {
            let kind = if held_after { ChangeKind::Narrowed } else { ChangeKind::Lost };
            changes.push(self.change(kind, judged));
        }
        Ok(changes)
    }

    fn change(&self, kind: ChangeKind, judged: Judged) -> Change {
        let [old, new] = judged.outcomes;
        Change {
            kind,
            principal: self.name.to_string(),
            environment: self.level.map(str::to_string),
            permission: self.permission.to_string(),
            witness: judged.witness,
            old,
            new,
        }
    }

    /// Judges what the search found on both sides with the evaluator: `to` must rank it above
    /// `from`, or the search is wrong.
    fn confirm(&self, problem: &model::Problem, found: Found, from: usize, to: usize) -> Result<Judged, DiffError> {
        let attributes: BTreeMap<String, AttrValue> = found
            .attributes
            .into_iter()
            .map(|(key, mut elements)| {
                let value = match elements.len() {
                    1 => AttrValue::One(elements.remove(0)),
                    _ => AttrValue::Many(elements),
                };
                (key, value)
            })
            .collect();
        let witness = Witness { attributes, at: found.moment.map(|m| problem.moments[m].at) };
        let [(old_rank, old), (new_rank, new)] = [0, 1].map(|side| self.judge(side, &witness));
        let ranks = [old_rank, new_rank];
        if ranks[to] <= ranks[from] {
            return Err(DiffError::Unconfirmed {
                principal: self.name.to_string(),
                place: self.place(),
                permission: self.permission.to_string(),
                kind: if to == 1 { "gain" } else { "loss" },
            });
        }
        Ok(Judged { witness, ranks, outcomes: [old, new] })
    }

    fn judge(&self, side: usize, witness: &Witness) -> (u8, Outcome) {
        let which = if side == 0 { "old" } else { "new" };
        let Some(view) = self.views[side] else {
            let (reason, summary) = match (self.principals[side], self.level) {
                (None, _) => ("no_principal", format!("the {which} tenant has no principal `{}`", self.name)),
                (Some(_), environment) => (
                    "no_environment",
                    format!("the {which} tenant has no environment `{}`", environment.unwrap_or_default()),
                ),
            };
            let outcome = Outcome { decision: "deny", reason, summary, statements: Vec::new(), residual: None };
            return (0, outcome);
        };
        let engine = view.engine;
        let mut request = Request::new(view.principal, self.permission).at(witness.at.unwrap_or_else(judged_at));
        request.environment = self.level.map(str::to_string);
        // A key this side has never heard of cannot matter to it.
        request.attributes = witness
            .attributes
            .iter()
            .filter(|(k, _)| engine.tables.keys.get(k).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let query = match engine.query(&request) {
            Ok(query) => query,
            Err(error) => {
                let outcome = Outcome {
                    decision: "deny",
                    reason: "invalid_request",
                    summary: error.to_string(),
                    statements: Vec::new(),
                    residual: None,
                };
                return (0, outcome);
            }
        };
        let decision = engine.evaluate(&query);
        let rank = match decision {
            Decision::Allow { .. } => 2,
            Decision::Conditional { .. } => 1,
            Decision::Deny { .. } | Decision::NoMatch => 0,
        };
        let explanation = engine.explain(&query, &decision);
        // The explanation lists the deciding statements in the decision's order.
        let deciding: Vec<usize> = match &decision {
            Decision::Allow { statement } | Decision::Deny { statement } => vec![*statement],
            Decision::Conditional { residual } => residual.iter().map(|r| r.statement).collect(),
            Decision::NoMatch => Vec::new(),
        };
        let statements = explanation
            .deciding
            .into_iter()
            .zip(deciding)
            .map(|(statement, index)| {
                let binding = &engine.tenant().bindings[engine.statements(self.permission).at(index).binding];
                Decider { statement, binding_at: format!("{}:{}", binding.file, binding.line) }
            })
            .collect();
        let outcome = Outcome {
            decision: explanation.decision,
            reason: explanation.reason,
            summary: explanation.summary,
            statements,
            residual: explanation.residual,
        };
        (rank, outcome)
    }
}
