//! POST /v1/projects, /deposits, /close on a seeded database (no chain): what is registered
//! where, the TonConnect messages (decoded back with labelmint-abi), idempotency (replay,
//! other body, concurrency, expiry, takeover), authorization, bad bodies, the write role.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use labelmint_abi::Layout as _;
use labelmint_abi::escrow::{
    EscrowDeploy, EscrowDeposit, EscrowParams, EscrowRefund, EscrowRoutes,
};
use labelmint_api::auth::keys::Scope;
use labelmint_api::escrow::EscrowPlan;
use serde_json::{Value, json};
use tycho_types::boc::Boc;

use crate::support::{Seeded, TON, TON_PROJECT, addr, test_writes};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn ton_body(deadline: u64) -> Value {
    json!({"currency": "TON", "budget": "12.5", "deadline": deadline, "title": "Street signs, batch 3"})
}

fn boc(b64: &Value) -> tycho_types::cell::Cell {
    Boc::decode(
        STANDARD
            .decode(b64.as_str().expect("base64 text"))
            .expect("base64"),
    )
    .expect("BOC")
}

async fn count(s: &Seeded, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&s.pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_ton_project_is_registered_everywhere_and_funded_by_one_deploying_message() {
    let s = Seeded::new(0).await;
    let client_key = s.key(Scope::Client, Some(addr(230).as_str())).await;
    let deadline = now() + 30 * 86_400;
    let r = s
        .post_idem(
            "/v1/projects",
            Some(&client_key),
            Some("k-ton-1"),
            Some(ton_body(deadline)),
        )
        .await;
    let v = r.json(201);
    assert!(!r.replayed);
    let p = &v["project"];
    let id: u64 = p["project_id"].as_str().expect("id").parse().expect("u64");
    assert!(id > 201, "ids start above the registered ones: {id}");
    assert_eq!(p["budget"], "12500000000");
    assert_eq!(p["decimals"], 9);
    assert_eq!(p["deadline"], deadline);
    assert_eq!(p["fee_bps"], 250);
    assert_eq!(p["client"]["raw"], addr(230).as_str());
    // The escrow is the one labelmint-abi derives from the same parameters.
    let w = test_writes();
    let plan = EscrowPlan::new(EscrowParams {
        project_id: id,
        signer_key: w.signer_key,
        deadline: u32::try_from(deadline).expect("u32"),
        fee_bps: 250,
        client: labelmint_abi::address::parse_raw(addr(230).as_str()).expect("client"),
        jetton_master: None,
        routes: EscrowRoutes {
            vault: labelmint_abi::address::parse_raw(addr(250).as_str()).expect("vault"),
            treasury: w.treasury.clone(),
        },
    })
    .expect("plan");
    let escrow = labelmint_abi::address::raw(&plan.address);
    assert_eq!(p["escrow"]["raw"], escrow);
    // One message: StateInit + escrow_deposit(budget), budget + 0.01 gas + 0.1 float,
    // non-bounceable, testnet flag on (devnet).
    let tx = &v["send_transaction"];
    assert_eq!(tx["network"], "2026");
    assert_eq!(tx["from"], addr(230).as_str());
    let valid_until = tx["valid_until"].as_u64().expect("valid_until");
    assert!(
        valid_until > now() && valid_until <= now() + 300,
        "{valid_until}"
    );
    let msgs = tx["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 1, "{tx}");
    let m = &msgs[0];
    assert_eq!(
        m["address"],
        labelmint_abi::address::friendly(&plan.address, false, true)
    );
    assert!(
        m["address"].as_str().expect("address").starts_with("0Q"),
        "{m}"
    );
    assert_eq!(m["amount"], (12_500_000_000u128 + 110_000_000).to_string());
    assert_eq!(boc(&m["stateInit"]).repr_hash(), plan.init_cell.repr_hash());
    let dep = EscrowDeposit::parse(&boc(&m["payload"])).expect("escrow_deposit");
    assert_eq!(dep.amount, 12_500_000_000);
    // Registered in the three places, and the title kept.
    for (table, col) in [
        ("signer_contracts", "address"),
        ("watched_accounts", "address"),
        ("ledger_projects", "escrow"),
        ("api_projects", "escrow"),
    ] {
        let n = count(
            &s,
            &format!("SELECT count(*) FROM {table} WHERE {col} = '{escrow}'"),
        )
        .await;
        assert_eq!(n, 1, "{table}");
    }
    let audited = count(
        &s,
        "SELECT count(*) FROM signer_audit WHERE record::text LIKE '%register%'",
    )
    .await;
    assert!(audited >= 1, "the allowlist entry is audited");
    let g = s
        .get_as(&format!("/v1/projects/{id}"), Some(&client_key))
        .await
        .ok();
    assert_eq!(g["state"], "active");
    assert_eq!(g["escrow"]["raw"], escrow);
    assert_eq!(g["title"], "Street signs, batch 3");
    assert_eq!(g["deadline"], deadline);
    // A project registered otherwise has neither.
    let g = s
        .get_as(&format!("/v1/projects/{TON_PROJECT}"), Some(&client_key))
        .await
        .ok();
    assert!(g["title"].is_null() && g["deadline"].is_null(), "{g}");

    // A further deposit: the escrow is not indexed as deployed yet, so it carries the
    // StateInit again; once it is active, a plain bounceable escrow_deposit.
    let d = s
        .post_idem(
            &format!("/v1/projects/{id}/deposits"),
            Some(&client_key),
            Some("k-dep-1"),
            Some(json!({"amount": "2"})),
        )
        .await
        .json(200);
    let m = &d["send_transaction"]["messages"][0];
    assert!(m["stateInit"].is_string(), "{d}");
    assert_eq!(m["amount"], (2 * TON + 110_000_000).to_string());
    sqlx::query(
        "INSERT INTO account_states (address, balance, status, last_lt, mc_seqno) \
         VALUES ($1, 12600000000, 'active', 1, 1)",
    )
    .bind(&escrow)
    .execute(&s.pool)
    .await
    .expect("account state");
    let d = s
        .post_idem(
            &format!("/v1/projects/{id}/deposits"),
            Some(&client_key),
            Some("k-dep-2"),
            Some(json!({"amount": "2"})),
        )
        .await
        .json(200);
    let m = &d["send_transaction"]["messages"][0];
    assert!(m.get("stateInit").is_none(), "{d}");
    assert_eq!(
        m["address"],
        labelmint_abi::address::friendly(&plan.address, true, true)
    );
    assert_eq!(m["amount"], (2 * TON + 10_000_000).to_string());
    assert_eq!(
        EscrowDeposit::parse(&boc(&m["payload"]))
            .expect("deposit")
            .amount,
        2 * TON
    );

    // Close: closing, with the client's refund; a second close is refused.
    let c = s
        .post_idem(
            &format!("/v1/projects/{id}/close"),
            Some(&client_key),
            Some("k-close-1"),
            None,
        )
        .await
        .json(202);
    assert_eq!(c["state"], "closing");
    let m = &c["refund"]["messages"][0];
    EscrowRefund::parse(&boc(&m["payload"])).expect("escrow_refund");
    assert_eq!(m["amount"], "40000000");
    let g = s
        .get_as(&format!("/v1/projects/{id}"), Some(&client_key))
        .await
        .ok();
    assert_eq!(g["state"], "closing");
    s.post_idem(
        &format!("/v1/projects/{id}/close"),
        Some(&client_key),
        Some("k-close-2"),
        None,
    )
    .await
    .problem(409, "project-not-active");
    s.post_idem(
        &format!("/v1/projects/{id}/deposits"),
        Some(&client_key),
        Some("k-dep-3"),
        Some(json!({"amount": "1"})),
    )
    .await
    .problem(409, "project-not-active");
}

#[tokio::test]
async fn a_jetton_project_deploys_first_and_deposits_once_the_escrow_knows_its_wallet() {
    let mut s = Seeded::new(0).await;
    let deadline = now() + 86_400;
    let v = s
        .post_idem(
            "/v1/projects",
            Some(&s.admin_key.clone()),
            Some("k-usd"),
            Some(
                json!({"currency": "USD", "budget": "250.5", "deadline": deadline,
                        "title": "Receipts", "client": addr(230).as_str()}),
            ),
        )
        .await
        .json(201);
    let id = v["project"]["project_id"].as_str().expect("id").to_owned();
    assert_eq!(v["project"]["budget"], "250500000");
    assert_eq!(v["project"]["decimals"], 6);
    assert!(
        v["next"].as_str().expect("next").contains("/deposits"),
        "{v}"
    );
    let m = &v["send_transaction"]["messages"][0];
    EscrowDeploy::parse(&boc(&m["payload"])).expect("escrow_deploy");
    assert!(m["stateInit"].is_string());
    assert_eq!(m["amount"], "100000000");
    assert!(
        m["address"].as_str().expect("address").starts_with("0Q"),
        "non-bounceable"
    );
    // Before the escrow learned its wallet: 409 with a sentence.
    let path = format!("/v1/projects/{id}/deposits");
    let admin = s.admin_key.clone();
    let p = s
        .post_idem(
            &path,
            Some(&admin),
            Some("k-usd-dep-1"),
            Some(json!({"amount": "250.5"})),
        )
        .await
        .problem(409, "escrow-not-ready");
    assert!(
        p["detail"]
            .as_str()
            .expect("detail")
            .contains("jetton wallet"),
        "{p}"
    );
    // Learned (indexed): the client's jetton wallet comes from the master through the
    // liteserver, and this server has none.
    let escrow = v["project"]["escrow"]["raw"]
        .as_str()
        .expect("escrow")
        .to_owned();
    let escrow = labelmint_ledger::RawAddress::parse(&escrow).expect("raw");
    s.event(&escrow, "ev_jetton_wallet_learned", 0, None, None, None)
        .await;
    s.post_idem(
        &path,
        Some(&admin),
        Some("k-usd-dep-2"),
        Some(json!({"amount": "250.5"})),
    )
    .await
    .problem(503, "liteserver-unavailable");
    // Too many decimals names the field.
    let p = s
        .post_idem(
            &path,
            Some(&admin),
            Some("k-usd-dep-3"),
            Some(json!({"amount": "1.0000001"})),
        )
        .await
        .problem(400, "invalid-parameter");
    assert_eq!(p["parameter"], "amount");
}

#[tokio::test]
async fn idempotency_replays_refuses_other_bodies_serializes_and_expires() {
    let s = Seeded::new(0).await;
    let key = s.key(Scope::Client, Some(addr(230).as_str())).await;
    let body = ton_body(now() + 86_400);
    let first = s
        .post_idem("/v1/projects", Some(&key), Some("same"), Some(body.clone()))
        .await;
    let v1 = first.json(201);
    // The same key and body (keys in another order): the stored answer, marked.
    let mut reordered = serde_json::Map::new();
    for k in ["title", "deadline", "budget", "currency"] {
        reordered.insert(k.into(), body[k].clone());
    }
    let again = s
        .post_idem(
            "/v1/projects",
            Some(&key),
            Some("same"),
            Some(Value::Object(reordered)),
        )
        .await;
    assert_eq!(again.status, 201);
    assert!(again.replayed);
    assert_eq!(again.body, first.body);
    // Another body with the key: 422.
    let mut other = body.clone();
    other["budget"] = json!("13");
    s.post_idem(
        "/v1/projects",
        Some(&key),
        Some("same"),
        Some(other.clone()),
    )
    .await
    .problem(422, "idempotency-key-reused");
    // The key is the caller's: another caller's same key is its own.
    let admin_body = json!({"currency": "TON", "budget": "1", "deadline": now() + 86_400,
                            "title": "x", "client": addr(230).as_str()});
    s.post_idem(
        "/v1/projects",
        Some(&s.admin_key),
        Some("same"),
        Some(admin_body),
    )
    .await
    .json(201);
    // A refused request is stored too: the same bad body again is the same 400, replayed.
    let bad = json!({"currency": "TON", "budget": "-1", "deadline": now() + 86_400, "title": "x"});
    let b1 = s
        .post_idem("/v1/projects", Some(&key), Some("bad"), Some(bad.clone()))
        .await;
    b1.problem(400, "invalid-parameter");
    let b2 = s
        .post_idem("/v1/projects", Some(&key), Some("bad"), Some(bad))
        .await;
    let p = b2.problem(400, "invalid-parameter");
    assert!(b2.replayed);
    assert_eq!(p["parameter"], "budget");

    // Concurrent requests with one key: one escrow.
    let before = count(&s, "SELECT count(*) FROM api_projects").await;
    let body = ton_body(now() + 2 * 86_400);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (base, key, body) = (s.base.clone(), key.clone(), body.to_string());
        tasks.push(tokio::spawn(async move {
            crate::support::request_with(
                "POST",
                &format!("{base}/v1/projects"),
                Some(&key),
                Some(body),
                &[("idempotency-key", "race")],
            )
            .await
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        let r = t.await.expect("task");
        match r.status {
            201 => created.push(r.json(201)["project"]["project_id"].clone()),
            409 => {
                r.problem(409, "idempotency-key-in-flight");
            }
            other => panic!("{other}: {}", r.body),
        }
    }
    assert!(!created.is_empty());
    assert!(created.iter().all(|id| *id == created[0]), "{created:?}");
    assert_eq!(
        count(&s, "SELECT count(*) FROM api_projects").await,
        before + 1
    );

    // A key whose holder died (in flight past its lease) is taken over with the id it
    // reserved: the same project, not a second one.
    sqlx::query(
        "UPDATE api_idempotency SET state = 'in_flight', status = NULL, response = NULL, \
           content_type = NULL, locked_until = now() - interval '1 s', \
           reserved_id = $1::text::numeric WHERE key = 'same' AND caller LIKE 'key:%' \
           AND caller <> $2",
    )
    .bind(v1["project"]["project_id"].as_str().expect("id"))
    .bind(format!("key:{}", &s.admin_key[4..20]))
    .execute(&s.pool)
    .await
    .expect("simulate a dead holder");
    let n = count(&s, "SELECT count(*) FROM api_projects").await;
    let t = s
        .post_idem("/v1/projects", Some(&key), Some("same"), Some(body_of(&v1)))
        .await;
    let t = t.json(201);
    assert_eq!(t["project"]["project_id"], v1["project"]["project_id"]);
    assert_eq!(t["project"]["escrow"], v1["project"]["escrow"]);
    assert_eq!(count(&s, "SELECT count(*) FROM api_projects").await, n);

    // After 24 h a key is new again: the other body now runs.
    sqlx::query("UPDATE api_idempotency SET created_at = now() - interval '25 hours'")
        .execute(&s.pool)
        .await
        .expect("age the keys");
    let fresh = s
        .post_idem("/v1/projects", Some(&key), Some("same"), Some(other))
        .await;
    assert!(!fresh.replayed);
    let fresh = fresh.json(201);
    assert_eq!(fresh["project"]["budget"], "13000000000");
    assert_eq!(
        count(
            &s,
            "SELECT count(*) FROM api_idempotency WHERE created_at < now() - interval '24 hours'"
        )
        .await,
        0,
        "expired keys are purged"
    );
}

/// The request body that produced `v` (the first request of the idempotency test).
fn body_of(v: &Value) -> Value {
    json!({"currency": "TON", "budget": "12.5", "deadline": v["project"]["deadline"],
           "title": "Street signs, batch 3"})
}

#[tokio::test]
async fn bad_bodies_and_headers_are_4xx_problems_naming_the_field() {
    let s = Seeded::new(0).await;
    let key = s.key(Scope::Client, Some(addr(230).as_str())).await;
    let d = now() + 86_400;
    let good = json!({"currency": "TON", "budget": "1", "deadline": d, "title": "t"});
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = good.clone();
        b.as_object_mut().expect("object").remove(k);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (without("currency"), "currency"),
        (without("budget"), "budget"),
        (without("deadline"), "deadline"),
        (without("title"), "title"),
        (with("currency", json!("DOGE")), "currency"),
        (with("currency", json!(5)), "currency"),
        (with("budget", json!("0")), "budget"),
        (with("budget", json!("1.0000000001")), "budget"),
        (with("budget", json!(1)), "budget"),
        (with("budget", json!("1e9")), "budget"),
        (with("deadline", json!(now() - 10)), "deadline"),
        (
            with("deadline", json!(now() + 11 * 366 * 86_400)),
            "deadline",
        ),
        (with("deadline", json!("next friday")), "deadline"),
        (with("deadline", json!("2030-01-01")), "deadline"),
        (with("title", json!("")), "title"),
        (with("title", json!("x".repeat(201))), "title"),
        (with("title", json!("a\u{7}b")), "title"),
        (with("client", json!("not an address")), "client"),
        (with("surprise", json!(1)), "surprise"),
    ];
    for (i, (body, field)) in cases.iter().enumerate() {
        let r = s
            .post_idem(
                "/v1/projects",
                Some(&key),
                Some(&format!("bad-{i}")),
                Some(body.clone()),
            )
            .await;
        let p = r.problem(400, "invalid-parameter");
        assert_eq!(p["parameter"], *field, "{body}: {p}");
    }
    // Not JSON, not an object.
    let r = crate::support::request_with(
        "POST",
        &format!("{}/v1/projects", s.base),
        Some(&key),
        Some("{nope".into()),
        &[("idempotency-key", "bad-json")],
    )
    .await;
    assert_eq!(r.problem(400, "invalid-parameter")["parameter"], "body");
    let r = s
        .post_idem(
            "/v1/projects",
            Some(&key),
            Some("bad-arr"),
            Some(json!([1])),
        )
        .await;
    assert_eq!(r.problem(400, "invalid-parameter")["parameter"], "body");
    // The Idempotency-Key: required, 1..=255 printable.
    for k in [None, Some(""), Some(&*"k".repeat(256)), Some("tab\there")] {
        let r = s
            .post_idem("/v1/projects", Some(&key), k, Some(good.clone()))
            .await;
        assert_eq!(
            r.problem(400, "invalid-parameter")["parameter"],
            "Idempotency-Key",
            "{k:?}"
        );
    }
    // Path ids.
    let r = s
        .post_idem("/v1/projects/abc/close", Some(&key), Some("p1"), None)
        .await;
    assert_eq!(
        r.problem(400, "invalid-parameter")["parameter"],
        "project_id"
    );
    s.post_idem("/v1/projects/999999/close", Some(&key), Some("p2"), None)
        .await
        .problem(404, "not-found");
    let r = s
        .post_idem(
            &format!("/v1/projects/{TON_PROJECT}/deposits"),
            Some(&key),
            Some("p3"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.problem(400, "invalid-parameter")["parameter"], "amount");
}

#[tokio::test]
async fn writes_run_as_a_role_that_can_do_only_them() {
    let s = Seeded::new(0).await;
    let mut conn = s.pool.acquire().await.expect("connection");
    sqlx::query("SET ROLE labelmint_api_write")
        .execute(&mut *conn)
        .await
        .expect("set role");
    for sql in [
        "DELETE FROM ledger_projects",
        "UPDATE ledger_projects SET client = escrow",
        "DELETE FROM signer_contracts",
        "UPDATE signer_contracts SET project_id = 1",
        "DELETE FROM signer_audit",
        "SELECT count(*) FROM signer_journal",
        "UPDATE ledger_earnings SET amount = 1",
        "SELECT count(*) FROM api_keys",
        "DELETE FROM watched_accounts",
        "UPDATE api_projects SET title = 'x'",
    ] {
        let e = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut *conn)
            .await
            .expect_err(sql);
        assert!(e.to_string().contains("permission denied"), "{sql}: {e}");
    }
}
