//! `devnet`: run the LabelMint local TON chain until Ctrl-C (a chain only: `make up` adds the
//! indexer, the signer and the settler).

use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use labelmint_devnet::config::{
    DEFAULT_FAUCET_PHRASE, DEFAULT_SERVER_PHRASE, DEFAULT_VALIDATOR_PHRASE,
};

/// A local TON chain (tycho-executor) served over the liteserver protocol.
#[derive(Debug, Parser)]
#[command(name = "devnet", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Liteserver address.
    #[arg(long, env = "DEVNET_LISTEN", default_value = "127.0.0.1:4924")]
    listen: SocketAddrV4,
    /// Milliseconds between blocks; 0 produces no blocks on its own.
    #[arg(long, env = "DEVNET_BLOCK_TIME_MS", default_value_t = 400)]
    block_time: u64,
    /// Folder for the chain, global-config.json, faucet.json and validators.json.
    #[arg(long, env = "DEVNET_STATE_DIR", default_value = ".data/devnet")]
    state_dir: PathBuf,
    /// Phrase the faucet key is derived from.
    #[arg(long, env = "DEVNET_FAUCET_PHRASE", default_value = DEFAULT_FAUCET_PHRASE)]
    faucet_phrase: String,
    /// Phrase the liteserver's ADNL key is derived from.
    #[arg(long, env = "DEVNET_SERVER_PHRASE", default_value = DEFAULT_SERVER_PHRASE)]
    server_phrase: String,
    /// Phrase the validator keys are derived from (public: they sign the devnet's masterchain
    /// blocks; validators.json lists the public keys).
    #[arg(long, env = "DEVNET_VALIDATOR_PHRASE", default_value = DEFAULT_VALIDATOR_PHRASE)]
    validator_phrase: String,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Send TON or test USD from the faucet of a running devnet (reads --state-dir).
    Faucet {
        /// Recipient (raw form, 0:<hex>).
        #[arg(long)]
        to: String,
        /// TON to send, in TON (for example 2.5).
        #[arg(long, conflicts_with = "usd", required_unless_present = "usd")]
        ton: Option<String>,
        /// Test USD to mint, in USD (6 decimals).
        #[arg(long)]
        usd: Option<String>,
    },
    /// Measure simple wallet transfers per second and blocks per second (use --release).
    Bench {
        /// Number of wallets, each sending one transfer.
        #[arg(long, default_value_t = 20_000)]
        wallets: usize,
    },
}

impl From<Args> for labelmint_devnet::Config {
    fn from(a: Args) -> Self {
        Self {
            listen: a.listen,
            block_time: (a.block_time > 0).then(|| Duration::from_millis(a.block_time)),
            state_dir: Some(a.state_dir),
            faucet_phrase: a.faucet_phrase,
            server_phrase: a.server_phrase,
            validator_phrase: a.validator_phrase,
            ..Self::default()
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Some(Command::Faucet { to, ton, usd }) = &args.command {
        use labelmint_devnet::client::{FaucetAmount, faucet};
        use labelmint_devnet::faucet::{TON_DECIMALS, USD_DECIMALS, parse_units};
        let to: tycho_types::models::StdAddr = to.parse()?;
        let amount = match (ton, usd) {
            (Some(t), _) => FaucetAmount::Ton(
                parse_units(t, TON_DECIMALS).ok_or_else(|| anyhow::anyhow!("bad amount {t}"))?,
            ),
            (None, Some(u)) => FaucetAmount::Usd(
                parse_units(u, USD_DECIMALS).ok_or_else(|| anyhow::anyhow!("bad amount {u}"))?,
            ),
            (None, None) => anyhow::bail!("--ton or --usd"),
        };
        let hash = faucet(&args.state_dir, &to, amount).await?;
        println!("sent {amount:?} to {to}: external message {hash}");
        return Ok(());
    }
    if let Some(Command::Bench { wallets }) = args.command {
        let r = labelmint_devnet::bench::run(wallets)?;
        println!(
            "{} transfers ({} transactions) in {} blocks",
            r.transfers, r.transactions, r.blocks
        );
        println!("sendMessage dry runs   {:?}", r.submit);
        println!("block production       {:?}", r.produce);
        println!("transfers/s (blocks)   {:.0}", r.transfers_per_sec());
        println!(
            "transfers/s (end2end)  {:.0}",
            r.transfers_per_sec_end_to_end()
        );
        println!("blocks/s under load    {:.1}", r.blocks_per_sec());
        println!(
            "dry runs reused        {} of {} externals",
            r.reused_dry_runs, r.transfers
        );
        let p = labelmint_devnet::bench::proof_costs(200)?;
        println!(
            "per masterchain block ({} validators, mean of {} blocks):",
            p.validators, p.blocks
        );
        println!("  signing              {:?}", p.sign);
        println!("  checking signatures  {:?}", p.verify_signatures);
        println!("  forward link built   {:?}", p.forward_link);
        println!("  forward link checked {:?}", p.verify_link);
        return Ok(());
    }
    let state_dir = args.state_dir.clone();
    let devnet = labelmint_devnet::spawn(args.into()).await?;
    println!("liteserver   {}", devnet.addr());
    println!("server key   {}", hex::encode(devnet.public_key()));
    println!("faucet       {}", devnet.genesis().faucet);
    println!("test USD     {}", devnet.genesis().jetton_minter);
    println!(
        "config       {}",
        state_dir.join("global-config.json").display()
    );
    println!("faucet key   {}", state_dir.join("faucet.json").display());
    println!("The devnet runs until Ctrl-C (`make up` runs it with LabelMint's services).");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
