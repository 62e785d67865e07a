//! `warden lint` on host files written to hurt it: small files that expand without end, paths
//! that reach out of the module, bytes that are no text. Each must end with a finding or a clear
//! error, soon, and never read what it was not asked to read.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{TempDir, stderr, stdout, warden_in};

/// `warden ARGS` in `dir`, killed if it runs longer than a linter ever should. Its output is
/// read while it runs (a full pipe would stall it).
fn lint_within(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let pid = child.id() as libc::pid_t;
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    match finished.recv_timeout(limit) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            // SAFETY: `pid` is the child started above, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("`warden {}` still ran after {limit:?}", args.join(" "));
        }
    }
}

/// A `dynatrace_iam_policy` resource named `name` reading `text`, with `extra` lines first.
fn policy(name: &str, extra: &str, text: &str) -> String {
    format!(
        "resource \"dynatrace_iam_policy\" \"{name}\" {{\n{extra}  name            = \"{name}\"\n  account         = \"acme\"\n  statement_query = {text}\n}}\n"
    )
}

/// A policy with one unknown permission (`E0101`), as an HCL string.
const MISTYPED: &str = "\"ALLOW storage:logs:red;\"";

/// A scratch directory holding one Terraform file, `main.tf`.
fn module(tf: &str) -> TempDir {
    let dir = TempDir::new();
    std::fs::write(dir.join("main.tf"), tf).unwrap();
    dir
}

/// The exit code and findings of `warden lint --format json .` in `dir`, within `limit`.
fn findings_within(dir: &Path, limit: Duration) -> (Option<i32>, Vec<serde_json::Value>) {
    let output = lint_within(dir, &["lint", "--format", "json", "."], limit);
    let findings = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&output)));
    (output.status.code(), findings)
}

#[test]
fn a_yaml_alias_bomb_is_refused_at_once() {
    // 30 lines whose aliases double at each line: 2^30 copies of one policy.
    let dir = TempDir::new();
    let mut yaml = String::from("a0: &a0 [\"ALLOW storage:logs:read;\", \"ALLOW storage:logs:read;\"]\n");
    for level in 1..30 {
        yaml.push_str(&format!("a{level}: &a{level} [*a{}, *a{}]\n", level - 1, level - 1));
    }
    yaml.push_str("policies:\n  - id: p\n    name: p\n    policy: *a29\n");
    std::fs::write(dir.join("accounts.yaml"), yaml).unwrap();
    let output = lint_within(&dir, &["lint", "accounts.yaml"], Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("E0701"), "{text}");
    assert!(text.contains("its aliases expand to more than 16 MiB"), "{text}");

    // Aliases that repeat a little, as monaco projects reuse a list of groups, still read.
    let reuse = "groups: &g [\"a\", \"b\"]\nusers:\n  - email: a@x.example\n    groups: *g\n  - email: b@x.example\n    groups: *g\npolicies:\n  - id: p\n    name: p\n    policy: \"ALLOW storage:logs:read;\"\n";
    std::fs::write(dir.join("accounts.yaml"), reuse).unwrap();
    let output = lint_within(&dir, &["lint", "accounts.yaml"], Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
}

#[test]
fn lint_reads_no_file_outside_the_directories_it_was_given() {
    // A pull request that CI lints could point `file()` at the runner's environment or at a
    // file beside the checkout; the findings would quote it into a public log.
    let scratch = TempDir::new();
    let outside = scratch.join("outside.txt");
    std::fs::write(&outside, "CI_SECRET=hunter2hunter2\n").unwrap();
    let repo = scratch.join("repo");
    std::fs::create_dir_all(repo.join("iam")).unwrap();
    std::fs::write(repo.join("iam/reader.pol"), "ALLOW storage:logs:red;\n").unwrap();
    std::os::unix::fs::symlink("reader.pol", repo.join("iam/alias.pol")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("iam/inner.pol")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.join("leak.policy")).unwrap();
    let resource = |name: &str, text: &str| policy(name, "", text);
    let main = [
        resource("absolute", &format!("file(\"{}\")", outside.display())),
        resource("climbing", "file(\"${path.module}/../../outside.txt\")"),
        resource("linked", "file(\"${path.module}/inner.pol\")"),
        resource("environ", "templatefile(\"/proc/self/environ\", {})"),
        resource("inside", "file(\"${path.module}/alias.pol\")"),
    ]
    .concat();
    std::fs::write(repo.join("iam/main.tf"), main).unwrap();

    let lint = |format: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(["lint", "--format", format, "."])
            .current_dir(&repo)
            .env("NO_COLOR", "1")
            .env("CI_SECRET", "hunter2hunter2")
            .output()
            .unwrap();
        (String::from_utf8_lossy(&output.stdout).into_owned(), stderr(&output))
    };
    for format in ["human", "json", "sarif"] {
        let (out, err) = lint(format);
        assert!(!out.contains("hunter2") && !err.contains("hunter2"), "{format}: {out}{err}");
    }
    let (out, err) = lint("json");
    let findings: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let outside_refusals: Vec<String> = findings
        .iter()
        .filter(|f| f["code"] == "E0706")
        .map(|f| format!("{}:{}", f["file"].as_str().unwrap(), f["line"]))
        .collect();
    assert_eq!(outside_refusals, ["iam/main.tf:4", "iam/main.tf:9", "iam/main.tf:14", "iam/main.tf:19"], "{out}");
    assert!(
        findings
            .iter()
            .filter(|f| f["code"] == "E0706")
            .all(|f| f["message"].as_str().unwrap().contains("outside the directories warden was asked to read")),
        "{out}"
    );
    // Files inside, and links that stay inside, are read as before.
    assert!(
        findings.iter().any(|f| f["code"] == "E0101" && f["file"].as_str().unwrap().ends_with("reader.pol")),
        "{out}"
    );
    // The link found by the walk is passed over, and `-v` says why.
    let verbose = warden_in(&repo, &["lint", "-v", "."]);
    let said = String::from_utf8_lossy(&verbose.stderr).into_owned();
    assert!(said.contains("skipped ./leak.policy: a symlink to a file outside the directory walked"), "{said}");
    assert!(!String::from_utf8_lossy(&verbose.stdout).contains("hunter2"));

    // Named explicitly, a file outside is the person's choice and is read.
    let named = warden_in(&repo, &["lint", outside.to_str().unwrap()]);
    assert_eq!(named.status.code(), Some(1), "{}", String::from_utf8_lossy(&named.stderr));
}

#[test]
fn a_module_that_calls_itself_is_not_expanded_without_end() {
    // Nine lines: each instance makes four more, sixteen levels deep (4^16 instances).
    let tf = format!("module \"again\" {{\n  source = \"./\"\n  count  = 4\n}}\n{}", policy("p", "", MISTYPED));
    let (_, findings) = findings_within(&module(&tf), Duration::from_secs(20));
    let codes: Vec<&str> = findings.iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["S0705", "E0101"], "{findings:#?}");
    let message = findings[0]["message"].as_str().unwrap();
    assert!(message.contains("more than 1000 module instances"), "{message}");
    assert_eq!((findings[0]["line"].as_u64(), findings[0]["column"].as_u64()), (Some(1), Some(1)));
}

/// A module whose `locals` are `a0` = a policy and `a{i}` = `next(i - 1)`, read by a policy.
fn locals_module(levels: usize, next: impl Fn(usize) -> String) -> TempDir {
    let mut tf = format!("locals {{\n  a0 = {MISTYPED}\n");
    for level in 1..levels {
        tf.push_str(&format!("  a{level} = {}\n", next(level - 1)));
    }
    tf.push_str("}\n");
    tf.push_str(&policy("p", "", &format!("local.a{}", levels - 1)));
    module(&tf)
}

#[test]
fn terraform_values_that_nest_or_grow_without_end_are_not_checked_rather_than_fatal() {
    let cases = [
        // 5,000 locals each naming the one before: the evaluation recursed until the stack ran out.
        ("chain", locals_module(5_000, |before| format!("local.a{before}")), "references nested deeper than"),
        // 40 lines, each doubling the text before: 2^40 copies of one policy.
        (
            "doubling",
            locals_module(40, |before| format!("\"${{local.a{before}}}${{local.a{before}}}\"")),
            "more than 64 MiB of values",
        ),
        (
            "lists",
            locals_module(40, |before| format!("[local.a{before}, local.a{before}]")),
            "more than 64 MiB of values",
        ),
    ];
    for (case, dir, why) in cases {
        let (code, findings) = findings_within(&dir, Duration::from_secs(30));
        assert_eq!(code, Some(0), "{case}: {findings:#?}");
        assert!(
            findings.iter().any(|f| f["code"] == "S0705" && f["message"].as_str().unwrap().contains(why)),
            "{case}: {findings:#?}"
        );
    }
}

#[test]
fn a_count_of_a_billion_is_not_expanded() {
    // One attribute asked for 10^9 instances: warden tried to allocate 120 GB and aborted.
    let dir = module(&policy("p", "  count           = 1000000000\n", MISTYPED));
    let (code, findings) = findings_within(&dir, Duration::from_secs(30));
    assert_eq!(code, Some(0), "{findings:#?}");
    let said: Vec<(&str, u64)> =
        findings.iter().map(|f| (f["message"].as_str().unwrap(), f["line"].as_u64().unwrap())).collect();
    assert_eq!(
        said,
        [(
            "`count` was not evaluated: the configuration makes more than 100000 resource instances and dynamic blocks",
            2
        )]
    );
}

#[test]
fn a_dynamic_block_over_a_huge_list_is_not_expanded() {
    // Twenty-two lines: a list of 2^21 items, each making a `policy` block of a binding.
    let mut tf = String::from("locals {\n  a0 = [\"x\"]\n");
    for level in 1..22 {
        tf.push_str(&format!("  a{level} = concat(local.a{}, local.a{})\n", level - 1, level - 1));
    }
    tf.push_str("}\n");
    tf.push_str(&policy("p", "", MISTYPED));
    tf.push_str(
        "resource \"dynatrace_iam_policy_bindings_v2\" \"b\" {\n  group   = \"g\"\n  account = \"acme\"\n  dynamic \"policy\" {\n    for_each = local.a21\n    content {\n      id = dynatrace_iam_policy.p.id\n    }\n  }\n}\n",
    );
    let (code, findings) = findings_within(&module(&tf), Duration::from_secs(30));
    assert_eq!(code, Some(1), "{findings:#?}");
    let said: Vec<(&str, u64)> =
        findings.iter().map(|f| (f["message"].as_str().unwrap(), f["line"].as_u64().unwrap())).collect();
    assert!(
        said.contains(&(
            "`dynamic \"policy\"` was not evaluated: the configuration makes more than 100000 resource instances and dynamic blocks",
            34
        )),
        "{said:#?}"
    );
}

/// The start of a `locals` block whose `a16` is a list of 2^16 distinct names, made in 17 lines.
fn distinct_names() -> String {
    let mut tf = String::from("locals {\n  a0 = [\"x\"]\n");
    for level in 1..17 {
        let before = level - 1;
        tf.push_str(&format!("  a{level} = concat(local.a{before}, [for v in local.a{before} : \"${{v}}{level}\"])\n"));
    }
    tf
}

#[test]
fn distinct_and_merge_of_large_collections_take_linear_time() {
    // 2^16 names made by doubling a list, then `distinct`, `merge` and a `for` map of them:
    // quadratic, they took hours.
    let mut tf = distinct_names();
    tf.push_str("  by_name = merge({ for v in local.a16 : v => v }, { for v in local.a16 : v => \"again\" })\n}\n");
    tf.push_str(
        "resource \"dynatrace_iam_group\" \"g\" {\n  for_each = toset(distinct(local.a16))\n  name     = each.key\n}\n",
    );
    tf.push_str("resource \"dynatrace_iam_group\" \"h\" {\n  for_each = local.by_name\n  name     = each.value\n}\n");
    let dir = module(&tf);
    let output = lint_within(&dir, &["lint", "."], Duration::from_secs(60));
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
}

#[test]
fn a_child_module_outside_is_not_read_and_says_so() {
    let scratch = TempDir::new();
    let outside = scratch.join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("main.tf"), policy("o", "", MISTYPED)).unwrap();
    let repo = scratch.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("main.tf"), "module \"iam\" {\n  source = \"../elsewhere\"\n}\n").unwrap();
    let output = warden_in(&repo, &["lint", "--format", "json", "."]);
    let findings: Vec<serde_json::Value> = serde_json::from_str(&stdout(&output)).unwrap();
    let said: Vec<(&str, &str, u64)> = findings
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["file"].as_str().unwrap(), f["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(said, [("E0706", "main.tf", 2)], "{findings:#?}");
    assert!(findings[0]["message"].as_str().unwrap().contains("outside the directories"), "{findings:#?}");
}

#[test]
fn instances_that_look_themselves_up_in_a_large_map_take_linear_time() {
    // A map of 2^16 entries made in 17 lines, and a `for_each` over it whose every instance
    // reads the map: each read copied the whole map and searched it, for minutes.
    let mut tf = distinct_names();
    tf.push_str("  m = { for v in local.a16 : v => { name = v } }\n}\n");
    tf.push_str(
        "resource \"dynatrace_iam_group\" \"g\" {\n  for_each = local.m\n  name     = local.m[each.key].name\n}\n",
    );
    let (code, findings) = findings_within(&module(&tf), Duration::from_secs(30));
    assert_eq!(code, Some(0), "{findings:#?}");
}

#[test]
fn many_unresolved_parts_are_told_in_linear_time() {
    // 20,000 statements, each with an interpolation warden cannot resolve: finding whether each
    // stood inside a string scanned the policy from its top every time (minutes).
    let statements: String = (0..20_000)
        .map(|i| format!("    ALLOW storage:logs:read WHERE storage:k8s.namespace.name = \"${{var.ns{i}}}\";\n"))
        .collect();
    let tf = policy("p", "", &format!("<<-EOT\n{statements}  EOT"));
    let (code, findings) = findings_within(&module(&tf), Duration::from_secs(60));
    assert_eq!(code, Some(0));
    assert_eq!(findings.iter().filter(|f| f["code"] == "S0705").count(), 20_000);
}
