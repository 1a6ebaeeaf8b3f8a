//! `labelmint settle --once [--wait]` on the real stack (labelmint-settler-testkit: devnet and
//! indexer in-process, the payout-signer process, Postgres): a first pass carries the
//! releases of a TON and a test USD project, a second forms, signs and sends their batches
//! and waits until the indexed chain executed them; `--json` parsed; refused while a settler
//! service leads; bad input exits 2, unreachable services exit 1 within seconds, named.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use labelmint_settler_testkit::{Coin, Options, ProjectSpec, Stack, TON, USD, std_addr, wait_for};
use serde_json::Value;

use crate::support::{Run, labelmint_with};

const TON_PROJECT: u64 = 7101;
const USD_PROJECT: u64 = 7201;

/// The settler's flags for this stack, then `extra`.
fn args(files: &labelmint_settler_testkit::Files, signer_url: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "settle".into(),
        "--global-config".into(),
        files.global_config.display().to_string(),
        "--signer-url".into(),
        signer_url.into(),
        "--signer-token-file".into(),
        files.signer_token.display().to_string(),
        "--relayer-key-file".into(),
        files.relayer_key.display().to_string(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Runs the binary off the runtime's threads (the devnet and indexer run on them).
async fn cli(url: &str, args: Vec<String>) -> Run {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        labelmint_with(&a, &[("DATABASE_URL", url.as_str())])
    })
    .await
    .expect("join")
}

fn amount(v: &Value) -> u128 {
    v.as_str().and_then(|s| s.parse().ok()).expect("amount")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pass_by_hand_releases_then_pays_and_waits_for_the_chain() {
    let mut o = Options::new("cli_settle");
    o.projects = vec![
        ProjectSpec {
            id: TON_PROJECT,
            coin: Coin::Ton,
            deposit: 10 * TON,
        },
        ProjectSpec {
            id: USD_PROJECT,
            coin: Coin::Usd,
            deposit: 100 * USD,
        },
    ];
    // A TON vault pays from what it holds above its fee reserves: with 0.8 TON (below the
    // reserves of a 250-item batch) nothing is paid before the release lands.
    o.ton_vault_float = 8 * TON / 10;
    let s = Stack::start(o).await;
    let ton = s
        .approve(TON_PROJECT, "t", 12, 3, 6, |i| {
            TON / 10 + i as u128 * TON / 100
        })
        .await;
    let usd = s
        .approve(USD_PROJECT, "u", 6, 4, 3, |i| USD + i as u128 * USD / 4)
        .await;
    let files = s.files();
    let url = s.db.url.clone();
    let signer = s.signer.url.clone();

    // Pass 1: the vaults hold nothing to pay yet, so it releases (one relayer external, two
    // releases). A batch is formed only if a release landed within the pass (a block came
    // between the relayer's external and the vaults' turn): both are right.
    let first = cli(
        &url,
        args(&files, &signer, &["--once", "--batch-size", "5", "--json"]),
    )
    .await
    .json();
    assert_eq!(first["error"], Value::Null, "{first}");
    assert_eq!(first["releases_carried"], 2, "{first}");
    let in_flight = first["releases_in_flight"].as_array().expect("releases");
    assert_eq!(in_flight.len(), 2, "{first}");
    let ton_release = in_flight
        .iter()
        .find(|r| r["currency"] == "TON")
        .expect("the TON release");
    assert_eq!(ton_release["decimals"], 9);
    assert_eq!(
        amount(&ton_release["amount"]),
        ton.iter().map(|(_, a)| a).sum::<u128>()
    );
    let usd_release = in_flight
        .iter()
        .find(|r| r["currency"] == "USD")
        .expect("the USD release");
    assert_eq!(usd_release["decimals"], 6);
    assert_eq!(
        amount(&usd_release["amount"]),
        usd.iter().map(|(_, a)| a).sum::<u128>()
    );
    assert!(first["leader_token"].as_str().is_some());
    assert_eq!(first["wait"], Value::Null);
    let mut seen: BTreeMap<String, Value> = BTreeMap::new();
    for b in first["batches"].as_array().expect("batches") {
        assert!(b["this_pass"][0] == "formed", "{b}");
        seen.insert(b["batch_id"].as_str().expect("id").to_string(), b.clone());
    }

    // The releases land and are indexed (the vaults are funded).
    wait_for("both releases indexed", Duration::from_secs(60), || async {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'ev_vault_funded'")
                .fetch_one(&s.pool)
                .await
                .ok()?;
        (n >= 2).then_some(())
    })
    .await;

    // Pass 2 with --wait: batches of at most 5 items, signed, sent and seen executed by the
    // indexed chain.
    let t = Instant::now();
    let second = cli(
        &url,
        args(
            &files,
            &signer,
            &[
                "--once",
                "--wait",
                "--timeout",
                "90",
                "--batch-size",
                "5",
                "--json",
            ],
        ),
    )
    .await
    .json();
    assert_eq!(second["error"], Value::Null, "{second}");
    assert_eq!(second["wait"]["complete"], true, "{second}");
    assert!(t.elapsed() < Duration::from_secs(90));
    for b in second["batches"].as_array().expect("batches") {
        assert_eq!(b["state"], "confirmed", "{b}");
        let words: Vec<&str> = b["this_pass"]
            .as_array()
            .expect("this_pass")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        // New batches: formed, signed, sent. Pass 1's, if still unconfirmed: the same
        // bytes again (signed, then sent or not taken once the vault executed them).
        assert!(words.contains(&"signed"), "{b}");
        seen.insert(b["batch_id"].as_str().expect("id").to_string(), b.clone());
    }
    if let Some(t) = second["totals"].as_array().expect("totals").first() {
        assert!(
            t["amount"].as_str().is_some() && t["decimals"].is_u64(),
            "{t}"
        );
    }
    // Over both passes: batches of at most 5 payout items whose totals are every earning's
    // amount (the same whether a worker's earnings share one transfer or not).
    let mut sums: BTreeMap<String, u128> = BTreeMap::new();
    for b in seen.values() {
        let c = b["currency"].as_str().expect("currency").to_string();
        assert!(b["item_count"].as_i64().expect("items") <= 5, "{b}");
        *sums.entry(c).or_default() += amount(&b["total"]);
    }
    assert_eq!(
        sums["TON"],
        ton.iter().map(|(_, a)| a).sum::<u128>(),
        "{seen:?}"
    );
    assert_eq!(
        sums["USD"],
        usd.iter().map(|(_, a)| a).sum::<u128>(),
        "{seen:?}"
    );
    // Paid on chain: a USD worker's jetton wallet holds its earnings.
    let (w, _) = &usd[0];
    let owed: u128 = usd.iter().filter(|(a, _)| a == w).map(|(_, v)| v).sum();
    assert_eq!(s.usd_balance(&std_addr(w)), owed);

    // Pass 3, for people: nothing left; no colour (NO_COLOR), amounts with units.
    let third = cli(&url, args(&files, &signer, &["--once"])).await;
    let text = third.ok();
    assert!(text.contains("nothing to settle"), "{text}");
    assert!(text.contains("one pass as leader"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour codes: {text:?}");
    assert!(s.all_confirmed().await, "{:?}", s.states().await);
    // The float the passes saw: both vaults, both escrows and the relayer, with units.
    let float = cli(&url, vec!["float".into(), "--json".into()])
        .await
        .json();
    let floats = float["floats"].as_array().expect("floats");
    let raw = |a: &tycho_types::models::StdAddr| format!("0:{}", hex::encode(a.address.0));
    for (addr, kind, currency) in [
        (raw(&s.ton_vault), "vault", "TON"),
        (raw(&s.usd_vault), "vault", "USD"),
    ] {
        let f = floats
            .iter()
            .find(|f| f["contract"] == addr.as_str())
            .unwrap_or_else(|| panic!("no float for the {currency} vault: {float}"));
        assert_eq!(
            (f["kind"].as_str(), f["currency"].as_str()),
            (Some(kind), Some(currency))
        );
        assert!(amount(&f["ton_balance"]) > 0, "{f}");
        assert!(amount(&f["ton_needed"]) > 0, "{f}");
        assert_eq!(f["stale"], false, "{f}");
        assert_eq!(
            f["low"],
            amount(&f["ton_balance"]) < amount(&f["ton_needed"])
                || amount(&f["holdings"]) < amount(&f["payable"]),
            "{f}"
        );
    }
    assert_eq!(
        floats.iter().filter(|f| f["kind"] == "escrow").count(),
        2,
        "{float}"
    );
    assert_eq!(
        floats.iter().filter(|f| f["kind"] == "relayer").count(),
        1,
        "{float}"
    );
    let any_low = floats.iter().any(|f| f["low"] == true);
    let check = cli(&url, vec!["float".into(), "--check".into()]).await;
    assert_eq!(
        check.code,
        i32::from(any_low),
        "{}{}",
        check.stdout,
        check.stderr
    );
    let text = cli(&url, vec!["float".into()]).await;
    assert!(text.stdout.contains(" TON"), "{}", text.stdout);
    assert!(text.stdout.contains(" USD"), "{}", text.stdout);

    // The ledger reconciles (the CLI's own reconcile, both currencies).
    s.index_to_head().await;
    let rec = cli(
        &url,
        vec!["ledger".into(), "reconcile".into(), "--json".into()],
    )
    .await
    .json();
    assert_eq!(rec["clean"], true, "{rec}");

    // A settler service leads: refused, exit 1, named.
    let service = labelmint_settler::spawn(s.settler_config("the-service"))
        .await
        .expect("service");
    wait_for("the service leads", Duration::from_secs(10), || async {
        service.metrics.leading().0.then_some(())
    })
    .await;
    let refused = cli(&url, args(&files, &signer, &["--once"])).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("a settler service is leading")
            && refused.stderr.contains("the-service"),
        "{}",
        refused.stderr
    );
    drop(service);

    // Bad input: usage errors exit 2 with the argument named.
    for (extra, message) in [
        (vec!["--once", "--batch-size", "0"], "batch size 0"),
        (vec!["--once", "--batch-size", "251"], "batch size 251"),
        (vec![], "--once"),
        (vec!["--once", "--timeout", "5"], "--wait"),
        (vec!["--once", "--wait", "--timeout", "0"], "--timeout"),
        (vec!["--once", "--batch-size", "many"], "--batch-size"),
    ] {
        let r = cli(&url, args(&files, &signer, &extra)).await;
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert!(r.stderr.contains(message), "{extra:?}: {}", r.stderr);
    }

    // Unreachable services: exit 1 within a few seconds, each named with its URL.
    let dir = tempfile::tempdir().expect("tempdir");
    let dead_global = dir.path().join("dead-global.json");
    let mut g: Value =
        serde_json::from_slice(&std::fs::read(&files.global_config).expect("global config"))
            .expect("json");
    g["liteservers"][0]["port"] = Value::from(1);
    std::fs::write(&dead_global, serde_json::to_vec(&g).expect("json")).expect("write");
    let missing = dir.path().join("no-such-token");
    let bad_db = "postgres://labelmint:hunter2secret@127.0.0.1:1/labelmint_up";
    let cases: Vec<(String, Vec<String>, &str)> = vec![
        (
            bad_db.to_string(),
            args(&files, &signer, &["--once"]),
            "cannot reach Postgres at postgres://labelmint:***@127.0.0.1:1/labelmint_up",
        ),
        (
            url.clone(),
            args(&files, "http://127.0.0.1:1", &["--once"]),
            "cannot reach the payout signer at http://127.0.0.1:1",
        ),
        (
            url.clone(),
            {
                let mut a = args(&files, &signer, &["--once"]);
                a[2] = dead_global.display().to_string();
                a
            },
            "cannot reach the liteserver 127.0.0.1:1",
        ),
        (
            url.clone(),
            {
                let mut a = args(&files, &signer, &["--once"]);
                a[6] = missing.display().to_string();
                a
            },
            "no-such-token",
        ),
    ];
    for (db, a, message) in cases {
        let t = Instant::now();
        let r = cli(&db, a.clone()).await;
        assert_eq!(r.code, 1, "{a:?}: {}", r.stderr);
        assert!(r.stderr.contains(message), "{a:?}: {}", r.stderr);
        assert!(!r.stderr.contains("hunter2secret"), "{}", r.stderr);
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{message}: took {:?}",
            t.elapsed()
        );
    }
}
