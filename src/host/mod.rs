//! Policies where admins keep them: Terraform (`.tf`, `.tf.json`), monaco account resources,
//! Crossplane and dtiam YAML, IAM API JSON, besides `.policy`/`.pol` and `.boundary`/`.bnd`
//! files. A reader finds every policy and boundary text in a host file, undoes the host's
//! escapes and indentation, and keeps the origin of every byte ([`Traced`]), so a finding on
//! the text is reported at the host file's line and column and a fix is escaped back for the
//! host's string form.
//!
//! The walker ([`walk`]) and the careful reading of files ([`read_text`]) are here too: every
//! command that takes directories uses them (decisions D35). The readers of the host formats
//! need the `iac` feature.

mod error;
mod format;
pub mod rules;
mod walk;

#[cfg(feature = "iac")]
mod decode;
#[cfg(feature = "iac")]
mod hcl;
#[cfg(feature = "iac")]
mod json;
#[cfg(feature = "iac")]
mod model;
#[cfg(feature = "iac")]
mod monaco;
mod reader;
#[cfg(feature = "iac")]
mod terraform;
mod traced;
#[cfg(feature = "iac")]
mod yaml;

pub use error::ReadError;
pub use format::{Format, TextKind};
pub use walk::{MAX_FILE_BYTES, SKIPPED_DIRS, Skipped, Walk, open_regular, read_text, walk};

#[cfg(feature = "iac")]
pub use model::{
    At, Model, ModelBinding, ModelGroup, ModelLevel, ModelParameter, ModelServiceUser, ModelUser, NamedText, PolicyRef,
    TenantHost, slug,
};
pub use reader::{Extract, Found, Sources, Via, read, supported};
#[cfg(feature = "iac")]
pub use terraform::Variables;
pub use traced::{FileId, Form, OpaquePart, Origin, Traced};

/// Which host a directory is as a tenant: a Terraform module (it holds `*.tf` files) or a
/// monaco project (a `manifest.yaml`, or YAML files with account resources).
#[cfg(feature = "iac")]
pub fn tenant_host(dir: &std::path::Path) -> Option<TenantHost> {
    let has_tf = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .any(|e| e.file_type().is_ok_and(|t| t.is_file()) && Format::from_path(&e.path()) == Some(Format::Terraform));
    if has_tf {
        Some(TenantHost::Terraform)
    } else if monaco::is_project(dir) {
        Some(TenantHost::Monaco)
    } else {
        None
    }
}

/// Reads a Terraform module or a monaco project as a tenant model.
#[cfg(feature = "iac")]
pub fn read_tenant(dir: &std::path::Path, host: TenantHost, variables: &Variables) -> Result<Model, ReadError> {
    match host {
        TenantHost::Terraform => terraform::read_tenant(dir, variables),
        TenantHost::Monaco => monaco::read(dir),
    }
}
