//! [`FixedChain`]: a [`ChainSource`] over given transactions, for tests of the indexer and of
//! the crates that read its tables (feature `test-utils`; never used by the binary).
//!
//! Masterchain block `s` (1-based) commits one basechain block holding the `s`-th list of
//! transaction BOCs (for example one step of a sandbox fixture), in the order given. The
//! masterchain block at seqno 0 is the zero state. Account states are unknown (`None`).

use std::sync::Arc;

use crate::decode::decode_transaction;
use crate::error::Result;
use crate::model::{BlockRef, BlockRow, SHARD_FULL};
use crate::tail::{AccountFilter, AccountSnapshot, ChainBlock, ChainSource, MasterBlock};

/// A basechain block: its row and its transactions as (account, BOC).
type ShardBlock = (BlockRow, Vec<(String, Vec<u8>)>);

/// A chain whose blocks hold given transactions (see the module docs).
#[derive(Debug, Clone)]
pub struct FixedChain {
    /// Masterchain blocks 0..=n.
    masters: Arc<Vec<MasterBlock>>,
    /// Basechain blocks 0..=n: (row, [(account, boc)]).
    blocks: Arc<Vec<ShardBlock>>,
}

/// A block id whose hashes encode (workchain, seqno), so ids differ.
fn id(workchain: i32, seqno: u32) -> BlockRef {
    let mut h = [0u8; 32];
    h[..4].copy_from_slice(&workchain.to_be_bytes());
    h[4..8].copy_from_slice(&seqno.to_be_bytes());
    h[8] = 0xfc;
    BlockRef {
        workchain,
        shard: SHARD_FULL,
        seqno,
        root_hash: h,
        file_hash: h,
    }
}

impl FixedChain {
    /// One masterchain block per entry of `blocks`, the first at unix time `first_now`, then one
    /// second apart. Fails on a BOC that is not a transaction.
    pub fn new(blocks: Vec<Vec<Vec<u8>>>, first_now: u32) -> Result<FixedChain> {
        let row = |id: BlockRef, now: u32| BlockRow {
            id,
            gen_utime: Some(now),
            start_lt: None,
            end_lt: None,
        };
        let mut masters = vec![MasterBlock {
            row: row(id(-1, 0), first_now.saturating_sub(1)),
            shard_tops: vec![id(0, 0)],
        }];
        let mut shard = vec![(row(id(0, 0), first_now.saturating_sub(1)), Vec::new())];
        for (i, txs) in blocks.into_iter().enumerate() {
            let seqno = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let now = first_now.saturating_add(seqno - 1);
            let b = id(0, seqno);
            let mut kept = Vec::with_capacity(txs.len());
            for boc in txs {
                let account = decode_transaction(&boc, b)?.tx.account;
                kept.push((account, boc));
            }
            shard.push((row(b, now), kept));
            masters.push(MasterBlock {
                row: row(id(-1, seqno), now),
                shard_tops: vec![b],
            });
        }
        Ok(FixedChain {
            masters: Arc::new(masters),
            blocks: Arc::new(shard),
        })
    }

    /// The last masterchain seqno.
    pub fn head(&self) -> u32 {
        u32::try_from(self.masters.len() - 1).unwrap_or(u32::MAX)
    }
}

impl ChainSource for FixedChain {
    async fn last_master(&mut self) -> Result<BlockRow> {
        Ok(self.masters[self.masters.len() - 1].row.clone())
    }

    async fn master_block(&mut self, seqno: u32) -> Result<Option<MasterBlock>> {
        Ok(self.masters.get(seqno as usize).cloned())
    }

    async fn parents(&mut self, block: &BlockRef) -> Result<Vec<BlockRef>> {
        Ok(match block.seqno {
            0 => Vec::new(),
            s if block.workchain == 0 => vec![id(0, s - 1)],
            _ => Vec::new(),
        })
    }

    async fn block(&mut self, id: &BlockRef, filter: AccountFilter<'_>) -> Result<ChainBlock> {
        if id.workchain != 0 {
            let row = self
                .masters
                .get(id.seqno as usize)
                .map(|m| m.row.clone())
                .ok_or(crate::Error::NotYetAvailable { seqno: id.seqno })?;
            return Ok(ChainBlock {
                row,
                transactions: Vec::new(),
            });
        }
        let (row, txs) = self
            .blocks
            .get(id.seqno as usize)
            .ok_or(crate::Error::NotYetAvailable { seqno: id.seqno })?;
        Ok(ChainBlock {
            row: row.clone(),
            transactions: txs
                .iter()
                .filter(|(a, _)| filter.keeps(a))
                .map(|(_, b)| b.clone())
                .collect(),
        })
    }

    async fn account_state(
        &mut self,
        _at: &BlockRef,
        _account: &str,
        _last: &crate::tail::LastTransaction,
    ) -> Result<Option<AccountSnapshot>> {
        Ok(None)
    }
}
