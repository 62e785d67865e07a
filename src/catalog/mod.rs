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
    pub fn contains(self, operator: Operator) -> bool {
        self.0 & (1 << operator as u16) != 0
    }

    pub fn insert(&mut self, operator: Operator) {
        self.0 |= 1 << operator as u16;
    }

    pub fn union(self, other: OperatorSet) -> OperatorSet {
        OperatorSet(self.0 | other.0)
    }

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
pub enum GlobalType {
    Environment,
    Groups,
    Date,
    DateTime,
    TimeOfDay,
    WeekDay,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub description: String,
    /// Whether the service's permissions may be platform-token scopes.
    pub token_scope: bool,
}

#[derive(Debug, Clone)]
pub struct Permission {
    pub name: String,
    pub description: String,
    /// False for the permissions that take no `WHERE` at all (decisions D10).
    pub takes_conditions: bool,
    pub keys: BTreeMap<String, OperatorSet>,
}

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

    pub fn permission(&self, name: &str) -> Option<&Permission> {
        self.permissions.get(name)
    }

    /// Every permission, in no particular order.
    pub fn permissions(&self) -> impl Iterator<Item = &Permission> {
        self.permissions.values()
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.get(name)
    }

    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.values()
    }

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

/// The candidate nearest to `name` by edit distance, when near enough to be a likely typo.
pub fn nearest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    /// Names longer than this are no typos of a catalog name; skipping them keeps the check linear.
    const LONGEST: usize = 256;
    if name.len() > LONGEST {
        return None;
    }
    let length = name.chars().count();
    let limit = (length / 4).clamp(1, 4);
    let name = name.to_lowercase();
    candidates
        .into_iter()
        // The distance is at least the difference in length: skip what cannot be near.
        .filter(|candidate| candidate.chars().count().abs_diff(length) <= limit)
        .map(|candidate| (edit_distance(&name, &candidate.to_lowercase()), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

/// The `count` candidates nearest to `name`, nearest first: the names a person most likely meant
/// when none is near enough for [`nearest`] to call it a typo. Candidates holding the last part
/// of `name` (`namespace` of `storage:namespace`) come first, then by edit distance, then by name.
pub fn nearest_few<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>, count: usize) -> Vec<&'c str> {
    let name = name.to_lowercase();
    let part = name.rsplit(':').next().filter(|part| part.len() >= 3);
    let rank = |candidate: &str| {
        let candidate = candidate.to_lowercase();
        (part.is_none_or(|part| !candidate.contains(part)), edit_distance(&name, &candidate))
    };
    let mut ranked: Vec<((bool, usize), &str)> =
        candidates.into_iter().map(|candidate| (rank(candidate), candidate)).collect();
    ranked.sort_unstable();
    ranked.dedup_by_key(|(_, candidate)| *candidate);
    ranked.into_iter().take(count).map(|(_, candidate)| candidate).collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_and_ignores_strangers() {
        let names = ["settings:objects:read", "storage:logs:read"];
        assert_eq!(nearest("settings:obects:read", names), Some("settings:objects:read"));
        assert_eq!(nearest("Storage:Logs:Read", names), Some("storage:logs:read"));
        assert_eq!(nearest("vault:secrets:read", names), None);
    }

    #[test]
    fn nearest_few_puts_names_holding_the_last_part_first() {
        let keys = ["storage:host.name", "storage:k8s.namespace.name", "storage:log.source", "storage:bucket-name"];
        assert_eq!(nearest_few("storage:namespace", keys, 2), ["storage:k8s.namespace.name", "storage:host.name"]);
        assert_eq!(nearest_few("x", keys, 9).len(), 4);
    }

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
