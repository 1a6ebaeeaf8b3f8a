//! Checking a `liteServer.partialBlockProof`: each forward link (a block signed by the
//! validator set of the key block it starts from) and each backward link (a block listed in
//! the `prev_blocks` of a later masterchain state), and the chain of them from a trusted block.
//! The rules are TON's `BlockProofLink::validate` and `BlockProofChain::validate`
//! (ton-blockchain/ton `crypto/block/check-proof.cpp`). The inputs are the TL fields as bytes,
//! so any liteclient library can feed them.

use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellFamily};
use tycho_types::merkle::MerkleProof;
use tycho_types::merkle::MerkleUpdate;
use tycho_types::models::{BlockId, BlockInfo, BlockchainConfig, McBlockExtra, McStateExtra};

use super::signatures::{
    ProofError, check_block_signatures, mc_validator_subset, validator_set_hash_short,
};

/// `liteServer.signatureSet` as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureSetData {
    /// The signing subset's short hash.
    pub validator_set_hash: u32,
    /// The signing session's catchain seqno.
    pub catchain_seqno: u32,
    /// (short node id, ed25519 signature).
    pub signatures: Vec<([u8; 32], [u8; 64])>,
}

/// One `liteServer.BlockLink` as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockLinkData {
    /// `liteServer.blockLinkForward`.
    Forward {
        /// The destination is a key block.
        to_key_block: bool,
        /// Source (a key block or the zero state).
        from: BlockId,
        /// Destination (later).
        to: BlockId,
        /// Merkle proof of the destination's header.
        dest_proof: Vec<u8>,
        /// Merkle proof of the source's config.
        config_proof: Vec<u8>,
        /// The destination's signatures.
        signatures: SignatureSetData,
    },
    /// `liteServer.blockLinkBack`.
    Back {
        /// The destination is a key block.
        to_key_block: bool,
        /// Source (later).
        from: BlockId,
        /// Destination (earlier).
        to: BlockId,
        /// Merkle proof of the destination's header (empty for the zero state).
        dest_proof: Vec<u8>,
        /// Merkle proof of the source's header and state update.
        proof: Vec<u8>,
        /// Merkle proof of the source's state listing the destination in `prev_blocks`.
        state_proof: Vec<u8>,
    },
}

impl BlockLinkData {
    /// (from, to).
    pub fn ends(&self) -> (&BlockId, &BlockId) {
        match self {
            Self::Forward { from, to, .. } | Self::Back { from, to, .. } => (from, to),
        }
    }

    /// Whether the destination is a key block.
    pub fn to_key_block(&self) -> bool {
        match self {
            Self::Forward { to_key_block, .. } | Self::Back { to_key_block, .. } => *to_key_block,
        }
    }
}

fn bad(what: impl Into<String>) -> ProofError {
    ProofError::BadProof {
        reason: what.into(),
    }
}

/// The virtual root of a Merkle proof BOC (its hash is the original cell's).
pub fn virtual_root(boc: &[u8]) -> Result<Cell, ProofError> {
    let cell = Boc::decode(boc).map_err(|e| bad(format!("proof BOC: {e}")))?;
    let proof = cell
        .parse_exotic::<MerkleProof>()
        .map_err(|e| bad(format!("not a Merkle proof: {e}")))?;
    Ok(Cell::virtualize(proof.cell))
}

/// `block#11ef55aa`.
const BLOCK_TAG: u32 = 0x11ef55aa;
/// `shard_state#9023afe2`.
const SHARD_STATE_TAG: u32 = 0x9023afe2;
/// `block_extra#4a33f6fd`.
const BLOCK_EXTRA_TAG: u32 = 0x4a33f6fd;

fn err_tycho(what: &str) -> impl Fn(tycho_types::error::Error) -> ProofError + '_ {
    move |e| bad(format!("{what}: {e}"))
}

fn reference(cell: &Cell, index: u8, what: &str) -> Result<Cell, ProofError> {
    cell.reference_cloned(index)
        .ok_or_else(|| bad(format!("{what}: reference {index} missing")))
}

fn expect_tag(cell: &Cell, tag: u32, what: &str) -> Result<(), ProofError> {
    let found = cell
        .as_slice()
        .and_then(|mut s| s.load_u32())
        .map_err(err_tycho(what))?;
    if found != tag {
        return Err(bad(format!(
            "{what}: tag {found:#010x}, expected {tag:#010x}"
        )));
    }
    Ok(())
}

/// TON's `check_block_header`: the root hash, then seqno and shard in the header. Reads only
/// the root and its BlockInfo (the other references may be pruned, as TON's proofs leave them).
fn check_header(root: &Cell, id: &BlockId) -> Result<BlockInfo, ProofError> {
    if root.repr_hash() != &id.root_hash {
        return Err(bad(format!(
            "block header root hash {} is not {}'s",
            root.repr_hash(),
            id
        )));
    }
    expect_tag(root, BLOCK_TAG, "block")?;
    let info = reference(root, 0, "block")?
        .parse::<BlockInfo>()
        .map_err(|e| bad(format!("header of {id}: {e}")))?;
    if info.seqno != id.seqno || info.shard != id.shard {
        return Err(bad(format!(
            "header of {id} names {}:{}",
            info.shard, info.seqno
        )));
    }
    Ok(info)
}

/// A masterchain state's McStateExtra (the state root's last reference).
fn state_extra(root: &Cell) -> Result<McStateExtra, ProofError> {
    expect_tag(root, SHARD_STATE_TAG, "state")?;
    if root.reference_count() != 4 {
        return Err(bad("masterchain state without McStateExtra"));
    }
    reference(root, 3, "state")?
        .parse::<McStateExtra>()
        .map_err(err_tycho("McStateExtra"))
}

/// The config a forward link starts from: a key block's `McBlockExtra.config`, or the zero
/// state's `McStateExtra.config`.
fn source_config(root: &Cell, from: &BlockId) -> Result<BlockchainConfig, ProofError> {
    if from.seqno == 0 {
        if root.repr_hash() != &from.root_hash {
            return Err(bad(format!("zero state root hash is not {from}'s")));
        }
        return Ok(state_extra(root)?.config);
    }
    check_header(root, from)?;
    let mc_extra = mc_block_extra(root, from)?;
    mc_extra
        .config
        .ok_or_else(|| bad(format!("{from} is not a key block (no config)")))
}

/// The McBlockExtra of a masterchain block whose header was checked.
fn mc_block_extra(root: &Cell, id: &BlockId) -> Result<McBlockExtra, ProofError> {
    let extra = reference(root, 3, "block")?;
    expect_tag(&extra, BLOCK_EXTRA_TAG, "block extra")?;
    if extra.reference_count() != 4 {
        return Err(bad(format!("{id} has no McBlockExtra")));
    }
    reference(&extra, 3, "block extra")?
        .parse::<McBlockExtra>()
        .map_err(err_tycho("McBlockExtra"))
}

/// Checks one `liteServer.shardBlockLink` whose block is a masterchain block: `proof` shows
/// `mc_block` (its root hash) registering `shard_block` in its shard hashes with the same
/// seqno and hashes (TON's `getShardBlockProof` first link; the devnet's only one). Returns
/// the shard block's `end_lt`.
pub fn check_shard_block_link(
    mc_block: &BlockId,
    shard_block: &BlockId,
    proof: &[u8],
) -> Result<u64, ProofError> {
    let root = virtual_root(proof)?;
    check_header(&root, mc_block)?;
    let extra = mc_block_extra(&root, mc_block)?;
    let shards = extra
        .shards
        .get_workchain_shards(shard_block.shard.workchain())
        .map_err(err_tycho("shard hashes"))?
        .ok_or_else(|| {
            bad(format!(
                "{mc_block} lists no shards of {}",
                shard_block.shard
            ))
        })?;
    for entry in shards.iter() {
        let (ident, descr) = entry.map_err(err_tycho("shard description"))?;
        if ident == shard_block.shard
            && descr.seqno == shard_block.seqno
            && descr.root_hash == shard_block.root_hash
            && descr.file_hash == shard_block.file_hash
        {
            return Ok(descr.end_lt);
        }
    }
    Err(bad(format!("{mc_block} does not register {shard_block}")))
}

/// Checks one link (TON's `BlockProofLink::validate`). Returns the destination's `gen_utime`
/// when its header was shown.
pub fn check_link(link: &BlockLinkData) -> Result<Option<u32>, ProofError> {
    let (from, to) = link.ends();
    if !from.shard.is_masterchain() || !to.shard.is_masterchain() {
        return Err(bad("a block proof link joins masterchain blocks only"));
    }
    let forward = matches!(link, BlockLinkData::Forward { .. });
    if from.seqno == to.seqno || forward != (from.seqno < to.seqno) {
        return Err(bad(format!(
            "link {from} -> {to} has the wrong direction for its kind"
        )));
    }
    let dest_proof = match link {
        BlockLinkData::Forward { dest_proof, .. } | BlockLinkData::Back { dest_proof, .. } => {
            dest_proof
        }
    };
    // The destination's header.
    let mut dest_info = None;
    if to.seqno != 0 {
        let root = virtual_root(dest_proof)?;
        let info = check_header(&root, to)?;
        if info.key_block != link.to_key_block() {
            return Err(bad(format!("{to}: to_key_block does not match its header")));
        }
        dest_info = Some(info);
    }
    match link {
        BlockLinkData::Forward {
            config_proof,
            signatures,
            ..
        } => {
            let info = dest_info.ok_or_else(|| bad("a forward link to the zero state"))?;
            let config = source_config(&virtual_root(config_proof)?, from)?;
            let set = config.params.get_current_validator_set().map_err(|e| {
                ProofError::NoValidatorSet {
                    reason: e.to_string(),
                }
            })?;
            let cc_config =
                config
                    .params
                    .get_catchain_config()
                    .map_err(|e| ProofError::NoValidatorSet {
                        reason: format!("param 28: {e}"),
                    })?;
            let subset = mc_validator_subset(&set, &cc_config, info.gen_catchain_seqno)?;
            let computed = validator_set_hash_short(&subset, signatures.catchain_seqno);
            if computed != info.gen_validator_list_hash_short {
                return Err(ProofError::ValidatorSetHash {
                    computed,
                    expected: info.gen_validator_list_hash_short,
                });
            }
            if signatures.validator_set_hash != computed
                || signatures.catchain_seqno != info.gen_catchain_seqno
            {
                return Err(ProofError::ValidatorSetHash {
                    computed,
                    expected: signatures.validator_set_hash,
                });
            }
            check_block_signatures(
                &subset,
                &to.root_hash.0,
                &to.file_hash.0,
                signatures.signatures.iter().map(|(n, s)| (n, s)),
            )?;
            Ok(Some(info.gen_utime))
        }
        BlockLinkData::Back {
            proof, state_proof, ..
        } => {
            let root = virtual_root(proof)?;
            check_header(&root, from)?;
            // The Merkle update names the new state's hash (and is checked against its
            // reference, whose hash a pruned branch keeps).
            let new_state_hash = reference(&root, 2, "block")?
                .parse_exotic::<MerkleUpdate>()
                .map_err(err_tycho("state update"))?
                .new_hash;
            let state = virtual_root(state_proof)?;
            if state.repr_hash() != &new_state_hash {
                return Err(bad(format!("state proof is not {from}'s state")));
            }
            let extra = state_extra(&state)?;
            let (_, entry) = extra
                .prev_blocks
                .get(to.seqno)
                .map_err(err_tycho("prev_blocks"))?
                .ok_or_else(|| bad(format!("{to} is not among {from}'s previous blocks")))?;
            if entry.block_ref.root_hash != to.root_hash
                || entry.block_ref.file_hash != to.file_hash
            {
                return Err(bad(format!(
                    "{from}'s previous block {} has other hashes than {to}",
                    to.seqno
                )));
            }
            if to.seqno == 0 && !link.to_key_block() {
                return Err(bad("the zero state is a key block"));
            }
            Ok(dest_info.map(|i| i.gen_utime))
        }
    }
}

/// What a verified chain proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    /// The block the chain ends at (proven from the trusted block).
    pub to: BlockId,
    /// The latest key block seen on the way (a better trusted block next time).
    pub last_key_block: Option<BlockId>,
    /// `gen_utime` of the last header shown.
    pub last_utime: Option<u32>,
}

/// Checks a chain of links from `trusted` (TON's `BlockProofChain::validate`): each link starts
/// where the previous one ended and verifies. An empty chain proves `trusted` itself.
pub fn check_chain(
    trusted: &BlockId,
    links: &[BlockLinkData],
) -> Result<VerifiedChain, ProofError> {
    let mut cur = *trusted;
    let mut last_key_block = None;
    let mut last_utime = None;
    for (i, link) in links.iter().enumerate() {
        let (from, to) = link.ends();
        if from != &cur {
            return Err(bad(format!(
                "link {} starts at {from}, the previous one ended at {cur}",
                i + 1
            )));
        }
        if let Some(utime) = check_link(link)? {
            last_utime = Some(utime);
        }
        if link.to_key_block() {
            last_key_block = Some(*to);
        }
        cur = *to;
    }
    Ok(VerifiedChain {
        to: cur,
        last_key_block,
        last_utime,
    })
}
