//! NUMERIC columns travel as text (`$1::numeric`, `col::text`): exact, never floats, and no
//! extra sqlx feature.

use crate::error::{Error, Result};

/// The largest amount the ledger takes: TON's `Coins` (VarUInteger 16) are below 2^120, so
/// every amount fits an `i128` line with room for sums.
pub const MAX_AMOUNT: u128 = (1u128 << 120) - 1;

pub(crate) fn parse_u128(what: &'static str, s: &str) -> Result<u128> {
    s.parse().map_err(|_| Error::corrupt(what, s))
}

pub(crate) fn parse_i128(what: &'static str, s: &str) -> Result<i128> {
    s.parse().map_err(|_| Error::corrupt(what, s))
}

pub(crate) fn parse_u64(what: &'static str, s: &str) -> Result<u64> {
    s.parse().map_err(|_| Error::corrupt(what, s))
}

pub(crate) fn u32_of(what: &'static str, v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::corrupt(what, v.to_string()))
}

/// A positive amount within [`MAX_AMOUNT`].
pub(crate) fn check_amount(field: &'static str, v: u128) -> Result<()> {
    if v == 0 || v > MAX_AMOUNT {
        return Err(Error::invalid(field, format!("{v} is not in 1..2^120")));
    }
    Ok(())
}

pub(crate) fn hash32(what: &'static str, v: Option<Vec<u8>>) -> Result<Option<[u8; 32]>> {
    v.map(|b| <[u8; 32]>::try_from(b.as_slice()).map_err(|_| Error::corrupt(what, hex::encode(&b))))
        .transpose()
}
