//! # labelmint-abi — the on-chain ABI of LabelMint Pay, in Rust
//!
//! The single place Rust learns what the contracts speak. The specification is
//! `contracts/contracts/scheme.tlb`; this crate is its Rust copy, and shared test vectors
//! (`contracts/vectors/abi.json`, written by the TypeScript wrappers) check it byte for byte.
//!
//! ```text
//!             scheme.tlb (the spec)
//!            /          |           \
//!   Tolk contracts   TS wrappers ---- vectors/abi.json ---- labelmint-abi (this crate)
//!   (sandbox tests     (build*/parse*)   (tests/it checks       |
//!    check TS)                            both directions)      v
//!                                   signer, settler, indexer, devnet, API
//! ```
//!
//! ## What it holds
//!
//! - [`opcodes`]: every tag of scheme.tlb, once (tests recompute them from the scheme).
//! - [`exit_codes`]: every contract exit code, generated at build time from the contracts'
//!   `errors.tolk` files, so no code is retyped.
//! - [`jetton`], [`escrow`], [`vault`], [`recovery`]: every message, signed request, storage
//!   layout and event as a Rust type implementing [`Layout`] (`build` / `parse`, tag included).
//! - [`address`]: raw and user-friendly address forms (the CLI's and the API's one copy).
//! - [`network`]: the global ids signed requests are bound to.
//! - [`events`]: [`Event`], decoding any escrow or vault event body by its opcode.
//! - [`signing`]: what the signer signs ([`SignedRequest::signing_hash`], the request cell's
//!   representation hash) and a `verify` helper.
//! - [`state_init`]: StateInit for the escrow, the vault and jetton wallets, and the addresses
//!   they derive (workchain 0 + hash).
//! - [`code`]: the compiled contract code, embedded from `contracts/build/*.compiled.json`
//!   (checked against the recorded hash at build time).
//! - [`message_hash`]: the TEP-467 normalized hash of an external-in message (how a
//!   wallet's BoC is found in the chain).
//! - [`text`]: snake strings and text comments; the payout comment lives in [`vault`].
//! - [`proof`]: TON's rules for masterchain block signatures and block proof links (validator
//!   subset and its hash, the signed `ton.blockId`, >2/3 weight, forward and back links, shard
//!   block links): pure checks over bytes, used by the devnet's tests and the indexer.
//!
//! Types map TL-B as follows: `uintN` to the smallest Rust unsigned integer, `Coins` to `u128`
//! (values must be below 2^120, else [`Error::AmountTooLarge`]), `MsgAddressInt` to
//! [`StdAddr`](tycho_types::models::StdAddr), `MsgAddress` to `Option<StdAddr>` (`None` is
//! addr_none), `uint256` keys to `[u8; 32]`, `bits512` signatures to `[u8; 64]`, `^Cell` to
//! [`Cell`](tycho_types::cell::Cell), typed refs to nested structs. Every type also has a JSON
//! form (serde; see each module) — the form of the test vectors and of decoded events.
//!
//! ## What it must never do
//!
//! - No I/O, no network, no clock, no keys: it describes bytes; it does not send or sign them.
//! - Never a second copy of a layout: other crates use these types instead of writing cells.
//! - Never panic on input: malformed, truncated or hostile cells are [`Error`]s (tests feed
//!   garbage). No floats: amounts are integers.
//!
//! ## Errors and features
//!
//! One error type, [`Error`], with structured variants (`WrongOpcode { expected, found }`,
//! `AmountTooLarge { value }`, `ItemIdTooLarge { item_id }`, ...), and the [`Result`] alias.
//! The crate has no feature flags.
//!
//! ## Example
//!
//! Build a release request, hash it (the signed payload), and parse it back:
//!
//! ```
//! use labelmint_abi::escrow::ReleaseRequest;
//! use labelmint_abi::network::MAINNET_GLOBAL_ID;
//! use labelmint_abi::{Error, Layout, SignedRequest};
//! use tycho_types::cell::HashBytes;
//! use tycho_types::models::StdAddr;
//!
//! # fn main() -> Result<(), Error> {
//! let request = ReleaseRequest {
//!     escrow: StdAddr::new(0, HashBytes([0x11; 32])),
//!     global_id: MAINNET_GLOBAL_ID, // refused on testnet and on the devnet
//!     seqno: 7,
//!     valid_until: 1_800_000_600,
//!     amount: 25_000_000, // 25 test USD (6 decimals)
//! };
//! let cell = request.build()?;
//! let signed_payload: [u8; 32] = request.signing_hash()?;
//! assert_eq!(&signed_payload, cell.repr_hash().as_array());
//! assert_eq!(ReleaseRequest::parse(&cell)?, request);
//!
//! // Amounts are Coins: at most 2^120 - 1.
//! let too_much = ReleaseRequest { amount: 1 << 120, ..request };
//! assert_eq!(too_much.build(), Err(Error::AmountTooLarge { value: 1 << 120 }));
//! # Ok(())
//! # }
//! ```

#![deny(unsafe_code)]

mod codec;
mod json;

pub mod address;
pub mod code;
pub mod error;
pub mod escrow;
pub mod events;
pub mod exit_codes;
pub mod jetton;
pub mod layout;
pub mod message_hash;
pub mod network;
pub mod opcodes;
pub mod proof;
pub mod recovery;
pub mod signing;
pub mod state_init;
pub mod text;
pub mod vault;

pub use crate::error::{Error, Result};
pub use crate::events::Event;
pub use crate::layout::Layout;
pub use crate::signing::SignedRequest;
