//! # labelmint-payout-signer — the only process that can authorize money out of LabelMint
//!
//! A separate service holding the ed25519 key the escrows and vaults trust. It exposes typed
//! requests only — escrow release, escrow close, vault payout batch — builds the exact contract
//! message with labelmint-abi, and returns it signed. There is no "sign these bytes" endpoint.
//!
//! ```text
//!  settler / make up ──HTTP (127.0.0.1 or unix socket, Bearer token)──> http.rs
//!                                                                         │ wire.rs: typed JSON -> ABI request
//!                                                                         v
//!        signer.rs: queue ─ one committer task ─ group/: BEGIN (one transaction per group
//!                   of queued requests) ─ one read statement ─ for each, in order: lock +
//!                   fencing token, freeze ─ journal (same content: stored message; other
//!                   content: refused) ─ policy.rs (allowlist, TTL, batch caps, attach and
//!                   forward_ton, the ledger's payout items and the earnings each groups,
//!                   earlier signatures of those earnings, rolling, per-worker and float
//!                   caps, releasable; closes: project closing, final release, once)
//!                   ─ KeyBackend::sign(request hash) ─ one write statement (journal, items,
//!                   volumes, audit) ─ COMMIT
//!                                                                         │
//!                             signed message BOC (vault: external message; escrow: body) <─┘
//! ```
//!
//! ## What it must never do
//!
//! - Sign anything that is not one of the three typed requests for a registered contract.
//! - Sign a vault item that is not exactly the ledger's payout item of that batch: the earnings
//!   the ledger grouped under its id (approved, to its destination, summing to its amount), none
//!   of them in another live or paid batch or in a live earlier signature of this signer (an
//!   earning re-grouped under a new item id is still the same money).
//! - Sign two different contents for one (contract, seqno | query id); answer before the
//!   journal entry is committed (`synchronous_commit = on`); sign while another instance holds
//!   the lock.
//! - Log or audit secrets (the token, key material). Touch keys outside the key backend.
//! - Take a secret on its command line, or read a secret file its group or others can read.
//! - Read a request's body before its token was checked; wait forever on a slow client.
//! - Sign an escrow close the ledger did not ask for, or before the final release.
//! - Query the database with more rights than the `labelmint_signer` role's (read the ledger,
//!   append to its own journal, items, volumes and audit log).
//!
//! ## Errors and features
//!
//! [`Error`] with [`Error::BadRequest`] (`code`), [`Error::Refused`] (a [`Rule`]) and internal
//! variants; [`Result`] alias. No feature flags.
//!
//! ## Example
//!
//! ```
//! use labelmint_payout_signer::wire::BatchBody;
//! let body: BatchBody = serde_json::from_str(r#"{
//!   "vault": "0:1111111111111111111111111111111111111111111111111111111111111111",
//!   "query_id": "7", "created_at": 1800000000,
//!   "items": [{ "item_id": "42", "amount": "1000",
//!               "dest": "0:2222222222222222222222222222222222222222222222222222222222222222" }]
//! }"#).unwrap();
//! let request = body.validate(2026).unwrap(); // the signer's configured global id
//! assert_eq!(request.global_id, 2026);
//! assert_eq!(request.total().unwrap(), 1000);
//! ```

#![deny(unsafe_code)]

pub mod audit;
pub mod cli;
pub mod client;
pub mod config;
pub mod error;
mod group;
pub mod http;
pub mod key;
pub mod ledger;
pub mod lock;
pub mod message;
pub mod policy;
pub mod rules;
pub mod service;
pub mod signer;
pub mod store;
pub mod wire;

pub use crate::client::SignerClient;
pub use crate::config::{Config, CurrencyCaps, FloatLimits, HttpLimits, Limits, Listen, Token};
pub use crate::error::{Error, Result};
pub use crate::rules::Rule;
pub use crate::service::{Handle, spawn};
pub use crate::signer::{GroupStats, Request, Signer};
