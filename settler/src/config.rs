//! The settler's typed configuration (built by `main.rs` from clap flags and env, by tests
//! directly).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use labelmint_indexer::lite::LiteServer;
use labelmint_payout_signer::config::Token;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// nanoTON per TON.
pub const TON: u128 = 1_000_000_000;

/// TON attached to a `jetton_recover` by default: contracts/README.md's fee table (0.1 TON;
/// the self-transfer carries it, the contract's jetton wallet returns the excess, ~0.026 TON
/// is spent).
pub const RECOVER_ATTACH_DEFAULT: u128 = TON / 10;
/// The least `recover_attach` taken: above both contracts' `recoverCost` at today's prices
/// (vault: gas + 0.05 TON for the self-transfer + the answer's gas, ~0.06 TON; escrow: ~0.065
/// TON), with room for a rise. Below it the contract refuses with ERR_NOT_ENOUGH_TON.
pub const RECOVER_ATTACH_MIN: u128 = 8 * TON / 100;
/// The most `recover_attach` taken (a typo guard: the excess comes back, but only later).
pub const RECOVER_ATTACH_MAX: u128 = TON;

/// Everything the settler needs.
#[derive(Clone)]
pub struct Config {
    /// Postgres (the ledger's and the indexer's database). A secret: never logged.
    pub database_url: String,
    /// Connections of the leader's pool.
    pub db_max_connections: u32,
    /// The liteservers (from a global config file).
    pub liteservers: Vec<LiteServer>,
    /// The payout signer (`http://127.0.0.1:PORT` or `unix:/path`).
    pub signer_url: String,
    /// The signer's bearer token.
    pub signer_token: Token,
    /// The relayer wallet's ed25519 seed (v4r2 hot wallet that pays the gas of releases).
    pub relayer_seed: Zeroizing<[u8; 32]>,
    /// Items per batch (1..=250).
    pub batch_size: usize,
    /// Live batches per vault at most.
    pub max_live_batches: usize,
    /// Time between settlement passes.
    pub interval: Duration,
    /// A release's validity (seconds after chain time). Keep it well above the time a release
    /// needs to land: the signer never signs another content for the same escrow seqno.
    pub release_ttl: u32,
    /// How long a batch is valid (`created_at + batch_ttl - 1` is its valid_until), at most the
    /// vault's replay timeout (the ledger's registered one wins when shorter).
    pub batch_ttl: u32,
    /// Seconds beyond valid_until the indexed chain time must reach before a batch expires
    /// (at least the ledger's `FINALITY_MARGIN_SECS`).
    pub finality_margin: u32,
    /// A send not seen executed is sent again after this long (same bytes).
    pub resend_after: Duration,
    /// TON attached to each release carried by the relayer (nanoTON): at least what a jetton
    /// release needs (the escrow's `releaseCost`: ~0.16 TON); the escrow returns the excess.
    pub release_attach: u128,
    /// TON attached to each `jetton_recover` the relayer sends to a jetton vault or escrow
    /// (nanoTON; [`RECOVER_ATTACH_MIN`]..=[`RECOVER_ATTACH_MAX`]); the excess returns.
    pub recover_attach: u128,
    /// Jetton vaults: TON attached to each transfer (nanoTON).
    pub jetton_attach: u128,
    /// Jetton vaults: TON forwarded to each worker (nanoTON).
    pub jetton_forward_ton: u128,
    /// Standbys try the leader lock this often (a takeover within this plus one pass).
    pub leader_poll: Duration,
    /// Prometheus `/metrics` (None: not served).
    pub metrics_addr: Option<SocketAddr>,
    /// Names this process in `settler_leader.holder`.
    pub holder: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &"<secret>")
            .field("liteservers", &self.liteservers)
            .field("signer_url", &self.signer_url)
            .field("batch_size", &self.batch_size)
            .field("interval", &self.interval)
            .field("release_ttl", &self.release_ttl)
            .field("batch_ttl", &self.batch_ttl)
            .field("finality_margin", &self.finality_margin)
            .field("recover_attach", &self.recover_attach)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Defaults for everything but the connections and secrets.
    pub fn new(
        database_url: String,
        liteservers: Vec<LiteServer>,
        signer_url: String,
        signer_token: Token,
        relayer_seed: [u8; 32],
    ) -> Self {
        Self {
            database_url,
            db_max_connections: 4,
            liteservers,
            signer_url,
            signer_token,
            relayer_seed: Zeroizing::new(relayer_seed),
            batch_size: 250,
            max_live_batches: 4,
            interval: Duration::from_secs(1),
            release_ttl: 3000,
            batch_ttl: 600,
            finality_margin: labelmint_ledger::FINALITY_MARGIN_SECS,
            resend_after: Duration::from_secs(5),
            release_attach: TON / 5,
            recover_attach: RECOVER_ATTACH_DEFAULT,
            jetton_attach: TON / 20,
            jetton_forward_ton: TON / 100,
            leader_poll: Duration::from_millis(500),
            metrics_addr: None,
            holder: format!("settler pid {}", std::process::id()),
        }
    }

    /// Refuses values the contracts or the ledger would refuse later.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 || self.batch_size > labelmint_ledger::MAX_BATCH_ITEMS {
            return Err(Error::Config(format!(
                "batch size {} not in 1..=250",
                self.batch_size
            )));
        }
        if self.finality_margin < labelmint_ledger::FINALITY_MARGIN_SECS {
            return Err(Error::Config(format!(
                "finality margin {} below the ledger's {}",
                self.finality_margin,
                labelmint_ledger::FINALITY_MARGIN_SECS
            )));
        }
        if self.max_live_batches == 0 || self.batch_ttl < 30 || self.release_ttl < 30 {
            return Err(Error::Config(
                "max live batches must be >= 1 and TTLs >= 30 s".into(),
            ));
        }
        if !(RECOVER_ATTACH_MIN..=RECOVER_ATTACH_MAX).contains(&self.recover_attach) {
            return Err(Error::Config(format!(
                "recover attach {} nanoTON not in {RECOVER_ATTACH_MIN}..={RECOVER_ATTACH_MAX} \
                 (a jetton_recover needs ~0.065 TON; the default is {RECOVER_ATTACH_DEFAULT})",
                self.recover_attach
            )));
        }
        Ok(())
    }
}

/// Reads a secret file (trimmed); names the file, never the content.
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<String>> {
    std::fs::read_to_string(path)
        .map(|s| Zeroizing::new(s.trim().to_string()))
        .map_err(|e| Error::Config(format!("reading {}: {e}", path.display())))
}

/// The relayer seed from a file holding 64 hex digits.
pub fn relayer_seed_from_hex(hex_seed: &str) -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(hex_seed.trim(), &mut seed).map_err(|_| {
        Error::Config("the relayer key must be 64 hex digits (an ed25519 seed)".into())
    })?;
    Ok(seed)
}
