//! The tenant rules: problems found when a tenant directory is loaded (decisions D9, D13), and
//! what its bindings grant unrestricted. Every error refuses the tenant. They are defined with the
//! checker's rules ([`crate::check::rules`]) so that every list of rules holds them.

pub use crate::check::rules::{
    BOUNDARY_DOES_NOT_APPLY, BOUNDARY_LIFTS_LIMITS, DUPLICATE_ID, INVALID_CONFIG, LIST_PARAMETER, MISSING_PARAMETER,
    TENANT as ALL, UNKNOWN_BOUNDARY, UNKNOWN_GROUP, UNKNOWN_LEVEL, UNKNOWN_MEMBER, UNKNOWN_POLICY, UNUSED_PARAMETER,
    UNWRITABLE_VALUE,
};
