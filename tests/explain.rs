//! `explain` on the example tenant (policies/example), as a person reads it: one snapshot per
//! realistic case, with the decision asserted too.

mod support;

use std::path::Path;

use chrono::{DateTime, Utc};
use support::tenant_files;
use warden::catalog::Catalog;
use warden::eval::{AttrValue, Decision, Engine, Request};
use warden::iam::{TenantFiles, load};

fn engine() -> Engine {
    // Relative, as a user types it: tests run in the crate's folder.
    let files = TenantFiles::read(Path::new("policies/example")).unwrap();
    let loaded = load(&files, Catalog::builtin());
    // Its only findings are notes: two boundaries that some bound permissions do not take.
    let codes: Vec<&str> = loaded.findings.iter().flat_map(|f| f.diagnostics.iter().map(|d| d.code())).collect();
    assert_eq!(codes, ["S0612", "S0612"], "{:#?}", loaded.findings);
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
fn an_environment_named_instead_of_its_id_is_suggested() {
    let engine = engine();
    let bob = engine.tenant().find_user("bob@acme.example").unwrap();
    let error = engine.query(&Request::new(bob, "storage:logs:read").in_environment("production")).unwrap_err();
    assert_eq!(error.to_string(), "unknown environment `production`; did you mean `prod`?");
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
    assert_eq!(miss["statement"]["binding"]["parameters"]["team"], "payments");
    assert_eq!(
        miss["statement"]["binding"]["parameters"]["clusters"],
        serde_json::json!(["prod-eu-1", "prod-us-1", "staging-eu-1"]),
        "a list parameter is a JSON array, not a string holding one"
    );
}

/// A one-user tenant (alice in group `sre`) with `policy` bound at account level, through
/// `boundaries` when there are any.
fn small_engine(policy: &str, boundaries: &[(&str, &str)]) -> Engine {
    let names: Vec<String> = boundaries.iter().map(|(name, _)| format!("{name:?}")).collect();
    let config = format!(
        "[account]\nid = \"acme\"\n[[environment]]\nid = \"prod\"\n[[user]]\nid = \"u-1\"\nemail = \"alice@acme.example\"\n\
         [[group]]\nid = \"sre\"\nmembers = [\"alice@acme.example\"]\n\
         [[binding]]\npolicy = \"p\"\ngroups = [\"sre\"]\nlevel = \"account\"\nboundaries = [{}]\n",
        names.join(", ")
    );
    let files = tenant_files(&config, &[("p", policy)], boundaries);
    let loaded = load(&files, Catalog::builtin());
    assert!(!loaded.has_errors(), "{:#?}", loaded.findings);
    Engine::new(loaded.tenant.unwrap(), Catalog::builtin())
}

fn ask(engine: &Engine, permission: &str, attributes: &[(&str, &str)]) -> (Decision, String) {
    let alice = engine.tenant().find_user("alice@acme.example").unwrap();
    let mut request = Request::new(alice, permission).in_environment("prod");
    for (key, value) in attributes {
        request.attribute(*key, *value);
    }
    let query = engine.query(&request).unwrap();
    let decision = engine.evaluate(&query);
    let rendered = engine.render_explanation(&engine.explain(&query, &decision), false);
    (decision, rendered)
}

/// The platform's EdgeConnect setup policy (decisions D30): the condition restricts only the
/// permission that takes its key.
const EDGE_CONNECT: &str = "ALLOW app-engine:edge-connects:write, oauth2:clients:manage WHERE oauth2:scopes = \"app-engine:edge-connects:connect\";\n";

#[test]
fn a_condition_restricts_only_the_permissions_that_take_its_key() {
    let engine = small_engine(EDGE_CONNECT, &[]);
    let (decision, rendered) = ask(&engine, "app-engine:edge-connects:write", &[]);
    assert!(decision.is_allowed(), "granted without the condition: {decision:?}");
    insta::assert_snapshot!("edge_connects_write_unconditional", rendered);

    let (decision, _) = ask(&engine, "oauth2:clients:manage", &[]);
    let Decision::Conditional { .. } = decision else { panic!("the scope decides: {decision:?}") };
    let alice = engine.tenant().find_user("alice@acme.example").unwrap();
    let request = Request::new(alice, "oauth2:clients:manage").in_environment("prod");
    let query = engine.query(&request).unwrap();
    assert_eq!(
        engine.residual_text(&query, &engine.evaluate(&query)).unwrap(),
        "ALLOW oauth2:clients:manage WHERE oauth2:scopes = \"app-engine:edge-connects:connect\";\n"
    );
    let (decision, _) = ask(&engine, "oauth2:clients:manage", &[("oauth2:scopes", "app-engine:edge-connects:connect")]);
    assert!(decision.is_allowed());
    let (decision, _) = ask(&engine, "oauth2:clients:manage", &[("oauth2:scopes", "storage:logs:read")]);
    assert_eq!(decision, Decision::NoMatch);
}

#[test]
fn a_deny_whose_key_a_permission_does_not_take_denies_it_unconditionally() {
    let policy = "ALLOW settings:objects:write, storage:logs:read;\nDENY settings:objects:write, storage:logs:read WHERE storage:k8s.namespace.name = \"vault\";\n";
    let engine = small_engine(policy, &[]);
    let (decision, _) = ask(&engine, "settings:objects:write", &[("settings:schemaId", "builtin:x")]);
    assert!(matches!(decision, Decision::Deny { .. }), "a wider deny: {decision:?}");
    let (decision, _) = ask(&engine, "storage:logs:read", &[("storage:k8s.namespace.name", "team")]);
    assert!(decision.is_allowed(), "{decision:?}");
}

const UNDOING: [(&str, &str); 2] =
    [("host", "storage:host.name = \"myHost\";\n"), ("context", "storage:dt.security_context = \"mySC\";\n")];

#[test]
fn a_bounded_grant_names_each_boundary_and_what_it_did() {
    let engine = small_engine("ALLOW storage:logs:read, storage:entities:read;\n", &UNDOING);
    // The host boundary does not apply to the entities, and lifts the security-context limit.
    let (decision, rendered) = ask(&engine, "storage:entities:read", &[("storage:dt.security_context", "theirs")]);
    assert!(decision.is_allowed(), "{decision:?}");
    assert!(rendered.contains("boundary `host` does not apply to `storage:entities:read`"), "{rendered}");
    assert!(rendered.contains("boundary `context` restricts `storage:entities:read`"), "{rendered}");
    insta::assert_snapshot!("bounded_grant_unrestricted_by_one_boundary", rendered);

    // Both boundaries restrict the logs; a request that meets neither is a near miss of each.
    let (decision, rendered) = ask(
        &engine,
        "storage:logs:read",
        &[("storage:host.name", "theirHost"), ("storage:dt.security_context", "theirs")],
    );
    assert_eq!(decision, Decision::NoMatch);
    insta::assert_snapshot!("bounded_near_miss_names_both_boundaries", rendered);

    let alice = engine.tenant().find_user("alice@acme.example").unwrap();
    let mut request = Request::new(alice, "storage:entities:read").in_environment("prod");
    request.attribute("storage:dt.security_context", "theirs");
    let query = engine.query(&request).unwrap();
    let json = serde_json::to_value(engine.explain(&query, &engine.evaluate(&query))).unwrap();
    let binding = &json["deciding"][0]["binding"];
    assert_eq!(binding["boundary"], "host");
    assert_eq!(
        binding["boundaries"],
        serde_json::json!([
            {"name": "host", "effect": "not_applicable", "keys": ["storage:host.name"]},
            {"name": "context", "effect": "restricted", "conditions": ["storage:dt.security_context = \"mySC\""]},
        ])
    );
}
