//! A tenant as a Terraform module or a monaco project describes it, before warden's own
//! checks: every value with the place the host wrote it, so that each check on the tenant can
//! point at a host line. `iam` turns it into a `warden.toml` tenant.

use std::ops::Range;

use super::reader::{Found, Sources};
use super::traced::FileId;
use crate::diagnostic::Diagnostic;

/// A value and where the host wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At<T> {
    /// The value.
    pub value: T,
    /// The host file it is written in.
    pub file: FileId,
    /// Where in that file.
    pub span: Range<usize>,
}

impl<T> At<T> {
    /// A value written at `span` of `file`.
    pub fn new(value: T, file: FileId, span: Range<usize>) -> At<T> {
        At { value, file, span }
    }
}

/// Which host a tenant directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TenantHost {
    /// A directory of `*.tf` files.
    Terraform,
    /// A monaco project: `manifest.yaml`, or YAML files of account resources.
    Monaco,
}

/// A policy or boundary with the name warden gives it (a policy file stem) and its text.
#[derive(Debug, Clone)]
pub struct NamedText {
    /// Its name in the tenant (a resource's name, a monaco id).
    pub key: String,
    /// Its text and where it was found.
    pub found: Found,
}

/// A user and its groups.
#[derive(Debug, Clone)]
pub struct ModelUser {
    /// The user's id in the tenant (`${global:userId}`): the email, as neither Terraform nor
    /// monaco holds the platform's id.
    pub id: At<String>,
    /// Its email.
    pub email: At<String>,
    /// Group ids.
    pub groups: Vec<At<String>>,
}

/// A service user and its groups.
#[derive(Debug, Clone)]
pub struct ModelServiceUser {
    /// Its id (the email is `<id>@service.sso.dynatrace.com`).
    pub id: At<String>,
    /// Its display name.
    pub name: String,
    /// Group ids.
    pub groups: Vec<At<String>>,
}

/// A group.
#[derive(Debug, Clone)]
pub struct ModelGroup {
    /// Its id in the tenant.
    pub id: At<String>,
    /// Its display name.
    pub name: String,
}

/// What a binding binds: a policy of the tenant (by key), or a platform policy by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRef {
    /// A policy of the tenant, by key.
    Key(String),
    /// A platform policy, by its name (`Storage All Grail Data Read`).
    Builtin(String),
}

/// Where a binding applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelLevel {
    /// The whole account.
    Account,
    /// One environment, by id.
    Environment(String),
}

/// A bind parameter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelParameter {
    /// One value.
    One(String),
    /// A list.
    Many(Vec<String>),
}

/// A policy bound to a group at a level, with parameters and boundaries.
#[derive(Debug, Clone)]
pub struct ModelBinding {
    /// The policy bound.
    pub policy: At<PolicyRef>,
    /// The group's id.
    pub group: At<String>,
    /// Where it applies.
    pub level: At<ModelLevel>,
    /// Parameter names and values.
    pub parameters: Vec<(At<String>, At<ModelParameter>)>,
    /// Boundary keys.
    pub boundaries: Vec<At<String>>,
}

/// A tenant read from a host directory.
#[derive(Debug, Default)]
pub struct Model {
    /// The account id, where the host names one.
    pub account: Option<At<String>>,
    /// Environment ids, from the bindings.
    pub environments: Vec<At<String>>,
    /// Users.
    pub users: Vec<ModelUser>,
    /// Service users.
    pub service_users: Vec<ModelServiceUser>,
    /// Groups.
    pub groups: Vec<ModelGroup>,
    /// Policies.
    pub policies: Vec<NamedText>,
    /// Boundaries.
    pub boundaries: Vec<NamedText>,
    /// Bindings.
    pub bindings: Vec<ModelBinding>,
    /// What the tenant needs but warden could not resolve (rule E0710), each with what to supply.
    pub unresolved: Vec<(FileId, Diagnostic)>,
    /// Problems of the host files themselves (they do not parse, a file they read is missing).
    pub findings: Vec<(FileId, Diagnostic)>,
    /// Every file read.
    pub sources: Sources,
}

impl Model {
    /// Adds an environment once.
    pub fn environment(&mut self, id: At<String>) {
        if !self.environments.iter().any(|e| e.value == id.value) {
            self.environments.push(id);
        }
    }
}

/// The name of a platform policy as a file stem: `Storage All Grail Data Read` →
/// `storage-all-grail-data-read`.
pub fn slug(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn platform_policy_names_become_stems() {
        assert_eq!(super::slug("AppEngine - Admin"), "appengine-admin");
        assert_eq!(super::slug("Storage All Grail Data Read"), "storage-all-grail-data-read");
    }
}
