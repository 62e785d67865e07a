//! The built binary, run as users run it: exit codes, standard input, directories, `--fix`,
//! every output format and `fmt --check`.

use std::path::Path;

use crate::support::{TempDir, stdout, warden, warden_in, warden_with_input};

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

const CLEAN: &str = "ALLOW storage:logs:read WHERE storage:k8s.cluster.name = \"prod\";\n";
const WARNING: &str = "DENY storage:logs:read;\n";
const BROKEN: &str = "ALLOW settings:obects:read;\n";

#[test]
fn exit_codes_follow_the_table() {
    let dir = TempDir::with_files(&[("clean.policy", CLEAN), ("warn.policy", WARNING), ("broken.policy", BROKEN)]);
    assert_eq!(warden(&["lint", arg(&dir.join("clean.policy"))]).status.code(), Some(0));
    assert_eq!(warden(&["lint", arg(&dir.join("warn.policy"))]).status.code(), Some(0));
    assert_eq!(warden(&["lint", "--deny-warnings", arg(&dir.join("warn.policy"))]).status.code(), Some(1));
    assert_eq!(warden(&["lint", arg(&dir.join("broken.policy"))]).status.code(), Some(1));
    let missing = warden(&["lint", arg(&dir.join("nope.policy"))]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
    assert_eq!(warden(&["lint", "--format", "yaml"]).status.code(), Some(2));
}

#[test]
fn standard_input_takes_a_kind() {
    let boundary = "storage:k8s.namespace.name IN (\"dev\");\n";
    assert_eq!(warden_with_input(&["lint", "--kind", "boundary", "-"], boundary).status.code(), Some(0));
    let as_policy = warden_with_input(&["lint", "-"], boundary);
    assert_eq!(as_policy.status.code(), Some(1));
    assert!(stdout(&as_policy).contains("expected `ALLOW` or `DENY`"));
}

#[test]
fn directories_are_searched_for_policies_and_boundaries() {
    let dir = TempDir::with_files(&[
        ("a/one.policy", CLEAN),
        ("a/b/two.boundary", "storage:host.name = \"h\";\n"),
        ("a/notes.txt", "not a policy"),
        ("a/.terraform/modules/three.policy", BROKEN),
        ("a/node_modules/four.policy", BROKEN),
        ("a/.git/five.policy", BROKEN),
    ]);
    let output = warden(&["lint", arg(&dir.join("a"))]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("checked 2 files: no problems"), "{}", stdout(&output));
    let empty = TempDir::with_files(&[("x/readme.txt", "")]);
    assert_eq!(warden(&["lint", arg(&empty.join("x"))]).status.code(), Some(2));
}

#[test]
fn fix_rewrites_the_file_and_reports_what_is_left() {
    let text = "allow storage:logs:read where storage:bucket-name = “default_logs”\nDENY settings:obects:read;\n";
    let dir = TempDir::with_files(&[("team.policy", text)]);
    let path = dir.join("team.policy");
    let output = warden(&["lint", "--fix", arg(&path)]);
    let fixed = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        fixed,
        "ALLOW storage:logs:read WHERE storage:bucket-name = \"default_logs\";\nDENY settings:obects:read;\n"
    );
    assert_eq!(output.status.code(), Some(1), "the unknown permission is left");
    assert!(stdout(&output).contains("unknown permission `settings:obects:read`"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("fixed"));
    assert_eq!(warden_with_input(&["lint", "--fix", "-"], CLEAN).status.code(), Some(2));
}

#[test]
fn json_has_the_documented_shape() {
    let output = warden_with_input(&["lint", "--format", "json", "-"], "ALLOW settings:obects:read;\n");
    let findings: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let first = &findings[0];
    assert_eq!(first["code"], "E0101");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "<stdin>");
    assert_eq!((first["start"].as_u64(), first["end"].as_u64()), (Some(6), Some(26)));
    assert_eq!((first["line"].as_u64(), first["column"].as_u64()), (Some(1), Some(7)));
    assert_eq!(first["help"], "did you mean `settings:objects:read`?");
    for field in ["message", "labels", "fix", "end_line", "end_column"] {
        assert!(first.get(field).is_some(), "missing {field}");
    }
}

#[test]
fn sarif_is_what_code_scanning_reads() {
    let output = warden_with_input(&["lint", "--format", "sarif", "-"], "allow storage:logs:read;\n");
    let log: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "S0401");
    assert_eq!(result["level"], "note");
    let index = result["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "S0401");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!((region["startLine"].as_u64(), region["startColumn"].as_u64()), (Some(1), Some(1)));
    assert_eq!(result["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"], "ALLOW");
}

#[test]
fn fmt_rewrites_checks_and_refuses_broken_files() {
    let messy =
        "allow  storage:logs:read,storage:metrics:read where storage:bucket-name='x' and global:week-day = 'monday';\n";
    let dir = TempDir::with_files(&[("m.policy", messy), ("broken.policy", "ALLOW storage:logs:read WHERE \"x\n")]);
    let check = warden(&["fmt", "--check", arg(&dir.join("m.policy"))]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stdout(&check).contains("+ALLOW storage:logs:read, storage:metrics:read"), "{}", stdout(&check));
    assert_eq!(std::fs::read_to_string(dir.join("m.policy")).unwrap(), messy, "--check changes nothing");

    assert_eq!(warden(&["fmt", arg(&dir.join("m.policy"))]).status.code(), Some(0));
    let formatted = std::fs::read_to_string(dir.join("m.policy")).unwrap();
    assert_eq!(
        formatted,
        "ALLOW storage:logs:read, storage:metrics:read\n  WHERE storage:bucket-name = \"x\"\n    AND global:week-day = \"Monday\";\n"
    );
    assert_eq!(warden(&["fmt", "--check", arg(&dir.join("m.policy"))]).status.code(), Some(0));

    let broken = warden(&["fmt", arg(&dir.join("broken.policy"))]);
    assert_eq!(broken.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(dir.join("broken.policy")).unwrap(), "ALLOW storage:logs:read WHERE \"x\n");
}

#[test]
fn bundled_policies_are_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let output = warden(&["lint", "--deny-warnings", arg(&root)]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

/// A typo in warden.toml is an error with the key meant, in the IAM tables and in the
/// `[deployment]` table the token commands read alike.
#[test]
fn lint_of_a_tenant_names_the_key_a_typo_in_warden_toml_meant() {
    let config = "[account]\nid = \"acme\"\n\n[deployment]\ntoken_limt = 5\ndatabase = \"tokens.db\"\n";
    let dir = TempDir::with_files(&[("warden.toml", config)]);
    let output = warden_in(&dir, &["lint", "."]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    insta::assert_snapshot!("deployment_typo", stdout(&output));
    std::fs::write(dir.join("warden.toml"), config.replace("id = ", "idd = ")).unwrap();
    let both = stdout(&warden_in(&dir, &["lint", "--format", "json", "."]));
    let findings: Vec<serde_json::Value> = serde_json::from_str(&both).unwrap();
    let helps: Vec<&str> = findings.iter().map(|f| f["help"].as_str().unwrap()).collect();
    assert_eq!(helps, ["did you mean `id`?", "did you mean `token_limit`?"], "{both}");
}

/// A typo in a `--catalog` file names the key meant too, after TOML's own message.
#[test]
fn a_typo_in_a_catalog_file_names_the_key_meant() {
    let dir = TempDir::with_files(&[("catalog.toml", "[[service]]\nnme = \"billing\"\n"), ("x.policy", CLEAN)]);
    let output = warden_in(&dir, &["lint", "--catalog", "catalog.toml", "x.policy"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown field `nme`"), "{stderr}");
    assert!(stderr.contains("`token-scope`\ndid you mean `name`?\n"), "{stderr}");
}

#[test]
fn catalog_lists_a_service() {
    let output = warden(&["catalog", "iam"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("iam:service-user-email: =, IN"), "{}", stdout(&output));
    assert_eq!(warden(&["catalog", "storag"]).status.code(), Some(2));
}

#[test]
fn explain_shows_a_person_a_few_statements_of_a_large_conditional_answer_and_json_all_of_them() {
    let statements: String = (0..30)
        .map(|i| format!("ALLOW storage:logs:read WHERE storage:k8s.namespace.name = \"team-{i}\";\n"))
        .collect();
    let config = "[account]\nid = \"acme\"\n[[user]]\nid = \"u-alice\"\nemail = \"alice@acme.example\"\n\
                  [[group]]\nid = \"sre\"\nmembers = [\"alice@acme.example\"]\n\
                  [[binding]]\npolicy = \"teams\"\ngroups = [\"sre\"]\nlevel = \"account\"\n";
    let dir = TempDir::with_files(&[("warden.toml", config), ("policies/teams.policy", &statements)]);
    let ask = |format: &str| {
        let args = ["explain", "--tenant", arg(&dir), "--user", "alice@acme.example", "storage:logs:read"];
        let output = warden(&[&args[..], &["--format", format]].concat());
        assert_eq!(output.status.code(), Some(1), "conditional: {}", String::from_utf8_lossy(&output.stderr));
        stdout(&output)
    };
    let human = ask("human");
    assert_eq!(human.matches("Depends: ALLOW").count(), 20, "{human}");
    assert!(!human.contains("\"team-29\""), "{human}");
    let tail: Vec<&str> = human.lines().rev().take(3).collect();
    insta::assert_snapshot!(tail.into_iter().rev().collect::<Vec<_>>().join("\n"), @r"
    … and 10 more statements that depend on the missing attributes, left out
    residual policy: left out, too large to show (the decision stands)
    `--format json` writes the whole explanation, every statement and the residual
    ");

    let json: serde_json::Value = serde_json::from_str(&ask("json")).unwrap();
    assert_eq!(json["deciding"].as_array().unwrap().len(), 30);
    assert_eq!(json["residual"].as_str().unwrap().lines().count(), 30);
    assert!(json.get("residual_omitted").is_none() && json.get("deciding_omitted").is_none(), "{json}");
}
