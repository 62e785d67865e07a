//! Turning path arguments into the texts to work on.

use std::path::{Path, PathBuf};

use warden::syntax::Kind;

use super::KindArg;

/// One input: a file, or standard input (`-`).
pub struct Input {
    pub name: String,
    pub path: Option<PathBuf>,
    pub kind: Kind,
}

/// Expands files, directories (recursing into `*.policy` and `*.boundary`) and `-`.
/// A path that does not exist is an error; so is a directory with nothing to read.
pub fn collect(paths: &[PathBuf], stdin_kind: KindArg) -> Result<Vec<Input>, String> {
    let stdin_kind = match stdin_kind {
        KindArg::Policy => Kind::Policy,
        KindArg::Boundary => Kind::Boundary,
    };
    let defaults = [PathBuf::from(".")];
    let paths = if paths.is_empty() { &defaults[..] } else { paths };
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input { name: "<stdin>".to_string(), path: None, kind: stdin_kind });
        } else if path.is_dir() {
            let before = inputs.len();
            walk(path, &mut inputs).map_err(|e| format!("cannot read the directory `{}`: {e}", path.display()))?;
            if inputs.len() == before && !is_tenant(path) {
                return Err(format!("`{}` holds no `*.policy` or `*.boundary` file", path.display()));
            }
        } else if path.is_file() {
            let kind = kind_of(path).unwrap_or(stdin_kind);
            inputs.push(Input { name: display(path), path: Some(path.clone()), kind });
        } else {
            return Err(format!("`{}` does not exist", path.display()));
        }
    }
    Ok(inputs)
}

/// A tenant directory holds a `warden.toml` (decisions D9).
pub fn is_tenant(path: &Path) -> bool {
    path.join("warden.toml").is_file()
}

fn kind_of(path: &Path) -> Option<Kind> {
    match path.extension()?.to_str()? {
        "policy" => Some(Kind::Policy),
        "boundary" => Some(Kind::Boundary),
        _ => None,
    }
}

fn display(path: &Path) -> String {
    path.to_string_lossy().trim_start_matches("./").to_string()
}

fn walk(dir: &Path, inputs: &mut Vec<Input>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.') || n == "target");
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, inputs)?;
        } else if let Some(kind) = kind_of(&path) {
            inputs.push(Input { name: display(&path), path: Some(path), kind });
        }
    }
    Ok(())
}

/// Reads an input's text.
pub fn read(input: &Input) -> Result<String, String> {
    match &input.path {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display())),
        None => std::io::read_to_string(std::io::stdin()).map_err(|e| format!("cannot read standard input: {e}")),
    }
}
