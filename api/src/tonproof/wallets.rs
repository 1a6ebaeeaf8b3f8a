//! The wallets whose StateInit a ton_proof may carry, known by their code's hash, and where
//! each keeps its public key.
//!
//! The hashes are those of the code cells `@ton/ton` 16.3.0 deploys (the version the repo pins
//! in contracts/): `api/data/wallets.json`, written by `api/scripts/wallet-vectors.js`, holds
//! those code BOCs and a StateInit of each built by `@ton/ton`, and the tests below prove the
//! constants, the address check and the key reading against them. (tonlib-core 0.26 has the
//! same table; it is not a dependency: it would bring a second TON cell library beside
//! tycho-types.)

use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, HashBytes};
use tycho_types::models::StateInit;

use crate::tonproof::ProofFault;

/// A wallet contract this API reads keys from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletKind {
    /// Wallet v3r2: `seqno:u32 subwallet:u32 public_key:bits256`.
    V3R2,
    /// Wallet v4r2: `seqno:u32 subwallet:u32 public_key:bits256 plugins:(Maybe ^Cell)`.
    V4R2,
    /// Wallet v5r1: `is_signature_allowed:bool seqno:u32 wallet_id:u32 public_key:bits256
    /// extensions:(Maybe ^Cell)`.
    V5R1,
}

/// Code hash (hex) of wallet v3r2.
pub const V3R2_CODE_HASH: &str = "84dafa449f98a6987789ba232358072bc0f76dc4524002a5d0918b9a75d2d599";
/// Code hash (hex) of wallet v4r2.
pub const V4R2_CODE_HASH: &str = "feb5ff6820e2ff0d9483e7e0d62c817d846789fb4ae580c878866d959dabd5c0";
/// Code hash (hex) of wallet v5r1.
pub const V5R1_CODE_HASH: &str = "20834b7b72b112147e1b2fb457b84e74d1a30f04f737d4f62a668e9552d2b72f";

impl WalletKind {
    /// Every kind.
    pub const ALL: [WalletKind; 3] = [WalletKind::V3R2, WalletKind::V4R2, WalletKind::V5R1];

    /// Its name (`v3r2`, ...).
    pub fn name(self) -> &'static str {
        match self {
            WalletKind::V3R2 => "v3r2",
            WalletKind::V4R2 => "v4r2",
            WalletKind::V5R1 => "v5r1",
        }
    }

    /// Its code hash (hex).
    pub fn code_hash(self) -> &'static str {
        match self {
            WalletKind::V3R2 => V3R2_CODE_HASH,
            WalletKind::V4R2 => V4R2_CODE_HASH,
            WalletKind::V5R1 => V5R1_CODE_HASH,
        }
    }

    /// The kind whose code has this hash.
    pub fn by_code_hash(hash: &HashBytes) -> Option<WalletKind> {
        let hex = hex::encode(hash.0);
        WalletKind::ALL.into_iter().find(|k| k.code_hash() == hex)
    }

    /// The public key in this kind's data cell.
    pub fn public_key(self, data: &Cell) -> Option<[u8; 32]> {
        let mut s = data.as_slice().ok()?;
        if self == WalletKind::V5R1 {
            s.load_bit().ok()?;
        }
        s.load_u32().ok()?;
        s.load_u32().ok()?;
        Some(s.load_u256().ok()?.0)
    }
}

/// The key of the wallet whose StateInit BOC is `boc`, after checking that the StateInit's
/// hash is `address_hash` and its code a known wallet's.
pub fn key_from_state_init(
    boc: &[u8],
    address_hash: &[u8; 32],
) -> Result<(WalletKind, [u8; 32]), (ProofFault, String)> {
    let cell = Boc::decode(boc).map_err(|e| {
        (
            ProofFault::StateInitMismatch,
            format!("state_init is not a BOC: {e}"),
        )
    })?;
    if cell.repr_hash().0 != *address_hash {
        return Err((
            ProofFault::StateInitMismatch,
            "the StateInit's hash is not the address's".into(),
        ));
    }
    let init: StateInit = cell.parse().map_err(|e| {
        (
            ProofFault::StateInitMismatch,
            format!("state_init is not a StateInit: {e}"),
        )
    })?;
    let code = init.code.ok_or((
        ProofFault::UnknownWallet,
        "the StateInit has no code".to_owned(),
    ))?;
    let kind = WalletKind::by_code_hash(code.repr_hash()).ok_or((
        ProofFault::UnknownWallet,
        format!(
            "code hash {} is not wallet v3r2, v4r2 or v5r1",
            hex::encode(code.repr_hash().0)
        ),
    ))?;
    let key = init.data.as_ref().and_then(|d| kind.public_key(d)).ok_or((
        ProofFault::UnknownWallet,
        format!("the data of this {} wallet has no public key", kind.name()),
    ))?;
    Ok((kind, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(s: &serde_json::Value) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(s.as_str().expect("text"))
            .expect("base64")
    }

    /// The constants are the hashes of @ton/ton's code, and @ton/ton's StateInits give their
    /// addresses and keys.
    #[test]
    fn against_ton_ton() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../data/wallets.json")).expect("json");
        let key: [u8; 32] = hex::decode(v["publicKey"].as_str().expect("key"))
            .expect("hex")
            .try_into()
            .expect("32");
        for kind in WalletKind::ALL {
            let w = &v["wallets"][kind.name()];
            let code = Boc::decode(b64(&w["code"])).expect("code");
            assert_eq!(hex::encode(code.repr_hash().0), kind.code_hash());
            assert_eq!(w["codeHash"].as_str(), Some(kind.code_hash()));
            let addr = w["address"].as_str().expect("address");
            let hash: [u8; 32] = hex::decode(&addr[2..])
                .expect("hex")
                .try_into()
                .expect("32");
            let (k, pk) = key_from_state_init(&b64(&w["stateInit"]), &hash).expect("accepted");
            assert_eq!((k, pk), (kind, key));
            let mut other = hash;
            other[0] ^= 1;
            assert_eq!(
                key_from_state_init(&b64(&w["stateInit"]), &other).map_err(|e| e.0),
                Err(ProofFault::StateInitMismatch)
            );
        }
    }
}
