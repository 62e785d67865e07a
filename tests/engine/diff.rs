//! `eval::diff`: exact answers on hand-made changes, and a property test against brute force:
//! every request of a small universe that two random policies decide differently must be
//! found, and every witness the diff gives must be one.

use std::collections::BTreeMap;

use crate::support::tenant_files;
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use warden::catalog::Catalog;
use warden::eval::diff::{Change, ChangeKind, Report, diff};
use warden::eval::{AttrValue, Decision, Engine, Request};
use warden::iam::load;

/// A permission whose two keys take every string operator.
const CATALOG: &str = r#"
[[service]]
name = "test"

[[permission]]
names = ["test:things:read"]
keys = { "test:a" = ["=", "!=", "IN", "NOT IN", "startsWith", "NOT startsWith", "MATCH"], "test:b" = ["=", "!=", "IN", "NOT IN", "startsWith", "NOT startsWith", "MATCH"] }
"#;

fn catalog() -> &'static Catalog {
    static CATALOG_CELL: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG_CELL.get_or_init(|| Catalog::with_extension(CATALOG).expect("the test catalog loads"))
}

const CONFIG: &str = r#"
[account]
id = "acme"
[[environment]]
id = "prod"
[[environment]]
id = "dev"
[[user]]
id = "00000000-0000-4000-8000-000000000001"
email = "ann@acme.example"
[[user]]
id = "00000000-0000-4000-8000-000000000002"
email = "ben@acme.example"
[[group]]
id = "g1"
members = ["ann@acme.example"]
[[group]]
id = "g2"
members = ["ann@acme.example", "ben@acme.example"]
"#;

/// A tenant of [`CONFIG`] plus bindings and policies (name, text).
fn engine(bindings: &str, policies: &[(&str, &str)]) -> Engine {
    let files = tenant_files(&format!("{CONFIG}{bindings}"), policies, &[]);
    let loaded = load(&files, catalog());
    let tenant = loaded.tenant.unwrap_or_else(|| panic!("the tenant loads: {:#?}", loaded.findings));
    Engine::new(tenant, catalog())
}

const BIND_P_TO_G1: &str = "[[binding]]\npolicy = \"p\"\ngroups = [\"g1\"]\nlevel = \"account\"\n";

fn one_policy(text: &str) -> Engine {
    engine(BIND_P_TO_G1, &[("p", text)])
}

/// The policy bound to g1 at a level: `account` or `environment:ID`.
fn one_policy_at(text: &str, level: &str) -> Engine {
    engine(&BIND_P_TO_G1.replace("level = \"account\"", &format!("level = \"{level}\"")), &[("p", text)])
}

fn compare(old: &str, new: &str) -> Report {
    diff(&one_policy(old), &one_policy(new)).expect("the diff decides")
}

/// The changes at account level: a policy bound at account level changes alike everywhere.
fn at_account(report: &Report) -> Vec<&Change> {
    report.changes.iter().filter(|c| c.environment.is_none()).collect()
}

fn attribute(change: &Change, key: &str) -> Option<AttrValue> {
    change.witness.attributes.get(key).cloned()
}

fn one(value: &str) -> Option<AttrValue> {
    Some(AttrValue::One(value.to_string()))
}

#[test]
fn the_same_access_in_other_words_is_no_change() {
    let cases = [
        // Reordered and reformatted.
        (
            "ALLOW test:things:read WHERE test:a = \"x\";\nDENY test:things:read WHERE test:b = \"y\";",
            "DENY   test:things:read where test:b = 'y';\n\n// reordered\nALLOW test:things:read\n  WHERE test:a = \"x\";",
        ),
        // A list is the union of its values.
        (
            "ALLOW test:things:read WHERE test:a IN (\"x\", \"y\");",
            "ALLOW test:things:read WHERE test:a = \"x\";\nALLOW test:things:read WHERE test:a = \"y\";",
        ),
        // `startsWith` is a `MATCH` with a trailing star; a pattern without a star is `=`.
        (
            "ALLOW test:things:read WHERE test:a startsWith \"team-\" AND test:b MATCH (\"x\");",
            "ALLOW test:things:read WHERE test:a MATCH (\"team-*\") AND test:b = \"x\";",
        ),
        // An ALLOW that a DENY always overrides grants nothing; neither does a narrower ALLOW.
        (
            "ALLOW test:things:read WHERE test:a startsWith \"a\";",
            "ALLOW test:things:read WHERE test:a startsWith \"a\";\nALLOW test:things:read WHERE test:a = \"ab\" AND test:b = \"z\";",
        ),
        ("DENY test:things:read;", "DENY test:things:read;\nALLOW test:things:read WHERE test:a = \"x\";"),
        // Duplicated statements.
        ("ALLOW test:things:read;", "ALLOW test:things:read;\nALLOW test:things:read;"),
    ];
    for (old, new) in cases {
        let report = compare(old, new);
        assert!(report.is_unchanged(), "{old}\n---\n{new}\n{:#?}", report.changes);
        assert_eq!(report.summary(), "0 principals gain access to 0 permissions");
    }
}

#[test]
fn a_new_grant_is_gained_with_a_witness_the_evaluator_allows() {
    let report = compare("", "ALLOW test:things:read WHERE test:a = \"x\" AND test:b NOT IN (\"y\");");
    let changes = at_account(&report);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    let change = changes[0];
    assert_eq!((change.kind, change.principal.as_str()), (ChangeKind::Gained, "ann@acme.example"));
    assert_eq!(attribute(change, "test:a"), one("x"));
    // `NOT IN ("y")` holds for any value but "y", and only when the attribute is there.
    assert!(attribute(change, "test:b").is_some_and(|v| !v.as_slice().contains(&"y".to_string())));
    assert_eq!((change.old.decision, change.new.decision), ("deny", "allow"));
    assert_eq!(change.new.statements[0].statement.file, "policies/p.policy");
    assert_eq!(change.new.statements[0].binding_at, "warden.toml:21");
    assert_eq!(change.new.statements[0].statement.line, 1);
    // Ben is not in g1; the binding reaches Ann at account level and in both environments.
    assert_eq!(report.changes.len(), 3);
    assert_eq!(report.summary(), "1 principal gains access to 1 permission");
}

#[test]
fn removing_the_only_grant_is_lost() {
    let report = compare("ALLOW test:things:read WHERE test:a startsWith \"a\";", "");
    let change = at_account(&report)[0];
    assert_eq!(change.kind, ChangeKind::Lost);
    assert_eq!(attribute(change, "test:a"), one("a"));
    assert_eq!((change.old.decision, change.new.decision), ("allow", "deny"));
    assert_eq!(report.summary(), "0 principals gain access to 0 permissions; 1 principal loses access to 1 permission");
}

#[test]
fn a_wider_list_is_widened_and_the_witness_is_the_new_value() {
    let report = compare(
        "ALLOW test:things:read WHERE test:a IN (\"x\");",
        "ALLOW test:things:read WHERE test:a IN (\"x\", \"y\");",
    );
    let changes = at_account(&report);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].kind, ChangeKind::Widened);
    assert_eq!(attribute(changes[0], "test:a"), one("y"));
}

#[test]
fn a_pattern_traded_for_another_narrows_and_widens_at_once() {
    let report = compare(
        "ALLOW test:things:read WHERE test:a MATCH (\"kube-*\");",
        "ALLOW test:things:read WHERE test:a MATCH (\"*-system\");",
    );
    let kinds: Vec<(ChangeKind, Option<AttrValue>)> =
        at_account(&report).iter().map(|c| (c.kind, attribute(c, "test:a"))).collect();
    assert_eq!(kinds, vec![(ChangeKind::Widened, one("-system")), (ChangeKind::Narrowed, one("kube-"))]);
}

#[test]
fn lists_need_some_element_for_positive_and_none_for_negative_operators() {
    // Old: a and b; new: a and not b. The list ["a", "b"] is allowed before and not after.
    let report = compare(
        "ALLOW test:things:read WHERE test:a = \"a\" AND test:a = \"b\";",
        "ALLOW test:things:read WHERE test:a = \"a\" AND test:a != \"b\";",
    );
    let changes = at_account(&report);
    let narrowed = changes.iter().find(|c| c.kind == ChangeKind::Narrowed).expect("a narrowed access");
    assert_eq!(attribute(narrowed, "test:a"), Some(AttrValue::Many(vec!["a".into(), "b".into()])));
    let widened = changes.iter().find(|c| c.kind == ChangeKind::Widened).expect("a widened access");
    assert_eq!(attribute(widened, "test:a"), one("a"));
}

#[test]
fn dropping_a_conditional_deny_moves_conditional_to_allow() {
    let report =
        compare("ALLOW test:things:read;\nDENY test:things:read WHERE test:a = \"secret\";", "ALLOW test:things:read;");
    let change = at_account(&report)[0];
    assert_eq!(change.kind, ChangeKind::Widened);
    // The witness carries no attribute: before, it depended on `test:a`; now it is allowed.
    assert!(change.witness.attributes.is_empty());
    assert_eq!((change.old.decision, change.new.decision), ("conditional", "allow"));
    assert_eq!(
        change.old.residual.as_deref(),
        Some("ALLOW test:things:read;\nDENY test:things:read WHERE test:a = \"secret\";\n")
    );
}

#[test]
fn a_contradiction_grants_nothing_so_removing_it_changes_nothing_but_the_conditional() {
    // `a IN ("x") AND a NOT IN ("x")` is never True, but Unknown without `a`: Conditional.
    let report = compare("ALLOW test:things:read WHERE test:a IN (\"x\") AND test:a NOT IN (\"x\");", "");
    let change = at_account(&report)[0];
    assert_eq!((change.kind, change.old.decision), (ChangeKind::Lost, "conditional"));
    assert!(change.witness.attributes.is_empty());
}

#[test]
fn time_windows_are_compared_to_the_second() {
    let old = "ALLOW test:things:read WHERE global:time-of-day > \"08:00+01:00\" AND global:time-of-day < \"18:00+01:00\" AND global:week-day IN (\"Monday\", \"Tuesday\");";
    let new = "ALLOW test:things:read WHERE global:time-of-day > \"07:30+01:00\" AND global:time-of-day < \"18:00+01:00\" AND global:week-day IN (\"Monday\", \"Tuesday\");";
    let report = compare(old, new);
    let change = at_account(&report)[0];
    assert_eq!(change.kind, ChangeKind::Widened);
    let at = change.witness.at.expect("a time");
    assert_eq!(at.to_rfc3339(), "2026-01-05T06:30:01+00:00");
    // Past the end of a window that ends on a date: the DENY below stops applying.
    let old = "ALLOW test:things:read;\nDENY test:things:read WHERE global:date < \"2026-03-01+01:00\";";
    let report =
        compare(old, "ALLOW test:things:read;\nDENY test:things:read WHERE global:date < \"2026-03-02+01:00\";");
    let change = at_account(&report)[0];
    assert_eq!(change.kind, ChangeKind::Narrowed);
    assert_eq!(change.witness.at.unwrap().to_rfc3339(), "2026-02-28T23:00:00+00:00");
}

#[test]
fn environments_groups_and_principals_are_levels_not_requests() {
    let grant = "ALLOW test:things:read WHERE global:environmentId = \"prod\";";
    let report = compare(grant, "ALLOW test:things:read WHERE global:environmentId IN (\"prod\", \"dev\");");
    let places: Vec<(Option<&str>, ChangeKind)> =
        report.changes.iter().map(|c| (c.environment.as_deref(), c.kind)).collect();
    assert_eq!(places, vec![(Some("dev"), ChangeKind::Gained)]);
    // An account-level request never knows the environment: Conditional, before and after.
    assert!(report.changes.iter().all(|c| c.environment.is_some()));

    // Ben joins g1: he gains what g1 holds.
    let old = one_policy("ALLOW test:things:read;");
    let new_config =
        CONFIG.replace("members = [\"ann@acme.example\"]", "members = [\"ann@acme.example\", \"ben@acme.example\"]");
    let files = tenant_files(&format!("{new_config}{BIND_P_TO_G1}"), &[("p", "ALLOW test:things:read;")], &[]);
    let new = Engine::new(load(&files, catalog()).tenant.unwrap(), catalog());
    let report = diff(&old, &new).unwrap();
    assert!(report.changes.iter().all(|c| c.principal == "ben@acme.example" && c.kind == ChangeKind::Gained));
    assert_eq!(report.changes.len(), 3);

    // `global:userGroup` conditions follow the principal's groups.
    let report = compare(
        "ALLOW test:things:read WHERE global:userGroup = \"g2\";",
        "ALLOW test:things:read WHERE global:userGroup = \"g3\";",
    );
    assert!(at_account(&report).iter().all(|c| c.kind == ChangeKind::Lost));
}

#[test]
fn a_user_id_placeholder_is_the_principals_own_id() {
    let report = compare(
        "ALLOW test:things:read WHERE test:a = \"${global:userId}\";",
        "ALLOW test:things:read WHERE test:a startsWith \"${global:userId}\";",
    );
    let change = at_account(&report)[0];
    assert_eq!(change.kind, ChangeKind::Widened);
    let value = attribute(change, "test:a").unwrap();
    let value = &value.as_slice()[0];
    assert!(value.starts_with("00000000-0000-4000-8000-000000000001") && value.len() > 36, "{value}");
}

#[test]
fn long_lists_are_compared_as_sets() {
    let list = |skip: usize| -> String {
        (0..10_000).filter(|i| *i != skip).map(|i| format!("\"ns-{i}\"")).collect::<Vec<_>>().join(", ")
    };
    let report = compare(
        &format!("ALLOW test:things:read WHERE test:a IN ({});", list(usize::MAX)),
        &format!(
            "ALLOW test:things:read WHERE test:a IN ({});\nDENY test:things:read WHERE test:b NOT IN ({});",
            list(5_000),
            list(1)
        ),
    );
    let changes = at_account(&report);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    // The value the new list lost: allowed before, not now.
    assert_eq!((changes[0].kind, attribute(changes[0], "test:a")), (ChangeKind::Narrowed, one("ns-5000")));
    assert_eq!((changes[0].old.decision, changes[0].new.decision), ("allow", "deny"));
}

// ---- The property: the diff against brute force on a small alphabet ----

/// Values and patterns over `a` and `b`.
const VALUES: [&str; 6] = ["", "a", "b", "ab", "ba", "aa"];
const PATTERNS: [&str; 7] = ["*", "a*", "*a", "a*b", "*b*", "ab", "*ab*"];

fn condition() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec!["test:a", "test:b"]);
    let value = prop::sample::select(VALUES.to_vec());
    let values = prop::collection::vec(prop::sample::select(VALUES.to_vec()), 1..3);
    let patterns = prop::collection::vec(prop::sample::select(PATTERNS.to_vec()), 1..3);
    let quoted = |list: Vec<&str>| list.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ");
    let attribute =
        (key, 0..7usize, value, values, patterns).prop_map(move |(key, op, value, values, patterns)| match op {
            0 => format!("{key} = \"{value}\""),
            1 => format!("{key} != \"{value}\""),
            2 => format!("{key} startsWith \"{value}\""),
            3 => format!("{key} NOT startsWith \"{value}\""),
            4 => format!("{key} IN ({})", quoted(values)),
            5 => format!("{key} NOT IN ({})", quoted(values)),
            _ => format!("{key} MATCH ({})", quoted(patterns)),
        });
    let global = prop::sample::select(vec![
        "global:week-day = \"Monday\"",
        "global:time-of-day < \"12:00Z\"",
        "global:environmentId = \"prod\"",
        "global:environmentId != \"dev\"",
        "global:userGroup = \"g1\"",
    ]);
    prop_oneof![4 => attribute, 1 => global.prop_map(str::to_string)]
}

fn statement() -> impl Strategy<Value = String> {
    (prop::bool::weighted(0.7), prop::collection::vec(condition(), 0..3)).prop_map(|(allow, conditions)| {
        let effect = if allow { "ALLOW" } else { "DENY" };
        match conditions.is_empty() {
            true => format!("{effect} test:things:read;"),
            false => format!("{effect} test:things:read WHERE {};", conditions.join(" AND ")),
        }
    })
}

/// Two policies drawn from one pool of statements, so that they share some.
fn two_policies() -> impl Strategy<Value = (String, String)> {
    prop::collection::vec(statement(), 1..5).prop_flat_map(|pool| {
        let n = pool.len();
        (Just(pool), prop::collection::vec(prop::bool::ANY, n), prop::collection::vec(prop::bool::ANY, n)).prop_map(
            |(pool, in_old, in_new)| {
                let pick = |mask: &[bool]| -> String {
                    pool.iter().zip(mask).filter(|(_, keep)| **keep).map(|(s, _)| format!("{s}\n")).collect()
                };
                (pick(&in_old), pick(&in_new))
            },
        )
    })
}

/// The elements a brute-force request may hold: every value and pattern text above, and one
/// character none of them names.
const UNIVERSE: [&str; 9] = ["", "a", "b", "c", "aa", "ab", "ba", "bb", "aba"];

fn universe_values() -> Vec<Option<AttrValue>> {
    let mut values = vec![None, Some(AttrValue::Many(vec![]))];
    values.extend(UNIVERSE.iter().map(|v| Some(AttrValue::One(v.to_string()))));
    for (i, x) in UNIVERSE.iter().enumerate() {
        for y in &UNIVERSE[i + 1..] {
            values.push(Some(AttrValue::Many(vec![x.to_string(), y.to_string()])));
        }
    }
    values
}

fn times() -> Vec<DateTime<Utc>> {
    // Monday and Tuesday, before and after noon UTC.
    ["2026-01-05T10:00:00Z", "2026-01-05T13:00:00Z", "2026-01-06T10:00:00Z", "2026-01-06T13:00:00Z"]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect()
}

fn rank(engine: &Engine, request: &Request) -> u8 {
    match engine.evaluate(&engine.query(request).expect("a valid request")) {
        Decision::Allow { .. } => 2,
        Decision::Conditional { .. } => 1,
        Decision::Deny { .. } | Decision::NoMatch => 0,
    }
}

/// Whether every element of the witness is one the brute force tries (its times cover every
/// case of the time conditions above).
fn inside_universe(change: &Change) -> bool {
    change
        .witness
        .attributes
        .values()
        .all(|v| v.as_slice().len() <= 2 && v.as_slice().iter().all(|e| UNIVERSE.contains(&e.as_str())))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_diff_finds_every_difference_brute_force_finds(
        (old, new) in two_policies(),
        levels in prop::sample::select(vec![("account", "account"), ("account", "environment:prod"), ("environment:dev", "environment:dev")]),
    ) {
        let (old_engine, new_engine) = (one_policy_at(&old, levels.0), one_policy_at(&new, levels.1));
        let report = diff(&old_engine, &new_engine).expect("the diff decides");
        let values = universe_values();
        // Each engine has its own load of the tenant, and so its own handle for ann.
        let ann = |engine: &Engine| engine.tenant().find_user("ann@acme.example").unwrap();
        let (old_ann, new_ann) = (ann(&old_engine), ann(&new_engine));
        for level in [None, Some("prod"), Some("dev")] {
            let found = |kind: fn(ChangeKind) -> bool| {
                report.changes.iter().find(|c| c.principal == "ann@acme.example" && c.environment.as_deref() == level && kind(c.kind))
            };
            let (gain, loss) = (found(ChangeKind::is_gain), found(|k| !k.is_gain()));
            let (mut brute_gain, mut brute_loss, mut old_holds, mut new_holds) = (false, false, false, false);
            for a in &values {
                for b in &values {
                    for at in times() {
                        let mut request = Request::new(old_ann, "test:things:read").at(at);
                        request.environment = level.map(str::to_string);
                        let mut attributes = BTreeMap::new();
                        if let Some(a) = a { attributes.insert("test:a".to_string(), a.clone()); }
                        if let Some(b) = b { attributes.insert("test:b".to_string(), b.clone()); }
                        request.attributes = attributes;
                        let before = rank(&old_engine, &request);
                        let after = rank(&new_engine, &Request { principal: new_ann, ..request });
                        brute_gain |= after > before;
                        brute_loss |= after < before;
                        old_holds |= before > 0;
                        new_holds |= after > 0;
                    }
                }
            }
            prop_assert!(!brute_gain || gain.is_some(), "a gain the diff missed at {level:?}:\n{old}---\n{new}");
            prop_assert!(!brute_loss || loss.is_some(), "a loss the diff missed at {level:?}:\n{old}---\n{new}");
            for change in [gain, loss].into_iter().flatten() {
                let brute = if change.kind.is_gain() { brute_gain } else { brute_loss };
                prop_assert!(brute || !inside_universe(change), "a witness brute force refutes: {change:#?}\n{old}---\n{new}");
            }
            if old_holds { prop_assert!(gain.is_none_or(|c| c.kind == ChangeKind::Widened)); }
            if new_holds { prop_assert!(loss.is_none_or(|c| c.kind == ChangeKind::Narrowed)); }
        }
    }
}
