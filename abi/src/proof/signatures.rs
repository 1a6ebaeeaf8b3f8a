//! Validator signatures of a masterchain block: the masterchain subset of a validator set and
//! TON's rule (more than 2/3 of the subset's weight, every signature valid, no node twice, no
//! node outside the subset).

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use tycho_types::models::{BlockchainConfig, ValidatorDescription};

use super::{ProofError, ProofResult};

/// `pub.ed25519#4813b4c6 key:int256 = PublicKey` (TL id, little-endian on the wire).
const PUB_ED25519: u32 = 0x4813_b4c6;
/// `ton.blockId root_cell_hash:int256 file_hash:int256 = ton.BlockId`.
const TON_BLOCK_ID: u32 = 0xc50b_6e70;

/// One signature of a signature set (`liteServer.signature`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSignature {
    /// SHA-256 of the signer's TL public key.
    pub node_id_short: [u8; 32],
    /// The ed25519 signature (64 bytes when well formed).
    pub signature: Vec<u8>,
}

/// A validator's short node id: SHA-256 of its TL `pub.ed25519` key.
pub fn node_id_short(public_key: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(PUB_ED25519.to_le_bytes());
    h.update(public_key);
    h.finalize().into()
}

/// What validators sign for a block: TL `ton.blockId root_hash file_hash`.
pub fn block_signed_data(root_hash: &[u8; 32], file_hash: &[u8; 32]) -> [u8; 68] {
    let mut out = [0u8; 68];
    out[..4].copy_from_slice(&TON_BLOCK_ID.to_le_bytes());
    out[4..36].copy_from_slice(root_hash);
    out[36..].copy_from_slice(file_hash);
    out
}

/// The masterchain validator subset for catchain seqno `cc_seqno` under `config` (param 34,
/// or 35 when set; the shuffle flag of param 28), and its short hash (what a block header's
/// `gen_validator_list_hash_short` must be).
pub fn mc_validator_subset(
    config: &BlockchainConfig,
    cc_seqno: u32,
) -> ProofResult<(Vec<ValidatorDescription>, u32)> {
    let vset = config
        .get_current_validator_set()
        .map_err(|e| ProofError::malformed("validator set (config param 34)", e))?;
    let shuffle = match config.get_catchain_config() {
        Ok(c) => c.shuffle_mc_validators,
        // No param 28: TON's default is no shuffle.
        Err(_) => false,
    };
    vset.compute_mc_subset(cc_seqno, shuffle)
        .filter(|(s, _)| !s.is_empty())
        .ok_or_else(|| ProofError::inconsistent("validator set", "empty masterchain subset"))
}

/// Checks `signatures` of block (`root_hash`, `file_hash`) against the validator `subset`:
/// returns the signed weight, which is above 2/3 of the subset's total.
pub fn check_block_signatures(
    subset: &[ValidatorDescription],
    signatures: &[NodeSignature],
    root_hash: &[u8; 32],
    file_hash: &[u8; 32],
) -> ProofResult<u64> {
    if subset.is_empty() {
        return Err(ProofError::inconsistent("validator subset", "empty"));
    }
    let data = block_signed_data(root_hash, file_hash);
    let mut total: u64 = 0;
    let mut nodes = std::collections::HashMap::with_capacity(subset.len());
    for (i, v) in subset.iter().enumerate() {
        total = total.saturating_add(v.weight);
        nodes.insert(node_id_short(&v.public_key.0), i);
    }
    let mut seen = vec![false; subset.len()];
    let mut signed: u64 = 0;
    for sig in signatures {
        let node = || hex::encode(sig.node_id_short);
        let Some(&i) = nodes.get(&sig.node_id_short) else {
            return Err(ProofError::BadSignature {
                node: node(),
                reason: "not in the validator subset",
            });
        };
        if std::mem::replace(&mut seen[i], true) {
            return Err(ProofError::BadSignature {
                node: node(),
                reason: "signed twice",
            });
        }
        let key = VerifyingKey::from_bytes(&subset[i].public_key.0).map_err(|_| {
            ProofError::BadSignature {
                node: node(),
                reason: "validator key is not a curve point",
            }
        })?;
        let bytes: [u8; 64] =
            sig.signature
                .as_slice()
                .try_into()
                .map_err(|_| ProofError::BadSignature {
                    node: node(),
                    reason: "not 64 bytes",
                })?;
        key.verify_strict(&data, &Signature::from_bytes(&bytes))
            .map_err(|_| ProofError::BadSignature {
                node: node(),
                reason: "does not verify",
            })?;
        signed = signed.saturating_add(subset[i].weight);
    }
    if u128::from(signed) * 3 <= u128::from(total) * 2 {
        return Err(ProofError::InsufficientWeight { signed, total });
    }
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proof::testkit::Validators;

    #[test]
    fn two_thirds_by_weight() {
        // Weights 5, 3, 2: 5+3 = 8 > 20/3; 5 alone is not; 3+2 = 5 is not.
        let v = Validators::new(&[5, 3, 2]);
        let (root, file) = ([1u8; 32], [2u8; 32]);
        let sigs = |who: &[usize]| -> Vec<NodeSignature> {
            who.iter().map(|&i| v.sign(i, &root, &file)).collect()
        };
        assert_eq!(
            check_block_signatures(&v.list, &sigs(&[0, 1]), &root, &file),
            Ok(8)
        );
        assert_eq!(
            check_block_signatures(&v.list, &sigs(&[0, 1, 2]), &root, &file),
            Ok(10)
        );
        assert!(matches!(
            check_block_signatures(&v.list, &sigs(&[0]), &root, &file),
            Err(ProofError::InsufficientWeight {
                signed: 5,
                total: 10
            })
        ));
        assert!(matches!(
            check_block_signatures(&v.list, &sigs(&[1, 2]), &root, &file),
            Err(ProofError::InsufficientWeight { .. })
        ));
        // Twice the same node does not add up.
        assert!(matches!(
            check_block_signatures(&v.list, &sigs(&[0, 0]), &root, &file),
            Err(ProofError::BadSignature {
                reason: "signed twice",
                ..
            })
        ));
        // A signature of another block.
        let mut other = sigs(&[0, 1]);
        other[1] = v.sign(1, &root, &[3u8; 32]);
        assert!(matches!(
            check_block_signatures(&v.list, &other, &root, &file),
            Err(ProofError::BadSignature {
                reason: "does not verify",
                ..
            })
        ));
        // A node outside the subset.
        let stranger = Validators::seeded(&[9], 7);
        let mut with_stranger = sigs(&[0, 1]);
        with_stranger.push(stranger.sign(0, &root, &file));
        assert!(matches!(
            check_block_signatures(&v.list, &with_stranger, &root, &file),
            Err(ProofError::BadSignature {
                reason: "not in the validator subset",
                ..
            })
        ));
        // A flipped bit.
        let mut flipped = sigs(&[0, 1]);
        flipped[0].signature[10] ^= 1;
        assert!(check_block_signatures(&v.list, &flipped, &root, &file).is_err());
        let mut short = sigs(&[0, 1]);
        short[0].signature.pop();
        assert!(check_block_signatures(&v.list, &short, &root, &file).is_err());
    }

    #[test]
    fn node_ids_and_signed_data_are_tons() {
        // The TL forms: little-endian ids, then the raw fields.
        let d = block_signed_data(&[0xaa; 32], &[0xbb; 32]);
        assert_eq!(&d[..4], &[0x70, 0x6e, 0x0b, 0xc5]);
        assert_eq!((d[4], d[35], d[36], d[67]), (0xaa, 0xaa, 0xbb, 0xbb));
        let mut h = Sha256::new();
        h.update([0xc6, 0xb4, 0x13, 0x48]);
        h.update([7u8; 32]);
        let want: [u8; 32] = h.finalize().into();
        assert_eq!(node_id_short(&[7u8; 32]), want);
    }
}
