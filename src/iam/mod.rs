//! The IAM model of semantics.md §1 (account, environments, users, service users, groups,
//! policies, boundaries, bindings) and the loading of a tenant directory that admins keep in
//! git: `warden.toml`, `policies/*.policy`, `boundaries/*.boundary`.

mod boundaries;
mod builtin;
mod file;
mod load;
pub mod rules;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

pub use builtin::BUILTIN_POLICIES;
pub use load::{FileFindings, Loaded, TenantFiles, load};

use crate::catalog::{Catalog, Permission};
use crate::diagnostic::SourceFile;
use crate::syntax::{Condition, Document};

/// The email domain of service users: `<id>@service.sso.dynatrace.com`.
pub const SERVICE_USER_DOMAIN: &str = "service.sso.dynatrace.com";

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub name: String,
    /// Whether platform tokens are allowed (the account switch); on by default.
    pub platform_tokens: bool,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct ServiceUser {
    pub id: String,
    pub name: String,
    pub email: String,
}

/// A user or a service user, by position in the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Principal {
    User(usize),
    ServiceUser(usize),
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub members: Vec<Principal>,
}

/// A policy text, parsed, with the file it came from (built-in ones are named `builtin:<stem>`).
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    pub file: SourceFile,
    pub document: Document,
}

#[derive(Debug, Clone)]
pub struct Boundary {
    pub name: String,
    pub file: SourceFile,
    pub conditions: Vec<Condition>,
}

impl Boundary {
    /// The conditions of this boundary that restrict `permission`: those whose key it accepts
    /// (semantics.md §4.3). None means the boundary leaves the permission as the policy grants it.
    pub fn conditions_on<'b>(
        &'b self,
        permission: &'b Permission,
        catalog: &'b Catalog,
    ) -> impl Iterator<Item = &'b Condition> + 'b {
        self.conditions.iter().filter(|c| catalog.accepts(permission, &c.key.text))
    }

    /// Whether this boundary restricts `permission` at all.
    pub fn restricts(&self, permission: &Permission, catalog: &Catalog) -> bool {
        self.conditions_on(permission, catalog).next().is_some()
    }

    /// The keys of this boundary, each once, in the order written.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for condition in &self.conditions {
            if !keys.contains(&&*condition.key.text) {
                keys.push(&condition.key.text);
            }
        }
        keys
    }
}

/// Where a binding applies: the whole account (every environment) or one environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Level {
    Account,
    Environment(String),
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Level::Account => f.write_str("account level"),
            Level::Environment(id) => write!(f, "environment `{id}`"),
        }
    }
}

/// A bind-parameter value: one string, or a list (decisions: semantics.md §1). In JSON it is a
/// string or an array of strings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Parameter {
    One(String),
    Many(Vec<String>),
}

impl std::fmt::Display for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Parameter::One(value) => write!(f, "{value:?}"),
            Parameter::Many(values) => write!(f, "{values:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub policy: String,
    /// Positions in [`Tenant::groups`].
    pub groups: Vec<usize>,
    pub level: Level,
    pub parameters: BTreeMap<String, Parameter>,
    pub boundaries: Vec<String>,
    /// Where the binding is written: the tenant file, and the line of its `policy`.
    pub file: String,
    pub line: usize,
}

/// A loaded, checked tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub account: Account,
    pub environments: Vec<Environment>,
    pub users: Vec<User>,
    pub service_users: Vec<ServiceUser>,
    pub groups: Vec<Group>,
    pub policies: BTreeMap<String, Policy>,
    pub boundaries: BTreeMap<String, Boundary>,
    pub bindings: Vec<Binding>,
    /// Users by email and id; service users by email, id and name (built by [`load`]).
    pub(crate) user_names: HashMap<String, Principal>,
    pub(crate) service_user_names: HashMap<String, Principal>,
}

impl Tenant {
    /// A user by email or id.
    pub fn find_user(&self, name: &str) -> Option<Principal> {
        self.user_names.get(name).copied()
    }

    /// A service user by email, id or name.
    pub fn find_service_user(&self, name: &str) -> Option<Principal> {
        self.service_user_names.get(name).copied()
    }

    /// The email a principal is known by.
    pub fn email(&self, principal: Principal) -> &str {
        match principal {
            Principal::User(i) => &self.users[i].email,
            Principal::ServiceUser(i) => &self.service_users[i].email,
        }
    }

    /// The principal's id (`${global:userId}`).
    pub fn id(&self, principal: Principal) -> &str {
        match principal {
            Principal::User(i) => &self.users[i].id,
            Principal::ServiceUser(i) => &self.service_users[i].id,
        }
    }

    /// Every principal: users first, then service users.
    pub fn principals(&self) -> impl Iterator<Item = Principal> {
        (0..self.users.len()).map(Principal::User).chain((0..self.service_users.len()).map(Principal::ServiceUser))
    }

    /// Positions of the groups the principal belongs to.
    pub fn groups_of(&self, principal: Principal) -> Vec<usize> {
        self.groups.iter().enumerate().filter(|(_, g)| g.members.contains(&principal)).map(|(i, _)| i).collect()
    }

    pub fn environment(&self, id: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.id == id)
    }
}
