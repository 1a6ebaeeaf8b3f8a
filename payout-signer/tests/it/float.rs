//! The TON side of batches: `attach` and `forward_ton` are checked per item (`batch.attach`,
//! `batch.forward_ton`; a TON vault carries neither), and what jetton batches can spend from
//! their vault's TON float counts against rolling float caps (`cap.float_hour`,
//! `cap.float_day`).

use labelmint_ledger::{Currency, CurrencyCode, Project, ProjectId, RawAddress, Vault};
use labelmint_payout_signer::store::{self, Registration};
use labelmint_payout_signer::wire::{BatchBody, raw_address};
use labelmint_payout_signer::{FloatLimits, Limits};
use sqlx::Row;
use tycho_types::models::StdAddr;

use crate::support::{Env, TON, VAULT_TIMEOUT, addr, approve, batch_body, now, wide_limits};

const USD_PROJECT: u64 = 8;

/// A test USD jetton vault and a USD project beside the env's TON ones (ledger and allowlist).
async fn usd_vault(env: &Env) -> StdAddr {
    let raw = |a: &StdAddr| RawAddress::parse(&raw_address(a)).expect("raw");
    let vault = addr(0x05d0, 0x5d);
    let l = &env.ledger;
    let usd = CurrencyCode::new("USD").unwrap();
    l.register_currency(&Currency {
        code: usd.clone(),
        decimals: 6,
        jetton_master: Some(raw(&addr(0x3a57, 0x3a))),
    })
    .await
    .unwrap();
    l.register_vault(&Vault {
        currency: usd.clone(),
        address: raw(&vault),
    })
    .await
    .unwrap();
    l.register_project(&Project {
        id: ProjectId(USD_PROJECT),
        escrow: raw(&addr(0xe5d, 0xe5)),
        currency: usd,
        client: raw(&addr(0xc2, 0xc2)),
    })
    .await
    .unwrap();
    let pool = store::connect(&env.db.url, 1).await.unwrap();
    store::register(
        &pool,
        &Registration::Vault {
            address: vault.clone(),
            currency: "USD".into(),
            timeout: VAULT_TIMEOUT,
            onchain_limit: None,
        },
    )
    .await
    .unwrap();
    vault
}

fn with_ton(mut b: BatchBody, attach: u128, forward_ton: u128) -> BatchBody {
    b.attach = attach.to_string();
    b.forward_ton = forward_ton.to_string();
    b
}

async fn rule_of(env: &Env, b: &BatchBody) -> String {
    let r = env.client.batch(b).await.unwrap().expect_err("refused");
    assert_eq!(r.status, 422, "{}", r.body.message);
    r.body.rule.unwrap_or_default()
}

#[tokio::test]
async fn attach_and_forward_ton_are_policy_and_count_against_the_float_caps() {
    let mut limits: Limits = wide_limits();
    limits.float = FloatLimits {
        max_attach: TON / 10,
        max_forward_ton: TON / 20,
        item_fee: 2_500_000,
        batch_fee: 10_000_000,
        hour: 3 * TON,
        day: 5 * TON,
    };
    let env = Env::new(limits).await;
    let vault = usd_vault(&env).await;
    let usd = approve(&env.ledger, USD_PROJECT, 51, 1_000_000, 31).await; // 1 USD each
    let ton = env.approve(2, TON, 32).await;
    let usd_batch = |q: u64, items: &[(u64, StdAddr)]| {
        let (ledger, vault, items) = (env.ledger.clone(), vault.clone(), items.to_vec());
        async move { batch_body(&ledger, &vault, q, now() as u32, &items, 1_000_000).await }
    };

    // A TON vault's batch carries no attach and forwards nothing.
    assert_eq!(
        rule_of(&env, &with_ton(env.batch(1, &ton[..1], TON).await, 1, 0)).await,
        "batch.attach"
    );
    assert_eq!(
        rule_of(&env, &with_ton(env.batch(2, &ton[..1], TON).await, 0, 1)).await,
        "batch.forward_ton"
    );
    env.client
        .batch(&env.batch(3, &ton[1..2], TON).await)
        .await
        .unwrap()
        .expect("a TON batch with attach = forward_ton = 0");

    // Jetton batches: per-item maxima, forward_ton within attach.
    let table: &[(u128, u128, &str)] = &[
        (TON / 10 + 1, 0, "batch.attach"),
        (TON / 5, TON / 100, "batch.attach"),
        (TON / 10, TON / 20 + 1, "batch.forward_ton"),
        (TON / 100, TON / 50, "batch.forward_ton"),
    ];
    for (i, (attach, forward, want)) in table.iter().enumerate() {
        let b = with_ton(
            usd_batch(10 + i as u64, &usd[50..51]).await,
            *attach,
            *forward,
        );
        assert_eq!(
            rule_of(&env, &b).await,
            *want,
            "attach {attach} forward {forward}"
        );
    }

    // Each 10-item batch at attach 0.1 TON can spend 10 x (0.1 + 0.0025) + 0.01 = 1.035 TON of
    // the vault's float: two fit the hourly float cap of 3 TON, a third does not.
    let spend = 1_035_000_000u128;
    for (q, items) in [(20, &usd[0..10]), (21, &usd[10..20])] {
        env.client
            .batch(&with_ton(usd_batch(q, items).await, TON / 10, 1))
            .await
            .unwrap()
            .expect("within the float caps");
    }
    assert_eq!(
        rule_of(
            &env,
            &with_ton(usd_batch(22, &usd[20..30]).await, TON / 10, 1)
        )
        .await,
        "cap.float_hour"
    );
    // A cheaper batch still fits: 10 x (0.05 + 0.0025) + 0.01 = 0.535 TON.
    env.client
        .batch(&with_ton(usd_batch(23, &usd[30..40]).await, TON / 20, 1))
        .await
        .unwrap()
        .expect("0.535 TON more fits under 3 TON");
    let row = sqlx::query(
        "SELECT COALESCE(sum(amount), 0)::TEXT AS float FROM signer_volume WHERE currency = 'float:TON'",
    )
    .fetch_one(&env.db.pool)
    .await
    .unwrap();
    assert_eq!(
        row.get::<String, _>("float"),
        (2 * spend + 535_000_000).to_string(),
        "the jetton batches' float spend is journaled beside the currencies' volumes; the TON \
         batch counted nothing against the float"
    );

    // Out of the hour, into the day: 2.605 + 3 > 5 TON.
    sqlx::query(
        "UPDATE signer_volume SET minute = minute - 120, amount = amount + $1::NUMERIC \
         WHERE currency = 'float:TON'",
    )
    .bind((3 * TON).to_string())
    .execute(&env.db.pool)
    .await
    .unwrap();
    assert_eq!(
        rule_of(
            &env,
            &with_ton(usd_batch(24, &usd[40..50]).await, TON / 10, 1)
        )
        .await,
        "cap.float_day"
    );
}
