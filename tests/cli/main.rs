//! The built binary, run as users run it: one module a family of commands, one test binary for
//! them all (linking one binary instead of four).

#[path = "../support/mod.rs"]
mod support;

mod diff;
mod lint;
mod test;
mod token;
