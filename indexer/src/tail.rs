//! The tailing loop: masterchain seqno by seqno, exactly once.
//!
//! The loop is written against [`ChainSource`], a small trait over what it needs from the
//! chain (the liteserver implementation lands with the devnet; tests use an in-memory chain
//! with splits and merges). For every masterchain seqno `s` from [`Store::resume_from`]:
//!
//! 1. the masterchain block `s` and the shard tops it commits;
//! 2. [`shards::blocks_to_index`] from those tops back to the tops of `s - 1`;
//! 3. the transactions of the masterchain block and of each new shard block, kept when their
//!    account is watched (re-read from Postgres for every block, so a newly registered escrow
//!    is picked up without a restart) or when every account is indexed;
//! 4. decoding ([`decode`]) and the latest state of each touched watched account;
//! 5. [`Store::write_master_block`]: rows and checkpoint in one transaction.
//!
//! At the tip the next masterchain block is awaited on the server
//! ([`ChainSource::wait_master`]: `waitMasterchainSeqno` over liteservers) instead of polled.
//!
//! A failure at any step (a liteserver that went away, "block not applied yet", Postgres
//! restarting) retries the same seqno after a pause; nothing advances until the block is
//! committed. Killing the process at any moment loses only the uncommitted block, which the
//! next run redoes.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use crate::decode::decode_transaction;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::model::{AccountStateRow, BlockRef, BlockRow, MasterBlockRows, WatchedAccount};
use crate::shards::{self, BlockParents};
use crate::store::{Store, WriteOutcome};

/// A masterchain block and the shard tops it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterBlock {
    /// The masterchain block.
    pub row: BlockRow,
    /// The newest block of every shard, as of this masterchain block.
    pub shard_tops: Vec<BlockRef>,
}

/// A block's header facts and the transactions asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBlock {
    /// The block.
    pub row: BlockRow,
    /// Transaction BOCs, in lt order.
    pub transactions: Vec<Vec<u8>>,
}

/// An account's state after some block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSnapshot {
    /// nanoTON.
    pub balance: u128,
    /// `uninit`, `frozen`, `active` or `nonexist`.
    pub status: &'static str,
    /// An active account's data cell as a BOC (`None` otherwise): what the API decodes a
    /// contract's storage from (an escrow's deadline, a vault's window and pending changes).
    pub data: Option<Vec<u8>>,
}

/// An account's last transaction in a masterchain block: where its state is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastTransaction {
    /// The (shard or masterchain) block holding it.
    pub block: BlockRef,
    /// Its logical time.
    pub lt: u64,
    /// Its hash.
    pub hash: [u8; 32],
}

/// Which accounts' transactions to fetch.
#[derive(Debug, Clone, Copy)]
pub enum AccountFilter<'a> {
    /// Every account.
    All,
    /// These raw addresses only.
    Only(&'a HashSet<String>),
}

impl AccountFilter<'_> {
    /// Whether `account` passes.
    pub fn keeps(&self, account: &str) -> bool {
        match self {
            AccountFilter::All => true,
            AccountFilter::Only(set) => set.contains(account),
        }
    }
}

/// What the tailer needs from the chain.
pub trait ChainSource: Send {
    /// The newest masterchain block.
    fn last_master(&mut self) -> impl Future<Output = Result<BlockRow>> + Send;
    /// Waits until masterchain block `seqno` exists (up to the source's own limit), then
    /// returns the newest masterchain block, which may still be older than `seqno`. Sources
    /// that cannot wait answer at once, like [`ChainSource::last_master`].
    fn wait_master(&mut self, seqno: u32) -> impl Future<Output = Result<BlockRow>> + Send {
        let _ = seqno;
        self.last_master()
    }
    /// Masterchain block `seqno`; `None` when it does not exist yet.
    fn master_block(
        &mut self,
        seqno: u32,
    ) -> impl Future<Output = Result<Option<MasterBlock>>> + Send;
    /// The parents of a shard block (two after a merge).
    fn parents(&mut self, block: &BlockRef) -> impl Future<Output = Result<Vec<BlockRef>>> + Send;
    /// A block with the transactions of the accounts `filter` keeps.
    fn block(
        &mut self,
        id: &BlockRef,
        filter: AccountFilter<'_>,
    ) -> impl Future<Output = Result<ChainBlock>> + Send;
    /// An account's state as of masterchain block `at`, whose last transaction there is
    /// `last` (a verifying source checks the state against `last.block`); `None` when the
    /// source cannot tell.
    fn account_state(
        &mut self,
        at: &BlockRef,
        account: &str,
        last: &LastTransaction,
    ) -> impl Future<Output = Result<Option<AccountSnapshot>>> + Send;
}

struct Parents<'a, C>(&'a mut C);

impl<C: ChainSource> BlockParents for Parents<'_, C> {
    fn parents(&mut self, block: &BlockRef) -> impl Future<Output = Result<Vec<BlockRef>>> + Send {
        self.0.parents(block)
    }
}

/// How the loop runs.
#[derive(Debug, Clone)]
pub struct TailOptions {
    /// First seqno when the database has no checkpoint (`None`: the head); at least 1, the
    /// first block after the zero state.
    pub start_seqno: Option<u32>,
    /// Keep every account's transactions.
    pub index_all_accounts: bool,
    /// Pause at the tip and after a failure.
    pub poll_interval: Duration,
    /// Stop once this seqno is committed (tests, benchmarks); `None`: forever.
    pub stop_after: Option<u32>,
    /// Masterchain blocks gathered in parallel during catch-up (1: strictly one at a time).
    pub parallel: usize,
}

/// One masterchain block's rows and shard tops.
#[derive(Debug, Clone)]
pub struct IndexedMaster {
    /// The rows to commit.
    pub rows: MasterBlockRows,
    /// Its shard tops (the next block's walk stops there).
    pub shard_tops: Vec<BlockRef>,
    /// The masterchain block's time.
    pub gen_utime: u32,
    /// External-out bodies that were not LabelMint events.
    pub undecoded: u64,
}

/// Gathers the rows of masterchain block `seqno` (nothing is written).
pub async fn index_master_block<C: ChainSource>(
    chain: &mut C,
    seqno: u32,
    prev_tops: &[BlockRef],
    watched: &[WatchedAccount],
    index_all: bool,
) -> Result<IndexedMaster> {
    let mc = chain
        .master_block(seqno)
        .await?
        .ok_or(Error::NotYetAvailable { seqno })?;
    let new_blocks =
        shards::blocks_to_index(&mc.shard_tops, prev_tops, &mut Parents(chain)).await?;

    let by_address: HashMap<&str, &WatchedAccount> =
        watched.iter().map(|w| (w.address.as_str(), w)).collect();
    let set: HashSet<String> = watched.iter().map(|w| w.address.clone()).collect();
    let filter = if index_all {
        AccountFilter::All
    } else {
        AccountFilter::Only(&set)
    };

    let mut rows = MasterBlockRows {
        mc_seqno: seqno,
        ..MasterBlockRows::default()
    };
    let mut undecoded = 0u64;
    // The newest transaction of each watched account touched: (block, lt, hash).
    let mut touched: HashMap<String, (BlockRef, u64, [u8; 32])> = HashMap::new();
    let ids = std::iter::once(mc.row.id).chain(new_blocks);
    for id in ids {
        let block = chain.block(&id, filter).await?;
        if id != mc.row.id {
            rows.blocks.push(block.row.clone());
        }
        for boc in &block.transactions {
            let d = decode_transaction(boc, id)?;
            let w = by_address.get(d.tx.account.as_str()).copied();
            if w.is_none() && !index_all {
                continue;
            }
            undecoded += d.undecoded.len() as u64;
            if w.is_some() {
                let e = touched
                    .entry(d.tx.account.clone())
                    .or_insert((id, d.tx.lt, d.tx.hash));
                if d.tx.lt >= e.1 {
                    *e = (id, d.tx.lt, d.tx.hash);
                }
            }
            let owner = w
                .and_then(|w| w.owner.as_deref())
                .and_then(|o| by_address.get(o).copied());
            d.push_into(&mut rows, w, owner);
        }
    }
    rows.blocks.insert(0, mc.row.clone());
    let mut touched: Vec<_> = touched.into_iter().collect();
    touched.sort_by(|a, b| a.0.cmp(&b.0));
    // States as of the masterchain block (liteservers answer getAccountState for masterchain
    // block ids): the state after every transaction this block committed.
    for (account, (block, lt, hash)) in touched {
        let last = LastTransaction { block, lt, hash };
        if let Some(s) = chain.account_state(&mc.row.id, &account, &last).await? {
            rows.account_states.push(AccountStateRow {
                address: account,
                balance: s.balance,
                status: s.status,
                data: s.data,
                last_lt: lt,
                last_tx_hash: Some(hash),
            });
        }
    }
    Ok(IndexedMaster {
        rows,
        shard_tops: mc.shard_tops,
        gen_utime: mc.row.gen_utime.unwrap_or(0),
        undecoded,
    })
}

/// Follows the chain from the checkpoint until `stop_after` (or forever). Returns only when
/// done or on a bug-class error ([`Error::OutOfOrder`]); every other failure is retried.
///
/// Behind the head, up to `opts.parallel` masterchain blocks are gathered at once (each
/// worker on its own clone of the source, i.e. its own liteserver connection) and committed
/// strictly in seqno order as they complete; at the head, one block at a time.
pub async fn tail<C: ChainSource + Clone + 'static>(
    chain: &mut C,
    store: &Store,
    metrics: &Metrics,
    opts: &TailOptions,
) -> Result<()> {
    let mut next = loop {
        match start_point(chain, store, opts).await {
            Ok(s) => break s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot find the start point yet");
                tokio::time::sleep(opts.poll_interval).await;
            }
        }
    };
    let mut prev_tops: Option<Vec<BlockRef>> = None;
    let mut head: Option<u32> = None;
    loop {
        if opts.stop_after.is_some_and(|stop| next > stop) {
            return Ok(());
        }
        match step(chain, store, metrics, opts, next, &mut prev_tops, &mut head).await {
            Ok(0) => tokio::time::sleep(opts.poll_interval).await,
            Ok(n) => next += n,
            Err(e @ Error::OutOfOrder { .. }) => return Err(e),
            Err(e) => {
                tracing::warn!(seqno = next, error = %e, "indexing failed; retrying");
                prev_tops = None;
                // The head may have been misread; read it again.
                head = None;
                tokio::time::sleep(opts.poll_interval).await;
            }
        }
    }
}

async fn start_point<C: ChainSource>(
    chain: &mut C,
    store: &Store,
    opts: &TailOptions,
) -> Result<u32> {
    if let Some(s) = store.resume_from().await? {
        return Ok(s);
    }
    // Masterchain seqno 0 is the zero state (a state, not a block): the first block is 1.
    match opts.start_seqno {
        Some(s) => Ok(s.max(1)),
        None => Ok(chain.last_master().await?.id.seqno.max(1)),
    }
}

/// Commits one gathered block and counts it.
async fn commit(
    store: &Store,
    metrics: &Metrics,
    seqno: u32,
    indexed: &IndexedMaster,
) -> Result<()> {
    if store.write_master_block(&indexed.rows).await? == WriteOutcome::Committed {
        // Each decoded event once, when committed (watched escrows and vaults only, so few):
        // what `make up` shows beside the devnet.
        for e in &indexed.rows.events {
            tracing::info!(
                mc_seqno = seqno,
                kind = e.kind,
                contract = %e.contract,
                project_id = ?e.project_id,
                payout_item_id = ?e.payout_item_id,
                amount = %e.amount.map(|a| a.to_string()).unwrap_or_default(),
                fee = %e.fee.map(|a| a.to_string()).unwrap_or_default(),
                balance_after = %e.balance_after.map(|a| a.to_string()).unwrap_or_default(),
                lt = e.lt,
                "event"
            );
        }
        for _ in 0..indexed.undecoded {
            metrics.undecoded_event();
        }
        metrics.block_committed(
            seqno,
            indexed.gen_utime,
            indexed.rows.blocks.len().saturating_sub(1) as u64,
            indexed.rows.transactions.len() as u64,
            indexed.rows.events.len() as u64,
        );
    }
    Ok(())
}

/// From `seqno` on: how many blocks were committed (0 when `seqno` does not exist yet).
async fn step<C: ChainSource + Clone + 'static>(
    chain: &mut C,
    store: &Store,
    metrics: &Metrics,
    opts: &TailOptions,
    seqno: u32,
    prev_tops: &mut Option<Vec<BlockRef>>,
    head: &mut Option<u32>,
) -> Result<u32> {
    let known_head = match *head {
        Some(h) if seqno <= h => h,
        known => {
            // At the tip (everything up to the known head is committed): wait for the next
            // block on the server instead of polling for it.
            let last = if known.is_some() {
                chain.wait_master(seqno).await?
            } else {
                chain.last_master().await?
            };
            metrics.head_seen(last.id.seqno, last.gen_utime.unwrap_or(0));
            store.record_head(last.id.seqno, last.gen_utime).await?;
            *head = Some(last.id.seqno);
            if seqno > last.id.seqno {
                return Ok(0);
            }
            last.id.seqno
        }
    };
    let mut n = (known_head - seqno).saturating_add(1);
    n = n.min(u32::try_from(opts.parallel.max(1)).unwrap_or(u32::MAX));
    if let Some(stop) = opts.stop_after {
        n = n.min(stop.saturating_sub(seqno).saturating_add(1));
    }
    let tops = match prev_tops.take() {
        Some(t) => t,
        None if seqno == 0 => Vec::new(),
        None => match chain.master_block(seqno - 1).await? {
            Some(prev) => prev.shard_tops,
            None => Vec::new(),
        },
    };
    let watched = std::sync::Arc::new(store.watched_accounts().await?);

    if n <= 1 {
        let indexed = match index_master_block(
            chain,
            seqno,
            &tops,
            &watched,
            opts.index_all_accounts,
        )
        .await
        {
            Ok(i) => i,
            Err(e) => {
                *prev_tops = Some(tops);
                return Err(e);
            }
        };
        commit(store, metrics, seqno, &indexed).await?;
        *prev_tops = Some(indexed.shard_tops);
        return Ok(1);
    }

    // Catch-up: gather n blocks at once, commit them in order as they complete. Dropping the
    // set (an error, or the task being killed) aborts the workers.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let s = seqno + i;
        let mut c = chain.clone();
        let w = watched.clone();
        let first = (i == 0).then(|| tops.clone());
        let all = opts.index_all_accounts;
        set.spawn(async move {
            let prev = match first {
                Some(t) => t,
                None => {
                    c.master_block(s - 1)
                        .await?
                        .ok_or(Error::NotYetAvailable { seqno: s - 1 })?
                        .shard_tops
                }
            };
            let r = index_master_block(&mut c, s, &prev, &w, all).await?;
            Ok::<_, Error>((s, r))
        });
    }
    let mut done = std::collections::BTreeMap::new();
    let mut committed = 0u32;
    let mut first_err: Option<Error> = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok((s, r))) => {
                done.insert(s, r);
            }
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(e) => {
                first_err.get_or_insert(Error::Transport {
                    server: "catch-up worker".into(),
                    reason: e.to_string(),
                });
            }
        }
        while let Some(r) = done.remove(&(seqno + committed)) {
            commit(store, metrics, seqno + committed, &r).await?;
            *prev_tops = Some(r.shard_tops);
            committed += 1;
        }
    }
    match (committed, first_err) {
        (0, Some(e)) => {
            *prev_tops = Some(tops);
            Err(e)
        }
        (c, _) => Ok(c),
    }
}
