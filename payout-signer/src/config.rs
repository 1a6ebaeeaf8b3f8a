//! The signer's configuration: where it listens, its token, and the policy's limits.
//! Built by the CLI from flags and env vars (see `cli.rs`), or by tests with [`Config::test`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// nanoTON per TON.
pub const TON: u128 = 1_000_000_000;
/// Base units per test USD (6 decimals).
pub const USD: u128 = 1_000_000;

/// Default maximum TTL of a signed request (valid_until - now), seconds.
pub const DEFAULT_MAX_TTL: u32 = 3600;
/// The network global id (config param 19) the signer binds every release and close request
/// to, by default the LabelMint devnet's (2026, `DEVNET_GLOBAL_ID` in the devnet crate); TON
/// mainnet is -239, testnet -3 (`labelmint_abi::network`). The escrow refuses a request for
/// another network (`ERR_WRONG_NETWORK`).
pub const DEFAULT_GLOBAL_ID: i32 = 2026;
/// Default per-batch item cap (the vault's own maximum).
pub const DEFAULT_MAX_BATCH_ITEMS: usize = 250;

/// Where the HTTP server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A TCP address (the CLI refuses anything but loopback).
    Tcp(std::net::SocketAddr),
    /// A unix socket path.
    Unix(PathBuf),
}

impl std::str::FromStr for Listen {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if let Some(path) = s.strip_prefix("unix:") {
            return Ok(Listen::Unix(PathBuf::from(path)));
        }
        s.parse().map(Listen::Tcp).map_err(|e| {
            Error::Config(format!(
                "listen address {s:?}: {e} (use 127.0.0.1:PORT or unix:/path)"
            ))
        })
    }
}

/// The bearer token clients must present. Its Debug form is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// At least 16 characters, no whitespace.
    pub fn new(token: impl Into<String>) -> Result<Self> {
        let token = token.into().trim().to_string();
        if token.len() < 16 || token.chars().any(char::is_whitespace) {
            return Err(Error::Config(
                "the auth token must be at least 16 characters without whitespace".into(),
            ));
        }
        Ok(Self(token))
    }

    /// The token's bytes (for the constant-time compare and the client).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// One currency's caps (base units: nanoTON, USD micro-units, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrencyCaps {
    /// At most this much in one batch.
    pub batch: u128,
    /// At most this much signed within any rolling hour.
    pub hour: u128,
    /// At most this much signed within any rolling 24 hours (keep it below the vault's
    /// on-chain window limit: `serve` refuses to start otherwise).
    pub day: u128,
    /// At most this much to one worker within any rolling 24 hours.
    pub worker_day: u128,
}

/// The policy's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// valid_until (vault: created_at + its timeout) at most this many seconds ahead.
    pub max_ttl: u32,
    /// Items per batch.
    pub max_batch_items: usize,
    /// Caps per currency; a currency without caps is refused.
    pub caps: BTreeMap<String, CurrencyCaps>,
}

impl Default for Limits {
    /// TON: batch 5,000, hour 20,000, day 100,000, worker/day 1,000 TON.
    /// USD: batch 5,000, hour 20,000, day 100,000, worker/day 1,000 USD.
    fn default() -> Self {
        let mut caps = BTreeMap::new();
        caps.insert(
            "TON".to_string(),
            CurrencyCaps {
                batch: 5_000 * TON,
                hour: 20_000 * TON,
                day: 100_000 * TON,
                worker_day: 1_000 * TON,
            },
        );
        caps.insert(
            "USD".to_string(),
            CurrencyCaps {
                batch: 5_000 * USD,
                hour: 20_000 * USD,
                day: 100_000 * USD,
                worker_day: 1_000 * USD,
            },
        );
        Self {
            max_ttl: DEFAULT_MAX_TTL,
            max_batch_items: DEFAULT_MAX_BATCH_ITEMS,
            caps,
        }
    }
}

impl Limits {
    /// Applies a cap override `CURRENCY:KIND=AMOUNT` (KIND: batch, hour, day, worker_day;
    /// AMOUNT in base units). An unknown currency starts from the TON defaults' shape with
    /// every cap at 0 (refuse everything) until all four are set.
    pub fn apply_cap(&mut self, spec: &str) -> Result<()> {
        let bad = || {
            Error::Config(format!(
                "cap {spec:?}: expected CURRENCY:KIND=AMOUNT, KIND one of batch, hour, day, worker_day"
            ))
        };
        let (currency, rest) = spec.split_once(':').ok_or_else(bad)?;
        let (kind, amount) = rest.split_once('=').ok_or_else(bad)?;
        let currency = currency.trim();
        if currency.is_empty() || !currency.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        let amount: u128 = amount.trim().parse().map_err(|_| bad())?;
        let caps = self
            .caps
            .entry(currency.to_string())
            .or_insert(CurrencyCaps {
                batch: 0,
                hour: 0,
                day: 0,
                worker_day: 0,
            });
        match kind.trim() {
            "batch" => caps.batch = amount,
            "hour" => caps.hour = amount,
            "day" => caps.day = amount,
            "worker_day" => caps.worker_day = amount,
            _ => return Err(bad()),
        }
        Ok(())
    }
}

/// Everything the service needs (the key backend is passed beside it).
#[derive(Debug, Clone)]
pub struct Config {
    /// Postgres URL (the signer's tables; the ledger is read from the same database).
    pub database_url: String,
    /// Where to listen.
    pub listen: Listen,
    /// The bearer token.
    pub token: Token,
    /// The policy's limits.
    pub limits: Limits,
    /// The network's global id put into every release and close request
    /// ([`DEFAULT_GLOBAL_ID`] unless configured).
    pub global_id: i32,
    /// Pool size.
    pub max_connections: u32,
    /// TEST ONLY: sleep this long after the journal commit and before replying (the crash
    /// test kills the process in this window). From `LABELMINT_SIGNER_TEST_PAUSE_AFTER_JOURNAL_MS`.
    pub test_pause_after_journal: Option<Duration>,
}

impl Config {
    /// Port 0 on 127.0.0.1, a fixed test token, default limits.
    pub fn test(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_string(),
            listen: Listen::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
            token: Token("THROWAWAY-test-token-0123456789".into()),
            limits: Limits::default(),
            global_id: DEFAULT_GLOBAL_ID,
            max_connections: 8,
            test_pause_after_journal: None,
        }
    }
}
