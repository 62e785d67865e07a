//! Tenants kept as a Terraform module or a monaco project (`--tenant DIR`, `warden tenant
//! export`): the same decisions as the equivalent `warden.toml` tenant, and every problem
//! reported at the host line it comes from.

mod support;

use std::path::Path;

use chrono::{DateTime, Utc};
use support::{TempDir, warden};
use warden::catalog::Catalog;
use warden::eval::{Decision, Engine, Request};
use warden::iam::TenantDir;

fn engine(dir: &Path) -> Engine {
    let tenant = TenantDir::read(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let loaded = tenant.load(Catalog::builtin());
    let errors: Vec<String> = loaded
        .findings
        .iter()
        .flat_map(|f| f.diagnostics.iter().map(move |d| format!("{}: {} {}", f.file.name, d.code(), d.message)))
        .collect();
    Engine::new(
        loaded.tenant.unwrap_or_else(|| panic!("{} is refused: {errors:#?}", dir.display())),
        Catalog::builtin(),
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One line per decision: who, what, where, when, with which attributes, and the outcome.
fn decisions(engine: &Engine) -> Vec<String> {
    const PERMISSIONS: &[(&str, &[(&str, &str)])] = &[
        (
            "storage:logs:read",
            &[("storage:k8s.namespace.name", "team-payments"), ("storage:k8s.cluster.name", "prod-eu-1")],
        ),
        (
            "storage:logs:read",
            &[("storage:k8s.namespace.name", "team-checkout"), ("storage:k8s.cluster.name", "dev-eu-1")],
        ),
        ("storage:logs:read", &[("storage:k8s.namespace.name", "vault"), ("storage:k8s.cluster.name", "prod-eu-1")]),
        ("storage:logs:read", &[("storage:k8s.cluster.name", "staging-eu-1")]),
        ("storage:logs:read", &[]),
        (
            "storage:spans:read",
            &[("storage:k8s.namespace.name", "team-payments"), ("storage:k8s.cluster.name", "prod-us-1")],
        ),
        ("storage:buckets:read", &[("storage:table-name", "logs")]),
        ("storage:bizevents:read", &[("storage:dt.security_context", "payments-devs")]),
        ("storage:bizevents:read", &[("storage:dt.security_context", "checkout-devs")]),
        ("settings:objects:write", &[("settings:schemaId", "builtin:alerting.profile")]),
        ("settings:objects:read", &[]),
        ("app-engine:apps:install", &[("shared:app-id", "my.acme.payments-console")]),
        ("app-engine:apps:install", &[("shared:app-id", "dynatrace.notebooks")]),
        ("app-engine:apps:run", &[]),
        ("platform-token:tokens:write", &[]),
        ("platform-token:tokens:manage", &[]),
        (
            "iam:service-users:use",
            &[("iam:service-user-email", "6f3105c0-e092-4073-a7ae-a09e09515d7c@service.sso.dynatrace.com")],
        ),
        (
            "iam:service-users:use",
            &[("iam:service-user-email", "e0816ad7-11a9-4427-8a8c-e0e5900df546@service.sso.dynatrace.com")],
        ),
        ("storage:logs:write", &[]),
        ("openpipeline:events.sdlc:ingest", &[]),
        ("document:documents:read", &[]),
    ];
    const TIMES: [&str; 3] = ["2026-03-10T09:30:00+01:00", "2026-03-14T10:00:00+01:00", "2026-12-22T10:00:00+01:00"];
    let tenant = engine.tenant();
    let principals: Vec<(String, warden::iam::Principal)> = tenant
        .users
        .iter()
        .map(|u| (u.email.to_string(), tenant.find_user(&u.email).unwrap()))
        .chain(tenant.service_users.iter().map(|s| (s.email.to_string(), tenant.find_service_user(&s.email).unwrap())))
        .collect();
    let mut lines = Vec::new();
    for (who, principal) in &principals {
        for environment in [None, Some("prod"), Some("staging"), Some("dev")] {
            for (permission, attributes) in PERMISSIONS {
                for at in TIMES {
                    let time: DateTime<Utc> = DateTime::parse_from_rfc3339(at).unwrap().with_timezone(&Utc);
                    let mut request = Request::new(*principal, *permission).at(time);
                    request.environment = environment.map(str::to_string);
                    for (key, value) in *attributes {
                        request.attribute(*key, *value);
                    }
                    let query = engine.query(&request).unwrap();
                    let decision = engine.evaluate(&query);
                    let outcome = match &decision {
                        Decision::Allow { .. } => "allow".to_string(),
                        Decision::Deny { .. } => "deny".to_string(),
                        Decision::NoMatch => "no match".to_string(),
                        Decision::Conditional { .. } => {
                            format!("conditional: {}", engine.residual_text(&query, &decision).unwrap_or_default())
                        }
                    };
                    lines.push(format!("{who} {environment:?} {permission} {attributes:?} {at}: {outcome}"));
                }
            }
        }
    }
    lines.sort();
    lines
}

#[test]
fn a_terraform_module_and_a_monaco_project_decide_as_the_warden_toml_tenant() {
    let expected = decisions(&engine(Path::new("policies/example")));
    assert_eq!(expected.len(), 12 * 4 * 21 * 3);
    assert!(expected.iter().filter(|l| l.ends_with(": allow")).count() > 100, "the grid has allowed requests");
    assert!(expected.iter().any(|l| l.ends_with(": deny")), "and denied ones");
    for host in ["policies/example-terraform", "policies/example-monaco"] {
        let got = decisions(&engine(Path::new(host)));
        let differ: Vec<_> = expected.iter().zip(&got).filter(|(a, b)| a != b).take(5).collect();
        assert!(differ.is_empty(), "{host} decides otherwise: {differ:#?}");
        assert_eq!(got.len(), expected.len());
        // The export is a warden.toml tenant with the same decisions.
        let scratch = TempDir::new();
        let out = scratch.join("export");
        let export = warden(&["tenant", "export", host, "--out", out.to_str().unwrap()]);
        assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
        assert!(out.join("warden.toml").is_file());
        assert_eq!(decisions(&engine(&out)), expected, "the export of {host}");
    }
}

#[test]
fn the_commands_that_load_a_tenant_take_a_terraform_module() {
    let args = |tenant: &str| {
        vec![
            "explain",
            "--tenant",
            tenant,
            "--user",
            "bob@acme.example",
            "--env",
            "prod",
            "storage:logs:read",
            "--attr",
            "storage:k8s.namespace.name=team-payments",
            "--attr",
            "storage:k8s.cluster.name=prod-eu-1",
            "--at",
            "2026-03-10T09:30:00+01:00",
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    for tenant in ["policies/example-terraform", "policies/example-monaco"] {
        let args = args(tenant);
        let output = warden(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        assert!(text(&output.stdout).starts_with("ALLOWED: bob@acme.example → storage:logs:read in prod"));
    }
    let who = |tenant: &str| warden(&["who-can", "storage:logs:read", "--env", "prod", "--tenant", tenant]);
    let reference = text(&who("policies/example").stdout);
    let emails = |out: &str| {
        out.lines()
            .filter_map(|l| l.split_whitespace().find(|w| w.contains('@')).map(str::to_string))
            .collect::<Vec<_>>()
    };
    assert_eq!(emails(&text(&who("policies/example-terraform").stdout)), emails(&reference));
    let effective = warden(&["effective", "--user", "alice@acme.example", "--tenant", "policies/example-terraform"]);
    assert_eq!(effective.status.code(), Some(0));
    // The token commands open their service on it (no warden.toml, so no [deployment] table).
    let scratch = TempDir::new();
    let db = scratch.join("tokens.db");
    let db = db.to_str().unwrap();
    let create =
        ["token", "create", "--tenant", "policies/example-terraform", "--db", db, "--as", "alice@acme.example"];
    let created = warden(
        &[&create[..], &["--name", "ci", "--scope", "storage:logs:read", "--account-wide", "--never-expires"]].concat(),
    );
    assert_eq!(created.status.code(), Some(0), "{}", text(&created.stderr));
    let list =
        warden(&["token", "list", "--tenant", "policies/example-monaco", "--db", db, "--as", "alice@acme.example"]);
    assert!(text(&list.stdout).contains("ACTIVE"), "the same tokens under the monaco form of the tenant");
}

/// A module with a variable given no value, a parameter no placeholder uses and a policy id from
/// an export (README.md shows what loading it says).
const BROKEN: &str = include_str!("tenants/unresolved-terraform/main.tf");

#[test]
fn unresolved_references_refuse_the_tenant_at_their_host_lines() {
    let dir = TempDir::new();
    std::fs::write(dir.join("main.tf"), BROKEN).unwrap();
    let tenant = dir.to_str().unwrap();
    let explain = warden(&["explain", "--tenant", tenant, "--user", "ann@acme.example", "settings:objects:read"]);
    assert_eq!(explain.status.code(), Some(3));
    let stderr = text(&explain.stderr).replace(tenant, "<module>");
    insta::assert_snapshot!("unresolved_terraform_tenant", stderr);
    // A value for the variable settles that reference; the literal id still refuses the tenant.
    let with_var = warden(&[
        "explain",
        "--tenant",
        tenant,
        "--var",
        "schema=builtin:alerting.profile",
        "--user",
        "ann@acme.example",
        "settings:objects:read",
    ]);
    assert_eq!(with_var.status.code(), Some(3));
    let stderr = text(&with_var.stderr);
    assert!(!stderr.contains("var.schema"), "{stderr}");
    assert!(stderr.contains("#-#global#-#global"));
    // lint reports the same as warnings, and the tenant checks at the host lines.
    let lint = warden(&["lint", "--format", "json", tenant]);
    let findings: Vec<serde_json::Value> = serde_json::from_str(&text(&lint.stdout)).unwrap();
    let codes: Vec<String> =
        findings.iter().map(|f| format!("{}@{}", f["code"].as_str().unwrap(), f["line"])).collect();
    assert!(codes.contains(&"W0711@30".to_string()), "{codes:?}");
    assert!(codes.contains(&"E0609@26".to_string()), "the unused parameter, at its line: {codes:?}");
    assert!(codes.contains(&"S0705@17".to_string()), "{codes:?}");
    let export = warden(&["tenant", "export", tenant, "--out", TempDir::new().join("refused").to_str().unwrap()]);
    assert_eq!(export.status.code(), Some(3));
}

#[test]
fn variables_come_from_var_files_and_tfvars_as_terraform_takes_them() {
    let dir = TempDir::new();
    let module = BROKEN
        .replace("  policy {\n    id = \"2b16c4fe-b54e-4325-94dd-cb3dea0b0041#-#global#-#global\"\n  }\n", "")
        .replace("    parameters = {\n      team = \"ops\"\n    }\n", "");
    std::fs::write(dir.join("main.tf"), module).unwrap();
    std::fs::write(dir.join("terraform.tfvars"), "schema = \"builtin:alerting.profile\"\n").unwrap();
    std::fs::write(dir.join("other.tfvars"), "schema = \"builtin:anomaly-detection.metric-events\"\n").unwrap();
    let ask = |extra: &[&str], schema: &str| {
        let mut args = vec!["explain", "--tenant", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        let attr = format!("settings:schemaId={schema}");
        args.extend_from_slice(&["--user", "ann@acme.example", "settings:objects:read", "--attr", &attr]);
        warden(&args).status.code()
    };
    assert_eq!(ask(&[], "builtin:alerting.profile"), Some(0), "terraform.tfvars is read");
    assert_eq!(ask(&[], "builtin:anomaly-detection.metric-events"), Some(1));
    let other = dir.join("other.tfvars");
    assert_eq!(ask(&["--var-file", other.to_str().unwrap()], "builtin:anomaly-detection.metric-events"), Some(0));
    assert_eq!(ask(&["--var-file", other.to_str().unwrap(), "--var", "schema=x"], "x"), Some(0), "--var comes last");
}

#[test]
fn a_monaco_project_points_at_its_yaml_lines() {
    let dir = TempDir::new();
    std::fs::write(
        dir.join("iam.yaml"),
        "policies:\n  - name: Reader\n    id: reader\n    level:\n      type: account\n    policy: |-\n      ALLOW storage:logs:read;\ngroups:\n  - name: Ops\n    id: ops\n    account:\n      policies:\n        - type: reference\n          id: readr\n        - Storage Everything Admin\nusers:\n  - email: ann@acme.example\n    groups:\n      - Opz\n",
    )
    .unwrap();
    let output = warden(&["who-can", "storage:logs:read", "--tenant", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = text(&output.stderr).replace(dir.to_str().unwrap(), "<project>");
    insta::assert_snapshot!("unresolved_monaco_tenant", stderr);
}

/// Group `devs` and its member bob, as the module tests below write them.
const BOB_IN_DEVS: &str = r#"resource "dynatrace_iam_group" "devs" {
  name = "Developers"
}

resource "dynatrace_iam_user" "bob" {
  email  = "bob@acme.example"
  groups = [dynatrace_iam_group.devs.id]
}
"#;

#[test]
fn child_modules_are_evaluated_with_their_inputs() {
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.join("modules/iam")).unwrap();
    std::fs::write(
        dir.join("main.tf"),
        format!(
            r#"module "iam" {{
  source = "./modules/iam"
  team   = "payments"
}}

{BOB_IN_DEVS}
resource "dynatrace_iam_policy_bindings_v2" "devs" {{
  group   = dynatrace_iam_group.devs.id
  account = "acme"
  policy {{
    id = module.iam.policy_id
  }}
}}
"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("modules/iam/main.tf"),
        r#"variable "team" {
  type = string
}

resource "dynatrace_iam_policy" "logs" {
  name            = "Team logs"
  account         = "acme"
  statement_query = "ALLOW storage:logs:read WHERE storage:k8s.namespace.name = \"team-${var.team}\";\nALLOW storage:spans:red;"
}

output "policy_id" {
  value = dynatrace_iam_policy.logs.id
}
"#,
    )
    .unwrap();
    let tenant = dir.to_str().unwrap();
    let lint = warden(&["lint", "--format", "json", tenant]);
    let findings: Vec<serde_json::Value> = serde_json::from_str(&text(&lint.stdout)).unwrap();
    let unknown = findings.iter().find(|f| f["code"] == "E0101").expect("the child's typo is found");
    assert!(unknown["file"].as_str().unwrap().ends_with("modules/iam/main.tf"));
    assert_eq!((unknown["line"].as_u64(), unknown["column"].as_u64()), (Some(8), Some(110)));
    assert_eq!(unknown["resource"], "module.iam.dynatrace_iam_policy.logs");
    assert!(findings.iter().all(|f| f["code"] != "S0705"), "`var.team` is the module's input: {findings:?}");
    // With the typo mended the tenant loads, the policy's text resolved through the input.
    let child = dir.join("modules/iam/main.tf");
    let mended = std::fs::read_to_string(&child).unwrap().replace("\\nALLOW storage:spans:red;", "");
    std::fs::write(&child, mended).unwrap();
    let ask = |namespace: &str| {
        let attr = format!("storage:k8s.namespace.name={namespace}");
        warden(&["explain", "--tenant", tenant, "--user", "bob@acme.example", "storage:logs:read", "--attr", &attr])
    };
    assert_eq!(ask("team-payments").status.code(), Some(0), "{}", text(&ask("team-payments").stderr));
    assert_eq!(ask("team-checkout").status.code(), Some(1));
}

/// `dynamic "policy"` blocks, as modules that bind a list of policies write them: one binding
/// per element of the `for_each`, its parameters from the element. One whose `for_each` warden
/// cannot resolve refuses the tenant at its line: its bindings are not dropped unseen.
#[test]
fn dynamic_policy_blocks_bind_one_policy_per_element() {
    let dir = TempDir::new();
    let module = [
        r#"locals {
  teams = {
    payments = "team-payments"
    checkout = "team-checkout"
  }
}

resource "dynatrace_iam_policy" "team_logs" {
  name            = "Team logs"
  account         = "acme"
  statement_query = "ALLOW storage:logs:read WHERE storage:k8s.namespace.name = \"$${bindParam:namespace}\";"
}

resource "dynatrace_iam_policy" "settings" {
  name            = "Settings"
  account         = "acme"
  statement_query = "ALLOW settings:objects:read;"
}

"#,
        BOB_IN_DEVS,
        r#"
resource "dynatrace_iam_policy_bindings_v2" "devs" {
  group   = dynatrace_iam_group.devs.id
  account = "acme"
  dynamic "policy" {
    for_each = local.teams
    content {
      id         = dynatrace_iam_policy.team_logs.id
      parameters = { namespace = policy.value }
    }
  }
  dynamic "policy" {
    for_each = [dynatrace_iam_policy.settings.id]
    iterator = bound
    content {
      id = bound.value
    }
  }
}
"#,
    ]
    .concat();
    std::fs::write(dir.join("main.tf"), &module).unwrap();
    let tenant = dir.to_str().unwrap();
    let ask = |permission: &str, namespace: &str| {
        let attr = format!("storage:k8s.namespace.name={namespace}");
        let output =
            warden(&["explain", "--tenant", tenant, "--user", "bob@acme.example", permission, "--attr", &attr]);
        assert_ne!(output.status.code(), Some(3), "{}", text(&output.stderr));
        output.status.code()
    };
    assert_eq!(ask("storage:logs:read", "team-payments"), Some(0));
    assert_eq!(ask("storage:logs:read", "team-checkout"), Some(0));
    assert_eq!(ask("storage:logs:read", "team-search"), Some(1));
    assert_eq!(ask("settings:objects:read", "team-search"), Some(0), "the list's element, through `iterator`");
    // The export writes each element as a binding of its own.
    let out = TempDir::new().join("export");
    let export = warden(&["tenant", "export", tenant, "--out", out.to_str().unwrap()]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    let config = std::fs::read_to_string(out.join("warden.toml")).unwrap();
    assert_eq!(config.matches("team-payments").count() + config.matches("team-checkout").count(), 2, "{config}");

    let unknown = module.replace("for_each = local.teams", "for_each = var.teams");
    std::fs::write(dir.join("main.tf"), unknown).unwrap();
    let output = warden(&["who-can", "storage:logs:read", "--tenant", tenant]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = text(&output.stderr).replace(tenant, "<module>");
    insta::assert_snapshot!("unexpanded_dynamic_policy_block", stderr);
}
