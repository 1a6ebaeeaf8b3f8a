//! A project's escrow: its parameters, StateInit and address, the messages that deploy it and
//! fund it, and its registration in the three places that must know it before money moves.
//!
//! One library function, [`register::create_escrow`], is what both `labelmint project create`
//! (the operator's CLI) and `POST /v1/projects` (this API) call, so the two cannot drift. It
//! lives in `labelmint-api` rather than in a crate of its own because the CLI already depends
//! on this crate (API keys) and the API is its main user; splitting it out would only add a
//! crate whose one dependency pattern (abi + ledger + indexer store + signer store) is the
//! API's own.
//!
//! ```text
//! NewEscrow { project_id, client, currency, deadline, fee_bps, treasury, signer_key }
//!   --ledger: currency (jetton master) + the currency's vault-->  EscrowParams
//!   --labelmint-abi-->  StateInit, address (workchain 0)
//!   --register, each step idempotent, in this order:
//!       1. the payout signer's allowlist (signer_contracts; audited)
//!       2. the indexer's watched accounts (watched_accounts): the escrow, and the client's
//!          wallet (kind `wallet`: the transactions its external messages start, TEP-467)
//!       3. the ledger (ledger_projects)
//! ```
//!
//! The order matters: the signer may sign for the escrow before the ledger lets anyone earn
//! from it, and the indexer watches it before the ledger reconciles it. A re-run with the same
//! parameters changes nothing; another escrow for a registered project id is refused
//! ([`EscrowError::Conflict`]).
//!
//! [`plan`] builds the messages a wallet sends ([`plan::Funding`]): the deploy (with the
//! StateInit, non-bounceable), a TON deposit (optionally carrying the StateInit, so one
//! message deploys and funds), a jetton transfer from the client's jetton wallet, the client's
//! refund. [`units`] parses amounts typed by people (`12.5`) into base units.
//!
//! ## What it must never do
//!
//! - Register one project id with two escrows, or change an allowlist entry silently.
//! - Produce an escrow whose `fee_bps` is above the contract's cap (such an escrow refuses every
//!   message; nobody should be asked to fund it).
//! - Use floats for money: amounts are `u128` base units.

pub mod plan;
pub mod register;
pub mod units;

pub use plan::{EscrowPlan, Funding};
pub use register::{EscrowError, NewEscrow, Registered, create_escrow};
pub use units::parse_units;
