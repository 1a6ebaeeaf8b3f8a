//! argon2id: from a passphrase to the key that encrypts the seed.

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{KeyError, Result};
use crate::passphrase::Passphrase;

/// Highest memory cost a key file may ask for (4 GiB): a crafted file cannot make `open`
/// allocate without bound.
pub const MAX_M_KIB: u32 = 4 * 1024 * 1024;
/// Highest time cost a key file may ask for.
pub const MAX_T: u32 = 64;
/// Highest parallelism a key file may ask for.
pub const MAX_P: u32 = 16;

/// argon2id cost parameters, recorded in the key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes over memory.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for KdfParams {
    /// m = 64 MiB, t = 3, p = 1 (RFC 9106's second recommended option, with more passes):
    /// about a quarter of a second on a server core; the signer opens its key once at start.
    fn default() -> Self {
        KdfParams {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }
}

impl KdfParams {
    /// Cheap parameters for tests only (m = 256 KiB, t = 1): never for a real key.
    pub const fn insecure_for_tests() -> KdfParams {
        KdfParams {
            m_kib: 256,
            t: 1,
            p: 1,
        }
    }

    /// Checks the parameters are within [argon2's minimums, this crate's maximums].
    pub fn validate(&self) -> Result<()> {
        if self.p == 0 || self.p > MAX_P {
            return Err(KeyError::KdfParams(format!(
                "p = {} not in 1..={MAX_P}",
                self.p
            )));
        }
        if self.t == 0 || self.t > MAX_T {
            return Err(KeyError::KdfParams(format!(
                "t = {} not in 1..={MAX_T}",
                self.t
            )));
        }
        let min_m = 8 * self.p;
        if self.m_kib < min_m || self.m_kib > MAX_M_KIB {
            return Err(KeyError::KdfParams(format!(
                "m = {} KiB not in {min_m}..={MAX_M_KIB}",
                self.m_kib
            )));
        }
        Ok(())
    }

    /// Derives `N` bytes from the passphrase and salt.
    pub(crate) fn derive<const N: usize>(
        &self,
        passphrase: &Passphrase,
        salt: &[u8],
    ) -> Result<Zeroizing<[u8; N]>> {
        self.validate()?;
        let params = Params::new(self.m_kib, self.t, self.p, Some(N))
            .map_err(|e| KeyError::KdfParams(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; N]);
        argon
            .hash_password_into(passphrase.expose(), salt, out.as_mut())
            .map_err(|e| KeyError::KdfParams(e.to_string()))?;
        Ok(out)
    }
}
