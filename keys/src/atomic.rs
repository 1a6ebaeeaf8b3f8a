//! Writing a new secret file atomically, without ever replacing an existing one.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{KeyError, Result};

/// Writes `bytes` to `path` (mode 0600) so that `path` either does not exist or holds all of
/// them, even across a crash: a temp file in the same folder, fsync, hard link to `path` (which
/// fails if `path` exists: no overwrite, no race), unlink the temp name, fsync the folder.
pub(crate) fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| KeyError::Config(format!("{} is not a file path", path.display())))?;
    if path.symlink_metadata().is_ok() {
        return Err(KeyError::AlreadyExists { path: path.into() });
    }
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| KeyError::io(path, std::io::Error::other(e)))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        hex::encode(suffix)
    ));
    let result = write_tmp(&tmp, bytes).and_then(|()| {
        std::fs::hard_link(&tmp, path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::AlreadyExists { path: path.into() }
            } else {
                KeyError::io(path, e)
            }
        })
    });
    // The temp name goes in every case; the data stays reachable through `path` on success.
    let _ = std::fs::remove_file(&tmp);
    result?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| KeyError::io(dir, e))
}

fn write_tmp(tmp: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(|e| KeyError::io(tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| KeyError::io(tmp, e))
}
