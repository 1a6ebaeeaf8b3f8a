//! Integration tests: an in-process devnet on 127.0.0.1:0, driven through ton_liteapi's client.

mod bad_input;
mod block_proofs;
mod liteapi;
mod proofs;
mod scenarios;
mod support;
mod tcp_auth;
