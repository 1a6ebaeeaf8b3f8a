//! # labelmint-ledger: the earnings ledger (Postgres)
//!
//! The contract between the consensus engine and payments. The consensus engine approves
//! earnings here (idempotently, one per submission, each with the decision that justifies it);
//! the settler forms payout batches from them and walks each batch through its states; the
//! payout signer READS these tables to decide what it may sign; chain facts indexed by
//! `labelmint-indexer` are posted into a double-entry journal that can be reconciled, per
//! currency, with the indexed on-chain sums.
//!
//! A batch pays each worker ONE transfer: a payout item ([`BatchItem`], its own never-reused
//! [`ItemId`], the vault's item id) groups every approved earning of one worker (one currency,
//! one payout address) that the batch takes. Whatever happens to the transfer happens to all of
//! its earnings: paid together, expired together, bounced together.
//!
//! ```text
//! consensus --approve_earning--> ledger_earnings (approved) --+--> journal: client -> payable
//!                                                             |
//! settler --form_batch--> ledger_batches + ledger_payout_items (one per worker and address)
//!                         + ledger_batch_items (each earning's attempt, in its item)
//!         --set_bounceable--> the items' flags, decided once before signing
//!         --mark_signed / mark_sent--> (signed, sent)      payout-signer reads, signs
//! indexer events --ingest_chain_events--> journal entries (deposit, release, funded, paid,
//!                                         bounced, refused by the recipient's jetton
//!                                         wallet, recovered), batches confirmed, bounced and
//!                                         refused items' earnings re-approved + address held
//! settler --expire_batch(chain time)--> expired, earnings approved again (new items next time)
//! operator --correct_payout_address--> the worker's approved earnings get the new address
//! reconcile(currency): journal totals == indexed event sums
//! client / admin --request_close--> project closing (no new earnings) --ev_closed--> closed
//! ```
//!
//! ## What it must never do
//! - Put an earning in two live batches, or in a batch after it was paid (partial unique index
//!   on live attempts, `FOR UPDATE SKIP LOCKED`, SQL-guarded transitions).
//! - Reuse a payout item id, or let an item differ from its earnings (count, sum, worker,
//!   address, currency, outcome: checked by the database at commit).
//! - Change an earning's payout address except by a recorded correction while it is approved
//!   ([`Ledger::correct_payout_address`]); pay an address again by itself after a payout to it
//!   came back (a payout hold, [`Ledger::payout_holds`]).
//! - Expire a batch before its `valid_until` has passed in CHAIN time as the indexer saw it, or
//!   one the indexer saw executed ([`Ledger::expire_batch`]).
//! - Change or delete an approval, revoke an earning that was batched or paid, or apply a later
//!   re-estimate to a paid earning (it is recorded: [`Ledger::record_reestimate`]).
//! - Post an unbalanced journal entry, update or delete journal rows (database triggers), or
//!   post a chain event twice (unique keys `chain:<tx>:<idx>`).
//! - Use floats: amounts are `u128` base units (`NUMERIC` in Postgres), journal lines `i128`.
//! - Hold or touch keys, sign, or send anything: it records; the signer authorizes.
//!
//! ## Errors
//! One enum, [`Error`]: domain refusals (`ApprovalConflict`, `IllegalBatchTransition`,
//! `NotExpired`, `QueryIdTaken`, `ItemNotPaid`, ...) are variants callers match on; database
//! failures are [`Error::Db`]. No feature flags.
//!
//! ## Database
//! Tables `ledger_*` (migrations in `ledger/migrations`, history table
//! `_sqlx_migrations_ledger`, see [`migrator`]). Chain-facing functions
//! ([`Ledger::ingest_chain_events`], [`Ledger::reconcile`], [`Ledger::expire_batch`]) read the
//! indexer's `events`, `blocks` and `checkpoint` tables in the same database.
//!
//! ## Example
//! ```no_run
//! use labelmint_ledger::{BatchRequest, CurrencyCode, Ledger, NewEarning, ProjectId, RawAddress};
//!
//! # async fn run() -> labelmint_ledger::Result<()> {
//! let ledger = Ledger::connect("postgres://localhost/labelmint", 4).await?;
//! ledger.migrate().await?;
//! let approval = ledger
//!     .approve_earning(&NewEarning {
//!         submission_key: "task-7/submission-19".into(),
//!         worker: "worker-42".into(),
//!         payout_address: RawAddress::parse(&format!("0:{}", "ab".repeat(32)))?,
//!         project: ProjectId(7),
//!         amount: 1_500_000_000,
//!         decision_id: "decision-991".into(),
//!     })
//!     .await?;
//! assert!(approval.earning_id.get() > 0);
//! let batch = ledger
//!     .form_batch(&BatchRequest {
//!         currency: CurrencyCode::ton(),
//!         max_items: 250,
//!         max_total: 1_000_000_000_000,
//!         query_id: 1,
//!         created_at: 1_790_000_000,
//!         valid_until: 1_790_000_000 + 60,
//!     })
//!     .await?;
//! if let Some(batch) = batch {
//!     let items = ledger.batch_items(batch.id).await?;
//!     assert_eq!(items.len(), batch.item_count);
//! }
//! # Ok(())
//! # }
//! ```

mod batches;
mod closing;
mod corrections;
mod earnings;
mod error;
mod ingest;
mod journal;
mod model;
mod num;
mod reconcile;
mod recovery;
mod registry;
mod state;
mod types;

pub use batches::FINALITY_MARGIN_SECS;
pub use closing::{CloseFacts, ReleaseFacts};
pub use error::{Error, Result};
pub use ingest::{Anomaly, IngestReport};
pub use journal::{Account, AccountBalance, EntryKind};
pub use model::{
    AddressCorrection, Approval, Batch, BatchItem, BatchRequest, BounceReason, CorrectionRecord,
    Currency, Earning, ItemBounce, ItemOutcome, NewEarning, PayoutHold, Project, ProjectFunding,
    Reestimate, ReestimateRecord, Vault,
};
pub use num::MAX_AMOUNT;
pub use reconcile::{Figure, Reconciliation};
pub use recovery::AwaitingRecovery;
pub use state::{BatchState, EarningState, ProjectState, Transition};
pub use types::{
    BatchId, ChainRef, CurrencyCode, EarningId, ITEM_ID_LIMIT, ItemId, MAX_BATCH_EARNINGS,
    MAX_BATCH_ITEMS, ProjectId, RawAddress,
};

use sqlx::postgres::{PgPool, PgPoolOptions};

/// The ledger's own migrations history table (crates sharing a database never trip over each
/// other's histories).
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations_ledger";

/// The ledger's migrations (embedded at compile time), recorded in [`MIGRATIONS_TABLE`].
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m
}

/// The ledger's handle: a Postgres pool. Cheap to clone; every method is one or a few
/// transactions, safe to call from many tasks and processes at once.
#[derive(Debug, Clone)]
pub struct Ledger {
    pool: PgPool,
}

impl Ledger {
    /// Connects with at most `max_connections` connections.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }

    /// Wraps an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the pending ledger migrations.
    pub async fn migrate(&self) -> Result<()> {
        migrator().run(&self.pool).await?;
        Ok(())
    }
}
