//! The crate's one error type.

use crate::model::ItemOutcome;
use crate::state::{BatchState, EarningState, ProjectState};
use crate::types::{BatchId, CurrencyCode, EarningId, ItemId, ProjectId};

/// The ledger's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong. Domain refusals (a conflicting approval, an illegal transition, a batch
/// that has not expired yet) are their own variants, so callers and tests can match on them; a
/// database failure is [`Error::Db`]. Nothing here is built from a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Postgres failed (connection, statement, or a constraint that has no domain variant,
    /// e.g. the deferred trigger refusing an unbalanced journal entry).
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// An argument is malformed (an address, a currency code, a zero amount, ...).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The argument.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// A value read from the database does not fit its Rust type (someone wrote around the
    /// ledger's checks).
    #[error("corrupt {what} in the database: {value}")]
    Corrupt {
        /// The column.
        what: &'static str,
        /// The value found.
        value: String,
    },
    /// The currency is not registered.
    #[error("unknown currency {0}")]
    UnknownCurrency(CurrencyCode),
    /// The project is not registered.
    #[error("unknown project {0}")]
    UnknownProject(ProjectId),
    /// No vault is registered for the currency.
    #[error("no vault registered for {0}")]
    UnknownVault(CurrencyCode),
    /// No earning with this id (or submission key).
    #[error("unknown earning {0}")]
    UnknownEarning(String),
    /// No batch with this id.
    #[error("unknown batch {0}")]
    UnknownBatch(BatchId),
    /// No payout item with this id.
    #[error("unknown payout item {0}")]
    UnknownItem(ItemId),
    /// Only a paid item can bounce.
    #[error("payout item {item} is {outcome}, not paid: it cannot bounce")]
    ItemNotPaid {
        /// The item.
        item: ItemId,
        /// What became of it.
        outcome: ItemOutcome,
    },
    /// No active payout hold for this worker, currency and address.
    #[error("no payout hold on {address} for worker {worker} in {currency}")]
    NoPayoutHold {
        /// The worker.
        worker: String,
        /// The currency.
        currency: CurrencyCode,
        /// The address.
        address: String,
    },
    /// A registration (currency, project, vault) exists with different content.
    #[error("{what} {key} is already registered with different content")]
    RegistrationConflict {
        /// `currency`, `project` or `vault`.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// The submission key was already approved with different content: the approval is not
    /// repeated, and nothing is changed.
    #[error(
        "submission {submission_key} was already approved as earning {existing} with different {fields:?}"
    )]
    ApprovalConflict {
        /// The submission key.
        submission_key: String,
        /// The earning approved earlier.
        existing: EarningId,
        /// The fields that differ (`worker`, `payout_address`, `project`, `amount`,
        /// `decision_id`).
        fields: Vec<&'static str>,
    },
    /// An earning cannot make this transition (e.g. revoking a paid earning).
    #[error("earning {earning}: illegal transition {from} -> {to}")]
    IllegalEarningTransition {
        /// The earning.
        earning: EarningId,
        /// Its current state.
        from: EarningState,
        /// The state asked for.
        to: EarningState,
    },
    /// A batch cannot make this transition (e.g. sending a batch that is not signed).
    #[error("batch {batch}: illegal transition {from} -> {to}")]
    IllegalBatchTransition {
        /// The batch.
        batch: BatchId,
        /// Its current state.
        from: BatchState,
        /// The state asked for.
        to: BatchState,
    },
    /// The transition was already made, with different evidence (another signed hash, another
    /// confirming transaction).
    #[error("batch {batch} is already {state} with different evidence")]
    EvidenceConflict {
        /// The batch.
        batch: BatchId,
        /// Its state.
        state: BatchState,
    },
    /// A batch may be expired only once its `valid_until` has passed in chain time.
    #[error("batch {batch} is valid until {valid_until}; chain time {chain_now} has not passed it")]
    NotExpired {
        /// The batch.
        batch: BatchId,
        /// Its last valid second.
        valid_until: u32,
        /// The chain time given.
        chain_now: u32,
    },
    /// The chain time given is later than what the indexer has seen: expiring on it could
    /// re-batch earnings whose batch is still about to land.
    #[error("chain time {claimed} is ahead of the indexed chain time {indexed}")]
    ChainTimeAhead {
        /// The chain time given.
        claimed: u32,
        /// The time of the indexer's checkpoint block.
        indexed: u32,
    },
    /// The indexer has an `ev_batch_executed` for this batch: it was paid and can never expire.
    #[error("batch {0} was executed on chain; it cannot expire")]
    ExecutedOnChain(BatchId),
    /// The vault already has a batch with this query id (query ids are never reused).
    #[error("query id {query_id} is already used by batch {existing} of this vault")]
    QueryIdTaken {
        /// The query id.
        query_id: u64,
        /// The batch that has it.
        existing: BatchId,
    },
    /// A vault request does not match the ledger's batch (see
    /// [`crate::Ledger::check_vault_request`]): it must not be signed.
    #[error("vault request for query id {query_id} does not match the ledger: {reason}")]
    RequestMismatch {
        /// The request's query id.
        query_id: u64,
        /// What differs.
        reason: String,
    },
    /// The indexer's tables (`events`, `blocks`, `checkpoint`) are not in this database.
    #[error("the indexer's tables are not in this database")]
    IndexerMissing,
    /// The project is closing or closed: it takes no new earnings.
    #[error("project {project} is {state}: it takes no new earnings")]
    ProjectNotActive {
        /// The project.
        project: ProjectId,
        /// Its state.
        state: ProjectState,
    },
    /// A project state change the lifecycle does not allow (closing a closed project).
    #[error("project {project}: illegal transition {from} -> {to}")]
    IllegalProjectTransition {
        /// The project.
        project: ProjectId,
        /// Its state.
        from: ProjectState,
        /// The state asked for.
        to: ProjectState,
    },
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(what: &'static str, value: impl Into<String>) -> Self {
        Error::Corrupt {
            what,
            value: value.into(),
        }
    }
}
