use thiserror::Error;

use crate::catalog::{Catalog, Permission, nearest, nearest_few};

/// How many names an error lists before it says how many more there are.
const LISTED: usize = 10;
/// How many of a permission's keys an unknown attribute is answered with.
const NEAREST_KEYS: usize = 3;

/// Why a request cannot be evaluated (decisions D15, D16): never a silent deny.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    #[error("unknown permission `{permission}`{}", did_you_mean(suggestion))]
    UnknownPermission { permission: String, suggestion: Option<String> },
    /// `known` lists the tenant's environments, for when nothing is near enough to suggest.
    #[error("unknown environment `{environment}`{}", environments(suggestion, known))]
    UnknownEnvironment { environment: String, suggestion: Option<String>, known: Vec<String> },
    /// `nearest` holds the keys of `permission` nearest to `key`, for when no key of the catalog
    /// is near enough to be the one meant.
    #[error("unknown attribute `{key}`{}", attributes(suggestion, permission, nearest))]
    UnknownAttribute { key: String, suggestion: Option<String>, permission: String, nearest: Vec<String> },
    #[error(
        "`{key}` is a global attribute: warden sets it from the principal, the environment and the time, never from a request"
    )]
    GlobalAttribute { key: String },
}

impl RequestError {
    /// An environment the tenant does not have: the id meant (by id, or by the environment's
    /// name), else every id of the tenant.
    pub(super) fn unknown_environment<'t>(
        environment: &str,
        known: impl Iterator<Item = (&'t str, &'t str)> + Clone,
    ) -> RequestError {
        let suggestion = nearest(environment, known.clone().map(|(id, _)| id))
            .or_else(|| known.clone().find(|(_, name)| name.eq_ignore_ascii_case(environment)).map(|(id, _)| id))
            .map(str::to_string);
        RequestError::UnknownEnvironment {
            environment: environment.to_string(),
            suggestion,
            known: known.map(|(id, _)| id.to_string()).collect(),
        }
    }

    /// A key no permission of the catalog knows: the key meant, else the nearest keys the
    /// requested permission takes.
    pub(super) fn unknown_attribute(key: &str, permission: &str, catalog: &Catalog) -> RequestError {
        let requestable = catalog.key_names().filter(|k| !k.starts_with("global:"));
        let suggestion = nearest(key, requestable).map(str::to_string);
        let own = catalog.permission(permission).map(|p: &Permission| p.keys.keys().map(String::as_str));
        let nearest = match (&suggestion, own) {
            (None, Some(own)) => nearest_few(key, own, NEAREST_KEYS).into_iter().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        RequestError::UnknownAttribute { key: key.to_string(), suggestion, permission: permission.to_string(), nearest }
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

/// "`a`, `b`" or "`a`, … and 3 more".
fn listed(names: &[String]) -> String {
    let shown: Vec<String> = names.iter().take(LISTED).map(|n| format!("`{n}`")).collect();
    match names.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

fn environments(suggestion: &Option<String>, known: &[String]) -> String {
    match (suggestion, known) {
        (Some(_), _) => did_you_mean(suggestion),
        (None, []) => {
            "; the tenant has no environments (leave out the environment for an account-level request)".to_string()
        }
        (None, known) => format!("; the tenant's environments are {}", listed(known)),
    }
}

fn attributes(suggestion: &Option<String>, permission: &str, nearest: &[String]) -> String {
    match (suggestion, nearest) {
        (Some(_), _) => did_you_mean(suggestion),
        (None, []) => {
            format!("; `{permission}` takes no request attributes (only `global:` ones, which warden sets itself)")
        }
        (None, nearest) => format!("; the keys of `{permission}` nearest to it are {}", listed(nearest)),
    }
}
