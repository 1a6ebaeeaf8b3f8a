//! Wire types <-> engine types.

use std::hash::RandomState;

use ton_liteapi::tl::common::{BlockIdExt, Int256};
use tycho_types::boc::ser::BocHeader;
use tycho_types::cell::{Cell, HashBytes};
use tycho_types::models::{BlockId, ShardIdent};

use crate::error::{Error, Result};

/// tycho BlockId -> tonNode.blockIdExt.
pub fn block_id_ext(id: &BlockId) -> BlockIdExt {
    BlockIdExt {
        workchain: id.shard.workchain(),
        shard: id.shard.prefix(),
        seqno: id.seqno,
        root_hash: Int256(id.root_hash.0),
        file_hash: Int256(id.file_hash.0),
    }
}

/// tonNode.blockIdExt -> tycho BlockId.
pub fn block_id(id: &BlockIdExt) -> Result<BlockId> {
    let shard = ShardIdent::new(id.workchain, id.shard).ok_or_else(|| Error::BlockNotFound {
        block: id.to_string(),
    })?;
    Ok(BlockId {
        shard,
        seqno: id.seqno,
        root_hash: HashBytes(id.root_hash.0),
        file_hash: HashBytes(id.file_hash.0),
    })
}

/// int256 from a hash.
pub fn int256(h: &HashBytes) -> Int256 {
    Int256(h.0)
}

/// One BOC holding several roots, in order.
pub fn multi_root_boc(roots: &[Cell]) -> Vec<u8> {
    let mut out = Vec::new();
    let Some((first, rest)) = roots.split_first() else {
        return out;
    };
    let mut header = BocHeader::<RandomState>::with_root(first.as_ref());
    for root in rest {
        header.add_root(root.as_ref());
    }
    header.encode(&mut out);
    out
}

/// Every root of a (multi-root) BOC, in order.
pub fn boc_roots(boc: &[u8]) -> Result<Vec<Cell>> {
    use tycho_types::cell::CellFamily;
    let header = tycho_types::boc::de::BocHeader::decode(boc, &Default::default())
        .map_err(Error::bad_boc)?;
    let cells = header
        .finalize(Cell::empty_context())
        .map_err(Error::bad_boc)?;
    header
        .roots()
        .iter()
        .map(|i| {
            cells.get(*i).ok_or_else(|| Error::BadBoc {
                reason: format!("root {i} missing"),
            })
        })
        .collect()
}
