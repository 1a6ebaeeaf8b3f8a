//! Integration tests of labelmint-indexer: real Postgres (one database per test), real
//! transactions from the contracts' sandbox runs, local TCP liteservers.

mod chain;
mod crash;
mod decode;
mod devnet;
mod jetton_bounces;
mod lite;
mod loadnet;
mod metrics;
mod store;
mod support;
mod survive;
mod tail;
mod verify;
