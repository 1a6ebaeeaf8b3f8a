//! # labelmint-stack — `make up`: the local LabelMint stack, end to end
//!
//! Starts the parts on one machine and runs LabelMint's money flow through them, printing what
//! a person wants to see: the devnet (in-process, serving the liteserver protocol), the indexer
//! (in-process, tailing that liteserver into the private Postgres exactly as it would tail
//! mainnet), the payout signer (its own `payout-signer` process, file key created on first
//! run), the ledger, and the devnet scenario (deploy, deposit, signed release, signed payout
//! batch) sent through the liteserver. The scenario's contracts trust the signer's key and are
//! registered with the indexer, the ledger and the signer's allowlist before they are
//! deployed; earnings are approved in the ledger; the signer signs the release of exactly those
//! earnings and the batch the ledger forms of them. The events the indexer decoded are read
//! back from Postgres and printed, the ledger takes them in (confirming the batch) and
//! reconciles with the chain, and new events are printed as they are indexed until Ctrl-C.
//!
//! ## What it must never do
//!
//! - Never run against anything but a local chain: it holds the devnet's faucet (a key from a
//!   public phrase) and keeps the signer's local secrets (token, key passphrase) in plain
//!   files of `.data/signer` (mode 0600), fit for a local devnet key only.
//! - Never mix two chains in one database: the index is checked against the devnet it runs
//!   beside (the checkpoint block's hash), and a database that indexed another chain (the
//!   devnet's folder was removed) is dropped and created again, with a message.
//! - Never print secrets (there are none to print: every key here is public by design).
//!
//! ## Modules
//!
//! - [`database`]: the per-stack database on the private cluster, and the chain check.
//! - [`indexed`]: reading and printing what the indexer wrote.
//! - [`signer`]: the `payout-signer` process and the [`labelmint_devnet::scenario::Authorizer`]
//!   that asks it, through the ledger, to sign the release and the batch.
//! - [`up`]: the whole run ([`up::up`]).

#![deny(unsafe_code)]

pub mod database;
pub mod error;
pub mod indexed;
pub mod signer;
pub mod up;

pub use crate::error::{Error, Result};
