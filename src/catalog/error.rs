//! Why a catalog text cannot be loaded.

use thiserror::Error;

/// Why a catalog file could not be loaded.
#[non_exhaustive]
#[derive(Debug, Error)]
pub enum CatalogError {
    /// The text is not TOML, or not of the catalog's shape.
    #[error("the catalog is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// An operator the language does not have.
    #[error(
        "unknown operator `{operator}` for key `{key}` (operators: =, !=, <, >, IN, NOT IN, startsWith, NOT startsWith, MATCH)"
    )]
    UnknownOperator {
        /// The key the operator was listed for.
        key: String,
        /// The operator as written.
        operator: String,
    },
    /// A key names an operator set that `[operator-sets]` does not define.
    #[error("unknown operator set `{set}` for key `{key}`; define it under [operator-sets]")]
    UnknownOperatorSet {
        /// The key.
        key: String,
        /// The set's name as written.
        set: String,
    },
    /// A permission name that is not `service:resource:action`.
    #[error("`{name}` is not a permission name of the form `service:resource:action`")]
    BadPermissionName {
        /// The name as written.
        name: String,
    },
    /// A condition key that is not `namespace:attribute`.
    #[error("`{name}` is not a condition key of the form `namespace:attribute`")]
    BadKeyName {
        /// The key as written.
        name: String,
    },
    /// A `global:` key of a type warden does not know how to compare.
    #[error("unknown global key type `{kind}` for `{key}`")]
    UnknownGlobalType {
        /// The key.
        key: String,
        /// The type as written.
        kind: String,
    },
}
