//! The crate's one error type.

use std::time::Duration;

/// What can go wrong while indexing.
///
/// Variants carry the values a caller or a test needs to tell the cases apart. Nothing here is
/// built from a panic: malformed BOCs, hostile liteserver answers and database failures all
/// arrive as one of these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Postgres failed (connection, statement, constraint).
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A masterchain block arrived out of order: the checkpoint says `expected` comes next.
    /// Committing it would skip blocks, so it is refused.
    #[error("masterchain block {got} is out of order: the checkpoint expects {expected}")]
    OutOfOrder {
        /// `checkpoint + 1`.
        expected: u32,
        /// The block that was offered.
        got: u32,
    },
    /// A BOC, cell or TL-B structure from the chain did not parse.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded (`transaction BOC`, `out message 3`, ...).
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// A value from the chain does not fit the column it is stored in (an lt above 2^63).
    #[error("{field} = {value} is out of range for its column")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The offending value.
        value: u64,
    },
    /// The shard walk went back further than any real chain would without reaching the blocks
    /// the previous masterchain block covered: the inputs are inconsistent.
    #[error("shard walk exceeded {limit} blocks without reaching the previous frontier")]
    ShardWalkTooDeep {
        /// The limit.
        limit: usize,
    },
    /// Masterchain block `seqno` does not exist yet (or the source has not applied it).
    #[error("masterchain block {seqno} is not available yet")]
    NotYetAvailable {
        /// The seqno asked for.
        seqno: u32,
    },
    /// The global config file could not be read or holds no usable liteserver.
    #[error("global config: {0}")]
    GlobalConfig(String),
    /// One liteserver request took longer than the configured timeout.
    #[error("liteserver {server} did not answer within {timeout:?}")]
    Timeout {
        /// `ip:port` of the server.
        server: String,
        /// The per-request timeout.
        timeout: Duration,
    },
    /// Connecting to or talking with a liteserver failed at the transport level.
    #[error("liteserver {server}: {reason}")]
    Transport {
        /// `ip:port` of the server.
        server: String,
        /// What failed.
        reason: String,
    },
    /// The liteserver answered with `liteServer.error` (for example "block not applied yet").
    /// Not a transport failure: the connection is kept.
    #[error("liteserver {server} answered error {code}: {message}")]
    Server {
        /// `ip:port` of the server.
        server: String,
        /// The liteserver error code.
        code: i32,
        /// The liteserver error message.
        message: String,
    },
    /// A liteserver's answer did not verify (a proof, a signature, a hash): the server is
    /// treated as failed and nothing of the answer is kept.
    #[error("liteserver {server} answered something that does not verify: {reason}")]
    Unverified {
        /// `ip:port` of the server.
        server: String,
        /// What did not verify.
        reason: String,
    },
    /// Every configured liteserver failed `attempts` times in a row.
    #[error("all liteservers failed after {attempts} attempts; last error: {last}")]
    AllServersFailed {
        /// Attempts made.
        attempts: u32,
        /// The last error seen.
        last: Box<Error>,
    },
    /// An I/O error outside the database and the liteserver client (binding the metrics port).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub(crate) fn malformed(what: &'static str, reason: impl std::fmt::Display) -> Self {
        Error::Malformed {
            what,
            reason: reason.to_string(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
