//! Checking what a liteserver says about the masterchain, by TON's own rules: validator
//! signatures over masterchain blocks ([`signatures`]), the validator set they must come
//! from, block proof links and chains ([`block_link`]), and account states against the state
//! update of a verified block ([`account`]). Pure functions over cells and bytes: the devnet uses them to build what it signs, the
//! indexer to verify what any liteserver serves.
//!
//! ```text
//!  key block (or zero state) config ── param 34 + param 28 ──> masterchain validator subset
//!                                                                   │ (cc_seqno of the block)
//!  block header: gen_catchain_seqno, gen_validator_list_hash_short <─┤ hash must match
//!  liteServer.signatureSet ── ed25519 over ton.blockId{root, file} ──┘ > 2/3 of the weight
//! ```

pub mod account;
pub mod block_link;
pub mod signatures;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

pub use block_link::{
    BlockLinkData, SignatureSetData, VerifiedChain, check_chain, check_link,
    check_shard_block_link, virtual_root,
};
pub use signatures::{
    BLOCK_ID_TL_ID, ProofError, SignedBlockPayload, check_block_signatures, mc_validator_subset,
    node_id_short, signing_payload, validator_set_hash_short,
};
