//! `liteServer.getBlockProof` answers: chains of forward links from a trusted masterchain
//! (key) block to a target, each signed by the masterchain validators that the link's source
//! configuration names.
//!
//! A forward link `from -> to` holds (TON's `BlockProofLink::validate`):
//! - `config_proof`: a Merkle proof of `from` (of its state when `from` is the zero state,
//!   else of the key block) that reveals its configuration (params 34 and 28);
//! - `dest_proof`: a Merkle proof of `to`'s header (its `BlockInfo`): the catchain seqno, the
//!   validator subset hash, the key-block flag;
//! - signatures of `ton.blockId(to.root_hash, to.file_hash)` by more than 2/3 of the subset's
//!   weight.
//!
//! Backward links (a newer trusted block proving an older one through `prev_blocks`) are not
//! accepted here: the indexer always asks from a key block at or below the target, so an
//! honest server answers with forward links only.

use tycho_types::models::{BlockInfo, CatchainConfig};

use super::header::{block_header, key_block_config, state_config};
use super::merkle::proof_root;
use super::signatures::{check_block_signatures, mc_validator_subset, validator_set_hash_short};
use super::{BlockIdExt, ProofResult, VerifyError};

/// One signature of a signature set (`liteServer.signature`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSignature {
    /// SHA-256 of the signer's TL public key.
    pub node_id_short: [u8; 32],
    /// The ed25519 signature.
    pub signature: [u8; 64],
}

/// One `liteServer.blockLinkForward`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardLink {
    /// Whether `to` is a key block.
    pub to_key_block: bool,
    /// The trusted source (a key block or the zero state).
    pub from: BlockIdExt,
    /// The block proven.
    pub to: BlockIdExt,
    /// Merkle proof of `to`'s header.
    pub dest_proof: Vec<u8>,
    /// Merkle proof of `from`'s configuration.
    pub config_proof: Vec<u8>,
    /// `liteServer.signatureSet.validator_set_hash`.
    pub validator_set_hash: u32,
    /// `liteServer.signatureSet.catchain_seqno`.
    pub catchain_seqno: u32,
    /// The signatures.
    pub signatures: Vec<NodeSignature>,
}

/// Checks one forward link whose `from` is trusted; returns `to`'s header info.
pub fn check_forward_link(link: &ForwardLink) -> ProofResult<BlockInfo> {
    let (from, to) = (&link.from, &link.to);
    if !from.is_masterchain() || !to.is_masterchain() {
        return Err(VerifyError::inconsistent(
            "forward link",
            "both ends must be masterchain blocks",
        ));
    }
    if from.seqno >= to.seqno {
        return Err(VerifyError::inconsistent(
            "forward link",
            format!("from {} is not below to {}", from.seqno, to.seqno),
        ));
    }
    if link.signatures.is_empty() {
        return Err(VerifyError::inconsistent("forward link", "no signatures"));
    }
    let source = proof_root("config proof", &link.config_proof, &from.root_hash)?;
    let config = if from.seqno == 0 {
        state_config(source.as_ref())?
    } else {
        block_header(source.as_ref(), from)?;
        key_block_config(source.as_ref())?
    };
    let dest = proof_root("destination proof", &link.dest_proof, &to.root_hash)?;
    let info = block_header(dest.as_ref(), to)?.info;
    if info.key_block != link.to_key_block {
        return Err(VerifyError::inconsistent(
            "forward link",
            format!(
                "to_key_block is {} but the header says {}",
                link.to_key_block, info.key_block
            ),
        ));
    }
    let vset = config
        .get_current_validator_set()
        .map_err(|e| VerifyError::malformed("validator set (config param 34)", e))?;
    let cc_config = catchain_config(&config);
    let subset = mc_validator_subset(&vset, &cc_config, info.gen_catchain_seqno)?;
    let hash_short = validator_set_hash_short(&subset, info.gen_catchain_seqno);
    if hash_short != info.gen_validator_list_hash_short {
        return Err(VerifyError::inconsistent(
            "validator subset",
            format!(
                "hash {hash_short:08x} of the set in {from} differs from {:08x} in the header of {to}",
                info.gen_validator_list_hash_short
            ),
        ));
    }
    if link.validator_set_hash != hash_short || link.catchain_seqno != info.gen_catchain_seqno {
        return Err(VerifyError::inconsistent(
            "signature set",
            format!(
                "names set {:08x} / catchain {} where the header has {hash_short:08x} / {}",
                link.validator_set_hash, link.catchain_seqno, info.gen_catchain_seqno
            ),
        ));
    }
    check_block_signatures(
        &subset,
        &to.root_hash,
        &to.file_hash,
        link.signatures
            .iter()
            .map(|s| (&s.node_id_short, &s.signature)),
    )?;
    Ok(info)
}

/// Param 28 of `config`, or TON's default when absent (no shuffle of the masterchain set).
pub fn catchain_config(config: &tycho_types::models::BlockchainConfig) -> CatchainConfig {
    config.get_catchain_config().unwrap_or(CatchainConfig {
        isolate_mc_validators: false,
        shuffle_mc_validators: false,
        mc_catchain_lifetime: 0,
        shard_catchain_lifetime: 0,
        shard_validators_lifetime: 0,
        shard_validators_num: 0,
    })
}

/// What a verified chain established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOutcome {
    /// Where the chain ends: the target, or (an incomplete answer) a key block on the way.
    pub reached: BlockIdExt,
    /// The header info of `reached`.
    pub reached_info: BlockInfo,
    /// Every key block the chain passed through (newly trusted sources), in order.
    pub key_blocks: Vec<BlockIdExt>,
}

impl ChainOutcome {
    /// Whether the chain reached `target` (else ask again from [`ChainOutcome::reached`]).
    pub fn reaches(&self, target: &BlockIdExt) -> bool {
        self.reached == *target
    }
}

/// Checks a `liteServer.partialBlockProof` (`complete`, `from`, `to`, links) asked from the
/// trusted `trusted` to `target`: it must start at `trusted`, every link must verify from the
/// end of the previous one, and it must end at `target` — or, when the server says it is
/// incomplete (TON's liteservers cap the links per answer), at a key block, from which the
/// caller asks again.
pub fn check_proof_chain(
    trusted: &BlockIdExt,
    target: &BlockIdExt,
    complete: bool,
    from: &BlockIdExt,
    to: &BlockIdExt,
    links: &[ForwardLink],
) -> ProofResult<ChainOutcome> {
    if from != trusted || (complete && to != target) {
        return Err(VerifyError::inconsistent(
            "block proof",
            format!("goes from {from} to {to}; asked from {trusted} to {target}"),
        ));
    }
    let mut cur = *trusted;
    let mut key_blocks = Vec::new();
    let mut last_info = None;
    for (index, link) in links.iter().enumerate() {
        let wrap = |e: VerifyError| VerifyError::Link {
            index,
            source: Box::new(e),
        };
        if link.from != cur {
            return Err(wrap(VerifyError::inconsistent(
                "block proof",
                format!("link starts at {} where the chain is at {cur}", link.from),
            )));
        }
        // Only a key block (or the zero state) can be the source of a forward link: its
        // config is what names the validators.
        if index > 0 && !key_blocks.contains(&cur) {
            return Err(wrap(VerifyError::inconsistent(
                "block proof",
                format!("link starts at {cur}, which is not a key block"),
            )));
        }
        let info = check_forward_link(link).map_err(wrap)?;
        if link.to_key_block {
            key_blocks.push(link.to);
        }
        cur = link.to;
        last_info = Some(info);
    }
    let reached_info =
        last_info.ok_or_else(|| VerifyError::inconsistent("block proof", "no links"))?;
    if cur != *to {
        return Err(VerifyError::inconsistent(
            "block proof",
            format!("ends at {cur}, not at {to} as it says"),
        ));
    }
    if cur != *target && !key_blocks.contains(&cur) {
        return Err(VerifyError::inconsistent(
            "block proof",
            format!("incomplete, and stops at {cur}, which is not a key block"),
        ));
    }
    Ok(ChainOutcome {
        reached: cur,
        reached_info,
        key_blocks,
    })
}
