//! An in-memory chain for the tailer: masterchain blocks, shard blocks that split and merge,
//! synthetic transactions (some emitting LabelMint events). Deterministic from a seed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use labelmint_abi::Event;
use labelmint_abi::escrow::EvDeposit;
use labelmint_indexer::Result;
use labelmint_indexer::model::{BlockRef, BlockRow, SHARD_FULL, raw_address_parts};
use labelmint_indexer::tail::{
    AccountFilter, AccountSnapshot, ChainBlock, ChainSource, MasterBlock,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, CellSliceRange, HashBytes, Lazy};
use tycho_types::dict::Dict;
use tycho_types::models::{
    AccountStatus, ComputePhase, ComputePhaseSkipReason, CurrencyCollection, ExtOutMsgInfo,
    HashUpdate, IntAddr, MsgInfo, OrdinaryTxInfo, OwnedMessage, SkippedComputePhase, StdAddr,
    Transaction, TxInfo,
};
use tycho_types::num::Uint15;

pub(crate) const LEFT: u64 = 0x4000_0000_0000_0000;
pub(crate) const RIGHT: u64 = 0xc000_0000_0000_0000;

/// One synthetic transaction's BOC: account `account` (basechain), at `lt`, optionally emitting
/// an `ev_deposit` of `amount` as an external-out message.
pub(crate) fn synth_tx(account: [u8; 32], lt: u64, now: u32, deposit: Option<u128>) -> Vec<u8> {
    let mut out_msgs: Dict<Uint15, Cell> = Dict::new();
    let mut count = 0u16;
    if let Some(amount) = deposit {
        let body = Event::EvDeposit(EvDeposit {
            query_id: lt,
            from: StdAddr::new(0, HashBytes([0x77; 32])),
            amount,
            deposited: amount,
        })
        .build()
        .expect("event");
        let msg = OwnedMessage {
            info: MsgInfo::ExtOut(ExtOutMsgInfo {
                src: IntAddr::Std(StdAddr::new(0, HashBytes(account))),
                dst: None,
                created_lt: lt + 1,
                created_at: now,
            }),
            init: None,
            body: (CellSliceRange::full(body.as_ref()), body.clone()),
            layout: None,
        };
        out_msgs
            .set(Uint15::new(0), CellBuilder::build_from(&msg).expect("msg"))
            .expect("dict");
        count = 1;
    }
    let info = TxInfo::Ordinary(OrdinaryTxInfo {
        credit_first: true,
        storage_phase: None,
        credit_phase: None,
        compute_phase: ComputePhase::Skipped(SkippedComputePhase {
            reason: ComputePhaseSkipReason::NoState,
        }),
        action_phase: None,
        aborted: true,
        bounce_phase: None,
        destroyed: false,
    });
    let tx = Transaction {
        account: HashBytes(account),
        lt,
        prev_trans_hash: HashBytes::ZERO,
        prev_trans_lt: 0,
        now,
        out_msg_count: Uint15::new(count),
        orig_status: AccountStatus::Active,
        end_status: AccountStatus::Active,
        in_msg: None,
        out_msgs,
        total_fees: CurrencyCollection::new(1_000),
        state_update: Lazy::new(&HashUpdate {
            old: HashBytes::ZERO,
            new: HashBytes::ZERO,
        })
        .expect("hash update"),
        info: Lazy::new(&info).expect("info"),
    };
    Boc::encode(CellBuilder::build_from(&tx).expect("tx"))
}

pub(crate) fn account(i: u8) -> [u8; 32] {
    let mut a = [0u8; 32];
    a[0] = i;
    a[31] = 0xac;
    a
}

fn id(workchain: i32, shard: u64, seqno: u32) -> BlockRef {
    let mut h = [0u8; 32];
    h[..4].copy_from_slice(&workchain.to_be_bytes());
    h[4..12].copy_from_slice(&shard.to_be_bytes());
    h[12..16].copy_from_slice(&seqno.to_be_bytes());
    BlockRef {
        workchain,
        shard,
        seqno,
        root_hash: h,
        file_hash: h,
    }
}

struct TxInfoRow {
    account: String,
    boc: Vec<u8>,
}

/// The chain's data.
#[derive(Default)]
pub(crate) struct ChainData {
    masters: Vec<MasterBlock>,
    blocks: HashMap<BlockRef, (BlockRow, Vec<TxInfoRow>)>,
    parents: HashMap<BlockRef, Vec<BlockRef>>,
    /// Hashes (hex) of every transaction committed by masterchain blocks 1..=N, by account.
    pub(crate) tx_hashes: Vec<(String, String)>,
}

/// A handle on the in-memory chain: the visible head can grow while the tailer runs.
#[derive(Clone)]
pub(crate) struct MemChain {
    data: Arc<ChainData>,
    head: Arc<AtomicU32>,
}

impl MemChain {
    /// `n` masterchain blocks after the genesis (seqno 0). Basechain: one shard until mc 10,
    /// split into two until mc 25, then merged again; each masterchain interval has 0-2 new
    /// blocks per shard with up to `max_txs` transactions of accounts 0..`accounts`.
    pub(crate) fn build(seed: u64, n: u32, max_txs: u32, accounts: u8) -> MemChain {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut d = ChainData::default();
        let mut lt: u64 = 1_000;
        let genesis = id(0, SHARD_FULL, 0);
        d.blocks.insert(genesis, (row(genesis, 0), Vec::new()));
        let mut tops = vec![genesis];
        let mc0 = id(-1, SHARD_FULL, 0);
        d.blocks.insert(mc0, (row(mc0, 0), Vec::new()));
        d.masters.push(MasterBlock {
            row: row(mc0, 0),
            shard_tops: tops.clone(),
        });
        for s in 1..=n {
            let now = 1_800_000_000 + s;
            let mut new_tops = Vec::new();
            let make_block = |d: &mut ChainData,
                              rng: &mut StdRng,
                              b: BlockRef,
                              parents: Vec<BlockRef>,
                              lt: &mut u64| {
                let k = rng.gen_range(0..=max_txs);
                let mut txs = Vec::new();
                for _ in 0..k {
                    let a = account(rng.gen_range(0..accounts));
                    *lt += 10;
                    let deposit = (rng.gen_range(0..7) == 0)
                        .then(|| u128::from(rng.gen_range(1..1_000_000u64)));
                    let boc = synth_tx(a, *lt, now, deposit);
                    let acc = raw_address_parts(0, &a);
                    let cell = Boc::decode(&boc).expect("boc");
                    d.tx_hashes
                        .push((acc.clone(), hex::encode(cell.repr_hash().0)));
                    txs.push(TxInfoRow { account: acc, boc });
                }
                d.blocks.insert(b, (row(b, now), txs));
                d.parents.insert(b, parents);
            };
            if s == 11 {
                // Split: both children of the full shard's top.
                let parent = tops[0];
                for shard in [LEFT, RIGHT] {
                    let b = id(0, shard, parent.seqno + 1);
                    make_block(&mut d, &mut rng, b, vec![parent], &mut lt);
                    new_tops.push(b);
                }
            } else if s == 25 {
                // Merge: one block after both halves.
                let (l, r) = (tops[0], tops[1]);
                let b = id(0, SHARD_FULL, l.seqno.max(r.seqno) + 1);
                make_block(&mut d, &mut rng, b, vec![l, r], &mut lt);
                new_tops.push(b);
            } else {
                for top in &tops {
                    let mut cur = *top;
                    for _ in 0..rng.gen_range(0..=2u32) {
                        let b = id(0, cur.shard, cur.seqno + 1);
                        make_block(&mut d, &mut rng, b, vec![cur], &mut lt);
                        cur = b;
                    }
                    new_tops.push(cur);
                }
            }
            tops = new_tops;
            let mc = id(-1, SHARD_FULL, s);
            d.blocks.insert(mc, (row(mc, now), Vec::new()));
            d.masters.push(MasterBlock {
                row: row(mc, now),
                shard_tops: tops.clone(),
            });
        }
        MemChain {
            data: Arc::new(d),
            head: Arc::new(AtomicU32::new(n)),
        }
    }

    /// Makes only masterchain blocks up to `seqno` visible.
    pub(crate) fn set_head(&self, seqno: u32) {
        self.head.store(seqno, Ordering::SeqCst);
    }

    /// The transactions of `accounts` only.
    pub(crate) fn hashes_of(&self, accounts: &HashSet<String>) -> HashSet<String> {
        self.data
            .tx_hashes
            .iter()
            .filter(|(a, _)| accounts.contains(a))
            .map(|(_, h)| h.clone())
            .collect()
    }
}

fn row(id: BlockRef, now: u32) -> BlockRow {
    BlockRow {
        id,
        gen_utime: Some(now),
        start_lt: None,
        end_lt: None,
    }
}

impl ChainSource for MemChain {
    async fn last_master(&mut self) -> Result<BlockRow> {
        tokio::task::yield_now().await;
        let h = self.head.load(Ordering::SeqCst) as usize;
        Ok(self.data.masters[h].row.clone())
    }

    async fn master_block(&mut self, seqno: u32) -> Result<Option<MasterBlock>> {
        tokio::task::yield_now().await;
        if seqno > self.head.load(Ordering::SeqCst) {
            return Ok(None);
        }
        Ok(self.data.masters.get(seqno as usize).cloned())
    }

    async fn parents(&mut self, block: &BlockRef) -> Result<Vec<BlockRef>> {
        tokio::task::yield_now().await;
        Ok(self.data.parents.get(block).cloned().unwrap_or_default())
    }

    async fn block(&mut self, id: &BlockRef, filter: AccountFilter<'_>) -> Result<ChainBlock> {
        tokio::task::yield_now().await;
        let (row, txs) = self.data.blocks.get(id).expect("known block");
        Ok(ChainBlock {
            row: row.clone(),
            transactions: txs
                .iter()
                .filter(|t| filter.keeps(&t.account))
                .map(|t| t.boc.clone())
                .collect(),
        })
    }

    async fn account_state(
        &mut self,
        at: &BlockRef,
        _account: &str,
        _last: &labelmint_indexer::tail::LastTransaction,
    ) -> Result<Option<AccountSnapshot>> {
        Ok(Some(AccountSnapshot {
            balance: u128::from(at.seqno) * 1_000,
            status: "active",
            data: None,
        }))
    }
}
