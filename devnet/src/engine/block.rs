//! Block cells: a TON `Block` (tycho-types models) for a shard or the masterchain.

use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, HashBytes, Lazy, UsageTree, UsageTreeMode};
use tycho_types::merkle::MerkleUpdate;
use tycho_types::models::{
    AccountBlock, AccountBlocks, Block, BlockExtra, BlockId, BlockInfo, BlockRef,
    CurrencyCollection, GlobalVersion, HashUpdate, ImportFees, InMsg, InMsgDescr, InMsgExternal,
    InMsgFinal, IntermediateAddr, McBlockExtra, McStateExtra, MsgEnvelope, MsgInfo, OutMsg,
    OutMsgDescr, OutMsgExternal, OutMsgImmediate, OutMsgNew, ShardIdent, ShardStateUnsplit,
    Transaction, ValueFlow,
};
use tycho_types::num::Tokens;

use crate::engine::shard::TxEntry;
use crate::error::Result;

/// Everything a block is made of.
#[derive(Debug)]
pub struct BlockParts<'a> {
    /// Param 19.
    pub global_id: i32,
    /// The shard.
    pub shard: ShardIdent,
    /// Its seqno.
    pub seqno: u32,
    /// Creation time.
    pub gen_utime: u32,
    /// Logical time range start.
    pub start_lt: u64,
    /// Logical time range end.
    pub end_lt: u64,
    /// The previous block of this shard (zeros for the first block).
    pub prev: BlockRef,
    /// A shard block's masterchain reference.
    pub master_ref: Option<BlockRef>,
    /// Lowest masterchain seqno referenced.
    pub min_ref_mc_seqno: u32,
    /// The block's random seed.
    pub rand_seed: HashBytes,
    /// Software version written in the header.
    pub gen_software: GlobalVersion,
    /// Transactions with their accounts' state hashes before and after.
    pub transactions: &'a [(TxEntry, Tokens)],
    /// Account state hash (old, new) for each account touched, sorted by account.
    pub account_updates: &'a [(HashBytes, HashBytes, HashBytes)],
    /// The state before and after.
    pub old_state: &'a Cell,
    /// The state after.
    pub new_state: &'a Cell,
    /// Inbound messages of the block's transactions.
    pub in_msgs: InMsgDescr,
    /// Outbound messages of the block's transactions.
    pub out_msgs: OutMsgDescr,
    /// A masterchain block's shard hashes (and config, for a key block).
    pub mc_extra: Option<McBlockExtra>,
    /// A masterchain block's validator fields.
    pub mc_header: Option<McHeader>,
}

/// The validator fields of a masterchain block's header (see `engine::mc_state`).
#[derive(Debug, Clone, Copy, Default)]
pub struct McHeader {
    /// A key block.
    pub key_block: bool,
    /// Catchain seqno of the signing session.
    pub gen_catchain_seqno: u32,
    /// Short hash of the signing subset.
    pub gen_validator_list_hash_short: u32,
    /// Seqno of the last key block before this one.
    pub prev_key_block_seqno: u32,
}

/// How an inbound message came to its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InKind {
    /// An external-in message.
    External,
    /// An internal message created in this block (TON's `msg_import_imm`).
    Immediate,
    /// An internal message from an earlier block's queue (`msg_import_fin`).
    Final,
}

/// The messages of one transaction.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Its inbound message.
    pub in_msg: Option<(Cell, InKind)>,
    /// Its outbound messages in order.
    pub out_msgs: Vec<Cell>,
}

fn envelope(msg: &Cell, fwd_fee: Tokens) -> Result<Lazy<MsgEnvelope>> {
    Ok(Lazy::new(&MsgEnvelope {
        cur_addr: IntermediateAddr::FULL_DEST_SAME_WORKCHAIN,
        next_addr: IntermediateAddr::FULL_DEST_SAME_WORKCHAIN,
        fwd_fee_remaining: fwd_fee,
        message: Lazy::from_raw(msg.clone())?,
    })?)
}

fn import_final(msg: &Cell, tx: &Cell, kind: InKind) -> Result<(InMsg, ImportFees)> {
    let MsgInfo::Int(info) = msg.parse::<MsgInfo>()? else {
        return Err(tycho_types::error::Error::InvalidTag.into());
    };
    let fin = InMsgFinal {
        in_msg_envelope: envelope(msg, info.fwd_fee)?,
        transaction: Lazy::from_raw(tx.clone())?,
        fwd_fee: info.fwd_fee,
    };
    let fees = ImportFees {
        fees_collected: info.fwd_fee,
        value_imported: info
            .value
            .checked_add(&CurrencyCollection::from(info.fwd_fee))?,
    };
    Ok((
        match kind {
            InKind::Immediate => InMsg::Immediate(fin),
            _ => InMsg::Final(fin),
        },
        fees,
    ))
}

/// The InMsgDescr and OutMsgDescr of a block's transactions: externals imported, internal
/// messages imported from the queue (`Final`) or created and delivered in this block
/// (`Immediate`), external-outs exported, internal messages left in the queue (`New`).
pub fn msg_descr(
    txs: &[(TxEntry, Tokens)],
    flows: &std::collections::HashMap<HashBytes, Flow>,
    delivered: &std::collections::HashSet<HashBytes>,
) -> Result<(InMsgDescr, OutMsgDescr)> {
    // Built from sorted maps in one pass (much cheaper than one `set` per message).
    let mut ins = std::collections::BTreeMap::new();
    let mut outs = std::collections::BTreeMap::new();
    for (tx, _) in txs {
        let Some(flow) = flows.get(&tx.hash) else {
            continue;
        };
        if let Some((msg, kind)) = &flow.in_msg {
            let (in_msg, fees) = match kind {
                InKind::External => (
                    InMsg::External(InMsgExternal {
                        in_msg: Lazy::from_raw(msg.clone())?,
                        transaction: Lazy::from_raw(tx.cell.clone())?,
                    }),
                    ImportFees::default(),
                ),
                _ => import_final(msg, &tx.cell, *kind)?,
            };
            ins.insert(*msg.repr_hash(), (fees, in_msg));
        }
        for msg in &flow.out_msgs {
            let (out, value) = match msg.parse::<MsgInfo>()? {
                MsgInfo::ExtOut(_) => (
                    OutMsg::External(OutMsgExternal {
                        out_msg: Lazy::from_raw(msg.clone())?,
                        transaction: Lazy::from_raw(tx.cell.clone())?,
                    }),
                    CurrencyCollection::ZERO,
                ),
                MsgInfo::Int(info) => {
                    let value = info
                        .value
                        .checked_add(&CurrencyCollection::from(info.fwd_fee))?;
                    let env = envelope(msg, info.fwd_fee)?;
                    let out = if delivered.contains(msg.repr_hash()) {
                        // The delivering transaction is in this block (or the masterchain
                        // block produced with it); its import record is re-stated here.
                        let (reimport, _) = import_final(msg, &tx.cell, InKind::Immediate)?;
                        OutMsg::Immediate(OutMsgImmediate {
                            out_msg_envelope: env,
                            transaction: Lazy::from_raw(tx.cell.clone())?,
                            reimport: Lazy::new(&reimport)?,
                        })
                    } else {
                        OutMsg::New(OutMsgNew {
                            out_msg_envelope: env,
                            transaction: Lazy::from_raw(tx.cell.clone())?,
                        })
                    };
                    (out, value)
                }
                MsgInfo::ExtIn(_) => continue,
            };
            outs.insert(*msg.repr_hash(), (value, out));
        }
    }
    Ok((
        InMsgDescr::try_from_btree(&ins)?,
        OutMsgDescr::try_from_btree(&outs)?,
    ))
}

/// The cells of the old state a block reads to make the new one: the state's top cells, the
/// dictionary paths to the accounts it changed, and (masterchain) the McStateExtra parts a block
/// rewrites (shard hashes, the `prev_blocks` path of the entry it adds). As the filter of
/// `MerkleUpdate::create` they keep the update minimal, as TON's collator's usage tree does:
/// the new side holds only new cells and prunes every subtree the old state already had.
fn old_cells_read<'a>(
    old_state: &Cell,
    touched: impl Iterator<Item = &'a HashBytes>,
    prev_mc_seqno: Option<u32>,
) -> Result<UsageTree> {
    let usage = UsageTree::new(UsageTreeMode::OnLoad);
    let tracked = usage.track(old_state);
    let state = tracked.parse::<ShardStateUnsplit>()?;
    let accounts = state.load_accounts()?;
    for account in touched {
        accounts.get(account)?;
    }
    if let Some(extra) = state.load_custom()? {
        for shard in extra.shards.iter() {
            shard?;
        }
        if let Some(seqno) = prev_mc_seqno {
            extra.prev_blocks.get(seqno)?;
        }
    }
    drop(tracked);
    Ok(usage)
}

/// A built block: its cell, BOC and id.
#[derive(Debug)]
pub struct BuiltBlock {
    /// The Block cell.
    pub root: Cell,
    /// Its BOC.
    pub boc: Vec<u8>,
    /// Its id.
    pub id: BlockId,
}

/// Builds the Block cell.
pub fn build_block(p: BlockParts<'_>) -> Result<BuiltBlock> {
    let mut info = BlockInfo {
        seqno: p.seqno,
        shard: p.shard,
        gen_utime: p.gen_utime,
        start_lt: p.start_lt,
        end_lt: p.end_lt,
        min_ref_mc_seqno: p.min_ref_mc_seqno,
        key_block: p.mc_header.is_some_and(|h| h.key_block),
        gen_catchain_seqno: p.mc_header.map(|h| h.gen_catchain_seqno).unwrap_or(0),
        gen_validator_list_hash_short: p
            .mc_header
            .map(|h| h.gen_validator_list_hash_short)
            .unwrap_or(0),
        prev_key_block_seqno: p.mc_header.map(|h| h.prev_key_block_seqno).unwrap_or(0),
        master_ref: match &p.master_ref {
            Some(r) => Some(Lazy::new(r)?),
            None => None,
        },
        ..Default::default()
    };
    info.set_gen_software(Some(p.gen_software));
    info.set_prev_ref_single(&p.prev);

    let mut fees = CurrencyCollection::ZERO;
    let mut account_blocks = std::collections::BTreeMap::new();
    let mut by_account: std::collections::BTreeMap<HashBytes, Vec<&(TxEntry, Tokens)>> =
        Default::default();
    for entry in p.transactions {
        by_account.entry(entry.0.account).or_default().push(entry);
    }
    for (account, old_hash, new_hash) in p.account_updates {
        let mut txs =
            tycho_types::dict::AugDict::<u64, CurrencyCollection, Lazy<Transaction>>::new();
        let mut account_fees = CurrencyCollection::ZERO;
        let own = by_account
            .get(account)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (tx, tx_fees) in own.iter().map(|e| (&e.0, &e.1)) {
            let fee = CurrencyCollection::from(*tx_fees);
            txs.set(tx.lt, &fee, Lazy::from_raw(tx.cell.clone())?)?;
            account_fees = account_fees.checked_add(&fee)?;
        }
        let block = AccountBlock {
            account: *account,
            transactions: txs,
            state_update: Lazy::new(&HashUpdate {
                old: *old_hash,
                new: *new_hash,
            })?,
        };
        account_blocks.insert(*account, (account_fees.clone(), block));
        fees = fees.checked_add(&account_fees)?;
    }

    let value_flow = ValueFlow {
        from_prev_block: CurrencyCollection::ZERO,
        to_next_block: CurrencyCollection::ZERO,
        imported: CurrencyCollection::ZERO,
        exported: CurrencyCollection::ZERO,
        fees_collected: fees.clone(),
        burned: CurrencyCollection::ZERO,
        fees_imported: CurrencyCollection::ZERO,
        recovered: CurrencyCollection::ZERO,
        created: CurrencyCollection::ZERO,
        minted: CurrencyCollection::ZERO,
    };

    let old_cells = old_cells_read(
        p.old_state,
        p.account_updates.iter().map(|(a, _, _)| a),
        p.seqno.checked_sub(1),
    )?;
    let update =
        MerkleUpdate::create(p.old_state.as_ref(), p.new_state.as_ref(), old_cells).build()?;

    let extra = BlockExtra {
        in_msg_description: Lazy::new(&p.in_msgs)?,
        out_msg_description: Lazy::new(&p.out_msgs)?,
        account_blocks: Lazy::new(&AccountBlocks::try_from_btree(&account_blocks)?)?,
        rand_seed: p.rand_seed,
        created_by: HashBytes::ZERO,
        custom: match &p.mc_extra {
            Some(x) => Some(Lazy::new(x)?),
            None => None,
        },
    };

    let block = Block {
        global_id: p.global_id,
        info: Lazy::new(&info)?,
        value_flow: Lazy::new(&value_flow)?,
        state_update: Lazy::new(&update)?,
        out_msg_queue_updates: None,
        extra: Lazy::new(&extra)?,
    };
    let root = CellBuilder::build_from(&block)?;
    let boc = Boc::encode(&root);
    let id = BlockId {
        shard: p.shard,
        seqno: p.seqno,
        root_hash: *root.repr_hash(),
        file_hash: Boc::file_hash(&boc),
    };
    Ok(BuiltBlock { root, boc, id })
}

/// The shard state cell after a block.
#[allow(clippy::too_many_arguments)] // the fields of ShardStateUnsplit, named at each call
pub fn build_state(
    global_id: i32,
    shard: ShardIdent,
    seqno: u32,
    gen_utime: u32,
    gen_lt: u64,
    accounts: &tycho_types::models::ShardAccounts,
    master_ref: Option<BlockRef>,
    custom: Option<&McStateExtra>,
) -> Result<Cell> {
    let state = ShardStateUnsplit {
        global_id,
        shard_ident: shard,
        seqno,
        gen_utime,
        gen_lt,
        accounts: Lazy::new(accounts)?,
        total_balance: accounts.root_extra().balance.clone(),
        master_ref,
        custom: match custom {
            Some(extra) => Some(Lazy::new(extra)?),
            None => None,
        },
        ..Default::default()
    };
    Ok(CellBuilder::build_from(&state)?)
}

/// The zero state of a shard: its StoredBlock entry at seqno 0 (the masterchain's carries its
/// `McStateExtra`).
pub fn zerostate(
    global_id: i32,
    shard: ShardIdent,
    gen_utime: u32,
    accounts: &tycho_types::models::ShardAccounts,
    custom: Option<&McStateExtra>,
) -> Result<crate::engine::shard::StoredBlock> {
    let state = build_state(global_id, shard, 0, gen_utime, 0, accounts, None, custom)?;
    Ok(zerostate_entry(state, gen_utime))
}

/// A StoredBlock entry for a zero-state cell.
pub fn zerostate_entry(state: Cell, gen_utime: u32) -> crate::engine::shard::StoredBlock {
    let boc = Boc::encode(&state);
    let shard = state
        .parse::<ShardStateUnsplit>()
        .map(|s| s.shard_ident)
        .unwrap_or(ShardIdent::BASECHAIN);
    crate::engine::shard::StoredBlock {
        id: BlockId {
            shard,
            seqno: 0,
            root_hash: *state.repr_hash(),
            file_hash: Boc::file_hash(&boc),
        },
        root: state.clone(),
        state,
        gen_utime,
        start_lt: 0,
        end_lt: 0,
        transactions: Vec::new(),
        link_seqno: 0,
        zerostate: true,
        signatures: None,
        key_block: shard.is_masterchain(),
    }
}
