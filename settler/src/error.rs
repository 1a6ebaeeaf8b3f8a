//! The settler's one error type.

/// What can go wrong in the settler.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad configuration (a missing file, an unreadable key, a bad URL).
    #[error("config: {0}")]
    Config(String),
    /// A Postgres failure outside the ledger.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The settler's migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The ledger refused or failed.
    #[error("ledger: {0}")]
    Ledger(#[from] labelmint_ledger::Error),
    /// The liteserver failed (after the client's retries and failovers).
    #[error("liteserver: {0}")]
    Lite(#[from] labelmint_indexer::Error),
    /// A liteserver answer that does not parse, or a get-method that failed.
    #[error("chain: {what}: {reason}")]
    Chain {
        /// What was asked.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// The signer could not be reached or answered garbage.
    #[error("signer: {0}")]
    Signer(String),
    /// The signer refused a request (its policy: the rule names why).
    #[error("signer refused {what}: HTTP {status} {rule}: {message}")]
    SignerRefused {
        /// What was asked.
        what: String,
        /// HTTP status.
        status: u16,
        /// The refusal's rule (or error code).
        rule: String,
        /// The signer's words.
        message: String,
    },
    /// This settler's fencing token is stale: another settler took over. Stop writing.
    #[error("fenced: another settler took the lead (token {token} is stale)")]
    Fenced {
        /// Our (stale) token.
        token: i64,
    },
    /// The leader lock's connection died: stop acting as the leader.
    #[error("the leader lock was lost")]
    LockLost,
    /// Building a message or a wallet transfer failed.
    #[error("message: {0}")]
    Message(String),
}

/// The settler's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The SQLSTATE the fencing trigger raises.
pub const FENCED_SQLSTATE: &str = "LM001";

fn sqlx_fenced(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some(FENCED_SQLSTATE))
}

impl Error {
    /// Whether a database error (ours or the ledger's) is the fencing trigger's refusal.
    pub fn is_fenced(&self) -> bool {
        match self {
            Error::Fenced { .. } => true,
            Error::Db(e) => sqlx_fenced(e),
            Error::Ledger(labelmint_ledger::Error::Db(e)) => sqlx_fenced(e),
            _ => false,
        }
    }

    pub(crate) fn chain(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::Chain {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}
