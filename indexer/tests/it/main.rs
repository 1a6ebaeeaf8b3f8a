//! Integration tests of labelmint-indexer: real Postgres (one database per test), real
//! transactions from the contracts' sandbox runs, local TCP liteservers.

mod chain;
mod decode;
mod lite;
mod metrics;
mod store;
mod support;
mod tail;
