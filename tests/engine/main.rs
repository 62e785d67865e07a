//! The evaluator against what the specs say: decision tables, a reference evaluator on random
//! tenants, `eval::diff` against brute force, and the shared benchmark workload's expected
//! decisions; one test binary for them all.

#[path = "../support/mod.rs"]
mod support;

mod decision_table;
mod diff;
mod differential;
mod workload;
