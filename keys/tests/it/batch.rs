//! Both backends sign what the signer signs: the hash of a real 250-item vault batch, checked
//! with the ABI's own verification (the one the contracts' `isSignatureValid` matches).

use labelmint_abi::SignedRequest;
use labelmint_abi::vault::{PayoutItem, VaultBatchRequest};
use labelmint_keys::{FileKey, KdfParams, KeyBackend, Pkcs11Key};
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;

use crate::support::{TestKey, secret};

fn batch() -> VaultBatchRequest {
    VaultBatchRequest {
        global_id: 2026,
        vault: StdAddr::new(0, HashBytes([0xaa; 32])),
        query_id: 7,
        created_at: 1_790_000_000,
        attach: 0,
        forward_ton: 0,
        items: (0..250u64)
            .map(|i| PayoutItem {
                item_id: 1_000 + i,
                bounceable: i % 2 == 0,
                dest: StdAddr::new(0, HashBytes([(i % 251) as u8; 32])),
                amount: 1_000_000_000 + u128::from(i),
            })
            .collect(),
    }
}

fn sign_and_check(key: &dyn KeyBackend) {
    let request = batch();
    let hash = request.signing_hash().expect("hash");
    let signature = key.sign(&hash).expect("sign");
    request
        .verify(&key.public_key(), &signature)
        .expect("the ABI accepts the signature");
    let mut other = batch();
    other.items[249].amount += 1;
    assert!(
        other.verify(&key.public_key(), &signature).is_err(),
        "a changed batch does not verify"
    );
}

#[test]
fn file_backend_signs_a_250_item_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = FileKey::generate(
        &dir.path().join("k.key"),
        &secret("THROWAWAY batch"),
        KdfParams::insecure_for_tests(),
    )
    .expect("generate");
    sign_and_check(&key);
}

#[test]
fn pkcs11_backend_signs_a_250_item_batch() {
    let tk = TestKey::new();
    let key = Pkcs11Key::generate_in_token(&tk.config).expect("generate");
    sign_and_check(&key);
}
