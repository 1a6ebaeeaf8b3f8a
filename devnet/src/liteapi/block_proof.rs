//! Block proofs: `liteServer.getBlockProof` (a chain of `blockLinkForward` / `blockLinkBack`
//! steps from a block the client trusts to the one it wants) and `liteServer.getShardBlockProof`
//! (the masterchain block whose shard hashes name a shard block). Shapes and the link chain
//! follow TON's liteserver (`LiteQuery::construct_proof_chain` and friends in
//! ton-blockchain/ton `validator/impl/liteserver.cpp`); what a client checks is
//! `BlockProofLink::validate` in `crypto/block/check-proof.cpp`.
//!
//! ```text
//!  id not a key block ───────────── back link to its previous key block (state proof: prev_blocks)
//!  id a key block (or zero state) ── forward link to the next key block, or to the target:
//!        config_proof: the key block's McBlockExtra.config (zero state: McStateExtra.config)
//!        dest_proof:   the target's header; signatures: the target's liteServer.signatureSet
//!  target below id ──────────────── back link from id to the target
//! ```
//!
//! Every Merkle proof keeps the cells TON's checker reads: found by parsing the cells through a
//! tycho `UsageTree` the way the checker parses them, plus whole configs (so a client may read
//! any param).

use ton_liteapi::tl::common::{BlockLink, Int256, Signature, SignatureSet};
use ton_liteapi::tl::request::GetBlockProof;
use ton_liteapi::tl::response::{PartialBlockProof, ShardBlockLink, ShardBlockProof};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, HashBytes, UsageTree, UsageTreeMode};
use tycho_types::merkle::{FilterAction, MerkleFilter, MerkleProof};

use crate::engine::Chain;
use crate::engine::shard::StoredBlock;
use crate::error::{Error, Result};
use crate::liteapi::convert::{block_id, block_id_ext};

/// At most this many links in one answer (TON's limit); the client asks again from the last.
pub const MAX_LINKS: usize = 16;

fn boc_of(proof: MerkleProof) -> Result<Vec<u8>> {
    Ok(Boc::encode(CellBuilder::build_from(&proof)?))
}

/// The cells a proof keeps: some named ones, the cells a reader touched, and whole subtrees
/// (a subtree wins over a touched root, whose children would otherwise be pruned).
struct Keep {
    named: std::collections::HashSet<HashBytes>,
    usage: UsageTree,
    subtrees: std::collections::HashSet<HashBytes>,
}

impl MerkleFilter for Keep {
    fn check(&self, cell: &HashBytes) -> FilterAction {
        if self.subtrees.contains(cell) {
            FilterAction::IncludeSubtree
        } else if self.named.contains(cell) || self.usage.contains(cell) {
            FilterAction::Include
        } else {
            FilterAction::Skip
        }
    }
}

/// A Merkle proof of `root` keeping the `named` cells (the path TON's reader walks without
/// loading siblings) and, from `start` (one of them or `root`), every cell `read` touches and
/// every subtree it returns.
fn proof_of(
    root: &Cell,
    named: &[&Cell],
    start: &Cell,
    read: impl FnOnce(&Cell) -> Result<Vec<Cell>>,
) -> Result<Vec<u8>> {
    let usage = UsageTree::new(UsageTreeMode::OnLoad);
    let tracked = usage.track(start);
    let subtrees = read(&tracked)?.iter().map(|c| *c.repr_hash()).collect();
    drop(tracked);
    let filter = Keep {
        named: named.iter().map(|c| *c.repr_hash()).collect(),
        usage,
        subtrees,
    };
    boc_of(MerkleProof::create(root.as_ref(), filter).build()?)
}

fn child(cell: &Cell, index: u8, block: &StoredBlock) -> Result<Cell> {
    cell.reference_cloned(index).ok_or_else(|| Error::Config {
        reason: format!(
            "{}: a cell lacks reference {index}",
            block_id_ext(&block.id)
        ),
    })
}

/// The config params dictionary root, kept whole so a client may read any param.
fn params_root(config: &tycho_types::models::BlockchainConfig) -> Vec<Cell> {
    config.params.as_dict().root().iter().cloned().collect()
}

/// The block root and its BlockInfo, nothing else (TON's `check_block_header`): a link's
/// `dest_proof`.
fn header_proof(block: &StoredBlock) -> Result<Vec<u8>> {
    let info = child(&block.root, 0, block)?;
    proof_of(
        &block.root,
        &[&block.root, &info],
        &info,
        |_| Ok(Vec::new()),
    )
}

/// Block root, BlockInfo, BlockExtra and (tracked from there) the McBlockExtra as a reader
/// parses it: what `Config::extract_from_key_block` and the shard-block check walk.
fn mc_block_extra_proof(
    block: &StoredBlock,
    read: impl FnOnce(tycho_types::models::McBlockExtra) -> Result<Vec<Cell>>,
) -> Result<Vec<u8>> {
    let info = child(&block.root, 0, block)?;
    let extra = child(&block.root, 3, block)?;
    // block_extra: in_msg_descr, out_msg_descr, account_blocks, then custom:(Maybe ^McBlockExtra)
    let custom = child(&extra, 3, block)?;
    proof_of(&block.root, &[&block.root, &info, &extra], &custom, |c| {
        read(c.parse::<tycho_types::models::McBlockExtra>()?)
    })
}

/// State root, its `^[...]` cell and (tracked) the McStateExtra as a reader parses it: what
/// `Config::extract_from_state` / `ConfigInfo::unpack` walk.
fn mc_state_extra_proof(
    block: &StoredBlock,
    read: impl FnOnce(tycho_types::models::McStateExtra) -> Result<Vec<Cell>>,
) -> Result<Vec<u8>> {
    let state = &block.state;
    // shard_state: out_msg_queue_info, accounts, ^[ ... ], custom:(Maybe ^McStateExtra)
    let r1 = child(state, 2, block)?;
    let custom = child(state, 3, block)?;
    proof_of(state, &[state, &r1], &custom, |c| {
        read(c.parse::<tycho_types::models::McStateExtra>()?)
    })
}

/// A key block's config (`Config::extract_from_key_block`), or the zero state's
/// (`Config::extract_from_state`): a forward link's `config_proof`.
fn config_proof(block: &StoredBlock) -> Result<Vec<u8>> {
    if block.zerostate {
        return mc_state_extra_proof(block, |extra| Ok(params_root(&extra.config)));
    }
    mc_block_extra_proof(block, |extra| {
        let config = extra.config.ok_or_else(|| no_config(block))?;
        Ok(params_root(&config))
    })
}

fn no_config(block: &StoredBlock) -> Error {
    Error::BadMessage {
        reason: format!(
            "{} is not a key block: it carries no config",
            block_id_ext(&block.id)
        ),
    }
}

/// The block's header with its state update (the new state's hash): a back link's `proof`
/// (TON's `make_state_root_proof`).
fn state_root_proof(block: &StoredBlock) -> Result<Vec<u8>> {
    // Root, BlockInfo, its prev_ref (TON validates it) and the Merkle update cell itself: its
    // children (the old and new state trees) stay pruned, their hashes are all a client reads.
    let root = &block.root;
    let info = child(root, 0, block)?;
    let prev_ref = child(&info, 0, block)?;
    let update = child(root, 2, block)?;
    proof_of(root, &[root, &info, &prev_ref, &update], root, |_| {
        Ok(Vec::new())
    })
}

/// The masterchain state of `block` showing `old` in its `prev_blocks` (and the zero state's
/// entry, which TON's `ConfigInfo::unpack` reads): a back link's `state_proof`.
fn ancestor_proof(block: &StoredBlock, old: u32) -> Result<Vec<u8>> {
    mc_state_extra_proof(block, |extra| {
        extra.prev_blocks.get(0u32)?;
        extra
            .prev_blocks
            .get(old)?
            .ok_or_else(|| Error::BlockNotFound {
                block: format!(
                    "masterchain {old} in the previous blocks of {}",
                    block.id.seqno
                ),
            })?;
        Ok(params_root(&extra.config))
    })
}

fn signature_set(block: &StoredBlock) -> Result<SignatureSet> {
    let sigs = block
        .signatures
        .as_ref()
        .ok_or_else(|| Error::BlockNotFound {
            block: format!("signatures of {}", block_id_ext(&block.id)),
        })?;
    let mut signatures = Vec::new();
    for entry in sigs.signatures.values() {
        let s = entry?;
        signatures.push(Signature {
            node_id_short: Int256(s.node_id_short.0),
            signature: s.signature.0.to_vec(),
        });
    }
    Ok(SignatureSet {
        validator_set_hash: sigs.validator_info.validator_list_hash_short,
        catchain_seqno: sigs.validator_info.catchain_seqno,
        signatures,
    })
}

fn mc_block<'a>(
    chain: &'a Chain,
    id: &ton_liteapi::tl::common::BlockIdExt,
) -> Result<&'a StoredBlock> {
    let wanted = block_id(id)?;
    if !wanted.shard.is_masterchain() {
        return Err(Error::BadMessage {
            reason: format!("{id} is not a masterchain block"),
        });
    }
    chain
        .master
        .block_by_id(&wanted)
        .ok_or_else(|| Error::BlockNotFound {
            block: id.to_string(),
        })
}

fn forward(chain: &Chain, from: u32, to: u32) -> Result<BlockLink> {
    let (cur, next) = (block(chain, from)?, block(chain, to)?);
    Ok(BlockLink::BlockLinkForward {
        to_key_block: next.key_block,
        from: block_id_ext(&cur.id),
        to: block_id_ext(&next.id),
        dest_proof: header_proof(next)?,
        config_proof: config_proof(cur)?,
        signatures: signature_set(next)?,
    })
}

fn back(chain: &Chain, from: u32, to: u32) -> Result<BlockLink> {
    let (cur, next) = (block(chain, from)?, block(chain, to)?);
    Ok(BlockLink::BlockLinkBack {
        to_key_block: next.key_block,
        from: block_id_ext(&cur.id),
        to: block_id_ext(&next.id),
        // The zero state has no header to show; any other target's header is shown (TON's
        // `adjust_last_proof_link`).
        dest_proof: if next.zerostate {
            Vec::new()
        } else {
            header_proof(next)?
        },
        proof: state_root_proof(cur)?,
        state_proof: ancestor_proof(cur, to)?,
    })
}

fn block(chain: &Chain, seqno: u32) -> Result<&StoredBlock> {
    chain
        .master
        .block(seqno)
        .ok_or_else(|| Error::BlockNotFound {
            block: format!("masterchain {seqno}"),
        })
}

/// `liteServer.getBlockProof`: links from `known_block` to the target (mode bit 0) or to the
/// last masterchain block, at most [`MAX_LINKS`] of them (`complete` says whether they reach
/// the target).
pub fn get_block_proof(chain: &Chain, req: &GetBlockProof) -> Result<PartialBlockProof> {
    let from = mc_block(chain, &req.known_block)?;
    let last = chain.last_master()?;
    // Mode bit 0 is the presence of `target_block` (ton_liteapi derives the flags).
    let to = match &req.target_block {
        Some(target) => mc_block(chain, target)?,
        None => last,
    };
    let is_key = |s: u32| chain.master.block(s).is_some_and(|b| b.key_block);
    let mut steps = Vec::new();
    let mut id = from.id.seqno;
    let target = to.id.seqno;
    while steps.len() < MAX_LINKS && id != target {
        if target < id {
            steps.push(back(chain, id, target)?);
            id = target;
            continue;
        }
        let prev_key = (0..=id).rev().find(|s| is_key(*s)).unwrap_or(0);
        if prev_key != id {
            steps.push(back(chain, id, prev_key)?);
            id = prev_key;
            continue;
        }
        let next = (id + 1..=last.id.seqno)
            .find(|s| is_key(*s))
            .unwrap_or(target);
        steps.push(forward(chain, id, next)?);
        id = next;
    }
    Ok(PartialBlockProof {
        complete: id == target,
        from: block_id_ext(&from.id),
        to: block_id_ext(&block(chain, id)?.id),
        steps,
    })
}

/// `liteServer.getShardBlockProof`: the masterchain block that registered the shard block,
/// with a Merkle proof of its shard hashes naming it (one link: every masterchain block of the
/// devnet registers the basechain block made with it).
pub fn get_shard_block_proof(
    chain: &Chain,
    id: &ton_liteapi::tl::common::BlockIdExt,
) -> Result<ShardBlockProof> {
    let wanted = block_id(id)?;
    if wanted.shard.is_masterchain() {
        return Ok(ShardBlockProof {
            masterchain_id: id.clone(),
            links: Vec::new(),
        });
    }
    let shard = chain
        .shard(wanted.shard.workchain())
        .and_then(|s| s.block_by_id(&wanted))
        .ok_or_else(|| Error::BlockNotFound {
            block: id.to_string(),
        })?;
    let mc = block(chain, shard.link_seqno)?;
    let proof = mc_block_extra_proof(mc, |extra| {
        for entry in extra.shards.iter() {
            entry?;
        }
        Ok(Vec::new())
    })?;
    Ok(ShardBlockProof {
        masterchain_id: block_id_ext(&mc.id),
        links: vec![ShardBlockLink {
            id: id.clone(),
            proof,
        }],
    })
}

/// `liteServer.lookupBlockWithProof` (TON's `perform_lookupBlockWithProof`): the block of a
/// shard found by seqno, lt or utime (exactly one), its header with the references to the
/// previous and masterchain blocks, the previous block's header when looked up by lt or utime,
/// the masterchain block that registered it with the shard link, and, when that is older than
/// the client's `mc_block_id`, the client block's state root proof and its state showing the
/// registering block in `prev_blocks`.
pub fn lookup_block_with_proof(
    chain: &Chain,
    req: &ton_liteapi::tl::request::LookupBlockWithProof,
) -> Result<ton_liteapi::tl::response::LookupBlockResult> {
    let by = [req.seqno.is_some(), req.lt.is_some(), req.utime.is_some()];
    if by.iter().filter(|b| **b).count() != 1 {
        return Err(Error::BadMessage {
            reason: "exactly one of mode.0, mode.1 and mode.2 bits must be set".into(),
        });
    }
    let client_mc = mc_block(chain, &req.mc_block_id)?;
    let shard = tycho_types::models::ShardIdent::new(req.id.workchain, req.id.shard)
        .and_then(|s| chain.shard(s.workchain()))
        .ok_or_else(|| Error::BlockNotFound {
            block: format!("({},{:x})", req.id.workchain, req.id.shard),
        })?;
    let found = match (req.lt, req.utime) {
        (Some(lt), _) => shard.block_by_lt(lt),
        (_, Some(utime)) => shard.block_by_utime(utime),
        _ => shard.block(req.id.seqno),
    }
    .ok_or_else(|| Error::BlockNotFound {
        block: format!("({},{:x},{})", req.id.workchain, req.id.shard, req.id.seqno),
    })?;
    if found.zerostate {
        return Err(Error::BlockNotFound {
            block: format!("{} is a zero state", block_id_ext(&found.id)),
        });
    }
    let is_master = found.id.shard.is_masterchain();
    let mc_ref = if is_master {
        found.id.seqno
    } else {
        found.link_seqno
    };
    if mc_ref > client_mc.id.seqno {
        return Err(Error::BadMessage {
            reason: "specified mc block is older than block's masterchain ref".into(),
        });
    }
    // The header as `unpack_block_prev_blk_try` reads it: root, BlockInfo, prev_ref and (a
    // shard block) master_ref.
    let info = child(&found.root, 0, found)?;
    let mut named = vec![found.root.clone(), info.clone()];
    for i in 0..info.reference_count() {
        named.push(child(&info, i, found)?);
    }
    let refs: Vec<&Cell> = named.iter().collect();
    let header = proof_of(&found.root, &refs, &found.root, |_| Ok(Vec::new()))?;
    let prev_header = if req.lt.is_some() || req.utime.is_some() {
        let prev = shard
            .block(found.id.seqno.saturating_sub(1))
            .filter(|p| !p.zerostate)
            .map(header_proof)
            .transpose()?;
        prev.unwrap_or_default()
    } else {
        Vec::new()
    };
    let registering = block(chain, mc_ref)?;
    let shard_links = if is_master {
        Vec::new()
    } else {
        get_shard_block_proof(chain, &block_id_ext(&found.id))?.links
    };
    let (client_mc_state_proof, mc_block_proof) = if registering.id == client_mc.id {
        (Vec::new(), Vec::new())
    } else {
        (
            state_root_proof(client_mc)?,
            ancestor_proof(client_mc, registering.id.seqno)?,
        )
    };
    Ok(ton_liteapi::tl::response::LookupBlockResult {
        id: block_id_ext(&found.id),
        mode: (),
        mc_block_id: block_id_ext(&registering.id),
        client_mc_state_proof,
        mc_block_proof,
        shard_links,
        header,
        prev_header,
    })
}
