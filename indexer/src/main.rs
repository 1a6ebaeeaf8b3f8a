//! `labelmint-indexer`: flags and environment into [`labelmint_indexer::Config`], then run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use labelmint_indexer::lite::{LiteOptions, parse_global_config, parse_init_block};
use labelmint_indexer::verify::Verification;

/// Tails TON through liteservers into Postgres, exactly once.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Postgres URL (scripts/pg.sh prints one).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// A TON global config JSON with the liteservers (the devnet's, testnet's or mainnet's).
    #[arg(long, env = "LABELMINT_GLOBAL_CONFIG")]
    global_config: PathBuf,
    /// Where /metrics and /health listen.
    #[arg(
        long,
        env = "LABELMINT_INDEXER_METRICS",
        default_value = "127.0.0.1:9184"
    )]
    metrics_addr: SocketAddr,
    /// First masterchain seqno when the database has no checkpoint (default: the head).
    #[arg(long)]
    start_seqno: Option<u32>,
    /// Index every account, not only the watched ones (scale tests).
    #[arg(long)]
    index_all_accounts: bool,
    /// Masterchain blocks gathered in parallel while catching up (each over its own
    /// liteserver connection).
    #[arg(long, default_value_t = 4)]
    parallel: usize,
    /// Per-request liteserver timeout, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    request_timeout_ms: u64,
    /// Liteserver connect (and handshake) timeout, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    connect_timeout_ms: u64,
    /// Postgres pool size.
    #[arg(long, default_value_t = 8)]
    db_max_connections: u32,
    /// Head polling interval at the tip, in milliseconds.
    #[arg(long, default_value_t = 200)]
    poll_interval_ms: u64,
    /// /health turns 503 after this many seconds without progress.
    #[arg(long, default_value_t = 60)]
    stall_after_s: u64,
    /// Believe the liteservers: check no validator signature and no proof. Dangerous: a lying
    /// liteserver can then write invented deposits into Postgres. By default the chain is
    /// verified from the global config's `validator.init_block`.
    #[arg(long, env = "LABELMINT_TRUST_LITESERVER")]
    trust_liteserver: bool,
}

impl Args {
    fn into_config(self) -> anyhow::Result<labelmint_indexer::Config> {
        let json = std::fs::read_to_string(&self.global_config)
            .with_context(|| format!("reading {}", self.global_config.display()))?;
        let verification = if self.trust_liteserver {
            Verification::TrustLiteserver
        } else {
            let init = parse_init_block(&json)?.with_context(|| {
                format!(
                    "{} has no validator.init_block to verify the chain from; add it, or pass \
                     --trust-liteserver to believe the liteservers",
                    self.global_config.display()
                )
            })?;
            Verification::From(init)
        };
        Ok(labelmint_indexer::Config {
            database_url: self.database_url,
            db_max_connections: self.db_max_connections,
            liteservers: parse_global_config(&json)?,
            lite: LiteOptions {
                request_timeout: Duration::from_millis(self.request_timeout_ms),
                connect_timeout: Duration::from_millis(self.connect_timeout_ms),
                ..LiteOptions::default()
            },
            metrics_addr: self.metrics_addr,
            start_seqno: self.start_seqno,
            index_all_accounts: self.index_all_accounts,
            parallel: self.parallel,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            stall_after: Duration::from_secs(self.stall_after_s),
            verification,
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // ton_liteapi's debug logs format liteserver strings with unwrap(): keep them off.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        .add_directive("ton_liteapi=info".parse()?);
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let config = Args::parse().into_config()?;
    let handle = labelmint_indexer::spawn(config).await?;
    tokio::select! {
        r = handle.join() => r?,
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
    }
    Ok(())
}
