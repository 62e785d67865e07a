//! A path as it was at a git revision, read through the `git` command into a temporary
//! directory: no checkout, no worktree, the repository untouched.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The files of a path at a revision, in a temporary directory removed on drop.
pub struct Snapshot {
    root: PathBuf,
    /// Where the path's copy is: the root for a directory, the file inside it for a file.
    pub path: PathBuf,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl Snapshot {
    /// The name a file of the snapshot is shown by: `REV:path/as/in/the/repository`.
    pub fn display_name(&self, name: &str, revision: &str, original: &Path) -> String {
        let root = self.root.to_string_lossy();
        match name.strip_prefix(root.as_ref()) {
            Some(rest) => {
                let rest = rest.trim_start_matches('/');
                let shown = if original.is_dir() { original.join(rest) } else { original.to_path_buf() };
                format!("{revision}:{}", shown.display())
            }
            None => name.to_string(),
        }
    }
}

/// Copies `path` (a directory or a file of a git work tree) as it was at `revision`.
pub fn snapshot(revision: &str, path: &Path) -> Result<Snapshot, String> {
    if revision.starts_with('-') || revision.is_empty() {
        return Err(format!("`{revision}` is not a git revision"));
    }
    let root = std::env::temp_dir().join(format!(
        "warden-diff-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&root).map_err(|e| format!("cannot create `{}`: {e}", root.display()))?;
    let mut snapshot = Snapshot { root: root.clone(), path: root.clone() };
    if path.is_dir() {
        copy_tree(revision, path, &root)?;
    } else {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().ok_or_else(|| format!("`{}` is not a file", path.display()))?;
        let text = git(parent, &["show", &format!("{revision}:./{}", name.to_string_lossy())], None)?;
        snapshot.path = root.join(name);
        std::fs::write(&snapshot.path, text).map_err(|e| format!("cannot write `{}`: {e}", snapshot.path.display()))?;
    }
    Ok(snapshot)
}

/// Every file below `dir` at `revision`, written below `root` (symbolic links and submodules
/// are left out, as tenant loading never follows them).
fn copy_tree(revision: &str, dir: &Path, root: &Path) -> Result<(), String> {
    let listing = git(dir, &["ls-tree", "-r", "-z", revision, "--", "."], None)?;
    let mut files: Vec<(String, String)> = Vec::new();
    for entry in listing.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, name)) = entry.split_once('\t') else { continue };
        let fields: Vec<&str> = meta.split(' ').collect();
        if let [mode, "blob", object] = fields.as_slice() {
            if *mode != "120000" {
                files.push((object.to_string(), name.to_string()));
            }
        }
    }
    if files.is_empty() {
        return Err(format!("`{}` does not exist at `{revision}`", dir.display()));
    }
    let objects: String = files.iter().map(|(object, _)| format!("{object}\n")).collect();
    let contents = git(dir, &["cat-file", "--batch"], Some(objects))?;
    let mut reader = BufReader::new(contents.as_slice());
    for (_, name) in &files {
        let mut header = String::new();
        reader.read_line(&mut header).map_err(|e| e.to_string())?;
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("unexpected answer from `git cat-file`: {header:?}"))?;
        let mut body = vec![0u8; size + 1];
        reader.read_exact(&mut body).map_err(|e| e.to_string())?;
        body.pop();
        let target = root.join(name);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        std::fs::write(&target, body).map_err(|e| format!("cannot write `{}`: {e}", target.display()))?;
    }
    Ok(())
}

/// Runs `git -C dir ARGS`, feeding `input`; its output, or its error message.
fn git(dir: &Path, args: &[&str], input: Option<String>) -> Result<Vec<u8>, String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `git`: {e}"))?;
    // Written from another thread: git answers while it reads, and a full pipe would stall both.
    let writer = input.map(|input| {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        std::thread::spawn(move || stdin.write_all(input.as_bytes()))
    });
    let output = child.wait_with_output().map_err(|e| format!("`git` failed: {e}"))?;
    if let Some(writer) = writer {
        writer.join().map_err(|_| "`git` input failed".to_string())?.map_err(|e| format!("`git` input: {e}"))?;
    }
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr);
        return Err(format!("`git {}` failed: {}", args.join(" "), message.trim()));
    }
    Ok(output.stdout)
}
