//! `settler`: the LabelMint settler service (see the library docs).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use labelmint_payout_signer::config::Token;
use labelmint_settler::config::{read_secret_file, relayer_seed_from_hex};

/// Turns approved earnings into confirmed payouts, exactly once (one leader, any standbys).
///
/// Example (what `make up` runs locally, stack/src/settler.rs):
///   DATABASE_URL=$(./scripts/pg.sh url) settler --global-config .data/devnet/global-config.json \
///     --signer-url http://127.0.0.1:7420 --signer-token-file .data/signer/token \
///     --relayer-key-file .data/settler/throwaway-devnet-relayer.key --metrics 127.0.0.1:9187
#[derive(Debug, Parser)]
#[command(name = "settler", version)]
struct Cli {
    /// Postgres URL (env only: a flag value would show in `ps`).
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        hide_env_values = true,
        hide = true
    )]
    database_url: Option<String>,
    /// A file holding the Postgres URL (instead of DATABASE_URL).
    #[arg(long, env = "LABELMINT_DATABASE_URL_FILE")]
    database_url_file: Option<PathBuf>,
    /// The liteservers' global config (the devnet writes .data/devnet/global-config.json).
    #[arg(
        long,
        env = "LABELMINT_GLOBAL_CONFIG",
        default_value = ".data/devnet/global-config.json"
    )]
    global_config: PathBuf,
    /// The payout signer (`http://host:port` or `unix:/path`).
    #[arg(
        long,
        env = "LABELMINT_SIGNER_URL",
        default_value = "http://127.0.0.1:8787"
    )]
    signer_url: String,
    /// The signer's bearer token file.
    #[arg(
        long,
        env = "LABELMINT_SIGNER_TOKEN_FILE",
        default_value = ".data/signer/token"
    )]
    signer_token_file: PathBuf,
    /// The relayer wallet's seed file (64 hex digits); or env LABELMINT_RELAYER_KEY.
    #[arg(
        long,
        env = "LABELMINT_RELAYER_KEY_FILE",
        default_value = ".data/settler/relayer.key"
    )]
    relayer_key_file: PathBuf,
    /// Items per batch (1..=250).
    #[arg(long, env = "LABELMINT_SETTLER_BATCH_SIZE", default_value_t = 250)]
    batch_size: usize,
    /// Live batches per vault at most.
    #[arg(long, env = "LABELMINT_SETTLER_MAX_LIVE_BATCHES", default_value_t = 4)]
    max_live_batches: usize,
    /// Milliseconds between passes.
    #[arg(long, env = "LABELMINT_SETTLER_INTERVAL_MS", default_value_t = 1000)]
    interval_ms: u64,
    /// A release's TTL, seconds.
    #[arg(long, env = "LABELMINT_SETTLER_RELEASE_TTL", default_value_t = 3000)]
    release_ttl: u32,
    /// A batch's TTL when the vault's timeout is not registered, seconds.
    #[arg(long, env = "LABELMINT_SETTLER_BATCH_TTL", default_value_t = 600)]
    batch_ttl: u32,
    /// Seconds past valid_until (indexed chain time) before a batch expires.
    #[arg(long, env = "LABELMINT_SETTLER_FINALITY_MARGIN", default_value_t = labelmint_ledger::FINALITY_MARGIN_SECS)]
    finality_margin: u32,
    /// Prometheus /metrics address.
    #[arg(
        long,
        env = "LABELMINT_SETTLER_METRICS",
        default_value = "127.0.0.1:9187"
    )]
    metrics: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,ton_liteapi=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let database_url = match (&cli.database_url_file, &cli.database_url) {
        (Some(f), _) => read_secret_file(f)?.to_string(),
        (None, Some(u)) => u.clone(),
        (None, None) => anyhow::bail!("set DATABASE_URL or LABELMINT_DATABASE_URL_FILE"),
    };
    let json = std::fs::read_to_string(&cli.global_config)
        .with_context(|| format!("reading {}", cli.global_config.display()))?;
    let liteservers = labelmint_indexer::lite::parse_global_config(&json)?;
    let token = read_secret_file(&cli.signer_token_file)?;
    let token = Token::new(token.to_string()).map_err(|e| anyhow::anyhow!("signer token: {e}"))?;
    let seed = match std::env::var("LABELMINT_RELAYER_KEY") {
        Ok(hex_seed) => relayer_seed_from_hex(&hex_seed)?,
        Err(_) => relayer_seed_from_hex(&read_secret_file(&cli.relayer_key_file)?)?,
    };
    let mut config =
        labelmint_settler::Config::new(database_url, liteservers, cli.signer_url, token, seed);
    config.batch_size = cli.batch_size;
    config.max_live_batches = cli.max_live_batches;
    config.interval = Duration::from_millis(cli.interval_ms);
    config.release_ttl = cli.release_ttl;
    config.batch_ttl = cli.batch_ttl;
    config.finality_margin = cli.finality_margin;
    config.metrics_addr = Some(cli.metrics);
    labelmint_settler::run(config).await?;
    Ok(())
}
