//! # labelmint-devnet — a local TON chain that runs the real contracts and speaks liteserver
//!
//! No TON network is reachable from LabelMint's machines, so the project brings its own chain:
//! the compiled contract code (labelmint-abi's Escrow, PayoutVault and test USD jetton, wallet
//! v4r2) runs in [tycho-executor](tycho_executor) against TON's real blockchain config, and the
//! chain is served over the standard liteserver protocol (ADNL, ton_liteapi), so the indexer,
//! the settler and any third-party liteclient talk to it exactly as to a mainnet liteserver.
//!
//! ```text
//!  liteclient ──ADNL/TCP──> liteapi::server ──> liteapi::handler ──┐   (transport, wire types)
//!                                                                 │ lock
//!  block producer (every --block-time, or Devnet::produce_block) ──┤
//!                                                                 v
//!                             node::Node ── engine::Chain                 (engine)
//!                                  pending externals (validated by a dry run in sendMessage;
//!                                  the dry run's transaction is reused by the block when its
//!                                  inputs did not change: engine::DryRunKey)
//!                                  internal queue ordered by (created_lt, hash)
//!                                  engine::exec (tycho-executor + TON parity fixes)
//!                                  engine::shard  accounts (ShardAccounts) + blocks + history
//!                                  engine::block  Block cells: basechain block, then the
//!                                                 masterchain block whose shard hashes name it
//!                                  engine::mc_state  McStateExtra, header validator fields
//!                                  engine::validators  param 34 keys; each mc block signed
//!                                  engine::store  the state folder: blocks (+ queue), replayed
//!                                                 by their Merkle state updates on start
//! ```
//!
//! The layers: **wire types** are ton_liteapi's `tl` module and [`liteapi::convert`];
//! **transport** is [`liteapi::server`] (ADNL handshake + ton_liteapi's `LitePeer`, multiplexed
//! with tokio-tower); the **engine** is [`engine`] (executor, block producer, account store),
//! with no knowledge of the network.
//!
//! ## TON parity fixes (see `engine::ton_config` and `engine::exec`)
//!
//! - Config param 12 uses TON's `workchain_v2#a7` tag that tycho-types cannot parse: the
//!   executor's parsed view gets a substitute (basechain only); contracts see the raw config.
//! - On deploy tycho-executor writes `msg_state_used = account_activated = true` in the compute
//!   phase where TON writes `false`: cleared, the transaction reserialized and the account's
//!   `last_trans_hash` set to the fixed hash.
//! - The VM version is tycho's fixed v12 (the version TON's current config asks for).
//!
//! ## What it must never do
//!
//! - Never panic on input: malformed BOCs, wrong message kinds, unknown methods and garbage on
//!   the socket are errors: `liteServer.error` for any query whose request does not decode
//!   (including unknown methods), a closed connection only for frames that are not an
//!   `adnl.message.query` at all.
//! - Never include a rejected external message in a block: `sendMessage` dry-runs it and
//!   returns the error, as a validator's collator would refuse it.
//! - Never block forever: unsupported methods answer `liteServer.error` at once;
//!   `waitMasterchainSeqno` is capped at [`liteapi::handler::MAX_WAIT`].
//! - Never orchestrate LabelMint's money flow (no releases, batches or signer keys here): a
//!   test or a tool that needs one builds it from [`wallet`] and labelmint-abi.
//! - Never be mistaken for a real network: keys come from public phrases; the global id
//!   (config param 19) is the devnet's own, [`engine::ton_config::DEVNET_GLOBAL_ID`] (2026),
//!   so requests signed for mainnet (-239) or testnet (-3) are refused by LabelMint's
//!   contracts here, and requests signed here are refused there.
//!
//! ## Errors and features
//!
//! One error type, [`Error`], with structured variants, mapped to the wire in one function
//! ([`liteapi::handler::to_wire`]). No feature flags.
//!
//! ## Known gaps (issue 3)
//!
//! Every served liteserver method answers TON's Merkle proofs ([`liteapi::proofs`],
//! [`liteapi::block_proof`]; the README lists them). The masterchain is TON's: `McStateExtra`
//! ([`engine::mc_state`]), a validator set in config param 34 whose keys come from a public
//! phrase ([`engine::validators`]), every masterchain block signed by it, key blocks when the
//! set changes. InMsgDescr/OutMsgDescr augmentations and ValueFlow are approximate; no
//! `block_create_stats`. Parity with @ton/sandbox (`engine::parity`: wallets v4r2 and v5r1,
//! the TON escrow's whole life, a vault batch of 250 and a bounce, the jetton deposit and release)
//! holds in exit codes, gas and fees; hashes differ after each scenario's first transaction
//! because sandbox and the devnet allocate lt differently (see the README).
//!
//! ## A chain and nothing else
//!
//! The devnet knows blocks, accounts, wallets and its faucet; it knows nothing of LabelMint's
//! money flow. Deploying and funding escrows and vaults is `make up`'s job (labelmint-stack,
//! through the liteserver), signing is the payout signer's and moving the money the settler's
//! (labelmint-settler), exactly as they would work against mainnet.
//!
//! ## Example
//!
//! ```no_run
//! # async fn demo() -> labelmint_devnet::Result<()> {
//! use labelmint_devnet::{Config, spawn};
//!
//! let devnet = spawn(Config::test()).await?; // 127.0.0.1, port 0, on-demand blocks
//! println!("liteserver at {} key {}", devnet.addr(), hex::encode(devnet.public_key()));
//! let produced = devnet.produce_block()?;
//! assert_eq!(produced.master.seqno, 2); // 0: zero state, 1: the genesis key block
//! # Ok(())
//! # }
//! ```

pub mod bench;
pub mod client;
pub mod config;
pub mod devnet;
pub mod engine;
pub mod error;
pub mod faucet;
pub mod liteapi;
pub mod node;
pub mod wallet;

pub use crate::config::Config;
pub use crate::devnet::{Devnet, spawn};
pub use crate::error::{Error, Result};
