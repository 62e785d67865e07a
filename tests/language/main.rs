//! The language itself: the grammar's examples, and properties of the parser and the
//! formatter on generated policies; one test binary for both.

mod grammar;
mod properties;
