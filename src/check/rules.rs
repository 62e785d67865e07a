//! The rules of the checker and the lints, with stable codes: `E01xx`/`W01xx` catalog validity,
//! `W02xx` redundancy, `W03xx`/`S03xx` logic, `S04xx`/`W04xx` style, `W05xx` boundaries, and the
//! tenant rules `E06xx`/`W06xx`/`S06xx` that loading a tenant reports (`crate::iam` finds them;
//! they are listed here so that every list of rules, SARIF's included, has them).

use crate::diagnostic::{Rule, Severity::*, rule};

rule!(UNKNOWN_PERMISSION, "E0101", "unknown-permission", Error, "A permission the catalog does not know.");
rule!(
    CASE_MISMATCH,
    "E0102",
    "case-mismatch",
    Error,
    "A permission or key written in another case than the catalog's; names are case-sensitive."
);
rule!(
    KEY_NOT_ACCEPTED,
    "E0103",
    "key-not-accepted",
    Error,
    "A condition key the permission does not accept (the platform rejects it)."
);
rule!(OPERATOR_NOT_ACCEPTED, "E0104", "operator-not-accepted", Error, "An operator the condition key does not accept.");
rule!(
    OPERAND_SHAPE,
    "E0105",
    "operand-shape",
    Error,
    "A list where the operator takes one value, or one value where it takes a list."
);
rule!(
    NO_CONDITIONS_ALLOWED,
    "E0106",
    "no-conditions-allowed",
    Error,
    "A WHERE on a permission that takes no conditions at all."
);
rule!(UNKNOWN_VALUE, "E0107", "unknown-value", Error, "A value outside the key's enumerated values.");
rule!(
    INVALID_GLOBAL_VALUE,
    "E0108",
    "invalid-global-value",
    Error,
    "A date, time or week day that does not parse, or lacks its zone."
);
rule!(
    LIST_PLACEHOLDER,
    "E0109",
    "list-placeholder-position",
    Error,
    "A list placeholder outside a whole element of an IN, NOT IN or MATCH list."
);
rule!(UNKNOWN_KEY, "E0110", "unknown-key", Error, "A condition key that no permission of the catalog accepts.");
rule!(
    KEY_ACCEPTED_BY_SOME,
    "W0111",
    "unrestricted-by-condition",
    SecurityWarning,
    "A condition whose key only some permissions of the statement accept: it does not restrict the others."
);
rule!(DUPLICATE_PERMISSION, "W0201", "duplicate-permission", Warning, "The same permission twice in one statement.");
rule!(
    REPEATED_STATEMENT,
    "W0202",
    "repeated-statement",
    Warning,
    "A statement that repeats an earlier one of the same policy."
);
rule!(
    OVERRIDDEN_ALLOW,
    "W0203",
    "overridden-allow",
    Warning,
    "An ALLOW that a DENY of the same policy always overrides."
);
rule!(DUPLICATE_VALUE, "W0204", "duplicate-value", Warning, "The same value twice in one list.");
rule!(
    CONTRADICTION,
    "W0301",
    "contradictory-conditions",
    Warning,
    "Conditions that cannot all hold: the statement never applies."
);
rule!(WHERE_NULL, "S0302", "where-null", Suggestion, "`WHERE null` means the same as no WHERE.");
rule!(
    UNCONDITIONAL_DENY,
    "W0303",
    "unconditional-deny",
    Warning,
    "A DENY without conditions, which the platform's docs advise against."
);
rule!(
    MATCH_WITHOUT_WILDCARD,
    "S0304",
    "match-without-wildcard",
    Suggestion,
    "A MATCH pattern without `*`, which `=` or `IN` says more plainly."
);
rule!(
    MATCHES_EVERYTHING,
    "W0305",
    "condition-matches-everything",
    SecurityWarning,
    "An ALLOW condition that every value satisfies, so it restricts nothing."
);
rule!(
    PADDED_VALUE,
    "W0306",
    "padded-value",
    Warning,
    "A value with leading or trailing spaces, which no id, name or key value has."
);
rule!(KEYWORD_CASE, "S0401", "keyword-case", Suggestion, "A keyword not written as the formatter prints it.");
rule!(
    STATEMENT_IN_COMMENT,
    "W0402",
    "statement-in-comment",
    Warning,
    "A comment that swallowed a statement, usually a lost line break."
);
rule!(
    UNKNOWN_SUPPRESSION,
    "W0403",
    "unknown-suppression",
    Warning,
    "A `warden:ignore` comment naming a code warden does not have."
);
rule!(
    REPEATED_BOUNDARY_KEY,
    "W0501",
    "repeated-boundary-key",
    Warning,
    "A boundary key on several lines: alternatives or all together, depending on the operator."
);

/// Every rule of the checks, in code order.
pub static ALL: [&Rule; 25] = [
    &UNKNOWN_PERMISSION,
    &CASE_MISMATCH,
    &KEY_NOT_ACCEPTED,
    &OPERATOR_NOT_ACCEPTED,
    &OPERAND_SHAPE,
    &NO_CONDITIONS_ALLOWED,
    &UNKNOWN_VALUE,
    &INVALID_GLOBAL_VALUE,
    &LIST_PLACEHOLDER,
    &UNKNOWN_KEY,
    &KEY_ACCEPTED_BY_SOME,
    &DUPLICATE_PERMISSION,
    &REPEATED_STATEMENT,
    &OVERRIDDEN_ALLOW,
    &DUPLICATE_VALUE,
    &CONTRADICTION,
    &WHERE_NULL,
    &UNCONDITIONAL_DENY,
    &MATCH_WITHOUT_WILDCARD,
    &MATCHES_EVERYTHING,
    &PADDED_VALUE,
    &KEYWORD_CASE,
    &STATEMENT_IN_COMMENT,
    &UNKNOWN_SUPPRESSION,
    &REPEATED_BOUNDARY_KEY,
];

// The tenant rules (decisions D9, D13): every error refuses the tenant; the warnings and notes
// are about what its bindings grant.
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

rule!(
    UNWRITABLE_VALUE,
    "E0613",
    "unwritable-value",
    Error,
    "An id or a bind-parameter value that policy text cannot hold (`${`, which would read as a placeholder, or a line break), though placeholders and residuals put it there."
);

rule!(
    BOUNDARY_LIFTS_LIMITS,
    "W0611",
    "boundary-lifts-limits",
    SecurityWarning,
    "A boundary that does not apply to a permission the binding grants, lifting the limit another boundary of the binding sets on it."
);
rule!(
    BOUNDARY_DOES_NOT_APPLY,
    "S0612",
    "boundary-does-not-apply",
    Suggestion,
    "A binding's boundaries restrict none of some permissions it grants: they accept none of the boundaries' keys."
);

/// The tenant rules, in code order.
pub static TENANT: [&Rule; 13] = [
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
    &UNWRITABLE_VALUE,
    &BOUNDARY_LIFTS_LIMITS,
    &BOUNDARY_DOES_NOT_APPLY,
];
