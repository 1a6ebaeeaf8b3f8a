//! Masterchain block signatures, as TON's validators make them and its liteclients check them
//! (ton-blockchain/ton: `validator/impl/signature-set.cpp`, `crypto/block/check-proof.cpp`,
//! `crypto/block/block.cpp` `compute_validator_set_hash`).
//!
//! - A validator signs the boxed TL object `ton.blockId root_cell_hash:int256 file_hash:int256`
//!   (constructor id `0xc50b6e70`, little-endian, then the two hashes): 68 bytes.
//! - It is named by its short node id: sha256 of the boxed `pub.ed25519 key:int256`
//!   (`0x4813b4c6` little-endian, then the key).
//! - The masterchain subset of a validator set (config param 34) is its first `main` entries,
//!   shuffled when param 28 says `shuffle_mc_validators` (tycho-types' `compute_mc_subset`).
//! - The set's short hash (a block header's `gen_validator_list_hash_short`, a signature set's
//!   `validator_set_hash`) is crc32c over `0x901660ED`, the catchain seqno, the count and each
//!   node's key, weight and ADNL address (little-endian).
//! - A block is signed when the signers' weight is strictly more than 2/3 of the subset's total.

use sha2::Digest;
use tycho_types::models::{CatchainConfig, ValidatorDescription, ValidatorSet};

/// The TL constructor id of `ton.blockId root_cell_hash:int256 file_hash:int256 = ton.BlockId`.
pub const BLOCK_ID_TL_ID: u32 = 0xc50b6e70;

/// The TL constructor id of `pub.ed25519 key:int256 = PublicKey`.
pub const PUB_ED25519_TL_ID: u32 = 0x4813b4c6;

/// What validators sign: the serialized `ton.blockId` of a block.
pub type SignedBlockPayload = [u8; 68];

/// Why a set of block signatures or a validator set does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// A signature names a node that is not in the validator subset.
    #[error("signature by {node_id} who is not in the validator subset")]
    UnknownSigner {
        /// The short node id (hex).
        node_id: String,
    },
    /// The same node signed twice.
    #[error("node {node_id} signed twice")]
    DuplicateSigner {
        /// The short node id (hex).
        node_id: String,
    },
    /// A signature does not verify under the node's key.
    #[error("bad signature by {node_id}")]
    BadSignature {
        /// The short node id (hex).
        node_id: String,
    },
    /// The signers' weight is not more than 2/3 of the total.
    #[error("signed weight {signed} of {total} is not more than 2/3")]
    NotEnoughWeight {
        /// Weight of the valid signatures.
        signed: u64,
        /// Total weight of the subset.
        total: u64,
    },
    /// The validator set hash differs from the one expected (header or signature set).
    #[error("validator set hash {computed:#010x} differs from {expected:#010x}")]
    ValidatorSetHash {
        /// Hash of the subset computed from the config.
        computed: u32,
        /// Hash stated by the block or the signature set.
        expected: u32,
    },
    /// A Merkle proof or the cells it shows do not say what they must.
    #[error("bad proof: {reason}")]
    BadProof {
        /// What is wrong.
        reason: String,
    },
    /// The config holds no usable validator set.
    #[error("no validator set: {reason}")]
    NoValidatorSet {
        /// What is missing.
        reason: String,
    },
}

/// A validator's short node id: sha256 of its boxed `pub.ed25519` key.
pub fn node_id_short(public_key: &[u8; 32]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(PUB_ED25519_TL_ID.to_le_bytes());
    h.update(public_key);
    h.finalize().into()
}

/// The bytes a validator signs for a block: `ton.blockId root_cell_hash file_hash`, boxed.
pub fn signing_payload(root_hash: &[u8; 32], file_hash: &[u8; 32]) -> SignedBlockPayload {
    let mut out = [0u8; 68];
    out[..4].copy_from_slice(&BLOCK_ID_TL_ID.to_le_bytes());
    out[4..36].copy_from_slice(root_hash);
    out[36..].copy_from_slice(file_hash);
    out
}

/// The masterchain validator subset of `set` for catchain seqno `cc_seqno`, as TON's
/// `Config::compute_validator_set` makes it for the masterchain.
pub fn mc_validator_subset(
    set: &ValidatorSet,
    cc_config: &CatchainConfig,
    cc_seqno: u32,
) -> Result<Vec<ValidatorDescription>, ProofError> {
    set.compute_mc_subset(cc_seqno, cc_config.shuffle_mc_validators)
        .map(|(subset, _)| subset)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ProofError::NoValidatorSet {
            reason: "empty masterchain subset".into(),
        })
}

/// TON's `compute_validator_set_hash(cc_seqno, masterchain, subset)`.
pub fn validator_set_hash_short(subset: &[ValidatorDescription], cc_seqno: u32) -> u32 {
    ValidatorSet::compute_subset_hash_short(subset, cc_seqno)
}

/// Checks `signatures` (short node id, 64-byte ed25519 signature) over the block
/// `root_hash`/`file_hash` against `subset`: every signer must be in the subset, sign once and
/// sign correctly, and the signed weight must be strictly more than 2/3 of the subset's total
/// (TON's `ValidatorSignatureSet::check_signatures`). Returns the signed weight.
pub fn check_block_signatures<'a>(
    subset: &[ValidatorDescription],
    root_hash: &[u8; 32],
    file_hash: &[u8; 32],
    signatures: impl IntoIterator<Item = (&'a [u8; 32], &'a [u8; 64])>,
) -> Result<u64, ProofError> {
    let payload = signing_payload(root_hash, file_hash);
    let total: u64 = subset.iter().map(|v| v.weight).sum();
    let ids: Vec<[u8; 32]> = subset
        .iter()
        .map(|v| node_id_short(&v.public_key.0))
        .collect();
    let mut seen = vec![false; subset.len()];
    let mut signed = 0u64;
    for (node, sig) in signatures {
        let hex_id = || hex::encode(node);
        let Some(i) = ids.iter().position(|id| id == node) else {
            return Err(ProofError::UnknownSigner { node_id: hex_id() });
        };
        if std::mem::replace(&mut seen[i], true) {
            return Err(ProofError::DuplicateSigner { node_id: hex_id() });
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(&subset[i].public_key.0)
            .map_err(|_| ProofError::BadSignature { node_id: hex_id() })?;
        ed25519_dalek::Verifier::verify(&key, &payload, &ed25519_dalek::Signature::from_bytes(sig))
            .map_err(|_| ProofError::BadSignature { node_id: hex_id() })?;
        signed = signed.saturating_add(subset[i].weight);
    }
    if u128::from(signed) * 3 <= u128::from(total) * 2 {
        return Err(ProofError::NotEnoughWeight { signed, total });
    }
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_the_boxed_tl_block_id() {
        let p = signing_payload(&[1; 32], &[2; 32]);
        assert_eq!(&p[..4], &[0x70, 0x6e, 0x0b, 0xc5]);
        assert_eq!(&p[4..36], &[1; 32]);
        assert_eq!(&p[36..], &[2; 32]);
    }

    #[test]
    fn node_id_is_sha256_of_the_boxed_key() {
        let mut h = sha2::Sha256::new();
        h.update([0xc6, 0xb4, 0x13, 0x48]);
        h.update([7u8; 32]);
        let expected: [u8; 32] = h.finalize().into();
        assert_eq!(node_id_short(&[7; 32]), expected);
    }
}
