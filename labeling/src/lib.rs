//! # labelmint-labeling — tasks, reservations, answers, gold: the source of approved earnings
//!
//! Clients put tasks up per project (a task set: label set, overlap, price per accepted
//! answer in the project's currency, gold tasks and their mix-in rate, priorities); workers
//! (a wallet, from a ton_proof session or a Telegram id linked to a wallet) take one task at
//! a time with a reservation (30 minutes by default), answer, skip or release it; when a task
//! has the answers it wants, the consensus engine (`labelmint-consensus`) decides it or asks
//! for more, and approves every agreeing answer in the ledger at the project's price.
//!
//! ```text
//! client --put_task_set--> labeling_task_sets + engine settings (consensus_projects)
//!        --upload (JSON lines | CSV, every row validated first)--> engine tasks/gold, labeling_tasks
//! worker --next--> SELECT .. FOR UPDATE SKIP LOCKED (priority, gold at its rate, never a task
//!                  the worker answered or skipped, answers + live reservations < least(wanted,
//!                  funded); full tasks leave the offer index)  --> reservation (expires_ms)
//!        --submit--> task row locked, holder + expiry + label checked --> engine submission
//!                    (idempotent per task and worker) --> answer; the task is full: wake
//!        --skip | release--> reservation ended, its budget given back
//! pass (one per project at a time): Engine::process (decide, flag gold failers, approve
//!        "submission:<id>" in the ledger, once) --> close decided/unresolved tasks, reopen
//!        those that need more, sweep expired reservations, budget_left from the ledger,
//!        fund answer slots: committed + cost <= budget_left (price + the escrow's fee)
//! views: progress, worker quality, estimated accuracy, decided labels (JSON lines, CSV);
//!        balances (ledger earnings), withdrawals, thresholds, minimum payouts, due earnings
//! ```
//!
//! ## What it must never do
//!
//! - Give a task more answers than it wants (its overlap, raised only when the engine asks for
//!   more), or more live reservations than its remaining answers: both are counted under the
//!   task's row lock.
//! - Let a worker answer or skip a task twice (unique (task, worker)), or answer without
//!   holding a live, unexpired reservation of the task.
//! - Approve anything itself: approvals are the engine's (ledger keys `submission:<id>`,
//!   exactly once); labeling only decides when to ask.
//! - Let a project approve more than its escrow's budget: an ordinary task is offered only up
//!   to its funded answer slots, each holding price + fee of `budget_left` (read from the
//!   ledger) until its task is closed (the argument is in `pass.rs`).
//! - Offer tasks to a worker the gold checks cut off; show whether a task is gold (ids are
//!   random, answers have one shape).
//! - Load half an upload: a bad row is reported with its line and nothing is written.
//! - Sleep on time: "now" comes from the injected [`Clock`]; use floats for money.
//! - Share one pool between labeling, the engine and the ledger: a submission holds a
//!   labeling connection while the engine stores it, the engine holds its own while the
//!   ledger approves ([`Labeling::new`] takes three).
//!
//! Known limits: a crash between the engine storing a submission and labeling committing it
//! leaves the reservation live (the worker's retry completes it; if the worker never
//! retries, the engine holds one answer labeling does not count). Passes in several
//! processes are serialised by an advisory lock; the task-set cache is per process (1 s).
//! [`Labeling::due_earnings`] names what withdrawals and thresholds make due, for the
//! settler's `form_batch_of`; the settler does not call it yet (it pays every approved
//! earning at each settlement).
//!
//! ## Errors and features
//!
//! One error type, [`Error`], whose variants the API maps to problem+json kinds; the
//! [`Result`] alias. No feature flags.
//!
//! ## Example
//!
//! ```no_run
//! # async fn run(pool: sqlx::PgPool, engine_pool: sqlx::PgPool) -> labelmint_labeling::Result<()> {
//! use std::sync::Arc;
//! use labelmint_labeling::{Format, Labeling, SystemClock, TaskSet, Worker};
//! use labelmint_ledger::{Ledger, RawAddress};
//!
//! let ledger = Ledger::from_pool(pool.clone());
//! let labeling = Labeling::new(pool, engine_pool, ledger, Arc::new(SystemClock), true);
//! labeling.migrate().await?;
//! labeling.put_task_set(&TaskSet::new(7, &["cat", "dog"], 1_000_000)).await?;
//! labeling.upload(7, Format::JsonLines, b"{\"name\":\"img-1\",\"payload\":{\"url\":\"https://x/1.png\"}}\n").await?;
//! let worker = Worker::new(RawAddress::parse(&format!("0:{}", "ab".repeat(32)))?);
//! if let Some(r) = labeling.next(7, &worker).await? {
//!     labeling.submit(r.task_id, &worker, "cat").await?;
//! }
//! # Ok(())
//! # }
//! ```

mod answers;
mod clock;
mod error;
mod model;
mod pass;
mod payouts;
mod reserve;
mod service;
pub mod upload;
mod views;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};
pub use model::{
    Balance, DecidedLabel, HistoryEvent, PassReport, Progress, Reservation, Submitted, TaskSet,
    Worker, WorkerQuality,
};
pub use pass::PASS_GAP;
pub use reserve::worker_of;
pub use service::{Labeling, MIGRATIONS_TABLE, TASK_SET_TTL, migrator};
pub use upload::Format;
pub use views::{to_csv, to_json_lines};

/// Reservations last 30 minutes unless the task set says otherwise.
pub const DEFAULT_RESERVATION_MS: i64 = 30 * 60 * 1000;
