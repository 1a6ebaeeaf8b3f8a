//! A batch signed by the signer, executed by the real vault on the devnet: accepted and paid;
//! the same batch with one amount changed (signature kept) is refused by the vault.

use base64::Engine as _;
use labelmint_abi::Layout;
use labelmint_abi::state_init::{vault_address, vault_state_init};
use labelmint_abi::vault::{DEFAULT_ADMIN_DELAY, VaultBatch, VaultConfig, VaultTopUp};
use labelmint_devnet::wallet::Transfer;
use labelmint_devnet::{Config, spawn};
use labelmint_payout_signer::message;
use ton_liteapi::client::LiteClient;
use tycho_types::boc::Boc;
use tycho_types::models::StdAddr;

use crate::support::{Env, TON, VAULT_TIMEOUT, batch_body, file_key, wide_limits};

fn balance(devnet: &labelmint_devnet::Devnet, a: &StdAddr) -> u128 {
    devnet
        .account(a)
        .unwrap()
        .load_account()
        .unwrap()
        .map(|acc| acc.balance.tokens.into_inner())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_vault_accepts_a_signed_batch_and_refuses_a_tampered_one() {
    let devnet = spawn(Config::test()).await.expect("devnet");
    let mut lite = LiteClient::connect(devnet.addr(), devnet.public_key())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = file_key(dir.path());
    let config = VaultConfig {
        signer_key: key.public_key(),
        timeout: VAULT_TIMEOUT,
        window_len: 86_400,
        window_limit: 1_000 * TON,
        admin: devnet.genesis().faucet.clone(),
        jetton_master: None,
        vault_id: 77,
        admin_delay: DEFAULT_ADMIN_DELAY,
    };
    let vault = vault_address(&config).unwrap();
    let deploy = Transfer {
        to: vault.clone(),
        amount: 50 * TON,
        bounce: false,
        body: Some(VaultTopUp { query_id: 1 }.build().unwrap()),
        init: Some(vault_state_init(&config).unwrap()),
        mode: 3,
    };
    lite.send_message(devnet.faucet_message(&[deploy]).unwrap())
        .await
        .unwrap();
    devnet.settle(4).unwrap();
    assert!(
        balance(&devnet, &vault) > 40 * TON,
        "vault deployed and funded"
    );

    let env = Env::with_key(wide_limits(), key, dir, Some(vault.clone())).await;
    let earnings = env.approve(3, TON, 11).await;
    let chain_now = lite.get_time().await.unwrap();
    let body = batch_body(
        &env.ledger,
        &vault,
        9001,
        chain_now.min(crate::support::now() as u32),
        &earnings,
        TON,
    )
    .await;
    let signed = env.client.batch(&body).await.unwrap().expect("signed");
    let boc = base64::engine::general_purpose::STANDARD
        .decode(&signed.boc)
        .unwrap();

    // Tampered: one amount changed, the signature kept. The vault refuses the external.
    let cell = Boc::decode(&boc).unwrap();
    let mut batch = VaultBatch::parse(&cell.reference_cloned(0).unwrap()).unwrap();
    batch.request.items[0].amount += 1;
    let forged = message::batch_external(&batch.request, batch.signature).unwrap();
    assert!(
        lite.send_message(Boc::encode(&forged)).await.is_err(),
        "the vault refuses a tampered batch"
    );
    devnet.settle(4).unwrap();
    for (_, w) in &earnings {
        assert_eq!(balance(&devnet, w), 0);
    }

    // The signed batch: accepted, every worker paid exactly.
    lite.send_message(boc).await.expect("accepted");
    devnet.settle(6).unwrap();
    for (_, w) in &earnings {
        assert_eq!(balance(&devnet, w), TON, "worker {w} paid");
    }
}
