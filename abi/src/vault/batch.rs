//! Signed payout batches: the payout items (with their `LabelMint #<digits>` comment), the
//! signed request and the external message that carries it.

use serde::{Deserialize, Serialize};
use tycho_types::cell::{Cell, CellBuilder, CellSlice, DynCell};
use tycho_types::models::StdAddr;

use crate::codec;
use crate::error::{Error, Result};
use crate::json;
use crate::layout::{Layout, tagged_layout};
use crate::opcodes;
use crate::signing::SignedRequest;
use crate::text;

/// At most this many items in one batch.
pub const MAX_BATCH_ITEMS: usize = 250;
/// Item ids are below 10^17 (at most 17 decimal digits).
pub const ITEM_ID_LIMIT: u64 = 100_000_000_000_000_000;
/// The text every payout comment starts with; the decimal item id follows.
pub const COMMENT_PREFIX: &str = "LabelMint #";

/// The decimal digits of an item id, checked to be below [`ITEM_ID_LIMIT`].
pub fn item_digits(item_id: u64) -> Result<String> {
    if item_id >= ITEM_ID_LIMIT {
        return Err(Error::ItemIdTooLarge { item_id });
    }
    Ok(item_id.to_string())
}

/// The payout comment text: `LabelMint #<digits>`.
pub fn payout_comment_text(item_id: u64) -> Result<String> {
    Ok(format!("{COMMENT_PREFIX}{}", item_digits(item_id)?))
}

/// The payout comment body: opcode 0 + `LabelMint #<digits>` (one cell, at most 256 bits).
pub fn payout_comment(item_id: u64) -> Result<Cell> {
    text::comment_body(&payout_comment_text(item_id)?)
}

/// Parses digits written by [`item_digits`]: 1..=17 ASCII digits, no leading zero (except "0").
fn parse_digits(digits: &[u8]) -> Option<u64> {
    let canonical = !digits.is_empty()
        && digits.len() <= 17
        && digits.iter().all(u8::is_ascii_digit)
        && (digits.len() == 1 || digits[0] != b'0');
    if !canonical {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)?.checked_add((d - b'0') as u64)
    })
}

/// The item id of a payout comment body (opcode 0 + `LabelMint #<digits>`, one cell).
pub fn parse_payout_comment<C: AsRef<DynCell> + ?Sized>(body: &C) -> Result<u64> {
    let bytes = text::single_cell_comment(body)?;
    bytes
        .strip_prefix(COMMENT_PREFIX.as_bytes())
        .and_then(parse_digits)
        .ok_or(Error::NotPayoutComment)
}

/// TL-B: `payout_item$_ item_id:uint64 bounceable:Bool dest:MsgAddressInt amount:Coins
/// digits_len:uint5 digits:(bits (digits_len * 8)) next:(Maybe ^PayoutItem) = PayoutItem;`
///
/// One payout. `digits` is derived from `item_id` (never stored separately here) and checked on
/// parse; `next` is the list structure of [`VaultBatchRequest::items`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutItem {
    /// The ledger's payout item id (< 10^17).
    #[serde(with = "json::dec")]
    pub item_id: u64,
    /// TON payouts: send bounceable (to an initialized wallet).
    pub bounceable: bool,
    /// The worker's wallet.
    #[serde(with = "json::addr")]
    pub dest: StdAddr,
    /// nanoTON or jetton base units.
    #[serde(with = "json::dec")]
    pub amount: u128,
}

impl PayoutItem {
    /// The comment this item's payout carries.
    pub fn comment(&self) -> Result<String> {
        payout_comment_text(self.item_id)
    }

    /// Stores the item's fields and its `next` link.
    fn store_with_next(&self, b: &mut CellBuilder, next: Option<&Cell>) -> Result<()> {
        let digits = item_digits(self.item_id)?;
        b.store_u64(self.item_id)?;
        b.store_bit(self.bounceable)?;
        codec::store_addr(b, &self.dest)?;
        codec::store_coins(b, self.amount)?;
        b.store_small_uint(digits.len() as u8, 5)?;
        b.store_raw(digits.as_bytes(), (digits.len() * 8) as u16)?;
        codec::store_maybe_ref(b, next)
    }

    /// Loads the item's fields, leaving the `next` link.
    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        let item_id = s.load_u64()?;
        let bounceable = s.load_bit()?;
        let dest = codec::load_addr(s)?;
        let amount = codec::load_coins(s)?;
        let len = s.load_small_uint(5)? as usize;
        let mut digits = vec![0u8; len];
        s.load_raw(&mut digits, (len * 8) as u16)?;
        if parse_digits(&digits) != Some(item_id) {
            if item_id >= ITEM_ID_LIMIT {
                return Err(Error::ItemIdTooLarge { item_id });
            }
            return Err(Error::DigitsMismatch {
                item_id,
                found: String::from_utf8_lossy(&digits).into_owned(),
            });
        }
        Ok(Self {
            item_id,
            bounceable,
            dest,
            amount,
        })
    }

    /// The cell of a single item with no `next` (`next` = nothing).
    pub fn build(&self) -> Result<Cell> {
        codec::build_with(|b| self.store_with_next(b, None))
    }

    /// Builds the linked list of items (first item at the root). `None` for an empty list.
    pub fn build_list(items: &[PayoutItem]) -> Result<Option<Cell>> {
        let mut next: Option<Cell> = None;
        for item in items.iter().rev() {
            next = Some(codec::build_with(|b| {
                item.store_with_next(b, next.as_ref())
            })?);
        }
        Ok(next)
    }

    /// Parses a linked list of items starting at `head`. Refuses lists longer than
    /// [`MAX_BATCH_ITEMS`].
    pub fn parse_list<C: AsRef<DynCell> + ?Sized>(head: &C) -> Result<Vec<PayoutItem>> {
        let mut items = Vec::new();
        let mut cell = head.as_ref();
        loop {
            if items.len() == MAX_BATCH_ITEMS {
                return Err(Error::TooManyItems {
                    count: MAX_BATCH_ITEMS + 1,
                    max: MAX_BATCH_ITEMS,
                });
            }
            let mut s = codec::open(cell)?;
            items.push(Self::load_fields(&mut s)?);
            let next = if s.load_bit()? {
                Some(s.load_reference()?)
            } else {
                None
            };
            codec::ensure_end(&s)?;
            match next {
                Some(n) => cell = n,
                None => return Ok(items),
            }
        }
    }
}

/// TL-B: `vault_batch_request#2070e2a8 vault:MsgAddressInt global_id:int32 query_id:uint64
/// created_at:uint32 count:uint8 total:Coins attach:Coins forward_ton:Coins items:^PayoutItem
/// = VaultBatchRequest;`
///
/// The payload the signer signs ([`SignedRequest::signing_hash`]). `count` and `total` are
/// derived from `items` when building and checked when parsing, so a request value is always
/// consistent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BatchRequestJson", into = "BatchRequestJson")]
pub struct VaultBatchRequest {
    /// The vault this batch is for.
    pub vault: StdAddr,
    /// The network this batch is for (config param 19: -239 mainnet, -3 testnet, 2026 the
    /// devnet); the vault refuses any other (`ERR_WRONG_NETWORK`).
    pub global_id: i32,
    /// Replay protection: accepted once while `created_at` is within the vault's timeout.
    pub query_id: u64,
    /// Unix time the batch was made.
    pub created_at: u32,
    /// Jetton vault: TON attached to each jetton transfer (0 for a TON vault).
    pub attach: u128,
    /// Jetton vault: TON forwarded to each worker (0 for a TON vault).
    pub forward_ton: u128,
    /// 1..=250 payouts.
    pub items: Vec<PayoutItem>,
}

impl VaultBatchRequest {
    /// `count`: the number of items (checked to be 1..=250).
    pub fn count(&self) -> Result<u8> {
        match self.items.len() {
            0 => Err(Error::EmptyBatch),
            n if n > MAX_BATCH_ITEMS => Err(Error::TooManyItems {
                count: n,
                max: MAX_BATCH_ITEMS,
            }),
            n => Ok(n as u8),
        }
    }

    /// `total`: the sum of the items' amounts (checked to fit in Coins).
    pub fn total(&self) -> Result<u128> {
        let mut total: u128 = 0;
        for item in &self.items {
            total = total
                .checked_add(codec::check_coins(item.amount)?)
                .ok_or(Error::AmountTooLarge { value: u128::MAX })?;
        }
        codec::check_coins(total)
    }

    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        let count = self.count()?;
        let total = self.total()?;
        let items = PayoutItem::build_list(&self.items)?.ok_or(Error::EmptyBatch)?;
        codec::store_addr(b, &self.vault)?;
        b.store_u32(self.global_id as u32)?;
        b.store_u64(self.query_id)?;
        b.store_u32(self.created_at)?;
        b.store_u8(count)?;
        codec::store_coins(b, total)?;
        codec::store_coins(b, self.attach)?;
        codec::store_coins(b, self.forward_ton)?;
        Ok(b.store_reference(items)?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        let vault = codec::load_addr(s)?;
        let global_id = s.load_u32()? as i32;
        let query_id = s.load_u64()?;
        let created_at = s.load_u32()?;
        let count = s.load_u8()?;
        let total = codec::load_coins(s)?;
        let attach = codec::load_coins(s)?;
        let forward_ton = codec::load_coins(s)?;
        let items = PayoutItem::parse_list(s.load_reference()?)?;
        let request = Self {
            vault,
            global_id,
            query_id,
            created_at,
            attach,
            forward_ton,
            items,
        };
        if usize::from(count) != request.items.len() {
            return Err(Error::CountMismatch {
                declared: count.into(),
                actual: request.items.len() as u64,
            });
        }
        let actual = request.total()?;
        if actual != total {
            return Err(Error::TotalMismatch {
                declared: total,
                actual,
            });
        }
        Ok(request)
    }
}
tagged_layout!(
    VaultBatchRequest,
    "vault_batch_request",
    opcodes::VAULT_BATCH_REQUEST
);
impl SignedRequest for VaultBatchRequest {}

/// The JSON form of [`VaultBatchRequest`], with the derived `count` and `total`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequestJson {
    #[serde(with = "json::addr")]
    vault: StdAddr,
    #[serde(with = "json::dec")]
    global_id: i32,
    #[serde(with = "json::dec")]
    query_id: u64,
    #[serde(with = "json::dec")]
    created_at: u32,
    #[serde(with = "json::dec")]
    count: u64,
    #[serde(with = "json::dec")]
    total: u128,
    #[serde(with = "json::dec")]
    attach: u128,
    #[serde(with = "json::dec")]
    forward_ton: u128,
    items: Vec<PayoutItem>,
}

impl From<VaultBatchRequest> for BatchRequestJson {
    fn from(r: VaultBatchRequest) -> Self {
        Self {
            count: r.items.len() as u64,
            // An overflowing total cannot be built either; show the saturated sum.
            total: r
                .items
                .iter()
                .fold(0u128, |acc, i| acc.saturating_add(i.amount)),
            vault: r.vault,
            global_id: r.global_id,
            query_id: r.query_id,
            created_at: r.created_at,
            attach: r.attach,
            forward_ton: r.forward_ton,
            items: r.items,
        }
    }
}

impl TryFrom<BatchRequestJson> for VaultBatchRequest {
    type Error = Error;

    fn try_from(j: BatchRequestJson) -> Result<Self> {
        let r = Self {
            vault: j.vault,
            global_id: j.global_id,
            query_id: j.query_id,
            created_at: j.created_at,
            attach: j.attach,
            forward_ton: j.forward_ton,
            items: j.items,
        };
        if j.count != r.items.len() as u64 {
            return Err(Error::CountMismatch {
                declared: j.count,
                actual: r.items.len() as u64,
            });
        }
        let actual = r.total()?;
        if actual != j.total {
            return Err(Error::TotalMismatch {
                declared: j.total,
                actual,
            });
        }
        Ok(r)
    }
}

/// TL-B: `vault_batch$_ signature:bits512 request:^VaultBatchRequest = VaultExternal;`
///
/// The external message body that executes a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultBatch {
    /// ed25519(signer, hash(request)).
    #[serde(with = "json::bytes")]
    pub signature: [u8; 64],
    /// The signed request.
    pub request: VaultBatchRequest,
}

impl VaultBatch {
    /// The body of a signed batch whose request cell is already built (the cell whose hash was
    /// signed: building 250 linked items again is the costly part). Same cell as
    /// [`Layout::build`] of `VaultBatch { signature, request }` when `request_cell` is
    /// `request.build()`.
    pub fn build_with_request_cell(signature: &[u8; 64], request_cell: Cell) -> Result<Cell> {
        codec::build_with(|b| store_vault_batch(b, signature, request_cell))
    }
}

fn store_vault_batch(b: &mut CellBuilder, signature: &[u8; 64], request: Cell) -> Result<()> {
    codec::store_bits512(b, signature)?;
    Ok(b.store_reference(request)?)
}

impl Layout for VaultBatch {
    const NAME: &'static str = "vault_batch";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        store_vault_batch(b, &self.signature, self.request.build()?)
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            signature: codec::load_bits512(s)?,
            request: VaultBatchRequest::parse(s.load_reference()?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tycho_types::cell::HashBytes;

    fn addr(b: u8) -> StdAddr {
        StdAddr::new(0, HashBytes([b; 32]))
    }

    fn item(item_id: u64, amount: u128) -> PayoutItem {
        PayoutItem {
            item_id,
            bounceable: item_id.is_multiple_of(2),
            dest: addr(item_id as u8),
            amount,
        }
    }

    fn request(items: Vec<PayoutItem>) -> VaultBatchRequest {
        VaultBatchRequest {
            vault: addr(0xaa),
            global_id: -239,
            query_id: 77,
            created_at: 1_800_000_000,
            attach: 0,
            forward_ton: 0,
            items,
        }
    }

    #[test]
    fn comment_round_trips_and_fits_a_bounce() {
        for id in [0, 1, 10, 12_345, ITEM_ID_LIMIT - 1] {
            let body = payout_comment(id).unwrap();
            assert!(body.bit_len() <= 256, "{id}: {} bits", body.bit_len());
            assert_eq!(parse_payout_comment(&body).unwrap(), id);
        }
        assert_eq!(
            payout_comment(ITEM_ID_LIMIT),
            Err(Error::ItemIdTooLarge {
                item_id: ITEM_ID_LIMIT
            })
        );
        for bad in [
            "LabelMint #",
            "LabelMint #01",
            "LabelMint #1x",
            "Labelmint #1",
        ] {
            let body = text::comment_body(bad).unwrap();
            assert_eq!(parse_payout_comment(&body), Err(Error::NotPayoutComment));
        }
    }

    #[test]
    fn batch_round_trips_with_250_items() {
        let items: Vec<_> = (0..250).map(|i| item(i * 1_000_003, i as u128)).collect();
        let r = request(items);
        assert_eq!(r.count().unwrap(), 250);
        let cell = r.build().unwrap();
        assert_eq!(VaultBatchRequest::parse(&cell).unwrap(), r);
    }

    #[test]
    fn a_body_from_the_signed_request_cell_is_the_same_cell() {
        let r = request((1..=250).map(|i| item(i, i as u128)).collect());
        let signature = [0x5a; 64];
        let direct = VaultBatch {
            signature,
            request: r.clone(),
        }
        .build()
        .unwrap();
        let from_cell =
            VaultBatch::build_with_request_cell(&signature, r.build().unwrap()).unwrap();
        assert_eq!(direct.repr_hash(), from_cell.repr_hash());
    }

    #[test]
    fn batch_limits() {
        assert_eq!(request(vec![]).build(), Err(Error::EmptyBatch));
        let too_many: Vec<_> = (0..251).map(|i| item(i, 1)).collect();
        assert_eq!(
            request(too_many).build(),
            Err(Error::TooManyItems {
                count: 251,
                max: 250
            })
        );
        let r = request(vec![item(1, (1 << 119) + 1), item(2, 1 << 119)]);
        assert!(matches!(r.build(), Err(Error::AmountTooLarge { .. })));
        assert_eq!(
            request(vec![item(ITEM_ID_LIMIT, 1)]).build(),
            Err(Error::ItemIdTooLarge {
                item_id: ITEM_ID_LIMIT
            })
        );
    }

    #[test]
    fn forged_count_total_and_digits_are_rejected() {
        let r = request(vec![item(5, 10), item(6, 20)]);
        let good = r.build().unwrap();
        // Rewrite the header with another count / total, keeping the items.
        let forge = |count: u8, total: u128| {
            codec::build_with(|b| {
                b.store_u32(opcodes::VAULT_BATCH_REQUEST)?;
                codec::store_addr(b, &r.vault)?;
                b.store_u32(r.global_id as u32)?;
                b.store_u64(r.query_id)?;
                b.store_u32(r.created_at)?;
                b.store_u8(count)?;
                codec::store_coins(b, total)?;
                codec::store_coins(b, 0)?;
                codec::store_coins(b, 0)?;
                Ok(b.store_reference(good.reference_cloned(0).unwrap())?)
            })
            .unwrap()
        };
        assert_eq!(VaultBatchRequest::parse(&forge(2, 30)).unwrap(), r);
        assert_eq!(
            VaultBatchRequest::parse(&forge(3, 30)),
            Err(Error::CountMismatch {
                declared: 3,
                actual: 2
            })
        );
        assert_eq!(
            VaultBatchRequest::parse(&forge(2, 31)),
            Err(Error::TotalMismatch {
                declared: 31,
                actual: 30
            })
        );
        let wrong_digits = codec::build_with(|b| {
            b.store_u64(5)?;
            b.store_bit(false)?;
            codec::store_addr(b, &addr(1))?;
            codec::store_coins(b, 1)?;
            b.store_small_uint(2, 5)?;
            b.store_raw(b"05", 16)?;
            Ok(b.store_bit_zero()?)
        })
        .unwrap();
        assert_eq!(
            PayoutItem::parse_list(&wrong_digits),
            Err(Error::DigitsMismatch {
                item_id: 5,
                found: "05".into()
            })
        );
    }
}
