//! # labelmint — the LabelMint command line
//!
//! One module per subcommand; `main` only parses the arguments, sets up logs and dispatches.
//!
//! ```text
//! labelmint payout  list|show|status|retry   batches and items (ledger_batches, _items, events)
//! labelmint worker  earnings|payouts ADDRESS  one wallet's earnings and payout attempts
//! labelmint ledger  reconcile                 Ledger::reconcile, exit 1 on any mismatch
//! labelmint project create|status|close       escrow address + registrations + deposit link;
//!                                             budget, flows, on-chain balance; request_close
//! labelmint devnet  wallet new|balance|send, deposit PROJECT AMOUNT (through the liteserver)
//! labelmint settle  --once [--wait]           one settlement pass as the fenced leader, with
//!                                             progress bars; the settler service's own flags
//! labelmint consensus run|simulate|engine     decide labels
//! labelmint api-key create|list|rotate|revoke labelmint-api keys (the key printed once)
//! labelmint completions SHELL                 shell completions from this definition
//! ```
//!
//! Every database subcommand reads the services' configuration: `DATABASE_URL`, or
//! `--database-url-file` (a secret never goes in a flag), defaulting to the database `make up`
//! writes ([`common::DEFAULT_DATABASE_URL`]). Data goes to stdout (tables, or `--json`), logs
//! and errors to stderr. Exit codes: 0 ok, 1 failure, 2 usage.
//!
//! It must never hold keys or make money decisions itself: subcommands read the tables and call
//! the ledger's own functions for every change of state.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod api_key;
mod common;
mod consensus;
mod create;
mod devnet;
mod float;
mod ledger;
mod payout;
mod project;
mod settle;
mod worker;

use common::Global;

/// The LabelMint command line.
#[derive(Debug, Parser)]
#[command(
    name = "labelmint",
    version,
    about,
    after_help = "Examples:\n  labelmint payout list --state sent --currency TON\n  \
                  DATABASE_URL=$(./scripts/pg.sh url) labelmint ledger reconcile --json\n  \
                  labelmint completions bash > ~/.local/share/bash-completion/completions/labelmint"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide labels from workers' answers (majority vote, weighted vote, Dawid-Skene).
    #[command(subcommand)]
    Consensus(consensus::Command),
    /// Payout batches and their items: list, show, status, retry.
    #[command(subcommand)]
    Payout(payout::Command),
    /// One worker wallet's earnings and payouts.
    #[command(subcommand)]
    Worker(worker::Command),
    /// The double-entry ledger: reconcile it with the indexed chain.
    #[command(subcommand)]
    Ledger(ledger::Command),
    /// Projects: create (escrow, registrations, deposit link), status, close.
    #[command(subcommand)]
    Project(project::Command),
    /// Local devnet: wallets (new, balance, send) and real escrow deposits.
    #[command(subcommand)]
    Devnet(devnet::Command),
    /// labelmint-api keys for integrators: create (printed once), list, rotate, revoke.
    #[command(subcommand)]
    ApiKey(api_key::Command),
    /// One settlement pass by hand, as the settler service would run it (same flags and
    /// env): ingest, releases, per vault expire/resend/form+sign+send; --wait for the
    /// indexed chain. Refused while a settler service leads.
    #[command(after_help = "Examples:\n  labelmint settle --once\n  \
                            labelmint settle --once --wait --timeout 60 --json\n  \
                            LABELMINT_SIGNER_URL=http://127.0.0.1:7420 labelmint settle --once \\\n    \
                            --global-config .data/devnet/global-config.json --batch-size 100")]
    Settle(settle::SettleArgs),
    /// Each escrow's, vault's and the relayer's float as the settler last saw it: TON balance
    /// against the fees its next actions need, holdings against what is payable.
    #[command(after_help = "Examples:\n  labelmint float\n  labelmint float --check --json")]
    Float(float::FloatArgs),
    /// Print shell completions for SHELL to stdout.
    #[command(after_help = "Example:\n  labelmint completions zsh > ~/.zfunc/_labelmint")]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    // clap's own usage errors exit 2 (and --help / --version 0).
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Consensus(cmd) => consensus::run(&cli.global, cmd),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "labelmint",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Payout(cmd) => common::block_on(payout::run(cli.global, cmd)),
        Command::Worker(cmd) => common::block_on(worker::run(cli.global, cmd)),
        Command::Ledger(cmd) => common::block_on(ledger::run(cli.global, cmd)),
        Command::Project(cmd) => common::block_on(project::run(cli.global, cmd)),
        Command::Devnet(cmd) => common::block_on(devnet::run(cli.global, cmd)),
        Command::ApiKey(cmd) => common::block_on(api_key::run(cli.global, cmd)),
        Command::Settle(args) => common::block_on(settle::run(cli.global, args)),
        Command::Float(args) => common::block_on(float::run(cli.global, args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = common::exit_code(&e);
            eprintln!("labelmint: error: {e:#}");
            ExitCode::from(code)
        }
    }
}
