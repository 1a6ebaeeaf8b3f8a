//! Address forms: raw (`<workchain>:<64 hex>`, lowercase, as every table stores them) and
//! user-friendly (TEP-2 base64url: tag byte 0x11 bounceable / 0x51 non-bounceable, +0x80 on
//! testnet, workchain byte, 32-byte hash, CRC16-XMODEM).
//!
//! The one implementation the CLI and the API share. Built on tycho-types'
//! [`DisplayBase64StdAddr`] and [`StdAddr::from_str_ext`] (already the workspace's cell library;
//! tonlib-core would be a second one for the same 40 lines).
//!
//! Which flag: contracts (escrow, vault, jetton master) are shown bounceable (`EQ…`/`kQ…`),
//! wallets of people (workers, clients) non-bounceable (`UQ…`/`0Q…`), as TON wallets expect;
//! the testnet flag is on for testnet and the devnet, off for mainnet.

use tycho_types::cell::HashBytes;
use tycho_types::models::{Base64StdAddrFlags, DisplayBase64StdAddr, StdAddr, StdAddrFormat};

use crate::error::{Error, Result};

/// The user-friendly (base64url) form of `addr`.
pub fn friendly(addr: &StdAddr, bounceable: bool, testnet: bool) -> String {
    DisplayBase64StdAddr {
        addr,
        flags: Base64StdAddrFlags {
            testnet,
            base64_url: true,
            bounceable,
        },
    }
    .to_string()
}

/// The user-friendly form of a raw address string (`0:<64 hex>`); `None` if it is not one
/// (or its workchain does not fit a byte).
pub fn friendly_raw(raw: &str, bounceable: bool, testnet: bool) -> Option<String> {
    parse_raw(raw)
        .ok()
        .map(|a| friendly(&a, bounceable, testnet))
}

/// The raw form, lowercase: `0:ab12…`.
pub fn raw(addr: &StdAddr) -> String {
    format!(
        "{}:{}",
        addr.workchain,
        hex::encode(addr.address.as_array())
    )
}

/// Parses the raw form only (`<workchain>:<64 hex>`, any case).
pub fn parse_raw(s: &str) -> Result<StdAddr> {
    let bad = |reason: &str| Error::BadAddress {
        input: s.chars().take(100).collect(),
        reason: reason.to_owned(),
    };
    let (wc, hex_part) = s
        .split_once(':')
        .ok_or_else(|| bad("expected <workchain>:<64 hex>"))?;
    let wc: i8 = wc
        .parse()
        .map_err(|_| bad("the workchain is not an integer in -128..=127"))?;
    if hex_part.len() != 64 {
        return Err(bad("the account id is not 64 hex digits"));
    }
    let mut account = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut account)
        .map_err(|_| bad("the account id is not 64 hex digits"))?;
    Ok(StdAddr::new(wc, HashBytes(account)))
}

/// Parses either form: raw (`0:<64 hex>`) or user-friendly (either base64 alphabet, any flags).
pub fn parse_any(s: &str) -> Result<StdAddr> {
    let s = s.trim();
    if s.contains(':') {
        return parse_raw(s);
    }
    let (addr, _flags) =
        StdAddr::from_str_ext(s, StdAddrFormat::any()).map_err(|e| Error::BadAddress {
            input: s.chars().take(100).collect(),
            reason: format!("not a raw (0:<64 hex>) or user-friendly (base64) address: {e}"),
        })?;
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friendly_addresses_match_known_forms() {
        // The zero address: well-known forms.
        let zero = format!("0:{}", "0".repeat(64));
        assert_eq!(
            friendly_raw(&zero, true, false).as_deref(),
            Some("EQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAM9c")
        );
        assert_eq!(
            friendly_raw(&zero, false, false).as_deref(),
            Some("UQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAJKZ")
        );
        let t = friendly_raw(&zero, true, true).expect("testnet");
        assert!(t.starts_with("kQ"), "{t}");
        let t = friendly_raw(&zero, false, true).expect("testnet");
        assert!(t.starts_with("0Q"), "{t}");
        // Round trips through both parsers.
        assert_eq!(raw(&parse_any(&t).expect("parse")), zero);
        assert_eq!(raw(&parse_any(&zero).expect("parse")), zero);
        let upper = format!("-1:{}", "AB".repeat(32));
        assert_eq!(raw(&parse_raw(&upper).expect("raw")), upper.to_lowercase());
    }

    #[test]
    fn garbage_is_an_error() {
        for s in [
            "",
            "0:",
            "0:zz",
            "x:00",
            "300:00",
            "EQ123",
            &format!("0:{}", "0".repeat(63)),
        ] {
            assert!(
                matches!(parse_any(s), Err(Error::BadAddress { .. })),
                "{s:?}"
            );
        }
    }
}
