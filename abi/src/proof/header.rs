//! What a (partial) block or state tree says: the block header, the new state hash, the
//! configuration of a key block or of the masterchain zero state.
//!
//! Read by hand along the TL-B layout where a proof prunes siblings (tycho-types' loaders of
//! `McBlockExtra` and `McStateExtra` read cells that proofs prune):
//!
//! ```text
//! block#11ef55aa global_id:int32 info:^BlockInfo value_flow:^ValueFlow
//!   state_update:^(MERKLE_UPDATE ShardState) extra:^BlockExtra
//! block_extra in_msg_descr:^_ out_msg_descr:^_ account_blocks:^_ rand_seed:bits256
//!   created_by:bits256 custom:(Maybe ^McBlockExtra)
//! masterchain_block_extra#cca5 key_block:(## 1) shard_hashes:ShardHashes shard_fees:ShardFees
//!   ^[...] config:key_block?ConfigParams
//! shard_state#9023afe2 ... out_msg_queue_info:^_ before_split:(## 1) accounts:^ShardAccounts
//!   ^[...] custom:(Maybe ^McStateExtra)
//! masterchain_state_extra#cc26 shard_hashes:ShardHashes config:ConfigParams ^[...] ...
//! ```

use tycho_types::cell::{CellSlice, DynCell, Load};
use tycho_types::merkle::MerkleUpdate;
use tycho_types::models::{BlockInfo, BlockchainConfig, ShardFees, ShardHashes};

use super::{BlockIdExt, ProofResult, VerifyError};

const BLOCK_TAG: u32 = 0x11ef_55aa;
const BLOCK_EXTRA_TAG: u32 = 0x4a33_f6fd;
const MC_BLOCK_EXTRA_TAG: u16 = 0xcca5;
const SHARD_STATE_TAG: u32 = 0x9023_afe2;
const MC_STATE_EXTRA_TAG: u16 = 0xcc26;

fn slice<'a>(what: &'static str, cell: &'a DynCell) -> ProofResult<CellSlice<'a>> {
    cell.as_slice()
        .map_err(|e| VerifyError::malformed(what, format!("pruned or exotic: {e}")))
}

fn child<'a>(what: &'static str, cell: &'a DynCell, index: u8) -> ProofResult<&'a DynCell> {
    cell.reference(index)
        .ok_or_else(|| VerifyError::malformed(what, format!("no reference {index}")))
}

fn check_tag32(what: &'static str, s: &mut CellSlice<'_>, tag: u32) -> ProofResult<()> {
    let got = s.load_u32().map_err(|e| VerifyError::malformed(what, e))?;
    if got != tag {
        return Err(VerifyError::malformed(
            what,
            format!("tag {got:08x}, expected {tag:08x}"),
        ));
    }
    Ok(())
}

/// A block header read from a (partial) block tree whose root hash was checked.
#[derive(Debug, Clone)]
pub struct BlockHeader {
    /// The block's info.
    pub info: BlockInfo,
    /// Hash of the shard state after the block (the state update's new hash).
    pub state_hash: [u8; 32],
}

/// Reads the header of block `id` from the tree `root` (a full block or a proof's tree), and
/// checks that the info names the same block (workchain, shard, seqno).
pub fn block_header(root: &DynCell, id: &BlockIdExt) -> ProofResult<BlockHeader> {
    let mut s = slice("block", root)?;
    check_tag32("block", &mut s, BLOCK_TAG)?;
    let info = BlockInfo::load_from(&mut slice("block info", child("block", root, 0)?)?)
        .map_err(|e| VerifyError::malformed("block info", e))?;
    if info.shard.workchain() != id.workchain
        || info.shard.prefix() != id.shard
        || info.seqno != id.seqno
    {
        return Err(VerifyError::inconsistent(
            "block info",
            format!(
                "names ({},{:016x},{}) where {id} was asked",
                info.shard.workchain(),
                info.shard.prefix(),
                info.seqno
            ),
        ));
    }
    let update: MerkleUpdate = child("block", root, 2)?
        .parse_exotic()
        .map_err(|e| VerifyError::malformed("state update", e))?;
    Ok(BlockHeader {
        info,
        state_hash: update.new_hash.0,
    })
}

/// The configuration a key block carries in its `McBlockExtra` (read from the tree `root`
/// of that block, whose hash was checked).
pub fn key_block_config(root: &DynCell) -> ProofResult<BlockchainConfig> {
    let mut s = slice("block", root)?;
    check_tag32("block", &mut s, BLOCK_TAG)?;
    let extra = child("block", root, 3)?;
    let mut e = slice("block extra", extra)?;
    check_tag32("block extra", &mut e, BLOCK_EXTRA_TAG)?;
    e.skip_first(512, 3)
        .map_err(|x| VerifyError::malformed("block extra", x))?;
    let has_custom = e
        .load_bit()
        .map_err(|x| VerifyError::malformed("block extra", x))?;
    if !has_custom {
        return Err(VerifyError::inconsistent(
            "block extra",
            "no McBlockExtra: not a masterchain block",
        ));
    }
    let custom = e
        .load_reference()
        .map_err(|x| VerifyError::malformed("block extra", x))?;
    let mut m = slice("McBlockExtra", custom)?;
    let tag = m
        .load_u16()
        .map_err(|x| VerifyError::malformed("McBlockExtra", x))?;
    if tag != MC_BLOCK_EXTRA_TAG {
        return Err(VerifyError::malformed(
            "McBlockExtra",
            format!("tag {tag:04x}"),
        ));
    }
    let key_block = m
        .load_bit()
        .map_err(|x| VerifyError::malformed("McBlockExtra", x))?;
    if !key_block {
        return Err(VerifyError::inconsistent(
            "McBlockExtra",
            "not a key block: it carries no config",
        ));
    }
    ShardHashes::load_from(&mut m).map_err(|x| VerifyError::malformed("shard hashes", x))?;
    ShardFees::load_from(&mut m).map_err(|x| VerifyError::malformed("shard fees", x))?;
    m.skip_first(0, 1)
        .map_err(|x| VerifyError::malformed("McBlockExtra", x))?;
    BlockchainConfig::load_from(&mut m).map_err(|x| VerifyError::malformed("config", x))
}

/// The root of a shard state's `accounts` dictionary and its optional `McStateExtra`.
fn state_parts(root: &DynCell) -> ProofResult<(&DynCell, Option<&DynCell>)> {
    let mut s = slice("shard state", root)?;
    check_tag32("shard state", &mut s, SHARD_STATE_TAG)?;
    let accounts = child("shard state", root, 1)?;
    let custom = match root.reference_count() {
        4 => Some(child("shard state", root, 3)?),
        _ => None,
    };
    Ok((accounts, custom))
}

/// The accounts dictionary cell of a shard state tree.
pub fn state_accounts(root: &DynCell) -> ProofResult<&DynCell> {
    Ok(state_parts(root)?.0)
}

/// The configuration in a masterchain state's `McStateExtra` (the zero state's, for a chain
/// that starts from it).
pub fn state_config(root: &DynCell) -> ProofResult<BlockchainConfig> {
    let (_, custom) = state_parts(root)?;
    let custom = custom.ok_or_else(|| {
        VerifyError::inconsistent("shard state", "no McStateExtra: not a masterchain state")
    })?;
    let mut m = slice("McStateExtra", custom)?;
    let tag = m
        .load_u16()
        .map_err(|x| VerifyError::malformed("McStateExtra", x))?;
    if tag != MC_STATE_EXTRA_TAG {
        return Err(VerifyError::malformed(
            "McStateExtra",
            format!("tag {tag:04x}"),
        ));
    }
    ShardHashes::load_from(&mut m).map_err(|x| VerifyError::malformed("shard hashes", x))?;
    BlockchainConfig::load_from(&mut m).map_err(|x| VerifyError::malformed("config", x))
}
