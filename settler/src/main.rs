//! `settler`: the LabelMint settler service (see the library docs).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use labelmint_settler::args::SettlerArgs;
use labelmint_settler::config::read_secret_file;

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
    /// The settler's own flags (shared with `labelmint settle`).
    #[command(flatten)]
    settler: SettlerArgs,
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
    let mut config = cli.settler.config(database_url)?;
    config.metrics_addr = Some(cli.metrics);
    labelmint_settler::run(config).await?;
    Ok(())
}
