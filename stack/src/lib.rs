//! # labelmint-stack — `make up`: the local LabelMint stack, end to end
//!
//! Starts the parts on one machine and runs LabelMint's money flow through them, printing what
//! a person wants to see: the devnet (in-process, serving the liteserver protocol), the indexer
//! (in-process, tailing that liteserver into the private Postgres exactly as it would tail
//! mainnet), and the devnet scenario (deploy, deposit, signed release, signed payout batch)
//! sent through the liteserver. The scenario's contracts are registered with the indexer
//! before they are deployed, so the indexer sees every one of their transactions; the events
//! it decoded are then read back from Postgres and printed, and new ones are printed as they
//! are indexed until Ctrl-C.
//!
//! ## What it must never do
//!
//! - Never run against anything but a local chain: it holds the devnet's faucet and a
//!   THROWAWAY signer key, both derived from public phrases.
//! - Never mix two chains in one database: the index is checked against the devnet it runs
//!   beside (the checkpoint block's hash), and a database that indexed another chain (the
//!   devnet's folder was removed) is dropped and created again, with a message.
//! - Never print secrets (there are none to print: every key here is public by design).
//!
//! ## Modules
//!
//! - [`database`]: the per-stack database on the private cluster, and the chain check.
//! - [`indexed`]: reading and printing what the indexer wrote.
//! - [`up`]: the whole run ([`up::up`]).

#![deny(unsafe_code)]

pub mod database;
pub mod error;
pub mod indexed;
pub mod up;

pub use crate::error::{Error, Result};
