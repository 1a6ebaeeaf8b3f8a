//! Block production: running the queue in lt order and sealing the two blocks.

use std::collections::BTreeMap;

use tycho_types::cell::{Cell, HashBytes};
use tycho_types::models::{
    BlockId, CurrencyCollection, FutureSplitMerge, McBlockExtra, MsgInfo, ShardDescription,
    ShardHashes, ShardIdent,
};
use tycho_types::num::Tokens;

use super::exec::{self, Outcome};
use super::shard::{StoredBlock, TxEntry};
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
}

impl Chain {
    fn run_one(&mut self, work: &mut Work, now: u32, start_lt: u64, msg: Cell, is_external: bool) {
        let info = match msg.parse::<MsgInfo>() {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(error = %e, "dropping an unparsable message");
                return;
            }
        };
        let Some(dst) = std_dst(&info) else {
            tracing::warn!("dropping a message to a non-standard address");
            return;
        };
        let min_lt = match &info {
            MsgInfo::Int(i) => start_lt.max(i.created_lt.saturating_add(1)),
            _ => start_lt,
        };
        let params = self.params(now, start_lt, &BASECHAIN);
        let workchain = dst.workchain as i32;
        let Some(shard) = self.shard(workchain) else {
            tracing::warn!(%dst, "dropping a message to an unknown workchain");
            return;
        };
        let state = match shard.shard_account(&dst.address) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(%dst, error = %e, "loading account");
                return;
            }
        };
        let old_hash = *state.account.repr_hash();
        let msg_hash = *msg.repr_hash();
        let in_kind = if is_external {
            block::InKind::External
        } else if work.created.contains(&msg_hash) {
            block::InKind::Immediate
        } else {
            block::InKind::Final
        };
        let in_msg = msg.clone();
        let key = DryRunKey::new(&state, now, start_lt, min_lt, self.base.blocks.len() as u32);
        let cached = match is_external
            .then(|| self.dry_runs.remove(&msg_hash))
            .flatten()
        {
            Some((dry_key, executed)) if dry_key == key => Some(executed),
            _ => None,
        };
        let outcome = match cached {
            Some(executed) => {
                work.reused += 1;
                Ok(Outcome::Committed(executed))
            }
            None => exec::execute(
                &self.config.parsed,
                &params,
                &dst,
                is_external,
                msg,
                &state,
                min_lt,
            ),
        };
        let executed = match outcome {
            Ok(Outcome::Committed(x)) => x,
            Ok(Outcome::Rejected(r)) => {
                tracing::info!(%dst, reason = %r, "external message no longer accepted; dropped");
                return;
            }
            Err(e) => {
                tracing::error!(%dst, error = %e, "executor failed; message dropped");
                return;
            }
        };
        let new_hash = *executed.new_state.account.repr_hash();
        let Some(shard) = self.shard_mut(workchain) else {
            return;
        };
        if let Err(e) = shard.put_with_balance(
            &dst.address,
            executed.new_state.clone(),
            executed.balance.clone(),
        ) {
            tracing::error!(%dst, error = %e, "storing account");
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

    /// Produces the next basechain block and the masterchain block that registers it:
    /// pending externals first, then queued internal messages in (created_lt, hash) order,
    /// including those created within this block, up to [`MAX_TXS_PER_BLOCK`].
    pub fn produce_block(&mut self, now: u32) -> Result<ProducedBlocks> {
        let start_lt = self.next_start_lt();
        let mut work = Work {
            end_lt: start_lt + 1,
            ..Default::default()
        };
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
        let (base_in, base_out) = block::msg_descr(base_txs, &work.flows, &work.delivered)?;
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
            in_msgs: base_in,
            out_msgs: base_out,
            mc_extra: None,
            mc_header: None,
        })?;
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
