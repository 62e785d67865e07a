//! Every expected decision of the shared benchmark workload (copied into tests/data/workload):
//! the tenants of N = 10, 100 and 1000 statements as directories, N = 10000 rebuilt from its
//! one-file form. The number of Conditional answers must match the workload's manifest too.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use warden::catalog::Catalog;
use warden::diagnostic::SourceFile;
use warden::eval::{AttrValue, Decision, Engine, Request};
use warden::iam::{TenantFiles, load};

#[derive(Deserialize)]
struct Line {
    id: usize,
    email: String,
    environment: String,
    permission: String,
    attributes: BTreeMap<String, String>,
    expected: String,
}

#[derive(Deserialize)]
struct Bindings {
    bindings: BTreeMap<String, Vec<String>>,
    users: BTreeMap<String, Vec<String>>,
}

fn data() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/workload"))
}

/// Tenant 10000 as files in memory: its policies split out of `10000.policy` at the
/// `// policy pNNNNN` lines, and a warden.toml written from `10000.bindings.json`.
fn rebuilt_tenant_10000() -> TenantFiles {
    let text = std::fs::read_to_string(data().join("10000.policy")).unwrap();
    let mut policies: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("// policy ") {
            policies.push((rest.split_whitespace().next().unwrap().to_string(), String::new()));
        } else if let Some((_, body)) = policies.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    let bindings: Bindings =
        serde_json::from_str(&std::fs::read_to_string(data().join("10000.bindings.json")).unwrap()).unwrap();
    let mut toml = String::from("[account]\nid = \"bench\"\n\n[[environment]]\nid = \"prod\"\n");
    let mut members: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (user, groups) in &bindings.users {
        toml.push_str(&format!("[[user]]\nid = \"id-{user}\"\nemail = \"{user}@bench.example\"\n"));
        for group in groups {
            members.entry(group).or_default().push(format!("\"{user}@bench.example\""));
        }
    }
    for (group, list) in &members {
        toml.push_str(&format!("[[group]]\nid = \"{group}\"\nmembers = [{}]\n", list.join(", ")));
    }
    for (group, policies) in &bindings.bindings {
        for policy in policies {
            toml.push_str(&format!(
                "[[binding]]\npolicy = \"{policy}\"\ngroups = [\"{group}\"]\nlevel = \"account\"\n"
            ));
        }
    }
    TenantFiles {
        config: SourceFile::new("warden.toml", toml),
        policies: policies
            .into_iter()
            .map(|(name, body)| SourceFile::new(format!("policies/{name}.policy"), body))
            .collect(),
        boundaries: Vec::new(),
    }
}

fn check(n: usize, files: TenantFiles, expected_conditional: usize) {
    let loaded = load(&files, Catalog::builtin());
    let tenant = loaded.tenant.unwrap_or_else(|| panic!("tenant {n} refused: {:#?}", loaded.findings.first()));
    let engine = Engine::new(tenant, Catalog::builtin());
    let text = std::fs::read_to_string(data().join(format!("{n}.requests.jsonl"))).unwrap();
    let mut conditional = 0;
    let mut count = 0;
    for line in text.lines() {
        let line: Line = serde_json::from_str(line).unwrap();
        let principal = engine.tenant().find_user(&line.email).unwrap();
        let mut request = Request::new(principal, line.permission.clone()).in_environment(line.environment.clone());
        request.attributes = line.attributes.iter().map(|(k, v)| (k.clone(), AttrValue::One(v.clone()))).collect();
        let query = engine.query(&request).unwrap_or_else(|e| panic!("N={n} request {}: {e}", line.id));
        let decision = engine.evaluate(&query);
        let agrees = match (line.expected.as_str(), &decision) {
            ("ALLOW", Decision::Allow { .. })
            | ("DENY_EXPLICIT", Decision::Deny { .. })
            | ("DENY_NO_MATCH", Decision::NoMatch) => true,
            ("DENY_NO_MATCH", Decision::Conditional { .. }) => {
                conditional += 1;
                true
            }
            _ => false,
        };
        assert!(agrees, "N={n} request {}: expected {}, got {decision:?}", line.id, line.expected);
        count += 1;
    }
    assert_eq!(count, 1000);
    assert_eq!(conditional, expected_conditional, "N={n}: Conditional answers (manifest: deny_no_match_conditional)");
}

#[test]
fn tenant_10() {
    check(10, TenantFiles::read(&data().join("tenant-10")).unwrap(), 5);
}

#[test]
fn tenant_100() {
    check(100, TenantFiles::read(&data().join("tenant-100")).unwrap(), 57);
}

#[test]
fn tenant_1000() {
    check(1000, TenantFiles::read(&data().join("tenant-1000")).unwrap(), 90);
}

#[test]
fn tenant_10000() {
    check(10000, rebuilt_tenant_10000(), 162);
}
