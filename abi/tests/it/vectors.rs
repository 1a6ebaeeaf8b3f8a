//! The shared vectors (contracts/vectors/abi.json, written from the TypeScript wrappers by
//! `npm run vectors`), checked in both directions: Rust build(fields) gives the TS cell, and
//! Rust parse(TS cell) gives the fields.

use std::collections::BTreeSet;

use ed25519_dalek::{Signer, SigningKey};
use labelmint_abi::code::Contract;
use labelmint_abi::escrow::{EscrowParams, EscrowStorage};
use labelmint_abi::jetton::JettonWalletStorage;
use labelmint_abi::state_init;
use labelmint_abi::vault::{
    PayoutItem, VaultConfig, VaultStorage, parse_payout_comment, payout_comment,
    payout_comment_text,
};
use labelmint_abi::{Error, Event, Layout, SignedRequest, opcodes};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tycho_types::cell::Cell;
use tycho_types::models::StdAddr;

use crate::support::{Kind, Vector, check_layout, json_eq, kinds, vectors};

fn find<'a>(kinds: &'a [Kind], name: &str) -> Option<&'a Kind> {
    kinds.iter().find(|k| k.name == name)
}

#[test]
fn every_vector_checks_in_both_directions() {
    let kinds = kinds();
    let mut failures = Vec::new();
    let mut checked = 0;
    for v in vectors() {
        let result = match find(&kinds, &v.kind) {
            Some(kind) => (kind.check)(&v),
            None => Err("unknown kind: add it to tests/it/support.rs".to_string()),
        };
        match result {
            Ok(()) => checked += 1,
            Err(e) => failures.push(format!("{}: {e}", v.id())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        failures.len() + checked,
        failures.join("\n")
    );
}

#[test]
fn every_kind_has_vectors_and_every_tag_a_kind() {
    let kinds = kinds();
    let present: BTreeSet<String> = vectors().into_iter().map(|v| v.kind).collect();
    let missing: Vec<_> = kinds
        .iter()
        .map(|k| k.name)
        .filter(|k| !present.contains(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "kinds without vectors: {missing:?}; add them to writeVectors.ts"
    );
    let names: BTreeSet<&str> = kinds.iter().map(|k| k.name).collect();
    assert_eq!(names.len(), kinds.len(), "a kind is listed twice");
    for (name, _) in opcodes::ALL {
        assert!(
            names.contains(name),
            "scheme constructor {name} has no vector kind"
        );
    }
}

// ------------------------------------------------------------------ payout items

/// A nested `{..., next: {...} | null}` item chain as a list of items.
fn flatten_chain(fields: &Value) -> Result<Vec<PayoutItem>, String> {
    let mut items = Vec::new();
    let mut cur = fields;
    while !cur.is_null() {
        let mut obj = cur.as_object().ok_or("item is not an object")?.clone();
        obj.remove("next").ok_or("item without next")?;
        items.push(serde_json::from_value(Value::Object(obj)).map_err(|e| e.to_string())?);
        cur = &cur["next"];
    }
    Ok(items)
}

/// A list of items as the nested JSON chain.
fn nest_chain(items: &[PayoutItem]) -> Value {
    let mut next = Value::Null;
    for item in items.iter().rev() {
        let mut obj = match serde_json::to_value(item) {
            Ok(Value::Object(o)) => o,
            _ => Map::new(),
        };
        obj.insert("next".into(), next);
        next = Value::Object(obj);
    }
    next
}

pub(crate) fn payout_chain_json(cell: &Cell) -> Result<Value, Error> {
    Ok(nest_chain(&PayoutItem::parse_list(cell)?))
}

pub(crate) fn check_payout_item(v: &Vector) -> Result<(), String> {
    let items = flatten_chain(&v.fields)?;
    let built = PayoutItem::build_list(&items)
        .map_err(|e| e.to_string())?
        .ok_or("empty chain")?;
    let ts = v.cell()?;
    if built.repr_hash() != ts.repr_hash() {
        return Err("Rust item chain differs from TS".into());
    }
    if items.len() == 1 && items[0].build().map_err(|e| e.to_string())? != ts {
        return Err("PayoutItem::build differs from TS".into());
    }
    let parsed = PayoutItem::parse_list(&ts).map_err(|e| e.to_string())?;
    if parsed != items || !json_eq(&nest_chain(&parsed), &v.fields) {
        return Err(format!("parse(boc) != fields: {parsed:?}"));
    }
    Ok(())
}

#[test]
fn every_event_vector_decodes_through_event() {
    let mut seen = 0;
    for v in vectors().into_iter().filter(|v| v.kind.starts_with("ev_")) {
        let cell = v.cell().unwrap();
        let event = Event::parse(&cell).unwrap_or_else(|e| panic!("{}: {e}", v.id()));
        assert_eq!(event.name(), v.kind, "{}", v.id());
        assert_eq!(
            event.build().unwrap().repr_hash(),
            cell.repr_hash(),
            "{}",
            v.id()
        );
        let json = serde_json::to_value(&event).unwrap();
        let expected = serde_json::json!({ "kind": v.kind, "fields": v.fields });
        assert!(json_eq(&json, &expected), "{}: {json}", v.id());
        assert_eq!(serde_json::from_value::<Event>(expected).unwrap(), event);
        seen += 1;
    }
    assert!(seen >= 24, "only {seen} event vectors");
}

// ------------------------------------------------------------------ payout comments

pub(crate) fn payout_comment_json(cell: &Cell) -> Result<Value, Error> {
    let item_id = parse_payout_comment(cell)?;
    Ok(serde_json::json!({ "item_id": item_id.to_string() }))
}

pub(crate) fn check_payout_comment(v: &Vector) -> Result<(), String> {
    let item_id: u64 = v.fields["item_id"]
        .as_str()
        .ok_or("no item_id")?
        .parse()
        .map_err(|e| format!("{e}"))?;
    let ts = v.cell()?;
    let built = payout_comment(item_id).map_err(|e| e.to_string())?;
    if built.repr_hash() != ts.repr_hash() {
        return Err("Rust payout comment differs from TS".into());
    }
    let text = payout_comment_text(item_id).map_err(|e| e.to_string())?;
    if text.len() > 28 || ts.bit_len() > 256 {
        return Err(format!(
            "{text:?} does not fit the 256 bits a bounce returns"
        ));
    }
    if parse_payout_comment(&ts) != Ok(item_id) {
        return Err("parse_payout_comment(TS cell) != item_id".into());
    }
    Ok(())
}

// ------------------------------------------------------------------ signatures

fn hex32(v: &Value, key: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(v[key].as_str().ok_or(key)?, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

pub(crate) fn check_signed<T>(v: &Vector) -> Result<(), String>
where
    T: SignedRequest + Serialize + DeserializeOwned + std::fmt::Debug + PartialEq,
{
    let request_vector = Vector {
        kind: T::NAME.into(),
        fields: v.fields["request"].clone(),
        ..v.clone()
    };
    check_layout::<T>(&request_vector)?;
    let request: T =
        serde_json::from_value(v.fields["request"].clone()).map_err(|e| e.to_string())?;

    let seed = hex32(&v.fields, "seed")?;
    let public_key = hex32(&v.fields, "public_key")?;
    let key = SigningKey::from_bytes(&seed);
    if key.verifying_key().to_bytes() != public_key {
        return Err("public key of the seed differs (@ton/crypto vs ed25519-dalek)".into());
    }
    let hash = request.signing_hash().map_err(|e| e.to_string())?;
    if hex::encode(hash) != v.hash {
        return Err("signing_hash != hash(request)".into());
    }
    let mut signature = [0u8; 64];
    hex::decode_to_slice(
        v.signature.as_deref().ok_or("no signature")?,
        &mut signature,
    )
    .map_err(|e| e.to_string())?;
    if key.sign(&hash).to_bytes() != signature {
        return Err("Rust signature of signing_hash differs from the TS signature".into());
    }
    request
        .verify(&public_key, &signature)
        .map_err(|e| format!("verify: {e}"))?;
    let mut forged = signature;
    forged[10] ^= 1;
    if request.verify(&public_key, &forged) != Err(Error::InvalidSignature) {
        return Err("a forged signature verified".into());
    }
    Ok(())
}

// ------------------------------------------------------------------ derived addresses

fn check_derived(
    v: &Vector,
    contract: Contract,
    data: Cell,
    address: Result<StdAddr, Error>,
) -> Result<(), String> {
    let code_hash = v.code_hash.as_deref().ok_or("no code_hash")?;
    if contract.code_hash().to_string() != code_hash {
        return Err(format!(
            "vectors were written with other {} code ({code_hash}) than build/ holds ({}): \
             run `npm run vectors`",
            contract.name(),
            contract.code_hash()
        ));
    }
    if data.repr_hash().to_string() != v.hash {
        return Err("Rust initial data differs from TS configToCell".into());
    }
    let address = address.map_err(|e| e.to_string())?;
    let expected = v.address.as_deref().ok_or("no address")?;
    let actual = format!("{}:{}", address.workchain, address.address);
    if actual != expected {
        return Err(format!("address {actual} != TS {expected}"));
    }
    Ok(())
}

pub(crate) fn check_escrow_address(v: &Vector) -> Result<(), String> {
    let params: EscrowParams =
        serde_json::from_value(v.fields.clone()).map_err(|e| e.to_string())?;
    let data = EscrowStorage::initial(params.clone())
        .build()
        .map_err(|e| e.to_string())?;
    check_derived(
        v,
        Contract::Escrow,
        data,
        state_init::escrow_address(&params),
    )
}

pub(crate) fn check_vault_address(v: &Vector) -> Result<(), String> {
    let config: VaultConfig =
        serde_json::from_value(v.fields.clone()).map_err(|e| e.to_string())?;
    let data = VaultStorage::initial(config.clone())
        .build()
        .map_err(|e| e.to_string())?;
    check_derived(
        v,
        Contract::PayoutVault,
        data,
        state_init::vault_address(&config),
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WalletOf {
    owner: String,
    minter: String,
}

pub(crate) fn check_jetton_wallet_address(v: &Vector) -> Result<(), String> {
    let w: WalletOf = serde_json::from_value(v.fields.clone()).map_err(|e| e.to_string())?;
    let owner: StdAddr = w.owner.parse().map_err(|e| format!("{e}"))?;
    let minter: StdAddr = w.minter.parse().map_err(|e| format!("{e}"))?;
    let data = JettonWalletStorage::initial(owner.clone(), minter.clone())
        .build()
        .map_err(|e| e.to_string())?;
    check_derived(
        v,
        Contract::JettonWallet,
        data,
        state_init::jetton_wallet_address(&owner, &minter),
    )
}
