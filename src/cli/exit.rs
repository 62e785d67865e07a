use std::process::ExitCode;

/// One exit-code table for every subcommand (decisions D1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Clean, allowed, done.
    Ok = 0,
    /// The answer is no: errors found, a file would change, denied.
    No = 1,
    /// Bad flags, unreadable input, an unknown principal or permission, I/O errors.
    CouldNotRun = 2,
    /// The tenant has errors.
    TenantErrors = 3,
    /// `token check`: the token is invalid (401).
    InvalidToken = 4,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}
