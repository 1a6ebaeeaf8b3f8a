//! The stack's error type.

/// What can go wrong while bringing the stack up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The devnet failed (start, scenario, liteserver).
    #[error("devnet: {0}")]
    Devnet(#[from] labelmint_devnet::Error),
    /// The indexer failed.
    #[error("indexer: {0}")]
    Indexer(#[from] labelmint_indexer::Error),
    /// The ledger refused or failed.
    #[error("ledger: {0}")]
    Ledger(#[from] labelmint_ledger::Error),
    /// The payout signer (process or service) failed or refused.
    #[error("payout-signer: {reason}")]
    Signer {
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
    /// The indexer did not reach the scenario's last block in time.
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

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
