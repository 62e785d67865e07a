//! warden: the IAM policy language of the Dynatrace platform
//! (`ALLOW storage:logs:read WHERE storage:k8s.cluster.name = "prod";`) — parsed, checked
//! against a permission catalog, evaluated with an explanation of every decision — and a
//! platform-token service built on it.
//!
//! # Embedding
//!
//! A token service that only evaluates depends on the library alone:
//!
//! ```toml
//! [dependencies]
//! warden = { version = "0.1", default-features = false }
//! ```
//!
//! That is the language, the catalog, the checks, the IAM model, the evaluator and the token
//! rules over the synchronous [`TokenStore`] trait, with no async runtime, HTTP stack, C
//! compiler, command-line parser or readers of host formats. The features, all but
//! `test-util` on by default, add the rest:
//!
//! | feature | adds |
//! |---|---|
//! | `sqlite` | `store::SqliteStore`, a [`TokenStore`] on an embedded SQLite file |
//! | `postgres` | `store::PostgresStore`, a [`TokenStore`] that several instances share (TLS through rustls); implies `sqlite` |
//! | `server` | `server`, the HTTP service of `warden serve` (axum, hyper, tokio) over any store |
//! | `iac` | policies read from Terraform, monaco/Crossplane/dtiam YAML and IAM JSON files, and such modules and projects as tenants |
//! | `cli` | the `warden` binary; implies `server` and `sqlite` |
//! | `test-util` | `token::ManualClock`, a clock that moves only when told, for tests |
//!
//! # Example
//!
//! Load a tenant, compile it once, then ask:
//!
//! ```
//! use warden::{Catalog, Decision, Engine, Request, SourceFile, TenantFiles};
//!
//! let files = TenantFiles {
//!     config: SourceFile::new("warden.toml", r#"
//!         [account]
//!         id = "acme"
//!         [[user]]
//!         id = "u-1"
//!         email = "alice@acme.example"
//!         [[group]]
//!         id = "sre"
//!         members = ["alice@acme.example"]
//!         [[binding]]
//!         policy = "logs"
//!         groups = ["sre"]
//!         level = "account"
//!     "#),
//!     policies: vec![SourceFile::new("policies/logs.policy",
//!         r#"ALLOW storage:logs:read WHERE storage:k8s.cluster.name = "prod";"#)],
//!     boundaries: vec![],
//! };
//! let loaded = warden::iam::load(&files, Catalog::builtin());
//! let tenant = loaded.tenant.expect("the tenant has no errors");
//! let alice = tenant.find_user("alice@acme.example").unwrap();
//! let engine = Engine::new(tenant, Catalog::builtin());
//!
//! let mut request = Request::new(alice, "storage:logs:read");
//! request.attribute("storage:k8s.cluster.name", "staging");
//! let query = engine.query(&request)?; // unknown names are errors, never a silent deny
//! let decision = engine.evaluate(&query);
//! assert_eq!(decision, Decision::NoMatch);
//! let why = engine.explain(&query, &decision); // the statement that came closest, and why not
//! assert_eq!(why.closest[0].failure, r#"`storage:k8s.cluster.name` is "staging""#);
//!
//! // A typo is an error that names what was meant.
//! let error = engine.query(&Request::new(alice, "storage:logs:raed")).unwrap_err();
//! assert_eq!(error.to_string(), "unknown permission `storage:logs:raed`; did you mean `storage:logs:read`?");
//! # Ok::<(), warden::RequestError>(())
//! ```
//!
//! A principal is a handle into the tenant it was looked up in: an engine refuses the handles
//! of another tenant, the same files loaded again included ([`RequestError::ForeignPrincipal`]).
//!
//! # The modules, lowest first
//!
//! Each uses only those above it (DESIGN.md, "Rooms").
//!
//! - [`diagnostic`]: one [`Diagnostic`] type for every finding and its three renderers (ariadne
//!   for people, JSON, SARIF); the did-you-mean of every unknown name.
//! - [`syntax`]: the lexer, with nom for its small pieces (names, strings, comments), and a
//!   hand-written recursive-descent parser that recovers at the next statement, so one pass
//!   reports every error; the tree with a byte span on every node; the canonical printer.
//! - [`host`]: the one directory walker of every command, and (feature `iac`) the readers of
//!   Terraform, YAML and JSON files that hold policies, each text mapped back to its host file.
//! - [`catalog`]: the permission vocabulary, the condition keys each permission takes, and the
//!   language's operators each key accepts.
//! - [`check`]: validation against the catalog and the lints, one file per family.
//! - [`iam`]: the model (account, environments, users, groups, policies, boundaries, bindings)
//!   and the loading of a tenant: a `warden.toml` directory, a Terraform module, a monaco
//!   project.
//! - [`eval`]: the [`Engine`] (statements indexed by permission), decisions with residuals,
//!   explanations down to the condition that failed, and [`eval::diff`], the exact comparison
//!   of two engines.
//! - [`token`]: token strings, the deployment's settings, the lifecycle rules and the check;
//!   rights come from the evaluator, scopes from the catalog's token services, storage
//!   through [`TokenStore`].
//! - `store`: [`TokenStore`] on SQLite (feature `sqlite`) and PostgreSQL (feature
//!   `postgres`). `server` (feature `server`): the HTTP service and its token pages. The
//!   command line (feature `cli`) is the binary's, not the library's.

#![warn(missing_docs)]

pub mod catalog;
pub mod check;
pub mod diagnostic;
pub mod eval;
pub mod host;
pub mod iam;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "sqlite")]
pub mod store;
pub mod syntax;
pub mod token;

pub use catalog::Catalog;
pub use diagnostic::{Diagnostic, SourceFile};
pub use eval::{Decision, Engine, Explanation, Request, RequestError};
pub use iam::{Principal, Tenant, TenantFiles};
pub use token::{TokenService, TokenStore};

/// The vector that holds a statement's permissions ([`syntax::ast::Statement::permissions`]), a
/// string's pieces ([`syntax::ast::StringLit::segments`]) and a finding's labels
/// ([`Diagnostic::labels`]): the first element inline, more on the heap, so that the usual one
/// costs no allocation. It derefs to a slice; build one with [`smallvec!`] or `collect()`.
pub use smallvec::{SmallVec, smallvec};

/// README.md's Rust example runs as a doc-test; its other blocks run in `tests/readme.rs`, whose
/// markers (`file=team.policy`) are not rustdoc's.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
#[allow(rustdoc::invalid_codeblock_attributes)]
pub struct ReadmeDoctests;
