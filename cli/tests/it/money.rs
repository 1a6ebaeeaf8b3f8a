//! The money subcommands (payout, worker, ledger, project) as the real binary against a seeded
//! scratch database: `--json` parsed, human output checked for units and friendly addresses,
//! bad input exiting 2, an unreachable database exiting 1 quickly with the URL masked.

use std::time::{Duration, Instant};

use labelmint_ledger::{BatchState, EarningState, ProjectId, ProjectState, RawAddress};
use serde_json::{Value, json};
use tycho_types::models::{StdAddr, StdAddrFormat};

use crate::support::{
    Ev, Seeded, TON, TON_PROJECT, USD_PROJECT, addr, ann, ben, cat, escrow, labelmint_with,
};

/// The user-friendly addresses in `text` (48 base64url characters), parsed: (raw, bounceable,
/// testnet).
fn friendly_in(text: &str) -> Vec<(String, bool, bool)> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .filter(|w| w.len() == 48)
        .filter_map(|w| StdAddr::from_str_ext(w, StdAddrFormat::any()).ok())
        .map(|(a, f)| (format!("0:{}", a.address), f.bounceable, f.testnet))
        .collect()
}

fn by_id<'a>(list: &'a Value, key: &str, id: &str) -> &'a Value {
    list.as_array()
        .expect("array")
        .iter()
        .find(|v| v[key] == id)
        .unwrap_or_else(|| panic!("no {key} = {id} in {list}"))
}

#[tokio::test]
async fn payout_list_filters_and_prints_units() {
    let s = Seeded::new().await;
    let ton_b = s.ton_batch.0.to_string();
    let usd_b = s.usd_batch.0.to_string();
    let all = s.run(&["payout", "list", "--json"]).json();
    let batches = &all["batches"];
    assert_eq!(batches.as_array().expect("array").len(), 2, "{all}");
    let t = by_id(batches, "batch_id", &ton_b);
    assert_eq!(t["state"], "confirmed");
    assert_eq!(t["currency"], "TON");
    assert_eq!(t["decimals"], 9);
    assert_eq!(t["total"], (TON / 2).to_string());
    assert_eq!(t["query_id"], "77");
    assert_eq!(t["vault"], crate::support::vault("TON").as_str());
    assert!(
        t["confirmed_tx"].as_str().is_some_and(|h| h.len() == 64),
        "{t}"
    );
    let u = by_id(batches, "batch_id", &usd_b);
    assert_eq!(
        (u["state"].as_str(), u["total"].as_str()),
        (Some("sent"), Some("3250000"))
    );
    assert_eq!(u["sent_hash"], hex::encode([9u8; 32]));

    let ids = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["payout", "list", "--json"];
        a.extend_from_slice(args);
        s.run(&a).json()["batches"]
            .as_array()
            .expect("array")
            .iter()
            .map(|b| b["batch_id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(ids(&["--state", "sent"]), vec![usd_b.clone()]);
    assert_eq!(ids(&["--currency", "ton"]), vec![ton_b.clone()]);
    assert_eq!(
        ids(&["--project", &USD_PROJECT.to_string()]),
        vec![usd_b.clone()]
    );
    assert_eq!(ids(&["--worker", "ben"]), vec![ton_b.clone()]);
    // A worker by wallet, user-friendly form.
    let cat_friendly = friendly_of(&s, &cat());
    assert_eq!(ids(&["--worker", &cat_friendly]), vec![usd_b.clone()]);
    assert!(ids(&["--state", "expired"]).is_empty());

    let human = s.run(&["payout", "list"]);
    let text = human.ok();
    assert!(text.contains("0.5 TON"), "{text}");
    assert!(text.contains("3.25 USD"), "{text}");
    assert!(
        text.contains("CONFIRMED TX") && text.contains("confirmed"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "NO_COLOR: no escape codes: {text:?}"
    );
    let raw = s.run(&["payout", "list", "--raw"]);
    assert!(raw.ok().contains("500000000 ×10⁻⁹ TON"), "{}", raw.stdout);
}

/// ben's address as `worker payouts` prints it (user-friendly).
fn friendly_of(s: &Seeded, a: &RawAddress) -> String {
    let out = s.run(&["worker", "payouts", a.as_str()]);
    let line = out.ok().lines().next().expect("a first line").to_owned();
    line.rsplit(' ').next().expect("address").to_owned()
}

#[tokio::test]
async fn payout_show_lists_items_with_outcomes_and_friendly_addresses() {
    let s = Seeded::new().await;
    let id = s.ton_batch.0.to_string();
    let v = s.run(&["payout", "show", &id, "--json"]).json();
    assert_eq!(v["state"], "confirmed");
    let items = &v["items"];
    let a = by_id(items, "item_id", &s.ann_item.to_string());
    assert_eq!(a["earning_ids"], json!([s.ann_earning.get().to_string()]));
    assert_eq!(
        (a["outcome"].as_str(), a["amount"].as_str()),
        (Some("paid"), Some("300000000"))
    );
    assert_eq!(a["payout_address"], ann().as_str());
    assert_eq!(a["worker"], "ann");
    let b = by_id(items, "item_id", &s.ben_item.to_string());
    assert_eq!(b["outcome"], "bounced");
    assert_eq!(b["bounce_reason"], "payout_bounced");
    assert!(
        b["bounce_tx"].as_str().is_some_and(|h| h.len() == 64),
        "{b}"
    );

    let text = s.run(&["payout", "show", &id]).ok().to_owned();
    assert!(
        text.contains("0.3 TON") && text.contains("0.2 TON") && text.contains("0.5 TON"),
        "{text}"
    );
    let found = friendly_in(&text);
    // Workers' wallets non-bounceable, the vault bounceable; devnet: testnet flag on.
    assert!(
        found.contains(&(ann().as_str().to_owned(), false, true)),
        "{found:?}\n{text}"
    );
    assert!(
        found.contains(&(ben().as_str().to_owned(), false, true)),
        "{found:?}"
    );
    assert!(
        found.contains(&(crate::support::vault("TON").as_str().to_owned(), true, true)),
        "{found:?}"
    );
    assert!(
        !text.contains(ann().as_str()),
        "raw form only on request: {text}"
    );
    let main = s.run(&["payout", "show", &id, "--network", "mainnet"]);
    assert!(friendly_in(main.ok()).contains(&(ann().as_str().to_owned(), false, false)));
    let raw = s.run(&["payout", "show", &id, "--raw-addresses"]);
    assert!(raw.ok().contains(ann().as_str()), "{}", raw.stdout);

    let missing = s.run(&["payout", "show", "999999"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no batch 999999"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn payout_status_names_the_batch_that_can_no_longer_land() {
    let s = Seeded::new().await;
    let v = s.run(&["payout", "status", "--json"]).json();
    assert_eq!(v["chain_time"], 2_000);
    let stuck = v["retryable_batches"].as_array().expect("array");
    assert_eq!(stuck.len(), 1, "{v}");
    assert_eq!(stuck[0]["batch_id"], s.usd_batch.0.to_string());
    let earnings = v["earnings"].as_array().expect("array");
    let find = |c: &str, st: &str| {
        earnings
            .iter()
            .find(|e| e["currency"] == c && e["state"] == st)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(find("TON", "confirmed")["total"], "300000000");
    assert_eq!(find("TON", "approved")["total"], "200000000");
    assert_eq!(find("USD", "sent")["count"], 1);
    let text = s
        .run(&["payout", "status", "--currency", "USD"])
        .ok()
        .to_owned();
    assert!(text.contains("3.25 USD"), "{text}");
    assert!(
        text.contains(&format!("labelmint payout retry {}", s.usd_batch.0)),
        "{text}"
    );
}

#[tokio::test]
async fn payout_retry_goes_through_expire_batch_only() {
    let s = Seeded::new().await;
    // A confirmed batch cannot be retried.
    let r = s.run(&["payout", "retry", &s.ton_batch.0.to_string()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("is confirmed"), "{}", r.stderr);
    // Paid earning: nothing to retry; bounced one: payable again already.
    let r = s.run(&[
        "payout",
        "retry",
        "--earning",
        &s.ann_earning.get().to_string(),
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is paid"), "{}", r.stderr);
    let v = s
        .run(&[
            "payout",
            "retry",
            "--earning",
            &s.ben_earning.get().to_string(),
            "--json",
        ])
        .json();
    assert_eq!(
        (v["state"].as_str(), v["payable"].as_bool()),
        (Some("approved"), Some(true))
    );
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("bounced")),
        "{v}"
    );
    // cat's earning sits in the sent batch.
    let r = s.run(&[
        "payout",
        "retry",
        "--earning",
        &s.cat_earning.get().to_string(),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(&format!("payout retry {}", s.usd_batch.0)),
        "{}",
        r.stderr
    );

    // The USD batch expired in chain time: retry expires it, cat is payable again.
    let v = s
        .run(&["payout", "retry", &s.usd_batch.0.to_string(), "--json"])
        .json();
    assert_eq!(v["outcome"], "expired");
    let b = s
        .ledger
        .batch(s.usd_batch)
        .await
        .expect("db")
        .expect("batch");
    assert_eq!(b.state, BatchState::Expired);
    let e = s
        .ledger
        .earning(s.cat_earning)
        .await
        .expect("db")
        .expect("earning");
    assert_eq!(e.state, EarningState::Approved);
    let again = s.run(&["payout", "retry", &s.usd_batch.0.to_string()]);
    assert!(again.ok().contains("already expired"), "{}", again.stdout);

    // A live batch that may still land is refused, naming its valid_until.
    s.set_chain_time(1_055).await;
    let usd = labelmint_ledger::CurrencyCode::new("USD").expect("USD");
    let fresh = s
        .ledger
        .form_batch(&labelmint_ledger::BatchRequest {
            currency: usd,
            max_items: 250,
            max_total: 5_000_000,
            query_id: 10,
            created_at: 1_040,
            valid_until: 1_100,
        })
        .await
        .expect("form")
        .expect("batch");
    let r = s.run(&["payout", "retry", &fresh.id.0.to_string()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("may still land"), "{}", r.stderr);
    assert_eq!(
        s.ledger
            .batch(fresh.id)
            .await
            .expect("db")
            .expect("b")
            .state,
        BatchState::Batched
    );
}

#[tokio::test]
async fn worker_earnings_and_payouts() {
    let s = Seeded::new().await;
    let v = s
        .run(&["worker", "earnings", ben().as_str(), "--json"])
        .json();
    assert_eq!(v["payout_address"], ben().as_str());
    let e = &v["earnings"][0];
    assert_eq!(
        (e["state"].as_str(), e["amount"].as_str()),
        (Some("approved"), Some("200000000"))
    );
    assert_eq!(
        (e["currency"].as_str(), e["decimals"].as_u64()),
        (Some("TON"), Some(9))
    );
    assert_eq!(e["project_id"], TON_PROJECT.to_string());
    assert_eq!(e["earning_id"], s.ben_earning.get().to_string());
    let p = s
        .run(&["worker", "payouts", ben().as_str(), "--json"])
        .json();
    let p0 = &p["payouts"][0];
    assert_eq!(p0["outcome"], "bounced");
    assert_eq!(p0["bounce_reason"], "payout_bounced");
    assert_eq!(p0["batch_id"], s.ton_batch.0.to_string());

    // By the friendly form too, with units in the table.
    let friendly = friendly_of(&s, &ann());
    assert!(friendly.starts_with("0Q"), "{friendly}");
    let text = s.run(&["worker", "earnings", &friendly]).ok().to_owned();
    assert!(
        text.contains("0.3 TON") && text.contains("confirmed"),
        "{text}"
    );
    let text = s.run(&["worker", "payouts", &friendly]).ok().to_owned();
    assert!(
        text.contains("paid") && text.contains(&hex::encode([5u8; 32])),
        "{text}"
    );
    let nobody = s
        .run(&["worker", "earnings", addr(77).as_str(), "--json"])
        .json();
    assert!(nobody["earnings"].as_array().is_some_and(Vec::is_empty));
}

#[tokio::test]
async fn ledger_reconcile_is_clean_then_names_a_mismatch() {
    let mut s = Seeded::new().await;
    let v = s.run(&["ledger", "reconcile", "--json"]).json();
    assert_eq!(v["clean"], true, "{v}");
    let ton = by_id(&v["currencies"], "currency", "TON");
    let dep = by_id(&ton["figures"], "name", "deposited");
    assert_eq!(
        (dep["journal"].as_str(), dep["expected"].as_str()),
        (Some("10000000000"), Some("10000000000"))
    );
    let text = s.run(&["ledger", "reconcile"]).ok().to_owned();
    assert!(
        text.contains("10 TON") && text.contains("5 USD") && text.contains("clean"),
        "{text}"
    );

    // An indexed deposit the ledger has not taken in: the deposited figure differs.
    s.event(&Ev::new(escrow(TON_PROJECT), "ev_deposit", 2 * TON))
        .await;
    let r = s.run(&["ledger", "reconcile", "--currency", "TON"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("TON deposited: journal 10 TON but chain 12 TON"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("not ingested yet"), "{}", r.stderr);
    assert!(r.stdout.contains("MISMATCH"), "{}", r.stdout);
    // USD alone is still clean.
    assert_eq!(s.run(&["ledger", "reconcile", "--currency", "USD"]).code, 0);
}

#[tokio::test]
async fn project_status_and_close() {
    let s = Seeded::new().await;
    // The indexer's view of the escrow account: its TON balance (gas float for a jetton escrow).
    sqlx::query(
        "INSERT INTO account_states (address, balance, status, last_lt, mc_seqno) \
         VALUES ($1, 9612000000, 'active', 1040, 1)",
    )
    .bind(escrow(TON_PROJECT).as_str())
    .execute(&s.pool)
    .await
    .expect("account state");
    let v = s
        .run(&["project", "status", &TON_PROJECT.to_string(), "--json"])
        .json();
    assert_eq!(v["state"], "active");
    assert_eq!(v["escrow"], escrow(TON_PROJECT).as_str());
    assert_eq!(
        (v["currency"].as_str(), v["decimals"].as_u64()),
        (Some("TON"), Some(9))
    );
    assert_eq!(v["deposited"], (10 * TON).to_string());
    assert_eq!(v["released"], (TON / 2).to_string());
    assert_eq!(v["fees"], (12 * TON / 1000).to_string());
    assert_eq!(v["release_bounced"], (12 * TON / 1000).to_string());
    assert_eq!(v["refunded"], "0");
    assert_eq!(v["on_chain_balance"]["amount"], "9612000000");
    assert_eq!(v["on_chain_balance"]["currency"], "TON");
    assert_eq!(v["account_status"], "active");
    // 10 deposited - 0.5 released - 0.012 fee + 0.012 fee leg back.
    assert_eq!(v["budget"], (95 * TON / 10).to_string());
    assert_eq!(v["approved"], (TON / 2).to_string());
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        vec!["ev_release_bounced", "ev_release", "ev_deposit"]
    );
    let text = s
        .run(&["project", "status", &TON_PROJECT.to_string()])
        .ok()
        .to_owned();
    assert!(
        text.contains("10 TON") && text.contains("0.012 TON"),
        "{text}"
    );
    let found = friendly_in(&text);
    assert!(
        found.contains(&(escrow(TON_PROJECT).as_str().to_owned(), true, true)),
        "{found:?}"
    );
    let usd = s
        .run(&["project", "status", &USD_PROJECT.to_string()])
        .ok()
        .to_owned();
    assert!(usd.contains("5 USD"), "{usd}");

    let v = s
        .run(&["project", "close", &TON_PROJECT.to_string(), "--json"])
        .json();
    assert_eq!(v["outcome"], "closing");
    assert_eq!(
        s.ledger
            .project_state(ProjectId(TON_PROJECT))
            .await
            .expect("state"),
        ProjectState::Closing
    );
    let again = s.run(&["project", "close", &TON_PROJECT.to_string()]);
    assert!(again.ok().contains("already closing"), "{}", again.stdout);
    let missing = s.run(&["project", "status", "999"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no project 999"),
        "{}",
        missing.stderr
    );
}

#[test]
fn bad_input_exits_2_naming_the_argument() {
    let r = labelmint_with(&["worker", "earnings", "not-an-address"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("<ADDRESS>") && r.stderr.contains("not a TON address"),
        "{}",
        r.stderr
    );
    let r = labelmint_with(&["payout", "list", "--state", "lost"], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--state"), "{}", r.stderr);
    let r = labelmint_with(&["payout", "list", "--currency", "t"], &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--currency"), "{}", r.stderr);
    let r = labelmint_with(&["payout", "retry"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = labelmint_with(
        &[
            "payout",
            "status",
            "--database-url-file",
            "/nonexistent/url",
        ],
        &[],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--database-url-file /nonexistent/url"),
        "{}",
        r.stderr
    );
    let r = labelmint_with(&["project", "status", "-5"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn an_unreachable_database_fails_fast_with_the_url_masked() {
    // A closed port: connection refused.
    let started = Instant::now();
    let r = labelmint_with(
        &["payout", "list"],
        &[(
            "DATABASE_URL",
            "postgres://labelmint:hunter2@127.0.0.1:1/labelmint_up",
        )],
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "cannot reach Postgres at postgres://labelmint:***@127.0.0.1:1/labelmint_up: connection refused"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("hunter2"));
    // A host that never answers (TEST-NET-1, RFC 5737): the connect timeout, not sqlx's 30 s.
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("url");
    std::fs::write(&file, "postgres://u:s3cret@192.0.2.1:5432/x\n").expect("write");
    let r = labelmint_with(
        &[
            "ledger",
            "reconcile",
            "--database-url-file",
            file.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cannot reach Postgres at postgres://u:***@192.0.2.1:5432/x"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("s3cret"));
}

#[test]
fn completions_and_help_examples() {
    let r = labelmint_with(&["completions", "bash"], &[]);
    assert!(
        r.ok().contains("labelmint") && r.stdout.contains("payout"),
        "{}",
        r.stdout
    );
    for sub in [
        &["payout", "list"][..],
        &["payout", "show"],
        &["payout", "status"],
        &["payout", "retry"],
        &["worker", "earnings"],
        &["worker", "payouts"],
        &["ledger", "reconcile"],
        &["project", "status"],
        &["project", "close"],
        &["project", "create"],
        &["devnet", "deposit"],
        &["devnet", "wallet", "new"],
        &["devnet", "wallet", "balance"],
        &["devnet", "wallet", "send"],
    ] {
        let mut a = sub.to_vec();
        a.push("--help");
        let r = labelmint_with(&a, &[]);
        assert!(r.ok().contains("labelmint "), "{sub:?}: {}", r.stdout);
        assert!(r.stdout.contains("Example"), "{sub:?}: {}", r.stdout);
    }
}

fn b64_cell(s: &str) -> tycho_types::cell::Cell {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("base64url");
    tycho_types::boc::Boc::decode(bytes).expect("boc")
}

/// `ton://transfer/<to>?amount=..&bin=..[&init=..]` -> (to, amount, bin, init).
fn parse_link(link: &str) -> (String, u128, String, Option<String>) {
    let rest = link
        .strip_prefix("ton://transfer/")
        .expect("ton://transfer/");
    let (to, query) = rest.split_once('?').expect("query");
    let mut amount = 0;
    let (mut bin, mut init) = (String::new(), None);
    for kv in query.split('&') {
        let (k, v) = kv.split_once('=').expect("k=v");
        match k {
            "amount" => amount = v.parse().expect("amount"),
            "bin" => bin = v.to_owned(),
            "init" => init = Some(v.to_owned()),
            other => panic!("unexpected parameter {other}"),
        }
    }
    (to.to_owned(), amount, bin, init)
}

#[tokio::test]
async fn project_create_registers_everywhere_and_prints_a_deposit_link() {
    use labelmint_abi::Layout as _;
    use labelmint_abi::escrow::{EscrowDeposit, EscrowParams, EscrowRoutes};
    use labelmint_abi::jetton::JettonTransfer;
    use labelmint_abi::state_init::{escrow_address, jetton_wallet_address};

    let s = Seeded::new().await;
    labelmint_payout_signer::store::migrate(&s.pool)
        .await
        .expect("signer migrations");
    let key = hex::encode([5u8; 32]);
    let client = addr(230);
    let treasury = addr(231);
    let args = |id: &str, cur: &str, amount: &str| -> Vec<String> {
        [
            "project",
            "create",
            "--id",
            id,
            "--currency",
            cur,
            "--client",
            client.as_str(),
            "--signer-key",
            &key,
            "--treasury",
            treasury.as_str(),
            "--fee-bps",
            "500",
            "--deposit",
            amount,
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |a: &[String]| s.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let std = |a: &RawAddress| StdAddr::new(0, tycho_types::cell::HashBytes(a.account()));

    let v = run(&args("301", "TON", "12.5")).json();
    assert_eq!(v["newly_registered"], true);
    assert_eq!(
        (v["deposit"].as_str(), v["decimals"].as_u64()),
        (Some("12500000000"), Some(9))
    );
    let deadline = v["deadline"].as_u64().expect("deadline") as u32;
    assert_eq!(deadline % 86_400, 0);
    // The escrow address is the abi's, from the same parameters.
    let params = EscrowParams {
        project_id: 301,
        signer_key: [5; 32],
        deadline,
        fee_bps: 500,
        client: std(&client),
        jetton_master: None,
        routes: EscrowRoutes {
            vault: std(&crate::support::vault("TON")),
            treasury: std(&treasury),
        },
    };
    let expected = escrow_address(&params).expect("address");
    let escrow = v["escrow"].as_str().expect("escrow").to_owned();
    assert_eq!(escrow, format!("0:{}", expected.address));
    // Registered with the signer, the indexer and the ledger.
    let signer: (String, String) =
        sqlx::query_as("SELECT kind, project_id::text FROM signer_contracts WHERE address = $1")
            .bind(&escrow)
            .fetch_one(&s.pool)
            .await
            .expect("signer allowlist row");
    assert_eq!(signer, ("escrow".to_owned(), "301".to_owned()));
    let watched: (String, String, String) = sqlx::query_as(
        "SELECT kind, project_id::text, currency FROM watched_accounts WHERE address = $1",
    )
    .bind(&escrow)
    .fetch_one(&s.pool)
    .await
    .expect("watched row");
    assert_eq!(watched, ("escrow".into(), "301".into(), "TON".into()));
    let p = s
        .ledger
        .project(ProjectId(301))
        .await
        .expect("db")
        .expect("project");
    assert_eq!(p.escrow.as_str(), escrow);
    // The deposit link: to the escrow (bounceable, testnet flag), deposit + 0.01 TON gas, an
    // escrow_deposit body of exactly the amount; the deploy link carries the StateInit.
    let (to, amount, bin, init) = parse_link(v["deposit_link"].as_str().expect("link"));
    let (to_addr, flags) = StdAddr::from_str_ext(&to, StdAddrFormat::any()).expect("to");
    assert_eq!(
        (to_addr.clone(), flags.bounceable, flags.testnet),
        (expected.clone(), true, true)
    );
    assert_eq!(amount, 12_510_000_000);
    assert!(init.is_none());
    let body =
        EscrowDeposit::load(&mut b64_cell(&bin).as_slice().expect("slice")).expect("deposit");
    assert_eq!(body.amount, 12_500_000_000);
    let (to, amount, _bin, init) = parse_link(v["deploy_link"].as_str().expect("deploy link"));
    assert_eq!(
        StdAddr::from_str_ext(&to, StdAddrFormat::any())
            .expect("to")
            .0,
        expected
    );
    assert_eq!(amount, 100_000_000);
    let init = b64_cell(&init.expect("init"));
    assert_eq!(init.repr_hash(), &expected.address);

    // Same day, same parameters: nothing new; the table shows a QR code.
    let again = run(&args("301", "TON", "1")).json();
    assert_eq!(
        (
            again["newly_registered"].as_bool(),
            again["escrow"].as_str()
        ),
        (Some(false), Some(escrow.as_str()))
    );
    let mut human = args("301", "TON", "1");
    human.pop();
    let text = run(&human).ok().to_owned();
    assert!(
        text.contains("ton://transfer/") && text.contains('█'),
        "{text}"
    );
    // Another escrow for a registered project id is refused.
    let mut other = args("301", "TON", "1");
    other[13] = "600".into();
    let r = run(&other);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("already registered with escrow"),
        "{}",
        r.stderr
    );

    // A jetton project: a deploy link, then a jetton transfer from the client's jetton wallet.
    let v = run(&args("302", "USD", "3.25")).json();
    let escrow = v["escrow"].as_str().expect("escrow");
    let (to, amount, bin, init) = parse_link(v["deposit_link"].as_str().expect("link"));
    assert!(init.is_none());
    let client_wallet = jetton_wallet_address(&std(&client), &std(&addr(240))).expect("wallet");
    assert_eq!(
        StdAddr::from_str_ext(&to, StdAddrFormat::any())
            .expect("to")
            .0,
        client_wallet
    );
    assert_eq!(
        amount,
        100_000_000 + labelmint_abi::escrow::JETTON_DEPOSIT_FORWARD_TON
    );
    let t = JettonTransfer::load(&mut b64_cell(&bin).as_slice().expect("slice")).expect("transfer");
    assert_eq!(t.amount, 3_250_000);
    assert_eq!(
        t.destination.map(|d| format!("0:{}", d.address)).as_deref(),
        Some(escrow)
    );
    assert_eq!(
        t.forward_ton_amount,
        labelmint_abi::escrow::JETTON_DEPOSIT_FORWARD_TON
    );
    assert!(
        v["deploy_link"]
            .as_str()
            .is_some_and(|l| l.contains("&init=")),
        "{v}"
    );

    // Bad input: too many decimals for USD, a fee above the escrow's maximum.
    let r = run(&args("303", "USD", "1.0000001"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--deposit"), "{}", r.stderr);
    let mut high = args("303", "TON", "1");
    high[13] = "2001".into();
    let r = run(&high);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--fee-bps"), "{}", r.stderr);
}

#[tokio::test]
async fn float_says_when_the_settler_never_ran() {
    let s = Seeded::new().await;
    let r = s.run(&["float"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the settler has not run against this database"),
        "{}",
        r.stderr
    );
}
