//! What the signer signs: the representation hash of a request cell.
//!
//! TS: `sign(request.hash(), secretKey)`; Tolk: `isSignatureValid(request.hash(), sig, key)`.
//! This crate never holds keys; it only says which 32 bytes are signed and can check a
//! signature against a public key.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::error::{Error, Result};
use crate::layout::Layout;

/// A request the payout signer signs: [`crate::escrow::ReleaseRequest`],
/// [`crate::escrow::CloseRequest`], [`crate::vault::VaultBatchRequest`].
///
/// Each request names the contract it is for (its address) and carries its own opcode, so a
/// signature for one contract or kind of request is worthless for another.
pub trait SignedRequest: Layout {
    /// The 32 bytes to sign: the representation hash of the request cell.
    fn signing_hash(&self) -> Result<[u8; 32]> {
        Ok(self.hash()?.0)
    }

    /// Checks an ed25519 `signature` of [`signing_hash`](SignedRequest::signing_hash) by
    /// `public_key`.
    fn verify(&self, public_key: &[u8; 32], signature: &[u8; 64]) -> Result<()> {
        verify_hash(&self.signing_hash()?, public_key, signature)
    }
}

/// Checks an ed25519 signature of a 32-byte hash (strict verification: canonical `R` and `s`,
/// no small-order keys).
pub fn verify_hash(hash: &[u8; 32], public_key: &[u8; 32], signature: &[u8; 64]) -> Result<()> {
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| Error::InvalidPublicKey)?;
    key.verify_strict(hash, &Signature::from_bytes(signature))
        .map_err(|_| Error::InvalidSignature)
}
