use thiserror::Error;

/// Why a catalog file could not be loaded.
#[derive(Debug, Error)]
pub enum CatalogError {
    #[error("the catalog is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error(
        "unknown operator `{operator}` for key `{key}` (operators: =, !=, <, >, IN, NOT IN, startsWith, NOT startsWith, MATCH)"
    )]
    UnknownOperator { key: String, operator: String },
    #[error("unknown operator set `{set}` for key `{key}`; define it under [operator-sets]")]
    UnknownOperatorSet { key: String, set: String },
    #[error("`{name}` is not a permission name of the form `service:resource:action`")]
    BadPermissionName { name: String },
    #[error("`{name}` is not a condition key of the form `namespace:attribute`")]
    BadKeyName { name: String },
    #[error("unknown global key type `{kind}` for `{key}`")]
    UnknownGlobalType { key: String, kind: String },
}
