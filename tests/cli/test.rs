//! `warden test` as users run it: the example tenant's own cases pass; a failing case is shown
//! with the explanation of what it got; JUnit for dashboards; cases that cannot run say why.

use std::path::Path;

use crate::support::{TempDir, copy_dir, example_tenant, stderr, stdout, warden_in};

/// A copy of the example tenant without its tests, with these test files, in a scratch dir
/// (named `tenant` inside it, so the output's paths do not depend on the scratch dir).
fn tenant_with(tests: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new();
    let tenant = dir.join("tenant");
    copy_dir(example_tenant(), &tenant);
    std::fs::remove_dir_all(tenant.join("tests")).unwrap();
    std::fs::create_dir_all(tenant.join("tests")).unwrap();
    for (name, text) in tests {
        std::fs::write(tenant.join("tests").join(name), text).unwrap();
    }
    dir
}

#[test]
fn the_example_tenant_passes_its_own_cases() {
    let output = warden_in(Path::new("."), &["test", "policies/example"]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert!(text.lines().filter(|l| l.starts_with("ok ")).count() >= 20, "{text}");
    assert!(text.ends_with(" passed, 0 failed\n"), "{text}");
}

const CASES: &str = r#"
[[case]]
name = "bob reads his team's logs"
principal = "bob@acme.example"
permission = "storage:logs:read"
environment = "prod"
attributes = { "storage:k8s.namespace.name" = "team-payments", "storage:k8s.cluster.name" = "prod-eu-1" }
expect = "allow"

[[case]]
principal = "bob@acme.example"
permission = "storage:logs:read"
environment = "prod"
attributes = { "storage:k8s.namespace.name" = "team-payments", "storage:k8s.cluster.name" = "dev-eu-1" }
expect = "allow"

[[case]]
name = "the change window, with a TOML date-time"
principal = "alice@acme.example"
permission = "settings:objects:write"
environment = "prod"
at = 2026-05-05T09:30:00+01:00
expect = "allow"

[[case]]
name = "a list attribute: every element must avoid the DENY"
principal = "alice@acme.example"
permission = "storage:logs:read"
attributes = { "storage:k8s.namespace.name" = ["kube-system", "vault"] }
expect = "deny"
"#;

#[test]
fn a_failing_case_shows_the_explanation_of_what_it_got() {
    let dir = tenant_with(&[("logs.toml", CASES)]);
    let output = warden_in(&dir, &["test", "tenant"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("failing_case_human", stdout(&output));
}

#[test]
fn junit_counts_failures_and_errors_per_file() {
    let broken =
        "[[case]]\nprincipal = \"nobody@acme.example\"\npermission = \"storage:logs:read\"\nexpect = \"allow\"\n";
    let dir = tenant_with(&[("logs.toml", CASES), ("people.toml", broken)]);
    let output = warden_in(&dir, &["test", "tenant", "--format", "junit"]);
    // A case that cannot run makes it exit 2, after every other case ran.
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    insta::assert_snapshot!("junit", stdout(&output));
}

#[test]
fn what_cannot_run_says_why() {
    let cases = [
        (
            "[[case]]\nprincipal = \"bob@acme.example\"\npermission = \"storage:logs:read\"\nexpect = \"maybe\"\n",
            "unknown variant `maybe`",
        ),
        (
            "[[case]]\nprincipal = \"bob@acme.example\"\npermission = \"storage:logs:raed\"\nexpect = \"deny\"\n",
            "did you mean `storage:logs:read`?",
        ),
        (
            "[[case]]\nprincipal = \"bob@acme.example\"\npermission = \"storage:logs:read\"\nexpect = \"deny\"\nenvironment = \"prd\"\n",
            "unknown environment `prd`",
        ),
        (
            "[[case]]\nprincipal = \"bob@acme.example\"\npermission = \"storage:logs:read\"\nexpect = \"deny\"\nat = \"tomorrow\"\n",
            "is not an RFC 3339 time",
        ),
        (
            "[[case]]\nprincipal = \"bob@acme.example\"\npermission = \"storage:logs:read\"\nexpect = \"deny\"\nattributes = { \"global:userGroup\" = \"sre\" }\n",
            "is a global attribute",
        ),
        (
            "[[case]]\nprincipal = \"bob@acme.example\"\npermision = \"storage:logs:read\"\nexpect = \"deny\"\n",
            "unknown field `permision`",
        ),
        (
            "[[case]]\nprincipal = \"bob@acme.example\"\npermission = \"storage:logs:read\"\nexpects = \"deny\"\n",
            "unknown field `expects`, expected one of `name`, `principal`, `permission`, `environment`, `attributes`, `at`, `expect`; did you mean `expect`?",
        ),
    ];
    for (text, message) in cases {
        let dir = tenant_with(&[("case.toml", text)]);
        let output = warden_in(&dir, &["test", "tenant"]);
        assert_eq!(output.status.code(), Some(2), "{text}");
        assert!(stdout(&output).contains(message), "{text}\n{}", stdout(&output));
        assert!(stdout(&output).contains("0 passed, 0 failed, 1 could not run"), "{}", stdout(&output));
    }
    // A case file is read as the walker reads policy files: at most 16 MiB.
    let huge = tenant_with(&[]);
    let file = std::fs::File::create(huge.join("tenant/tests/huge.toml")).unwrap();
    file.set_len(17 << 20).unwrap();
    let output = warden_in(&huge, &["test", "tenant"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).contains("it holds 17825792 bytes"), "{}", stdout(&output));
    let none = tenant_with(&[]);
    let output = warden_in(&none, &["test", "tenant"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no test cases"), "{}", stderr(&output));
    let output = warden_in(&none, &["test", "nowhere"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn junit_stays_well_formed_xml_whatever_a_case_is_named() {
    // A name may hold characters XML 1.0 cannot carry at all, even escaped: the dashboard
    // would refuse the whole report.
    let cases = "[[case]]\nname = \"a\\u001b[2J b\\u0000c \\\"<&>\\\"\"\nprincipal = \"bob@acme.example\"\npermission = \"storage:logs:read\"\nexpect = \"allow\"\n";
    let dir = tenant_with(&[("names.toml", cases)]);
    let output = warden_in(&dir, &["test", "tenant", "--format", "junit"]);
    let xml = stdout(&output);
    let outside_xml = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
    assert!(!xml.contains(outside_xml), "{xml:?}");
    assert!(xml.contains("name=\"a\u{fffd}[2J b\u{fffd}c &quot;&lt;&amp;&gt;&quot;\""), "{xml}");
}
