//! A JSON object body read field by field, so that every missing, mistyped or unknown field is
//! a 400 problem naming it (serde's own errors name a line and column).

use serde_json::{Map, Value};

use crate::problem::ApiError;
use crate::wire::clip;

/// A request body: a JSON object (an empty body is `{}`).
#[derive(Debug)]
pub struct Body(Map<String, Value>);

impl Body {
    /// Parses `bytes`; fields outside `allowed` are refused.
    pub fn parse(bytes: &[u8], allowed: &[&str]) -> Result<Body, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::param("body", format!("not JSON: {e}")))?;
        let Value::Object(map) = v else {
            return Err(ApiError::param("body", "must be a JSON object"));
        };
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::param(
                &clip(k),
                format!("unknown field; the fields are {}", allowed.join(", ")),
            ));
        }
        Ok(Body(map))
    }

    /// The raw value of `name`, if present and not null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A string field, if present.
    pub fn str(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::param(name, "must be a string")),
        }
    }

    /// A required string field.
    pub fn required_str(&self, name: &str) -> Result<&str, ApiError> {
        self.str(name)?
            .ok_or_else(|| ApiError::param(name, "is required"))
    }
}

/// A deadline: RFC 3339 text or unix seconds, strictly after `now` and at most ten years
/// later.
pub fn deadline(v: Option<&Value>, now: u64) -> Result<u32, ApiError> {
    const FIELD: &str = "deadline";
    const TEN_YEARS: u64 = 3_652 * 86_400;
    let t: i64 = match v {
        None => return Err(ApiError::param(FIELD, "is required")),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| ApiError::param(FIELD, "unix seconds must be an integer"))?,
        Some(Value::String(s)) => {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|_| {
                    ApiError::param(
                        FIELD,
                        format!(
                            "{:?} is not an RFC 3339 time (2027-03-01T00:00:00Z)",
                            clip(s)
                        ),
                    )
                })?
                .unix_timestamp()
        }
        Some(_) => {
            return Err(ApiError::param(
                FIELD,
                "must be RFC 3339 text or unix seconds",
            ));
        }
    };
    let now_i = i64::try_from(now).unwrap_or(i64::MAX);
    if t <= now_i {
        return Err(ApiError::param(FIELD, "must be in the future"));
    }
    if t - now_i > i64::try_from(TEN_YEARS).unwrap_or(i64::MAX) {
        return Err(ApiError::param(FIELD, "must be within ten years"));
    }
    u32::try_from(t).map_err(|_| ApiError::param(FIELD, "does not fit the escrow's uint32"))
}

/// The largest amount a message can carry: TL-B `Coins` is below 2^120 base units (with the
/// TON a message attaches on top, so leave a margin of 2^100).
const MAX_AMOUNT: u128 = (1 << 120) - (1 << 100);

/// An amount in the currency's unit (`"12.5"`) -> base units; more than a message can carry
/// is a 400 naming the field, never a failed build later.
pub fn amount(field: &str, s: &str, decimals: u8) -> Result<u128, ApiError> {
    let v = crate::escrow::parse_units(s, decimals).map_err(|e| ApiError::param(field, e))?;
    if v > MAX_AMOUNT {
        return Err(ApiError::param(
            field,
            format!("{s:?} is more than a TON message can carry (Coins < 2^120 base units)"),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod amount_tests {
    use super::*;

    #[test]
    fn amounts_beyond_coins_are_refused_by_field() {
        assert_eq!(amount("budget", "12.5", 9).ok(), Some(12_500_000_000));
        // 10^29 TON = 10^38 nanoTON: fits u128, not Coins.
        let e = amount("budget", "100000000000000000000000000000", 9).expect_err("too much");
        assert!(e.to_string().contains("more than a TON message"), "{e}");
        assert!(amount("amount", &MAX_AMOUNT.to_string(), 0).is_ok());
        assert!(amount("amount", &(MAX_AMOUNT + 1).to_string(), 0).is_err());
    }
}

/// RFC 3339 (UTC) of unix seconds.
pub fn rfc3339(t: u32) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::from(t))
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines() {
        let now = 1_800_000_000;
        let ok = |v: Value| deadline(Some(&v), now);
        // now = 2027-01-15T08:00:00Z.
        assert_eq!(ok(Value::from(now + 60)).ok(), Some(1_800_000_060));
        assert_eq!(
            ok(Value::from("2027-01-15T09:00:00+00:30")).ok(),
            Some(1_800_001_800)
        );
        assert!(
            ok(Value::from("2027-01-15T08:00:00+02:00")).is_err(),
            "06:00Z: past"
        );
        assert!(ok(Value::from("2030-01-01T00:00:00Z")).is_ok());
        for bad in [
            Value::from(now),
            Value::from(now - 1),
            Value::from(now + 3_653 * 86_400),
            Value::from("tomorrow"),
            Value::from("2030-01-01"),
            Value::from(1.5),
            Value::Bool(true),
        ] {
            assert!(ok(bad.clone()).is_err(), "{bad}");
        }
        assert!(deadline(None, now).is_err());
    }
}
