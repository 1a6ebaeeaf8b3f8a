//! labelmint-consensus integration tests: hand-checked algorithms, simulated crowds,
//! determinism, CSV, and the Postgres engine with the real ledger (one database per test).

mod algorithms;
mod crowds;
mod csv;
mod engine;
mod quality;
mod support;
