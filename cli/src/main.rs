//! # labelmint — the LabelMint command line
//!
//! One module per subcommand (`consensus`, and later the ledger, settler, signer, ... ones);
//! `main` only parses the arguments, sets up logs and dispatches. It must never hold keys or
//! write money decisions itself: subcommands call the libraries that own those rules.

use clap::{Parser, Subcommand};

mod consensus;

/// The LabelMint command line.
#[derive(Debug, Parser)]
#[command(name = "labelmint", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide labels from workers' answers (majority vote, weighted vote, Dawid-Skene).
    #[command(subcommand)]
    Consensus(consensus::Command),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Consensus(cmd) => consensus::run(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("labelmint: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
