//! Turning path arguments into the files to work on: explicit files, standard input, and
//! directories walked with warden's one walker (decisions D35), which reads only files whose
//! names make them policy hosts.

use std::path::{Path, PathBuf};

use warden::host::{self, Format, ReadError};

/// What to read a file or standard input as (`--from`; `--kind` is its older name).
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, Debug)]
pub enum FromArg {
    /// Terraform: `.tf` (and `.tf.json`) with dynatrace_iam_policy and boundary resources
    Terraform,
    /// monaco account resources (policies, boundaries, groups, users)
    Monaco,
    /// Crossplane manifests (Policy, PolicyBoundary)
    Crossplane,
    /// dtiam documents (kind: Policy / Boundary)
    Dtiam,
    /// IAM API JSON (statementQuery, boundaryQuery)
    Json,
    /// Statements: `ALLOW …;` and `DENY …;`
    Policy,
    /// Conditions only, one per `;`
    Boundary,
}

impl FromArg {
    fn format(self, path: Option<&Path>) -> Format {
        match self {
            FromArg::Terraform if path.and_then(Path::to_str).is_some_and(|p| p.ends_with(".json")) => {
                Format::TerraformJson
            }
            FromArg::Terraform => Format::Terraform,
            FromArg::Monaco => Format::Monaco,
            FromArg::Crossplane => Format::Crossplane,
            FromArg::Dtiam => Format::Dtiam,
            FromArg::Json => Format::Json,
            FromArg::Policy => Format::Policy,
            FromArg::Boundary => Format::Boundary,
        }
    }
}

/// One input: a file, or standard input (`-`).
pub struct Input {
    pub name: String,
    pub path: Option<PathBuf>,
    pub format: Format,
}

/// The inputs of a command, and what the walks passed over (for `-v`).
#[derive(Default)]
pub struct Inputs {
    pub inputs: Vec<Input>,
    pub skipped: Vec<(PathBuf, String)>,
}

/// Expands files, directories and `-`. `from` forces the reader of standard input and of the
/// files named on the command line; files found in directories are read by their names.
/// A path that does not exist is an error; so is a directory with nothing to read.
pub fn collect(paths: &[PathBuf], from: Option<FromArg>) -> Result<Inputs, String> {
    let defaults = [PathBuf::from(".")];
    let paths = if paths.is_empty() { &defaults[..] } else { paths };
    let mut collected = Inputs::default();
    for path in paths {
        if path.as_os_str() == "-" {
            let format = from.unwrap_or(FromArg::Policy).format(None);
            collected.inputs.push(Input { name: "<stdin>".to_string(), path: None, format });
        } else if path.is_dir() {
            let walk = host::walk(path);
            if let Some((dir, error)) = walk.failed.first() {
                return Err(format!("cannot read the directory `{}`: {error}", dir.display()));
            }
            let before = collected.inputs.len();
            for file in walk.files {
                match Format::from_path(&file) {
                    Some(format) => collected.inputs.push(Input { name: display(&file), path: Some(file), format }),
                    None => collected.skipped.push((file, "not a policy host by its name".into())),
                }
            }
            collected.skipped.extend(walk.skipped.into_iter().map(|(p, why)| (p, why.to_string())));
            if collected.inputs.len() == before && !is_tenant(path) {
                return Err(format!(
                    "`{}` holds no policy file (*.policy, *.pol, *.boundary, *.bnd) and no host of policies (*.tf, *.tf.json, *.yaml, *.yml, *.json)",
                    path.display()
                ));
            }
        } else if path.exists() || path.is_symlink() {
            let format = match (from, Format::from_path(path)) {
                (Some(from), _) => from.format(Some(path)),
                (None, Some(format)) => format,
                (None, None) => Format::Policy,
            };
            collected.inputs.push(Input { name: display(path), path: Some(path.clone()), format });
        } else {
            return Err(format!("`{}` does not exist", path.display()));
        }
    }
    Ok(collected)
}

/// A tenant directory holds a `warden.toml` (decisions D9).
pub fn is_tenant(path: &Path) -> bool {
    path.join("warden.toml").is_file()
}

fn display(path: &Path) -> String {
    path.to_string_lossy().trim_start_matches("./").to_string()
}

/// Reads an input's text: a file as [`host::read_text`] allows (regular, at most 16 MiB,
/// UTF-8), standard input whole.
pub fn read(input: &Input) -> Result<String, String> {
    match &input.path {
        Some(path) => host::read_text(path).map_err(|e| refused(path, &e)),
        None => std::io::read_to_string(std::io::stdin()).map_err(|e| format!("cannot read standard input: {e}")),
    }
}

/// Why a file could not be read, as an error line.
pub fn refused(path: &Path, error: &ReadError) -> String {
    format!("cannot read `{}`: {error}", path.display())
}

/// The files `token scan` looks in: files named, and the files the walker finds below
/// directories; with the directories it could not list.
pub fn scan_targets(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        if path.is_dir() {
            let walk = host::walk(path);
            files.extend(walk.files);
            problems.extend(
                walk.failed.iter().map(|(dir, e)| format!("cannot read the directory `{}`: {e}", dir.display())),
            );
        } else if path.exists() || path.is_symlink() {
            files.push(path.clone());
        } else {
            problems.push(format!("`{}` does not exist", path.display()));
        }
    }
    (files, problems)
}

/// Bytes read at a time by [`scan_tokens`].
const SCAN_CHUNK: usize = 64 * 1024;
/// A line longer than this is scanned in windows that overlap by more than a token's length.
const SCAN_WINDOW: usize = 1024 * 1024;
const SCAN_OVERLAP: usize = 256;

/// Finds the token strings of a file of any size, holding at most about a window of it in
/// memory: line numbers and token ids.
pub fn scan_tokens(path: &Path) -> Result<Vec<(usize, warden::token::TokenId)>, ReadError> {
    use std::io::Read;
    let mut file = host::open_regular(path)?;
    let mut found: Vec<(usize, warden::token::TokenId)> = Vec::new();
    let mut buffer: Vec<u8> = Vec::with_capacity(2 * SCAN_CHUNK);
    let mut chunk = vec![0; SCAN_CHUNK];
    let mut line = 1;
    loop {
        let read = file.read(&mut chunk)?;
        buffer.extend_from_slice(&chunk[..read]);
        let end = read == 0;
        let cut = match buffer.iter().rposition(|b| *b == b'\n') {
            _ if end => buffer.len(),
            Some(newline) => newline + 1,
            None if buffer.len() > SCAN_WINDOW => buffer.len() - SCAN_OVERLAP,
            None => continue,
        };
        // Without a line break the whole window is scanned and only its head dropped, so a
        // token across the cut is seen whole; one seen twice on one line is reported once.
        let scanned = if cut < buffer.len() && !buffer[..cut].contains(&b'\n') { buffer.len() } else { cut };
        for (offset, id) in warden::token::scan(&String::from_utf8_lossy(&buffer[..scanned])) {
            let hit = (line + offset - 1, id);
            if !found.contains(&hit) {
                found.push(hit);
            }
        }
        line += buffer[..cut].iter().filter(|b| **b == b'\n').count();
        buffer.drain(..cut);
        if end {
            return Ok(found);
        }
    }
}
