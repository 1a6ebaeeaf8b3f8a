//! labelmint-api's integration tests: the real server on port 0 against a scratch Postgres
//! database seeded through the real ledger and indexer-shaped rows.

mod auth;
mod devnet_writes;
mod garbage;
mod labeling;
mod limits;
mod openapi;
mod ops;
mod raw;
mod reads;
mod sse;
mod streams;
mod support;
mod tonproof;
mod wallets;
mod webhooks;
mod writes;
