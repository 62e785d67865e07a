//! Why a request cannot be evaluated.

use thiserror::Error;

use crate::catalog::{Catalog, Permission};
use crate::diagnostic::{did_you_mean_clause, nearest, nearest_few};

/// How many names an error lists before it says how many more there are.
const LISTED: usize = 10;
/// How many of a permission's keys an unknown attribute is answered with.
const NEAREST_KEYS: usize = 3;

/// Why a request cannot be evaluated (decisions D15, D16): never a silent deny.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// No statement of the tenant names the permission.
    #[error("unknown permission `{permission}`{}", did_you_mean_clause(suggestion.as_deref()))]
    UnknownPermission {
        /// The permission asked for.
        permission: String,
        /// The permission meant, when one is near enough to be a typo.
        suggestion: Option<String>,
    },
    /// The tenant has no such environment.
    #[error("unknown environment `{environment}`{}", environments(suggestion, known))]
    UnknownEnvironment {
        /// The environment asked for.
        environment: String,
        /// The id meant: a near one, or the one with that name.
        suggestion: Option<String>,
        /// The tenant's environments, for when nothing is near enough to suggest.
        known: Vec<String>,
    },
    /// No permission of the catalog takes the attribute key.
    #[error("unknown attribute `{key}`{}", attributes(suggestion, permission, nearest))]
    UnknownAttribute {
        /// The key as sent.
        key: String,
        /// The key meant, when one is near enough to be a typo.
        suggestion: Option<String>,
        /// The permission asked for.
        permission: String,
        /// The keys of `permission` nearest to `key`, for when no key of the catalog is near
        /// enough to be the one meant.
        nearest: Vec<String>,
    },
    /// The principal is not one of the engine's tenant's: it was looked up in another tenant,
    /// or in an earlier load of this one (look it up again in [`Engine::tenant`](super::Engine::tenant)).
    #[error("the principal belongs to another tenant, or to an earlier load of this one; look it up again")]
    ForeignPrincipal,
    /// A request may not set a `global:` key.
    #[error(
        "`{key}` is a global attribute: warden sets it from the principal, the environment and the time, never from a request"
    )]
    GlobalAttribute {
        /// The key as sent.
        key: String,
    },
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
        (Some(suggestion), _) => did_you_mean_clause(Some(suggestion)),
        (None, []) => {
            "; the tenant has no environments (leave out the environment for an account-level request)".to_string()
        }
        (None, known) => format!("; the tenant's environments are {}", listed(known)),
    }
}

fn attributes(suggestion: &Option<String>, permission: &str, nearest: &[String]) -> String {
    match (suggestion, nearest) {
        (Some(suggestion), _) => did_you_mean_clause(Some(suggestion)),
        (None, []) => {
            format!("; `{permission}` takes no request attributes (only `global:` ones, which warden sets itself)")
        }
        (None, nearest) => format!("; the keys of `{permission}` nearest to it are {}", listed(nearest)),
    }
}
