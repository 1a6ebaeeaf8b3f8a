//! From a raw transaction BOC to the rows the store writes.
//!
//! [`decode_transaction`] parses a TON `Transaction` (tycho-types), keeps its raw BOC, extracts
//! the parsed fields, the in and out messages, and decodes every external-out body through
//! [`labelmint_abi::Event`] (inline bodies and bodies by reference alike). An external-out body
//! that is not a LabelMint event (another contract's log, an unknown opcode) is not an error:
//! it is listed in [`DecodedTransaction::undecoded`] so the caller can count it.

use labelmint_abi::Event;
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, CellSlice, Load};
use tycho_types::models::{
    AccountStatus, ComputePhase, ComputePhaseSkipReason, IntAddr, Message, MsgInfo, Transaction,
    TxInfo,
};
use tycho_types::num::Tokens;

use crate::error::{Error, Result};
use crate::model::{
    AccountKind, BlockRef, BouncedJettonTransfer, DecodedEvent, Direction, EventRow,
    MasterBlockRows, MessageRow, TransactionRow, WatchedAccount,
};

/// A transaction and what hangs off it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedTransaction {
    /// The transaction row.
    pub tx: TransactionRow,
    /// Its in message (idx 0) and out messages (idx = out_msgs key).
    pub messages: Vec<MessageRow>,
    /// LabelMint events from its external-out messages.
    pub events: Vec<DecodedEvent>,
    /// External-out messages whose body is not a LabelMint event: (idx, why).
    pub undecoded: Vec<(u16, labelmint_abi::Error)>,
    /// The in message is a bounced `internal_transfer` that this account took back in a
    /// successful transaction (see [`crate::model::JETTON_TRANSFER_BOUNCED`]). Only a jetton
    /// wallet's own outgoing transfers can bounce back to it, and the bounced flag is set by the
    /// network, never by a sender; [`DecodedTransaction::push_into`] keeps the fact only for the
    /// watched jetton wallets of escrows and vaults.
    pub bounced_transfer: Option<BouncedJettonTransfer>,
}

/// Decodes a transaction BOC found in `block`.
pub fn decode_transaction(boc: &[u8], block: BlockRef) -> Result<DecodedTransaction> {
    let cell = Boc::decode(boc).map_err(|e| Error::malformed("transaction BOC", e))?;
    decode_transaction_cell(&cell, boc.to_vec(), block)
}

/// The TEP-467 normalized hash of a transaction's inbound message when it is external-in
/// (`None` for an internal one or none): what [`crate::store::Store::migrate`] fills in for rows
/// indexed before `messages.norm_hash` existed.
pub fn in_message_norm_hash(boc: &[u8]) -> Result<Option<[u8; 32]>> {
    let cell = Boc::decode(boc).map_err(|e| Error::malformed("transaction BOC", e))?;
    let t: Transaction = cell
        .parse()
        .map_err(|e| Error::malformed("transaction", e))?;
    let Some(in_msg) = &t.in_msg else {
        return Ok(None);
    };
    match labelmint_abi::message_hash::normalized_hash(in_msg) {
        Ok(h) => Ok(Some(h)),
        Err(labelmint_abi::Error::NotExternalIn) => Ok(None),
        Err(e) => Err(Error::malformed("external-in message", e)),
    }
}

/// Decodes a transaction cell (`boc` is kept as its raw form).
pub fn decode_transaction_cell(
    cell: &Cell,
    boc: Vec<u8>,
    block: BlockRef,
) -> Result<DecodedTransaction> {
    let t: Transaction = cell
        .parse()
        .map_err(|e| Error::malformed("transaction", e))?;
    let hash = cell.repr_hash().0;
    let info = t
        .load_info()
        .map_err(|e| Error::malformed("transaction info", e))?;

    let (tx_kind, compute, action, aborted, destroyed) = match &info {
        TxInfo::Ordinary(i) => (
            "ordinary",
            &i.compute_phase,
            i.action_phase.as_ref(),
            i.aborted,
            i.destroyed,
        ),
        TxInfo::TickTock(i) => (
            "tick_tock",
            &i.compute_phase,
            i.action_phase.as_ref(),
            i.aborted,
            i.destroyed,
        ),
    };
    let (exit_code, skip, success, gas_used, gas_fees) = match compute {
        ComputePhase::Executed(c) => (
            Some(c.exit_code),
            None,
            Some(c.success),
            Some(c.gas_used.into_inner()),
            Some(c.gas_fees.into_inner()),
        ),
        ComputePhase::Skipped(s) => (None, Some(skip_reason(s.reason)), None, None, None),
    };

    let row = TransactionRow {
        account: crate::model::raw_address_parts(block.workchain, &t.account.0),
        lt: t.lt,
        hash,
        block,
        now: t.now,
        prev_trans_hash: t.prev_trans_hash.0,
        prev_trans_lt: t.prev_trans_lt,
        orig_status: status(t.orig_status),
        end_status: status(t.end_status),
        total_fees: t.total_fees.tokens.into_inner(),
        tx_kind,
        compute_exit_code: exit_code,
        compute_skip_reason: skip,
        compute_success: success,
        gas_used,
        gas_fees,
        action_result_code: action.map(|a| a.result_code),
        aborted,
        destroyed,
        out_msg_count: t.out_msg_count.into_inner(),
        boc,
    };

    let mut messages = Vec::new();
    let mut events = Vec::new();
    let mut undecoded = Vec::new();
    let mut bounced_transfer = None;
    if let Some(in_msg) = &t.in_msg {
        let (m, _) = decode_message(in_msg, hash, Direction::In, 0)?;
        if success == Some(true) && !aborted {
            bounced_transfer = bounced_internal_transfer(in_msg)?;
        }
        messages.push(m);
    }
    for entry in t.out_msgs.iter() {
        let (key, msg_cell) = entry.map_err(|e| Error::malformed("out_msgs", e))?;
        let idx = key.into_inner();
        let (m, event_body) = decode_message(&msg_cell, hash, Direction::Out, idx)?;
        messages.push(m);
        if let Some(body) = event_body {
            match Event::parse(&body) {
                Ok(event) => events.push(DecodedEvent {
                    msg_idx: idx,
                    event,
                }),
                Err(e) => undecoded.push((idx, e)),
            }
        }
    }
    Ok(DecodedTransaction {
        tx: row,
        messages,
        events,
        undecoded,
        bounced_transfer,
    })
}

/// Prefix of a bounced body (the first 256 bits of the original body follow).
const BOUNCED_PREFIX: u32 = 0xffff_ffff;

/// The query id and amount of a bounced `internal_transfer` (an internal message with the
/// bounced flag whose body is `0xffffffff` + `internal_transfer#178d4519` + query_id:uint64 +
/// amount:Coins; at most 32 + 64 + 124 bits of the original body, within the 256 a bounce
/// keeps). Any other message, or a body too short to hold both fields, is `None`.
fn bounced_internal_transfer(cell: &Cell) -> Result<Option<BouncedJettonTransfer>> {
    let msg: Message<'_> = cell.parse().map_err(|e| Error::malformed("message", e))?;
    let MsgInfo::Int(info) = &msg.info else {
        return Ok(None);
    };
    if !info.bounced {
        return Ok(None);
    }
    let mut body = msg.body;
    let head = (body.load_u32(), body.load_u32());
    if head
        != (
            Ok(BOUNCED_PREFIX),
            Ok(labelmint_abi::opcodes::INTERNAL_TRANSFER),
        )
    {
        return Ok(None);
    }
    let (Ok(query_id), Ok(amount)) = (body.load_u64(), Tokens::load_from(&mut body)) else {
        return Ok(None);
    };
    Ok(Some(BouncedJettonTransfer {
        query_id,
        amount: amount.into_inner(),
        jetton_wallet: addr(&info.dst),
        recipient_wallet: addr(&info.src),
    }))
}

/// Parses one message cell into its row; for an external-out message, also returns its body
/// as a cell (the candidate event).
fn decode_message(
    cell: &Cell,
    tx_hash: [u8; 32],
    direction: Direction,
    idx: u16,
) -> Result<(MessageRow, Option<Cell>)> {
    let msg: Message<'_> = cell.parse().map_err(|e| Error::malformed("message", e))?;
    let body = body_cell(&msg.body)?;
    let op = body_op(&msg.body);
    let mut row = MessageRow {
        tx_hash,
        direction,
        idx,
        msg_hash: cell.repr_hash().0,
        msg_kind: "int",
        src: None,
        dst: None,
        value: None,
        fwd_fee: None,
        bounce: None,
        bounced: None,
        created_lt: None,
        created_at: None,
        op,
        body_hash: body.repr_hash().0,
        norm_hash: None,
    };
    let mut event_body = None;
    match &msg.info {
        MsgInfo::Int(i) => {
            row.src = Some(addr(&i.src));
            row.dst = Some(addr(&i.dst));
            row.value = Some(i.value.tokens.into_inner());
            row.fwd_fee = Some(i.fwd_fee.into_inner());
            row.bounce = Some(i.bounce);
            row.bounced = Some(i.bounced);
            row.created_lt = Some(i.created_lt);
            row.created_at = Some(i.created_at);
        }
        MsgInfo::ExtIn(i) => {
            row.msg_kind = "ext_in";
            row.dst = Some(addr(&i.dst));
            row.norm_hash = Some(
                labelmint_abi::message_hash::normalized_hash(cell)
                    .map_err(|e| Error::malformed("external-in message", e))?,
            );
        }
        MsgInfo::ExtOut(i) => {
            row.msg_kind = "ext_out";
            row.src = Some(addr(&i.src));
            row.created_lt = Some(i.created_lt);
            row.created_at = Some(i.created_at);
            // Events go to addr_none; a log to an external address is someone else's format.
            if i.dst.is_none() {
                event_body = Some(body.clone());
            }
        }
    }
    Ok((row, event_body))
}

/// The body as a cell of its own: the referenced cell, or the inline remainder copied into a
/// new cell (its hash is the body hash TON explorers show).
fn body_cell(body: &CellSlice<'_>) -> Result<Cell> {
    CellBuilder::build_from(*body).map_err(|e| Error::malformed("message body", e))
}

fn body_op(body: &CellSlice<'_>) -> Option<u32> {
    (body.size_bits() >= 32)
        .then(|| body.get_u32(0).ok())
        .flatten()
}

fn addr(a: &IntAddr) -> String {
    match a {
        IntAddr::Std(s) => crate::model::raw_address(s),
        IntAddr::Var(v) => format!("{}:{}", v.workchain, hex::encode(&v.address)),
    }
}

fn status(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Uninit => "uninit",
        AccountStatus::Frozen => "frozen",
        AccountStatus::Active => "active",
        AccountStatus::NotExists => "nonexist",
    }
}

fn skip_reason(r: ComputePhaseSkipReason) -> &'static str {
    match r {
        ComputePhaseSkipReason::NoState => "no_state",
        ComputePhaseSkipReason::BadState => "bad_state",
        ComputePhaseSkipReason::NoGas => "no_gas",
        ComputePhaseSkipReason::Suspended => "suspended",
    }
}

impl DecodedTransaction {
    /// Appends this transaction's rows (transaction, messages, events) to a masterchain
    /// block's rows. `watched` is the account's `watched_accounts` row, if any: it gives the
    /// events their contract kind and, for escrows, their project. `owner` is the row of the
    /// contract that owns a watched jetton wallet (its `owner` column), if watched.
    ///
    /// Events are kept only from watched escrows and vaults: anyone can deploy a contract that
    /// emits bodies with LabelMint's opcodes, and those must never read as facts. (Their
    /// external-out messages are still stored as messages.) A transfer bounced back to the
    /// jetton wallet of a watched escrow or vault becomes a
    /// [`crate::model::JETTON_TRANSFER_BOUNCED`] fact of that escrow or vault.
    pub fn push_into(
        self,
        rows: &mut MasterBlockRows,
        watched: Option<&WatchedAccount>,
        owner: Option<&WatchedAccount>,
    ) {
        let is_contract =
            |w: &WatchedAccount| matches!(w.kind, AccountKind::Escrow | AccountKind::Vault);
        if watched.is_some_and(is_contract) {
            for e in &self.events {
                rows.events.push(EventRow::new(&self.tx, e, watched));
            }
        }
        if let (Some(w), Some(o), Some(b)) = (watched, owner, &self.bounced_transfer)
            && w.kind == AccountKind::JettonWallet
            && w.owner.as_deref() == Some(o.address.as_str())
            && is_contract(o)
        {
            rows.events
                .push(EventRow::jetton_transfer_bounced(&self.tx, b, o));
        }
        rows.messages.extend(self.messages);
        rows.transactions.push(self.tx);
    }
}
