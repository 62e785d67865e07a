//! Storage for tokens: [`SqliteStore`] implements [`crate::token::TokenStore`] on an embedded
//! SQLite file (WAL mode, versioned migrations, one transaction per operation), and, with the
//! `postgres` feature, [`PostgresStore`] on a PostgreSQL server that several instances share.
//! [`Database`] names one of them as `--db` does; [`copy`] moves everything between two.

mod copy;
mod error;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

pub use copy::{Copied, copy, digest};
pub use error::{DatabaseError, Origin, SchemaError};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStore, PostgresUrl, TlsMode};
pub use sqlite::SqliteStore;

use crate::token::TokenStore;

/// What opening a database does with a schema older than this warden's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Refuse it: migrating is a separate step, done by a role that may change the schema.
    Expect,
    /// Bring it up to date first (`warden serve --migrate`, `warden db migrate`).
    Migrate,
}

/// A token database, as `--db` names it: a file path or `sqlite:PATH` for SQLite,
/// `postgres://…` (or `postgresql://…`) for PostgreSQL.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Database {
    /// An SQLite file, created on first use.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(Box<PostgresUrl>),
}

/// A migration's result: the schema version before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// The version found.
    pub from: usize,
    /// The version now, the newest this warden knows.
    pub to: usize,
}

impl Database {
    /// Reads a database's name. A password is taken only from the environment (`WARDEN_DB`):
    /// a flag's value is visible to other local users, and tenants live in git.
    pub fn parse(text: &str, origin: Origin) -> Result<Database, DatabaseError> {
        let scheme = text.split_once("://").map(|(scheme, _)| scheme).filter(|scheme| {
            scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)) && !scheme.is_empty()
        });
        match scheme {
            None => {
                let path = text.strip_prefix("sqlite:").unwrap_or(text);
                if path.is_empty() {
                    return Err(DatabaseError::InvalidName {
                        text: text.to_string(),
                        reason: "it names no file".into(),
                    });
                }
                Ok(Database::Sqlite(PathBuf::from(path)))
            }
            Some("postgres" | "postgresql") => Self::postgres(text, origin),
            Some(other) => Err(DatabaseError::InvalidName {
                text: redact_password(text),
                reason: format!(
                    "warden stores tokens in SQLite (a file path or `sqlite:PATH`) or PostgreSQL (`postgres://…`), not `{other}`"
                ),
            }),
        }
    }

    #[cfg(feature = "postgres")]
    fn postgres(text: &str, origin: Origin) -> Result<Database, DatabaseError> {
        let url = PostgresUrl::parse(text)?;
        match (url.has_password(), origin) {
            (true, Origin::Flag) => Err(DatabaseError::PasswordOnCommandLine),
            (true, Origin::TenantFile) => Err(DatabaseError::PasswordInTenantFile),
            _ => Ok(Database::Postgres(Box::new(url))),
        }
    }

    #[cfg(not(feature = "postgres"))]
    fn postgres(_: &str, _: Origin) -> Result<Database, DatabaseError> {
        Err(DatabaseError::NoPostgres)
    }

    /// Opens the database. SQLite is brought up to date whatever `schema` says (the file is
    /// warden's alone); PostgreSQL only with [`Schema::Migrate`]. A schema newer than this
    /// warden's is refused.
    #[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
    pub fn open(&self, schema: Schema) -> Result<Arc<dyn TokenStore>, DatabaseError> {
        match self {
            Database::Sqlite(path) => match SqliteStore::open(path) {
                Ok(store) => Ok(Arc::new(store)),
                Err(error) => Err(DatabaseError::Store { database: self.to_string(), error }),
            },
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => Ok(Arc::new(PostgresStore::open(url, schema)?)),
        }
    }

    /// Brings the schema up to date; with `grant`, gives that role what the service needs
    /// (PostgreSQL only): read and write tokens and accounts, append to the audit log.
    pub fn migrate(&self, grant: Option<&str>) -> Result<Migrated, DatabaseError> {
        match self {
            Database::Sqlite(path) => {
                if grant.is_some() {
                    return Err(DatabaseError::Unsupported(
                        "`--grant` is for PostgreSQL roles; an SQLite file has none".into(),
                    ));
                }
                let before = SqliteStore::version(path)
                    .map_err(|error| DatabaseError::Store { database: self.to_string(), error })?;
                self.open(Schema::Migrate)?;
                Ok(Migrated { from: before, to: SqliteStore::VERSION })
            }
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => PostgresStore::migrate(url, grant),
        }
    }
}

/// The name without a password: what messages and logs show.
impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => url.fmt(f),
        }
    }
}

/// A URL with the password of its user part, if any, cut out.
pub(crate) fn redact_password(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return text.to_string() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return text.to_string() };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_or_sqlite_prefix_is_sqlite() {
        for (text, path) in [("warden.db", "warden.db"), ("sqlite:/tmp/t.db", "/tmp/t.db"), ("./a:b.db", "./a:b.db")] {
            match Database::parse(text, Origin::Flag).unwrap() {
                Database::Sqlite(found) => assert_eq!(found, PathBuf::from(path)),
                #[cfg(feature = "postgres")]
                other => panic!("{text} opened {other}"),
            }
        }
        assert!(matches!(Database::parse("sqlite:", Origin::Flag), Err(DatabaseError::InvalidName { .. })));
    }

    #[test]
    fn other_schemes_are_named_and_their_password_cut() {
        let error = Database::parse("mysql://root:hunter2@db/x", Origin::Environment).unwrap_err().to_string();
        assert!(error.contains("not `mysql`"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn passwords_are_cut_from_urls() {
        assert_eq!(redact_password("postgres://u:p@h:1/d"), "postgres://u:***@h:1/d");
        assert_eq!(redact_password("postgres://u:p:q@h/d?x=@"), "postgres://u:***@h/d?x=@");
        assert_eq!(redact_password("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redact_password("postgres://h/d?user=a@b"), "postgres://h/d?user=a@b");
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn without_the_feature_postgres_is_refused_clearly() {
        let error = Database::parse("postgres://u@h/d", Origin::Flag).unwrap_err();
        assert!(matches!(error, DatabaseError::NoPostgres));
    }
}
