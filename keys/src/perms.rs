//! Secret files must be private to their owner: a key file (and any file holding a passphrase,
//! PIN or token) that its group or others may read, write or execute is refused at startup.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::error::{KeyError, Result};

/// Refuses `path` when `mode & 0o077 != 0` (group or world bits set), naming the file and the
/// fix. Symlinks are followed: the file read is the one checked.
pub fn check_owner_only(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| KeyError::io(path, e))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}
