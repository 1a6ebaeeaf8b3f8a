//! Block production: running the queue in lt order and sealing the two blocks.
//!
//! Two engines with the same result, block hash for block hash. The sequential one runs the
//! pending externals, then the queue in (created_lt, hash) order, one message at a time. The
//! parallel one (more than one execution thread) runs the same messages in rounds: a round is
//! the messages the sequential engine would run next (as many as the block has room for),
//! grouped by destination account; each account's messages run on one thread in the
//! sequential order, different accounts on different threads, and the transactions are
//! recorded in the sequential order. Logical times are the sequential engine's: a
//! transaction's lt depends only on its account's previous transaction and its message's
//! created_lt, never on other accounts. A message created in the block and delivered in it
//! depends on its sender's transaction: it runs in a later round, and a round keeps only its
//! messages whose (created_lt, hash) key is below every message the round created (the rest
//! go back to the queue), which is exactly what the sequential queue would have run first.

use std::collections::BTreeMap;

use tycho_executor::{ExecutorParams, ParsedConfig};
use tycho_types::cell::{Cell, HashBytes};
use tycho_types::models::{
    BlockId, CurrencyCollection, DepthBalanceInfo, FutureSplitMerge, McBlockExtra, MsgInfo,
    ShardAccount, ShardDescription, ShardHashes, ShardIdent, StdAddr,
};
use tycho_types::num::Tokens;

use super::exec::{self, Executed, Outcome};
use super::shard::{ShardChain, StoredBlock, TxEntry};
use super::{
    BASECHAIN, Chain, DryRunKey, MAX_TXS_PER_BLOCK, ProducedBlocks, block, mc_extra_of, mc_state,
    rand_seed, std_dst, zero_ref,
};
use crate::error::{Error, Result};

/// Transactions of one block production in progress.
#[derive(Default)]
struct Work {
    txs: Vec<(i32, TxEntry, Tokens)>,
    /// Inbound / outbound messages of each transaction (by transaction hash).
    flows: std::collections::HashMap<HashBytes, block::Flow>,
    /// Internal messages created during this production.
    created: std::collections::HashSet<HashBytes>,
    /// Internal messages delivered during this production.
    delivered: std::collections::HashSet<HashBytes>,
    /// (workchain, account) -> (old state hash, new state hash)
    touched: BTreeMap<(i32, HashBytes), (HashBytes, HashBytes)>,
    end_lt: u64,
    /// Externals whose dry-run transaction was reused.
    reused: usize,
    /// The parallel engine's account states of the current round, written to the accounts
    /// dictionaries at once when the round ends (`flush_accounts`).
    deferred: Option<BTreeMap<(i32, HashBytes), NewAccount>>,
}

/// An account's state after a transaction, with its balance (`None`: it no longer exists).
type NewAccount = (ShardAccount, Option<CurrencyCollection>);

/// A message about to run, with what its transaction depends on besides the account.
struct Job {
    msg: Cell,
    msg_hash: HashBytes,
    is_external: bool,
    dst: StdAddr,
    workchain: i32,
    min_lt: u64,
    /// An external's sendMessage dry run, with the inputs it ran on.
    dry_run: Option<(DryRunKey, Box<Executed>)>,
}

/// The block's constants every transaction runs with.
struct BlockCtx<'a> {
    config: &'a ParsedConfig,
    params: ExecutorParams,
    now: u32,
    start_lt: u64,
    next_seqno: u32,
}

/// A job's transaction: `None` if the message was dropped (logged); the flag says whether
/// the dry run stood in for the execution.
type Ran = Option<(Box<Executed>, bool)>;

/// Runs `job` on `state` (the account's state before it); reads nothing else of the chain,
/// so jobs of different accounts can run on different threads.
fn run_job(ctx: &BlockCtx<'_>, job: &mut Job, state: &ShardAccount) -> Ran {
    let key = DryRunKey::new(state, ctx.now, ctx.start_lt, job.min_lt, ctx.next_seqno);
    let outcome = match job.dry_run.take() {
        Some((dry_key, executed)) if dry_key == key => return Some((executed, true)),
        _ => exec::execute(
            ctx.config,
            &ctx.params,
            &job.dst,
            job.is_external,
            job.msg.clone(),
            state,
            job.min_lt,
        ),
    };
    match outcome {
        Ok(Outcome::Committed(x)) => Some((x, false)),
        Ok(Outcome::Rejected(r)) => {
            let dst = &job.dst;
            tracing::info!(%dst, reason = %r, "external message no longer accepted; dropped");
            None
        }
        Err(e) => {
            let dst = &job.dst;
            tracing::error!(%dst, error = %e, "executor failed; message dropped");
            None
        }
    }
}

/// The account's state, or `None` (logged) if it cannot be loaded: the message is dropped.
fn load_state(shard: &ShardChain, dst: &StdAddr) -> Option<ShardAccount> {
    match shard.shard_account(&dst.address) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(%dst, error = %e, "loading account");
            None
        }
    }
}

/// A message of a parallel batch: its queue key (internals) and, unless dropped, its job.
type Slot = (Option<(u64, HashBytes)>, Cell, Option<Job>);

impl Chain {
    /// The job of `msg`, or `None` (logged) if it cannot run. Takes an external's dry run.
    fn job(&mut self, start_lt: u64, msg: Cell, is_external: bool) -> Option<Job> {
        let info = match msg.parse::<MsgInfo>() {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(error = %e, "dropping an unparsable message");
                return None;
            }
        };
        let Some(dst) = std_dst(&info) else {
            tracing::warn!("dropping a message to a non-standard address");
            return None;
        };
        let min_lt = match &info {
            MsgInfo::Int(i) => start_lt.max(i.created_lt.saturating_add(1)),
            _ => start_lt,
        };
        let workchain = dst.workchain as i32;
        if self.shard(workchain).is_none() {
            tracing::warn!(%dst, "dropping a message to an unknown workchain");
            return None;
        }
        let msg_hash = *msg.repr_hash();
        let dry_run = if is_external {
            self.dry_runs.remove(&msg_hash)
        } else {
            None
        };
        Some(Job {
            msg,
            msg_hash,
            is_external,
            dst,
            workchain,
            min_lt,
            dry_run,
        })
    }

    fn block_ctx(&self, now: u32, start_lt: u64) -> BlockCtx<'_> {
        BlockCtx {
            config: &self.config.parsed,
            params: self.params(now, start_lt, &BASECHAIN),
            now,
            start_lt,
            next_seqno: self.base.blocks.len() as u32,
        }
    }

    /// The sequential engine's step: one message, start to end.
    fn run_one(&mut self, work: &mut Work, now: u32, start_lt: u64, msg: Cell, is_external: bool) {
        let Some(mut job) = self.job(start_lt, msg, is_external) else {
            return;
        };
        let Some(state) = self
            .shard(job.workchain)
            .and_then(|shard| load_state(shard, &job.dst))
        else {
            return;
        };
        let old_hash = *state.account.repr_hash();
        let ran = run_job(&self.block_ctx(now, start_lt), &mut job, &state);
        self.apply(work, job, old_hash, ran);
    }

    /// Records a job's transaction: the account's new state, the block's lists and the
    /// internal messages it created (queued).
    fn apply(&mut self, work: &mut Work, job: Job, old_hash: HashBytes, ran: Ran) {
        let Some((executed, reused)) = ran else {
            return;
        };
        let Job {
            msg: in_msg,
            msg_hash,
            is_external,
            dst,
            workchain,
            ..
        } = job;
        if reused {
            work.reused += 1;
        }
        let in_kind = if is_external {
            block::InKind::External
        } else if work.created.contains(&msg_hash) {
            block::InKind::Immediate
        } else {
            block::InKind::Final
        };
        let new_hash = *executed.new_state.account.repr_hash();
        if let Some(deferred) = &mut work.deferred {
            if self.shard(workchain).is_none() {
                return;
            }
            deferred.insert(
                (workchain, dst.address),
                (executed.new_state.clone(), executed.balance.clone()),
            );
        } else if let Some(shard) = self.shard_mut(workchain)
            && let Err(e) = shard.put_with_balance(
                &dst.address,
                executed.new_state.clone(),
                executed.balance.clone(),
            )
        {
            tracing::error!(%dst, error = %e, "storing account");
            return;
        } else if self.shard(workchain).is_none() {
            return;
        }
        work.touched
            .entry((workchain, dst.address))
            .and_modify(|(_, new)| *new = new_hash)
            .or_insert((old_hash, new_hash));
        let lt = executed.new_state.last_trans_lt;
        work.end_lt = work.end_lt.max(executed.next_lt);
        if !is_external {
            work.delivered.insert(msg_hash);
        }
        work.flows.insert(
            *executed.transaction.repr_hash(),
            block::Flow {
                in_msg: Some((in_msg, in_kind)),
                out_msgs: executed
                    .out_msgs
                    .iter()
                    .map(|m| m.inner().clone())
                    .collect(),
            },
        );
        work.txs.push((
            workchain,
            TxEntry {
                account: dst.address,
                lt,
                hash: *executed.transaction.repr_hash(),
                cell: executed.transaction.inner().clone(),
            },
            executed.total_fees,
        ));
        for out in &executed.out_msgs {
            let cell = out.inner().clone();
            match cell.parse::<MsgInfo>() {
                Ok(MsgInfo::Int(i)) => {
                    work.created.insert(*cell.repr_hash());
                    self.queue.insert((i.created_lt, *cell.repr_hash()), cell);
                }
                Ok(_) => {} // external-out: stays in the transaction only
                Err(e) => tracing::warn!(error = %e, "unparsable out message"),
            }
        }
    }

    /// Runs a batch of messages that the sequential engine would run one after the other
    /// (externals in pending order, or internals in queue order), each account's messages on
    /// one thread in that order, then records them in the batch's order. Internals: the
    /// sequential engine would run a message created by the batch before every batch message
    /// with a higher (created_lt, hash) key; those are not recorded but given back (in
    /// `requeue`) to run after it, as the sequential engine would. Returns whether the whole
    /// batch was recorded.
    fn run_batch(
        &mut self,
        work: &mut Work,
        now: u32,
        start_lt: u64,
        slots: Vec<Slot>,
        requeue: &mut Vec<((u64, HashBytes), Cell)>,
    ) -> Result<bool> {
        // One chain per account, in first-appearance order.
        let mut chains: Vec<Vec<(usize, Job)>> = Vec::new();
        let mut chain_of: std::collections::HashMap<(i32, HashBytes), usize> =
            std::collections::HashMap::new();
        let mut keys = Vec::with_capacity(slots.len());
        let mut cells = Vec::with_capacity(slots.len());
        for (i, (key, cell, job)) in slots.into_iter().enumerate() {
            keys.push(key);
            cells.push(cell);
            if let Some(job) = job {
                let c = *chain_of
                    .entry((job.workchain, job.dst.address))
                    .or_insert_with(|| {
                        chains.push(Vec::new());
                        chains.len() - 1
                    });
                chains[c].push((i, job));
            }
        }
        let ctx = self.block_ctx(now, start_lt);
        let (master, base) = (&self.master, &self.base);
        let ran = super::parallel::map(self.exec_threads, chains, |chain| {
            let Some((_, first)) = chain.first() else {
                return Vec::new();
            };
            let shard = if first.workchain == -1 { master } else { base };
            let mut state = load_state(shard, &first.dst);
            let mut out = Vec::with_capacity(chain.len());
            for (i, mut job) in chain {
                let Some(before) = &state else {
                    // As the sequential engine: each message tries to load the account.
                    state = load_state(shard, &job.dst);
                    out.push((i, job, HashBytes::ZERO, None));
                    continue;
                };
                let old_hash = *before.account.repr_hash();
                let ran = run_job(&ctx, &mut job, before);
                if let Some((x, _)) = &ran {
                    state = Some(x.new_state.clone());
                }
                out.push((i, job, old_hash, ran));
            }
            out
        });
        let mut ran: Vec<_> = ran.into_iter().flatten().collect();
        ran.sort_unstable_by_key(|(i, ..)| *i);

        // The lowest key of an internal message the batch created.
        let created_min = ran
            .iter()
            .filter_map(|(_, _, _, r)| r.as_ref())
            .flat_map(|(x, _)| x.out_msgs.iter())
            .filter_map(|m| match m.inner().parse::<MsgInfo>() {
                Ok(MsgInfo::Int(i)) => Some((i.created_lt, *m.inner().repr_hash())),
                _ => None,
            })
            .min();
        let runs_now = |i: usize| match (keys[i], created_min) {
            (Some(key), Some(min)) => key < min,
            _ => true,
        };
        let whole = (0..keys.len()).all(runs_now);
        work.deferred = Some(BTreeMap::new());
        for (i, job, old_hash, r) in ran {
            if runs_now(i) {
                self.apply(work, job, old_hash, r);
            }
        }
        for (i, cell) in cells.into_iter().enumerate() {
            if let (false, Some(key)) = (runs_now(i), keys[i]) {
                requeue.push((key, cell));
            }
        }
        self.flush_accounts(work)?;
        Ok(whole)
    }

    /// Writes a round's account states into the accounts dictionaries in one sorted pass (the
    /// same dictionary as writing them one by one; a failure fails the block).
    fn flush_accounts(&mut self, work: &mut Work) -> Result<()> {
        let Some(deferred) = work.deferred.take() else {
            return Ok(());
        };
        for workchain in [-1, 0] {
            let entries: Vec<_> = deferred
                .range((workchain, HashBytes::ZERO)..=(workchain, HashBytes([0xff; 32])))
                .map(|((_, id), (state, balance))| {
                    let value = balance.as_ref().map(|balance| {
                        let info = DepthBalanceInfo {
                            split_depth: 0,
                            balance: balance.clone(),
                        };
                        (info, state.clone())
                    });
                    (*id, value)
                })
                .collect();
            if entries.is_empty() {
                continue;
            }
            if let Some(shard) = self.shard_mut(workchain) {
                shard.accounts.modify_with_sorted_iter(entries)?;
            }
        }
        Ok(())
    }

    /// The parallel engine's externals: rounds of the pending externals that fit the block.
    fn run_externals_parallel(&mut self, work: &mut Work, now: u32, start_lt: u64) -> Result<()> {
        while !self.pending_externals.is_empty() && work.txs.len() < MAX_TXS_PER_BLOCK {
            // Rejected externals make no transaction: a round of the remaining room always
            // fits, as it does one by one.
            let room = MAX_TXS_PER_BLOCK - work.txs.len();
            let take = room.min(self.pending_externals.len());
            let slots: Vec<Slot> = self
                .pending_externals
                .drain(..take)
                .collect::<Vec<_>>()
                .into_iter()
                .map(|msg| {
                    self.pending_hashes.remove(msg.repr_hash());
                    let job = self.job(start_lt, msg.clone(), true);
                    (None, msg, job)
                })
                .collect();
            let mut requeue = Vec::new();
            self.run_batch(work, now, start_lt, slots, &mut requeue)?;
        }
        Ok(())
    }

    /// The parallel engine's internals: rounds of the queue's first messages that fit the
    /// block; a round stops before any message the sequential engine would run after one the
    /// round created.
    fn run_internals_parallel(&mut self, work: &mut Work, now: u32, start_lt: u64) -> Result<()> {
        while work.txs.len() < MAX_TXS_PER_BLOCK && !self.queue.is_empty() {
            let room = MAX_TXS_PER_BLOCK - work.txs.len();
            let mut slots: Vec<Slot> = Vec::with_capacity(room.min(self.queue.len()));
            while slots.len() < room {
                let Some((key, msg)) = self.queue.pop_first() else {
                    break;
                };
                let job = self.job(start_lt, msg.clone(), false);
                slots.push((Some(key), msg, job));
            }
            let mut requeue = Vec::new();
            let ran = self.run_batch(work, now, start_lt, slots, &mut requeue);
            self.queue.extend(requeue);
            ran?;
        }
        Ok(())
    }

    /// Produces the next basechain block and the masterchain block that registers it:
    /// pending externals first, then queued internal messages in (created_lt, hash) order,
    /// including those created within this block, up to [`MAX_TXS_PER_BLOCK`]. With more
    /// than one execution thread, independent accounts run in parallel with the same result.
    pub fn produce_block(&mut self, now: u32) -> Result<ProducedBlocks> {
        let start_lt = self.next_start_lt();
        let mut work = Work {
            end_lt: start_lt + 1,
            ..Default::default()
        };
        let started = std::time::Instant::now();
        if self.exec_threads > 1 {
            self.run_externals_parallel(&mut work, now, start_lt)?;
            self.run_internals_parallel(&mut work, now, start_lt)?;
        } else {
            while let Some(msg) = self.pending_externals.pop_front() {
                if work.txs.len() >= MAX_TXS_PER_BLOCK {
                    self.pending_externals.push_front(msg);
                    break;
                }
                self.pending_hashes.remove(msg.repr_hash());
                self.run_one(&mut work, now, start_lt, msg, true);
            }
            while work.txs.len() < MAX_TXS_PER_BLOCK {
                let Some((_, msg)) = self.queue.pop_first() else {
                    break;
                };
                self.run_one(&mut work, now, start_lt, msg, false);
            }
        }
        let execute = started.elapsed();
        // Dry runs of externals still pending were made for this block: stale from now on.
        self.dry_runs.clear();
        let transactions = work.txs.len();
        let reused_dry_runs = work.reused;
        let end_lt = work.end_lt;
        let (master, shard) = self.seal(now, start_lt, end_lt, work)?;
        if let (Some(store), Some(m), Some(b)) = (&self.store, self.master.last(), self.base.last())
        {
            store.save_blocks(m, b, &self.queue)?;
        }
        Ok(ProducedBlocks {
            master,
            shard,
            transactions,
            queued: self.queue.len(),
            reused_dry_runs,
            execute,
        })
    }

    /// Builds the basechain and masterchain blocks from `work` and appends them.
    fn seal(
        &mut self,
        now: u32,
        start_lt: u64,
        end_lt: u64,
        work: Work,
    ) -> Result<(BlockId, BlockId)> {
        let global_id = self.config.global_id;
        let gen_software = self.config.parsed.global;
        let mc_prev = self.master.last().map(|b| b.block_ref());
        let mc_seqno = self.master.blocks.len() as u32;
        let sh_seqno = self.base.blocks.len() as u32;

        let mut by_wc: BTreeMap<i32, Vec<(TxEntry, Tokens)>> = BTreeMap::new();
        for (wc, tx, fees) in work.txs {
            by_wc.entry(wc).or_default().push((tx, fees));
        }
        for txs in by_wc.values_mut() {
            txs.sort_by_key(|(a, _)| (a.account, a.lt));
        }
        let updates = |wc: i32| -> Vec<(HashBytes, HashBytes, HashBytes)> {
            work.touched
                .iter()
                .filter(|((w, _), _)| *w == wc)
                .map(|((_, a), (o, n))| (*a, *o, *n))
                .collect()
        };
        let empty = Vec::new();

        // Basechain block.
        let base_txs = by_wc.get(&0).unwrap_or(&empty);
        let old_state = match self.base.last() {
            Some(b) => b.state.clone(),
            None => Cell::default(),
        };
        let t0 = std::time::Instant::now();
        let new_state = block::build_state(
            global_id,
            BASECHAIN,
            sh_seqno,
            now,
            end_lt,
            &self.base.accounts,
            mc_prev.clone(),
            None,
        )?;
        let base_updates = updates(0);
        let t1 = std::time::Instant::now();
        // The parallel engine makes the state's Merkle update (the largest part of the
        // block) on a second thread while this one lists the messages.
        let (base_update, (base_in, base_out)) = if self.exec_threads > 1 {
            std::thread::scope(|scope| {
                let update = scope.spawn(|| {
                    block::state_update(
                        &old_state,
                        &new_state,
                        base_updates.iter().map(|(a, _, _)| a),
                        sh_seqno.checked_sub(1),
                    )
                });
                let descr = block::msg_descr(base_txs, &work.flows, &work.delivered);
                match update.join() {
                    Ok(update) => Ok::<_, Error>((Some(update?), descr?)),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })?
        } else {
            (
                None,
                block::msg_descr(base_txs, &work.flows, &work.delivered)?,
            )
        };
        let t2 = std::time::Instant::now();
        let built = block::build_block(block::BlockParts {
            global_id,
            shard: BASECHAIN,
            seqno: sh_seqno,
            gen_utime: now,
            start_lt,
            end_lt,
            prev: self
                .base
                .last()
                .map(|b| b.block_ref())
                .unwrap_or_else(zero_ref),
            master_ref: Some(mc_prev.clone().unwrap_or_else(zero_ref)),
            min_ref_mc_seqno: mc_seqno.saturating_sub(1),
            rand_seed: rand_seed(&BASECHAIN, sh_seqno),
            gen_software,
            transactions: base_txs,
            account_updates: &base_updates,
            old_state: &old_state,
            new_state: &new_state,
            state_update: base_update,
            in_msgs: base_in,
            out_msgs: base_out,
            mc_extra: None,
            mc_header: None,
        })?;
        let t3 = std::time::Instant::now();
        let shard_fees = built_fees(base_txs);
        let shard_block = StoredBlock {
            id: built.id,
            root: built.root,
            state: new_state,
            gen_utime: now,
            start_lt,
            end_lt,
            transactions: base_txs.iter().map(|(t, _)| t.clone()).collect(),
            link_seqno: mc_seqno,
            zerostate: false,
            signatures: None,
            key_block: false,
        };
        for tx in &shard_block.transactions {
            self.base
                .history
                .entry(tx.account)
                .or_default()
                .insert(tx.lt, (sh_seqno, tx.hash, tx.cell.clone()));
        }

        // Masterchain block, registering the basechain block.
        let descr = ShardDescription {
            seqno: sh_seqno,
            reg_mc_seqno: mc_seqno,
            start_lt,
            end_lt,
            root_hash: shard_block.id.root_hash,
            file_hash: shard_block.id.file_hash,
            before_split: false,
            before_merge: false,
            want_split: false,
            want_merge: false,
            nx_cc_updated: false,
            next_catchain_seqno: 0,
            next_validator_shard: BASECHAIN.prefix(),
            min_ref_mc_seqno: mc_seqno.saturating_sub(1),
            gen_utime: now,
            split_merge_at: None::<FutureSplitMerge>,
            fees_collected: shard_fees.clone(),
            funds_created: CurrencyCollection::ZERO,
        };
        let shards = ShardHashes::from_shards([(&BASECHAIN, &descr)])?;
        let prev_mc = self.master.last().ok_or_else(|| Error::BlockNotFound {
            block: "masterchain head".into(),
        })?;
        let prev_extra = mc_extra_of(&prev_mc.state)?;
        let new_config = self.rotation.as_ref().map(|(_, c)| c);
        let next = mc_state::next(
            mc_state::Prev {
                extra: &prev_extra,
                block: prev_mc.block_ref(),
                gen_utime: prev_mc.gen_utime,
                config: &self.config,
            },
            new_config.unwrap_or(&self.config),
            new_config.is_some(),
            now,
            shards.clone(),
        )?;
        let mc_extra = McBlockExtra {
            shards,
            config: new_config.map(|c| c.raw.clone()),
            ..Default::default()
        };
        let mc_txs = by_wc.get(&-1).unwrap_or(&empty);
        let old_mc_state = prev_mc.state.clone();
        let new_mc_state = block::build_state(
            global_id,
            ShardIdent::MASTERCHAIN,
            mc_seqno,
            now,
            end_lt,
            &self.master.accounts,
            None,
            Some(&next.extra),
        )?;
        let mc_updates = updates(-1);
        let (mc_in, mc_out) = block::msg_descr(mc_txs, &work.flows, &work.delivered)?;
        let built = block::build_block(block::BlockParts {
            global_id,
            shard: ShardIdent::MASTERCHAIN,
            seqno: mc_seqno,
            gen_utime: now,
            start_lt,
            end_lt,
            prev: mc_prev.unwrap_or_else(zero_ref),
            master_ref: None,
            min_ref_mc_seqno: mc_seqno.saturating_sub(1),
            rand_seed: rand_seed(&ShardIdent::MASTERCHAIN, mc_seqno),
            gen_software,
            transactions: mc_txs,
            account_updates: &mc_updates,
            old_state: &old_mc_state,
            new_state: &new_mc_state,
            state_update: None,
            in_msgs: mc_in,
            out_msgs: mc_out,
            mc_extra: Some(mc_extra),
            mc_header: Some(block::McHeader {
                key_block: next.key_block,
                gen_catchain_seqno: next.gen_catchain_seqno,
                gen_validator_list_hash_short: next.gen_validator_list_hash_short,
                prev_key_block_seqno: next.prev_key_block_seqno,
            }),
        })?;
        let signatures = self.validators.sign(
            &next.signing_set,
            &next.signing_cc_config,
            next.gen_catchain_seqno,
            next.gen_validator_list_hash_short,
            &built.id.root_hash,
            &built.id.file_hash,
        )?;
        let t4 = std::time::Instant::now();
        tracing::debug!(
            state = ?(t1 - t0),
            msg_descr = ?(t2 - t1),
            block = ?(t3 - t2),
            master = ?(t4 - t3),
            "sealed"
        );
        let master_block = StoredBlock {
            id: built.id,
            root: built.root,
            state: new_mc_state,
            gen_utime: now,
            start_lt,
            end_lt,
            transactions: mc_txs.iter().map(|(t, _)| t.clone()).collect(),
            link_seqno: sh_seqno,
            zerostate: false,
            signatures: Some(signatures),
            key_block: next.key_block,
        };
        for tx in &master_block.transactions {
            self.master
                .history
                .entry(tx.account)
                .or_default()
                .insert(tx.lt, (mc_seqno, tx.hash, tx.cell.clone()));
        }
        let ids = (master_block.id, shard_block.id);
        self.base.blocks.push(shard_block);
        self.master.blocks.push(master_block);
        if let Some((keys, config)) = self.rotation.take() {
            self.validators = keys;
            self.config = config;
        }
        Ok(ids)
    }
}

fn built_fees(txs: &[(TxEntry, Tokens)]) -> CurrencyCollection {
    let total: u128 = txs.iter().map(|(_, f)| f.into_inner()).sum();
    CurrencyCollection::new(total)
}
