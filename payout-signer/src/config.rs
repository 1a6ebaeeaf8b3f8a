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
/// The network global id (config param 19) the signer binds every release, close and vault
/// batch request to, by default the LabelMint devnet's (2026, `DEVNET_GLOBAL_ID` in the devnet
/// crate); TON mainnet is -239, testnet -3 (`labelmint_abi::network`). The escrow and the vault
/// refuse a request for another network (`ERR_WRONG_NETWORK`).
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

/// The TON side of jetton batches: what each transfer may carry, and how much TON the vault's
/// float may spend on batches per rolling window (nanoTON). A jetton vault's float is not under
/// its on-chain window limit (which counts jettons), so the signer bounds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatLimits {
    /// At most this much TON attached to each jetton transfer (`attach`; the vault itself
    /// allows 0.01..=0.2 TON).
    pub max_attach: u128,
    /// At most this much TON forwarded to each worker (`forward_ton`; never above `attach`).
    pub max_forward_ton: u128,
    /// What each item costs the float besides its `attach` (the vault's per-item fee reserve).
    pub item_fee: u128,
    /// What each batch costs the float (the vault's per-batch fee reserve).
    pub batch_fee: u128,
    /// At most this much float spent by jetton batches within any rolling hour.
    pub hour: u128,
    /// ... within any rolling 24 hours.
    pub day: u128,
}

impl Default for FloatLimits {
    /// attach <= 0.1 TON, forward_ton <= 0.05 TON per item; 0.0025 TON per item and 0.01 TON
    /// per batch counted as fees (the vault's reserves); 100 TON per hour, 500 TON per day.
    fn default() -> Self {
        Self {
            max_attach: TON / 10,
            max_forward_ton: TON / 20,
            item_fee: 2_500_000,
            batch_fee: 10_000_000,
            hour: 100 * TON,
            day: 500 * TON,
        }
    }
}

impl FloatLimits {
    /// What a jetton batch of `count` items with `attach` can spend from the vault's float, at
    /// most: `count * (attach + item_fee) + batch_fee` (every transfer's TON could be forwarded
    /// away; the excess a wallet returns is not counted back).
    pub fn spend(&self, count: usize, attach: u128) -> u128 {
        (count as u128)
            .saturating_mul(attach.saturating_add(self.item_fee))
            .saturating_add(self.batch_fee)
    }

    /// Applies an override `KIND=AMOUNT` (KIND: max_attach, max_forward_ton, item_fee,
    /// batch_fee, hour, day; nanoTON).
    pub fn apply(&mut self, spec: &str) -> Result<()> {
        let bad = || {
            Error::Config(format!(
                "float {spec:?}: expected KIND=AMOUNT, KIND one of max_attach, max_forward_ton, item_fee, batch_fee, hour, day (nanoTON)"
            ))
        };
        let (kind, amount) = spec.split_once('=').ok_or_else(bad)?;
        let amount: u128 = amount.trim().parse().map_err(|_| bad())?;
        match kind.trim() {
            "max_attach" => self.max_attach = amount,
            "max_forward_ton" => self.max_forward_ton = amount,
            "item_fee" => self.item_fee = amount,
            "batch_fee" => self.batch_fee = amount,
            "hour" => self.hour = amount,
            "day" => self.day = amount,
            _ => return Err(bad()),
        }
        Ok(())
    }
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
    /// The TON side of jetton batches.
    pub float: FloatLimits,
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
            float: FloatLimits::default(),
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

/// The HTTP server's limits: how long a client may take and how much it may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// A connection must deliver a request's complete header within this time, counted from
    /// when the server starts waiting for it: after the connection opens and after each
    /// response on a kept-alive connection (so it is also the idle timeout). Slow or idle
    /// clients are dropped.
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this time once the handler reads it.
    pub body_timeout: Duration,
    /// The largest body of `POST /v1/vault/batch` (bytes).
    pub max_batch_body: usize,
    /// The largest body of `POST /v1/escrow/release` and `/v1/escrow/close` (bytes).
    pub max_escrow_body: usize,
    /// Connections served at once; more wait in the listen backlog until one closes (each
    /// slow or idle one is closed after the header-read timeout).
    pub max_connections: usize,
}

impl Default for HttpLimits {
    /// Headers within 10 s (also the idle timeout), bodies within 10 s, a batch body up to
    /// 256 KiB (250 items in user-friendly or raw form fit in under 80 KiB), an escrow
    /// request up to 4 KiB, 256 connections.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_batch_body: 256 * 1024,
            max_escrow_body: 4 * 1024,
            max_connections: 256,
        }
    }
}

/// The database role `serve` runs its queries as (see the README, "Database role").
pub const DEFAULT_DB_ROLE: &str = "labelmint_signer";

/// Everything the service needs (the key backend is passed beside it).
#[derive(Clone)]
pub struct Config {
    /// Postgres URL (the signer's tables; the ledger is read from the same database). It may
    /// hold a password: never logged, never on a command line.
    pub database_url: String,
    /// Every signing connection runs as this role (`SET ROLE` at connect): it reads the ledger
    /// and writes only the signer's journal, items, volumes, audit and fencing token. `None`:
    /// the login's own rights (tests of the operator's paths only).
    pub db_role: Option<String>,
    /// Apply the signer's migrations at start, with the login's own rights (a deployment whose
    /// signer login may not run DDL sets this false and runs `payout-signer migrate` as the
    /// owner).
    pub migrate: bool,
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
    /// The HTTP server's timeouts and size caps.
    pub http: HttpLimits,
    /// TEST ONLY: sleep this long after the journal commit and before replying (the crash
    /// test kills the process in this window). From `LABELMINT_SIGNER_TEST_PAUSE_AFTER_JOURNAL_MS`.
    pub test_pause_after_journal: Option<Duration>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &"<redacted>")
            .field("db_role", &self.db_role)
            .field("migrate", &self.migrate)
            .field("listen", &self.listen)
            .field("token", &self.token)
            .field("limits", &self.limits)
            .field("max_connections", &self.max_connections)
            .field("http", &self.http)
            .field("test_pause_after_journal", &self.test_pause_after_journal)
            .finish()
    }
}

impl Config {
    /// Port 0 on 127.0.0.1, a fixed test token, default limits, the signer's database role.
    pub fn test(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_string(),
            db_role: Some(DEFAULT_DB_ROLE.to_string()),
            migrate: true,
            listen: Listen::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
            token: Token("THROWAWAY-test-token-0123456789".into()),
            limits: Limits::default(),
            global_id: DEFAULT_GLOBAL_ID,
            max_connections: 8,
            http: HttpLimits::default(),
            test_pause_after_journal: None,
        }
    }
}
