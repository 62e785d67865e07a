//! Storage for tokens: [`SqliteStore`] implements [`crate::token::TokenStore`] on an embedded
//! SQLite file (WAL mode, versioned migrations, one transaction per operation).

#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
