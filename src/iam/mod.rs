//! The IAM model of semantics.md §1 (account, environments, users, service users, groups,
//! policies, boundaries, bindings) and the loading of a tenant directory that admins keep in
//! git: `warden.toml`, `policies/*.policy`, `boundaries/*.boundary`; or a Terraform module or
//! a monaco project ([`TenantDir`]).

mod boundaries;
mod builtin;
mod dir;
mod error;
mod file;
#[cfg(feature = "iac")]
mod host;
mod load;
pub mod rules;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashMap as HashMap;

pub use builtin::BUILTIN_POLICIES;
pub use dir::TenantDir;
pub use error::UnknownPrincipal;
pub(crate) use file::invalid_config;
#[cfg(feature = "iac")]
pub use host::HostTenant;
pub use load::{FileFindings, Loaded, TenantFiles, load};

use crate::catalog::{Catalog, Permission};
use crate::diagnostic::{SourceFile, nearest};
use crate::syntax::{Condition, Document};

/// The email domain of service users: `<id>@service.sso.dynatrace.com`.
pub const SERVICE_USER_DOMAIN: &str = "service.sso.dynatrace.com";

/// The account the tenant describes.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Account {
    /// The account's id: `${global:levelId}` at account level.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Whether platform tokens are allowed (the account switch); on by default.
    pub platform_tokens: bool,
}

/// An environment of the account: a level a binding or a request can name.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Environment {
    /// The id requests and bindings use.
    pub id: String,
    /// Its display name.
    pub name: String,
}

/// A person with an account login.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct User {
    /// The user's id (`${global:userId}`).
    pub id: String,
    /// The email the user is known by; shared with the token checks that answer with it.
    pub email: Arc<str>,
}

/// A non-human identity of the account.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct ServiceUser {
    /// The service user's id (`${global:userId}`).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// `<id>@service.sso.dynatrace.com` ([`SERVICE_USER_DOMAIN`]).
    pub email: Arc<str>,
}

/// What marks the principals of one loaded tenant: every [`load`] draws a new one, so a
/// handle of one tenant is never taken for someone of another (or of the same files loaded
/// again after a change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Stamp(u64);

impl Stamp {
    /// A stamp no other tenant or engine of this process has.
    pub(crate) fn new() -> Stamp {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Stamp(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// Whether a principal is a user or a service user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalKind {
    /// A person.
    User,
    /// A service user.
    ServiceUser,
}

impl std::fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PrincipalKind::User => "user",
            PrincipalKind::ServiceUser => "service user",
        })
    }
}

/// A user or a service user of one tenant: a handle that the tenant's lookups
/// ([`Tenant::find_user`], [`Tenant::principal`], …) give out. It stands for that person in
/// that tenant and in the engines compiled from it only: [`Engine::query`](crate::eval::Engine::query)
/// refuses the handle of another tenant, the same files loaded again included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal {
    tenant: Stamp,
    kind: PrincipalKind,
    /// Position in [`Tenant::users`] or [`Tenant::service_users`].
    index: usize,
}

impl Principal {
    fn new(tenant: Stamp, kind: PrincipalKind, index: usize) -> Principal {
        Principal { tenant, kind, index }
    }

    /// A user or a service user.
    pub fn kind(self) -> PrincipalKind {
        self.kind
    }

    /// Whether it is a service user.
    pub fn is_service_user(self) -> bool {
        self.kind == PrincipalKind::ServiceUser
    }
}

/// A group of principals: what bindings grant policies to.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Group {
    /// The group's id (`${global:userGroup}` lists these).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its users and service users.
    pub members: Vec<Principal>,
}

/// A policy text, parsed, with the file it came from (built-in ones are named `builtin:<stem>`).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Policy {
    /// The file stem, or `builtin:<stem>`: what bindings name.
    pub name: String,
    /// Its text.
    pub file: SourceFile,
    /// Its syntax tree (without [`Document::keywords`], which only the lints read).
    pub document: Document,
}

/// A policy boundary (semantics.md §4): conditions that limit what the ALLOWs of a binding
/// grant.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Boundary {
    /// The file stem: what bindings name.
    pub name: String,
    /// Its text.
    pub file: SourceFile,
    /// Its conditions, in the order written.
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
    /// Every environment of the account, and account-level requests.
    Account,
    /// The environment with this id.
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(untagged)]
pub enum Parameter {
    /// One value.
    One(String),
    /// A list of values.
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

/// A policy bound to groups at a level, with its bind parameters and boundaries.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Binding {
    /// The name of the bound policy in [`Tenant::policies`].
    pub policy: String,
    /// Positions in [`Tenant::groups`].
    pub groups: Vec<usize>,
    /// Where it applies.
    pub level: Level,
    /// The values of the policy's `${bindParam:…}` placeholders.
    pub parameters: BTreeMap<String, Parameter>,
    /// Names in [`Tenant::boundaries`]; the grant is the union over them (semantics.md §4.3).
    pub boundaries: Vec<String>,
    /// The tenant file the binding is written in (its name, shared by the file's bindings).
    pub file: std::sync::Arc<str>,
    /// The line of its `policy` there.
    pub line: usize,
}

/// A loaded, checked tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The account.
    pub account: Account,
    /// Its environments.
    pub environments: Vec<Environment>,
    /// Its users.
    pub users: Vec<User>,
    /// Its service users.
    pub service_users: Vec<ServiceUser>,
    /// Its groups.
    pub groups: Vec<Group>,
    /// Its policies and the built-in ones, by name.
    pub policies: BTreeMap<String, Policy>,
    /// Its boundaries, by name.
    pub boundaries: BTreeMap<String, Boundary>,
    /// Its bindings, in the order written.
    pub bindings: Vec<Binding>,
    /// What its principals carry.
    stamp: Stamp,
    /// Users by email and id; service users by email, id and name.
    user_names: HashMap<String, Principal>,
    service_user_names: HashMap<String, Principal>,
}

impl Tenant {
    /// A user by email or id, or a service user by email, id or name: of `kind`, or of either
    /// kind (users first). The error suggests the user email or service-user name meant.
    pub fn principal(&self, name: &str, kind: Option<PrincipalKind>) -> Result<Principal, UnknownPrincipal> {
        let users = || self.users.iter().map(|u| &*u.email);
        let service_users = || self.service_users.iter().map(|s| s.name.as_str());
        let (found, suggestion) = match kind {
            Some(PrincipalKind::User) => (self.find_user(name), nearest(name, users())),
            Some(PrincipalKind::ServiceUser) => (self.find_service_user(name), nearest(name, service_users())),
            None => (
                self.find_user(name).or_else(|| self.find_service_user(name)),
                nearest(name, users().chain(service_users())),
            ),
        };
        found.ok_or_else(|| UnknownPrincipal {
            name: name.to_string(),
            kind,
            suggestion: suggestion.map(str::to_string),
        })
    }

    /// Whether `principal` is one of this tenant's (rather than of another tenant, or of an
    /// earlier load of the same files).
    pub fn owns(&self, principal: Principal) -> bool {
        principal.tenant == self.stamp
    }

    /// The principal's position among the users or service users.
    ///
    /// # Panics
    ///
    /// When the principal is not one of this tenant's: its position would name someone else.
    fn position(&self, principal: Principal) -> usize {
        assert!(self.owns(principal), "a principal of another tenant: look it up again in this one");
        principal.index
    }

    /// A user by email or id.
    pub fn find_user(&self, name: &str) -> Option<Principal> {
        self.user_names.get(name).copied()
    }

    /// A service user by email, id or name.
    pub fn find_service_user(&self, name: &str) -> Option<Principal> {
        self.service_user_names.get(name).copied()
    }

    /// The email a principal is known by.
    ///
    /// # Panics
    ///
    /// When the principal is not one of this tenant's ([`Tenant::owns`]).
    pub fn email(&self, principal: Principal) -> &str {
        self.shared_email(principal)
    }

    /// [`Tenant::email`], to keep without a copy.
    pub(crate) fn shared_email(&self, principal: Principal) -> &Arc<str> {
        let i = self.position(principal);
        match principal.kind {
            PrincipalKind::User => &self.users[i].email,
            PrincipalKind::ServiceUser => &self.service_users[i].email,
        }
    }

    /// The principal's id (`${global:userId}`).
    ///
    /// # Panics
    ///
    /// When the principal is not one of this tenant's ([`Tenant::owns`]).
    pub fn id(&self, principal: Principal) -> &str {
        let i = self.position(principal);
        match principal.kind {
            PrincipalKind::User => &self.users[i].id,
            PrincipalKind::ServiceUser => &self.service_users[i].id,
        }
    }

    /// The principal's place in [`Tenant::principals`].
    ///
    /// # Panics
    ///
    /// When the principal is not one of this tenant's ([`Tenant::owns`]).
    pub(crate) fn ordinal(&self, principal: Principal) -> usize {
        let i = self.position(principal);
        match principal.kind {
            PrincipalKind::User => i,
            PrincipalKind::ServiceUser => self.users.len() + i,
        }
    }

    /// Every principal: users first, then service users.
    pub fn principals(&self) -> impl Iterator<Item = Principal> {
        let stamp = self.stamp;
        let users = (0..self.users.len()).map(move |i| Principal::new(stamp, PrincipalKind::User, i));
        users.chain((0..self.service_users.len()).map(move |i| Principal::new(stamp, PrincipalKind::ServiceUser, i)))
    }

    /// Positions of the groups the principal belongs to.
    ///
    /// # Panics
    ///
    /// When the principal is not one of this tenant's ([`Tenant::owns`]).
    pub fn groups_of(&self, principal: Principal) -> Vec<usize> {
        self.position(principal);
        self.groups.iter().enumerate().filter(|(_, g)| g.members.contains(&principal)).map(|(i, _)| i).collect()
    }

    /// An environment by id.
    pub fn environment(&self, id: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.id == id)
    }
}
