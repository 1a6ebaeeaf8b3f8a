//! `labelmint-up` (what `make up` runs): the devnet, the indexer into Postgres, the payout
//! signer (its own process), LabelMint's money flow through the liteserver with the signer
//! authorizing the ledger's approved earnings, the events the indexer decoded and the ledger's
//! reconciliation; then everything keeps running, printing newly indexed events, until Ctrl-C.

use std::net::{SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use labelmint_devnet::config::{DEFAULT_FAUCET_PHRASE, DEFAULT_SERVER_PHRASE};
use labelmint_stack::database::DEFAULT_DATABASE;
use labelmint_stack::up::{UpConfig, up};

/// The local LabelMint stack.
#[derive(Debug, Parser)]
#[command(name = "labelmint-up", version)]
struct Args {
    /// A Postgres URL whose role may create databases (`./scripts/pg.sh url`).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The database the indexer writes (created when missing).
    #[arg(long, env = "LABELMINT_UP_DATABASE", default_value = DEFAULT_DATABASE)]
    database: String,
    /// The indexer's /metrics and /health.
    #[arg(
        long,
        env = "LABELMINT_INDEXER_METRICS",
        default_value = "127.0.0.1:9184"
    )]
    metrics_addr: SocketAddr,
    /// Liteserver address of the devnet.
    #[arg(long, env = "DEVNET_LISTEN", default_value = "127.0.0.1:4924")]
    listen: SocketAddrV4,
    /// Milliseconds between blocks.
    #[arg(long, env = "DEVNET_BLOCK_TIME_MS", default_value_t = 400)]
    block_time: u64,
    /// The devnet's folder (chain, global-config.json, faucet.json).
    #[arg(long, env = "DEVNET_STATE_DIR", default_value = ".data/devnet")]
    state_dir: PathBuf,
    /// The payout-signer binary (default: beside this one).
    #[arg(long, env = "LABELMINT_SIGNER_BIN")]
    signer_bin: Option<PathBuf>,
    /// The signer's folder: its key file (created on first run), token and passphrase.
    #[arg(long, env = "LABELMINT_SIGNER_DIR", default_value = ".data/signer")]
    signer_dir: PathBuf,
    /// Where the signer listens.
    #[arg(
        long,
        env = "LABELMINT_SIGNER_LISTEN",
        default_value = "127.0.0.1:7420"
    )]
    signer_listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
        .add_directive("ton_liteapi=info".parse()?)
        // DROP DATABASE of an old chain's index is slow by nature: not worth a warning.
        .add_directive("sqlx::query=error".parse()?);
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let args = Args::parse();
    if args.block_time == 0 {
        anyhow::bail!("the stack needs blocks: give --block-time above 0");
    }
    let devnet = labelmint_devnet::spawn(labelmint_devnet::Config {
        listen: args.listen,
        block_time: Some(Duration::from_millis(args.block_time)),
        state_dir: Some(args.state_dir.clone()),
        faucet_phrase: DEFAULT_FAUCET_PHRASE.to_string(),
        server_phrase: DEFAULT_SERVER_PHRASE.to_string(),
        ..labelmint_devnet::Config::default()
    })
    .await?;
    println!(
        "devnet       liteserver {} key {}",
        devnet.addr(),
        hex::encode(devnet.public_key())
    );
    println!(
        "             global config {}",
        args.state_dir.join("global-config.json").display()
    );
    let signer_bin = match args.signer_bin {
        Some(b) => b,
        None => std::env::current_exe()?
            .parent()
            .map(|d| d.join("payout-signer"))
            .ok_or_else(|| anyhow::anyhow!("no folder for this executable"))?,
    };
    if !signer_bin.exists() {
        anyhow::bail!(
            "{} not found: build it first (cargo build -p labelmint-payout-signer) or give --signer-bin",
            signer_bin.display()
        );
    }
    let config = UpConfig {
        admin_database_url: args.database_url,
        database: args.database,
        metrics_addr: args.metrics_addr,
        signer_bin,
        signer_dir: args.signer_dir,
        signer_listen: args.signer_listen,
    };
    let mut out = std::io::stdout();
    let stack = up(&devnet, &config, &mut out).await?;
    println!(
        "\nThe devnet (liteserver {}), the indexer (http://{}/metrics) and the signer ({}) keep \
         running; new events are printed as they are indexed. Ctrl-C stops.",
        devnet.addr(),
        stack.indexer.metrics_addr,
        stack.signer.url
    );
    let mut last_lt = stack.events.iter().map(|e| e.lt).max().unwrap_or(0);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                last_lt = stack.print_new_events(last_lt, &mut out).await?;
            }
        }
    }
    stack.indexer.abort();
    Ok(())
}
