//! # labelmint-api — the status API of LabelMint Pay
//!
//! Integrators (API keys) and wallets (TonConnect ton_proof sessions) read the indexed truth
//! here: projects and their escrows, payout vaults, payout batches and their items, a worker's
//! earnings and payouts, transactions, and the indexer's progress, as JSON over HTTP (axum 0.8), documented by an OpenAPI 3.1 document generated
//! from the code (utoipa) at `/openapi.json`, with Swagger UI (vendored assets) at `/docs`.
//! Clients create projects here too: the escrow is registered and the TonConnect
//! `sendTransaction` that deploys and funds it is answered; the client's wallet signs it.
//!
//! ```text
//!  chain --> indexer --> Postgres <-- ledger (settler, consensus)
//!                           |   \
//!    SELECT only, as role   |    \  api_keys, ton_proof_payloads, api_sessions only,
//!    labelmint_api_read     |     \ as role labelmint_api_auth
//!                           v      v
//!   request --> request id --> span --> CORS --> gzip --> metrics --> problem+json -->
//!   (x-request-id in/out)  (every log line)                          (errors -> RFC 9457)
//!     --> rate limit: verify the bearer once (cache 5 s) -> the caller's bucket, or the
//!         client IP's without a valid credential -> 429 + Retry-After when empty
//!     --> body limit (64 KiB) --> route
//!
//!   route = Caller (the verified credential; 401 without) -> scope / owner
//!           check (403) -> the read, filtered to the caller's wallet when it is scoped
//!
//!  wallet login:  POST /v1/auth/ton-proof/payload --> payload (random, stored, 15 min)
//!                 TonConnect connect with tonProof(payload) --> the wallet signs
//!                 POST /v1/auth/ton-proof --> domain, time, payload, key (StateInit of
//!                 v3r2/v4r2/v5r1 | get_public_key via the liteserver), ed25519 --> consume
//!                 the payload atomically --> session token lms_... (stored hashed)
//!
//!  writes (as role labelmint_api_write; every POST with an Idempotency-Key):
//!   POST /v1/projects --> Caller (session | client key: own wallet; admin: any) --> key
//!     claimed in api_idempotency (replay / 422 other body / 409 in flight) --> body checked
//!     field by field --> project id from a sequence --> escrow::create_escrow: signer
//!     allowlist, indexer watch, ledger --> api_projects (title) --> sendTransaction
//!     (TON: StateInit + escrow_deposit in one message; jetton: the deploy) --> answer stored
//!   POST /v1/projects/{id}/deposits --> TON escrow_deposit | jetton transfer from the
//!     client's jetton wallet (master's get_wallet_address via the liteserver), once the
//!     escrow learned its wallet (409 before)
//!   POST /v1/projects/{id}/close --> ledger active -> closing (409 if not active) --> the
//!     client's escrow_refund request (the close itself is signed by the payout signer)
//!  streams:   events --one poller (every 250 ms, key > cursor)--> broadcast --> per stream:
//!             replay from Postgres after Last-Event-ID, then live --> bounded buffer --> SSE
//!  labeling (--labeling): /v1/tasks/next|{id}/submit|skip|release|history, task sets,
//!             uploads, progress, labels --> labelmint-labeling on its own three pools (the
//!             login's rights: labeling's tables, the consensus engine's, the ledger's
//!             approvals), consensus passes in the background (routes::labeling)
//!  webhooks:  events --outbox (one tx: cursor, deliveries UNIQUE(endpoint, event))-->
//!             deliveries --worker (FOR UPDATE SKIP LOCKED, Clock)--> signed POST --> 2xx:
//!             delivered | else backoff 30 s x2 .. 4 h (+jitter) | failed after 24 h
//! ```
//!
//! - [`spawn`] applies the API's migrations (the read, auth, write and hooks roles, auth and
//!   webhook tables), opens lazy pools whose connections `SET ROLE` (read, auth, write,
//!   hooks), starts the stream poller and the webhook worker, binds and serves; [`Handle`]
//!   tells the port and shuts down (ending open streams first). `main.rs` turns flags into a
//!   [`Config`] and calls it.
//! - [`server::api`] merges one `router()` per resource (`routes::*`) into the OpenAPI
//!   document; later issues (writes with `Idempotency-Key`, webhooks, SSE) add modules there.
//! - [`auth`]: who calls ([`auth::Caller`], an extractor every `/v1` read takes), API keys
//!   ([`auth::keys`], also used by `labelmint api-key`), sessions and payloads
//!   ([`auth::sessions`]), the key and token formats ([`auth::secret`]).
//! - [`tonproof`]: the ton_proof message and signature, the wallets by code hash
//!   ([`tonproof::wallets`]), `get_public_key` ([`tonproof::chain`]); the checks' order is in
//!   `routes::auth`.
//! - [`escrow`]: an escrow's parameters, StateInit, address, funding messages and its
//!   registration ([`escrow::create_escrow`], also `labelmint project create`'s);
//!   [`tonconnect`]: the `sendTransaction` shape; [`idempotency`]: `Idempotency-Key`;
//!   `routes::project_writes`: the three POST routes.
//! - [`streams`]: server-sent events per project and per worker (`routes::streams`), ids in
//!   commit order ([`streams::StreamKey`]) so `Last-Event-ID` resumes exactly.
//! - [`webhooks`]: endpoints, the outbox, the delivery worker ([`webhooks::deliver`]),
//!   signatures and sealed secrets ([`webhooks::sign`]), the SSRF rules
//!   ([`webhooks::ssrf`]), the retry schedule ([`webhooks::Backoff`]) and the
//!   [`webhooks::Clock`].
//! - [`ratelimit`]: token buckets per verified caller and per client IP (`governor`), the
//!   trusted-proxy rule for `X-Forwarded-For`, pruning; [`auth::cache`]: verified credentials
//!   kept briefly. [`routes::document`] finishes the OpenAPI document (descriptions, 429).
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
//! - Write to the database except through `labelmint_api_write` (project creation: its own
//!   `api_projects` and `api_idempotency`, and INSERTs of a new escrow into the signer's
//!   allowlist and audit, the indexer's watched accounts and the ledger's projects; a close
//!   request: the ledger project's state), `labelmint_api_auth` (keys, payloads, sessions)
//!   and `labelmint_api_hooks` (webhook endpoints, deliveries, the outbox); with `--labeling`,
//!   labelmint-labeling's pools run with the login's own rights (tasks, answers, and the
//!   consensus engine's approvals, as the engine's own process does: a dedicated role is
//!   still to be made). Reads run as `labelmint_api_read` (SELECT only; tests prove both roles'
//!   refusals). Outside labeling's consensus passes (the engine's own code, approving
//!   earnings once per submission) it never writes earnings, batches, the journal, the signer's journal or any
//!   chain fact: money decisions belong to the consensus engine and the settler.
//! - Sign or send anything to the chain: it answers unsigned `sendTransaction` requests that
//!   the client's own wallet signs; it holds no key.
//! - Run a POST twice for one `Idempotency-Key`: the same request is answered from the stored
//!   answer, another request with the key is refused (422), a concurrent one waits its turn
//!   (409); never two escrows for one key.
//! - Create a project for another wallet than the caller's (admin keys excepted), or an
//!   escrow whose fee is above the contract's cap.
//! - Answer 5xx or panic for anything the caller sent: bad input is a 4xx problem naming the
//!   parameter. Internal errors are logged with the request id and answered generically.
//! - Log or show the database URL (it may hold a password): it comes from the environment or
//!   a file, never a flag value.
//! - Log, echo or store in clear an API key, a session token, a ton_proof payload or
//!   signature: keys and tokens are stored as SHA-256 (256 random bits each), shown once;
//!   logs carry key ids and wallet addresses only; [`auth::secret::Secret`] prints `<secret>`.
//! - Accept a ton_proof whose payload it did not issue, that expired, or that was used: the
//!   payload is consumed in one conditional UPDATE after the signature verified, so of two
//!   racing logins one wins and a forged proof cannot burn a payload.
//! - Trust a StateInit without checking its hash is the claimed address and its code a known
//!   wallet's, or read a key from any other layout than that wallet version's.
//! - Answer a `/v1` read without a credential (401), or show a scoped caller (a client key,
//!   a session) anything of another wallet (403; the lists are filtered). The same holds for
//!   streams and webhook endpoints.
//! - Skip or repeat an event in a stream resumed with `Last-Event-ID`, or let a caller that
//!   does not read grow the server's memory (its buffer is bounded; it is dropped).
//! - Make two deliveries of one event to one endpoint, send again what a receiver answered
//!   with a 2xx, or try a delivery more than 24 h after it was made.
//! - Store a webhook signing secret in clear (sealed under the webhook key), show it more than
//!   once, or call a URL that resolves to a loopback, private or link-local address unless
//!   configured to (checked when made and at every connection).
//! - Let anyone spend another caller's rate limit: a caller's bucket is keyed by the
//!   *verified* credential; a wrong secret counts against the sender's IP. Believe
//!   `X-Forwarded-For` from a peer that is not a configured trusted proxy.
//! - Keep a revoked key or ended session working on this instance: revoke, rotate and logout
//!   drop the cached entry at once (other replicas: within the cache TTL).
//!
//! ## Errors and features
//!
//! [`Error`] (starting and serving), [`problem::ApiError`] (per request; a ton_proof refusal
//! carries its [`tonproof::ProofFault`]), [`auth::keys::KeyError`] (key management) and
//! [`escrow::EscrowError`] (escrow registration). No features.
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
pub mod escrow;
pub mod extract;
pub mod idempotency;
pub mod metrics;
pub mod problem;
pub mod ratelimit;
pub mod routes;
pub mod server;
pub mod storage;
pub mod streams;
pub mod tonconnect;
pub mod tonproof;
pub mod webhooks;
pub mod wire;

pub use crate::config::{Config, Network};
pub use crate::error::{Error, Result};
pub use crate::server::{Handle, spawn};
