//! The policy language: tokens, the syntax tree and the canonical printer (`warden fmt`).
//! Knows nothing of the catalog or of evaluation.

pub mod ast;
pub mod error;
mod lexer;
mod parser;
mod printer;

pub use ast::*;
pub use parser::{MAX_BOUNDARY_CONDITIONS, MAX_STATEMENTS, Names, Parsed, parse, parse_sharing};
pub use printer::{condition as condition_text, format};
