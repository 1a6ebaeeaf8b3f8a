//! The settler's integration tests: real Postgres (scratch databases), the real devnet and
//! indexer in-process, the real `payout-signer` process.

mod aggregate;
mod bounce;
mod crash;
mod expiry;
mod jetton;
mod jetton_recover;
mod jetton_recover_escrow;
mod leader;
mod relayer;
mod release_bounce;
mod release_cadence;
mod settle;
