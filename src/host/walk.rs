//! The one directory walker of warden (`lint DIR`, `token scan DIR`, tenant loading) and the
//! careful opening of the files it finds (decisions D35): regular files only, symlinks to
//! directories never followed (so a symlink loop cannot trap it), tool and dependency folders
//! skipped, and policy files read only up to a size no policy host reaches.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::error::ReadError;

/// The largest policy host file warden reads: 16 MiB.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Folders of tools and dependencies, never policy sources: a walk does not enter them.
pub const SKIPPED_DIRS: [&str; 4] = [".git", ".terraform", "target", "node_modules"];

/// What a walk found below a directory, in name order.
#[derive(Debug, Default)]
pub struct Walk {
    /// Regular files, and symlinks to regular files.
    pub files: Vec<PathBuf>,
    /// Entries passed over, with the reason (for `-v`).
    pub skipped: Vec<(PathBuf, Skipped)>,
    /// Folders that could not be listed.
    pub failed: Vec<(PathBuf, io::Error)>,
}

/// Why a walk passed over an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skipped {
    /// `.git`, `.terraform`, `target`, `node_modules`.
    ToolFolder,
    /// A symlink to a directory: following it could loop.
    DirectoryLink,
    /// A device, FIFO or socket, or a symlink to one or to nothing.
    NotRegular,
    /// A symlink to a file outside the directory walked: a checkout cannot make warden read
    /// the machine it runs on.
    LinkOutside,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Skipped::ToolFolder => "a tool or dependency folder",
            Skipped::DirectoryLink => "a symlink to a directory (not followed)",
            Skipped::NotRegular => "not a regular file",
            Skipped::LinkOutside => "a symlink to a file outside the directory walked (not followed)",
        })
    }
}

/// Walks `root` (a directory) depth first, entries in name order; symlinks to files are
/// followed only to files inside `root`.
pub fn walk(root: &Path) -> Walk {
    walk_within(root, &[root.to_path_buf()])
}

/// Walks `root` as [`walk`] does, following symlinks to files inside any of `bounds`.
pub fn walk_within(root: &Path, bounds: &[PathBuf]) -> Walk {
    let bounds: Vec<PathBuf> = bounds.iter().filter_map(|dir| std::fs::canonicalize(dir).ok()).collect();
    let mut found = Walk::default();
    visit(root, &bounds, &mut found);
    found
}

/// Whether `path`, its symlinks resolved, lies inside one of `bounds` (resolved already).
pub(super) fn inside(path: &Path, bounds: &[PathBuf]) -> bool {
    std::fs::canonicalize(path).is_ok_and(|real| bounds.iter().any(|bound| real.starts_with(bound)))
}

fn visit(dir: &Path, bounds: &[PathBuf], found: &mut Walk) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => return found.failed.push((dir.to_path_buf(), error)),
    };
    let mut entries: Vec<std::fs::DirEntry> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            found.skipped.push((path, Skipped::NotRegular));
            continue;
        };
        if kind.is_dir() {
            if SKIPPED_DIRS.iter().any(|name| entry.file_name() == *name) {
                found.skipped.push((path, Skipped::ToolFolder));
            } else {
                visit(&path, bounds, found);
            }
        } else if kind.is_file() {
            found.files.push(path);
        } else if kind.is_symlink() {
            match std::fs::metadata(&path) {
                Ok(target) if target.is_file() && inside(&path, bounds) => found.files.push(path),
                Ok(target) if target.is_file() => found.skipped.push((path, Skipped::LinkOutside)),
                Ok(target) if target.is_dir() => found.skipped.push((path, Skipped::DirectoryLink)),
                _ => found.skipped.push((path, Skipped::NotRegular)),
            }
        } else {
            found.skipped.push((path, Skipped::NotRegular));
        }
    }
}

/// Opens a regular file for reading. Opening never blocks (a FIFO opened without a writer
/// would), and what was opened is checked to be a regular file, so a name swapped for a FIFO
/// or a device between the walk and the open is refused too.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(ReadError::NotRegular);
    }
    Ok(file)
}

/// Reads a policy host file: a regular file of at most [`MAX_FILE_BYTES`] of UTF-8 text.
/// A file that grows while it is read is still cut off at the limit.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    let file = open_regular(path)?;
    let size = file.metadata()?.len();
    if size > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_loop_is_not_followed() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        std::fs::create_dir(dir.join("a")).unwrap();
        std::fs::write(dir.join("a/x.policy"), "ALLOW a:b:c;").unwrap();
        std::os::unix::fs::symlink(dir, dir.join("a/back")).unwrap();
        let found = walk(dir);
        assert_eq!(found.files, vec![dir.join("a/x.policy")]);
        assert_eq!(found.skipped, vec![(dir.join("a/back"), Skipped::DirectoryLink)]);
    }

    #[test]
    fn tool_folders_are_skipped_and_links_to_files_kept() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        for folder in SKIPPED_DIRS {
            std::fs::create_dir(dir.join(folder)).unwrap();
            std::fs::write(dir.join(folder).join("x.policy"), "").unwrap();
        }
        std::fs::write(dir.join("real.policy"), "").unwrap();
        std::os::unix::fs::symlink(dir.join("real.policy"), dir.join("link.policy")).unwrap();
        let found = walk(dir);
        assert_eq!(found.files, vec![dir.join("link.policy"), dir.join("real.policy")]);
        assert_eq!(found.skipped.len(), SKIPPED_DIRS.len());
    }

    #[test]
    fn devices_and_fifos_are_refused_and_big_files_too() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        std::os::unix::fs::symlink("/dev/zero", dir.join("zero.policy")).unwrap();
        assert!(matches!(read_text(&dir.join("zero.policy")), Err(ReadError::NotRegular)));
        let fifo = dir.join("fifo.policy");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert!(matches!(read_text(&fifo), Err(ReadError::NotRegular)));
        assert_eq!(walk(dir).skipped.len(), 2);
        let big = dir.join("big.policy");
        File::create(&big).unwrap().set_len(MAX_FILE_BYTES + 1).unwrap();
        let error = read_text(&big).unwrap_err();
        assert!(matches!(error, ReadError::TooLarge(_)));
        assert_eq!(error.to_string(), "it holds 16777217 bytes; warden reads policy files of at most 16 MiB");
    }
}
