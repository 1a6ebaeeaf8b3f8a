//! Exit codes of the contracts, generated at build time from
//! `contracts/contracts/<folder>/errors.tolk` (every `const NAME = NUMBER` with its `///` doc),
//! so no code is ever retyped in Rust. One module per contract folder (`escrow`, `vault`,
//! `jetton`, ...), plus [`ALL`] and [`describe`] for error reporting.
//!
//! Ranges (unique project-wide, never reused): common 100-119, escrow 200-299, vault 300-399,
//! jetton 700-749 (plus 45, USDT's `error::contract_locked`, which the test USD keeps for a
//! locked wallet). The tests check uniqueness, ranges and that every code is documented.

/// One exit code of one contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCode {
    /// The contract folder (`escrow`, `vault`, `jetton`, `common`).
    pub contract: &'static str,
    /// The Tolk constant name (`ERR_BAD_SEQNO`).
    pub name: &'static str,
    /// The TVM exit code.
    pub code: i32,
    /// The `///` doc comment, joined into one line.
    pub doc: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/exit_codes.rs"));

/// The exit code `code` thrown by a LabelMint contract (codes are unique project-wide).
pub fn describe(code: i32) -> Option<&'static ExitCode> {
    ALL.iter().find(|c| c.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn range_of(contract: &str) -> Option<std::ops::RangeInclusive<i32>> {
        match contract {
            "common" => Some(100..=119),
            "escrow" => Some(200..=299),
            "vault" => Some(300..=399),
            "jetton" => Some(700..=749),
            _ => None,
        }
    }

    #[test]
    fn codes_are_unique_documented_and_in_range() {
        assert!(!ALL.is_empty(), "no errors.tolk was read");
        let mut seen = BTreeMap::new();
        for c in ALL {
            if let Some(other) = seen.insert(c.code, c) {
                panic!("exit code {} used twice: {other:?} and {c:?}", c.code);
            }
            assert!(!c.doc.is_empty(), "{c:?} has no /// doc comment");
            if c.contract == "jetton" && c.name == "ERR_CONTRACT_LOCKED" {
                // USDT's error::contract_locked, kept by the test USD for the same case
                assert_eq!(c.code, 45);
                continue;
            }
            let range = range_of(c.contract)
                .unwrap_or_else(|| panic!("no exit-code range for folder {}", c.contract));
            assert!(range.contains(&c.code), "{c:?} is outside {range:?}");
        }
    }

    #[test]
    fn generated_modules_match_the_table() {
        assert_eq!(
            describe(escrow::ERR_BAD_SEQNO).map(|c| c.name),
            Some("ERR_BAD_SEQNO")
        );
        assert_eq!(
            describe(vault::ERR_ALREADY_PROCESSED).map(|c| c.contract),
            Some("vault")
        );
        assert_eq!(describe(jetton::ERR_NOT_OWNER).map(|c| c.code), Some(701));
        assert_eq!(describe(0), None);
    }
}
