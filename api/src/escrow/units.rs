//! Amounts typed by people (`12.5`) into integer base units of a currency.

/// `12.5` in a currency of `decimals` decimals -> base units. More decimals than the currency
/// has, zero, a sign, an exponent or anything but digits and one dot is refused with a
/// sentence naming the input.
pub fn parse_units(s: &str, decimals: u8) -> Result<u128, String> {
    let bad = || format!("{s:?} is not an amount with at most {decimals} decimals");
    let (int, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > usize::from(decimals)
    {
        return Err(bad());
    }
    let scale = 10u128.checked_pow(u32::from(decimals)).ok_or_else(bad)?;
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let frac_v: u128 = if frac.is_empty() {
        0
    } else {
        let padded = format!("{frac:0<width$}", width = usize::from(decimals));
        padded.parse().map_err(|_| bad())?
    };
    int.checked_mul(scale)
        .and_then(|v| v.checked_add(frac_v))
        .filter(|v| *v > 0)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_units("12.5", 9), Ok(12_500_000_000));
        assert_eq!(parse_units("3.25", 6), Ok(3_250_000));
        assert_eq!(parse_units("0.000001", 6), Ok(1));
        assert_eq!(parse_units("7", 0), Ok(7));
        assert_eq!(parse_units(".5", 9), Ok(500_000_000));
        for bad in [
            "",
            ".",
            "1.0000001",
            "-1",
            "1e3",
            "0",
            "1.2.3",
            "abc",
            "+1",
            " ",
        ] {
            assert!(parse_units(bad, 6).is_err(), "{bad}");
        }
    }
}
