//! # labelmint-stack — `make up`: the local LabelMint stack, end to end
//!
//! Starts the parts on one machine, sets a demo project up on the local chain and lets the
//! real services move its money, printing what a person wants to see.
//!
//! ```text
//!  labelmint-up ── in-process ──> devnet (liteserver 127.0.0.1:4924, blocks every 400 ms)
//!       │                         indexer (tails that liteserver into Postgres labelmint_up)
//!       ├── process ──> payout-signer (127.0.0.1:7420; file key in .data/signer)
//!       ├── process ──> settler (global config, signer URL + token file, relayer seed file,
//!       │                        DATABASE_URL in its environment; log in .data/settler)
//!       │
//!       ├─ 1. register the escrow and the vault (indexer, ledger, signer's allowlist)
//!       ├─ 2. approve earnings in the ledger (the consensus engine's job)
//!       ├─ 3. through the liteserver: deploy the vault, the escrow, the treasury, fund the
//!       │     settler's relayer wallet; the client deposits
//!       ├─ 4. the SETTLER releases (escrow -> vault) and batches (vault -> workers) by itself,
//!       │     the signer authorizing; the stack only watches ([`progress`]): release landed,
//!       │     batch sent, batch confirmed
//!       ├─ 5. what the indexer decoded, the ledger's reconciliation, the signer's audit chain
//!       └─ 6. keeps running: approves a few earnings now and then, the settler pays them
//! ```
//!
//! The contracts trust the signer's key and are registered before they are deployed. The
//! settler is the one in production: the same binary, configured the way an operator
//! configures it against mainnet (only the global config differs).
//!
//! ## What it must never do
//!
//! - Never sign or send a release or a payout batch itself: only the settler asks the signer
//!   for those. The stack sends only what a client and an operator send (deploys, deposits,
//!   float top-ups from the faucet).
//! - Never run against anything but a local chain: it holds the devnet's faucet (a key from a
//!   public phrase), and keeps local secrets in plain files (mode 0600, folders 0700): the
//!   signer's token and key passphrase in `.data/signer`, the settler's relayer wallet seed
//!   (a THROWAWAY devnet key) in `.data/settler`.
//! - Never put a secret on a command line or in its output: the database URL goes to the
//!   children through their environment, tokens and seeds as files.
//! - Never mix two chains in one database: the index is checked against the devnet it runs
//!   beside (the checkpoint block's hash), and a database that indexed another chain (the
//!   devnet's folder was removed) is dropped and created again, with a message.
//!
//! ## Modules
//!
//! - [`database`]: the stack's database on the private cluster (created when missing), and
//!   the chain check.
//! - [`scenario`]: the demo project's plan and its steps through the liteserver (deploy,
//!   deposit, read back) — moved here from the devnet, which is a chain and nothing else.
//! - [`signer`]: the `payout-signer` process.
//! - [`settler`]: the `settler` process and its relayer wallet.
//! - [`progress`]: the settler's work as the ledger and the index record it, printed.
//! - [`indexed`]: reading and printing what the indexer wrote.
//! - [`up`]: the whole run ([`up::up`]) and the live part.
//!
//! ## Errors
//!
//! One enum, [`Error`]; the binary prints it with `anyhow` and exits non-zero. No features.

#![deny(unsafe_code)]

pub mod api;
pub mod database;
pub mod error;
pub mod indexed;
pub mod progress;
pub mod scenario;
pub mod settler;
pub mod signer;
pub mod up;

pub use crate::error::{Error, Result};
