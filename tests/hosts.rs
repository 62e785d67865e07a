//! `warden lint` and `warden fmt` on the files admins keep policies in (fixtures in
//! `tests/hosts/`, shaped after the Terraform provider's docs, monaco's test resources and the
//! samples, Crossplane, dtiam and IAM API exports): every finding at the host file's line and
//! column through each escape form, `--fix` escaped for the host and idempotent, `fmt` only
//! where the host holds lines.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{TempDir, copy_dir, stderr, stdout, warden_in};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hosts");

fn findings(dir: &Path, path: &str) -> Vec<Value> {
    let output = warden_in(dir, &["lint", "--format", "json", path]);
    serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&output), stderr(&output)))
}

/// A copy of the fixtures to change.
fn copy_of_fixtures() -> TempDir {
    let dir = TempDir::new();
    copy_dir(Path::new(FIXTURES), &dir);
    dir
}

/// The text between the first pair of backticks of a message.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    Some(&message[start..start + message[start..].find('`')?])
}

/// Every finding points at host bytes that show what it is about: the unknown name as it is
/// written, the quote that is wrong, the interpolation not checked.
fn positions_hold(dir: &Path, findings: &[Value]) {
    for finding in findings {
        let file = std::fs::read_to_string(dir.join(finding["file"].as_str().unwrap())).unwrap();
        let (start, end) = (finding["start"].as_u64().unwrap() as usize, finding["end"].as_u64().unwrap() as usize);
        let shown = &file[start..end];
        let line = file[..start].matches('\n').count() + 1;
        let column = file[..start].rsplit('\n').next().unwrap().chars().count() + 1;
        assert_eq!(
            (finding["line"].as_u64().unwrap() as usize, finding["column"].as_u64().unwrap() as usize),
            (line, column)
        );
        let message = finding["message"].as_str().unwrap();
        match finding["code"].as_str().unwrap() {
            "E0101" | "E0110" | "S0705" => assert_eq!(Some(shown), quoted(message), "{finding}"),
            "E0004" => assert_eq!(shown, "“", "{finding}"),
            "E0704" => assert_eq!(shown, quoted(message).unwrap(), "{finding}"),
            "S0401" => assert_eq!(shown, quoted(message).unwrap(), "{finding}"),
            _ => {}
        }
    }
}

#[test]
fn every_format_reports_at_the_host_line_and_column() {
    let dir = Path::new(FIXTURES);
    for format in ["terraform", "terraform-json", "monaco", "crossplane", "dtiam", "iam"] {
        let found = findings(dir, format);
        assert!(!found.is_empty(), "{format}");
        positions_hold(dir, &found);
        let brief: Vec<Value> = found
            .iter()
            .map(|f| {
                serde_json::json!({
                    "at": format!("{}:{}:{}", f["file"].as_str().unwrap(), f["line"], f["column"]),
                    "code": f["code"], "message": f["message"], "resource": f["resource"], "notes": f["notes"],
                })
            })
            .collect();
        insta::assert_json_snapshot!(format!("lint_{format}"), brief);
    }
}

#[test]
fn a_terraform_module_as_a_person_reads_it() {
    let output = warden_in(Path::new(FIXTURES), &["lint", "terraform"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("lint_terraform_human", stdout(&output));
}

#[test]
fn sarif_points_code_scanning_at_the_host_line() {
    let output = warden_in(Path::new(FIXTURES), &["lint", "--format", "sarif", "terraform/main.tf"]);
    let log: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let run = &log["runs"][0];
    let rules: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    for code in ["E0701", "W0702", "E0703", "E0704", "S0705", "E0706", "E0707", "E0710", "W0711", "E0601"] {
        assert!(rules.contains(&code), "{code} is in the rule list");
    }
    let unknown = run["results"].as_array().unwrap().iter().find(|r| r["ruleId"] == "E0101").unwrap();
    let location = &unknown["locations"][0];
    assert_eq!(location["physicalLocation"]["artifactLocation"]["uri"], "terraform/main.tf");
    assert_eq!(location["physicalLocation"]["region"]["startLine"], 17);
    assert_eq!(location["physicalLocation"]["region"]["startColumn"], 11);
    assert_eq!(location["logicalLocations"][0]["fullyQualifiedName"], "dynatrace_iam_policy.settings");
}

#[test]
fn fixes_are_escaped_for_the_host_and_idempotent() {
    let dir = copy_of_fixtures();
    let first = warden_in(&dir, &["lint", "--fix", "."]);
    assert!(stderr(&first).contains("fixed 4 problems in terraform/main.tf"), "{}", stderr(&first));
    let tf = std::fs::read_to_string(dir.join("terraform/main.tf")).unwrap();
    assert!(tf.contains(r#"AND storage:bucket-name = \"default_logs\";""#), "the quotes are escaped for HCL");
    assert!(
        tf.contains(r#"storage:bucket-name = "$${bindParam:bucket}";"#),
        "the placeholder is escaped for Terraform"
    );
    assert!(tf.contains(r#"statement_query = "ALLOW storage:metrics:read;""#), "the inner quotes are gone");
    assert!(
        tf.contains("    ALLOW settings:objects:read, settings:schemas:read\n"),
        "the heredoc keeps its indentation"
    );
    let template = std::fs::read_to_string(dir.join("terraform/templates/team.tftpl")).unwrap();
    assert!(template.contains(r#""$${bindParam:team}";"#));
    let boundary = std::fs::read_to_string(dir.join("dtiam/team-boundary.yaml")).unwrap();
    assert!(boundary.ends_with("  storage:dt.security_context IN (\"LOB5-Production\");\n"), "{boundary}");
    // Nothing fixable is left, and a second run changes nothing.
    let after = findings(&dir, ".");
    assert!(after.iter().all(|f| f["fix"].is_null()), "{after:?}");
    assert!(after.iter().all(|f| f["code"] != "E0701"), "every host still parses");
    let second = warden_in(&dir, &["lint", "--fix", "."]);
    assert_eq!(stderr(&second), "");
    let original = std::fs::read_to_string(Path::new(FIXTURES).join("terraform/main.tf")).unwrap();
    let changed: Vec<(&str, &str)> = original.lines().zip(tf.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(changed.len(), 4, "only the fixed lines change: {changed:?}");
}

#[test]
fn fmt_lays_out_heredocs_and_block_scalars_only() {
    let dir = copy_of_fixtures();
    std::fs::write(
        dir.join("terraform/long.tf"),
        "resource \"dynatrace_iam_policy\" \"long\" {\n  name = \"x\" # keep me\n  statement_query = <<-EOT\n    allow storage:logs:read where storage:k8s.cluster.name in (\"a\",\"b\") and storage:k8s.namespace.name = \"payments\" and storage:host.name = \"h\";\n\n    ALLOW storage:metrics:read;\n  EOT\n  quoted = \"ALLOW   storage:logs:read;\"\n}\n",
    )
    .unwrap();
    let check = warden_in(&dir, &["fmt", "--check", "terraform/long.tf", "monaco/accounts.yaml"]);
    assert_eq!(check.status.code(), Some(1));
    insta::assert_snapshot!("fmt_check_hosts", stdout(&check));
    assert_eq!(warden_in(&dir, &["fmt", "."]).status.code(), Some(0));
    assert_eq!(warden_in(&dir, &["fmt", "--check", "."]).status.code(), Some(0), "fmt is idempotent");
    let tf = std::fs::read_to_string(dir.join("terraform/main.tf")).unwrap();
    let original = std::fs::read_to_string(Path::new(FIXTURES).join("terraform/main.tf")).unwrap();
    assert_eq!(tf, original, "quoted strings and heredocs with interpolations stay as they are");
}

#[test]
fn crlf_reads_as_lf() {
    let dir = copy_of_fixtures();
    let yaml = std::fs::read_to_string(dir.join("monaco/accounts.yaml")).unwrap();
    std::fs::write(dir.join("monaco/accounts.yaml"), yaml.replace('\n', "\r\n")).unwrap();
    let lf = findings(Path::new(FIXTURES), "monaco");
    let crlf = findings(&dir, "monaco");
    let at = |f: &Vec<Value>| {
        f.iter().map(|f| (f["code"].clone(), f["line"].clone(), f["column"].clone())).collect::<Vec<_>>()
    };
    assert_eq!(at(&crlf), at(&lf));
}

#[test]
fn broken_hosts_are_findings_and_other_files_are_skipped_quietly() {
    let dir = copy_of_fixtures();
    std::fs::write(
        dir.join("monaco/broken.yaml"),
        "policies:\n  - id: x\n    policy: |-\n  ALLOW a:b:c;\n   - bad: [\n",
    )
    .unwrap();
    std::fs::write(dir.join("terraform/broken.tf"), "resource \"dynatrace_iam_policy\" \"x\" {\n  name = \n}\n")
        .unwrap();
    std::fs::write(dir.join("iam/broken.json"), "{\"statementQuery\": \"ALLOW a:b:c;\",}\n").unwrap();
    std::fs::write(dir.join("ci.yaml"), "on: push\njobs: {}\n").unwrap();
    std::fs::write(dir.join("package.json"), "{\"name\": \"x\"}\n").unwrap();
    let found = findings(&dir, ".");
    let invalid: Vec<String> = found
        .iter()
        .filter(|f| f["code"] == "E0701")
        .map(|f| format!("{}:{}:{}", f["file"].as_str().unwrap(), f["line"], f["column"]))
        .collect();
    assert_eq!(invalid, ["iam/broken.json:1:34", "monaco/broken.yaml:5:9", "terraform/broken.tf:2:10"]);
    let verbose = warden_in(&dir, &["lint", "-v", "."]);
    for skipped in ["ci.yaml", "package.json", "terraform/variables.tf"] {
        assert!(
            stderr(&verbose).contains(&format!("skipped {skipped}: no policy or boundary text")),
            "{}",
            stderr(&verbose)
        );
    }
}

#[test]
fn standard_input_and_named_files_take_a_reader() {
    let tf = "resource \"dynatrace_iam_policy\" \"x\" {\n  statement_query = \"ALLOW storage:logs:red;\"\n}\n";
    let mut child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["lint", "--from", "terraform", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), tf.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let found: Vec<Value> = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        (found[0]["code"].as_str(), found[0]["line"].as_u64(), found[0]["column"].as_u64()),
        (Some("E0101"), Some(2), Some(28))
    );
    // A named file with another extension is read as `--from` says.
    let dir = copy_of_fixtures();
    std::fs::copy(dir.join("dtiam/devops-policy.yaml"), dir.join("devops.txt")).unwrap();
    let found = findings(&dir, "devops.txt");
    assert!(found.iter().any(|f| f["code"] == "E0001" || f["code"] == "E0008"), "read as a policy by default");
    let output = warden_in(&dir, &["lint", "--from", "dtiam", "--format", "json", "devops.txt"]);
    let found: Vec<Value> = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["line"], 11);
}

#[test]
fn a_module_is_read_when_linted_from_its_own_directory() {
    // `cd infra && warden lint .`: the module's directory is the working directory.
    let dir = TempDir::new();
    std::fs::write(
        dir.join("main.tf"),
        "resource \"dynatrace_iam_policy\" \"p\" {\n  name            = \"p\"\n  account         = \"acme\"\n  statement_query = \"ALLOW storage:logs:red;\"\n}\n",
    )
    .unwrap();
    for path in [".", "main.tf"] {
        let codes: Vec<String> = findings(&dir, path).iter().map(|f| f["code"].as_str().unwrap().to_string()).collect();
        assert_eq!(codes, ["E0101"], "warden lint {path}");
    }
}

#[test]
fn a_terraform_file_with_a_byte_order_mark_reads_as_terraform_reads_it() {
    // Windows editors write a UTF-8 byte order mark; Terraform ignores it (hcl since 2018).
    let dir = TempDir::new();
    let tf = "resource \"dynatrace_iam_policy\" \"p\" {\r\n  name            = \"p\"\r\n  account         = \"acme\"\r\n  statement_query = \"ALLOW storage:logs:red;\"\r\n}\r\n";
    std::fs::write(dir.join("main.tf"), format!("\u{feff}{tf}")).unwrap();
    let at = |path: &str| -> Vec<(String, u64, u64)> {
        let found = findings(&dir, path);
        found
            .iter()
            .map(|f| {
                (f["code"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap())
            })
            .collect()
    };
    assert_eq!(at("main.tf"), [("E0101".to_string(), 4, 28)]);
    // PowerShell's `Out-File -Encoding utf8` writes IAM API exports with one too.
    std::fs::write(
        dir.join("export.json"),
        "\u{feff}[\r\n  {\"uuid\": \"p1\", \"statementQuery\": \"ALLOW storage:logs:red;\"}\r\n]\r\n",
    )
    .unwrap();
    assert_eq!(at("export.json"), [("E0101".to_string(), 2, 43)]);
}
