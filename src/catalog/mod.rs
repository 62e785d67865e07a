//! The permission vocabulary: services, permissions, the condition keys each accepts with their
//! operators, enumerated values and the `global:` keys. Data, not code: the default is
//! `policies/catalog.toml`, embedded in the binary; a deployment adds its own with `--catalog`.

mod error;
mod file;
mod global;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

pub use error::CatalogError;
pub use global::GlobalValue;

use crate::syntax::Operator;

/// The catalog warden ships with.
pub const BUILTIN_TEXT: &str = include_str!("../../policies/catalog.toml");

/// A set of operators, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct OperatorSet(u16);

impl OperatorSet {
    /// Whether the set holds `operator`.
    pub fn contains(self, operator: Operator) -> bool {
        self.0 & (1 << operator as u16) != 0
    }

    /// Adds `operator`.
    pub fn insert(&mut self, operator: Operator) {
        self.0 |= 1 << operator as u16;
    }

    /// The operators of either set.
    pub fn union(self, other: OperatorSet) -> OperatorSet {
        OperatorSet(self.0 | other.0)
    }

    /// The operators, in the order of [`Operator::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Operator> {
        Operator::ALL.into_iter().filter(move |op| self.contains(*op))
    }

    /// "`=`, `IN` or `startsWith`".
    pub fn describe(self) -> String {
        let names: Vec<String> = self.iter().map(|op| format!("`{op}`")).collect();
        match names.as_slice() {
            [] => "none".to_string(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        }
    }
}

impl FromIterator<Operator> for OperatorSet {
    fn from_iter<I: IntoIterator<Item = Operator>>(iter: I) -> Self {
        let mut set = OperatorSet::default();
        for op in iter {
            set.insert(op);
        }
        set
    }
}

/// What a `global:` key's values are, which decides how they compare (semantics.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GlobalType {
    /// An environment id (`global:environmentId`).
    Environment,
    /// The principal's group ids (`global:userGroup`): a list.
    Groups,
    /// A date with a zone.
    Date,
    /// An RFC 3339 date-time.
    DateTime,
    /// A time of day with a zone.
    TimeOfDay,
    /// A day of the week, never with a zone (decisions D17).
    WeekDay,
}

/// A service of the platform: the first part of its permissions' names.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Service {
    /// `storage`, `settings`, …
    pub name: String,
    /// One line about it.
    pub description: String,
    /// Whether the service's permissions may be platform-token scopes.
    pub token_scope: bool,
}

/// A permission and the condition keys it takes.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Permission {
    /// `service:resource:action`.
    pub name: String,
    /// One line about what it grants.
    pub description: String,
    /// False for the permissions that take no `WHERE` at all (decisions D10).
    pub takes_conditions: bool,
    /// Its own condition keys and the operators each accepts (`global:` keys aside).
    pub keys: BTreeMap<String, OperatorSet>,
}

/// The permission vocabulary: what [`check`](crate::check) validates policies against and
/// what the evaluator resolves requests with.
#[derive(Debug, Clone)]
pub struct Catalog {
    services: BTreeMap<String, Service>,
    /// Looked up once per permission of every statement: hashed, not ordered.
    permissions: FxHashMap<String, Permission>,
    globals: BTreeMap<String, (GlobalType, OperatorSet)>,
    /// Looked up for every value a policy writes: hashed with Fx.
    values: FxHashMap<String, Vec<String>>,
    /// Every non-global key with the operators it accepts on some permission (for boundaries).
    keys: BTreeMap<String, OperatorSet>,
}

impl Catalog {
    /// The embedded default catalog.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let mut catalog = Catalog::empty();
            catalog.extend(BUILTIN_TEXT).expect("the embedded catalog is valid");
            catalog
        })
    }

    fn empty() -> Catalog {
        Catalog {
            services: BTreeMap::new(),
            permissions: FxHashMap::default(),
            globals: BTreeMap::new(),
            values: FxHashMap::default(),
            keys: BTreeMap::new(),
        }
    }

    /// The built-in catalog plus the services and permissions of `text` (same format).
    pub fn with_extension(text: &str) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::builtin().clone();
        catalog.extend(text)?;
        Ok(catalog)
    }

    /// Adds the services, permissions, keys and values of a catalog text. A permission that
    /// already exists gains the new keys.
    pub fn extend(&mut self, text: &str) -> Result<(), CatalogError> {
        file::load(self, text)
    }

    /// A permission by name.
    pub fn permission(&self, name: &str) -> Option<&Permission> {
        self.permissions.get(name)
    }

    /// Every permission, in no particular order.
    pub fn permissions(&self) -> impl Iterator<Item = &Permission> {
        self.permissions.values()
    }

    /// A service by name.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.get(name)
    }

    /// Every service, by name.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

    /// A `global:` key's type and the operators it accepts.
    pub fn global(&self, key: &str) -> Option<(GlobalType, OperatorSet)> {
        self.globals.get(key).copied()
    }

    /// The operators `permission` accepts for `key`, `None` when it does not accept the key.
    pub fn operators(&self, permission: &Permission, key: &str) -> Option<OperatorSet> {
        if !permission.takes_conditions {
            return None;
        }
        permission.keys.get(key).copied().or_else(|| self.global(key).map(|(_, ops)| ops))
    }

    /// Whether `permission` accepts conditions on `key` (its own keys, or a `global:` one when it
    /// takes conditions at all): a condition on any other key does not restrict it.
    pub fn accepts(&self, permission: &Permission, key: &str) -> bool {
        self.operators(permission, key).is_some()
    }

    /// Whether a condition on `key` in a statement restricts the statement's permission named
    /// `permission` (decisions D30): yes when the permission accepts the key; no when it does
    /// not, and the statement then holds for it without that condition. A permission that takes
    /// no conditions at all keeps them (D10: a `WHERE` on it is an error, never a wider grant),
    /// and so does one the catalog does not know. Evaluation and the lints both read a
    /// statement through this rule.
    pub fn restricts(&self, permission: &str, key: &str) -> bool {
        match self.permission(permission) {
            Some(permission) => !permission.takes_conditions || self.accepts(permission, key),
            None => true,
        }
    }

    /// Every operator a key accepts on some permission (or as a `global:` key); `None` for a
    /// key no permission knows.
    pub fn key_operators(&self, key: &str) -> Option<OperatorSet> {
        self.keys.get(key).copied().or_else(|| self.global(key).map(|(_, ops)| ops))
    }

    /// The names of every condition key, global ones included.
    pub fn key_names(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().chain(self.globals.keys()).map(String::as_str)
    }

    /// The values an enumerated key takes (decisions D11).
    pub fn enumerated_values(&self, key: &str) -> Option<&[String]> {
        self.values.get(key).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_knows_the_reference() {
        let catalog = Catalog::builtin();
        let logs = catalog.permission("storage:logs:read").unwrap();
        let ops = catalog.operators(logs, "storage:bucket-name").unwrap();
        assert!(ops.contains(Operator::Match) && ops.contains(Operator::NotIn));
        assert!(catalog.operators(logs, "global:week-day").is_some());
        let write = catalog.permission("storage:logs:write").unwrap();
        assert!(catalog.operators(write, "global:week-day").is_none(), "D10: no conditions at all");
        assert_eq!(catalog.enumerated_values("automation:workflow-type").unwrap(), ["SIMPLE", "STANDARD"]);
        assert!(catalog.service("platform-token").unwrap().token_scope);
        assert!(!catalog.service("deployment").unwrap().token_scope);
    }

    #[test]
    fn the_environment_api_permissions_the_platform_documents_are_known() {
        let catalog = Catalog::builtin();
        for name in [
            "environment-api:api-tokens:write",
            "environment-api:entities:read",
            "environment-api:entities:write",
            "environment-api:metrics:read",
            "environment-api:security-problems:read",
            "environment-api:slo:read",
            "environment-api:credentials:read",
            "environment-api:credentials:write",
        ] {
            let permission = catalog.permission(name).unwrap_or_else(|| panic!("{name} is missing"));
            assert!(catalog.accepts(permission, "global:environmentId"), "{name} takes the global keys");
            assert!(!catalog.accepts(permission, "storage:host.name"), "{name} takes no storage keys");
        }
        assert!(!catalog.service("environment-api").unwrap().token_scope);
    }

    #[test]
    fn an_extension_adds_permissions_and_keys() {
        let catalog = Catalog::with_extension(
            r#"
            [[service]]
            name = "acme"
            description = "ACME's own service"
            [[permission]]
            names = ["acme:widgets:read"]
            description = "Read widgets"
            keys = { "acme:color" = ["=", "IN"] }
            "#,
        )
        .unwrap();
        let widgets = catalog.permission("acme:widgets:read").unwrap();
        assert!(catalog.operators(widgets, "acme:color").unwrap().contains(Operator::In));
        assert!(catalog.permission("storage:logs:read").is_some());
    }

    #[test]
    fn a_bad_extension_says_what_is_wrong() {
        let error = Catalog::with_extension(
            r#"
            [[permission]]
            names = ["acme:widgets:read"]
            description = "Read widgets"
            keys = { "acme:color" = ["LIKE"] }
            "#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("unknown operator `LIKE` for key `acme:color`"), "{error}");
    }
}
