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
mod reader;
mod traced;
#[cfg(feature = "iac")]
mod yaml;

pub use error::ReadError;
pub use format::{Format, TextKind};
pub use walk::{MAX_FILE_BYTES, SKIPPED_DIRS, Skipped, Walk, open_regular, read_text, walk};

pub use reader::{Extract, Found, Sources, Via, read, supported};
pub use traced::{FileId, Form, OpaquePart, Origin, Traced};
