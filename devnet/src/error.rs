//! The crate's error type.

use std::path::PathBuf;

/// Everything the devnet can fail at. Variants carry structured fields; the liteserver maps
/// them to `liteServer.error` in one place ([`crate::liteapi::handler`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bytes that are not a valid bag of cells.
    #[error("malformed BOC: {reason}")]
    BadBoc {
        /// What the decoder said.
        reason: String,
    },
    /// A cell that does not hold the expected TL-B structure.
    #[error("cell layout error: {0}")]
    Cell(#[from] tycho_types::error::Error),
    /// A message the devnet does not accept (wrong kind, bad address, too big).
    #[error("bad message: {reason}")]
    BadMessage {
        /// Why it was refused.
        reason: String,
    },
    /// An external message that the destination contract did not accept; it is not included
    /// in any block.
    #[error("external message rejected by {address}: {reason}")]
    ExternalRejected {
        /// The destination account (raw form).
        address: String,
        /// Exit code or skip reason.
        reason: String,
    },
    /// The TON blockchain config could not be loaded or parsed.
    #[error("TON config: {reason}")]
    Config {
        /// What went wrong.
        reason: String,
    },
    /// The executor failed in a way that is not the contract's fault.
    #[error("executor: {reason}")]
    Executor {
        /// The executor's message.
        reason: String,
    },
    /// A block the request names does not exist (yet).
    #[error("block not found: {block}")]
    BlockNotFound {
        /// The block as the request named it.
        block: String,
    },
    /// A transaction the request names does not exist.
    #[error("transaction not found: {account} lt {lt}")]
    TransactionNotFound {
        /// The account (raw form).
        account: String,
        /// The logical time asked for.
        lt: u64,
    },
    /// A get-method call that could not run (no code, bad stack).
    #[error("get-method: {reason}")]
    GetMethod {
        /// Why.
        reason: String,
    },
    /// A liteserver method the devnet does not serve.
    #[error("liteserver method {method} is not supported by the devnet")]
    Unsupported {
        /// The TL name of the method.
        method: &'static str,
    },
    /// File-system I/O on the state folder.
    #[error("I/O on {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A liteserver this process talks to as a client answered an error or failed.
    #[error("liteserver: {reason}")]
    Liteserver {
        /// The error as the client library reported it.
        reason: String,
    },
    /// Other ABI-level failure (building a contract's StateInit or messages).
    #[error("ABI: {0}")]
    Abi(#[from] labelmint_abi::Error),
}

impl Error {
    pub(crate) fn bad_boc(e: impl std::fmt::Display) -> Self {
        Error::BadBoc {
            reason: e.to_string(),
        }
    }

    pub(crate) fn executor(e: impl std::fmt::Display) -> Self {
        Error::Executor {
            reason: e.to_string(),
        }
    }
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
