//! Why a name does not lead to a principal of the tenant.

use thiserror::Error;

use super::PrincipalKind;
use crate::diagnostic::did_you_mean_clause;

/// A name that no user or service user of the tenant goes by.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the tenant has no {} `{name}`{}", looked_for(*kind), did_you_mean_clause(suggestion.as_deref()))]
pub struct UnknownPrincipal {
    /// The name as given.
    pub name: String,
    /// The kind looked for; `None`: either.
    pub kind: Option<PrincipalKind>,
    /// The user email or service-user name meant, when one is near enough to be a typo.
    pub suggestion: Option<String>,
}

fn looked_for(kind: Option<PrincipalKind>) -> String {
    kind.map_or_else(|| "user or service user".to_string(), |kind| kind.to_string())
}
