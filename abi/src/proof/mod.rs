//! Checks of what a liteserver proves: Merkle proofs of blocks and states, validator
//! signatures of masterchain blocks, the forward links of `liteServer.getBlockProof`, shard
//! blocks in a masterchain block, and account states in a block's state update.
//!
//! Pure functions over bytes and cells (no I/O, no clock): the devnet uses [`signatures`] to
//! build what it signs, the indexer calls all of them on every answer it keeps. The rules are TON's
//! (`crypto/block/check-proof.cpp`, the liteclient and tonlib), written here from their
//! behaviour:
//!
//! ```text
//!  trusted key block (the global config's init_block, then every key block verified since)
//!     │ forward link: config_proof  = Merkle proof of `from` (zero state: McStateExtra;
//!     │                               key block: McBlockExtra) -> config param 34 (+28)
//!     │               dest_proof    = Merkle proof of `to`'s header -> BlockInfo
//!     │               signatures    > 2/3 of the masterchain subset's weight over
//!     v                               ton.blockId(to.root_hash, to.file_hash)
//!  verified masterchain block id ──> its McBlockExtra (full block, hash-checked) names the
//!     shard tops ──> their prev_ref chains name every shard block ──> full blocks, hash-checked
//!     ──> transactions (subtrees of a verified block) and the state update's new state
//!     ──> account states ([`account::shard_account_in_block`])
//! ```
//!
//! Hashes inside a Merkle proof or update are compared at level 0 (`hash(0)`): the hash the
//! original cell had before pruning.

pub mod account;
pub mod header;
pub mod link;
pub mod merkle;
pub mod signatures;

/// A block id as the liteserver protocol names it (`tonNode.blockIdExt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockIdExt {
    /// Workchain (-1: masterchain).
    pub workchain: i32,
    /// Shard prefix with its tag bit (TON encoding).
    pub shard: u64,
    /// Sequence number.
    pub seqno: u32,
    /// Representation hash of the block's root cell.
    pub root_hash: [u8; 32],
    /// SHA-256 of the block's BOC.
    pub file_hash: [u8; 32],
}

impl BlockIdExt {
    /// Whether this is a masterchain block id.
    pub fn is_masterchain(&self) -> bool {
        self.workchain == -1 && self.shard == 0x8000_0000_0000_0000
    }
}

impl std::fmt::Display for BlockIdExt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "({},{:016x},{}):{}",
            self.workchain,
            self.shard,
            self.seqno,
            hex::encode(&self.root_hash[..8])
        )
    }
}

pub use signatures::{
    BLOCK_ID_TL_ID, ProofError, SignedBlockPayload, check_block_signatures, mc_validator_subset,
    node_id_short, signing_payload, validator_set_hash_short,
};

/// Why an answer does not verify. Every variant means: the liteserver that sent it is not to
/// be believed for this answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A BOC, a cell or a TL-B structure did not parse.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A proof's root hash is not the hash it must prove.
    #[error("{what}: hash {found} where {expected} was expected")]
    HashMismatch {
        /// What was compared.
        what: &'static str,
        /// The trusted hash (hex).
        expected: String,
        /// The hash found (hex).
        found: String,
    },
    /// A proven structure says something else than the answer around it.
    #[error("{what}: {reason}")]
    Inconsistent {
        /// What disagreed.
        what: &'static str,
        /// How.
        reason: String,
    },
    /// The signatures or the validator set do not verify ([`signatures`]).
    #[error(transparent)]
    Signatures(#[from] ProofError),
    /// Link `index` of a proof chain failed.
    #[error("proof link {index}: {source}")]
    Link {
        /// Position in the chain (from 0).
        index: usize,
        /// Why.
        source: Box<VerifyError>,
    },
}

impl VerifyError {
    pub(crate) fn malformed(what: &'static str, reason: impl std::fmt::Display) -> Self {
        VerifyError::Malformed {
            what,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn inconsistent(what: &'static str, reason: impl std::fmt::Display) -> Self {
        VerifyError::Inconsistent {
            what,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn hash_mismatch(what: &'static str, expected: &[u8], found: &[u8]) -> Self {
        VerifyError::HashMismatch {
            what,
            expected: hex::encode(expected),
            found: hex::encode(found),
        }
    }
}

/// This module's result type.
pub type ProofResult<T> = std::result::Result<T, VerifyError>;

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
