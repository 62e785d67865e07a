//! `warden diff` as users run it: two tenant directories, a git revision, two policy files;
//! every output format and exit code. The human and Markdown outputs are snapshots.

use std::path::Path;
use std::process::Command;

use crate::support::{TempDir, copy_dir, example_tenant, stderr, stdout, warden_in};

/// Replaces `from` with `to` in a file, which must hold it.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} does not hold {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// `old/` and `new/` copies of the example tenant in a scratch directory.
fn two_examples() -> TempDir {
    let dir = TempDir::new();
    copy_dir(example_tenant(), &dir.join("old"));
    copy_dir(example_tenant(), &dir.join("new"));
    dir
}

/// The pull request of the README: payments developers also read the dev cluster, and the
/// platform admins no longer read the users of the account.
fn the_pull_request(new: &Path) {
    edit(
        &new.join("warden.toml"),
        "\"prod-us-1\", \"staging-eu-1\"]",
        "\"prod-us-1\", \"staging-eu-1\", \"dev-eu-1\"]",
    );
    edit(&new.join("policies/token-admin.policy"), "iam:boundaries:read, iam:users:read,", "iam:boundaries:read,");
}

#[test]
fn a_pull_request_reads_as_who_gains_and_loses_what() {
    let dir = two_examples();
    the_pull_request(&dir.join("new"));
    let human = warden_in(&dir, &["diff", "old", "new"]);
    assert_eq!(human.status.code(), Some(1), "{}", stderr(&human));
    insta::assert_snapshot!("pull_request_human", stdout(&human));
    let markdown = warden_in(&dir, &["diff", "old", "new", "--format", "markdown"]);
    assert_eq!(markdown.status.code(), Some(1));
    insta::assert_snapshot!("pull_request_markdown", stdout(&markdown));
}

#[test]
fn json_gives_each_change_with_its_witness_and_statements() {
    let dir = two_examples();
    the_pull_request(&dir.join("new"));
    let output = warden_in(&dir, &["diff", "old", "new", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("one JSON document");
    assert_eq!(json["summary"], "2 principals gain access to 3 permissions; 2 principals lose access to 1 permission");
    assert_eq!(json["unchanged"], false);
    let changes = json["changes"].as_array().unwrap();
    let bob = changes
        .iter()
        .find(|c| {
            c["principal"] == "bob@acme.example" && c["permission"] == "storage:logs:read" && c["environment"] == "prod"
        })
        .expect("bob's logs in prod");
    assert_eq!(bob["kind"], "widened");
    assert_eq!(bob["witness"]["attributes"]["storage:k8s.cluster.name"], "dev-eu-1");
    assert_eq!((bob["old"]["decision"].as_str(), bob["new"]["decision"].as_str()), (Some("deny"), Some("allow")));
    let statement = &bob["new"]["statements"][0];
    assert_eq!(
        (statement["file"].as_str(), statement["line"].as_u64()),
        (Some("new/policies/team-logs.policy"), Some(4))
    );
    assert_eq!(statement["binding_at"], "new/warden.toml:154");
    let lost = changes.iter().find(|c| c["kind"] == "lost").expect("a lost access");
    assert_eq!(
        (lost["permission"].as_str(), lost["old"]["reason"].as_str()),
        (Some("iam:users:read"), Some("allowed"))
    );
}

#[test]
fn fail_on_gained_ignores_lost_access() {
    let dir = two_examples();
    edit(&dir.join("new/policies/token-admin.policy"), "iam:boundaries:read, iam:users:read,", "iam:boundaries:read,");
    assert_eq!(warden_in(&dir, &["diff", "old", "new"]).status.code(), Some(1));
    let output = warden_in(&dir, &["diff", "old", "new", "--fail-on", "gained"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output)
            .ends_with("0 principals gain access to 0 permissions; 2 principals lose access to 1 permission\n")
    );
    // A new DENY of a conditional kind narrows; `--fail-on gained` still passes.
    edit(
        &dir.join("new/policies/security-deny.policy"),
        "(\"vault\", \"secrets\")",
        "(\"vault\", \"secrets\", \"kube-system\")",
    );
    assert_eq!(warden_in(&dir, &["diff", "old", "new", "--fail-on", "gained"]).status.code(), Some(0));
    // Removing one namespace from it gains, and fails.
    edit(&dir.join("new/policies/security-deny.policy"), "(\"vault\", \"secrets\", \"kube-system\")", "(\"vault\")");
    let output = warden_in(&dir, &["diff", "old", "new", "--fail-on", "gained"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("storage:k8s.namespace.name = \"secrets\""), "{}", stdout(&output));
}

#[test]
fn a_reformatted_tenant_is_unchanged() {
    let dir = two_examples();
    let formatted = warden_in(&dir, &["fmt", "new/policies"]);
    assert_eq!(formatted.status.code(), Some(0), "{}", stderr(&formatted));
    // Reordered statements, and an ALLOW split per permission.
    edit(
        &dir.join("new/policies/dev-workspace.policy"),
        "ALLOW app-engine:apps:run, app-engine:functions:run;\nALLOW settings:objects:read, settings:schemas:read;",
        "ALLOW settings:objects:read, settings:schemas:read;\nALLOW app-engine:functions:run;\nALLOW app-engine:apps:run;",
    );
    let output = warden_in(&dir, &["diff", "old", "new"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    insta::assert_snapshot!("unchanged_human", stdout(&output));
    let markdown = warden_in(&dir, &["diff", "old", "new", "--format", "markdown"]);
    insta::assert_snapshot!("unchanged_markdown", stdout(&markdown));
}

#[test]
fn one_policy_file_against_another() {
    let dir = TempDir::new();
    let old = "allow storage:logs:read, storage:spans:read where storage:k8s.namespace.name in (\"a\", \"b\")\n";
    std::fs::write(dir.join("old.policy"), old).unwrap();
    // `lint --fix` and `fmt` change the text, never the meaning.
    std::fs::write(dir.join("fixed.policy"), old).unwrap();
    assert_eq!(warden_in(&dir, &["lint", "--fix", "fixed.policy"]).status.code(), Some(0));
    assert_eq!(warden_in(&dir, &["fmt", "fixed.policy"]).status.code(), Some(0));
    assert_ne!(std::fs::read_to_string(dir.join("fixed.policy")).unwrap(), old);
    let output = warden_in(&dir, &["diff", "old.policy", "fixed.policy"]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    // Reordered and split: the same.
    std::fs::write(
        dir.join("split.policy"),
        "ALLOW storage:spans:read WHERE storage:k8s.namespace.name IN ('b', 'a');\nALLOW storage:logs:read WHERE storage:k8s.namespace.name = 'b';\nALLOW storage:logs:read WHERE storage:k8s.namespace.name MATCH ('a');\n",
    )
    .unwrap();
    assert_eq!(warden_in(&dir, &["diff", "old.policy", "split.policy"]).status.code(), Some(0));
    // A narrower one.
    std::fs::write(
        dir.join("narrower.policy"),
        "ALLOW storage:logs:read, storage:spans:read WHERE storage:k8s.namespace.name IN (\"a\");\nDENY storage:spans:read WHERE global:environmentId = \"prod\";\n",
    )
    .unwrap();
    let output = warden_in(&dir, &["diff", "old.policy", "narrower.policy"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("policy_files_human", stdout(&output));
}

#[test]
fn a_git_revision_against_the_work_tree() {
    let dir = TempDir::new();
    copy_dir(example_tenant(), &dir.join("tenant"));
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .args(["-c", "user.name=warden", "-c", "user.email=warden@acme.example", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("git runs");
        assert!(output.status.success(), "git {args:?}: {}", stderr(&output));
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "the example tenant"]);
    assert_eq!(warden_in(&dir, &["diff", "--git", "HEAD", "tenant"]).status.code(), Some(0));
    the_pull_request(&dir.join("tenant"));
    let output = warden_in(&dir, &["diff", "--git", "HEAD", "tenant", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let lost = json["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "lost").unwrap();
    // The old side's files are named by the revision.
    assert_eq!(lost["old"]["statements"][0]["file"], "HEAD:tenant/policies/token-admin.policy");
    assert_eq!(lost["old"]["statements"][0]["binding_at"], "HEAD:tenant/warden.toml:191");
    // One policy file of it.
    let output = warden_in(&dir, &["diff", "--git", "HEAD", "tenant/policies/token-admin.policy"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stdout(&output).contains("lost     iam:users:read at account level"), "{}", stdout(&output));
    // From a subdirectory, and with a revision git does not know.
    let output = warden_in(&dir.join("tenant"), &["diff", "--git", "HEAD", "."]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let output = warden_in(&dir, &["diff", "--git", "no-such-branch", "tenant"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no-such-branch"), "{}", stderr(&output));
}

#[test]
fn what_cannot_be_compared_says_why() {
    let dir = two_examples();
    std::fs::write(dir.join("one.policy"), "ALLOW storage:logs:read;\n").unwrap();
    let mixed = warden_in(&dir, &["diff", "old", "one.policy"]);
    assert_eq!(mixed.status.code(), Some(2));
    assert!(stderr(&mixed).contains("not one of each"), "{}", stderr(&mixed));
    let missing = warden_in(&dir, &["diff", "old", "nowhere"]);
    assert_eq!((missing.status.code(), stderr(&missing).contains("`nowhere` does not exist")), (Some(2), true));
    assert_eq!(warden_in(&dir, &["diff", "old"]).status.code(), Some(2));
    assert_eq!(warden_in(&dir, &["diff", "--git", "HEAD", "old", "new"]).status.code(), Some(2));
    edit(&dir.join("new/policies/team-logs.policy"), "ALLOW storage:buckets:read", "ALLOW storage:bukets:read");
    let broken = warden_in(&dir, &["diff", "old", "new"]);
    assert_eq!(broken.status.code(), Some(3));
    assert!(stderr(&broken).contains("the tenant `new` has errors"), "{}", stderr(&broken));
}

#[test]
fn a_hostile_revision_writes_nothing_outside_the_snapshot_and_runs_no_option() {
    // A pull request's commit is the attacker's: its trees can hold entries named `..` (git
    // refuses to check them out, but lists them), which a copy would follow out of its
    // temporary directory.
    let dir = TempDir::new();
    copy_dir(Path::new("policies/example"), &dir.join("tenant"));
    let git = |args: &[&str], input: Option<&str>| {
        let mut child = Command::new("git")
            .args(["-c", "user.name=warden", "-c", "user.email=warden@acme.example", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("git runs");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.unwrap_or("").as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "git {args:?}: {}", stderr(&output));
        stdout(&output).trim().to_string()
    };
    git(&["init", "-q"], None);
    git(&["add", "."], None);
    git(&["commit", "-q", "-m", "the example tenant"], None);
    // tenant/../<this scratch directory>/escaped.policy, as seen from the snapshot's own
    // temporary directory beside it.
    let blob = git(&["hash-object", "-w", "--stdin"], Some("ALLOW storage:logs:read;\n"));
    let leaf = git(&["mktree"], Some(&format!("100644 blob {blob}\tescaped.policy\n")));
    let scratch_name = dir.file_name().unwrap().to_str().unwrap();
    let up = git(&["mktree"], Some(&format!("040000 tree {leaf}\t{scratch_name}\n")));
    let tenant = git(&["ls-tree", "HEAD", "tenant/"], None).split_whitespace().nth(2).unwrap().to_string();
    let listing = git(&["ls-tree", &tenant], None);
    let hostile_tenant = git(&["mktree"], Some(&format!("{listing}\n040000 tree {up}\t..\n")));
    let root = git(&["mktree"], Some(&format!("040000 tree {hostile_tenant}\ttenant\n")));
    let commit = git(&["commit-tree", &root, "-p", "HEAD", "-m", "hostile"], None);

    let output = warden_in(&dir, &["diff", "--git", &commit, "tenant"]);
    assert!(!dir.join("escaped.policy").exists(), "a file was written outside the snapshot");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("a path that leaves the directory: `../"), "{}", stderr(&output));

    // Revisions that git would take as options are refused before git runs.
    let marker = dir.join("ran");
    for revision in [format!("--upload-pack=touch {}", marker.display()), "-x".to_string(), String::new()] {
        let output = warden_in(&dir, &["diff", &format!("--git={revision}"), "tenant"]);
        assert_eq!(output.status.code(), Some(2), "{revision}: {}", stderr(&output));
        assert!(stderr(&output).contains("is not a git revision"), "{}", stderr(&output));
    }
    assert!(!marker.exists());
    // A path with spaces and a leading dash is a path, not an option.
    let odd = dir.join("-odd dir");
    copy_dir(Path::new("policies/example"), &odd);
    git(&["add", "--", "-odd dir"], None);
    git(&["commit", "-q", "-m", "an odd name"], None);
    let output = warden_in(&dir, &["diff", "--git", "HEAD", "--", "-odd dir"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}
