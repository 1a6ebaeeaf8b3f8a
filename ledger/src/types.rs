//! Typed identifiers and values: earning, batch and project ids, raw addresses, currency codes,
//! chain evidence. Each checks its own invariants when it is made, so the rest of the crate (and
//! its callers) never handle an unchecked string where money is concerned.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Payout item ids are below 10^17: the on-chain payout comment carries at most 17 decimal
/// digits (`labelmint_abi::vault::ITEM_ID_LIMIT`). Earning ids keep the same range.
pub const ITEM_ID_LIMIT: u64 = 100_000_000_000_000_000;

/// At most this many items (transfers) in one batch (the vault's limit).
pub const MAX_BATCH_ITEMS: usize = 250;

/// At most this many earnings in one batch (over all its items): a bound on the forming
/// transaction and on what the signer reads for one request. A worker with more approved
/// earnings is paid the oldest of them now and the rest in a later batch.
pub const MAX_BATCH_EARNINGS: usize = 10_000;

/// A positive id below 10^17 (the vault's item-id range), read from and written to `BIGINT`.
macro_rules! bounded_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u64);

        impl $name {
            /// Checks the range (`1 ..= 10^17 - 1`).
            pub fn new(id: u64) -> Result<Self> {
                if id == 0 || id >= ITEM_ID_LIMIT {
                    return Err(Error::invalid($what, format!("{id} is not in 1..10^17")));
                }
                Ok(Self(id))
            }

            /// The id.
            pub fn get(self) -> u64 {
                self.0
            }

            pub(crate) fn sql(self) -> i64 {
                // Below 10^17 < 2^63 by construction.
                self.0 as i64
            }

            pub(crate) fn from_sql(v: i64) -> Result<Self> {
                u64::try_from(v)
                    .map_err(|_| Error::corrupt($what, v.to_string()))
                    .and_then(Self::new)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

bounded_id!(
    /// An earning's id (`1 ..= 10^17 - 1`). Not an on-chain id: a batch pays an earning inside a
    /// payout item ([`ItemId`]) that groups the worker's earnings.
    EarningId,
    "earning id"
);

bounded_id!(
    /// A payout item's id: the vault's item id of one transfer (`1 ..= 10^17 - 1`), the payout
    /// comment's digits, the TEP-74 query id of a jetton payout, the id in `ev_payout_bounced`.
    /// Never reused: each batch groups its earnings under new item ids (items made before
    /// aggregation, whose id was their earning's, are kept as they were).
    ItemId,
    "item id"
);

/// A batch's id (ledger-internal; the chain knows a batch by its vault and query id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(pub i64);

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A project's id, as the escrow stores it on chain (uint64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectId(pub u64);

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A TON address in raw form, lowercase: `<workchain>:<64 hex>` (`0:ab12...`), the indexer's
/// form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawAddress(String);

impl RawAddress {
    /// Parses `<workchain>:<64 hex>` (any case; stored lowercase). User-friendly (base64)
    /// addresses are refused: convert them first (labelmint-abi / tycho-types `StdAddr`).
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || Error::invalid("address", format!("{s:?} is not '<workchain>:<64 hex>'"));
        let (wc, hex_part) = s.split_once(':').ok_or_else(bad)?;
        let wc: i32 = wc.parse().map_err(|_| bad())?;
        if hex_part.len() != 64 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Self(format!("{wc}:{}", hex_part.to_ascii_lowercase())))
    }

    /// From a workchain and a 32-byte account id.
    pub fn from_parts(workchain: i8, account: &[u8; 32]) -> Self {
        Self(format!("{workchain}:{}", hex::encode(account)))
    }

    /// The workchain.
    pub fn workchain(&self) -> i32 {
        self.0
            .split_once(':')
            .and_then(|(wc, _)| wc.parse().ok())
            .unwrap_or(i32::MIN)
    }

    /// The 32-byte account id.
    pub fn account(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Some((_, h)) = self.0.split_once(':') {
            let _ = hex::decode_to_slice(h, &mut out);
        }
        out
    }

    /// The raw form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RawAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RawAddress {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A currency code: `TON`, `USD`, ... (`[A-Z][A-Z0-9]{1,11}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CurrencyCode(String);

impl CurrencyCode {
    /// Checks the form.
    pub fn new(code: &str) -> Result<Self> {
        let b = code.as_bytes();
        let ok = (2..=12).contains(&b.len())
            && b[0].is_ascii_uppercase()
            && b.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !ok {
            return Err(Error::invalid(
                "currency",
                format!("{code:?} is not [A-Z][A-Z0-9]{{1,11}}"),
            ));
        }
        Ok(Self(code.to_owned()))
    }

    /// `TON`.
    pub fn ton() -> Self {
        Self("TON".to_owned())
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CurrencyCode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

/// Where on chain a fact was seen: the transaction and the out message (event) in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainRef {
    /// The transaction's hash.
    pub tx_hash: [u8; 32],
    /// The event's out-message index in that transaction.
    pub msg_idx: u16,
    /// The transaction's logical time.
    pub lt: u64,
    /// The transaction's unix time (chain time).
    pub now: u32,
}
