//! Platform tokens (spec/tokens.md): the token string, the lifecycle rules over a
//! [`TokenStore`], and the check of a bearer token against the evaluator.
//!
//! With the `sqlite` feature's store:
//!
//! ```
//! # #[cfg(feature = "sqlite")] fn main() {
//! use std::sync::Arc;
//! use warden::catalog::Catalog;
//! use warden::diagnostic::SourceFile;
//! use warden::eval::Engine;
//! use warden::iam::{TenantFiles, load};
//! use warden::store::SqliteStore;
//! use warden::token::{CheckReason, CheckRequest, NewToken, Settings, SystemClock, TokenService};
//!
//! let files = TenantFiles {
//!     config: SourceFile::new("warden.toml", r#"
//!         [account]
//!         id = "acme"
//!         [[user]]
//!         id = "u-alice"
//!         email = "alice@acme.example"
//!         [[group]]
//!         id = "devs"
//!         members = ["alice@acme.example"]
//!         [[binding]]
//!         policy = "devs"
//!         groups = ["devs"]
//!         level = "account"
//!     "#),
//!     policies: vec![SourceFile::new("policies/devs.policy",
//!         "ALLOW platform-token:tokens:write; ALLOW document:documents:read;")],
//!     boundaries: vec![],
//! };
//! let tenant = load(&files, Catalog::builtin()).tenant.expect("the tenant loads");
//! let alice = tenant.find_user("alice@acme.example").unwrap();
//! let engine = Engine::new(tenant, Catalog::builtin());
//! # let dir = tempfile::tempdir().unwrap();
//! let store = Arc::new(SqliteStore::open(&dir.path().join("tokens.db")).unwrap());
//! let service = TokenService::new(store, Arc::new(SystemClock), engine, Catalog::builtin(), Settings::default()).unwrap();
//!
//! let created = service
//!     .create(alice, NewToken { name: "docs reader".into(), scopes: vec!["document:documents:read".into()], ..Default::default() })
//!     .unwrap();
//! let header = format!("Bearer {}", created.secret.expose()); // shown this once
//! let request = CheckRequest { permission: "document:documents:read".into(), ..Default::default() };
//! let outcome = service.check(&header, &request).unwrap();
//! assert_eq!((outcome.status, outcome.reason), (200, CheckReason::Ok));
//! # }
//! # #[cfg(not(feature = "sqlite"))] fn main() {}
//! ```

mod actor;
mod admission;
mod cache;
mod check;
mod clock;
mod error;
mod pages;
mod reason;
mod record;
mod service;
mod settings;
mod store;
mod string;

pub use actor::{Actor, MANAGE_ALL, WRITE_OWN};
pub use admission::{MAX_NAME, MAX_OVERLAP, duplicate_name, printable};
pub use cache::Reload;
pub use check::{Caller, CheckRequest, Outcome, bearer};
#[cfg(feature = "test-util")]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use error::TokenError;
pub use reason::{CheckReason, Rule};
pub use record::{Owner, ShownStatus, Status, TokenRecord, TokenView};
pub use service::{Created, Duplication, NewToken, Rotation, TokenService};
pub use settings::{Deployment, MAX_PROPAGATION, Settings};
pub use store::{AuditEntry, Change, Invalidation, InvalidationListener, NOT_EMPTY, Snapshot, StoreError, TokenStore};
pub use string::{DEFAULT_PREFIX, Malformed, TokenDigest, TokenId, TokenSecret, parse, redact, scan, valid_prefix};
