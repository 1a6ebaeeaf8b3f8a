//! The liteserver: ADNL transport (ton_liteapi's peer, tokio-tower) and the request handler.

pub mod convert;
pub mod global_config;
pub mod handler;
pub mod server;
pub mod tamper;
