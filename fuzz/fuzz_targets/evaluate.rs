//! Fuzzes evaluation: a policy, a boundary and request attributes from the input (the format
//! of `warden_fuzz::Case`), bound in a small in-memory tenant, through every entry point:
//! loading, query, evaluate, residual, explain (as JSON too), render, effective and who-can.
//!
//! Invariants: no panic; a principal outside every group bound at the request's level is never
//! allowed (and nothing is conditional for it); a decision is conditional exactly when it has a
//! residual, and every residual parses and lints without errors; every explanation names statements
//! whose spans lie inside their files, on the line it says.
//!
//! ```text
//! cargo +nightly fuzz run evaluate fuzz/corpus/evaluate fuzz/seeds/evaluate -- -max_total_time=60
//! ```

#![no_main]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use warden::catalog::Catalog;
use warden::diagnostic::SourceFile;
use warden::eval::{AttrValue, Decision, Engine, Explanation, Request, RequestError};
use warden::iam::{TenantFiles, load};
use warden::check::lint;
use warden::syntax::Kind;
use warden_fuzz::{Case, Value, assert_spans_inside};

/// Only so many permissions of one policy are asked about, to keep every input fast.
const PERMISSIONS: usize = 4;
const ENVIRONMENTS: [Option<&str>; 3] = [None, Some("prod"), Some("staging")];

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let case = Case::parse(input);
    let catalog = Catalog::builtin();
    let files = TenantFiles {
        config: SourceFile::new("warden.toml", case.tenant_toml()),
        policies: vec![SourceFile::new("policies/fuzz.policy", case.policy)],
        boundaries: case.boundary.map(|b| SourceFile::new("boundaries/fence.boundary", b)).into_iter().collect(),
    };
    let loaded = load(&files, catalog);
    for findings in &loaded.findings {
        assert_spans_inside(&findings.file, &findings.diagnostics);
    }
    let Some(tenant) = loaded.tenant else { return };
    let time = case.time.and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map_or_else(
        || DateTime::parse_from_rfc3339("2026-03-02T10:30:00Z").unwrap().with_timezone(&Utc),
        |t| t.with_timezone(&Utc),
    );
    let principals: Vec<_> = ["alice@acme.example", "bob@acme.example", "carol@acme.example", "dave@acme.example"]
        .iter()
        .map(|email| tenant.find_user(email).expect("the fixed tenant has its users"))
        .chain(tenant.find_service_user("robot"))
        .collect();
    let engine = Engine::new(tenant, catalog);
    let permissions: Vec<String> = engine.permissions().iter().take(PERMISSIONS).map(|p| p.to_string()).collect();
    let mut attributes: BTreeMap<String, AttrValue> = case
        .attributes
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Value::One(one) => AttrValue::One(one.to_string()),
                Value::Many(many) => AttrValue::Many(many.iter().map(|v| v.to_string()).collect()),
            };
            (key.to_string(), value)
        })
        .collect();

    for permission in &permissions {
        for (who, &principal) in principals.iter().enumerate() {
            for environment in ENVIRONMENTS {
                let mut request = Request::new(principal, permission.as_str()).at(time);
                request.environment = environment.map(str::to_string);
                let Some(request) = with_accepted_attributes(&engine, request, &mut attributes) else { continue };
                let query = engine.query(&request).expect("the accepted attributes resolve");
                let decision = engine.evaluate(&query);
                // bob (in a group bound to nothing) and carol (in none) are never reached; dave
                // only in `staging`.
                let reached = match who {
                    1 | 2 => false,
                    3 => environment == Some("staging"),
                    _ => true,
                };
                assert!(
                    reached || decision == Decision::NoMatch,
                    "principal {who} outside every bound group got {decision:?} for {permission} in {environment:?}"
                );
                let residual = engine.residual_text(&query, &decision);
                assert_eq!(residual.is_some(), matches!(decision, Decision::Conditional { .. }));
                if let Some(residual) = &residual {
                    assert_valid(residual);
                }
                // Explanations are worked out for the principals that statements reach.
                if reached {
                    let explanation = engine.explain(&query, &decision);
                    assert_inside_files(&engine, &explanation);
                    serde_json::to_string(&explanation).expect("an explanation serializes");
                    engine.render_explanation(&explanation, false);
                }
            }
        }
    }
    if let Some(first) = permissions.first() {
        for grant in engine.who_can(first, Some("prod"), time).into_iter().flatten() {
            grant.conditions.as_deref().map(assert_valid);
        }
        for grant in engine.effective(principals[0], None, time).into_iter().flatten() {
            grant.conditions.as_deref().map(assert_valid);
        }
    }
});

/// The request with the attributes the engine accepts, leaving out for good those it refuses
/// (keys no statement uses, `global:` keys), so that the others still take part.
fn with_accepted_attributes(
    engine: &Engine,
    mut request: Request,
    attributes: &mut BTreeMap<String, AttrValue>,
) -> Option<Request> {
    loop {
        request.attributes.clone_from(attributes);
        match engine.query(&request) {
            Ok(_) => return Some(request),
            Err(RequestError::UnknownAttribute { key, .. } | RequestError::GlobalAttribute { key }) => {
                attributes.remove(&key)?;
            }
            Err(_) => return None,
        }
    }
}

/// A residual is a policy of its own: it parses, and it passes the catalog's checks (a residual
/// that a consumer's `warden lint` refused would be no use as a filter).
fn assert_valid(residual: &str) {
    let linted = lint(&SourceFile::new("residual.policy", residual), Kind::Policy, Catalog::builtin());
    assert!(!linted.has_errors(), "the residual has errors:\n{residual}\n{:?}", linted.diagnostics);
}

/// Every statement an explanation names lies inside its file, on the line it says.
fn assert_inside_files(engine: &Engine, explanation: &Explanation) {
    let tenant = engine.tenant();
    let reports = explanation
        .deciding
        .iter()
        .chain(&explanation.elsewhere)
        .chain(explanation.closest.iter().map(|miss| &miss.statement));
    for report in reports {
        let file = tenant
            .policies
            .values()
            .map(|p| &p.file)
            .chain(tenant.boundaries.values().map(|b| &b.file))
            .find(|f| f.name == report.file)
            .unwrap_or_else(|| panic!("the explanation names `{}`, which the tenant does not have", report.file));
        assert!(
            report.start <= report.end && file.text.get(report.start..report.end).is_some(),
            "{}..{} is not a slice of `{}`",
            report.start,
            report.end,
            report.file
        );
        assert_eq!(file.line_column(report.start).0, report.line, "the line of {}..{}", report.start, report.end);
        assert_eq!(file.text[report.start..report.end], report.text);
    }
}
