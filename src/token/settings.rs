//! A deployment's settings (decisions D26): the `[deployment]` table of the tenant's
//! `warden.toml`, which flags and environment variables override, and the [`Settings`] a
//! [`TokenService`](super::TokenService) runs with.

use chrono::Duration;
use serde::Deserialize;

use super::string::{DEFAULT_PREFIX, valid_prefix};
use crate::diagnostic::{Diagnostic, SourceFile};
use crate::iam::invalid_config;

/// The longest propagation bound tokens.md §5 allows.
pub const MAX_PROPAGATION: Duration = Duration::seconds(300);

/// What a token service runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Tokens one owner may hold in one account; every token not deleted counts.
    pub limit: usize,
    /// The prefix of new token strings (`dt0s16`).
    pub prefix: String,
    /// How long a cached token record or compiled tenant may be used before it is read again.
    pub propagation: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { limit: 10, prefix: DEFAULT_PREFIX.to_string(), propagation: Duration::seconds(60) }
    }
}

impl Settings {
    /// Checks the prefix shape and the propagation bound.
    pub fn validated(self) -> Result<Settings, String> {
        if !valid_prefix(&self.prefix) {
            return Err(format!("the token prefix `{}` does not match `dt0[a-z][0-9][0-9]`", self.prefix));
        }
        if self.propagation > MAX_PROPAGATION || self.propagation < Duration::zero() {
            return Err(format!(
                "the propagation bound is {} s; it must be between 0 and 300 s",
                self.propagation.num_seconds()
            ));
        }
        Ok(self)
    }
}

/// The `[deployment]` table of a tenant's `warden.toml`. The IAM model leaves it alone: it
/// belongs to the token service that runs over the tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Deployment {
    /// Tokens one owner may hold in one account.
    pub token_limit: Option<usize>,
    /// The prefix of new token strings.
    pub token_prefix: Option<String>,
    /// The propagation bound, in seconds (at most 300).
    pub propagation_seconds: Option<i64>,
    /// The token database: a path, `sqlite:PATH` or a `postgres://` URL (a password is refused:
    /// tenants live in git).
    pub database: Option<String>,
}

/// The part of `warden.toml` this module reads; the IAM model reads and checks the rest.
#[derive(Deserialize)]
struct TenantFile {
    #[serde(default)]
    deployment: Deployment,
}

impl Deployment {
    /// Reads the `[deployment]` table of a tenant's `warden.toml` (absent: every setting at its
    /// default), or says what is wrong with it, where.
    pub fn read(config: &SourceFile) -> Result<Deployment, Box<Diagnostic>> {
        toml::from_str::<TenantFile>(&config.text).map(|file| file.deployment).map_err(|error| {
            Box::new(invalid_config(
                &error,
                "the [deployment] table takes token_limit, token_prefix, propagation_seconds and database",
            ))
        })
    }

    /// These settings over the defaults.
    pub fn settings(&self) -> Settings {
        let defaults = Settings::default();
        Settings {
            limit: self.token_limit.unwrap_or(defaults.limit),
            prefix: self.token_prefix.clone().unwrap_or(defaults.prefix),
            propagation: self.propagation_seconds.map_or(defaults.propagation, Duration::seconds),
        }
    }
}
