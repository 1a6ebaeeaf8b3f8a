//! The crate's one error type.

/// What can go wrong in the consensus engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A CSV file lacks a required column.
    #[error("{file}: missing column `{column}` (found: {found})")]
    MissingColumn {
        /// The file (or stream) name.
        file: String,
        /// The column that is required.
        column: &'static str,
        /// The header that was found, comma-separated.
        found: String,
    },
    /// A CSV file has a header but no rows (or no header at all).
    #[error("{file}: no rows")]
    Empty {
        /// The file (or stream) name.
        file: String,
    },
    /// A malformed CSV record.
    #[error("{file}: line {line}: {message}")]
    Csv {
        /// The file (or stream) name.
        file: String,
        /// 1-based line number, 0 when unknown.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A method name that is not one of `mv`, `wv`, `ds`.
    #[error("unknown method `{0}` (expected mv, wv or ds)")]
    UnknownMethod(String),
    /// A label outside the project's declared label set.
    #[error("label `{label}` is not in the project's label set")]
    UnknownLabel {
        /// The offending label.
        label: String,
    },
    /// The same task has two different gold answers.
    #[error("task `{task}` has two different gold answers")]
    ConflictingGold {
        /// The task.
        task: String,
    },
    /// Settings that cannot work (thresholds outside 0..=1, min overlap above max, ...).
    #[error("invalid settings: {0}")]
    InvalidConfig(String),
    /// A project, task or submission that does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A failure injected by a test (crash simulation).
    #[error("injected failure at {0}")]
    Injected(&'static str),
    /// Input/output.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// Postgres.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The earnings ledger refused or failed.
    #[error("ledger: {0}")]
    Ledger(#[from] labelmint_ledger::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
