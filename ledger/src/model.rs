//! The values the API takes and returns: registrations, earnings, batches.

use crate::state::{BatchState, EarningState};
use crate::types::{BatchId, ChainRef, CurrencyCode, EarningId, ItemId, ProjectId, RawAddress};

/// A currency the platform pays in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    /// `TON`, `USD`, ...
    pub code: CurrencyCode,
    /// Decimals of its base unit (TON: 9, USDT: 6). Display only: amounts are base units.
    pub decimals: u8,
    /// The jetton master, or `None` for TON.
    pub jetton_master: Option<RawAddress>,
}

/// A project and its escrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The on-chain project id.
    pub id: ProjectId,
    /// The escrow's address.
    pub escrow: RawAddress,
    /// The escrow's currency.
    pub currency: CurrencyCode,
    /// The client (who funds it and gets refunds).
    pub client: RawAddress,
}

/// The payout vault of a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    /// The currency it pays in (one vault per currency).
    pub currency: CurrencyCode,
    /// Its address.
    pub address: RawAddress,
}

/// An approval from the consensus engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEarning {
    /// The idempotency key: one approval per submission, however often the engine runs.
    pub submission_key: String,
    /// The worker's id on the platform.
    pub worker: String,
    /// The worker's wallet (basechain, raw form).
    pub payout_address: RawAddress,
    /// The project that pays (its escrow's currency is the earning's currency).
    pub project: ProjectId,
    /// Base units of the project's currency, > 0.
    pub amount: u128,
    /// The consensus decision that justifies the approval.
    pub decision_id: String,
}

/// What [`crate::Ledger::approve_earning`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approval {
    /// The earning.
    pub earning_id: EarningId,
    /// `false`: the submission was approved before with the same content; nothing changed.
    pub newly_created: bool,
}

/// An approved earning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earning {
    /// Its id.
    pub id: EarningId,
    /// The submission key it was approved under.
    pub submission_key: String,
    /// The worker.
    pub worker: String,
    /// The worker's wallet.
    pub payout_address: RawAddress,
    /// The paying project.
    pub project: ProjectId,
    /// The project's currency.
    pub currency: CurrencyCode,
    /// Base units.
    pub amount: u128,
    /// The decision that approved it.
    pub decision_id: String,
    /// Where it is.
    pub state: EarningState,
    /// Approval time (database clock), unix seconds.
    pub approved_at: i64,
}

/// A later re-estimate of a submission that was already approved (issue 6): recorded, never
/// applied to the earning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reestimate {
    /// The submission the re-estimate is about.
    pub submission_key: String,
    /// The decision of the re-estimate (idempotency: one record per earning and decision).
    pub decision_id: String,
    /// What the re-estimate would approve (0: nothing).
    pub amount: u128,
    /// Free text for the people who read it.
    pub note: String,
}

/// What [`crate::Ledger::record_reestimate`] recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReestimateRecord {
    /// The earning it is about.
    pub earning_id: EarningId,
    /// The earning's state when the re-estimate was first recorded (e.g. `Confirmed`: already
    /// paid, so it stands).
    pub earning_state: EarningState,
    /// `false`: this (earning, decision) was recorded before; nothing changed.
    pub newly_recorded: bool,
}

/// What the settler asks [`crate::Ledger::form_batch`] for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRequest {
    /// The currency (its vault pays).
    pub currency: CurrencyCode,
    /// At most this many items (1..=250).
    pub max_items: usize,
    /// At most this total (e.g. what the vault's window and balance allow).
    pub max_total: u128,
    /// The vault request's query id: new for this vault (never reused, even after expiry).
    pub query_id: u64,
    /// The vault request's created_at (chain time, unix seconds).
    pub created_at: u32,
    /// The last chain second at which the vault could still accept the request:
    /// `created_at + the vault's timeout - 1`. Never less: the batch may be expired (and its
    /// earnings re-batched) once this has passed, so it must cover every second the vault
    /// would accept it. Checked when the vault's timeout is registered
    /// ([`crate::Ledger::set_vault_timeout`]).
    pub valid_until: u32,
}

/// A batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Its id.
    pub id: BatchId,
    /// The vault that pays it.
    pub vault: RawAddress,
    /// The currency.
    pub currency: CurrencyCode,
    /// The vault request's query id.
    pub query_id: u64,
    /// The vault request's created_at.
    pub created_at: u32,
    /// The last chain second it can land.
    pub valid_until: u32,
    /// Where it is.
    pub state: BatchState,
    /// Items (transfers), 1..=250.
    pub item_count: usize,
    /// Sum of the items' amounts.
    pub total: u128,
    /// The hash recorded by [`crate::Ledger::mark_signed`].
    pub signed_hash: Option<[u8; 32]>,
    /// The hash recorded by [`crate::Ledger::mark_sent`].
    pub sent_hash: Option<[u8; 32]>,
    /// The transaction that executed it.
    pub confirmed: Option<ChainRef>,
}

/// One item (transfer) of a batch, in the vault request's order: every earning of one worker
/// (one currency, one payout address) that the batch took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// Position in the request (0-based).
    pub position: usize,
    /// The vault's item id of this transfer (never reused).
    pub item_id: ItemId,
    /// The worker.
    pub worker: String,
    /// The destination (the payout address of each of its earnings).
    pub payout_address: RawAddress,
    /// Base units: the sum of its earnings.
    pub amount: u128,
    /// The earnings it pays, by id.
    pub earnings: Vec<EarningId>,
    /// The vault item's `bounceable` flag, once decided ([`crate::Ledger::set_bounceable`];
    /// `None`: not yet, the batch cannot be signed).
    pub bounceable: Option<bool>,
    /// What became of this item: `pending`, `paid`, `expired` or `bounced`.
    pub outcome: ItemOutcome,
}

/// What became of a batch item (and of each earning's attempt in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemOutcome {
    /// In a live batch.
    Pending,
    /// Executed on chain.
    Paid,
    /// Its batch expired; the earning went back to approved.
    Expired,
    /// Paid, then bounced; the earning went back to approved.
    Bounced,
}

impl ItemOutcome {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemOutcome::Pending => "pending",
            ItemOutcome::Paid => "paid",
            ItemOutcome::Expired => "expired",
            ItemOutcome::Bounced => "bounced",
        }
    }

    pub(crate) fn parse(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "pending" => ItemOutcome::Pending,
            "paid" => ItemOutcome::Paid,
            "expired" => ItemOutcome::Expired,
            "bounced" => ItemOutcome::Bounced,
            other => return Err(crate::Error::corrupt("item outcome", other)),
        })
    }
}

impl std::fmt::Display for ItemOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a paid item came back and its earning is owed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BounceReason {
    /// `payout_bounced`: the vault's payout message itself bounced (`ev_payout_bounced`: a TON
    /// payout to an account that refused it, or a jetton payout its own wallet refused).
    PayoutBounced,
    /// `recipient_wallet_refused`: the recipient's jetton wallet refused the transfer (a USDT
    /// wallet locked by its admin); the tokens are back in the vault's jetton wallet
    /// (`jetton_transfer_bounced`). Paying the same address again will likely fail the same way.
    RecipientWalletRefused,
}

impl BounceReason {
    /// The database spelling (`ledger_batch_items.bounce_reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            BounceReason::PayoutBounced => "payout_bounced",
            BounceReason::RecipientWalletRefused => "recipient_wallet_refused",
        }
    }

    pub(crate) fn parse(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "payout_bounced" => BounceReason::PayoutBounced,
            "recipient_wallet_refused" => BounceReason::RecipientWalletRefused,
            other => return Err(crate::Error::corrupt("bounce reason", other)),
        })
    }
}

/// A paid attempt of an earning that came back (see [`crate::Ledger::earning_bounces`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemBounce {
    /// The batch that paid it.
    pub batch: crate::types::BatchId,
    /// The payout item (transfer) that carried the earning.
    pub item_id: ItemId,
    /// Why it came back.
    pub reason: BounceReason,
    /// The transaction that showed it: the vault's (`ev_payout_bounced`) or its jetton
    /// wallet's (`jetton_transfer_bounced`).
    pub tx_hash: [u8; 32],
    /// What came back for the whole item, when recorded (base units; the item may pay
    /// several earnings of the worker).
    pub amount: Option<u128>,
}

/// A worker's new payout address for their payable earnings of one currency
/// ([`crate::Ledger::correct_payout_address`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressCorrection {
    /// The worker (platform id).
    pub worker: String,
    /// The currency whose earnings are corrected.
    pub currency: CurrencyCode,
    /// The new payout address (basechain, raw form).
    pub new_address: RawAddress,
    /// Who asked (`admin:<name>`, `worker:<id>` after a verified change, ...).
    pub corrected_by: String,
    /// Why, for the people who read it later (may be empty).
    pub reason: String,
}

/// What [`crate::Ledger::correct_payout_address`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionRecord {
    /// The recorded correction (`None`: nothing needed a change, nothing recorded).
    pub id: Option<i64>,
    /// The corrected earnings, each with its old address.
    pub corrected: Vec<(EarningId, RawAddress)>,
    /// The worker's earnings of that currency in a live batch now (batched, signed or sent),
    /// left as they are: if one comes back, correct it again.
    pub in_flight: usize,
}

/// An address a payout came back from: the worker's earnings to it are not batched until the
/// hold is released or they are corrected ([`crate::Ledger::payout_holds`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutHold {
    /// Its id.
    pub id: i64,
    /// The worker.
    pub worker: String,
    /// The currency.
    pub currency: CurrencyCode,
    /// The address the payout came back from.
    pub payout_address: RawAddress,
    /// Why.
    pub reason: BounceReason,
    /// The item that came back.
    pub item_id: ItemId,
    /// The transaction that showed it.
    pub bounce_tx: [u8; 32],
}

/// A project's approvals against its releases (for the signer's release policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectFunding {
    /// Sum of its earnings that are not revoked (approved, in batches or paid).
    pub approved: u128,
    /// Released from its escrow to the vault on chain, net of bounced vault legs (journal).
    pub released: u128,
    /// `approved - released`, or 0 if more was released than approved.
    pub releasable: u128,
}
