//! The host formats, told apart by file name (and, for YAML and JSON, by content).

use std::path::Path;

/// What a host file holds policy texts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Terraform HCL (`.tf`).
    Terraform,
    /// Terraform JSON (`.tf.json`).
    TerraformJson,
    /// Any of the YAML hosts, told apart by content (`.yaml`, `.yml`).
    Yaml,
    /// monaco account resources.
    Monaco,
    /// Crossplane manifests of the Dynatrace provider.
    Crossplane,
    /// dtiam documents.
    Dtiam,
    /// IAM API JSON: policies, boundaries, exports (`.json`).
    Json,
    /// A policy text (`.policy`, `.pol`).
    Policy,
    /// A boundary text (`.boundary`, `.bnd`).
    Boundary,
}

impl Format {
    /// The format a file name says; `None` for a file that is no policy host (never read).
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        if name.ends_with(".tf.json") {
            return Some(Format::TerraformJson);
        }
        match name.rsplit_once('.')?.1 {
            "tf" => Some(Format::Terraform),
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "policy" | "pol" => Some(Format::Policy),
            "boundary" | "bnd" => Some(Format::Boundary),
            _ => None,
        }
    }
}

/// A policy or a boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// Statements (`ALLOW …;`, `DENY …;`).
    Policy,
    /// Boundary conditions.
    Boundary,
}
