//! What the faucet sends: TON transfers and test USD mints, and amounts written in units.

use labelmint_abi::Layout;
use labelmint_abi::jetton::{ForwardPayload, InternalTransfer, LabelmintMint};
use tycho_types::cell::{Cell, CellFamily};
use tycho_types::models::StdAddr;

use crate::error::Result;
use crate::wallet::Transfer;

/// nanoTON the faucet attaches to a mint (the minter forwards [`MINT_FORWARD_TON`]).
pub const MINT_ATTACHED_TON: u128 = 200_000_000;
/// nanoTON the minter sends on with the `internal_transfer` that deploys the jetton wallet.
pub const MINT_FORWARD_TON: u128 = 100_000_000;
/// TON has 9 decimals.
pub const TON_DECIMALS: u32 = 9;
/// The test USD jetton has 6 decimals, like USDT.
pub const USD_DECIMALS: u32 = 6;

/// A non-bounceable transfer of `amount` nanoTON (it reaches addresses that do not exist yet).
pub fn ton_transfer(to: &StdAddr, amount: u128) -> Transfer {
    Transfer {
        to: to.clone(),
        amount,
        bounce: false,
        body: None,
        init: None,
        mode: 3,
    }
}

/// The admin's `labelmint_mint` of `amount` test USD base units to `to` (its jetton wallet is
/// deployed by the mint; excess TON goes back to `to`).
pub fn usd_mint(minter: &StdAddr, to: &StdAddr, amount: u128, query_id: u32) -> Result<Transfer> {
    let body = LabelmintMint {
        query_id: u64::from(query_id),
        to: to.clone(),
        ton_amount: MINT_FORWARD_TON,
        master_msg: InternalTransfer {
            query_id: u64::from(query_id),
            amount,
            from: None,
            response_address: Some(to.clone()),
            forward_ton_amount: 0,
            forward_payload: ForwardPayload::Inline(Cell::empty_cell()),
        },
    }
    .build()?;
    Ok(Transfer {
        to: minter.clone(),
        amount: MINT_ATTACHED_TON,
        bounce: true,
        body: Some(body),
        init: None,
        mode: 3,
    })
}

/// Parses a decimal amount ("1", "2.5", "0.000001") into base units with `decimals` digits,
/// exactly (integers only: more fractional digits than `decimals` is an error, not rounding).
pub fn parse_units(text: &str, decimals: u32) -> Option<u128> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if frac.len() > decimals as usize
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let scale = 10u128.checked_pow(decimals)?;
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut frac_value: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..decimals as usize {
        frac_value = frac_value.checked_mul(10)?;
    }
    int.checked_mul(scale)?.checked_add(frac_value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse_exactly() {
        let cases: [(&str, u32, Option<u128>); 9] = [
            ("1", 9, Some(1_000_000_000)),
            ("2.5", 9, Some(2_500_000_000)),
            ("0.000000001", 9, Some(1)),
            (".5", 6, Some(500_000)),
            ("25", 6, Some(25_000_000)),
            ("0.0000001", 6, None),
            ("1e9", 9, None),
            ("-1", 9, None),
            ("", 9, None),
        ];
        for (text, decimals, want) in cases {
            assert_eq!(parse_units(text, decimals), want, "{text}");
        }
    }
}
