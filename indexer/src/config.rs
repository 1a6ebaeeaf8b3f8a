//! The indexer's typed configuration (the binary's flags convert into it).

use std::net::SocketAddr;
use std::time::Duration;

use crate::lite::{LiteOptions, LiteServer};
use crate::verify::Verification;

/// Everything [`crate::run`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Postgres URL.
    pub database_url: String,
    /// Pool size.
    pub db_max_connections: u32,
    /// Liteservers, in failover order (from a global config file).
    pub liteservers: Vec<LiteServer>,
    /// Timeouts and retry policy of the liteserver client.
    pub lite: LiteOptions,
    /// Where `/metrics` and `/health` listen (port 0: any free port).
    pub metrics_addr: SocketAddr,
    /// The first masterchain seqno to index when the database has no checkpoint yet (`None`:
    /// the chain head at start).
    pub start_seqno: Option<u32>,
    /// Index every account, not only the watched ones (scale tests).
    pub index_all_accounts: bool,
    /// Masterchain blocks gathered in parallel while catching up.
    pub parallel: usize,
    /// How often the chain head is polled at the tip.
    pub poll_interval: Duration,
    /// `/health` turns 503 after this long without progress.
    pub stall_after: Duration,
    /// Verify the chain from a trusted block (the default of the binary), or believe the
    /// liteservers (`--trust-liteserver`).
    pub verification: Verification,
}

impl Config {
    /// A configuration for tests: the given database and liteservers, metrics on port 0,
    /// short timeouts, and no verification (tests that verify set
    /// [`Config::verification`] to the devnet's init block).
    pub fn test(database_url: String, liteservers: Vec<LiteServer>) -> Self {
        Self {
            database_url,
            db_max_connections: 4,
            liteservers,
            lite: LiteOptions {
                request_timeout: Duration::from_secs(2),
                connect_timeout: Duration::from_secs(1),
                backoff_initial: Duration::from_millis(20),
                backoff_max: Duration::from_millis(200),
                max_attempts: 6,
            },
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            start_seqno: None,
            index_all_accounts: false,
            parallel: 4,
            poll_interval: Duration::from_millis(100),
            stall_after: Duration::from_secs(30),
            verification: Verification::TrustLiteserver,
        }
    }
}
