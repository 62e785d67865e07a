//! The host rules: problems of the file a policy is kept in rather than of the policy text
//! (`E07xx`, `W07xx`, `S07xx`).

use crate::diagnostic::{Rule, Severity::*, rule};

rule!(
    INVALID_HOST_FILE,
    "E0701",
    "invalid-host-file",
    Error,
    "A Terraform, YAML or JSON file that does not parse, so its policies cannot be read."
);
rule!(
    SWALLOWED_LINE,
    "W0702",
    "block-scalar-swallowed-line",
    Warning,
    "A YAML block scalar that took in the next key because it is indented like the policy text."
);
rule!(
    QUOTED_IN_HOST,
    "E0703",
    "statement-in-literal-quotes",
    Error,
    "A policy written inside literal quotes within the host's string, so the quotes reach the platform."
);
rule!(
    TERRAFORM_INTERPOLATION,
    "E0704",
    "placeholder-interpolated-by-terraform",
    Error,
    "`${bindParam:…}` or `${global:…}` in Terraform text, which Terraform tries to interpolate; write `$${…}`."
);
rule!(
    NOT_CHECKED,
    "S0705",
    "not-checked",
    Suggestion,
    "A part of a policy that warden cannot resolve (a variable, a module input): it was linted around."
);
rule!(
    UNREADABLE_REFERENCE,
    "E0706",
    "unreadable-referenced-file",
    Error,
    "A `file()` or `templatefile()` whose file is missing, too large or not text."
);
rule!(
    MIXED_MONACO_FILE,
    "E0707",
    "mixed-monaco-file",
    Error,
    "A monaco file holding `configs` or `delete` beside account resources, which monaco refuses."
);
rule!(
    UNRESOLVED_REFERENCE,
    "E0710",
    "unresolved-reference",
    Error,
    "A reference a tenant needs but warden cannot resolve (a variable without a value, an unknown policy): the tenant is refused."
);
rule!(
    UNRESOLVED_REFERENCE_LINT,
    "W0711",
    "unresolved-reference-in-lint",
    Warning,
    "E0710 as `warden lint` reports it: loading this directory as a tenant would refuse it."
);

/// Every host rule, in code order.
pub static ALL: [&Rule; 9] = [
    &INVALID_HOST_FILE,
    &SWALLOWED_LINE,
    &QUOTED_IN_HOST,
    &TERRAFORM_INTERPOLATION,
    &NOT_CHECKED,
    &UNREADABLE_REFERENCE,
    &MIXED_MONACO_FILE,
    &UNRESOLVED_REFERENCE,
    &UNRESOLVED_REFERENCE_LINT,
];
