//! Storage for tokens: [`SqliteStore`] implements [`crate::token::TokenStore`] on an embedded
//! SQLite file (WAL mode, versioned migrations, one transaction per operation).

mod sqlite;

pub use sqlite::SqliteStore;
