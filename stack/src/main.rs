//! `labelmint-up` (what `make up` runs): the devnet and the indexer in-process, the payout
//! signer and the settler as their own processes, a demo project whose approved earnings the
//! settler releases and pays by itself; then everything keeps running, a few earnings are
//! approved now and then and the settler pays them, until Ctrl-C.

use std::net::{SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use labelmint_devnet::config::{DEFAULT_FAUCET_PHRASE, DEFAULT_SERVER_PHRASE};
use labelmint_stack::database::{self, DEFAULT_DATABASE_URL, MAINTENANCE_DATABASE};
use labelmint_stack::up::{UpConfig, up};

/// The local LabelMint stack.
#[derive(Debug, Parser)]
#[command(name = "labelmint-up", version)]
struct Args {
    /// The database the stack writes, created when missing (`./scripts/pg.sh url`); env only
    /// in practice: a flag value shows in `ps`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true, hide_default_value = true)]
    database_url: String,
    /// Another database of the same cluster to create (or re-create) the stack's database
    /// from (`./scripts/pg.sh admin-url`); default: the cluster's `postgres` database.
    #[arg(long, env = "LABELMINT_ADMIN_DATABASE_URL", hide_env_values = true)]
    admin_database_url: Option<String>,
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
    /// The settler binary (default: beside this one).
    #[arg(long, env = "LABELMINT_SETTLER_BIN")]
    settler_bin: Option<PathBuf>,
    /// The settler's folder: its relayer wallet seed (a THROWAWAY devnet key, created on first
    /// run) and its log.
    #[arg(long, env = "LABELMINT_SETTLER_DIR", default_value = ".data/settler")]
    settler_dir: PathBuf,
    /// Where the settler's /metrics listen.
    #[arg(
        long,
        env = "LABELMINT_SETTLER_METRICS",
        default_value = "127.0.0.1:9187"
    )]
    settler_metrics: SocketAddr,
    /// Where the status API listens (Swagger UI at /docs).
    #[arg(long, env = "LABELMINT_API_LISTEN", default_value = "127.0.0.1:8080")]
    api_listen: SocketAddr,
    /// The API's folder: the read key for the printed curl lines (0600).
    #[arg(long, env = "LABELMINT_API_DIR", default_value = ".data/api")]
    api_dir: PathBuf,
    /// Seconds between rounds of new earnings approved while the stack runs (0: none).
    #[arg(long, env = "LABELMINT_UP_APPROVE_EVERY", default_value_t = 30)]
    approve_every: u64,
}

/// `name` beside this executable, or `given`; it must exist.
fn binary(
    given: Option<PathBuf>,
    name: &str,
    package: &str,
    flag: &str,
) -> anyhow::Result<PathBuf> {
    let bin = match given {
        Some(b) => b,
        None => std::env::current_exe()?
            .parent()
            .map(|d| d.join(name))
            .ok_or_else(|| anyhow::anyhow!("no folder for this executable"))?,
    };
    if !bin.exists() {
        anyhow::bail!(
            "{} not found: build it first (cargo build -p {package}) or give --{flag}",
            bin.display()
        );
    }
    Ok(bin)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
        .add_directive("ton_liteapi=info".parse()?)
        // DROP DATABASE of an old chain's index is slow by nature: not worth a warning.
        .add_directive("sqlx::query=error".parse()?);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if args.block_time == 0 {
        anyhow::bail!("the stack needs blocks: give --block-time above 0");
    }
    let admin_database_url = match args.admin_database_url {
        Some(u) => u,
        None => database::with_database(&args.database_url, MAINTENANCE_DATABASE)?,
    };
    let signer_bin = binary(
        args.signer_bin,
        "payout-signer",
        "labelmint-payout-signer",
        "signer-bin",
    )?;
    let settler_bin = binary(
        args.settler_bin,
        "settler",
        "labelmint-settler",
        "settler-bin",
    )?;
    let devnet = labelmint_devnet::spawn(labelmint_devnet::Config {
        listen: args.listen,
        block_time: Some(Duration::from_millis(args.block_time)),
        state_dir: Some(args.state_dir.clone()),
        faucet_phrase: DEFAULT_FAUCET_PHRASE.to_string(),
        server_phrase: DEFAULT_SERVER_PHRASE.to_string(),
        ..labelmint_devnet::Config::default()
    })
    .await?;
    let global_config = args.state_dir.join("global-config.json");
    println!(
        "devnet       liteserver {} key {}",
        devnet.addr(),
        hex::encode(devnet.public_key())
    );
    println!("             global config {}", global_config.display());
    let config = UpConfig {
        database_url: args.database_url,
        admin_database_url,
        metrics_addr: args.metrics_addr,
        signer_bin,
        signer_dir: args.signer_dir,
        signer_listen: args.signer_listen,
        settler_bin,
        settler_dir: args.settler_dir,
        settler_metrics: args.settler_metrics,
        global_config: Some(global_config),
        settle_timeout: Duration::from_secs(120),
    };
    let mut out = std::io::stdout();
    let mut stack = up(&devnet, &config, &mut out).await?;
    let api = labelmint_stack::api::start(
        &stack.database_url,
        args.api_listen,
        (devnet.addr(), devnet.public_key()),
        &args.api_dir,
        stack.ledger.pool(),
        Some(labelmint_api::config::WriteConfig {
            signer_key: stack.signer.public_key,
            treasury: stack.plan.treasury.clone(),
            fee_bps: stack.plan.escrow_params.fee_bps,
        }),
    )
    .await?;
    let release_tx = stack
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "ev_release")
        .map(|e| e.tx_hash.clone());
    println!();
    for line in
        labelmint_stack::api::intro(&api, u64::from(stack.plan.run_id), release_tx.as_deref())
    {
        println!("{line}");
    }
    let every = Duration::from_secs(args.approve_every);
    println!(
        "\nEverything keeps running: the devnet (liteserver {}), the indexer (http://{}/metrics), \
         the signer ({}), the settler (pid {}, http://{}/metrics) and the API ({}).",
        devnet.addr(),
        stack.indexer.metrics_addr,
        stack.signer.url,
        stack.settler.pid,
        stack.settler.metrics_addr,
        api.base
    );
    if args.approve_every > 0 {
        println!(
            "Every {} s two more earnings are approved; the settler releases and pays them by itself.",
            args.approve_every
        );
    }
    println!(
        "What it wrote: cargo run -q -p labelmint-cli -- payout list (the CLI reads this database \
         by default), or psql \"$(./scripts/pg.sh url)\". Ctrl-C stops."
    );
    let mut last_round = Instant::now();
    // SIGTERM (a service manager, `kill`) stops it like Ctrl-C: the signer and settler
    // processes are stopped when the stack is dropped, never left running.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                if let Err(e) = stack.tick(&mut out).await {
                    if matches!(e, labelmint_stack::Error::Settler { .. }) {
                        return Err(e.into());
                    }
                    tracing::warn!(error = %e, "watching the settler");
                }
                if args.approve_every > 0 && last_round.elapsed() >= every {
                    last_round = Instant::now();
                    println!();
                    if let Err(e) = stack.approve_round(&mut out).await {
                        tracing::warn!(error = %e, "approving new earnings");
                    }
                }
            }
        }
    }
    stack.indexer.abort();
    Ok(())
}
