//! `explain` on the example tenant (policies/example), as a person reads it: one snapshot per
//! realistic case, with the decision asserted too.

use std::path::Path;

use chrono::{DateTime, Utc};
use warden::catalog::Catalog;
use warden::eval::{AttrValue, Decision, Engine, Request};
use warden::iam::{TenantFiles, load};

fn engine() -> Engine {
    // Relative, as a user types it: tests run in the crate's folder.
    let files = TenantFiles::read(Path::new("policies/example")).unwrap();
    let loaded = load(&files, Catalog::builtin());
    assert!(loaded.findings.is_empty(), "{:#?}", loaded.findings);
    Engine::new(loaded.tenant.unwrap(), Catalog::builtin())
}

/// A Tuesday morning in Central Europe, inside the change window.
const TUESDAY: &str = "2026-03-10T09:30:00+01:00";

struct Case {
    name: &'static str,
    user: &'static str,
    environment: Option<&'static str>,
    permission: &'static str,
    attributes: &'static [(&'static str, &'static str)],
    at: &'static str,
    expected: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "templated_binding_allows",
        user: "bob@acme.example",
        environment: Some("prod"),
        permission: "storage:logs:read",
        attributes: &[("storage:k8s.namespace.name", "team-payments"), ("storage:k8s.cluster.name", "prod-eu-1")],
        at: TUESDAY,
        expected: "allowed",
    },
    Case {
        name: "other_binding_of_the_policy_does_not_apply",
        user: "dave@acme.example",
        environment: Some("prod"),
        permission: "storage:logs:read",
        attributes: &[("storage:k8s.namespace.name", "team-payments"), ("storage:k8s.cluster.name", "prod-eu-1")],
        at: TUESDAY,
        expected: "no_match",
    },
    Case {
        name: "explicit_deny_beats_builtin_allow",
        user: "alice@acme.example",
        environment: Some("prod"),
        permission: "storage:logs:read",
        attributes: &[("storage:k8s.namespace.name", "vault"), ("storage:k8s.cluster.name", "prod-eu-1")],
        at: TUESDAY,
        expected: "explicit_deny",
    },
    Case {
        name: "builtin_policy_allows",
        user: "erin@acme.example",
        environment: Some("prod"),
        permission: "storage:logs:read",
        attributes: &[("storage:k8s.namespace.name", "vault"), ("storage:k8s.cluster.name", "prod-eu-1")],
        at: TUESDAY,
        expected: "allowed",
    },
    Case {
        name: "near_miss_on_cluster",
        user: "bob@acme.example",
        environment: Some("prod"),
        permission: "storage:logs:read",
        attributes: &[("storage:k8s.namespace.name", "team-payments"), ("storage:k8s.cluster.name", "dev-eu-1")],
        at: TUESDAY,
        expected: "no_match",
    },
    Case {
        name: "conditional_without_namespace",
        user: "bob@acme.example",
        environment: Some("prod"),
        permission: "storage:logs:read",
        attributes: &[("storage:k8s.cluster.name", "prod-eu-1")],
        at: TUESDAY,
        expected: "conditional",
    },
    Case {
        name: "environment_binding_in_dev",
        user: "bob@acme.example",
        environment: Some("dev"),
        permission: "app-engine:apps:install",
        attributes: &[("shared:app-id", "my.acme.payments-console")],
        at: TUESDAY,
        expected: "allowed",
    },
    Case {
        name: "environment_binding_not_in_prod",
        user: "bob@acme.example",
        environment: Some("prod"),
        permission: "app-engine:apps:install",
        attributes: &[("shared:app-id", "my.acme.payments-console")],
        at: TUESDAY,
        expected: "no_match",
    },
    Case {
        name: "boundary_narrows_builtin",
        user: "bob@acme.example",
        environment: Some("dev"),
        permission: "app-engine:apps:install",
        attributes: &[("shared:app-id", "dynatrace.notebooks")],
        at: TUESDAY,
        expected: "no_match",
    },
    Case {
        name: "user_group_placeholder",
        user: "carol@acme.example",
        environment: Some("prod"),
        permission: "storage:bizevents:read",
        attributes: &[("storage:dt.security_context", "checkout-devs")],
        at: TUESDAY,
        expected: "allowed",
    },
    Case {
        name: "change_window_saturday",
        user: "alice@acme.example",
        environment: Some("prod"),
        permission: "settings:objects:write",
        attributes: &[("settings:schemaId", "builtin:alerting.profile")],
        at: "2026-03-14T10:00:00+01:00",
        expected: "no_match",
    },
    Case {
        name: "year_end_freeze",
        user: "alice@acme.example",
        environment: Some("prod"),
        permission: "settings:objects:write",
        attributes: &[("settings:schemaId", "builtin:alerting.profile")],
        at: "2026-12-22T10:00:00+01:00",
        expected: "explicit_deny",
    },
    Case {
        name: "service_user_for_another_bot",
        user: "alice@acme.example",
        environment: None,
        permission: "iam:service-users:use",
        attributes: &[("iam:service-user-email", "e0816ad7-11a9-4427-8a8c-e0e5900df546@service.sso.dynatrace.com")],
        at: TUESDAY,
        expected: "no_match",
    },
    Case {
        name: "nothing_reaches_the_user",
        user: "frank@acme.example",
        environment: Some("prod"),
        permission: "platform-token:tokens:manage",
        attributes: &[],
        at: TUESDAY,
        expected: "no_match",
    },
];

#[test]
fn explanations_read_well() {
    let engine = engine();
    for case in CASES {
        let principal = engine.tenant().find_user(case.user).unwrap();
        let at: DateTime<Utc> = DateTime::parse_from_rfc3339(case.at).unwrap().with_timezone(&Utc);
        let mut request = Request::new(principal, case.permission).at(at);
        request.environment = case.environment.map(str::to_string);
        request.attributes =
            case.attributes.iter().map(|(k, v)| (k.to_string(), AttrValue::One(v.to_string()))).collect();
        let query = engine.query(&request).unwrap();
        let decision = engine.evaluate(&query);
        let explanation = engine.explain(&query, &decision);
        assert_eq!(explanation.reason, case.expected, "{}", case.name);
        assert_eq!(decision.is_allowed(), case.expected == "allowed");
        insta::assert_snapshot!(case.name, engine.render_explanation(&explanation, false));
    }
}

#[test]
fn json_explanation_names_the_failing_condition() {
    let engine = engine();
    let bob = engine.tenant().find_user("bob@acme.example").unwrap();
    let mut request = Request::new(bob, "storage:logs:read").in_environment("prod");
    request.attribute("storage:k8s.namespace.name", "team-payments").attribute("storage:k8s.cluster.name", "dev-eu-1");
    let query = engine.query(&request).unwrap();
    let decision = engine.evaluate(&query);
    assert_eq!(decision, Decision::NoMatch);
    let json = serde_json::to_value(engine.explain(&query, &decision)).unwrap();
    assert_eq!(json["reason"], "no_match");
    let miss = &json["closest"][0];
    assert_eq!(miss["attribute"], "storage:k8s.cluster.name");
    assert_eq!(miss["failure"], "`storage:k8s.cluster.name` is \"dev-eu-1\"");
    assert_eq!(miss["statement"]["policy"], "team-logs");
    assert_eq!(miss["statement"]["binding"]["parameters"]["team"], "\"payments\"");
}
