//! The service's values: task sets, workers, reservations, outcomes, views.

use labelmint_consensus::Method;
use labelmint_ledger::RawAddress;
use serde::Serialize;

/// A project's task set: what is asked, how often, at what price.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSet {
    /// The ledger's project id (its escrow pays).
    pub project: u64,
    /// The label set (classification). Stored sorted and de-duplicated.
    pub labels: Vec<String>,
    /// Answers wanted per task before the engine decides it.
    pub overlap: u32,
    /// The most answers a task may get when the engine asks for more.
    pub max_overlap: u32,
    /// Paid per accepted answer, base units of the project's currency.
    pub price: u128,
    /// The escrow's platform fee in basis points (reservations hold price + fee).
    pub fee_bps: u32,
    /// Gold tasks are offered at this rate, per mille of next-task answers.
    pub gold_per_mille: u32,
    /// How long a reservation lasts, in milliseconds.
    pub reservation_ms: i64,
    /// The engine's method.
    pub method: Method,
    /// The engine's confidence threshold.
    pub threshold: f64,
    /// A worker whose error rate on gold is above this (with at least `min_gold_answers` gold
    /// answers) is cut off the project.
    pub max_gold_error: f64,
    /// Gold answers needed before a worker can be cut off.
    pub min_gold_answers: u32,
}

impl TaskSet {
    /// Defaults: overlap 3 (max 5), no fee, gold at 10 %, 30-minute reservations, majority
    /// vote at 0.6, gold error at most 30 % over at least 3 gold answers.
    pub fn new(project: u64, labels: &[&str], price: u128) -> TaskSet {
        TaskSet {
            project,
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            overlap: 3,
            max_overlap: 5,
            price,
            fee_bps: 0,
            gold_per_mille: 100,
            reservation_ms: crate::DEFAULT_RESERVATION_MS,
            method: Method::MajorityVote,
            threshold: 0.6,
            max_gold_error: 0.3,
            min_gold_answers: 3,
        }
    }

    /// What one reservation of an ordinary task holds of the budget: the price plus the fee
    /// the escrow will charge when it releases it (rounded up).
    pub fn cost(&self) -> u128 {
        self.price + (self.price * u128::from(self.fee_bps)).div_ceil(10_000)
    }
}

/// A worker: the wallet that is paid (its raw address is also the worker's id in the ledger).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Worker {
    /// The wallet (basechain, raw form).
    pub wallet: RawAddress,
}

impl Worker {
    /// The worker of a wallet (a ton_proof session's address).
    pub fn new(wallet: RawAddress) -> Worker {
        Worker { wallet }
    }

    /// The id the engine and the ledger know the worker by.
    pub fn id(&self) -> &str {
        self.wallet.as_str()
    }
}

/// A task reserved for a worker. Gold and ordinary tasks look the same.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reservation {
    /// The task id (opaque).
    pub task_id: i64,
    /// The project.
    pub project: u64,
    /// `classification`.
    pub task_type: String,
    /// What to label (the uploaded payload).
    pub payload: serde_json::Value,
    /// The labels to choose from.
    pub labels: Vec<String>,
    /// When the reservation ends (unix ms).
    pub expires_ms: i64,
}

/// What a submission did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    /// The engine's submission id.
    pub submission_id: i64,
    /// `true`: the same answer was already stored (nothing changed).
    pub replayed: bool,
}

/// One event of a task's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEvent {
    /// Unix ms.
    pub at_ms: i64,
    /// `reserved`, `answered`, `skipped`, `released`, `expired`, `decided`, `needs_more`,
    /// `unresolved`.
    pub event: String,
    /// The worker (raw wallet), for worker events.
    pub worker: Option<String>,
    /// The label (answers and decisions).
    pub label: Option<String>,
}

/// What one consensus pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// The engine's step.
    pub decided: usize,
    /// Tasks the engine sent back for more answers.
    pub needs_more: usize,
    /// Earnings the ledger created.
    pub approvals_created: usize,
    /// Tasks closed (decided or unresolved) in labeling.
    pub closed: u64,
    /// Tasks that may now take more answers.
    pub reopened: u64,
    /// Expired reservations swept.
    pub expired: u64,
    /// Answer slots newly funded.
    pub funded: u64,
    /// The budget the ledger allows now (`None`: not refreshed: approvals were held).
    pub budget_left: Option<u128>,
}

/// A project's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Ordinary tasks.
    pub tasks: u64,
    /// Gold tasks.
    pub gold_tasks: u64,
    /// Decided by the engine.
    pub decided: u64,
    /// Back in the queue for more answers.
    pub needs_more: u64,
    /// Given up (max overlap without confidence).
    pub unresolved: u64,
    /// Not yet decided (waiting for answers).
    pub open: u64,
    /// Answers received (ordinary tasks).
    pub answers: u64,
    /// Live reservations now.
    pub live_reservations: u64,
}

/// One worker's quality in a project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerQuality {
    /// The worker (raw wallet).
    pub worker: String,
    /// Answers.
    pub answers: i64,
    /// Gold answers.
    pub gold_answers: i64,
    /// Of which wrong.
    pub gold_errors: i64,
    /// Cut off by gold.
    pub cut_off: bool,
    /// The engine's estimated accuracy.
    pub accuracy: Option<f64>,
    /// Agreement with decided labels (answers on decided tasks that match the label).
    pub agreement: Option<f64>,
}

/// A decided label, as exported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecidedLabel {
    /// The client's task name.
    pub name: String,
    /// The label.
    pub label: String,
    /// The engine's posterior probability of it.
    pub confidence: f64,
    /// Answers used.
    pub answers: usize,
}

/// A worker's balance in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// The currency code.
    pub currency: String,
    /// Decimals of its base unit.
    pub decimals: u8,
    /// Approved, not yet in a batch or paid (base units).
    pub approved: u128,
    /// In a live batch (base units).
    pub in_flight: u128,
    /// The smallest payout of this currency (0: none).
    pub minimum_payout: u128,
    /// The worker's automatic threshold, if set.
    pub threshold: Option<u128>,
    /// An open withdrawal request's amount, if any.
    pub requested: Option<u128>,
}
