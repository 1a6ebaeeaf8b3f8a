//! The HTTP wire: typed JSON requests and answers, and their validation into ABI requests.
//!
//! Amounts, query ids and item ids are decimal strings (JSON numbers lose precision past
//! 2^53); seqno, valid_until and created_at are numbers or decimal strings; addresses are raw
//! (`0:<64 hex>`) or user-friendly (base64 / base64url, checksum checked). Unknown fields are
//! refused. Validation names the problem (`bad_address`, `amount_zero`, `duplicate_item_id`, ...).

use std::collections::HashSet;

use labelmint_abi::escrow::{CloseRequest, ReleaseRequest};
use labelmint_abi::vault::{ITEM_ID_LIMIT, MAX_BATCH_ITEMS, PayoutItem, VaultBatchRequest};
use serde::{Deserialize, Deserializer, Serialize};
use tycho_types::models::{StdAddr, StdAddrFormat};

use crate::error::{Error, Result};

/// The largest amount a `Coins` field holds (2^120 - 1).
pub const MAX_COINS: u128 = (1 << 120) - 1;

/// `POST /v1/escrow/release`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// The escrow (raw or user-friendly).
    pub escrow: String,
    /// The escrow's current seqno.
    #[serde(deserialize_with = "u32_num_or_str")]
    pub seqno: u32,
    /// Unix time after which the escrow refuses the request.
    #[serde(deserialize_with = "u32_num_or_str")]
    pub valid_until: u32,
    /// Budget units released to the vault (decimal string).
    pub amount: String,
}

/// `POST /v1/escrow/close`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// The escrow (raw or user-friendly).
    pub escrow: String,
    /// The escrow's current seqno.
    #[serde(deserialize_with = "u32_num_or_str")]
    pub seqno: u32,
    /// Unix time after which the escrow refuses the request.
    #[serde(deserialize_with = "u32_num_or_str")]
    pub valid_until: u32,
}

/// `POST /v1/vault/batch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// The vault (raw or user-friendly).
    pub vault: String,
    /// The batch's query id (decimal string): never signed twice with different content.
    pub query_id: String,
    /// Unix time the batch was made (the vault accepts it while `now - timeout < created_at <= now`).
    #[serde(deserialize_with = "u32_num_or_str")]
    pub created_at: u32,
    /// Jetton vault: TON attached to each transfer (decimal string; "0" for TON vaults).
    #[serde(default = "zero")]
    pub attach: String,
    /// Jetton vault: TON forwarded to each worker (decimal string; "0" for TON vaults).
    #[serde(default = "zero")]
    pub forward_ton: String,
    /// 1..=250 payouts.
    pub items: Vec<ItemBody>,
}

/// One payout of a [`BatchBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    /// The ledger's payout item id (decimal string, < 10^17).
    pub item_id: String,
    /// The worker's payout address (raw or user-friendly).
    pub dest: String,
    /// Amount (decimal string).
    pub amount: String,
    /// TON payouts: send bounceable (default false).
    #[serde(default)]
    pub bounceable: bool,
}

fn zero() -> String {
    "0".into()
}

fn u32_num_or_str<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u32),
        Str(String),
    }
    match NumOrStr::deserialize(d)? {
        NumOrStr::Num(n) => Ok(n),
        NumOrStr::Str(s) => parse_dec::<u32>(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("expected a 32-bit unsigned integer, got {s:?}"))
        }),
    }
}

fn parse_dec<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 40 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a raw or user-friendly address (basechain or masterchain, no anycast).
pub fn parse_address(field: &str, s: &str) -> Result<StdAddr> {
    let (addr, _) = StdAddr::from_str_ext(s, StdAddrFormat::any()).map_err(|e| {
        Error::bad(
            "bad_address",
            format!("{field}: {s:?} is not an address: {e}"),
        )
    })?;
    if addr.anycast.is_some() || !(addr.workchain == 0 || addr.workchain == -1) {
        return Err(Error::bad(
            "bad_address",
            format!("{field}: {s:?} must be a workchain 0 or -1 address without anycast"),
        ));
    }
    Ok(addr)
}

/// The raw form `"<workchain>:<64 hex>"`: the signer's canonical key for a contract.
pub fn raw_address(addr: &StdAddr) -> String {
    format!("{}:{}", addr.workchain, hex::encode(addr.address.0))
}

/// Parses a positive amount that fits in `Coins`.
pub fn parse_amount(field: &str, s: &str) -> Result<u128> {
    let v = parse_coins(field, s)?;
    if v == 0 {
        return Err(Error::bad(
            "amount_zero",
            format!("{field} must be above 0"),
        ));
    }
    Ok(v)
}

/// Parses an amount (0 allowed) that fits in `Coins`.
pub fn parse_coins(field: &str, s: &str) -> Result<u128> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::bad(
            "bad_amount",
            format!("{field}: expected a decimal integer string, got {s:?}"),
        ));
    }
    match s.parse::<u128>() {
        Ok(v) if v <= MAX_COINS => Ok(v),
        _ => Err(Error::bad(
            "amount_overflow",
            format!("{field}: {s} does not fit in Coins (at most 2^120 - 1)"),
        )),
    }
}

fn parse_u64(code: &'static str, field: &str, s: &str) -> Result<u64> {
    parse_dec::<u64>(s).ok_or_else(|| {
        Error::bad(
            code,
            format!("{field}: expected a decimal 64-bit integer string, got {s:?}"),
        )
    })
}

impl ReleaseBody {
    /// The ABI request this body asks for, bound to the network `global_id` (the signer's
    /// configured one: the body does not choose the network).
    pub fn validate(&self, global_id: i32) -> Result<ReleaseRequest> {
        Ok(ReleaseRequest {
            escrow: parse_address("escrow", &self.escrow)?,
            global_id,
            seqno: self.seqno,
            valid_until: self.valid_until,
            amount: parse_amount("amount", &self.amount)?,
        })
    }
}

impl CloseBody {
    /// The ABI request this body asks for, bound to the network `global_id`.
    pub fn validate(&self, global_id: i32) -> Result<CloseRequest> {
        Ok(CloseRequest {
            escrow: parse_address("escrow", &self.escrow)?,
            global_id,
            seqno: self.seqno,
            valid_until: self.valid_until,
        })
    }
}

impl BatchBody {
    /// The ABI request this body asks for on the network `global_id` (the signer's configured
    /// one): 1..=250 items, unique item ids below 10^17, positive amounts, a total that fits in
    /// Coins.
    pub fn validate(&self, global_id: i32) -> Result<VaultBatchRequest> {
        if self.items.is_empty() {
            return Err(Error::bad(
                "empty_batch",
                "items: a batch needs at least one item",
            ));
        }
        if self.items.len() > MAX_BATCH_ITEMS {
            return Err(Error::bad(
                "too_many_items",
                format!(
                    "items: {} items, a batch holds at most {MAX_BATCH_ITEMS}",
                    self.items.len()
                ),
            ));
        }
        let mut seen = HashSet::with_capacity(self.items.len());
        let mut items = Vec::with_capacity(self.items.len());
        let mut total: u128 = 0;
        for (i, it) in self.items.iter().enumerate() {
            let item_id = parse_u64("bad_item_id", &format!("items[{i}].item_id"), &it.item_id)?;
            if item_id >= ITEM_ID_LIMIT {
                return Err(Error::bad(
                    "bad_item_id",
                    format!("items[{i}].item_id: {item_id} is not below 10^17"),
                ));
            }
            if !seen.insert(item_id) {
                return Err(Error::bad(
                    "duplicate_item_id",
                    format!("items[{i}].item_id: {item_id} appears twice in the batch"),
                ));
            }
            let amount = parse_amount(&format!("items[{i}].amount"), &it.amount)?;
            total = total
                .checked_add(amount)
                .filter(|t| *t <= MAX_COINS)
                .ok_or_else(|| {
                    Error::bad("amount_overflow", "the batch total does not fit in Coins")
                })?;
            items.push(PayoutItem {
                item_id,
                bounceable: it.bounceable,
                dest: parse_address(&format!("items[{i}].dest"), &it.dest)?,
                amount,
            });
        }
        Ok(VaultBatchRequest {
            vault: parse_address("vault", &self.vault)?,
            global_id,
            query_id: parse_u64("bad_query_id", "query_id", &self.query_id)?,
            created_at: self.created_at,
            attach: parse_coins("attach", &self.attach)?,
            forward_ton: parse_coins("forward_ton", &self.forward_ton)?,
            items,
        })
    }
}

/// What a successful signing request answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signed {
    /// `escrow_release`, `escrow_close` or `vault_batch`.
    pub kind: String,
    /// The contract (raw address).
    pub contract: String,
    /// The journal key: `seqno:<n>` (escrows) or `query_id:<n>` (vaults).
    pub key: String,
    /// `external`: `boc` is a complete external message for liteServer.sendMessage (vault
    /// batches). `internal_body`: `boc` is the body of an internal message to the escrow, which
    /// any wallet carries (escrow release and close).
    pub delivery: String,
    /// The message, a base64 BOC.
    pub boc: String,
    /// The signed payload: the representation hash of the request cell (hex).
    pub signing_hash: String,
    /// ed25519 signature (hex).
    pub signature: String,
    /// The signer's public key (hex).
    pub public_key: String,
    /// When the contract stops accepting it (unix time).
    pub valid_until: u64,
    /// True when this exact request had been signed before and the stored message is
    /// returned unchanged.
    pub replayed: bool,
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code: `bad_json`, `unknown_field`, `bad_address`, `refused`, ...
    pub error: String,
    /// For refusals: the rule (`cap.hour`, `journal.conflict`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What is wrong, for a human.
    pub message: String,
}

/// `GET /v1/pubkey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PubkeyBody {
    /// ed25519 public key, hex.
    pub public_key: String,
    /// The key backend (`file`, `pkcs11`, ...).
    pub backend: String,
}
