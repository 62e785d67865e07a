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
