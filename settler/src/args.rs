//! The settler's flags and environment, shared by the `settler` service and `labelmint settle`
//! (so both read the same configuration). The database URL is not here: each binary reads it
//! its own way (env `DATABASE_URL` or a file), never from a flag value.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use labelmint_payout_signer::config::Token;

use crate::config::{Config, read_secret_file, relayer_seed_from_hex};
use crate::error::{Error, Result};

/// Everything but the database and the metrics address.
#[derive(Debug, Clone, Args)]
pub struct SettlerArgs {
    /// The liteservers' global config (the devnet writes .data/devnet/global-config.json).
    #[arg(
        long,
        env = "LABELMINT_GLOBAL_CONFIG",
        default_value = ".data/devnet/global-config.json",
        value_name = "PATH"
    )]
    pub global_config: PathBuf,
    /// The payout signer (`http://host:port` or `unix:/path`).
    #[arg(
        long,
        env = "LABELMINT_SIGNER_URL",
        default_value = "http://127.0.0.1:7420"
    )]
    pub signer_url: String,
    /// The signer's bearer token file.
    #[arg(
        long,
        env = "LABELMINT_SIGNER_TOKEN_FILE",
        default_value = ".data/signer/token",
        value_name = "PATH"
    )]
    pub signer_token_file: PathBuf,
    /// The relayer wallet's seed file (64 hex digits); or env LABELMINT_RELAYER_KEY.
    #[arg(
        long,
        env = "LABELMINT_RELAYER_KEY_FILE",
        default_value = ".data/settler/throwaway-devnet-relayer.key",
        value_name = "PATH"
    )]
    pub relayer_key_file: PathBuf,
    /// Items per batch (1..=250).
    #[arg(long, env = "LABELMINT_SETTLER_BATCH_SIZE", default_value_t = 250)]
    pub batch_size: usize,
    /// Live batches per vault at most.
    #[arg(long, env = "LABELMINT_SETTLER_MAX_LIVE_BATCHES", default_value_t = 4)]
    pub max_live_batches: usize,
    /// Milliseconds between passes.
    #[arg(long, env = "LABELMINT_SETTLER_INTERVAL_MS", default_value_t = 1000)]
    pub interval_ms: u64,
    /// A release's TTL, seconds.
    #[arg(long, env = "LABELMINT_SETTLER_RELEASE_TTL", default_value_t = 3000)]
    pub release_ttl: u32,
    /// A batch's TTL when the vault's timeout is not registered, seconds.
    #[arg(long, env = "LABELMINT_SETTLER_BATCH_TTL", default_value_t = 600)]
    pub batch_ttl: u32,
    /// Seconds past valid_until (indexed chain time) before a batch expires.
    #[arg(long, env = "LABELMINT_SETTLER_FINALITY_MARGIN", default_value_t = labelmint_ledger::FINALITY_MARGIN_SECS)]
    pub finality_margin: u32,
    /// nanoTON the relayer attaches to each `jetton_recover` (0.08..=1 TON; the excess returns).
    #[arg(long, env = "LABELMINT_SETTLER_RECOVER_ATTACH", default_value_t = crate::config::RECOVER_ATTACH_DEFAULT)]
    pub recover_attach: u128,
}

impl SettlerArgs {
    /// The liteservers of `--global-config` (a failure names the file).
    pub fn liteservers(&self) -> Result<Vec<labelmint_indexer::lite::LiteServer>> {
        let path = self.global_config.display();
        let json = std::fs::read_to_string(&self.global_config)
            .map_err(|e| Error::Config(format!("reading the global config {path}: {e}")))?;
        labelmint_indexer::lite::parse_global_config(&json)
            .map_err(|e| Error::Config(format!("the global config {path}: {e}")))
    }

    /// Checks the numeric flags alone (batch size, TTLs, margin) as [`Config::validate`] does,
    /// before any file is read: a bad value is the caller's usage error.
    pub fn check(&self) -> Result<()> {
        let token = Token::new("check-only-not-a-token")
            .map_err(|e| Error::Config(format!("placeholder token: {e}")))?;
        let mut config = Config::new(String::new(), Vec::new(), String::new(), token, [0; 32]);
        self.apply(&mut config);
        config.validate()
    }

    fn apply(&self, config: &mut Config) {
        config.batch_size = self.batch_size;
        config.max_live_batches = self.max_live_batches;
        config.interval = Duration::from_millis(self.interval_ms);
        config.release_ttl = self.release_ttl;
        config.batch_ttl = self.batch_ttl;
        config.finality_margin = self.finality_margin;
        config.recover_attach = self.recover_attach;
    }

    /// The settler's [`Config`] over `database_url`: reads the global config, the signer's
    /// token and the relayer's seed (env `LABELMINT_RELAYER_KEY` first), then validates.
    pub fn config(&self, database_url: String) -> Result<Config> {
        let liteservers = self.liteservers()?;
        let token = read_secret_file(&self.signer_token_file)?;
        let token = Token::new(token.to_string()).map_err(|e| {
            Error::Config(format!(
                "the signer token in {}: {e}",
                self.signer_token_file.display()
            ))
        })?;
        let seed = match std::env::var("LABELMINT_RELAYER_KEY") {
            Ok(hex_seed) => relayer_seed_from_hex(&hex_seed)?,
            Err(_) => relayer_seed_from_hex(&read_secret_file(&self.relayer_key_file)?)?,
        };
        let mut config = Config::new(
            database_url,
            liteservers,
            self.signer_url.clone(),
            token,
            seed,
        );
        self.apply(&mut config);
        config.validate()?;
        Ok(config)
    }
}
