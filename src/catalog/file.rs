//! The catalog's file format (`policies/catalog.toml`), read with serde.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{Catalog, CatalogError, GlobalType, OperatorSet, Permission, Service};
use crate::syntax::Operator;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CatalogFile {
    #[serde(default)]
    operator_sets: HashMap<String, Vec<String>>,
    #[serde(default)]
    global_keys: BTreeMap<String, GlobalKeyFile>,
    #[serde(default)]
    key_values: HashMap<String, Vec<String>>,
    #[serde(default)]
    service: Vec<ServiceFile>,
    #[serde(default)]
    permission: Vec<PermissionFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GlobalKeyFile {
    #[serde(rename = "type")]
    kind: String,
    operators: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ServiceFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    token_scope: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionFile {
    names: Vec<String>,
    #[serde(default)]
    description: String,
    #[serde(default = "yes")]
    conditions: bool,
    #[serde(default)]
    keys: BTreeMap<String, Operators>,
}

fn yes() -> bool {
    true
}

/// A key's operators: the name of an operator set, or an explicit list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Operators {
    Set(String),
    List(Vec<String>),
}

fn operator_set(key: &str, names: &[String]) -> Result<OperatorSet, CatalogError> {
    names
        .iter()
        .map(|name| {
            Operator::parse(name)
                .ok_or_else(|| CatalogError::UnknownOperator { key: key.to_string(), operator: name.clone() })
        })
        .collect()
}

fn valid_name(name: &str, parts: usize) -> bool {
    let split: Vec<&str> = name.split(':').collect();
    split.len() == parts
        && split.iter().all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
}

pub(super) fn load(catalog: &mut Catalog, text: &str) -> Result<(), CatalogError> {
    let file: CatalogFile = toml::from_str(text)?;
    for (key, global) in &file.global_keys {
        let kind = match global.kind.as_str() {
            "environment" => GlobalType::Environment,
            "groups" => GlobalType::Groups,
            "date" => GlobalType::Date,
            "date-time" => GlobalType::DateTime,
            "time-of-day" => GlobalType::TimeOfDay,
            "week-day" => GlobalType::WeekDay,
            other => return Err(CatalogError::UnknownGlobalType { key: key.clone(), kind: other.to_string() }),
        };
        catalog.globals.insert(key.clone(), (kind, operator_set(key, &global.operators)?));
    }
    catalog.values.extend(file.key_values);
    for service in file.service {
        catalog.services.insert(
            service.name.clone(),
            Service { name: service.name, description: service.description, token_scope: service.token_scope },
        );
    }
    for entry in file.permission {
        let mut keys = BTreeMap::new();
        for (key, operators) in &entry.keys {
            if !valid_name(key, 2) {
                return Err(CatalogError::BadKeyName { name: key.clone() });
            }
            let set = match operators {
                Operators::Set(set) => {
                    let names = file
                        .operator_sets
                        .get(set)
                        .ok_or_else(|| CatalogError::UnknownOperatorSet { key: key.clone(), set: set.clone() })?;
                    operator_set(key, names)?
                }
                Operators::List(names) => operator_set(key, names)?,
            };
            keys.insert(key.clone(), set);
            let known = catalog.keys.entry(key.clone()).or_default();
            *known = known.union(set);
        }
        for name in &entry.names {
            if !valid_name(name, 3) {
                return Err(CatalogError::BadPermissionName { name: name.clone() });
            }
            let permission = catalog.permissions.entry(name.clone()).or_insert_with(|| Permission {
                name: name.clone(),
                description: entry.description.clone(),
                takes_conditions: entry.conditions,
                keys: BTreeMap::new(),
            });
            permission.keys.extend(keys.iter().map(|(k, v)| (k.clone(), *v)));
        }
    }
    Ok(())
}
