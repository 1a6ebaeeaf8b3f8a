//! The JSON form of every layout (serde): the shape of `contracts/vectors/abi.json` and of decoded
//! events the indexer stores.
//!
//! - field names are the TL-B field names (snake_case);
//! - integers are decimal strings (JSON numbers lose precision past 2^53);
//! - addresses are raw `"<workchain>:<64 hex>"`, `null` for addr_none;
//! - keys, signatures and hashes are lowercase hex;
//! - a `^Cell` is the hex BOC of the cell; typed refs are nested objects.

use std::fmt::Display;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, HashBytes};
use tycho_types::models::StdAddr;

/// Integers as decimal strings (a leading `-` for negative values of signed types).
pub(crate) mod dec {
    use super::*;

    pub(crate) fn serialize<T: Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let s = String::deserialize(d)?;
        // a leading '-' only for signed types (`global_id`); unsigned ones refuse it on parse
        let digits = s.strip_prefix('-').unwrap_or(&s);
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(D::Error::custom(format!(
                "expected a decimal integer string, got {s:?}"
            )));
        }
        s.parse().map_err(D::Error::custom)
    }
}

/// Formats an address as `"<workchain>:<64 hex>"`.
pub(crate) fn addr_to_string(addr: &StdAddr) -> String {
    format!("{}:{}", addr.workchain, hex::encode(addr.address.0))
}

/// Parses `"<workchain>:<64 hex>"` (no anycast).
pub(crate) fn addr_from_str(s: &str) -> Result<StdAddr, String> {
    let (wc, hash) = s
        .split_once(':')
        .ok_or_else(|| format!("expected <workchain>:<hex>, got {s:?}"))?;
    let workchain: i8 = wc
        .parse()
        .map_err(|e| format!("bad workchain in {s:?}: {e}"))?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hash, &mut bytes).map_err(|e| format!("bad address hex {s:?}: {e}"))?;
    Ok(StdAddr::new(workchain, HashBytes(bytes)))
}

/// `MsgAddressInt` as a raw address string.
pub(crate) mod addr {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(a: &StdAddr, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&addr_to_string(a))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<StdAddr, D::Error> {
        let s = String::deserialize(d)?;
        addr_from_str(&s).map_err(D::Error::custom)
    }
}

/// `MsgAddress` as a raw address string or `null`.
pub(crate) mod opt_addr {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(a: &Option<StdAddr>, s: S) -> Result<S::Ok, S::Error> {
        match a {
            Some(a) => s.serialize_str(&addr_to_string(a)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<StdAddr>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => addr_from_str(&s).map(Some).map_err(D::Error::custom),
            None => Ok(None),
        }
    }
}

/// Fixed-size byte arrays as lowercase hex.
pub(crate) mod bytes {
    use super::*;

    pub(crate) fn serialize<const N: usize, S: Serializer>(
        v: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(crate) fn deserialize<'de, const N: usize, D: Deserializer<'de>>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; N];
        hex::decode_to_slice(&s, &mut out)
            .map_err(|e| D::Error::custom(format!("expected {N} bytes of hex: {e}")))?;
        Ok(out)
    }
}

/// Encodes a cell as a hex BOC.
pub(crate) fn cell_to_hex(cell: &Cell) -> String {
    Boc::encode_hex(cell)
}

/// Decodes a hex BOC.
pub(crate) fn cell_from_hex(s: &str) -> Result<Cell, String> {
    Boc::decode_hex(s).map_err(|e| format!("bad BOC hex: {e}"))
}

/// `^Cell` as a hex BOC.
pub(crate) mod boc {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(c: &Cell, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&cell_to_hex(c))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cell, D::Error> {
        let s = String::deserialize(d)?;
        cell_from_hex(&s).map_err(D::Error::custom)
    }
}

/// `Maybe ^Cell` as a hex BOC or `null`.
pub(crate) mod opt_boc {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(c: &Option<Cell>, s: S) -> Result<S::Ok, S::Error> {
        match c {
            Some(c) => s.serialize_str(&cell_to_hex(c)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cell>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => cell_from_hex(&s).map(Some).map_err(D::Error::custom),
            None => Ok(None),
        }
    }
}
