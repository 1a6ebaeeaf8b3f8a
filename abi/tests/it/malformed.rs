//! Hostile input: truncated, extended, re-tagged and random cells never panic a parser and
//! never parse back into the original value; specific malformations give specific errors.

use labelmint_abi::escrow::{EscrowRelease, EvDeposit, ReleaseRequest};
use labelmint_abi::jetton::{ProvideWalletAddress, TakeWalletAddress};
use labelmint_abi::vault::{
    ITEM_ID_LIMIT, MAX_BATCH_ITEMS, PayoutItem, VaultBatchRequest, parse_payout_comment,
};
use labelmint_abi::{Error, Event, Layout, opcodes};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tycho_types::cell::{Cell, CellBuilder, HashBytes};
use tycho_types::models::{Anycast, StdAddr};

use crate::support::{Kind, ParseJson, Vector, json_eq, kinds, vectors};

/// The vectors whose kind parses arbitrary cells.
fn parseable() -> Vec<(Vector, Cell, ParseJson)> {
    let kinds: Vec<Kind> = kinds();
    vectors()
        .into_iter()
        .filter_map(|v| {
            let parse = kinds.iter().find(|k| k.name == v.kind)?.parse_json?;
            let cell = v.cell().ok()?;
            Some((v, cell, parse))
        })
        .collect()
}

/// The first `bits` bits and the first `refs` refs of `cell`, plus `extra` bits.
fn reshape(cell: &Cell, bits: u16, refs: u8, extra: &[bool]) -> Cell {
    let mut s = cell.as_slice().expect("ordinary");
    let mut b = CellBuilder::new();
    let head = s.load_prefix(bits, 0).expect("prefix");
    b.store_slice_data(head).expect("bits");
    for bit in extra {
        b.store_bit(*bit).expect("bit");
    }
    for i in 0..refs {
        b.store_reference(cell.reference_cloned(i).expect("ref"))
            .expect("ref");
    }
    b.build().expect("cell")
}

/// Parsing `mutant` must fail or give something else than the vector's fields.
fn assert_not_original(v: &Vector, parse: ParseJson, mutant: &Cell, what: &str) {
    if let Ok(json) = parse(mutant) {
        assert!(
            !json_eq(&json, &v.fields),
            "{} {what}: parsed back into the original fields",
            v.id()
        );
    }
}

#[test]
fn truncated_and_extended_cells_never_pass_for_the_original() {
    for (v, cell, parse) in parseable() {
        let bits = cell.bit_len();
        let refs = cell.reference_count();
        for cut in 0..bits {
            assert_not_original(&v, parse, &reshape(&cell, cut, refs, &[]), "truncated");
        }
        for r in 0..refs {
            assert_not_original(&v, parse, &reshape(&cell, bits, r, &[]), "without a ref");
        }
        if bits < 1023 {
            for bit in [false, true] {
                let longer = reshape(&cell, bits, refs, &[bit]);
                assert_not_original(&v, parse, &longer, "with an extra bit");
            }
        }
        if refs < 4 {
            let mut b = CellBuilder::new();
            b.store_slice(cell.as_slice().expect("ordinary"))
                .expect("copy");
            b.store_reference(Cell::default()).expect("ref");
            let more = b.build().expect("cell");
            assert_not_original(&v, parse, &more, "with an extra ref");
        }
    }
}

#[test]
fn a_wrong_tag_is_a_wrong_opcode_error() {
    for (v, cell, parse) in parseable() {
        let Some((_, op)) = opcodes::ALL.iter().find(|(name, _)| *name == v.kind) else {
            continue;
        };
        let wrong = op ^ 0x8000_0000;
        let mut b = CellBuilder::new();
        b.store_u32(wrong).expect("tag");
        let mut s = cell.as_slice().expect("ordinary");
        s.skip_first(32, 0).expect("tag");
        b.store_slice(s).expect("rest");
        let mutant = b.build().expect("cell");
        assert_eq!(
            parse(&mutant).err(),
            Some(Error::WrongOpcode {
                expected: *op,
                found: wrong
            }),
            "{}",
            v.id()
        );
    }
}

fn random_cell(rng: &mut StdRng, depth: u8, tag: Option<u32>) -> Cell {
    let mut b = CellBuilder::new();
    if let Some(tag) = tag {
        b.store_u32(tag).expect("tag");
    }
    let bits = rng.gen_range(0..=b.spare_capacity_bits());
    for _ in 0..bits {
        b.store_bit(rng.r#gen()).expect("bit");
    }
    if depth > 0 {
        for _ in 0..rng.gen_range(0..=4u8) {
            let child = random_cell(rng, depth - 1, None);
            b.store_reference(child).expect("ref");
        }
    }
    b.build().expect("cell")
}

#[test]
fn random_cells_never_panic() {
    let kinds = kinds();
    let parsers: Vec<_> = kinds.iter().filter_map(|k| k.parse_json).collect();
    let mut rng = StdRng::seed_from_u64(0x1abe1);
    for i in 0..3000 {
        // Half of the cells start with a real tag so that parsers get past it.
        let tag = (i % 2 == 0).then(|| opcodes::ALL[rng.gen_range(0..opcodes::ALL.len())].1);
        let cell = random_cell(&mut rng, 3, tag);
        for parse in &parsers {
            let _ = parse(&cell);
        }
        let _ = Event::parse(&cell);
        let _ = parse_payout_comment(&cell);
    }
}

#[test]
fn exotic_cells_are_refused() {
    let library = CellBuilder::build_library(&HashBytes([7u8; 32]));
    assert_eq!(Event::parse(&library), Err(Error::ExoticCell));
    let mut b = CellBuilder::new();
    b.store_u32(opcodes::ESCROW_RELEASE).unwrap();
    b.store_u64(1).unwrap();
    b.store_raw(&[0u8; 64], 512).unwrap();
    b.store_reference(library).unwrap();
    assert_eq!(
        EscrowRelease::parse(&b.build().unwrap()),
        Err(Error::ExoticCell)
    );
}

fn with_address(tag_bits: &[bool], tail: impl Fn(&mut CellBuilder)) -> Cell {
    let mut b = CellBuilder::new();
    b.store_u32(opcodes::EV_DEPOSIT).unwrap();
    b.store_u64(1).unwrap();
    for bit in tag_bits {
        b.store_bit(*bit).unwrap();
    }
    tail(&mut b);
    b.build().unwrap()
}

#[test]
fn unsupported_addresses_are_named() {
    // addr_none where MsgAddressInt is required.
    let none = with_address(&[false, false], |_| {});
    assert_eq!(EvDeposit::parse(&none), Err(Error::MissingAddress));
    // addr_extern$01 and addr_var$11.
    let ext = with_address(&[false, true], |_| {});
    assert_eq!(
        EvDeposit::parse(&ext),
        Err(Error::UnsupportedAddress { tag: 0b01 })
    );
    let var = with_address(&[true, true], |_| {});
    assert_eq!(
        EvDeposit::parse(&var),
        Err(Error::UnsupportedAddress { tag: 0b11 })
    );
    // addr_std with anycast.
    let anycast = with_address(&[true, false, true], |b| b.store_zeros(300).unwrap());
    assert_eq!(EvDeposit::parse(&anycast), Err(Error::AnycastAddress));
    // Building refuses anycast too.
    let mut escrow = StdAddr::new(0, HashBytes([1; 32]));
    let prefix = {
        let mut b = CellBuilder::new();
        b.store_bit_one().unwrap();
        b.build().unwrap()
    };
    let anycast = Anycast::from_slice(&prefix.as_slice().unwrap()).unwrap();
    escrow.anycast = Some(Box::new(anycast));
    let request = ReleaseRequest {
        escrow,
        global_id: -239,
        seqno: 0,
        valid_until: 0,
        amount: 1,
    };
    assert_eq!(request.build(), Err(Error::AnycastAddress));
}

#[test]
fn json_rejects_non_integers_and_out_of_range_values() {
    let base = serde_json::json!({
        "escrow": format!("0:{}", "11".repeat(32)),
        "global_id": "-239",
        "seqno": "1",
        "valid_until": "2",
        "amount": "3",
    });
    assert!(serde_json::from_value::<ReleaseRequest>(base.clone()).is_ok());
    for (field, bad) in [
        ("amount", "-1"),
        ("amount", "1.5"),
        ("amount", "0x10"),
        ("amount", ""),
        ("amount", "340282366920938463463374607431768211456"),
        ("seqno", "4294967296"),
        ("seqno", "-1"),
        ("global_id", "2147483648"),
        ("global_id", "-2147483649"),
        ("global_id", "-"),
        ("global_id", "+1"),
        ("global_id", "--3"),
        ("global_id", " -3"),
        ("escrow", "0:11"),
        ("escrow", "x:1111"),
    ] {
        let mut v = base.clone();
        v[field] = Value::String(bad.into());
        assert!(
            serde_json::from_value::<ReleaseRequest>(v).is_err(),
            "{field} = {bad:?} was accepted"
        );
    }
    for (text, id) in [("-3", -3), ("2026", 2026), ("-2147483648", i32::MIN)] {
        let mut v = base.clone();
        v["global_id"] = Value::String(text.into());
        let r: ReleaseRequest = serde_json::from_value(v).unwrap();
        assert_eq!(r.global_id, id);
        assert_eq!(serde_json::to_value(r).unwrap()["global_id"], text);
    }
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("global_id");
    assert!(serde_json::from_value::<ReleaseRequest>(missing).is_err());
    let mut extra = base.clone();
    extra["surprise"] = Value::Bool(true);
    assert!(serde_json::from_value::<ReleaseRequest>(extra).is_err());

    // In range for JSON, out of range for the cell.
    let mut big = base;
    big["amount"] = Value::String((1u128 << 120).to_string());
    let r: ReleaseRequest = serde_json::from_value(big).unwrap();
    assert_eq!(r.build(), Err(Error::AmountTooLarge { value: 1 << 120 }));
}

#[test]
fn take_wallet_address_json_keeps_the_maybe() {
    let wallet = StdAddr::new(0, HashBytes([2; 32]));
    for owner in [
        None,
        Some(None),
        Some(Some(StdAddr::new(-1, HashBytes([3; 32])))),
    ] {
        let m = TakeWalletAddress {
            query_id: 5,
            wallet_address: Some(wallet.clone()),
            owner_address: owner,
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(
            json.get("owner_address").is_some(),
            m.owner_address.is_some()
        );
        assert_eq!(
            serde_json::from_value::<TakeWalletAddress>(json).unwrap(),
            m
        );
        assert_eq!(TakeWalletAddress::parse(&m.build().unwrap()).unwrap(), m);
    }
    let p = ProvideWalletAddress {
        query_id: 1,
        owner_address: None,
        include_address: true,
    };
    assert_eq!(ProvideWalletAddress::parse(&p.build().unwrap()).unwrap(), p);
}

#[test]
fn oversized_batches_and_item_ids_are_refused() {
    let item = |item_id: u64| PayoutItem {
        item_id,
        bounceable: false,
        dest: StdAddr::new(0, HashBytes([9; 32])),
        amount: 1,
    };
    let too_many: Vec<_> = (0..=MAX_BATCH_ITEMS as u64).map(item).collect();
    let chain = PayoutItem::build_list(&too_many).unwrap().unwrap();
    assert!(matches!(
        PayoutItem::parse_list(&chain),
        Err(Error::TooManyItems {
            max: MAX_BATCH_ITEMS,
            ..
        })
    ));
    assert_eq!(
        PayoutItem::build_list(&[item(ITEM_ID_LIMIT)]),
        Err(Error::ItemIdTooLarge {
            item_id: ITEM_ID_LIMIT
        })
    );
    // An item id >= 10^17 written with 18 digits by someone else is refused on parse.
    let mut b = CellBuilder::new();
    b.store_u64(ITEM_ID_LIMIT).unwrap();
    b.store_bit_zero().unwrap();
    b.store_small_uint(0b100, 3).unwrap();
    b.store_u8(0).unwrap();
    b.store_u256(&HashBytes([9; 32])).unwrap();
    b.store_small_uint(1, 4).unwrap();
    b.store_u8(1).unwrap();
    let digits = ITEM_ID_LIMIT.to_string();
    b.store_small_uint(digits.len() as u8, 5).unwrap();
    b.store_raw(digits.as_bytes(), digits.len() as u16 * 8)
        .unwrap();
    b.store_bit_zero().unwrap();
    assert_eq!(
        PayoutItem::parse_list(&b.build().unwrap()),
        Err(Error::ItemIdTooLarge {
            item_id: ITEM_ID_LIMIT
        })
    );
    let empty = VaultBatchRequest {
        vault: StdAddr::new(0, HashBytes([1; 32])),
        global_id: -239,
        query_id: 0,
        created_at: 0,
        attach: 0,
        forward_ton: 0,
        items: vec![],
    };
    assert_eq!(empty.build(), Err(Error::EmptyBatch));
}
