//! The liteserver: ADNL transport (ton_liteapi's peer, tokio-tower) and the request handler.

pub mod account;
pub mod block_proof;
pub mod convert;
pub mod global_config;
pub mod handler;
pub mod mc_proofs;
pub mod proof_cost;
pub mod proofs;
pub mod server;
pub mod tamper;
pub mod tcp_auth;
pub mod tx_proofs;
