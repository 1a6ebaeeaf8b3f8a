//! Integration tests of the payout signer: real Postgres, real ledger, real keys, the real
//! binary (crash and lock tests) and the real devnet.

mod api;
mod close;
mod crash;
mod devnet;
mod float;
mod http;
mod journal;
mod pkcs11;
mod release;
mod roles;
mod secrets;
mod support;
