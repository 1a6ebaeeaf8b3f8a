//! The PKCS#11 backend (SoftHSM2 via scripts/softhsm.sh) through the real binary: `keygen` in
//! the token, `serve` with it, a signed batch that verifies with the token's public key.

use std::process::Command;

use labelmint_abi::Layout;
use labelmint_abi::vault::VaultBatch;
use labelmint_payout_signer::{SignerClient, Token};

use crate::support::{BIN_TOKEN, Binary, TON, TestDb, approve, batch_body, now, prepare};

fn softhsm_env() -> Vec<(String, String)> {
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/softhsm.sh"
        ))
        .output()
        .expect("run scripts/softhsm.sh");
    assert!(
        out.status.success(),
        "scripts/softhsm.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .filter(|(k, _)| k.starts_with("SOFTHSM2_") || k.starts_with("LABELMINT_PKCS11_"))
        .collect()
}

#[tokio::test]
async fn a_softhsm2_key_signs_through_the_binary() {
    let vars = softhsm_env();
    let label = format!("signer-it-{:08x}", rand::random::<u32>());
    let bin = env!("CARGO_BIN_EXE_payout-signer");
    let keygen = tokio::process::Command::new(bin)
        .args([
            "keygen",
            "--key-backend",
            "pkcs11",
            "--pkcs11-key-label",
            &label,
        ])
        .envs(vars.iter().cloned())
        .output()
        .await
        .unwrap();
    assert!(
        keygen.status.success(),
        "keygen: {}",
        String::from_utf8_lossy(&keygen.stderr)
    );
    let out = String::from_utf8_lossy(&keygen.stdout);
    let public_key = out
        .lines()
        .find_map(|l| l.strip_prefix("public_key="))
        .expect("keygen prints public_key=")
        .to_string();

    let db = TestDb::new().await;
    let (ledger, vault, _) = prepare(&db).await;
    let earnings = approve(&ledger, 7, 3, TON, 12).await;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--key-backend",
        "pkcs11",
        "--pkcs11-key-label",
        &label,
    ])
    .envs(vars.iter().cloned())
    .env("DATABASE_URL", &db.url)
    .env("LABELMINT_SIGNER_TOKEN", BIN_TOKEN)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true);
    let running = Binary::start(cmd).await;
    let client = SignerClient::new(&running.url, Token::new(BIN_TOKEN).unwrap()).unwrap();
    assert_eq!(hex::encode(client.public_key().await.unwrap()), public_key);
    let body = batch_body(&ledger, &vault, 5, now() as u32, &earnings, TON).await;
    let signed = client
        .batch(&body)
        .await
        .unwrap()
        .expect("signed by the token key");
    use base64::Engine as _;
    let boc = base64::engine::general_purpose::STANDARD
        .decode(&signed.boc)
        .unwrap();
    let cell = tycho_types::boc::Boc::decode(boc).unwrap();
    let batch = VaultBatch::parse(&cell.reference_cloned(0).unwrap()).unwrap();
    let mut key = [0u8; 32];
    hex::decode_to_slice(&public_key, &mut key).unwrap();
    use labelmint_abi::SignedRequest;
    batch
        .request
        .verify(&key, &batch.signature)
        .expect("verifies with the token's key");
}
