//! The crate's error type. Refusals (a rule said no) and bad requests are ordinary outcomes
//! with a code the client can act on; everything else is internal.

use crate::rules::Rule;

/// Everything that can go wrong in the signer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed (bad JSON, unknown field, bad address, amount 0, ...).
    #[error("{code}: {message}")]
    BadRequest {
        /// Machine-readable code (`bad_json`, `bad_address`, `amount_zero`, ...).
        code: &'static str,
        /// What is wrong, for a human.
        message: String,
    },
    /// A policy or protocol rule refused the request.
    #[error("refused by {rule}: {message}")]
    Refused {
        /// The rule.
        rule: Rule,
        /// Why, for a human.
        message: String,
    },
    /// Another signer instance holds the single-signer lock.
    #[error(
        "another payout-signer holds the signing lock on this database (advisory lock {key:#x}); refusing to start"
    )]
    LockHeld {
        /// The advisory lock key.
        key: i64,
    },
    /// The audit log failed verification.
    #[error("audit log broken at seq {seq}: {reason}")]
    AuditBroken {
        /// The first bad record.
        seq: i64,
        /// What is wrong with it.
        reason: String,
    },
    /// The key backend failed.
    #[error("key backend: {0}")]
    Key(String),
    /// Building or parsing a message failed.
    #[error("abi: {0}")]
    Abi(#[from] labelmint_abi::Error),
    /// Postgres.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migrations.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// I/O (listener, files).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The ledger could not be read.
    #[error("ledger: {0}")]
    Ledger(String),
    /// An internal failure reported to a request whose group failed.
    #[error("internal: {0}")]
    Internal(String),
    /// Configuration.
    #[error("config: {0}")]
    Config(String),
    /// The HTTP client failed or got an unexpected answer.
    #[error("client: {0}")]
    Client(String),
}

impl Error {
    /// A copy of a refusal or bad request (the rule / code and message) for a second reader;
    /// any other error becomes [`Error::Internal`] with its text.
    pub fn copy_outcome(&self) -> Error {
        match self {
            Error::Refused { rule, message } => Error::refused(*rule, message.clone()),
            Error::BadRequest { code, message } => Error::bad(code, message.clone()),
            other => Error::Internal(other.to_string()),
        }
    }

    /// A bad request with `code`.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Error::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A refusal by `rule`.
    pub fn refused(rule: Rule, message: impl Into<String>) -> Self {
        Error::Refused {
            rule,
            message: message.into(),
        }
    }

    /// The rule that refused, if this is a refusal.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            Error::Refused { rule, .. } => Some(*rule),
            _ => None,
        }
    }
}

/// `Result<T, Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
