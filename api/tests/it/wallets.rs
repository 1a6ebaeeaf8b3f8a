//! Test wallets for ton_proof: v3r2, v4r2 and v5r1 StateInits built from @ton/ton's code
//! (api/data/wallets.json) with a test key, and proofs signed exactly as a wallet signs them.

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, CellFamily as _};

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

/// A wallet that signs ton_proofs (and, for v4r2 and v5r1, external messages).
pub(crate) struct TestWallet {
    /// `v3r2`, `v4r2`, `v5r1`.
    pub(crate) kind: String,
    /// The wallet id in its data.
    pub(crate) wallet_id: u32,
    /// Its StateInit.
    pub(crate) init: tycho_types::models::StateInit,
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
        let wallet_id = if kind == "v5r1" {
            2_147_483_409
        } else {
            698_983_191
        };
        b.store_u32(wallet_id).expect("wallet id");
        b.store_raw(&pk, 256).expect("key");
        if kind != "v3r2" {
            b.store_bit_zero().expect("no plugins or extensions");
        }
        let data = b.build().expect("data");
        let init = labelmint_abi::state_init::state_init(code, data);
        let cell = CellBuilder::build_from(&init).expect("state init");
        let init = init.clone();
        let hash = cell.repr_hash().0;
        TestWallet {
            kind: kind.to_owned(),
            wallet_id,
            init,
            key,
            address: format!("0:{}", hex::encode(hash)),
            hash,
            state_init: Some(b64(&Boc::encode(&cell))),
        }
    }

    /// Its address.
    pub(crate) fn std_addr(&self) -> tycho_types::models::StdAddr {
        labelmint_abi::address::parse_raw(&self.address).expect("address")
    }

    /// The external message that makes this wallet send the messages of a TonConnect
    /// `sendTransaction` request, signed as the wallet app signs it (v4r2: signature first,
    /// op 0, a mode and a reference per message; v5r1: `signed_external` with an out-action
    /// list, signature last). Every message goes with mode 3 (pay fees separately, ignore
    /// errors: v5r1 requires +2 for externals). `deploy`: carry the wallet's StateInit (its
    /// first message).
    pub(crate) fn external(&self, seqno: u32, request: &Value, deploy: bool) -> Cell {
        let valid_until =
            u32::try_from(request["valid_until"].as_u64().expect("valid_until")).expect("u32");
        let msgs: Vec<Cell> = request["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(internal_of)
            .collect();
        let body = match self.kind.as_str() {
            "v4r2" => {
                let moded: Vec<(u8, Cell)> = msgs.iter().map(|m| (3, m.clone())).collect();
                labelmint_devnet::wallet::v4r2_signed_body(
                    &self.key,
                    self.wallet_id,
                    seqno,
                    valid_until,
                    &moded,
                )
                .expect("v4r2 body")
            }
            "v5r1" => {
                // out_list$_ prev:^OutList action:(action_send_msg#0ec3c86d mode:uint8
                // out_msg:^MessageRelaxed), starting from the empty list.
                let mut list = Cell::empty_cell();
                for m in &msgs {
                    let mut l = CellBuilder::new();
                    l.store_reference(list).expect("prev");
                    l.store_u32(0x0ec3_c86d).expect("action_send_msg");
                    l.store_u8(3).expect("mode");
                    l.store_reference(m.clone()).expect("msg");
                    list = l.build().expect("out list");
                }
                let mut u = CellBuilder::new();
                u.store_u32(0x7369_676e).expect("signed_external");
                u.store_u32(self.wallet_id).expect("id");
                u.store_u32(valid_until).expect("valid_until");
                u.store_u32(seqno).expect("seqno");
                u.store_bit_one().expect("out actions present");
                u.store_reference(list).expect("out actions");
                u.store_bit_zero().expect("no extended actions");
                let unsigned = u.build().expect("unsigned");
                let sig = self.key.sign(unsigned.repr_hash().as_slice()).to_bytes();
                let mut b = CellBuilder::new();
                b.store_slice(unsigned.as_slice().expect("slice"))
                    .expect("body");
                b.store_raw(&sig, 512).expect("signature");
                b.build().expect("body")
            }
            other => panic!("no external messages for {other}"),
        };
        labelmint_devnet::wallet::external_message(
            &self.std_addr(),
            deploy.then_some(&self.init),
            body,
        )
        .expect("external")
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

/// A TonConnect message (`address`, `amount`, `stateInit`, `payload`) as the internal message
/// a wallet sends: the bounce flag from the user-friendly address's tag.
fn internal_of(m: &Value) -> Cell {
    let friendly = m["address"].as_str().expect("address");
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(friendly)
        .expect("user-friendly address");
    let bounce = raw[0] & 0x40 == 0;
    let to = labelmint_abi::address::parse_any(friendly).expect("address");
    let boc = |v: &Value| {
        Boc::decode(
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str().expect("base64"))
                .expect("base64"),
        )
        .expect("BOC")
    };
    let init = m.get("stateInit").filter(|v| v.is_string()).map(|v| {
        boc(v)
            .parse::<tycho_types::models::StateInit>()
            .expect("StateInit")
    });
    labelmint_devnet::wallet::internal_message(&labelmint_devnet::wallet::Transfer {
        to,
        amount: m["amount"]
            .as_str()
            .expect("amount")
            .parse()
            .expect("nanoTON"),
        bounce,
        body: Some(boc(&m["payload"])),
        init,
        mode: 3,
    })
    .expect("internal message")
}
