//! The crate's one error type: domain refusals callers match on (the API maps each to its
//! problem+json kind), and the failures of Postgres, the engine and the ledger.

/// What can go wrong in the labeling service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No task with this id.
    #[error("task {task_id} not found")]
    UnknownTask {
        /// The id asked for.
        task_id: i64,
    },
    /// The project has no task set (or the ledger does not know the project).
    #[error("project {project} has no task set")]
    UnknownProject {
        /// The project.
        project: u64,
    },
    /// The worker holds no reservation of this task.
    #[error("you hold no reservation of task {task_id}: ask POST /v1/tasks/next first")]
    NoReservation {
        /// The task.
        task_id: i64,
    },
    /// Another worker holds the task's reservation.
    #[error("task {task_id} is reserved by another worker")]
    NotHolder {
        /// The task.
        task_id: i64,
    },
    /// The reservation ran out: the task went back to the pool.
    #[error(
        "the reservation of task {task_id} expired at {expired_ms} ms (unix); the task went back to the pool"
    )]
    ReservationExpired {
        /// The task.
        task_id: i64,
        /// When it expired (unix ms).
        expired_ms: i64,
    },
    /// The label is not one of the task set's labels.
    #[error("label `{label}` is not in the label set {labels:?}")]
    LabelNotInSet {
        /// The label sent.
        label: String,
        /// The set.
        labels: Vec<String>,
    },
    /// The worker already answered the task with another label (answers are final).
    #[error("you already answered task {task_id} with another label")]
    AnswerConflict {
        /// The task.
        task_id: i64,
    },
    /// The worker already skipped (or answered) the task.
    #[error("you already {what} task {task_id}")]
    AlreadyDone {
        /// The task.
        task_id: i64,
        /// `answered` or `skipped`.
        what: &'static str,
    },
    /// The engine decided the task while the reservation was held.
    #[error("task {task_id} was decided meanwhile; your reservation is released")]
    TaskClosed {
        /// The task.
        task_id: i64,
    },
    /// The gold checks cut this worker off the project.
    #[error(
        "your gold answers in project {project} fell below its threshold: no more of its tasks"
    )]
    WorkerCutOff {
        /// The project.
        project: u64,
    },
    /// The project's escrow has no budget left for another reservation.
    #[error(
        "project {project} has no budget left for another answer (left {left}, held {committed}, an answer holds {cost})"
    )]
    BudgetExhausted {
        /// The project.
        project: u64,
        /// What the ledger said the project may still approve.
        left: u128,
        /// Held by live reservations and undecided answers.
        committed: u128,
        /// What one reservation holds.
        cost: u128,
    },
    /// An upload row that does not validate (nothing was loaded).
    #[error("line {line}: {reason}")]
    BadRow {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A field of a request that does not validate.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A withdrawal below the minimum payout (or above the balance).
    #[error("withdrawal refused: {0}")]
    Withdrawal(String),
    /// Postgres.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The consensus engine.
    #[error("consensus: {0}")]
    Consensus(#[from] labelmint_consensus::Error),
    /// The ledger.
    #[error("ledger: {0}")]
    Ledger(#[from] labelmint_ledger::Error),
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
