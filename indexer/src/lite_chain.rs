//! [`ChainSource`] over liteservers: what the tailer asks, answered with [`Lite`] requests and
//! parsed with tycho-types.
//!
//! - `last_master`: `getMasterchainInfo`, then the block for its time.
//! - `wait_master(s)`: the same, prefixed by `waitMasterchainSeqno(s)` (the tip: the server
//!   answers as soon as block `s` exists, no polling delay).
//! - `master_block(s)`: `lookupBlock` of masterchain seqno `s`, `getBlock`, its `McBlockExtra`
//!   shard table (the newest block of every shard).
//! - `parents(b)`: `getBlock`, the block info's previous-block reference: one parent, the
//!   parent shard after a split, both halves after a merge.
//! - `block(b, filter)`: `getBlock`, then every transaction of the kept accounts from the
//!   block's account blocks (one request per block instead of listBlockTransactions plus a
//!   getTransactions per account).
//! - `account_state(mc, a)`: `getAccountState` at the masterchain block.
//!
//! ton_liteapi verifies no proofs; every block BOC is checked against the id asked for (root
//! hash = the root cell's hash, file hash = SHA-256 of the bytes), so a liteserver cannot hand
//! over another block than the one named. With an [`Anchor`] (the default; see
//! [`crate::verify`]) every masterchain id is verified by validator signatures before its
//! block is read, and every account state against the block of its last transaction; an
//! answer that does not verify fails the server over ([`Lite::reject`]).

use std::collections::{HashMap, VecDeque};

use labelmint_abi::proof::account::{check_account_state, shard_account_in_block};
use sha2::{Digest, Sha256};
use tycho_types::boc::Boc;
use tycho_types::cell::Cell;
use tycho_types::models::{
    AccountState, AccountStatus, Block, BlockInfo, OptionalAccount, PrevBlockRef, ShardIdent,
};

use crate::error::{Error, Result};
use crate::lite::{Lite, from_tl};
use crate::model::{BlockRef, BlockRow, SHARD_FULL};
use crate::tail::{
    AccountFilter, AccountSnapshot, ChainBlock, ChainSource, LastTransaction, MasterBlock,
};
use crate::verify::Anchor;

/// The liteserver-backed chain source. Keeps the last few parsed blocks, since the walk and
/// the transaction fetch read the same block.
#[derive(Debug)]
pub struct LiteChain {
    lite: Lite,
    /// `None`: `--trust-liteserver`.
    anchor: Option<Anchor>,
    cache: HashMap<BlockRef, Cell>,
    /// Cache insertion order: the oldest block is evicted first, one at a time.
    order: VecDeque<BlockRef>,
}

/// Blocks kept in a [`LiteChain`]'s cache. Eviction drops one block at a time: clearing a
/// full cache at once (the earlier policy) dropped hundreds of block trees in one go and cost
/// a ~400 ms pause at the tip every 128 masterchain blocks.
const CACHE_BLOCKS: usize = 64;

/// `getBlockProof` answers followed for one block (each incomplete one ends at a newer key
/// block; TON's liteservers cap the links per answer).
const MAX_PROOF_ROUNDS: usize = 64;

/// A clone has its own connection and an empty block cache (one per catch-up worker).
impl Clone for LiteChain {
    fn clone(&self) -> Self {
        Self {
            lite: self.lite.clone(),
            anchor: self.anchor.clone(),
            cache: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl LiteChain {
    /// Wraps a client that believes its liteservers (`--trust-liteserver`).
    pub fn new(lite: Lite) -> Self {
        Self {
            lite,
            anchor: None,
            cache: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Wraps a client that verifies everything from `anchor` (see [`crate::verify`]).
    pub fn verified(lite: Lite, anchor: Anchor) -> Self {
        Self {
            anchor: Some(anchor),
            ..Self::new(lite)
        }
    }

    /// Verifies masterchain block id `id`, which server `origin` named, by validator
    /// signatures (`getBlockProof` from the newest trusted key block below it, asked from the
    /// same server, so that a failure blames the server that said both); a failure fails
    /// that server over.
    async fn verify_master(&mut self, id: &BlockRef, origin: usize) -> Result<()> {
        let Some(anchor) = self.anchor.clone() else {
            return Ok(());
        };
        if anchor.is_verified(id) {
            return Ok(());
        }
        // An incomplete answer stops at a key block: ask again from there (bounded).
        for _ in 0..MAX_PROOF_ROUNDS {
            let source = match anchor.source_for(id) {
                Ok(s) => s,
                Err(e) => return Err(self.lite.reject("masterchain block id", e)),
            };
            // Another catch-up worker failed the server over since it named `id`: the id and
            // its proof would come from two servers, and a failure could blame the wrong one.
            let moved = || Error::Transport {
                server: "liteservers".into(),
                reason: "the liteserver changed between naming a block and proving it; retrying"
                    .into(),
            };
            if self.lite.current_index() != origin {
                return Err(moved());
            }
            let proof = match self.lite.block_proof(&source, id).await {
                Ok(p) => p,
                // A server that cannot prove what it said is not believed either.
                Err(Error::Server { message, code, .. }) => {
                    return Err(self.lite.reject(
                        "getBlockProof",
                        format!("no proof of {} (error {code}: {message})", id.seqno),
                    ));
                }
                Err(e) => return Err(e),
            };
            if self.lite.answering_index() != origin {
                return Err(moved());
            }
            let started = std::time::Instant::now();
            match anchor.accept_proof(&source, id, &proof) {
                Ok(true) => {
                    self.lite.metrics().block_verified(started.elapsed());
                    return Ok(());
                }
                Ok(false) => continue,
                Err(e) => return Err(self.lite.reject("getBlockProof", e)),
            }
        }
        Err(self.lite.reject(
            "getBlockProof",
            format!(
                "no complete proof of {} after {MAX_PROOF_ROUNDS} answers",
                id.seqno
            ),
        ))
    }

    /// A masterchain block's cell, its id (named by server `origin`) verified first.
    async fn master_cell(&mut self, id: &BlockRef, origin: usize) -> Result<Cell> {
        self.verify_master(id, origin).await?;
        self.block_cell(id).await
    }

    async fn block_cell(&mut self, id: &BlockRef) -> Result<Cell> {
        if let Some(c) = self.cache.get(id) {
            return Ok(c.clone());
        }
        let boc = self.lite.block(id).await?;
        let cell = match checked_block(id, &boc) {
            Ok(c) => c,
            Err(e) if self.anchor.is_some() => return Err(self.lite.reject("getBlock", e)),
            Err(e) => return Err(e),
        };
        while self.order.len() >= CACHE_BLOCKS {
            if let Some(old) = self.order.pop_front() {
                self.cache.remove(&old);
            }
        }
        if self.cache.insert(*id, cell.clone()).is_none() {
            self.order.push_back(*id);
        }
        Ok(cell)
    }
}

/// Parses a block BOC and checks it is the block `id` names.
pub fn checked_block(id: &BlockRef, boc: &[u8]) -> Result<Cell> {
    let file_hash: [u8; 32] = Sha256::digest(boc).into();
    if file_hash != id.file_hash {
        return Err(Error::malformed("block", "file hash differs from the id"));
    }
    let cell = Boc::decode(boc).map_err(|e| Error::malformed("block BOC", e))?;
    if cell.repr_hash().0 != id.root_hash {
        return Err(Error::malformed("block", "root hash differs from the id"));
    }
    Ok(cell)
}

fn parse_block(cell: &Cell) -> Result<(Block, BlockInfo)> {
    let block: Block = cell.parse().map_err(|e| Error::malformed("block", e))?;
    let info = block
        .load_info()
        .map_err(|e| Error::malformed("block info", e))?;
    Ok((block, info))
}

fn row_of(id: BlockRef, info: &BlockInfo) -> BlockRow {
    BlockRow {
        id,
        gen_utime: Some(info.gen_utime),
        start_lt: Some(info.start_lt),
        end_lt: Some(info.end_lt),
    }
}

/// The parents of a block from its info: the same shard, the parent shard after a split, or
/// both halves after a merge.
pub fn parents_from_info(info: &BlockInfo) -> Result<Vec<BlockRef>> {
    let shard = info.shard;
    let to_ref = |r: &tycho_types::models::BlockRef, s: ShardIdent| BlockRef {
        workchain: s.workchain(),
        shard: s.prefix(),
        seqno: r.seqno,
        root_hash: r.root_hash.0,
        file_hash: r.file_hash.0,
    };
    if info.seqno == 0 {
        return Ok(Vec::new());
    }
    match info
        .load_prev_ref()
        .map_err(|e| Error::malformed("prev_ref", e))?
    {
        PrevBlockRef::Single(r) => {
            let parent_shard = if info.after_split {
                shard
                    .merge()
                    .ok_or_else(|| Error::malformed("block info", "after_split on a full shard"))?
            } else {
                shard
            };
            Ok(vec![to_ref(&r, parent_shard)])
        }
        PrevBlockRef::AfterMerge { left, right } => {
            let (l, r) = shard
                .split()
                .ok_or_else(|| Error::malformed("block info", "after_merge on a leaf shard"))?;
            Ok(vec![to_ref(&left, l), to_ref(&right, r)])
        }
    }
}

fn status_str(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Uninit => "uninit",
        AccountStatus::Frozen => "frozen",
        AccountStatus::Active => "active",
        AccountStatus::NotExists => "nonexist",
    }
}

fn parse_account(raw: &str) -> Result<(i32, [u8; 32])> {
    let (wc, hex_part) = raw
        .split_once(':')
        .ok_or_else(|| Error::malformed("address", raw))?;
    let wc: i32 = wc.parse().map_err(|_| Error::malformed("address", raw))?;
    let mut id = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut id).map_err(|_| Error::malformed("address", raw))?;
    Ok((wc, id))
}

impl ChainSource for LiteChain {
    async fn last_master(&mut self) -> Result<BlockRow> {
        let info = self.lite.masterchain_info().await?;
        let origin = self.lite.answering_index();
        let id = from_tl(&info.last);
        let cell = self.master_cell(&id, origin).await?;
        let (_, binfo) = parse_block(&cell)?;
        Ok(row_of(id, &binfo))
    }

    async fn wait_master(&mut self, seqno: u32) -> Result<BlockRow> {
        match self.lite.masterchain_info_after(seqno).await {
            Ok(info) => {
                let origin = self.lite.answering_index();
                let id = from_tl(&info.last);
                let cell = self.master_cell(&id, origin).await?;
                let (_, binfo) = parse_block(&cell)?;
                Ok(row_of(id, &binfo))
            }
            // Not reached within the server's wait: answer with the head as it is.
            Err(Error::Server { .. }) => self.last_master().await,
            Err(e) => Err(e),
        }
    }

    async fn master_block(&mut self, seqno: u32) -> Result<Option<MasterBlock>> {
        let header = match self.lite.lookup_master(seqno).await {
            Ok(h) => h,
            // "not found" / "not applied yet": the caller polls again.
            Err(Error::Server { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let origin = self.lite.answering_index();
        let id = from_tl(&header);
        if id.workchain != -1 || id.seqno != seqno || id.shard != SHARD_FULL {
            let e = Error::malformed("lookupBlock answer", "another block than asked");
            return Err(match self.anchor {
                Some(_) => self.lite.reject("lookupBlock", e),
                None => e,
            });
        }
        let cell = self.master_cell(&id, origin).await?;
        let (block, info) = parse_block(&cell)?;
        let extra = block
            .load_extra()
            .map_err(|e| Error::malformed("block extra", e))?;
        let custom = extra
            .load_custom()
            .map_err(|e| Error::malformed("masterchain block extra", e))?
            .ok_or_else(|| Error::malformed("masterchain block", "no McBlockExtra"))?;
        let mut shard_tops = Vec::new();
        for b in custom.shards.latest_blocks() {
            let b = b.map_err(|e| Error::malformed("shard hashes", e))?;
            shard_tops.push(BlockRef {
                workchain: b.shard.workchain(),
                shard: b.shard.prefix(),
                seqno: b.seqno,
                root_hash: b.root_hash.0,
                file_hash: b.file_hash.0,
            });
        }
        Ok(Some(MasterBlock {
            row: row_of(id, &info),
            shard_tops,
        }))
    }

    async fn parents(&mut self, block: &BlockRef) -> Result<Vec<BlockRef>> {
        let cell = self.block_cell(block).await?;
        let (_, info) = parse_block(&cell)?;
        parents_from_info(&info)
    }

    async fn block(&mut self, id: &BlockRef, filter: AccountFilter<'_>) -> Result<ChainBlock> {
        let cell = self.block_cell(id).await?;
        let (block, info) = parse_block(&cell)?;
        let extra = block
            .load_extra()
            .map_err(|e| Error::malformed("block extra", e))?;
        let account_blocks = extra
            .account_blocks
            .load()
            .map_err(|e| Error::malformed("account blocks", e))?;
        let mut txs: Vec<(u64, Vec<u8>)> = Vec::new();
        for entry in account_blocks.iter() {
            let (account, _, ab) = entry.map_err(|e| Error::malformed("account block", e))?;
            let raw = crate::model::raw_address_parts(id.workchain, &account.0);
            if !filter.keeps(&raw) {
                continue;
            }
            for tx in ab.transactions.iter() {
                let (lt, _, lazy) = tx.map_err(|e| Error::malformed("account transactions", e))?;
                txs.push((lt, Boc::encode(lazy.inner())));
            }
        }
        txs.sort_by_key(|(lt, _)| *lt);
        Ok(ChainBlock {
            row: row_of(*id, &info),
            transactions: txs.into_iter().map(|(_, b)| b).collect(),
        })
    }

    async fn account_state(
        &mut self,
        at: &BlockRef,
        account: &str,
        last: &LastTransaction,
    ) -> Result<Option<AccountSnapshot>> {
        let (wc, id) = parse_account(account)?;
        // What the block of the account's last transaction proves (before asking anyone).
        let proven = match self.anchor {
            Some(_) => {
                let block = self.block_cell(&last.block).await?;
                let facts = shard_account_in_block(block.as_ref(), &id)
                    .map_err(|e| Error::malformed("state update", e))?
                    .ok_or_else(|| {
                        Error::malformed("state update", "a touched account is not in it")
                    })?;
                if facts.last_trans_lt != last.lt || facts.last_trans_hash != last.hash {
                    return Err(Error::malformed(
                        "state update",
                        "the account's last transaction differs from the block's",
                    ));
                }
                Some(facts)
            }
            None => None,
        };
        let boc = self.lite.account_state(at, (wc, id)).await?;
        if let Some(facts) = &proven
            && let Err(e) = check_account_state(Some(facts), &boc)
        {
            return Err(self.lite.reject("getAccountState", e));
        }
        if boc.is_empty() {
            return Ok(Some(AccountSnapshot {
                balance: 0,
                status: "nonexist",
                data: None,
            }));
        }
        let cell = Boc::decode(&boc).map_err(|e| Error::malformed("account state BOC", e))?;
        let acc: OptionalAccount = cell
            .parse()
            .map_err(|e| Error::malformed("account state", e))?;
        let data = match acc.0.as_ref().map(|a| &a.state) {
            Some(AccountState::Active(init)) => init.data.as_ref().map(Boc::encode),
            _ => None,
        };
        Ok(Some(AccountSnapshot {
            balance: acc.0.as_ref().map_or(0, |a| a.balance.tokens.into_inner()),
            status: status_str(acc.status()),
            data,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tycho_types::cell::HashBytes;

    fn r(seqno: u32, h: u8) -> tycho_types::models::BlockRef {
        tycho_types::models::BlockRef {
            end_lt: 0,
            seqno,
            root_hash: HashBytes([h; 32]),
            file_hash: HashBytes([h; 32]),
        }
    }

    fn info(shard: ShardIdent, seqno: u32) -> BlockInfo {
        BlockInfo {
            shard,
            seqno,
            ..BlockInfo::default()
        }
    }

    #[test]
    fn parents_single_split_and_merge() {
        let full = ShardIdent::new_full(0);
        let (left, right) = full.split().expect("split");

        let mut same = info(left, 12);
        same.set_prev_ref(&PrevBlockRef::Single(r(11, 1)));
        let p = parents_from_info(&same).expect("parents");
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].shard, p[0].seqno, p[0].root_hash),
            (left.prefix(), 11, [1; 32])
        );

        let mut after_split = info(right, 11);
        after_split.after_split = true;
        after_split.set_prev_ref(&PrevBlockRef::Single(r(10, 2)));
        let p = parents_from_info(&after_split).expect("parents");
        assert_eq!((p[0].shard, p[0].seqno), (SHARD_FULL, 10));

        let mut merged = info(full, 23);
        merged.after_merge = true;
        merged.set_prev_ref(&PrevBlockRef::AfterMerge {
            left: r(20, 3),
            right: r(22, 4),
        });
        let p = parents_from_info(&merged).expect("parents");
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].shard, p[0].seqno), (left.prefix(), 20));
        assert_eq!((p[1].shard, p[1].seqno), (right.prefix(), 22));

        // Inconsistent flags are errors, not panics.
        let mut bad = info(full, 5);
        bad.after_split = true;
        bad.set_prev_ref(&PrevBlockRef::Single(r(4, 5)));
        assert!(parents_from_info(&bad).is_err());
        assert!(
            parents_from_info(&info(full, 0))
                .expect("genesis")
                .is_empty()
        );
    }

    #[test]
    fn block_bytes_must_match_the_id() {
        let cell = tycho_types::cell::CellBuilder::build_from(7u32).expect("cell");
        let boc = Boc::encode(&cell);
        let id = BlockRef {
            workchain: 0,
            shard: SHARD_FULL,
            seqno: 1,
            root_hash: cell.repr_hash().0,
            file_hash: Sha256::digest(&boc).into(),
        };
        assert!(checked_block(&id, &boc).is_ok());
        let mut wrong = id;
        wrong.root_hash = [0; 32];
        assert!(checked_block(&wrong, &boc).is_err());
        let mut wrong = id;
        wrong.file_hash = [0; 32];
        assert!(checked_block(&wrong, &boc).is_err());
    }

    #[test]
    fn raw_addresses_parse() {
        let a = format!("0:{}", "ab".repeat(32));
        assert_eq!(parse_account(&a).expect("addr"), (0, [0xab; 32]));
        assert!(parse_account("0:zz").is_err());
        assert!(parse_account("nope").is_err());
        assert_eq!(
            parse_account(&format!("-1:{}", "00".repeat(32)))
                .expect("mc")
                .0,
            -1
        );
    }
}
