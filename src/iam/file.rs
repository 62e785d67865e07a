//! The shape of `warden.toml`, read with serde; references keep their spans for diagnostics.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::rules::INVALID_CONFIG;
use crate::diagnostic::{Diagnostic, did_you_mean, nearest_expected_field};

/// A `warden.toml` that does not read as its tables, at the place TOML names: the help is the
/// nearest expected key for an unknown one (`nme` of `[account]`: `name`), else `otherwise`.
pub(crate) fn invalid_config(error: &toml::de::Error, otherwise: &str) -> Diagnostic {
    let message = error.message().trim().replace('\n', " ");
    let help = nearest_expected_field(&message).map_or_else(|| otherwise.to_string(), did_you_mean);
    Diagnostic::new(&INVALID_CONFIG, error.span().unwrap_or(0..0), format!("warden.toml: {message}")).with_help(help)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantFile {
    pub account: AccountFile,
    #[serde(default)]
    pub environment: Vec<EnvironmentFile>,
    #[serde(default)]
    pub user: Vec<UserFile>,
    #[serde(default)]
    pub service_user: Vec<ServiceUserFile>,
    #[serde(default)]
    pub group: Vec<GroupFile>,
    #[serde(default)]
    pub boundary: Vec<BoundaryFile>,
    #[serde(default)]
    pub binding: Vec<BindingFile>,
    /// The token service's settings (decisions D26): not the IAM model's, so taken as it
    /// stands here and read by `token::Deployment`.
    #[serde(default, rename = "deployment")]
    pub _deployment: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccountFile {
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub platform_tokens: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnvironmentFile {
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserFile {
    pub id: Spanned<String>,
    pub email: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServiceUserFile {
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GroupFile {
    pub id: Spanned<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub members: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BoundaryFile {
    pub name: Spanned<String>,
    pub query: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BindingFile {
    pub policy: Spanned<String>,
    pub groups: Vec<Spanned<String>>,
    pub level: Spanned<String>,
    #[serde(default)]
    pub parameters: BTreeMap<Spanned<String>, Spanned<ParameterFile>>,
    #[serde(default)]
    pub boundaries: Vec<Spanned<String>>,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum ParameterFile {
    One(String),
    Many(Vec<String>),
}
