//! The compiled contract code, embedded from `contracts/build/<Name>.compiled.json`.
//!
//! build.rs decodes each BOC and checks its hash against the JSON's `hash` at build time, so
//! decoding the embedded bytes here cannot fail; a changed contract is picked up by the next
//! `cargo build` after `npm run build`.

use std::sync::LazyLock;

use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, HashBytes};

include!(concat!(env!("OUT_DIR"), "/code.rs"));

/// A LabelMint contract whose code this crate embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contract {
    /// The project escrow (`Escrow`).
    Escrow,
    /// The payout vault (`PayoutVault`).
    PayoutVault,
    /// The test USD jetton minter (`JettonMinter`).
    JettonMinter,
    /// The test USD jetton wallet (`JettonWallet`).
    JettonWallet,
}

fn decode(boc: &'static [u8]) -> Cell {
    // build.rs decoded these exact bytes and checked their hash; failure here is impossible
    // short of a corrupted binary.
    #[allow(clippy::expect_used)]
    Boc::decode(boc).expect("embedded code BOC was verified by build.rs")
}

static ESCROW: LazyLock<Cell> = LazyLock::new(|| decode(ESCROW_BOC));
static PAYOUT_VAULT: LazyLock<Cell> = LazyLock::new(|| decode(PAYOUT_VAULT_BOC));
static JETTON_MINTER: LazyLock<Cell> = LazyLock::new(|| decode(JETTON_MINTER_BOC));
static JETTON_WALLET: LazyLock<Cell> = LazyLock::new(|| decode(JETTON_WALLET_BOC));

impl Contract {
    /// Every embedded contract.
    pub const ALL: [Contract; 4] = [
        Contract::Escrow,
        Contract::PayoutVault,
        Contract::JettonMinter,
        Contract::JettonWallet,
    ];

    /// The build name (`contracts/build/<name>.compiled.json`).
    pub fn name(self) -> &'static str {
        match self {
            Contract::Escrow => "Escrow",
            Contract::PayoutVault => "PayoutVault",
            Contract::JettonMinter => "JettonMinter",
            Contract::JettonWallet => "JettonWallet",
        }
    }

    /// The code cell.
    pub fn code(self) -> Cell {
        match self {
            Contract::Escrow => ESCROW.clone(),
            Contract::PayoutVault => PAYOUT_VAULT.clone(),
            Contract::JettonMinter => JETTON_MINTER.clone(),
            Contract::JettonWallet => JETTON_WALLET.clone(),
        }
    }

    /// The code's representation hash (from the JSON, checked at build time).
    pub fn code_hash(self) -> HashBytes {
        HashBytes(match self {
            Contract::Escrow => ESCROW_CODE_HASH,
            Contract::PayoutVault => PAYOUT_VAULT_CODE_HASH,
            Contract::JettonMinter => JETTON_MINTER_CODE_HASH,
            Contract::JettonWallet => JETTON_WALLET_CODE_HASH,
        })
    }

    /// The Tolk compiler version that built the code.
    pub fn tolk_version(self) -> &'static str {
        match self {
            Contract::Escrow => ESCROW_TOLK_VERSION,
            Contract::PayoutVault => PAYOUT_VAULT_TOLK_VERSION,
            Contract::JettonMinter => JETTON_MINTER_TOLK_VERSION,
            Contract::JettonWallet => JETTON_WALLET_TOLK_VERSION,
        }
    }
}

/// Code of the project escrow.
pub fn escrow_code() -> Cell {
    Contract::Escrow.code()
}

/// Code of the payout vault.
pub fn vault_code() -> Cell {
    Contract::PayoutVault.code()
}

/// Code of the test USD jetton wallet.
pub fn jetton_wallet_code() -> Cell {
    Contract::JettonWallet.code()
}

/// Code of the test USD jetton minter.
pub fn jetton_minter_code() -> Cell {
    Contract::JettonMinter.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_hashes_match_the_compiled_json() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/build");
        for c in Contract::ALL {
            let path = format!("{dir}/{}.compiled.json", c.name());
            let text = std::fs::read_to_string(&path).unwrap();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let hash = json["hash"].as_str().unwrap().to_lowercase();
            assert_eq!(c.code().repr_hash().to_string(), hash, "{path}");
            assert_eq!(c.code_hash().to_string(), hash, "{path}");
            assert_eq!(c.tolk_version(), json["tolkVersion"].as_str().unwrap_or(""));
        }
        assert_eq!(escrow_code().repr_hash(), &Contract::Escrow.code_hash());
        assert_eq!(vault_code().repr_hash(), &Contract::PayoutVault.code_hash());
        assert_eq!(
            jetton_wallet_code().repr_hash(),
            &Contract::JettonWallet.code_hash()
        );
        assert_eq!(
            jetton_minter_code().repr_hash(),
            &Contract::JettonMinter.code_hash()
        );
    }
}
