//! The names of the rules a request can be refused by. Every refusal carries one; the HTTP
//! error body says it (`"rule": "cap.hour"`), the audit log records it, tests match on it.

use serde::Serialize;

/// One policy or protocol rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Rule {
    /// The freeze switch is on (`payout-signer freeze`).
    Frozen,
    /// The target contract is not a registered escrow or vault of the right kind.
    UnknownContract,
    /// valid_until (vault: created_at + the vault's timeout) is in the past, or created_at is in
    /// the future.
    Expired,
    /// valid_until is further away than the maximum TTL.
    Ttl,
    /// More items than the per-batch item cap.
    BatchItems,
    /// The batch total is above the per-batch amount cap of its currency.
    BatchAmount,
    /// The rolling one-hour cap of the currency would be exceeded.
    CapHour,
    /// The rolling 24-hour cap of the currency would be exceeded.
    CapDay,
    /// A worker's rolling 24-hour cap would be exceeded.
    CapWorkerDay,
    /// A payout item is not a payout item of the ledger, groups no earning, or one of its
    /// earnings is not approved (revoked).
    ItemNotApproved,
    /// A payout item differs from the ledger's item (destination, amount, currency), one of
    /// its earnings goes to another address or is in another currency, its earnings do not sum
    /// to its amount, or it is the ledger's item of another batch that is neither live nor
    /// paid.
    ItemMismatch,
    /// A payout item is the ledger's item of another live or paid batch; one of its earnings
    /// is in another live or paid batch (ledger), in two items of the request, or still live in
    /// an earlier signature (the signer's own journal, per earning).
    ItemAlreadyBatched,
    /// A release above what the project may still release.
    Releasable,
    /// An escrow close while the ledger does not say the project is closing (no close request,
    /// or the escrow is closed already).
    CloseNotRequested,
    /// A second escrow close at another seqno while an earlier signed close of the escrow is
    /// not provably dead (its valid_until passed in chain time, with the finality margin).
    CloseOnce,
    /// An escrow close while approved earnings are unreleased and not covered by releases
    /// signed at lower seqnos (which the escrow must consume before the close can land).
    CloseFinalRelease,
    /// A batch's `attach` (TON per jetton transfer) is above the per-item maximum, or not 0
    /// for a TON vault.
    BatchAttach,
    /// A batch's `forward_ton` is above the per-item maximum or above `attach`, or not 0 for a
    /// TON vault.
    BatchForwardTon,
    /// The TON a jetton batch can spend from its vault's float would exceed the rolling
    /// one-hour float cap.
    CapFloatHour,
    /// ... the rolling 24-hour float cap.
    CapFloatDay,
    /// The (contract, seqno / query id) was already signed with a different content.
    JournalConflict,
    /// This instance no longer holds the single-signer lock.
    NotLockHolder,
}

impl Rule {
    /// The wire name (`"cap.hour"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Frozen => "freeze",
            Rule::UnknownContract => "contract.registered",
            Rule::Expired => "valid_until.expired",
            Rule::Ttl => "valid_until.max_ttl",
            Rule::BatchItems => "batch.max_items",
            Rule::BatchAmount => "batch.max_amount",
            Rule::CapHour => "cap.hour",
            Rule::CapDay => "cap.day",
            Rule::CapWorkerDay => "cap.worker_day",
            Rule::ItemNotApproved => "item.approved",
            Rule::ItemMismatch => "item.matches_earning",
            Rule::ItemAlreadyBatched => "item.not_in_other_batch",
            Rule::Releasable => "release.releasable",
            Rule::CloseNotRequested => "close.project_closing",
            Rule::CloseOnce => "close.once",
            Rule::CloseFinalRelease => "close.final_release",
            Rule::BatchAttach => "batch.attach",
            Rule::BatchForwardTon => "batch.forward_ton",
            Rule::CapFloatHour => "cap.float_hour",
            Rule::CapFloatDay => "cap.float_day",
            Rule::JournalConflict => "journal.conflict",
            Rule::NotLockHolder => "instance.lock",
        }
    }

    /// The HTTP status of a refusal by this rule: 409 for conflicts with what was already
    /// signed, 503 for a signer that may not sign now, 422 otherwise.
    pub fn status(self) -> u16 {
        match self {
            Rule::JournalConflict | Rule::ItemAlreadyBatched | Rule::CloseOnce => 409,
            Rule::Frozen | Rule::NotLockHolder => 503,
            _ => 422,
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
