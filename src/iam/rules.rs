//! The tenant rules: problems found when a tenant directory is loaded (decisions D9, D13).
//! Any of them refuses the tenant.

use crate::diagnostic::{Rule, Severity::*, rule};

rule!(
    INVALID_CONFIG,
    "E0601",
    "invalid-tenant-file",
    Error,
    "warden.toml is not valid TOML or has fields of the wrong type."
);
rule!(
    DUPLICATE_ID,
    "E0602",
    "duplicate-id",
    Error,
    "Two environments, users, service users, groups, boundaries or policies with one id."
);
rule!(
    UNKNOWN_MEMBER,
    "E0603",
    "unknown-member",
    Error,
    "A group member that is no user or service user of the tenant."
);
rule!(UNKNOWN_POLICY, "E0604", "unknown-policy", Error, "A binding of a policy the tenant does not have.");
rule!(UNKNOWN_GROUP, "E0605", "unknown-group", Error, "A binding to a group the tenant does not have.");
rule!(UNKNOWN_BOUNDARY, "E0606", "unknown-boundary", Error, "A binding with a boundary the tenant does not have.");
rule!(
    UNKNOWN_LEVEL,
    "E0607",
    "unknown-level",
    Error,
    "A binding level other than `account` or `environment:<id>` of a known environment."
);
rule!(
    MISSING_PARAMETER,
    "E0608",
    "missing-parameter",
    Error,
    "A placeholder of the bound policy that the binding gives no value."
);
rule!(
    UNUSED_PARAMETER,
    "E0609",
    "unused-parameter",
    Error,
    "A binding parameter that no placeholder of the policy uses."
);
rule!(
    LIST_PARAMETER,
    "E0610",
    "list-parameter-position",
    Error,
    "A list parameter where the policy has room for one value only."
);

pub static ALL: [&Rule; 10] = [
    &INVALID_CONFIG,
    &DUPLICATE_ID,
    &UNKNOWN_MEMBER,
    &UNKNOWN_POLICY,
    &UNKNOWN_GROUP,
    &UNKNOWN_BOUNDARY,
    &UNKNOWN_LEVEL,
    &MISSING_PARAMETER,
    &UNUSED_PARAMETER,
    &LIST_PARAMETER,
];
