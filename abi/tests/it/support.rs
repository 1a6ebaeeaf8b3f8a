//! Vectors file, JSON comparison and the table of vector kinds.

use std::fmt::Debug;

use labelmint_abi::escrow::*;
use labelmint_abi::jetton::*;
use labelmint_abi::recovery::*;
use labelmint_abi::vault::*;
use labelmint_abi::{Error, Layout};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tycho_types::boc::Boc;
use tycho_types::cell::Cell;

/// contracts/vectors/abi.json, written by `npm run vectors`.
pub(crate) const VECTORS: &str = include_str!("../../../contracts/vectors/abi.json");

/// One vector (see contracts/scripts/writeVectors.ts for the format).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Vector {
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) fields: Value,
    pub(crate) boc: String,
    pub(crate) hash: String,
    pub(crate) signature: Option<String>,
    pub(crate) code_hash: Option<String>,
    pub(crate) address: Option<String>,
}

impl Vector {
    pub(crate) fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// The TS cell, checked against the vector's hash.
    pub(crate) fn cell(&self) -> Result<Cell, String> {
        let cell = Boc::decode_hex(&self.boc).map_err(|e| format!("bad boc: {e}"))?;
        let hash = cell.repr_hash().to_string();
        if hash != self.hash {
            return Err(format!("boc hash {hash} != vector hash {}", self.hash));
        }
        Ok(cell)
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    #[allow(dead_code)]
    comment: String,
    vectors: Vec<Vector>,
}

pub(crate) fn vectors() -> Vec<Vector> {
    let doc: Doc = serde_json::from_str(VECTORS).expect("contracts/vectors/abi.json parses");
    assert!(!doc.vectors.is_empty(), "no vectors");
    doc.vectors
}

/// JSON equality where two different hex strings are also equal when both are BOCs of the same
/// cell (BOC framing — CRC, index, cell order — is not part of the ABI; the cell is).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_eq(v, w))
        }
        (Value::String(x), Value::String(y)) if x != y => {
            match (Boc::decode_hex(x), Boc::decode_hex(y)) {
                (Ok(c), Ok(d)) => c.repr_hash() == d.repr_hash(),
                _ => false,
            }
        }
        _ => a == b,
    }
}

/// Parses any cell as one kind and shows the result as JSON.
pub(crate) type ParseJson = fn(&Cell) -> Result<Value, Error>;

/// What every kind can do with a vector and with arbitrary cells.
pub(crate) struct Kind {
    pub(crate) name: &'static str,
    /// Both directions: fields -> cell == the TS cell; TS cell -> fields == the vector's.
    pub(crate) check: fn(&Vector) -> Result<(), String>,
    /// Parses any cell as this kind and shows the result as JSON (for hostile-input tests).
    pub(crate) parse_json: Option<ParseJson>,
}

pub(crate) fn check_layout<T>(v: &Vector) -> Result<(), String>
where
    T: Layout + Serialize + DeserializeOwned + Debug + PartialEq,
{
    if T::NAME != v.kind {
        return Err(format!("dispatched to {} ", T::NAME));
    }
    let value: T =
        serde_json::from_value(v.fields.clone()).map_err(|e| format!("fields -> Rust: {e}"))?;
    let built = value.build().map_err(|e| format!("Rust build: {e}"))?;
    let ts = v.cell()?;
    if built.repr_hash() != ts.repr_hash() {
        return Err(format!(
            "Rust build differs from TS:\n  rust {}\n  ts   {}",
            Boc::encode_hex(&built),
            v.boc
        ));
    }
    let parsed = T::parse(&ts).map_err(|e| format!("Rust parse of the TS cell: {e}"))?;
    if parsed != value {
        return Err(format!("parse(boc) != fields:\n  {parsed:?}\n  {value:?}"));
    }
    let json = serde_json::to_value(&parsed).map_err(|e| format!("Rust -> JSON: {e}"))?;
    if !json_eq(&json, &v.fields) {
        return Err(format!("JSON differs:\n  rust {json}\n  ts   {}", v.fields));
    }
    Ok(())
}

fn parse_json<T: Layout + Serialize>(cell: &Cell) -> Result<Value, Error> {
    let v = T::parse(cell)?;
    // A value that parses but has no JSON form (a malformed query set) shows as null.
    Ok(serde_json::to_value(&v).unwrap_or(Value::Null))
}

macro_rules! layouts {
    ($($t:ty),* $(,)?) => {
        vec![$(Kind {
            name: <$t as Layout>::NAME,
            check: check_layout::<$t>,
            parse_json: Some(parse_json::<$t>),
        }),*]
    };
}

/// Every kind a vector may have. A vector of any other kind fails the tests.
pub(crate) fn kinds() -> Vec<Kind> {
    let mut k = layouts![
        JettonTransfer,
        InternalTransfer,
        TransferNotification,
        Excesses,
        Burn,
        BurnNotification,
        ProvideWalletAddress,
        TakeWalletAddress,
        LabelmintMint,
        LabelmintChangeAdmin,
        CallTo,
        SetStatus,
        JettonWalletStorage,
        JettonMinterStorage,
        EscrowDeploy,
        EscrowDeposit,
        ReleaseRequest,
        EscrowRelease,
        CloseRequest,
        EscrowClose,
        EscrowRefund,
        PlatformFee,
        EscrowRefundPayment,
        EscrowRoutes,
        EscrowParams,
        EscrowStorage,
        EvDeposit,
        EvRelease,
        EvReleaseBounced,
        EvRefund,
        EvRefundBounced,
        EvClosed,
        EvJettonWalletLearned,
        JettonRecover,
        JettonRecovery,
        EvJettonRecovered,
        EvJettonRecoveryFailed,
        VaultBatchRequest,
        VaultBatch,
        VaultFund,
        VaultTopUp,
        VaultFreeze,
        VaultUnfreeze,
        VaultSetLimits,
        VaultSetSigner,
        VaultSetAdmin,
        VaultParams,
        VaultStats,
        VaultStorage,
        EvVaultFunded,
        EvBatchExecuted,
        EvPayoutBounced,
        EvAdminChange,
        EvGasToppedUp,
    ];
    k.extend([
        Kind {
            name: "payout_item",
            check: crate::vectors::check_payout_item,
            parse_json: Some(crate::vectors::payout_chain_json),
        },
        Kind {
            name: "payout_comment",
            check: crate::vectors::check_payout_comment,
            parse_json: Some(crate::vectors::payout_comment_json),
        },
        Kind {
            name: "signed_release_request",
            check: crate::vectors::check_signed::<ReleaseRequest>,
            parse_json: None,
        },
        Kind {
            name: "signed_close_request",
            check: crate::vectors::check_signed::<CloseRequest>,
            parse_json: None,
        },
        Kind {
            name: "signed_vault_batch_request",
            check: crate::vectors::check_signed::<VaultBatchRequest>,
            parse_json: None,
        },
        Kind {
            name: "escrow_address",
            check: crate::vectors::check_escrow_address,
            parse_json: None,
        },
        Kind {
            name: "vault_address",
            check: crate::vectors::check_vault_address,
            parse_json: None,
        },
        Kind {
            name: "jetton_wallet_address",
            check: crate::vectors::check_jetton_wallet_address,
            parse_json: None,
        },
    ]);
    k
}
