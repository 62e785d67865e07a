//! Why a token database could not be named, opened, migrated or copied.

use thiserror::Error;

use crate::token::StoreError;

/// Why a database's schema does not fit this warden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SchemaError {
    /// Migrations this warden knows have not run on it.
    #[error("its schema is at version {found}; this warden needs version {known}")]
    Behind {
        /// The database's version.
        found: usize,
        /// The newest version this warden knows.
        known: usize,
    },
    /// A newer warden migrated it.
    #[error(
        "its schema is at version {found}, newer than this warden knows (version {known}); run a warden at least as new as the one that migrated it"
    )]
    Newer {
        /// The database's version.
        found: usize,
        /// The newest version this warden knows.
        known: usize,
    },
}

/// Where the name of a database came from: it decides whether it may hold a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, which other local users can read.
    Flag,
    /// An environment variable (`WARDEN_DB`).
    Environment,
    /// The tenant's `warden.toml`, which lives in git.
    TenantFile,
}

/// Why a database could not be named, opened, migrated or copied.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DatabaseError {
    /// The text names no database warden can open.
    #[error("`{text}` is not a database warden can open: {reason}")]
    InvalidName {
        /// What was given, its password cut out.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A password in a flag's value, which other local users can read.
    #[error(
        "a password on the command line is visible to other local users; put the whole URL in WARDEN_DB, or the password in PGPASSWORD or a PGPASSFILE"
    )]
    PasswordOnCommandLine,
    /// A password in the tenant's `warden.toml`.
    #[error(
        "warden.toml names a database with a password, and tenants live in git: remove it, and put it in WARDEN_DB, PGPASSWORD or a PGPASSFILE"
    )]
    PasswordInTenantFile,
    /// `postgres://` in a build without the `postgres` feature.
    #[error("this warden was built without PostgreSQL support (cargo feature `postgres`)")]
    NoPostgres,
    /// The schema does not fit this warden.
    #[error("the token database `{database}`: {error}")]
    Schema {
        /// The database, without its password.
        database: String,
        /// How it does not fit.
        error: SchemaError,
    },
    /// The database refused or failed.
    #[error("the token database `{database}`: {}", cause(error))]
    Store {
        /// The database, without its password.
        database: String,
        /// What went wrong.
        error: StoreError,
    },
    /// A copy whose destination does not read back as the source.
    #[error("the copy in `{to}` does not match `{from}`: {difference}; empty `{to}` before copying again")]
    CopyMismatch {
        /// The source, without its password.
        from: String,
        /// The destination, without its password.
        to: String,
        /// What differs.
        difference: String,
    },
    /// The operation needs something only PostgreSQL has.
    #[error("{0}")]
    Unsupported(String),
}

impl DatabaseError {
    /// The store's failure, if that is what this is.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            DatabaseError::Store { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A store's failure after the database's name: without repeating that it is the database's.
fn cause(error: &StoreError) -> String {
    match error {
        StoreError::Database(message) => message.clone(),
        other => other.to_string(),
    }
}
