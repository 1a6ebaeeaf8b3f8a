//! Passphrases (and PINs): read once from an env var or a file, zeroized on drop, never printed.

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{KeyError, Result};

/// A secret typed by an operator: a key-file passphrase or a PKCS#11 PIN.
///
/// Held in zeroizing memory; `Debug` prints `Passphrase(<redacted>)`. One trailing newline
/// (`\n` or `\r\n`) is trimmed, as written by `echo` or an editor; an empty secret is refused.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a secret (refuses an empty one). `source_name` only names it in errors.
    pub fn new(secret: Zeroizing<String>, source_name: &str) -> Result<Passphrase> {
        let mut secret = secret;
        if secret.ends_with("\r\n") {
            let len = secret.len() - 2;
            secret.truncate(len);
        } else if secret.ends_with('\n') {
            let len = secret.len() - 1;
            secret.truncate(len);
        }
        if secret.is_empty() {
            return Err(KeyError::Secret {
                source_name: source_name.to_owned(),
                reason: "empty".into(),
            });
        }
        Ok(Passphrase(secret))
    }

    /// Reads the secret from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Passphrase> {
        match std::env::var(var) {
            Ok(value) => Passphrase::new(Zeroizing::new(value), var),
            Err(std::env::VarError::NotPresent) => Err(KeyError::Secret {
                source_name: var.to_owned(),
                reason: "not set".into(),
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(KeyError::Secret {
                source_name: var.to_owned(),
                reason: "not valid UTF-8".into(),
            }),
        }
    }

    /// Reads the secret from a file (its whole content, less one trailing newline).
    pub fn from_file(path: &Path) -> Result<Passphrase> {
        let name = path.display().to_string();
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| KeyError::Secret {
            source_name: name.clone(),
            reason: e.to_string(),
        })?);
        let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::Secret {
            source_name: name.clone(),
            reason: "not valid UTF-8".into(),
        })?;
        Passphrase::new(Zeroizing::new(text.to_owned()), &name)
    }

    /// The secret's bytes (for the KDF or `C_Login`); do not copy them.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    pub(crate) fn expose_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}
