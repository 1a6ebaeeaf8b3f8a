//! The shapes every route shares: addresses in both forms, pages with opaque cursors, and the
//! parsing of outside input into typed values (each failure names its parameter).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::config::{DEFAULT_PAGE, MAX_PAGE};
use crate::problem::ApiError;

/// An address in both forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Address {
    /// Raw form, lowercase: `0:<64 hex>` (what every table stores).
    #[schema(example = "0:0101010101010101010101010101010101010101010101010101010101010101")]
    pub raw: String,
    /// User-friendly form (base64url): bounceable (`EQ…`, `kQ…` on testnet/devnet) for
    /// contracts, non-bounceable (`UQ…`, `0Q…`) for wallets.
    #[schema(example = "kQABAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAcHh")]
    pub friendly: String,
}

impl Address {
    /// A contract's address (escrow, vault, jetton wallet): bounceable.
    pub fn contract(raw: &str, testnet: bool) -> Address {
        Address::of(raw, true, testnet)
    }

    /// A person's wallet (worker, client): non-bounceable.
    pub fn wallet(raw: &str, testnet: bool) -> Address {
        Address::of(raw, false, testnet)
    }

    fn of(raw: &str, bounceable: bool, testnet: bool) -> Address {
        Address {
            raw: raw.to_owned(),
            // The tables' CHECKs guarantee the raw form; should one not parse, both fields
            // carry it rather than inventing a form.
            friendly: labelmint_abi::address::friendly_raw(raw, bounceable, testnet)
                .unwrap_or_else(|| raw.to_owned()),
        }
    }
}

/// `limit` and `cursor` of a list.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page, 1..=200 (default 50).
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page (opaque).
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The bounded limit.
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit.as_deref() {
            None => Ok(DEFAULT_PAGE),
            Some(s) => match s.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
                _ => Err(ApiError::param(
                    "limit",
                    format!("{:?} is not an integer in 1..={MAX_PAGE}", clip(s)),
                )),
            },
        }
    }

    /// The decoded cursor of `kind` with `n` integer fields (decimal strings, bound as text
    /// and cast in SQL), or `None` on the first page.
    pub fn cursor(&self, kind: &str, n: usize) -> Result<Option<Vec<String>>, ApiError> {
        match self.cursor.as_deref() {
            None => Ok(None),
            Some(c) => decode_cursor(c, kind, n).map(Some),
        }
    }
}

impl PageQuery {
    /// [`PageQuery::cursor`] for BIGINT keys (a key out of range is not a cursor of ours).
    pub fn cursor_i64(&self, kind: &str, n: usize) -> Result<Option<Vec<i64>>, ApiError> {
        match self.cursor(kind, n)? {
            None => Ok(None),
            Some(keys) => keys
                .iter()
                .map(|k| {
                    k.parse::<i64>().map_err(|_| {
                        ApiError::param(
                            "cursor",
                            "not a cursor of this list (pass next_cursor as is)",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
        }
    }
}

/// A page of items and the cursor of the next one (`null` on the last page).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    /// The items, newest first unless the route says otherwise.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null`: this is the last page.
    pub next_cursor: Option<String>,
}

/// An opaque cursor: `<kind>:<a>:<b>…` in base64url. The kind stops a cursor of one list
/// from being used on another.
pub fn encode_cursor(kind: &str, keys: &[String]) -> String {
    let mut s = kind.to_owned();
    for k in keys {
        s.push(':');
        s.push_str(k);
    }
    URL_SAFE_NO_PAD.encode(s)
}

fn decode_cursor(c: &str, kind: &str, n: usize) -> Result<Vec<String>, ApiError> {
    let bad = || {
        ApiError::param(
            "cursor",
            "not a cursor of this list (pass next_cursor as is)",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(c.as_bytes()).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.split(':');
    if parts.next() != Some(kind) {
        return Err(bad());
    }
    let keys = parts
        .map(|p| p.parse::<i128>().map(|v| v.to_string()).map_err(|_| bad()))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.len() != n {
        return Err(bad());
    }
    Ok(keys)
}

/// Splits `rows` (fetched with `limit + 1`) into a page: the extra row, if any, means there
/// is a next page, whose cursor is made from the last item kept.
pub fn page<T: ToSchema, R>(
    mut rows: Vec<R>,
    limit: u32,
    kind: &str,
    keys: impl Fn(&R) -> Vec<String>,
    item: impl FnMut(R) -> T,
) -> Page<T> {
    let limit = limit as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|r| encode_cursor(kind, &keys(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(item).collect(),
        next_cursor,
    }
}

/// At most 100 characters of outside input, for error details.
pub fn clip(s: &str) -> String {
    s.chars().take(100).collect()
}

/// An address parameter (raw or user-friendly) in raw form.
pub fn parse_address(parameter: &str, s: &str) -> Result<String, ApiError> {
    labelmint_abi::address::parse_any(s)
        .map(|a| labelmint_abi::address::raw(&a))
        .map_err(|e| ApiError::param(parameter, e.to_string()))
}

/// A u64 id parameter (project ids are uint64 on chain), as its decimal string.
pub fn parse_u64(parameter: &str, s: &str) -> Result<u64, ApiError> {
    s.parse::<u64>().map_err(|_| {
        ApiError::param(
            parameter,
            format!("{:?} is not an unsigned 64-bit integer", clip(s)),
        )
    })
}

/// A positive BIGINT id parameter (batch ids).
pub fn parse_id(parameter: &str, s: &str) -> Result<i64, ApiError> {
    match s.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ApiError::param(
            parameter,
            format!("{:?} is not a positive integer id", clip(s)),
        )),
    }
}

/// Base64 in the standard or the url alphabet, padded or not (a `+` that a query string
/// turned into a space counts as `+`).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let normalized: String = s
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' | ' ' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(normalized.as_bytes()).ok()
}

/// The longest BoC a parameter takes (base64 characters): a wallet's external message with
/// its StateInit and four internal messages fits many times over.
pub const MAX_BOC_CHARS: usize = 16 * 1024;

/// A one-root BoC in base64 (standard or url alphabet, padded or not).
pub fn parse_boc(parameter: &str, s: &str) -> Result<tycho_types::cell::Cell, ApiError> {
    let bad = |why: &str| ApiError::param(parameter, format!("{:?} is not a BoC: {why}", clip(s)));
    if s.len() > MAX_BOC_CHARS {
        return Err(ApiError::param(
            parameter,
            format!("the BoC is longer than {MAX_BOC_CHARS} base64 characters"),
        ));
    }
    let bytes = decode_base64(s).ok_or_else(|| bad("not base64"))?;
    tycho_types::boc::Boc::decode(&bytes).map_err(|e| bad(&e.to_string()))
}

/// A 32-byte hash: 64 hex digits, or base64 (standard or url alphabet, padded or not).
pub fn parse_hash(parameter: &str, s: &str) -> Result<[u8; 32], ApiError> {
    let mut out = [0u8; 32];
    if s.len() == 64 && hex::decode_to_slice(s, &mut out).is_ok() {
        return Ok(out);
    }
    match decode_base64(s) {
        Some(b) if b.len() == 32 => {
            out.copy_from_slice(&b);
            Ok(out)
        }
        _ => Err(ApiError::param(
            parameter,
            format!(
                "{:?} is not a 32-byte hash (64 hex digits or base64)",
                clip(s)
            ),
        )),
    }
}

/// Lowercase hex of an optional hash column.
pub fn hex_opt(b: Option<Vec<u8>>) -> Option<String> {
    b.map(hex::encode)
}
