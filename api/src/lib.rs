//! # labelmint-api — the status API of LabelMint Pay
//!
//! Everyone reads the indexed truth here: projects and their escrows, payout vaults, payout
//! batches and their items, a worker's earnings and payouts, transactions, and the indexer's
//! progress, as JSON over HTTP (axum 0.8), documented by an OpenAPI 3.1 document generated
//! from the code (utoipa) at `/openapi.json`, with Swagger UI (vendored assets) at `/docs`.
//!
//! ```text
//!  chain --> indexer --> Postgres <-- ledger (settler, consensus)
//!                           |
//!                           | SELECT only, as role labelmint_api_read
//!                           v
//!   request --> request id --> span --> CORS --> gzip --> metrics --> problem+json --> route
//!   (x-request-id in/out)  (every log line)                          (errors -> RFC 9457)
//! ```
//!
//! - [`spawn`] applies the API's one migration (the read role), opens a lazy read pool whose
//!   connections `SET ROLE labelmint_api_read`, binds and serves; [`Handle`] tells the port
//!   and shuts down. `main.rs` turns flags into a [`Config`] and calls it.
//! - [`server::api`] merges one `router()` per resource (`routes::*`) into the OpenAPI
//!   document; later issues (API keys and ton_proof sessions as extractors, writes with
//!   `Idempotency-Key`, webhooks, SSE) add modules there.
//! - [`problem::ApiError`] is every request error; one place turns it into problem+json with a
//!   stable `type` URI (`https://labelmint.dev/problems/<kind>`), the request path as
//!   `instance` and the request id.
//!
//! Conventions: amounts are decimal strings in base units with `currency` and `decimals`
//! (NUMERIC is read as text: never a float); addresses are `{raw, friendly}` (bounceable for
//! contracts, non-bounceable for wallets, testnet flag from [`config::Network`]); lists take
//! `limit` (1..=200) and an opaque `cursor` and answer `next_cursor`.
//!
//! ## What it must never do
//!
//! - Write to the database: it reads as a role with SELECT only (a test proves an INSERT is
//!   refused). Money decisions belong to the consensus engine and the settler.
//! - Answer 5xx or panic for anything the caller sent: bad input is a 4xx problem naming the
//!   parameter. Internal errors are logged with the request id and answered generically.
//! - Log or show the database URL (it may hold a password): it comes from the environment or
//!   a file, never a flag value.
//!
//! ## Errors and features
//!
//! [`Error`] (starting and serving) and [`problem::ApiError`] (per request). No features.
//!
//! ## Example
//!
//! ```no_run
//! # async fn run() -> Result<(), labelmint_api::Error> {
//! let mut config = labelmint_api::Config::test("postgres://labelmint:labelmint@127.0.0.1:54329/labelmint_up");
//! config.listen = "127.0.0.1:8080".parse().expect("address");
//! let handle = labelmint_api::spawn(config).await?;
//! println!("http://{}/docs", handle.addr());
//! handle.wait().await
//! # }
//! ```

#![deny(unsafe_code)]

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod problem;
pub mod routes;
pub mod server;
pub mod tonproof;
pub mod wire;

pub use crate::config::{Config, Network};
pub use crate::error::{Error, Result};
pub use crate::server::{Handle, spawn};
