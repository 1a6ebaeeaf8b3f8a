//! The stack's error type.

/// What can go wrong while bringing the stack up or watching it run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The devnet failed (start, blocks, its files).
    #[error("devnet: {0}")]
    Devnet(#[from] labelmint_devnet::Error),
    /// The indexer failed.
    #[error("indexer: {0}")]
    Indexer(#[from] labelmint_indexer::Error),
    /// The ledger refused or failed.
    #[error("ledger: {0}")]
    Ledger(#[from] labelmint_ledger::Error),
    /// A contract message or StateInit could not be built.
    #[error("ABI: {0}")]
    Abi(#[from] labelmint_abi::Error),
    /// A cell that does not hold the expected TL-B structure.
    #[error("cell layout: {0}")]
    Cell(#[from] tycho_types::error::Error),
    /// A liteserver request failed or answered an error.
    #[error("liteserver: {reason}")]
    Liteserver {
        /// The error as the client library reported it.
        reason: String,
    },
    /// A liteserver answer that does not decode (a BOC, a cell).
    #[error("liteserver answer: {reason}")]
    BadAnswer {
        /// What the decoder said.
        reason: String,
    },
    /// A get-method that did not run (exit code, no account).
    #[error("get-method: {reason}")]
    GetMethod {
        /// Which method on which contract, and what happened.
        reason: String,
    },
    /// A step of `make up` did not complete.
    #[error("{step}: {reason}")]
    Step {
        /// The step.
        step: String,
        /// Why.
        reason: String,
    },
    /// The payout signer (process or service) failed or refused.
    #[error("payout-signer: {reason}")]
    Signer {
        /// What happened.
        reason: String,
    },
    /// The settler process failed to start, died, or did not settle in time.
    #[error("settler: {reason}")]
    Settler {
        /// What happened.
        reason: String,
    },
    /// The status API failed to start or its read key could not be made.
    #[error("status API: {reason}")]
    Api {
        /// What happened.
        reason: String,
    },
    /// Postgres failed.
    #[error("postgres: {0}")]
    Postgres(#[from] sqlx::Error),
    /// The database URL is unusable.
    #[error("database URL {url:?}: {reason}")]
    DatabaseUrl {
        /// The URL, without its password.
        url: String,
        /// Why.
        reason: String,
    },
    /// The indexer did not reach a block in time.
    #[error(
        "the indexer stayed at masterchain block {at:?} while waiting for {want} ({waited_s} s)"
    )]
    IndexerBehind {
        /// Its checkpoint.
        at: Option<u32>,
        /// The block waited for.
        want: u32,
        /// Seconds waited.
        waited_s: u64,
    },
}

impl Error {
    pub(crate) fn bad_answer(e: impl std::fmt::Display) -> Self {
        Error::BadAnswer {
            reason: e.to_string(),
        }
    }
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
