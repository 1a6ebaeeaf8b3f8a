//! The project escrow: incoming messages, signed requests, outgoing legs, storage and events.
//!
//! Every outgoing payment of an escrow carries a [`LegQueryId`] (`(leg << 32) | seqno`), so a
//! bounce tells which counter to restore.
//!
//! Split into `messages` (incoming messages, signed requests, outgoing legs and their query
//! ids), `storage` (routes, params, state) and `events`; everything is re-exported here. The
//! jetton recovery messages and events the escrow shares with the vault are in
//! [`crate::recovery`].

mod events;
mod messages;
mod storage;

pub use self::events::*;
pub use self::messages::*;
pub use self::storage::*;

/// The one default `forward_ton_amount` (nanoTON) of a jetton transfer that deposits into an
/// escrow: 0.04 TON (`EscrowAttach.jettonDepositForward` in contracts/wrappers/Escrow.ts; the
/// API and the CLI build deposit requests with it). It pays the escrow's handling of the
/// notification (~0.0025 TON for its own jetton) and, for a jetton of another kind, the return
/// transfer through the escrow's foreign wallet, which needs at least
/// [`FOREIGN_RETURN_MIN_FORWARD_TEST_USD`] for the test USD (~0.0106 TON for USDT): below that
/// the foreign jettons stay stuck in the escrow's foreign wallet. What the escrow does not spend
/// stays as its TON float.
pub const JETTON_DEPOSIT_FORWARD_TON: u128 = 40_000_000;

/// The smallest `forward_ton_amount` (nanoTON) at which a test USD of another master sent to a
/// jetton escrow goes back to its sender, measured in @ton/sandbox (TON's default config) by
/// contracts/tests/escrow-jetton.spec.ts.
pub const FOREIGN_RETURN_MIN_FORWARD_TEST_USD: u128 = 19_243_125;

// The default keeps at least twice the measured minimum (room for a rise in gas prices).
const _: () = assert!(JETTON_DEPOSIT_FORWARD_TON >= 2 * FOREIGN_RETURN_MIN_FORWARD_TEST_USD);

#[cfg(test)]
mod tests {
    use super::*;

    const WRAPPER: &str = include_str!("../../../contracts/wrappers/Escrow.ts");
    const STORAGE_TOLK: &str = include_str!("../../../contracts/contracts/escrow/storage.tolk");

    /// The text after `marker` up to the first character that is not a digit, `_` or `.`.
    fn number_after<'a>(text: &'a str, marker: &str) -> &'a str {
        let start = text
            .find(marker)
            .unwrap_or_else(|| panic!("{marker:?} not found"))
            + marker.len();
        let rest = &text[start..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        &rest[..end]
    }

    fn nano(ton: &str) -> u128 {
        let (whole, frac) = ton.split_once('.').unwrap_or((ton, ""));
        let frac = format!("{frac:0<9}");
        whole.parse::<u128>().unwrap() * 1_000_000_000 + frac.parse::<u128>().unwrap()
    }

    #[test]
    fn constants_equal_the_wrapper_and_the_contract() {
        assert_eq!(
            nano(number_after(WRAPPER, "jettonDepositForward: toNano('")),
            JETTON_DEPOSIT_FORWARD_TON
        );
        assert_eq!(
            number_after(WRAPPER, "FOREIGN_RETURN_MIN_FORWARD_TEST_USD = ")
                .replace('_', "")
                .parse::<u128>()
                .unwrap(),
            FOREIGN_RETURN_MIN_FORWARD_TEST_USD
        );
        assert_eq!(
            number_after(STORAGE_TOLK, "const MAX_FEE_BPS = ")
                .parse::<u16>()
                .unwrap(),
            MAX_FEE_BPS
        );
        assert_eq!(
            number_after(STORAGE_TOLK, "const RECOVERY_TIMEOUT = ")
                .parse::<u32>()
                .unwrap(),
            RECOVERY_TIMEOUT
        );
        assert_eq!(
            number_after(WRAPPER, "export const MAX_FEE_BPS = ")
                .parse::<u16>()
                .unwrap(),
            MAX_FEE_BPS
        );
        assert_eq!(
            number_after(WRAPPER, "export const RECOVERY_TIMEOUT = ")
                .parse::<u32>()
                .unwrap(),
            RECOVERY_TIMEOUT
        );
    }
}
