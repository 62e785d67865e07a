//! Storage for tokens: implementations of [`crate::token::TokenStore`]. `SqliteStore` (feature
//! `sqlite`) keeps them in an embedded SQLite file (WAL mode, versioned migrations, one
//! transaction per operation).

#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
