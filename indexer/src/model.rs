//! The rows the indexer writes: plain data, one struct per table, built by [`crate::decode`]
//! and the tailer, written by [`crate::store`]. Nothing here talks to Postgres or the chain.

use labelmint_abi::Event;
use tycho_types::models::StdAddr;

/// A block id as the liteserver protocol names it (`tonNode.blockIdExt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRef {
    /// -1 for the masterchain, 0 for the basechain.
    pub workchain: i32,
    /// The shard prefix with its tag bit (`0x8000_0000_0000_0000` is the whole workchain).
    pub shard: u64,
    /// The block's seqno within its shard.
    pub seqno: u32,
    /// The block's root cell hash.
    pub root_hash: [u8; 32],
    /// The hash of the block's BOC file.
    pub file_hash: [u8; 32],
}

/// The shard id of a whole workchain (no split).
pub const SHARD_FULL: u64 = 0x8000_0000_0000_0000;

/// One row of `blocks`: a masterchain block or a shard block it committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRow {
    /// The block.
    pub id: BlockRef,
    /// The block's creation time.
    pub gen_utime: Option<u32>,
    /// The first lt of the block.
    pub start_lt: Option<u64>,
    /// The last lt of the block.
    pub end_lt: Option<u64>,
}

/// One row of `transactions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRow {
    /// Raw address (`0:ab..`).
    pub account: String,
    /// Logical time.
    pub lt: u64,
    /// The transaction cell's hash.
    pub hash: [u8; 32],
    /// The shard block holding it.
    pub block: BlockRef,
    /// Unix time.
    pub now: u32,
    /// The account's previous transaction.
    pub prev_trans_hash: [u8; 32],
    /// Its lt.
    pub prev_trans_lt: u64,
    /// Status before (`uninit`, `frozen`, `active`, `nonexist`).
    pub orig_status: &'static str,
    /// Status after.
    pub end_status: &'static str,
    /// Total fees in nanoTON.
    pub total_fees: u128,
    /// `ordinary` or `tick_tock`.
    pub tx_kind: &'static str,
    /// The compute phase's exit code, when it ran.
    pub compute_exit_code: Option<i32>,
    /// Why the compute phase was skipped (`no_state`, `bad_state`, `no_gas`, `suspended`).
    pub compute_skip_reason: Option<&'static str>,
    /// Whether the compute phase succeeded, when it ran.
    pub compute_success: Option<bool>,
    /// Gas used by the compute phase.
    pub gas_used: Option<u64>,
    /// Gas fees of the compute phase (nanoTON).
    pub gas_fees: Option<u128>,
    /// The action phase's result code, when it ran.
    pub action_result_code: Option<i32>,
    /// Whether the transaction was aborted.
    pub aborted: bool,
    /// Whether the account was destroyed.
    pub destroyed: bool,
    /// Number of out messages.
    pub out_msg_count: u16,
    /// The raw BOC.
    pub boc: Vec<u8>,
}

/// `in` or `out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The transaction's in message.
    In,
    /// One of its out messages.
    Out,
}

impl Direction {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// One row of `messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    /// The transaction it belongs to.
    pub tx_hash: [u8; 32],
    /// In or out.
    pub direction: Direction,
    /// 0 for the in message; the out_msgs key for out messages.
    pub idx: u16,
    /// The message cell's hash.
    pub msg_hash: [u8; 32],
    /// `int`, `ext_in` or `ext_out`.
    pub msg_kind: &'static str,
    /// Raw source address; `None` for external sources.
    pub src: Option<String>,
    /// Raw destination address; `None` for external destinations.
    pub dst: Option<String>,
    /// nanoTON attached (internal only).
    pub value: Option<u128>,
    /// Forwarding fee (internal only).
    pub fwd_fee: Option<u128>,
    /// The bounce flag (internal only).
    pub bounce: Option<bool>,
    /// The bounced flag (internal only).
    pub bounced: Option<bool>,
    /// Creation lt (internal and external-out).
    pub created_lt: Option<u64>,
    /// Creation time (internal and external-out).
    pub created_at: Option<u32>,
    /// The body's first 32 bits.
    pub op: Option<u32>,
    /// The body cell's hash (the referenced cell, or the inline remainder as a cell).
    pub body_hash: [u8; 32],
    /// External-in messages: the TEP-467 normalized hash (how the BoC a wallet returned is
    /// found); `None` for the others.
    pub norm_hash: Option<[u8; 32]>,
}

/// An event decoded from an external-out message of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedEvent {
    /// The out message's idx.
    pub msg_idx: u16,
    /// The event.
    pub event: Event,
}

/// What kind of account a watched address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// A project escrow.
    Escrow,
    /// A payout vault.
    Vault,
    /// The jetton wallet of an escrow or vault.
    JettonWallet,
    /// A client's wallet: its transactions are kept so that the BoC its wallet app returned
    /// (TonConnect) maps to the transaction that started a deposit (TEP-467).
    Wallet,
    /// Anything else registered by hand.
    Other,
}

impl AccountKind {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Escrow => "escrow",
            AccountKind::Vault => "vault",
            AccountKind::JettonWallet => "jetton_wallet",
            AccountKind::Wallet => "wallet",
            AccountKind::Other => "other",
        }
    }

    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "escrow" => AccountKind::Escrow,
            "vault" => AccountKind::Vault,
            "jetton_wallet" => AccountKind::JettonWallet,
            "wallet" => AccountKind::Wallet,
            "other" => AccountKind::Other,
            _ => return None,
        })
    }
}

/// The name of the indexer's own decoded fact for a jetton transfer refused by the recipient's
/// jetton wallet (written to `events.kind`): TL-B-style, like the contracts' events, although no
/// contract emits it.
///
/// ```text
/// jetton_transfer_bounced owner:MsgAddressInt jetton_wallet:MsgAddressInt query_id:uint64
///     amount:Coins recipient_wallet:MsgAddressInt = IndexerFact;
/// ```
///
/// The indexer reads it from the bounced `internal_transfer` (`0xffffffff` + `internal_transfer
/// #178d4519` + query_id + amount, within the 256 bits a bounce carries) that arrives at the
/// jetton wallet of a watched escrow or vault (`owner`) when the recipient's wallet refused it
/// (a USDT wallet locked by its admin, exit code 45), and the wallet's transaction succeeded: the
/// wallet restored `amount` to its balance and told its owner nothing. For a vault payout the
/// TEP-74 `query_id` is the payout item id; for an escrow leg it is `(leg << 32) | seqno`.
pub const JETTON_TRANSFER_BOUNCED: &str = "jetton_transfer_bounced";

/// A bounced `internal_transfer` that a jetton wallet took back (see
/// [`JETTON_TRANSFER_BOUNCED`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BouncedJettonTransfer {
    /// The TEP-74 query id of the refused transfer.
    pub query_id: u64,
    /// Jetton base units restored to the wallet.
    pub amount: u128,
    /// The wallet that took them back (raw address): the transaction's account.
    pub jetton_wallet: String,
    /// The recipient's jetton wallet that refused them (raw address): the bounce's source.
    pub recipient_wallet: String,
}

/// One row of `watched_accounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedAccount {
    /// Raw address.
    pub address: String,
    /// What it is.
    pub kind: AccountKind,
    /// The escrow's project.
    pub project_id: Option<u64>,
    /// The owner of a jetton wallet.
    pub owner: Option<String>,
    /// `TON` or the jetton master.
    pub currency: Option<String>,
}

/// One row of `events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// The transaction that emitted it.
    pub tx_hash: [u8; 32],
    /// The out message's idx.
    pub msg_idx: u16,
    /// The emitter (raw address).
    pub contract: String,
    /// The emitter's kind, when watched.
    pub contract_kind: Option<AccountKind>,
    /// The transaction's lt.
    pub lt: u64,
    /// The transaction's time.
    pub now: u32,
    /// The event's TL-B constructor name.
    pub kind: &'static str,
    /// The project it concerns.
    pub project_id: Option<u64>,
    /// The payout item it concerns.
    pub payout_item_id: Option<u64>,
    /// The query id it carries.
    pub query_id: Option<u64>,
    /// Its main amount.
    pub amount: Option<u128>,
    /// The platform fee (ev_release).
    pub fee: Option<u128>,
    /// The running figure after the event.
    pub balance_after: Option<u128>,
    /// labelmint-abi's JSON form of the event's fields.
    pub fields: serde_json::Value,
    /// The jetton wallet an `ev_jetton_wallet_learned` announces (raw address): the store
    /// starts watching it in the same transaction.
    pub announced_wallet: Option<String>,
}

impl EventRow {
    /// The row of an event decoded from transaction `tx`, whose account is `watched` (when it
    /// is watched).
    pub fn new(
        tx: &TransactionRow,
        decoded: &DecodedEvent,
        watched: Option<&WatchedAccount>,
    ) -> Self {
        let c = EventColumns::of(&decoded.event);
        let fields = serde_json::to_value(&decoded.event)
            .ok()
            .and_then(|mut v| v.get_mut("fields").map(serde_json::Value::take))
            .unwrap_or(serde_json::Value::Null);
        EventRow {
            tx_hash: tx.hash,
            msg_idx: decoded.msg_idx,
            contract: tx.account.clone(),
            contract_kind: watched.map(|w| w.kind),
            lt: tx.lt,
            now: tx.now,
            kind: decoded.event.name(),
            project_id: c.project_id.or(watched.and_then(|w| w.project_id)),
            payout_item_id: c.payout_item_id,
            query_id: c.query_id,
            amount: c.amount,
            fee: c.fee,
            balance_after: c.balance_after,
            fields,
            announced_wallet: match &decoded.event {
                Event::EvJettonWalletLearned(e) => Some(raw_address(&e.wallet)),
                _ => None,
            },
        }
    }
}

impl EventRow {
    /// The [`JETTON_TRANSFER_BOUNCED`] fact of a transaction `tx` of the jetton wallet of `owner`
    /// (a watched escrow or vault). Its key is the wallet's transaction and message index 0 (the
    /// transaction's in message: the bounce); `contract` is the owner, whose books the fact
    /// concerns. Escrow: `project_id` from the escrow's row; vault: `payout_item_id` = query_id.
    pub fn jetton_transfer_bounced(
        tx: &TransactionRow,
        bounce: &BouncedJettonTransfer,
        owner: &WatchedAccount,
    ) -> Self {
        let is_vault = owner.kind == AccountKind::Vault;
        let mut fields = serde_json::json!({
            "owner": owner.address,
            "jetton_wallet": bounce.jetton_wallet,
            "query_id": bounce.query_id.to_string(),
            "amount": bounce.amount.to_string(),
            "recipient_wallet": bounce.recipient_wallet,
        });
        if owner.kind == AccountKind::Escrow {
            // leg_query_id = (leg << 32) | seqno
            fields["leg"] = serde_json::json!((bounce.query_id >> 32).to_string());
            fields["seqno"] = serde_json::json!((bounce.query_id & 0xffff_ffff).to_string());
        }
        EventRow {
            tx_hash: tx.hash,
            msg_idx: 0,
            contract: owner.address.clone(),
            contract_kind: Some(owner.kind),
            lt: tx.lt,
            now: tx.now,
            kind: JETTON_TRANSFER_BOUNCED,
            project_id: owner.project_id,
            payout_item_id: is_vault.then_some(bounce.query_id),
            query_id: Some(bounce.query_id),
            amount: Some(bounce.amount),
            fee: None,
            balance_after: None,
            fields,
            announced_wallet: None,
        }
    }
}

/// The typed columns of an event (see the `events` table's comments).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventColumns {
    /// The event's own project id.
    pub project_id: Option<u64>,
    /// The payout item id.
    pub payout_item_id: Option<u64>,
    /// The query id.
    pub query_id: Option<u64>,
    /// The main amount.
    pub amount: Option<u128>,
    /// The fee.
    pub fee: Option<u128>,
    /// The running figure after the event.
    pub balance_after: Option<u128>,
}

impl EventColumns {
    /// Maps every event kind onto the columns.
    pub fn of(event: &Event) -> Self {
        let none = EventColumns::default();
        match event {
            Event::EvDeposit(e) => EventColumns {
                query_id: Some(e.query_id),
                amount: Some(e.amount),
                balance_after: Some(e.deposited),
                ..none
            },
            Event::EvRelease(e) => EventColumns {
                amount: Some(e.amount),
                fee: Some(e.fee),
                balance_after: Some(e.remaining),
                ..none
            },
            Event::EvReleaseBounced(e) => EventColumns {
                query_id: Some(e.query_id),
                amount: Some(e.amount),
                balance_after: Some(e.remaining),
                ..none
            },
            Event::EvRefund(e) => EventColumns {
                query_id: Some(e.query_id),
                amount: Some(e.amount),
                ..none
            },
            Event::EvRefundBounced(e) => EventColumns {
                query_id: Some(e.query_id),
                amount: Some(e.amount),
                ..none
            },
            Event::EvClosed(e) => EventColumns {
                balance_after: Some(e.remaining),
                ..none
            },
            Event::EvJettonWalletLearned(_) => none,
            Event::EvJettonRecovered(e) => EventColumns {
                query_id: Some(e.query_id),
                amount: Some(e.amount),
                balance_after: Some(e.booked),
                ..none
            },
            Event::EvJettonRecoveryFailed(e) => EventColumns {
                query_id: Some(e.query_id),
                ..none
            },
            Event::EvVaultFunded(e) => EventColumns {
                project_id: Some(e.project_id),
                query_id: Some(e.query_id),
                amount: Some(e.amount),
                ..none
            },
            Event::EvBatchExecuted(e) => EventColumns {
                query_id: Some(e.query_id),
                amount: Some(e.total),
                balance_after: Some(e.window_used),
                ..none
            },
            Event::EvPayoutBounced(e) => EventColumns {
                payout_item_id: Some(e.item_id),
                amount: Some(e.amount),
                ..none
            },
            Event::EvAdminChange(e) => EventColumns {
                query_id: Some(e.query_id),
                ..none
            },
            // the proposal's query id; apply_after and the change are in `fields`
            Event::EvAdminChangeProposed(e) => EventColumns {
                query_id: Some(e.query_id),
                ..none
            },
            Event::EvAdminChangeCancelled(e) => EventColumns {
                query_id: Some(e.query_id),
                ..none
            },
            Event::EvGasToppedUp(e) => EventColumns {
                query_id: Some(e.query_id),
                amount: Some(e.amount),
                ..none
            },
        }
    }
}

impl EventColumns {
    /// The columns of `ev_jetton_recovered#1bd976cd query_id:uint64 amount:Coins booked:Coins`
    /// (escrow and vault, pinned in the issue 11 brief): `query_id` = the recovery nonce, `amount`
    /// = what was booked, `balance_after` = the contract's jetton books after it (vault
    /// `jetton_balance`, escrow remaining budget). The ledger posts `amount` against the
    /// contract's `*_jetton_wallet_unbooked` account. (`ev_jetton_recovery_failed` carries only
    /// its `query_id`.) [`EventColumns::of`] maps the ABI's event onto these once its decoder is
    /// in `labelmint_abi::Event`.
    pub fn jetton_recovered(query_id: u64, amount: u128, booked: u128) -> Self {
        EventColumns {
            query_id: Some(query_id),
            amount: Some(amount),
            balance_after: Some(booked),
            ..EventColumns::default()
        }
    }
}

/// One row of `account_states`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountStateRow {
    /// Raw address.
    pub address: String,
    /// nanoTON.
    pub balance: u128,
    /// `uninit`, `frozen`, `active` or `nonexist`.
    pub status: &'static str,
    /// The lt of its last transaction.
    pub last_lt: u64,
    /// The hash of its last transaction.
    pub last_tx_hash: Option<[u8; 32]>,
}

/// Everything one masterchain block contributes, written in one Postgres transaction with the
/// checkpoint by [`crate::store::Store::write_master_block`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterBlockRows {
    /// The masterchain block's seqno (the checkpoint after the write).
    pub mc_seqno: u32,
    /// The masterchain block and the shard blocks it committed.
    pub blocks: Vec<BlockRow>,
    /// The kept transactions.
    pub transactions: Vec<TransactionRow>,
    /// Their messages.
    pub messages: Vec<MessageRow>,
    /// Their decoded events.
    pub events: Vec<EventRow>,
    /// The latest states of the watched accounts touched.
    pub account_states: Vec<AccountStateRow>,
}

/// The raw form of an address: `<workchain>:<64 lowercase hex>`.
pub fn raw_address(addr: &StdAddr) -> String {
    format!("{}:{}", addr.workchain, hex::encode(addr.address.0))
}

/// The raw form of an address given as workchain and account id.
pub fn raw_address_parts(workchain: i32, account: &[u8; 32]) -> String {
    format!("{workchain}:{}", hex::encode(account))
}
