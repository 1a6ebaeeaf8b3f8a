//! labelmint-ledger integration tests: real Postgres (one database per test), and for the
//! reconciliation on real chain data, the real devnet and indexer in-process.

mod approvals;
mod batches;
mod closing;
mod devnet;
mod jetton_bounces;
mod journal;
mod support;
