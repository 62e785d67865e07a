//! Why a file could not be read.

use std::io;

use super::walk::MAX_FILE_BYTES;

/// A candidate file that warden refuses to read, or could not (decisions D35).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Larger than [`MAX_FILE_BYTES`]: no policy host is that big, and reading it could take all memory.
    #[error("it holds {0} bytes; warden reads policy files of at most {max} MiB", max = MAX_FILE_BYTES >> 20)]
    TooLarge(u64),
    /// A device, FIFO or socket: reading it might never end.
    #[error("it is not a regular file")]
    NotRegular,
    /// Binary, or text in another encoding.
    #[error("it is not UTF-8 text")]
    NotText,
    /// The file system refused (missing, unreadable).
    #[error("{0}")]
    Io(#[from] io::Error),
}
