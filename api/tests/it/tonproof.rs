//! TonConnect ton_proof login: v3r2, v4r2, v5r1 wallets with their StateInit, a deployed
//! wallet through get_public_key on the real devnet, and every tamper refused with its own
//! problem type (and without using up the payload).

use serde_json::{Value, json};

use crate::support::{Seeded, addr};
use crate::wallets::{DOMAIN, TestWallet, now};

async fn payload(s: &Seeded) -> String {
    let r = s
        .send_as("POST", "/v1/auth/ton-proof/payload", None, None)
        .await
        .ok();
    assert!(r["expires_at"].is_string(), "{r}");
    r["payload"].as_str().expect("payload").to_owned()
}

async fn login(s: &Seeded, body: &Value) -> crate::support::Resp {
    s.send_as("POST", "/v1/auth/ton-proof", None, Some(body.clone()))
        .await
}

#[tokio::test]
async fn wallets_v3r2_v4r2_v5r1_log_in_with_their_state_init() {
    let s = Seeded::new(0).await;
    for (kind, seed) in [("v3r2", 31), ("v4r2", 41), ("v5r1", 51)] {
        let w = TestWallet::new(kind, seed);
        let p = payload(&s).await;
        let r = login(&s, &w.proof(&p)).await;
        let v = r.ok();
        assert_eq!(v["wallet"], kind, "{v}");
        assert_eq!(v["address"]["raw"], w.address.as_str());
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(
            (v["client"].as_bool(), v["worker"].as_bool()),
            (Some(false), Some(false))
        );
        let token = v["token"].as_str().expect("token");
        assert!(token.starts_with("lms_"));
        // The session works: its own (empty) project list; not someone else's earnings.
        let page = s.get_as("/v1/projects", Some(token)).await.ok();
        assert_eq!(page["items"], json!([]));
        s.get_as(
            &format!("/v1/workers/{}/earnings", addr(1).as_str()),
            Some(token),
        )
        .await
        .problem(403, "not-owner");
        s.get_as(&format!("/v1/workers/{}/earnings", w.address), Some(token))
            .await
            .ok();
        // The timestamp as a decimal string (the spec's wire form) is accepted too.
        let p = payload(&s).await;
        let mut body = w.proof(&p);
        let ts = body["proof"]["timestamp"].as_u64().expect("ts");
        body["proof"]["timestamp"] = json!(ts.to_string());
        login(&s, &body).await.ok();
    }
    // Nothing secret in the tables: the session token is stored as its hash.
    let rows: Vec<String> = sqlx::query_scalar("SELECT row_to_json(x)::text FROM api_sessions x")
        .fetch_all(&s.pool)
        .await
        .expect("rows");
    assert_eq!(rows.len(), 6);
}

#[tokio::test]
async fn every_tamper_is_refused_with_its_own_type() {
    let s = Seeded::new(0).await;
    let w = TestWallet::new("v4r2", 7);
    let other = TestWallet::new("v4r2", 8);
    let p = payload(&s).await;
    let t = now();
    let signed = |wallet: &TestWallet, wc: i32, domain: &str, ts: u64, pl: &str| {
        let mut body = wallet.proof(pl);
        body["proof"]["timestamp"] = json!(ts);
        body["proof"]["domain"] = json!({"lengthBytes": domain.len(), "value": domain});
        body["proof"]["signature"] = json!(wallet.sign(wc, &wallet.hash, domain, ts, pl));
        body
    };
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    cases.push((
        "another domain",
        signed(&w, 0, "evil.example", t, &p),
        "ton-proof-domain",
    ));
    cases.push((
        "too old",
        signed(&w, 0, DOMAIN, t - 3600, &p),
        "ton-proof-expired",
    ));
    cases.push((
        "in the future",
        signed(&w, 0, DOMAIN, t + 3600, &p),
        "ton-proof-future",
    ));
    let unknown = "ab".repeat(32);
    cases.push((
        "unknown payload",
        signed(&w, 0, DOMAIN, t, &unknown),
        "ton-proof-payload-unknown",
    ));
    cases.push((
        "not a payload of ours",
        signed(&w, 0, DOMAIN, t, "hello"),
        "ton-proof-payload-unknown",
    ));
    // Signed by another key (the StateInit and address are w's).
    let mut by_other = w.proof(&p);
    by_other["proof"]["signature"] = json!(other.sign(0, &w.hash, DOMAIN, t, &p));
    by_other["proof"]["timestamp"] = json!(t);
    by_other["public_key"] = Value::Null;
    cases.push(("another key", by_other, "ton-proof-signature"));
    // The domain of the proof is not what was signed.
    let mut resigned = w.proof(&p);
    resigned["proof"]["signature"] = json!(w.sign(0, &w.hash, "other.test", t, &p));
    resigned["proof"]["timestamp"] = json!(t);
    cases.push(("signed for another domain", resigned, "ton-proof-signature"));
    // Another address with w's StateInit (and w's signature over that address).
    let mut addr_swap = w.proof(&p);
    addr_swap["address"] = json!(other.address);
    addr_swap["proof"]["signature"] = json!(w.sign(0, &other.hash, DOMAIN, t, &p));
    addr_swap["proof"]["timestamp"] = json!(t);
    cases.push((
        "another address",
        addr_swap,
        "ton-proof-state-init-mismatch",
    ));
    // Another workchain, same hash, signed for it.
    let mut wc = signed(&w, -1, DOMAIN, t, &p);
    wc["address"] = json!(format!("-1:{}", hex::encode(w.hash)));
    cases.push(("another workchain", wc, "ton-proof-workchain"));
    // Another network.
    let mut net = w.proof(&p);
    net["network"] = json!("-239");
    cases.push(("another network", net, "ton-proof-network"));
    // The public key sent beside the proof is not the wallet's.
    let mut pk = w.proof(&p);
    pk["public_key"] = json!(hex::encode(other.key.verifying_key().to_bytes()));
    cases.push(("another public key", pk, "ton-proof-public-key-mismatch"));
    // A StateInit (whose hash is the address) with code that is no known wallet.
    let odd = TestWallet::with_code(
        "v4r2",
        7,
        <tycho_types::cell::Cell as tycho_types::cell::CellFamily>::empty_cell(),
    );
    cases.push(("unknown code", odd.proof(&p), "ton-proof-unknown-wallet"));
    // No StateInit and no liteserver configured.
    let mut bare = w.proof(&p);
    bare["proof"]["state_init"] = Value::Null;
    cases.push(("no StateInit", bare, "ton-proof-not-deployed"));

    for (what, body, slug) in &cases {
        let r = login(&s, body).await;
        let problem = r.problem(401, slug);
        assert!(
            !r.body
                .contains(body["proof"]["signature"].as_str().unwrap_or("-")),
            "{what}: the answer repeats the signature: {problem}"
        );
    }
    // Malformed input: 400s naming the field, never a 5xx.
    let mut bad_len = w.proof(&p);
    bad_len["proof"]["domain"]["lengthBytes"] = json!(3);
    let mut bad_sig = w.proof(&p);
    bad_sig["proof"]["signature"] = json!("***");
    let mut bad_boc = w.proof(&p);
    bad_boc["proof"]["state_init"] = json!("AAAA");
    let mut bad_addr = w.proof(&p);
    bad_addr["address"] = json!("not an address");
    for (body, param) in [
        (bad_len, Some("proof.domain.lengthBytes")),
        (bad_sig, Some("proof.signature")),
        (bad_addr, Some("address")),
        (json!({"address": w.address}), Some("body")),
        (json!([]), Some("body")),
    ] {
        let p = login(&s, &body).await.problem(400, "invalid-parameter");
        assert_eq!(p["parameter"].as_str(), param, "{p}");
    }
    login(&s, &bad_boc)
        .await
        .problem(401, "ton-proof-state-init-mismatch");

    // None of that used the payload: the right proof still logs in, once.
    login(&s, &w.proof(&p)).await.ok();
    login(&s, &w.proof(&p))
        .await
        .problem(401, "ton-proof-payload-reused");
    // An expired payload.
    let p2 = payload(&s).await;
    sqlx::query(
        "UPDATE ton_proof_payloads SET expires_at = now() - interval '1 second' WHERE payload = $1",
    )
    .bind(&p2)
    .execute(&s.pool)
    .await
    .expect("expire");
    login(&s, &w.proof(&p2))
        .await
        .problem(401, "ton-proof-payload-expired");
}

#[tokio::test]
async fn two_logins_racing_for_one_payload_make_one_session() {
    let s = Seeded::new(0).await;
    let w = TestWallet::new("v5r1", 9);
    let p = payload(&s).await;
    let (first, second) = (w.proof(&p), w.proof(&p));
    let (a, b) = tokio::join!(login(&s, &first), login(&s, &second));
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401], "{a:?} {b:?}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM api_sessions")
        .fetch_one(&s.pool)
        .await
        .expect("count");
    assert_eq!(n, 1);
}

/// The client of the seeded projects logs in with a session that sees its projects.
#[tokio::test]
async fn a_client_wallet_sees_its_projects() {
    let s = Seeded::new(0).await;
    let w = TestWallet::new("v4r2", 12);
    // A project whose client is this wallet, registered through the ledger.
    labelmint_ledger::Ledger::from_pool(s.pool.clone())
        .register_project(&labelmint_ledger::Project {
            id: labelmint_ledger::ProjectId(301),
            escrow: addr(77),
            currency: labelmint_ledger::CurrencyCode::ton(),
            client: labelmint_ledger::RawAddress::from_parts(0, &w.hash),
        })
        .await
        .expect("project");
    let p = payload(&s).await;
    let v = login(&s, &w.proof(&p)).await.ok();
    assert_eq!(v["client"], true);
    let token = v["token"].as_str().expect("token");
    let page = s.get_as("/v1/projects", Some(token)).await.ok();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["project_id"].as_str())
        .collect();
    assert_eq!(ids, ["301"]);
    s.get_as("/v1/projects/301/events", Some(token)).await.ok();
    s.get_as("/v1/projects/301", Some(token)).await.ok();
    s.get_as("/v1/projects/201", Some(token))
        .await
        .problem(403, "not-owner");
}

/// A deployed wallet without a StateInit: its key through get_public_key on the real devnet.
#[tokio::test]
async fn a_deployed_wallet_logs_in_through_get_public_key() {
    let devnet = labelmint_devnet::spawn(labelmint_devnet::Config::test())
        .await
        .expect("devnet");
    let global = devnet.global_config().expect("global config").to_string();
    let servers = labelmint_indexer::lite::parse_global_config(&global).expect("liteservers");
    let mut s = Seeded::new(0).await;
    s.server
        .take()
        .expect("server")
        .shutdown()
        .await
        .expect("shutdown");
    let url = s.db.as_ref().expect("db").url.clone();
    let mut cfg = labelmint_api::Config::test(&url);
    cfg.liteservers = servers;
    let server = labelmint_api::spawn(cfg).await.expect("spawn");
    s.base = format!("http://{}", server.addr());
    s.server = Some(server);

    // The faucet: a v4r2 wallet deployed at genesis, its key from the devnet's phrase.
    let seed =
        labelmint_devnet::config::seed_from_phrase(labelmint_devnet::config::DEFAULT_FAUCET_PHRASE);
    let faucet = devnet.genesis().faucet.clone();
    let mut w = TestWallet::new("v4r2", 0);
    w.key = ed25519_dalek::SigningKey::from_bytes(&seed);
    w.hash = faucet.address.0;
    w.address = format!("0:{}", hex::encode(w.hash));
    w.state_init = None;
    assert_eq!(
        w.key.verifying_key().to_bytes(),
        devnet.faucet_wallet().public_key()
    );
    let p = payload(&s).await;
    let v = login(&s, &w.proof(&p)).await.ok();
    assert_eq!(v["wallet"], "deployed", "{v}");
    assert_eq!(v["address"]["raw"], w.address.as_str());

    // Another key for the deployed wallet: the signature fails.
    let mut impostor = TestWallet::new("v4r2", 3);
    impostor.hash = w.hash;
    impostor.address = w.address.clone();
    impostor.state_init = None;
    let p = payload(&s).await;
    let mut body = impostor.proof(&p);
    body["public_key"] = Value::Null;
    login(&s, &body).await.problem(401, "ton-proof-signature");
    // An address with no account: not deployed.
    let mut ghost = TestWallet::new("v4r2", 4);
    ghost.state_init = None;
    login(&s, &ghost.proof(&p))
        .await
        .problem(401, "ton-proof-not-deployed");
}

/// A `Write` into a shared buffer (the log capture of [`no_secret_reaches_the_logs`]).
#[derive(Clone)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// At TRACE level, over a key's life and a wallet login, no key, token, payload or signature
/// is logged (the server runs on this test's thread, so it logs into the capture).
#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let buf = Capture(Default::default());
    let sink = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = Seeded::new(0).await;
    let made = s
        .send_as(
            "POST",
            "/v1/admin/api-keys",
            Some(&s.admin_key),
            Some(json!({"scope": "read", "label": "logged?"})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let key: Value = serde_json::from_str(&made.body).expect("json");
    let key = key["key"].as_str().expect("key").to_owned();
    s.get_as("/v1/projects", Some(&key)).await.ok();
    let w = TestWallet::new("v5r1", 21);
    let p = payload(&s).await;
    let body = w.proof(&p);
    let v = login(&s, &body).await.ok();
    let token = v["token"].as_str().expect("token").to_owned();
    s.get_as("/v1/projects", Some(&token)).await.ok();
    login(&s, &body)
        .await
        .problem(401, "ton-proof-payload-reused");
    let logs = String::from_utf8_lossy(&buf.0.lock().expect("lock")).into_owned();
    assert!(
        logs.contains("API key created"),
        "the capture works: {logs}"
    );
    assert!(logs.contains("ton_proof session opened"), "{logs}");
    let signature = body["proof"]["signature"].as_str().expect("signature");
    for (what, secret) in [
        ("the new key", &key[20..]),
        ("the admin key", &s.admin_key[20..]),
        ("the session token", &token[4..]),
        ("the payload", p.as_str()),
        ("the signature", signature),
    ] {
        assert!(!logs.contains(secret), "{what} is in the logs");
    }
}
