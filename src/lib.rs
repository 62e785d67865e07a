//! warden: a policy language and permission evaluator for IAM statements
//! (`ALLOW storage:logs:read WHERE …;`), and a platform-token service built on it.
//!
//! The modules follow the flow of DESIGN.md: [`syntax`] parses texts into a tree with spans,
//! [`catalog`] holds the permission vocabulary, [`check`] validates and lints, and
//! [`diagnostic`] renders every finding for people, for tools (JSON) and for code scanning (SARIF).

pub mod catalog;
pub mod check;
pub mod diagnostic;
pub mod eval;
pub mod iam;
pub mod server;
pub mod store;
pub mod syntax;
pub mod token;

/// README.md's Rust example runs as a doc-test; its other blocks run in `tests/readme.rs`, whose
/// markers (`file=team.policy`) are not rustdoc's.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
#[allow(rustdoc::invalid_codeblock_attributes)]
pub struct ReadmeDoctests;
