//! Decision tables for the evaluator, written out from semantics.md §5 ("Conditions on
//! list-valued attributes", "Global conditions") and decisions D12, D14, D16, D17.
//!
//! The first table crosses every operator of `storage:bucket-name` (S7 on `storage:logs:read`)
//! with the shapes an attribute can take in a request, once as an ALLOW alone and once as a
//! DENY next to an unconditional ALLOW of the same permission. The second table covers the
//! `global:` keys: typed time comparisons at fixed request times, the environment and the
//! principal's groups.

use crate::support::tenant_files;
use chrono::{DateTime, Utc};
use warden::catalog::Catalog;
use warden::eval::{AttrValue, Decision, Engine, Request};
use warden::iam::load;

/// The kind of a decision, as the tables write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum D {
    /// Allow.
    Allow,
    /// An explicit Deny (a DENY is True).
    Deny,
    /// Nothing allows it (implicit deny).
    NoMatch,
    /// Conditional, with a residual.
    Cond,
}
use D::*;

fn kind(decision: &Decision) -> D {
    match decision {
        Decision::Allow { .. } => Allow,
        Decision::Deny { .. } => Deny,
        Decision::NoMatch => NoMatch,
        Decision::Conditional { .. } => Cond,
    }
}

/// An attribute in a request.
#[derive(Debug, Clone, Copy)]
enum A {
    Absent,
    One(&'static str),
    List(&'static [&'static str]),
}

const CONFIG: &str = r#"
[account]
id = "acme"

[[environment]]
id = "prod"

[[environment]]
id = "dev"

[[user]]
id = "00000000-0000-4000-8000-00000000000a"
email = "alice@acme.example"

[[user]]
id = "00000000-0000-4000-8000-00000000000b"
email = "bob@acme.example"

[[user]]
id = "00000000-0000-4000-8000-00000000000c"
email = "carol@acme.example"

[[group]]
id = "sre"
members = ["alice@acme.example", "carol@acme.example"]

[[group]]
id = "ops"
members = ["bob@acme.example", "carol@acme.example"]

[[binding]]
policy = "table"
groups = ["sre", "ops"]
level = "account"
"#;

/// Loads the tenant with `policy` bound at account level to both groups.
fn engine(policy: &str) -> Engine {
    let files = tenant_files(CONFIG, &[("table", policy)], &[]);
    let loaded = load(&files, Catalog::builtin());
    let Some(tenant) = loaded.tenant else {
        panic!("the tenant was refused for\n{policy}\n{:#?}", loaded.findings);
    };
    Engine::new(tenant, Catalog::builtin())
}

fn time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("an RFC 3339 time").with_timezone(&Utc)
}

/// One request against `policy`: its decision kind and residual text.
struct Ask<'a> {
    user: &'a str,
    environment: Option<&'a str>,
    at: &'a str,
    attribute: (&'a str, A),
}

fn decide(policy: &str, ask: &Ask<'_>) -> (D, Option<String>) {
    let engine = engine(policy);
    let principal = engine.tenant().find_user(ask.user).expect("a user of the tenant");
    let mut request = Request::new(principal, "storage:logs:read").at(time(ask.at));
    if let Some(environment) = ask.environment {
        request = request.in_environment(environment);
    }
    let (key, value) = ask.attribute;
    match value {
        A::Absent => {}
        A::One(v) => {
            request.attributes.insert(key.to_string(), AttrValue::One(v.to_string()));
        }
        A::List(vs) => {
            request.attributes.insert(key.to_string(), AttrValue::Many(vs.iter().map(|v| v.to_string()).collect()));
        }
    }
    let query = engine.query(&request).expect("a valid request");
    let decision = engine.evaluate(&query);
    (kind(&decision), engine.residual_text(&query, &decision))
}

// ---------------------------------------------------------------------------------------------
// Table 1: operators × attribute shapes.
// ---------------------------------------------------------------------------------------------

const BUCKET: &str = "storage:bucket-name";
const MATCHING: A = A::One("logs");
const OTHER: A = A::One("spans");
const LIST_ONE: A = A::List(&["spans", "logs"]);
const LIST_NONE: A = A::List(&["spans", "metrics"]);
const EMPTY: A = A::List(&[]);

/// (condition on `storage:bucket-name`, attribute, `ALLOW … WHERE cond` alone,
/// `DENY … WHERE cond` next to `ALLOW storage:logs:read;`).
///
/// Each condition's positive form holds for "logs" and for no other value used here. Positive
/// operators hold when some element satisfies them; negative ones when no element satisfies
/// the positive form (so an empty list satisfies every negative and no positive condition). An
/// absent attribute is Unknown: the ALLOW is Conditional, and so is the DENY beside a true ALLOW.
#[rustfmt::skip]
const OPERATORS: &[(&str, A, D, D)] = &[
    // condition                            attribute    ALLOW alone  DENY + ALLOW
    (r#"= "logs""#,                         MATCHING,    Allow,       Deny),
    (r#"= "logs""#,                         OTHER,       NoMatch,     Allow),
    (r#"= "logs""#,                         A::Absent,   Cond,        Cond),
    (r#"= "logs""#,                         LIST_ONE,    Allow,       Deny),
    (r#"= "logs""#,                         LIST_NONE,   NoMatch,     Allow),
    (r#"= "logs""#,                         EMPTY,       NoMatch,     Allow),

    (r#"!= "logs""#,                        MATCHING,    NoMatch,     Allow),
    (r#"!= "logs""#,                        OTHER,       Allow,       Deny),
    (r#"!= "logs""#,                        A::Absent,   Cond,        Cond),
    (r#"!= "logs""#,                        LIST_ONE,    NoMatch,     Allow),
    (r#"!= "logs""#,                        LIST_NONE,   Allow,       Deny),
    (r#"!= "logs""#,                        EMPTY,       Allow,       Deny),

    (r#"IN ("logs", "audit")"#,             MATCHING,    Allow,       Deny),
    (r#"IN ("logs", "audit")"#,             OTHER,       NoMatch,     Allow),
    (r#"IN ("logs", "audit")"#,             A::Absent,   Cond,        Cond),
    (r#"IN ("logs", "audit")"#,             LIST_ONE,    Allow,       Deny),
    (r#"IN ("logs", "audit")"#,             LIST_NONE,   NoMatch,     Allow),
    (r#"IN ("logs", "audit")"#,             EMPTY,       NoMatch,     Allow),

    (r#"NOT IN ("logs", "audit")"#,         MATCHING,    NoMatch,     Allow),
    (r#"NOT IN ("logs", "audit")"#,         OTHER,       Allow,       Deny),
    (r#"NOT IN ("logs", "audit")"#,         A::Absent,   Cond,        Cond),
    (r#"NOT IN ("logs", "audit")"#,         LIST_ONE,    NoMatch,     Allow),
    (r#"NOT IN ("logs", "audit")"#,         LIST_NONE,   Allow,       Deny),
    (r#"NOT IN ("logs", "audit")"#,         EMPTY,       Allow,       Deny),

    (r#"startsWith "lo""#,                  MATCHING,    Allow,       Deny),
    (r#"startsWith "lo""#,                  OTHER,       NoMatch,     Allow),
    (r#"startsWith "lo""#,                  A::Absent,   Cond,        Cond),
    (r#"startsWith "lo""#,                  LIST_ONE,    Allow,       Deny),
    (r#"startsWith "lo""#,                  LIST_NONE,   NoMatch,     Allow),
    (r#"startsWith "lo""#,                  EMPTY,       NoMatch,     Allow),

    (r#"NOT startsWith "lo""#,              MATCHING,    NoMatch,     Allow),
    (r#"NOT startsWith "lo""#,              OTHER,       Allow,       Deny),
    (r#"NOT startsWith "lo""#,              A::Absent,   Cond,        Cond),
    (r#"NOT startsWith "lo""#,              LIST_ONE,    NoMatch,     Allow),
    (r#"NOT startsWith "lo""#,              LIST_NONE,   Allow,       Deny),
    (r#"NOT startsWith "lo""#,              EMPTY,       Allow,       Deny),

    (r#"MATCH ("l*s", "x\*")"#,             MATCHING,    Allow,       Deny),
    (r#"MATCH ("l*s", "x\*")"#,             OTHER,       NoMatch,     Allow),
    (r#"MATCH ("l*s", "x\*")"#,             A::Absent,   Cond,        Cond),
    (r#"MATCH ("l*s", "x\*")"#,             LIST_ONE,    Allow,       Deny),
    (r#"MATCH ("l*s", "x\*")"#,             LIST_NONE,   NoMatch,     Allow),
    (r#"MATCH ("l*s", "x\*")"#,             EMPTY,       NoMatch,     Allow),
];

/// `MATCH` details (language.md §3, decisions D5): the whole value must match, `*` matches any
/// run (also empty), `\*` is a literal star. Rows: (patterns, value, ALLOW alone).
#[rustfmt::skip]
const PATTERNS: &[(&str, &str, D)] = &[
    (r#"("l*s")"#,        "ls",      Allow),   // `*` matches the empty run
    (r#"("l*s")"#,        "logsx",   NoMatch), // the whole value must match
    (r#"("l*s")"#,        "xlogs",   NoMatch),
    (r#"("*")"#,          "",        Allow),
    (r#"("a*b*a")"#,      "aba",     Allow),
    (r#"("a*b*a")"#,      "ab",      NoMatch),
    (r#"("x\*")"#,        "x*",      Allow),   // `\*` is a star
    (r#"("x\*")"#,        "xy",      NoMatch),
    (r#"("x\\*")"#,       r"x\yz",   Allow),   // `\\` is a backslash, then a wildcard
    (r#"("Logs")"#,       "logs",    NoMatch), // case-sensitive
];

const NOON: &str = "2026-05-04T12:00:00Z";

fn ask(attribute: A) -> Ask<'static> {
    Ask { user: "alice@acme.example", environment: Some("prod"), at: NOON, attribute: (BUCKET, attribute) }
}

#[test]
fn operators_on_single_and_list_valued_attributes() {
    let mut failures = Vec::new();
    for &(condition, attribute, allow_alone, deny_beside_allow) in OPERATORS {
        let allow = format!("ALLOW storage:logs:read WHERE {BUCKET} {condition};\n");
        let deny = format!("ALLOW storage:logs:read;\nDENY storage:logs:read WHERE {BUCKET} {condition};\n");
        for (policy, expected) in [(allow, allow_alone), (deny, deny_beside_allow)] {
            let (got, residual) = decide(&policy, &ask(attribute));
            if got != expected {
                failures.push(format!("{policy}  with {attribute:?}: expected {expected:?}, got {got:?}"));
            }
            // D12: a residual exactly for Conditional decisions.
            if (got == Cond) != residual.is_some() {
                failures.push(format!("{policy}  with {attribute:?}: {got:?} with residual {residual:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows disagree:\n{}",
        failures.len(),
        2 * OPERATORS.len(),
        failures.join("\n")
    );
}

#[test]
fn match_patterns() {
    let mut failures = Vec::new();
    for &(patterns, value, expected) in PATTERNS {
        let policy = format!("ALLOW storage:logs:read WHERE {BUCKET} MATCH {patterns};\n");
        let (got, _) = decide(&policy, &ask(A::One(value)));
        if got != expected {
            failures.push(format!("MATCH {patterns} on {value:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// D12: the residual keeps the Unknown conditions (those known to hold are removed), and a
/// DENY that may hold stays beside the ALLOW that holds.
#[test]
fn residuals_of_absent_attributes() {
    #[rustfmt::skip]
    let rows: &[(&str, &str)] = &[
        (
            "ALLOW storage:logs:read WHERE storage:bucket-name = \"logs\";",
            "ALLOW storage:logs:read WHERE storage:bucket-name = \"logs\";\n",
        ),
        (
            "ALLOW storage:logs:read WHERE storage:bucket-name NOT IN (\"logs\", \"audit\");",
            "ALLOW storage:logs:read WHERE storage:bucket-name NOT IN (\"logs\", \"audit\");\n",
        ),
        (
            "ALLOW storage:logs:read;\nDENY storage:logs:read WHERE storage:bucket-name MATCH (\"l*s\", \"x\\*\");",
            "ALLOW storage:logs:read;\nDENY storage:logs:read WHERE storage:bucket-name MATCH (\"l*s\", \"x\\*\");\n",
        ),
        // The condition on the present attribute holds and is dropped; the other stays.
        (
            "ALLOW storage:logs:read WHERE storage:host.name = \"h1\" AND storage:bucket-name startsWith \"lo\";",
            "ALLOW storage:logs:read WHERE storage:bucket-name startsWith \"lo\";\n",
        ),
        // A statement with a false condition is gone from the residual.
        (
            "ALLOW storage:logs:read WHERE storage:host.name = \"h2\";\nALLOW storage:logs:read WHERE storage:bucket-name != \"logs\";",
            "ALLOW storage:logs:read WHERE storage:bucket-name != \"logs\";\n",
        ),
    ];
    for &(policy, expected) in rows {
        let engine = engine(policy);
        let alice = engine.tenant().find_user("alice@acme.example").unwrap();
        let mut request = Request::new(alice, "storage:logs:read").in_environment("prod").at(time(NOON));
        request.attribute("storage:host.name", "h1");
        let query = engine.query(&request).unwrap();
        let decision = engine.evaluate(&query);
        assert_eq!(kind(&decision), Cond, "{policy}");
        assert_eq!(engine.residual_text(&query, &decision).as_deref(), Some(expected), "{policy}");
    }
}

// ---------------------------------------------------------------------------------------------
// Table 2: the global keys.
// ---------------------------------------------------------------------------------------------

/// One row: a policy (on `storage:logs:read`), who asks, in which environment, when, with
/// which bucket attribute, the decision and — for some Conditional rows — the residual.
struct Row {
    policy: &'static str,
    user: &'static str,
    environment: Option<&'static str>,
    at: &'static str,
    bucket: A,
    expected: D,
    residual: Option<&'static str>,
}

const fn row(
    policy: &'static str,
    user: &'static str,
    environment: Option<&'static str>,
    at: &'static str,
    bucket: A,
    expected: D,
) -> Row {
    Row { policy, user, environment, at, bucket, expected, residual: None }
}

const ALICE: &str = "alice@acme.example"; // groups: sre
const BOB: &str = "bob@acme.example"; // groups: ops
const CAROL: &str = "carol@acme.example"; // groups: sre, ops
const PROD: Option<&str> = Some("prod");
const DEV: Option<&str> = Some("dev");
const NO_ENV: Option<&str> = None;
const NONE: A = A::Absent;

#[rustfmt::skip]
const GLOBALS: &[Row] = &[
    // --- global:time-of-day: the request's time in the value's zone (+01:00: 15:30Z is 16:30).
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day < "17:00+01:00";"#, ALICE, PROD, "2026-05-04T15:30:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day < "17:00+01:00";"#, ALICE, PROD, "2026-05-04T16:30:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day > "17:00+01:00";"#, ALICE, PROD, "2026-05-04T15:30:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day > "17:00+01:00";"#, ALICE, PROD, "2026-05-04T16:30:00Z", NONE, Allow),
    // Exactly 17:00 local: neither before nor after (compared to the second, D17).
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day < "17:00+01:00";"#, ALICE, PROD, "2026-05-04T16:00:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day > "17:00+01:00";"#, ALICE, PROD, "2026-05-04T16:00:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day > "17:00+01:00";"#, ALICE, PROD, "2026-05-04T16:00:01Z", NONE, Allow),
    // The zone crosses midnight: 23:45Z is 00:45 the next day at +01:00.
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day < "01:00+01:00";"#, ALICE, PROD, "2026-05-04T23:45:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day > "09:00-05:00";"#, ALICE, PROD, "2026-05-04T14:30:00Z", NONE, Allow), // 09:30 at -05:00
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day > "09:00-05:00";"#, ALICE, PROD, "2026-05-04T13:59:59Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day > "09:00-05:00";"#, ALICE, PROD, "2026-05-04T12:30:00Z", NONE, NoMatch),
    // A window is two conditions.
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day > "09:00Z" AND global:time-of-day < "17:00Z";"#, ALICE, PROD, "2026-05-04T12:00:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:time-of-day > "09:00Z" AND global:time-of-day < "17:00Z";"#, ALICE, PROD, "2026-05-04T18:00:00Z", NONE, NoMatch),

    // --- global:date: the request's date in the value's zone.
    row(r#"ALLOW storage:logs:read WHERE global:date < "2026-05-04Z";"#, ALICE, PROD, "2026-05-03T23:00:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:date < "2026-05-04Z";"#, ALICE, PROD, "2026-05-04T00:00:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:date < "2026-05-04+02:00";"#, ALICE, PROD, "2026-05-03T23:00:00Z", NONE, NoMatch), // 01:00 on the 4th at +02:00
    row(r#"ALLOW storage:logs:read WHERE global:date = "2026-05-04Z";"#, ALICE, PROD, "2026-05-04T23:59:59Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:date = "2026-05-04Z";"#, ALICE, PROD, "2026-05-05T00:00:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:date = "2026-05-04+02:00";"#, ALICE, PROD, "2026-05-03T23:00:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:date = "2026-05-04+02:00";"#, ALICE, PROD, "2026-05-03T21:00:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:date > "2026-05-04-05:00";"#, ALICE, PROD, "2026-05-05T04:00:00Z", NONE, NoMatch), // 23:00 on the 4th at -05:00
    row(r#"ALLOW storage:logs:read WHERE global:date > "2026-05-04-05:00";"#, ALICE, PROD, "2026-05-05T05:00:00Z", NONE, Allow),

    // --- global:date-time: instants, to the second (D17).
    row(r#"ALLOW storage:logs:read WHERE global:date-time > "2026-05-03T05:00:00+01:00";"#, ALICE, PROD, "2026-05-03T04:00:01Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:date-time > "2026-05-03T05:00:00+01:00";"#, ALICE, PROD, "2026-05-03T04:00:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:date-time > "2026-05-03T05:00:00+01:00";"#, ALICE, PROD, "2026-05-03T03:59:59Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:date-time < "2026-05-03T05:00:00+01:00";"#, ALICE, PROD, "2026-05-03T03:59:59Z", NONE, Allow),

    // --- global:week-day: any case, judged in UTC (D17). 2026-05-04 is a Monday.
    row(r#"ALLOW storage:logs:read WHERE global:week-day = "Monday";"#, ALICE, PROD, "2026-05-04T10:00:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:week-day = "monday";"#, ALICE, PROD, "2026-05-04T10:00:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:week-day = "MONDAY";"#, ALICE, PROD, "2026-05-04T00:00:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:week-day = "Monday";"#, ALICE, PROD, "2026-05-03T23:30:00Z", NONE, NoMatch), // Sunday in UTC
    row(r#"ALLOW storage:logs:read WHERE global:week-day != "Sunday";"#, ALICE, PROD, "2026-05-03T23:30:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:week-day != "Sunday";"#, ALICE, PROD, "2026-05-04T00:30:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:week-day IN ("saturday", "Sunday");"#, ALICE, PROD, "2026-05-03T23:30:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:week-day IN ("saturday", "Sunday");"#, ALICE, PROD, "2026-05-04T00:30:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:week-day NOT IN ("Saturday", "sunday");"#, ALICE, PROD, "2026-05-04T00:30:00Z", NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:week-day NOT IN ("Saturday", "sunday");"#, ALICE, PROD, "2026-05-02T12:00:00Z", NONE, NoMatch),
    row(r#"ALLOW storage:logs:read; DENY storage:logs:read WHERE global:week-day IN ("Saturday", "Sunday");"#, ALICE, PROD, "2026-05-02T12:00:00Z", NONE, Deny),
    row(r#"ALLOW storage:logs:read; DENY storage:logs:read WHERE global:week-day IN ("Saturday", "Sunday");"#, ALICE, PROD, "2026-05-04T12:00:00Z", NONE, Allow),

    // --- global:environmentId: Unknown without an environment (D16).
    row(r#"ALLOW storage:logs:read WHERE global:environmentId = "prod";"#, ALICE, PROD, NOON, NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:environmentId = "prod";"#, ALICE, DEV, NOON, NONE, NoMatch),
    Row { residual: Some("ALLOW storage:logs:read WHERE global:environmentId = \"prod\";\n"),
        ..row(r#"ALLOW storage:logs:read WHERE global:environmentId = "prod";"#, ALICE, NO_ENV, NOON, NONE, Cond) },
    row(r#"ALLOW storage:logs:read WHERE global:environmentId != "prod";"#, ALICE, PROD, NOON, NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:environmentId != "prod";"#, ALICE, DEV, NOON, NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:environmentId != "prod";"#, ALICE, NO_ENV, NOON, NONE, Cond),
    row(r#"ALLOW storage:logs:read WHERE global:environmentId IN ("dev", "test");"#, ALICE, DEV, NOON, NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:environmentId NOT IN ("dev", "test");"#, ALICE, DEV, NOON, NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:environmentId NOT IN ("dev", "test");"#, ALICE, PROD, NOON, NONE, Allow),
    // A DENY that is Unknown beside a true ALLOW: Conditional; the residual keeps both.
    Row { residual: Some("ALLOW storage:logs:read;\nDENY storage:logs:read WHERE global:environmentId = \"prod\";\n"),
        ..row(r#"ALLOW storage:logs:read; DENY storage:logs:read WHERE global:environmentId = "prod";"#, ALICE, NO_ENV, NOON, NONE, Cond) },
    row(r#"ALLOW storage:logs:read; DENY storage:logs:read WHERE global:environmentId = "prod";"#, ALICE, PROD, NOON, NONE, Deny),
    row(r#"ALLOW storage:logs:read; DENY storage:logs:read WHERE global:environmentId = "prod";"#, ALICE, DEV, NOON, NONE, Allow),
    // An environment condition that holds is dropped; the bucket condition remains.
    Row { residual: Some("ALLOW storage:logs:read WHERE storage:bucket-name = \"logs\";\n"),
        ..row(r#"ALLOW storage:logs:read WHERE global:environmentId = "prod" AND storage:bucket-name = "logs";"#, ALICE, PROD, NOON, NONE, Cond) },

    // --- global:userGroup: membership, by group id (D14).
    row(r#"ALLOW storage:logs:read WHERE global:userGroup = "sre";"#, ALICE, PROD, NOON, NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:userGroup = "sre";"#, BOB, PROD, NOON, NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:userGroup = "sre";"#, CAROL, PROD, NOON, NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:userGroup = "sre";"#, ALICE, NO_ENV, NOON, NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:userGroup != "sre";"#, ALICE, PROD, NOON, NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:userGroup != "sre";"#, BOB, PROD, NOON, NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:userGroup != "sre";"#, CAROL, PROD, NOON, NONE, NoMatch), // one of carol's groups is sre
    row(r#"ALLOW storage:logs:read WHERE global:userGroup IN ("ops", "x");"#, BOB, PROD, NOON, NONE, Allow),
    row(r#"ALLOW storage:logs:read WHERE global:userGroup NOT IN ("ops", "x");"#, CAROL, PROD, NOON, NONE, NoMatch),
    row(r#"ALLOW storage:logs:read WHERE global:userGroup NOT IN ("ops", "x");"#, ALICE, PROD, NOON, NONE, Allow),

    // --- ${global:userGroup} as a whole list element: the principal's group ids.
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name IN ("${global:userGroup}");"#, ALICE, PROD, NOON, A::One("sre"), Allow),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name IN ("${global:userGroup}");"#, ALICE, PROD, NOON, A::One("ops"), NoMatch),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name IN ("${global:userGroup}");"#, BOB, PROD, NOON, A::One("ops"), Allow),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name IN ("${global:userGroup}");"#, CAROL, PROD, NOON, A::One("ops"), Allow),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name IN ("${global:userGroup}");"#, ALICE, PROD, NOON, A::List(&["x", "sre"]), Allow),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name IN ("${global:userGroup}");"#, ALICE, PROD, NOON, A::List(&[]), NoMatch),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name IN ("${global:userGroup}");"#, ALICE, PROD, NOON, NONE, Cond),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name IN ("shared", "${global:userGroup}");"#, BOB, PROD, NOON, A::One("shared"), Allow),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name NOT IN ("${global:userGroup}");"#, ALICE, PROD, NOON, A::One("sre"), NoMatch),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name NOT IN ("${global:userGroup}");"#, ALICE, PROD, NOON, A::One("ops"), Allow),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name NOT IN ("${global:userGroup}");"#, CAROL, PROD, NOON, A::List(&["x", "ops"]), NoMatch),
    row(r#"ALLOW storage:logs:read WHERE storage:bucket-name MATCH ("${global:userGroup}");"#, BOB, PROD, NOON, A::One("ops"), Allow),
    row(r#"ALLOW storage:logs:read; DENY storage:logs:read WHERE storage:bucket-name IN ("${global:userGroup}");"#, ALICE, PROD, NOON, A::One("sre"), Deny),
    row(r#"ALLOW storage:logs:read; DENY storage:logs:read WHERE storage:bucket-name IN ("${global:userGroup}");"#, ALICE, PROD, NOON, A::One("ops"), Allow),
];

#[test]
fn global_keys() {
    let mut failures = Vec::new();
    for r in GLOBALS {
        let ask = Ask { user: r.user, environment: r.environment, at: r.at, attribute: (BUCKET, r.bucket) };
        let (got, residual) = decide(r.policy, &ask);
        let context =
            format!("{}\n  as {} in {:?} at {} with bucket {:?}", r.policy, r.user, r.environment, r.at, r.bucket);
        if got != r.expected {
            failures.push(format!("{context}: expected {:?}, got {got:?}", r.expected));
        } else if r.residual.is_some() && residual.as_deref() != r.residual {
            failures.push(format!("{context}: expected residual {:?}, got {residual:?}", r.residual));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows disagree:\n{}", failures.len(), GLOBALS.len(), failures.join("\n\n"));
}

/// Time comparisons are to the second (D17): a request time a fraction of a second after the
/// value's instant is not after it.
///
/// Engine disagreement: `global:date-time` compares the request time with its nanoseconds
/// (src/eval/value.rs `compare_one`), so this ALLOW holds during the whole second 04:00:00Z.
#[test]
fn date_time_compares_to_the_second() {
    let policy = r#"ALLOW storage:logs:read WHERE global:date-time > "2026-05-03T05:00:00+01:00";"#;
    let ask = Ask { user: ALICE, environment: PROD, at: "2026-05-03T04:00:00.500Z", attribute: (BUCKET, NONE) };
    assert_eq!(decide(policy, &ask).0, NoMatch, "04:00:00.5Z is 05:00:00 at +01:00, to the second");
}

#[test]
fn time_of_day_compares_to_the_second() {
    let policy = r#"ALLOW storage:logs:read WHERE global:time-of-day > "05:00+01:00";"#;
    let ask = Ask { user: ALICE, environment: PROD, at: "2026-05-03T04:00:00.500Z", attribute: (BUCKET, NONE) };
    assert_eq!(decide(policy, &ask).0, NoMatch, "04:00:00.5Z is 05:00:00 at +01:00, to the second");
}
