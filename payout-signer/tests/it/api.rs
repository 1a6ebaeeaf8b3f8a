//! The HTTP API: signing, the exact message, idempotency, conflicts, bad requests (4xx with a
//! JSON error naming the problem) and every policy rule (refusals name their rule).

use base64::Engine as _;
use hyper::Method;
use labelmint_abi::vault::VaultBatch;
use labelmint_abi::{Layout, SignedRequest};
use labelmint_payout_signer::config::DEFAULT_GLOBAL_ID;
use labelmint_payout_signer::wire::{CloseBody, ErrorBody, ReleaseBody, Signed, raw_address};
use labelmint_payout_signer::{Limits, store};
use tycho_types::boc::Boc;
use tycho_types::models::{IntAddr, MsgInfo, OwnedMessage};

use crate::support::{Env, TON, addr, expire_behind_the_ledgers_back, now, wide_limits};

fn decode(signed: &Signed) -> tycho_types::cell::Cell {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&signed.boc)
        .expect("base64");
    Boc::decode(bytes).expect("boc")
}

#[tokio::test]
async fn a_batch_is_signed_as_the_vaults_external_message_and_replays_identically() {
    let env = Env::new(wide_limits()).await;
    let earnings = env.approve(3, 2 * TON, 1).await;
    let body = env.batch(11, &earnings, 2 * TON).await;
    let signed = env.client.batch(&body).await.unwrap().expect("signed");
    assert!(!signed.replayed);
    assert_eq!(signed.delivery, "external");
    assert_eq!(signed.public_key, hex::encode(env.public_key));

    // The BOC is an external message to the vault whose body is the signed vault_batch.
    let cell = decode(&signed);
    let msg: OwnedMessage = cell.parse().expect("message");
    match msg.info {
        MsgInfo::ExtIn(info) => assert_eq!(info.dst, IntAddr::Std(env.vault.clone())),
        other => panic!("expected ext_in, got {other:?}"),
    }
    // The body is the message's only reference (no init).
    assert_eq!(cell.reference_count(), 1);
    let body_cell = cell.reference_cloned(0).unwrap();
    let batch = VaultBatch::parse(&body_cell).expect("vault_batch body");
    // the signer writes its configured network's global id (Config::test: the devnet's)
    assert_eq!(batch.request, body.validate(DEFAULT_GLOBAL_ID).unwrap());
    assert_eq!(batch.request.global_id, DEFAULT_GLOBAL_ID);
    batch
        .request
        .verify(&env.public_key, &batch.signature)
        .expect("signature verifies with the signer's key");
    assert_eq!(hex::encode(batch.signature), signed.signature);
    // Same bytes as the devnet's own external-message builder.
    let devnet_msg =
        labelmint_devnet::wallet::external_message(&env.vault, None, body_cell).unwrap();
    assert_eq!(devnet_msg.repr_hash(), cell.repr_hash());

    // The same request again: the stored message, byte for byte.
    let again = env.client.batch(&body).await.unwrap().expect("replayed");
    assert!(again.replayed);
    assert_eq!(again.boc, signed.boc);

    // Other content under the same query id: refused, naming the rule.
    let mut other = body.clone();
    other.items.pop();
    let refusal = env
        .client
        .batch(&other)
        .await
        .unwrap()
        .expect_err("conflict");
    assert_eq!(refusal.status, 409);
    assert_eq!(refusal.body.rule.as_deref(), Some("journal.conflict"));
}

#[tokio::test]
async fn release_and_close_are_signed_bodies_bound_to_the_escrow_and_seqno() {
    let env = Env::new(wide_limits()).await;
    env.approve(2, 5 * TON, 2).await; // 10 TON releasable
    let release = ReleaseBody {
        escrow: raw_address(&env.escrow),
        seqno: 4,
        valid_until: (now() + 600) as u32,
        amount: (6 * TON).to_string(),
    };
    let signed = env
        .client
        .release(&release)
        .await
        .unwrap()
        .expect("release");
    assert_eq!(signed.delivery, "internal_body");
    let body =
        labelmint_abi::escrow::EscrowRelease::parse(&decode(&signed)).expect("escrow_release");
    assert_eq!(
        body.request,
        release
            .validate(labelmint_payout_signer::config::DEFAULT_GLOBAL_ID)
            .unwrap()
    );
    assert_eq!(body.request.global_id, 2026);
    body.request
        .verify(&env.public_key, &body.signature)
        .unwrap();

    // 6 of 10 signed and live: another 6 is above what remains.
    let more = ReleaseBody {
        seqno: 5,
        ..release.clone()
    };
    let r = env
        .client
        .release(&more)
        .await
        .unwrap()
        .expect_err("releasable");
    assert_eq!(r.body.rule.as_deref(), Some("release.releasable"));
    let ok = ReleaseBody {
        amount: (4 * TON).to_string(),
        ..more
    };
    env.client.release(&ok).await.unwrap().expect("4 fits");

    // The client asks the ledger to close the project (no close is signed before).
    let _ = env
        .ledger
        .request_close(labelmint_ledger::ProjectId(env.project), "client:test")
        .await
        .unwrap();
    // A close for seqno 4 (already used by the release): conflict. For seqno 6, after the
    // releases at 4 and 5 that cover everything approved: signed.
    let close = CloseBody {
        escrow: raw_address(&env.escrow),
        seqno: 4,
        valid_until: (now() + 600) as u32,
    };
    let r = env
        .client
        .close(&close)
        .await
        .unwrap()
        .expect_err("seqno used");
    assert_eq!(r.body.rule.as_deref(), Some("journal.conflict"));
    let close = CloseBody { seqno: 6, ..close };
    let signed = env.client.close(&close).await.unwrap().expect("close");
    let body = labelmint_abi::escrow::EscrowClose::parse(&decode(&signed)).unwrap();
    body.request
        .verify(&env.public_key, &body.signature)
        .unwrap();
}

#[tokio::test]
async fn bad_requests_get_a_4xx_json_error_naming_the_problem() {
    let env = Env::new(wide_limits()).await;
    let vault = raw_address(&env.vault);
    let item = |id: &str, amount: &str| {
        format!(
            r#"{{"item_id":"{id}","dest":"{}","amount":"{amount}"}}"#,
            raw_address(&addr(1, 1))
        )
    };
    let batch = |items: String| {
        format!(
            r#"{{"vault":"{vault}","query_id":"1","created_at":{},"items":[{items}]}}"#,
            now()
        )
    };
    let many = (0..251)
        .map(|i| item(&(i + 1).to_string(), "1"))
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("/v1/vault/batch", "{not json".into(), 400, "bad_json"),
        (
            "/v1/vault/batch",
            batch(item("1", "1")).replace("\"items\"", "\"extra\":1,\"items\""),
            400,
            "unknown_field",
        ),
        (
            "/v1/vault/batch",
            format!(r#"{{"vault":"{vault}"}}"#),
            400,
            "missing_field",
        ),
        (
            "/v1/vault/batch",
            batch(item("1", "1")).replace(&vault, "0:zz"),
            400,
            "bad_address",
        ),
        ("/v1/vault/batch", batch(item("1", "0")), 400, "amount_zero"),
        (
            "/v1/vault/batch",
            batch(item("1", "1329227995784915872903807060280344576")),
            400,
            "amount_overflow",
        ),
        ("/v1/vault/batch", batch(item("1", "-5")), 400, "bad_amount"),
        ("/v1/vault/batch", batch(many), 400, "too_many_items"),
        (
            "/v1/vault/batch",
            batch(format!("{},{}", item("9", "1"), item("9", "2"))),
            400,
            "duplicate_item_id",
        ),
        ("/v1/vault/batch", batch(String::new()), 400, "empty_batch"),
        (
            "/v1/vault/batch",
            batch(item("100000000000000000", "1")),
            400,
            "bad_item_id",
        ),
        ("/v1/sign", "{}".into(), 404, "not_found"),
    ];
    for (path, body, status, code) in cases {
        let (s, b) = env
            .client
            .raw(Method::POST, path, body.into_bytes(), true)
            .await
            .unwrap();
        let e: ErrorBody = serde_json::from_slice(&b)
            .unwrap_or_else(|_| panic!("{path}: JSON error body: {}", String::from_utf8_lossy(&b)));
        assert_eq!((s, e.error.as_str()), (status, code), "{}", e.message);
        assert!(!e.message.is_empty());
    }
    // No token, a wrong token: 401 with a JSON error.
    let (s, b) = env
        .client
        .raw(Method::POST, "/v1/vault/batch", b"{}".to_vec(), false)
        .await
        .unwrap();
    assert_eq!(s, 401);
    assert_eq!(
        serde_json::from_slice::<ErrorBody>(&b).unwrap().error,
        "unauthorized"
    );
    let wrong = labelmint_payout_signer::SignerClient::new(
        &env.handle.as_ref().unwrap().url().unwrap(),
        labelmint_payout_signer::Token::new("THROWAWAY-wrong-token-0000000").unwrap(),
    )
    .unwrap();
    let (s, _) = wrong
        .raw(Method::GET, "/v1/pubkey", vec![], true)
        .await
        .unwrap();
    assert_eq!(s, 401);
    assert_eq!(env.client.public_key().await.unwrap(), env.public_key);
}

#[tokio::test]
async fn every_policy_rule_refuses_and_says_which() {
    let mut limits = wide_limits();
    limits.max_ttl = 3600;
    limits.max_batch_items = 5;
    limits
        .apply_cap(&format!("TON:batch={}", 100 * TON))
        .unwrap();
    limits
        .apply_cap(&format!("TON:hour={}", 300 * TON))
        .unwrap();
    limits.apply_cap(&format!("TON:day={}", 400 * TON)).unwrap();
    limits
        .apply_cap(&format!("TON:worker_day={}", 60 * TON))
        .unwrap();
    for k in ["batch", "hour", "day", "worker_day"] {
        limits
            .apply_cap(&format!("USD:{k}={}", 1000 * TON))
            .unwrap();
    }
    let env = Env::new(limits).await;
    let e = env.approve(12, 10 * TON, 3).await;
    let big = env.approve(4, 60 * TON, 4).await;
    let usd_like = env.approve(1, 10 * TON, 6).await;
    let f = env.approve(10, 10 * TON, 7).await;
    let g = env.approve(3, 10 * TON, 8).await;
    let h = env.approve(1, 10 * TON, 9).await;
    let pool = store::connect(&env.db.url, 1).await.unwrap();

    let refuse = |body: labelmint_payout_signer::wire::BatchBody| {
        let c = env.client.clone();
        async move {
            c.batch(&body)
                .await
                .unwrap()
                .expect_err("refused")
                .body
                .rule
                .unwrap()
        }
    };
    let sign = |body: labelmint_payout_signer::wire::BatchBody| {
        let c = env.client.clone();
        async move { c.batch(&body).await.unwrap().expect("signed") }
    };

    // Unknown contract.
    let mut b = env.batch(1, &e[..1], 10 * TON).await;
    b.vault = raw_address(&addr(0x0bad, 0x0b));
    assert_eq!(refuse(b.clone()).await, "contract.registered");
    // An escrow is not a vault.
    b.vault = raw_address(&env.escrow);
    assert_eq!(refuse(b).await, "contract.registered");
    // created_at in the future; created_at so old the batch is dead.
    let mut b = env.batch(2, &e[1..2], 10 * TON).await;
    b.created_at = (now() + 120) as u32;
    assert_eq!(refuse(b).await, "valid_until.expired");
    let mut b = env.batch(3, &e[2..3], 10 * TON).await;
    b.created_at = (now() - 4000) as u32;
    assert_eq!(refuse(b).await, "valid_until.expired");
    // Release valid_until beyond the TTL.
    let r = ReleaseBody {
        escrow: raw_address(&env.escrow),
        seqno: 1,
        valid_until: (now() + 7200) as u32,
        amount: "1".into(),
    };
    assert_eq!(
        env.client
            .release(&r)
            .await
            .unwrap()
            .unwrap_err()
            .body
            .rule
            .as_deref(),
        Some("valid_until.max_ttl")
    );
    // Too many items; batch amount cap.
    assert_eq!(
        refuse(env.batch(4, &e[3..9], 10 * TON).await).await,
        "batch.max_items"
    );
    assert_eq!(
        refuse(env.batch(5, &big[..2], 60 * TON).await).await,
        "batch.max_amount"
    );
    // Not a payout item of the ledger; not the item's amount / destination / currency.
    assert_eq!(
        refuse(env.batch(6, &[(99_999_999, addr(1, 3))], 10 * TON).await).await,
        "item.approved"
    );
    assert_eq!(
        refuse(env.batch(7, &e[9..10], 11 * TON).await).await,
        "item.matches_earning"
    );
    assert_eq!(
        refuse(env.batch(8, &[(e[10].0, addr(77, 77))], 10 * TON).await).await,
        "item.matches_earning"
    );
    // An item in another currency than the vault's.
    sqlx::query("UPDATE signer_contracts SET currency = 'USD' WHERE kind = 'vault'")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        refuse(env.batch(9, &usd_like, 10 * TON).await).await,
        "item.matches_earning"
    );
    sqlx::query("UPDATE signer_contracts SET currency = 'TON' WHERE kind = 'vault'")
        .execute(&pool)
        .await
        .unwrap();

    // Signed once and live: even if the ledger let the earning go into another batch under a
    // new item id (a writer going around the ledger's chain-time check), the signer's own
    // journal refuses it.
    sign(env.batch(10, &e[11..12], 10 * TON).await).await;
    expire_behind_the_ledgers_back(&env, 10).await;
    let again = env.batch(11, &e[11..12], 10 * TON).await;
    assert_ne!(
        again.items[0].item_id,
        env.batch(10, &e[11..12], 10 * TON).await.items[0].item_id,
        "a new item id for the same earning"
    );
    assert_eq!(refuse(again).await, "item.not_in_other_batch");
    // An item of another live batch of the ledger: refused too.
    assert_eq!(
        refuse(env.batch(12, &e[10..11], 10 * TON).await).await,
        "item.not_in_other_batch"
    );

    // Per-worker daily cap: 60 TON; a worker with 40 + 40 in two earnings is ONE item of 80.
    let twice = env.approve_same_worker(2, 40 * TON, 5).await;
    let body = env.batch(13, &twice, 40 * TON).await;
    assert_eq!(body.items.len(), 1, "one transfer for the worker");
    assert_eq!(body.items[0].amount, (80 * TON).to_string());
    assert_eq!(refuse(body).await, "cap.worker_day");

    // Rolling caps: hour 300 TON. 10 signed so far; + 60 + 50 + 50 + 60 = 230.
    sign(env.batch(14, &big[2..3], 60 * TON).await).await;
    sign(env.batch(15, &f[0..5], 10 * TON).await).await;
    sign(env.batch(16, &f[5..10], 10 * TON).await).await;
    sign(env.batch(17, &big[3..4], 60 * TON).await).await;
    // Push the hour to 295 by hand-crafted volume: a 10 is refused by cap.hour.
    sqlx::query("UPDATE signer_volume SET amount = amount + $1::NUMERIC")
        .bind((65 * TON).to_string())
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        refuse(env.batch(18, &g[0..1], 10 * TON).await).await,
        "cap.hour"
    );
    // Day cap 400: move the volume out of the hour but into the day.
    sqlx::query("UPDATE signer_volume SET minute = minute - 120, amount = amount + $1::NUMERIC")
        .bind((100 * TON).to_string())
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        refuse(env.batch(19, &g[1..2], 10 * TON).await).await,
        "cap.day"
    );
    sqlx::query("DELETE FROM signer_volume")
        .execute(&pool)
        .await
        .unwrap();
    sign(env.batch(20, &g[2..3], 10 * TON).await).await;

    // Freeze: everything refused (503) until unfrozen.
    store::set_frozen(&pool, Some("incident 42")).await.unwrap();
    let frozen = env.batch(21, &h, 10 * TON).await;
    let r = env.client.batch(&frozen).await.unwrap().unwrap_err();
    assert_eq!((r.status, r.body.rule.as_deref()), (503, Some("freeze")));
    assert!(r.body.message.contains("incident 42"));
    store::set_frozen(&pool, None).await.unwrap();
    sign(frozen).await;
    let _ = Limits::default();
}

#[tokio::test]
async fn wrong_methods_and_a_unix_socket() {
    let env = Env::new(wide_limits()).await;
    let (s, b) = env
        .client
        .raw(Method::GET, "/v1/vault/batch", vec![], true)
        .await
        .unwrap();
    assert_eq!(s, 405);
    assert_eq!(
        serde_json::from_slice::<ErrorBody>(&b).unwrap().error,
        "method_not_allowed"
    );
    let (s, _) = env
        .client
        .raw(Method::GET, "/health", vec![], false)
        .await
        .unwrap();
    assert_eq!(s, 200);

    // The same service on a unix socket (a second signer on the same database cannot start
    // while the first holds the lock, so stop it first).
    let mut env = env;
    env.handle.take().unwrap().stop().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("signer.sock");
    let mut config = labelmint_payout_signer::Config::test(&env.db.url);
    config.listen = labelmint_payout_signer::Listen::Unix(sock.clone());
    config.limits = wide_limits();
    let key = crate::support::file_key(dir.path());
    let ledger = labelmint_payout_signer::ledger::PgLedger::new(env.ledger.clone());
    let handle =
        labelmint_payout_signer::spawn(config.clone(), key.clone(), std::sync::Arc::new(ledger))
            .await
            .unwrap();
    let client = labelmint_payout_signer::SignerClient::new(
        &format!("unix:{}", sock.display()),
        config.token.clone(),
    )
    .unwrap();
    assert_eq!(client.public_key().await.unwrap(), key.public_key());
    let e = env.approve(1, TON, 13).await;
    client
        .batch(&env.batch(1, &e, TON).await)
        .await
        .unwrap()
        .expect("signed over the unix socket");
    handle.stop().await.unwrap();
}

#[tokio::test]
async fn a_signer_that_loses_its_lock_connection_stops_signing() {
    let env = Env::new(wide_limits()).await;
    let e = env.approve(2, TON, 14).await;
    env.client
        .batch(&env.batch(1, &e[..1], TON).await)
        .await
        .unwrap()
        .expect("signed");
    // Kill the backend holding the advisory lock.
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND ((classid::BIGINT << 32) | objid::BIGINT) = $1 AND granted",
    )
    .bind(labelmint_payout_signer::lock::SIGNER_LOCK_KEY)
    .fetch_all(&env.db.pool)
    .await
    .unwrap();
    assert_eq!(killed, vec![true]);
    // The signing transaction checks the lock itself: refused at once, nothing signed.
    let body = env.batch(2, &e[1..], TON).await;
    let refused = match env.client.batch(&body).await.unwrap() {
        Ok(_) => panic!("signed without the lock"),
        Err(r) => Some(r),
    };
    let r = refused.expect("refused");
    assert_eq!(
        (r.status, r.body.rule.as_deref()),
        (503, Some("instance.lock"))
    );
    // The watchdog notices within a second: /health says so.
    let mut health = 0;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        health = env
            .client
            .raw(Method::GET, "/health", vec![], false)
            .await
            .unwrap()
            .0;
        if health == 503 {
            break;
        }
    }
    assert_eq!(health, 503);
}
