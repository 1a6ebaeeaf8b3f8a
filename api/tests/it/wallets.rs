//! Test wallets for ton_proof: v3r2, v4r2 and v5r1 StateInits built from @ton/ton's code
//! (api/data/wallets.json) with a test key, and proofs signed exactly as a wallet signs them.

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder};

/// The domain `Config::test` allows.
pub(crate) const DOMAIN: &str = "labelmint.test";

fn sha(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

pub(crate) fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Wallet code by name, from @ton/ton 16.3.0.
pub(crate) fn code(name: &str) -> Cell {
    let v: Value = serde_json::from_str(include_str!("../../data/wallets.json")).expect("json");
    let text = v["wallets"][name]["code"].as_str().expect("code");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64");
    Boc::decode(bytes).expect("boc")
}

/// A wallet that signs ton_proofs.
pub(crate) struct TestWallet {
    pub(crate) key: SigningKey,
    /// `0:<hex>`.
    pub(crate) address: String,
    pub(crate) hash: [u8; 32],
    /// base64 BOC of its StateInit (`None`: a deployed wallet sending none).
    pub(crate) state_init: Option<String>,
}

impl TestWallet {
    /// A `kind` wallet (`v3r2`, `v4r2`, `v5r1`) of the key from `seed`, or one whose code is
    /// `other_code` (an unknown wallet).
    pub(crate) fn new(kind: &str, seed: u8) -> TestWallet {
        Self::with_code(kind, seed, code(kind))
    }

    pub(crate) fn with_code(kind: &str, seed: u8, code: Cell) -> TestWallet {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let pk = key.verifying_key().to_bytes();
        let mut b = CellBuilder::new();
        if kind == "v5r1" {
            b.store_bit_one().expect("is_signature_allowed");
        }
        b.store_u32(0).expect("seqno");
        b.store_u32(if kind == "v5r1" {
            2_147_483_409
        } else {
            698_983_191
        })
        .expect("wallet id");
        b.store_raw(&pk, 256).expect("key");
        if kind != "v3r2" {
            b.store_bit_zero().expect("no plugins or extensions");
        }
        let data = b.build().expect("data");
        let init = labelmint_abi::state_init::state_init(code, data);
        let cell = CellBuilder::build_from(&init).expect("state init");
        let hash = cell.repr_hash().0;
        TestWallet {
            key,
            address: format!("0:{}", hex::encode(hash)),
            hash,
            state_init: Some(b64(&Boc::encode(&cell))),
        }
    }

    /// The spec's signature over (workchain, hash, domain, timestamp, payload).
    pub(crate) fn sign(
        &self,
        workchain: i32,
        hash: &[u8; 32],
        domain: &str,
        ts: u64,
        payload: &str,
    ) -> String {
        let mut m = b"ton-proof-item-v2/".to_vec();
        m.extend_from_slice(&workchain.to_be_bytes());
        m.extend_from_slice(hash);
        m.extend_from_slice(&(domain.len() as u32).to_le_bytes());
        m.extend_from_slice(domain.as_bytes());
        m.extend_from_slice(&ts.to_le_bytes());
        m.extend_from_slice(payload.as_bytes());
        let mut full = vec![0xff, 0xff];
        full.extend_from_slice(b"ton-connect");
        full.extend_from_slice(&sha(&m));
        b64(&self.key.sign(&sha(&full)).to_bytes())
    }

    /// A correct proof request for `payload`, now, for [`DOMAIN`].
    pub(crate) fn proof(&self, payload: &str) -> Value {
        let ts = now();
        json!({
            "address": self.address,
            "network": "2026",
            "public_key": hex::encode(self.key.verifying_key().to_bytes()),
            "proof": {
                "timestamp": ts,
                "domain": {"lengthBytes": DOMAIN.len(), "value": DOMAIN},
                "signature": self.sign(0, &self.hash, DOMAIN, ts, payload),
                "payload": payload,
                "state_init": self.state_init,
            }
        })
    }
}
