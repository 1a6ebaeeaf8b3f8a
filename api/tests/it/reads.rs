//! Every read route against the seeded database: values, units, address forms, pages.

use std::collections::HashSet;

use base64::Engine as _;

use crate::support::{Seeded, TON, TON_PROJECT, USD_PROJECT, addr};

fn friendly(raw: &str, bounceable: bool) -> String {
    labelmint_abi::address::friendly_raw(raw, bounceable, true).expect("friendly")
}

#[tokio::test]
async fn projects_show_ledger_and_indexed_sums() {
    let s = Seeded::new(0).await;
    let list = s.get("/v1/projects").await.ok();
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(list["next_cursor"], serde_json::Value::Null);
    let p = &items[0];
    assert_eq!(p["project_id"], TON_PROJECT.to_string());
    assert_eq!(p["currency"], "TON");
    assert_eq!(p["decimals"], 9);
    assert_eq!(p["state"], "active");
    assert_eq!(p["deposited"], (10 * TON).to_string());
    assert_eq!(p["released"], (TON / 2).to_string());
    assert_eq!(p["platform_fees"], (12 * TON / 1000).to_string());
    assert_eq!(p["release_bounced"], (12 * TON / 1000).to_string());
    assert_eq!(p["refunded"], "0");
    // 10 - 0.5 - 0.012 + 0.012 (the fee leg came back).
    assert_eq!(p["budget"], (95 * TON / 10).to_string());
    assert_eq!(p["approved"], (TON / 2).to_string());
    assert_eq!(p["deadline"], serde_json::Value::Null);
    let escrow = addr(TON_PROJECT as u8);
    assert_eq!(p["escrow"]["raw"], escrow.as_str());
    assert_eq!(p["escrow"]["friendly"], friendly(escrow.as_str(), true));
    assert!(
        p["escrow"]["friendly"]
            .as_str()
            .expect("s")
            .starts_with("kQ")
    );
    assert!(
        p["client"]["friendly"]
            .as_str()
            .expect("s")
            .starts_with("0Q")
    );
    let usd = s.get(&format!("/v1/projects/{USD_PROJECT}")).await.ok();
    assert_eq!(usd["currency"], "USD");
    assert_eq!(usd["decimals"], 6);
    assert_eq!(usd["deposited"], "5000000");
    assert_eq!(usd["budget"], "5000000");
    assert_eq!(usd["approved"], "3250000");

    // Pages of one.
    let first = s.get("/v1/projects?limit=1").await.ok();
    assert_eq!(first["items"][0]["project_id"], "101");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = s
        .get(&format!("/v1/projects?limit=1&cursor={cursor}"))
        .await
        .ok();
    assert_eq!(second["items"][0]["project_id"], "201");
    assert_eq!(second["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn project_events_page_without_duplicates_or_gaps() {
    let s = Seeded::new(7).await;
    // 3 seeded escrow events + 7 deposits.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => format!("/v1/projects/{TON_PROJECT}/events?limit=3"),
            Some(c) => format!("/v1/projects/{TON_PROJECT}/events?limit=3&cursor={c}"),
        };
        let page = s.get(&path).await.ok();
        assert_eq!(page["currency"], "TON");
        assert_eq!(page["decimals"], 9);
        for e in page["items"].as_array().expect("items") {
            seen.push((
                e["lt"].as_str().expect("lt").parse::<i64>().expect("lt"),
                e["tx_hash"].as_str().expect("hash").to_owned(),
                e["kind"].as_str().expect("kind").to_owned(),
            ));
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen.len(), 10);
    let unique: HashSet<_> = seen.iter().map(|e| e.1.clone()).collect();
    assert_eq!(unique.len(), 10, "no duplicates");
    assert!(
        seen.windows(2).all(|w| w[0].0 > w[1].0),
        "newest first, strictly"
    );
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE contract = $1")
        .bind(addr(TON_PROJECT as u8).as_str())
        .fetch_one(&s.pool)
        .await
        .expect("count");
    assert_eq!(all, 10, "no gaps");
    assert_eq!(seen.last().expect("oldest").2, "ev_deposit");
    assert!(seen.iter().any(|e| e.2 == "ev_release"));
}

#[tokio::test]
async fn vaults_show_paid_bounced_payable_and_live_batches() {
    let s = Seeded::new(0).await;
    let vaults = s.get("/v1/vaults").await.ok();
    let vaults = vaults.as_array().expect("array");
    assert_eq!(vaults.len(), 2);
    let ton = &vaults[0];
    assert_eq!(ton["currency"], "TON");
    assert_eq!(ton["decimals"], 9);
    assert_eq!(ton["address"]["raw"], addr(250).as_str());
    assert!(
        ton["address"]["friendly"]
            .as_str()
            .expect("s")
            .starts_with("kQ")
    );
    assert_eq!(ton["funded"], (TON / 2).to_string());
    assert_eq!(ton["paid"], (TON / 2).to_string());
    assert_eq!(ton["bounced"], (19 * TON / 100).to_string());
    // ben's bounced 0.2 TON is payable again.
    assert_eq!(ton["payable"], (2 * TON / 10).to_string());
    assert_eq!(ton["live_batches"], 0);
    let usd = s
        .get(&format!(
            "/v1/vaults/{}",
            friendly(addr(251).as_str(), true)
        ))
        .await
        .ok();
    assert_eq!(usd["currency"], "USD");
    assert_eq!(usd["live_batches"], 1);
    assert_eq!(usd["live_total"], "3250000");
    assert_eq!(usd["payable"], "0");
    let by_raw = s
        .get(&format!("/v1/vaults/{}", addr(251).as_str()))
        .await
        .ok();
    assert_eq!(by_raw, usd);
}

#[tokio::test]
async fn batches_filter_page_and_show_items() {
    let s = Seeded::new(0).await;
    let all = s.get("/v1/payouts/batches").await.ok();
    let ids: Vec<String> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|b| b["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, [s.usd_batch.0.to_string(), s.ton_batch.0.to_string()]);
    let sent = s.get("/v1/payouts/batches?state=sent").await.ok();
    assert_eq!(sent["items"].as_array().expect("items").len(), 1);
    assert_eq!(sent["items"][0]["currency"], "USD");
    assert_eq!(sent["items"][0]["total"], "3250000");
    assert_eq!(sent["items"][0]["decimals"], 6);
    let ton = s.get("/v1/payouts/batches?currency=TON").await.ok();
    assert_eq!(ton["items"][0]["id"], s.ton_batch.0.to_string());
    assert_eq!(ton["items"][0]["state"], "confirmed");
    assert_eq!(ton["items"][0]["query_id"], "77");
    let ann = s.get("/v1/payouts/batches?worker=ann").await.ok();
    assert_eq!(ann["items"][0]["id"], s.ton_batch.0.to_string());
    let cat = s
        .get(&format!(
            "/v1/payouts/batches?worker={}",
            friendly(addr(3).as_str(), false)
        ))
        .await
        .ok();
    assert_eq!(cat["items"].as_array().expect("items").len(), 1);
    assert_eq!(cat["items"][0]["id"], s.usd_batch.0.to_string());
    // Pages of one: both batches, once each.
    let p1 = s.get("/v1/payouts/batches?limit=1").await.ok();
    let c = p1["next_cursor"].as_str().expect("next");
    let p2 = s
        .get(&format!("/v1/payouts/batches?limit=1&cursor={c}"))
        .await
        .ok();
    assert_eq!(p1["items"][0]["id"], s.usd_batch.0.to_string());
    assert_eq!(p2["items"][0]["id"], s.ton_batch.0.to_string());
    assert_eq!(p2["next_cursor"], serde_json::Value::Null);

    let b = s
        .get(&format!("/v1/payouts/batches/{}", s.ton_batch.0))
        .await
        .ok();
    assert_eq!(b["state"], "confirmed");
    assert_eq!(b["total"], (TON / 2).to_string());
    assert_eq!(b["vault"]["raw"], addr(250).as_str());
    let items = b["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    let ann = items.iter().find(|i| i["worker"] == "ann").expect("ann");
    assert_eq!(ann["amount"], (3 * TON / 10).to_string());
    assert_eq!(ann["outcome"], "paid");
    assert_eq!(ann["payout_address"]["raw"], addr(1).as_str());
    assert_eq!(
        ann["payout_address"]["friendly"],
        friendly(addr(1).as_str(), false)
    );
    assert_eq!(ann["earning_ids"].as_array().expect("ids").len(), 1);
    let ben = items.iter().find(|i| i["worker"] == "ben").expect("ben");
    assert_eq!(ben["outcome"], "bounced");
    assert_eq!(ben["bounce_reason"], "payout_bounced");
    assert_eq!(ben["bounced_amount"], (19 * TON / 100).to_string());
    assert_eq!(ben["bounce_tx"].as_str().expect("tx").len(), 64);
    assert!(ben["bounce_now"].as_i64().expect("chain time") > 1_500);
}

#[tokio::test]
async fn workers_earnings_and_payouts() {
    let s = Seeded::new(0).await;
    let e = s
        .get(&format!(
            "/v1/workers/{}/earnings",
            friendly(addr(1).as_str(), false)
        ))
        .await
        .ok();
    let items = e["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["worker"], "ann");
    assert_eq!(items[0]["amount"], (3 * TON / 10).to_string());
    assert_eq!(items[0]["currency"], "TON");
    assert_eq!(items[0]["decimals"], 9);
    assert_eq!(items[0]["project_id"], "101");
    assert_eq!(items[0]["state"], "confirmed");
    assert!(
        items[0]["approved_at"]
            .as_str()
            .expect("time")
            .ends_with('Z')
    );
    let p = s
        .get(&format!("/v1/workers/{}/payouts", addr(2).as_str()))
        .await
        .ok();
    let items = p["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["outcome"], "bounced");
    assert_eq!(items[0]["batch_id"], s.ton_batch.0.to_string());
    assert_eq!(items[0]["amount"], (2 * TON / 10).to_string());
    let none = s
        .get(&format!("/v1/workers/{}/payouts", addr(9).as_str()))
        .await
        .ok();
    assert_eq!(none["items"].as_array().expect("items").len(), 0);
}

#[tokio::test]
async fn transactions_by_hash_and_by_message_hash() {
    let s = Seeded::new(0).await;
    let tx = s
        .get(&format!("/v1/transactions/{}", hex::encode(s.release_tx)))
        .await
        .ok();
    assert_eq!(tx["matched_by"], "transaction_hash");
    assert_eq!(tx["hash"], hex::encode(s.release_tx));
    assert_eq!(tx["account"]["raw"], addr(TON_PROJECT as u8).as_str());
    assert_eq!(tx["events"][0]["kind"], "ev_release");
    assert_eq!(tx["events"][0]["fee"], (12 * TON / 1000).to_string());
    assert_eq!(tx["in_msg"]["msg_kind"], "ext_in");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.release_msg);
    let by_msg = s.get(&format!("/v1/transactions/{b64}")).await.ok();
    assert_eq!(by_msg["matched_by"], "message_hash");
    assert_eq!(by_msg["hash"], hex::encode(s.release_tx));
}

/// A wallet's external message as TonConnect returns it (StateInit attached, body inline) and
/// the same message as the chain executed it (no StateInit): both find the transaction through
/// the TEP-467 normalized hash (neither is in normal form: the body is inline).
#[tokio::test]
async fn a_wallet_boc_finds_its_transaction_by_the_normalized_hash() {
    use tycho_types::boc::Boc;
    use tycho_types::cell::{Cell, CellBuilder, CellFamily as _, HashBytes};
    use tycho_types::models::{
        ExtInMsgInfo, IntAddr, Message, MessageLayout, MsgInfo, StateInit, StdAddr,
    };
    use tycho_types::num::Tokens;

    let s = Seeded::new(0).await;
    let wallet = addr(230);
    let mut body = CellBuilder::new();
    body.store_u32(0x1234_5678).expect("bits");
    body.store_u64(77).expect("bits");
    let body = body.build().expect("body");
    let message = |init: Option<StateInit>, inline: bool| -> Cell {
        CellBuilder::build_from(Message {
            info: MsgInfo::ExtIn(ExtInMsgInfo {
                src: None,
                dst: IntAddr::Std(StdAddr::new(0, HashBytes(wallet.account()))),
                import_fee: Tokens::ZERO,
            }),
            init,
            body: body.as_slice().expect("slice"),
            layout: Some(MessageLayout {
                init_to_cell: false,
                body_to_cell: !inline,
            }),
        })
        .expect("message")
    };
    let init = StateInit {
        code: Some(Cell::empty_cell()),
        ..Default::default()
    };
    let returned = message(Some(init), true);
    let executed = message(None, true);
    assert_ne!(returned.repr_hash(), executed.repr_hash());
    // The normal form (body in a reference) hashes to itself.
    let normal = message(None, false);
    let norm = labelmint_abi::message_hash::normalized_hash(&returned).expect("ext-in");
    assert_eq!(norm, normal.repr_hash().0);
    assert_ne!(norm, executed.repr_hash().0);
    let tx_hash = [0xee; 32];
    sqlx::query(
        "INSERT INTO transactions (account, lt, hash, block_workchain, block_shard, block_seqno, \
             mc_seqno, now, prev_trans_hash, prev_trans_lt, orig_status, end_status, total_fees, \
             tx_kind, aborted, destroyed, out_msg_count, boc) \
         VALUES ($1, 5000, $2, 0, -9223372036854775808, 1, 1, 1990, $3, 0, 'uninit', 'active', \
             0, 'ordinary', false, false, 1, '\\x00')",
    )
    .bind(wallet.as_str())
    .bind(tx_hash.to_vec())
    .bind([0u8; 32].to_vec())
    .execute(&s.pool)
    .await
    .expect("transaction");
    sqlx::query(
        "INSERT INTO messages (tx_hash, direction, idx, msg_hash, msg_kind, dst, body_hash, \
             norm_hash) VALUES ($1, 'in', 0, $2, 'ext_in', $3, $4, $5)",
    )
    .bind(tx_hash.to_vec())
    .bind(executed.repr_hash().0.to_vec())
    .bind(wallet.as_str())
    .bind(body.repr_hash().0.to_vec())
    .bind(norm.to_vec())
    .execute(&s.pool)
    .await
    .expect("message");

    let by_norm = s
        .get(&format!("/v1/transactions/{}", hex::encode(norm)))
        .await
        .ok();
    assert_eq!(by_norm["matched_by"], "normalized_message_hash");
    assert_eq!(by_norm["hash"], hex::encode(tx_hash));
    let exact = s
        .get(&format!(
            "/v1/transactions/{}",
            hex::encode(executed.repr_hash().0)
        ))
        .await
        .ok();
    assert_eq!(exact["matched_by"], "message_hash");
    // Standard base64 as TonConnect answers it, percent-encoded in the query; and url-safe
    // base64 unencoded, from the other form of the message.
    let std64 = base64::engine::general_purpose::STANDARD.encode(Boc::encode(&returned));
    let query: String = std64
        .bytes()
        .map(|b| match b {
            b'+' => "%2B".to_owned(),
            b'/' => "%2F".to_owned(),
            b'=' => "%3D".to_owned(),
            b => (b as char).to_string(),
        })
        .collect();
    let by_boc = s
        .get(&format!("/v1/transactions/by-boc?boc={query}"))
        .await
        .ok();
    assert_eq!(by_boc["matched_by"], "normalized_message_hash");
    assert_eq!(by_boc["hash"], hex::encode(tx_hash));
    let url64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Boc::encode(&executed));
    let by_other = s
        .get(&format!("/v1/transactions/by-boc?boc={url64}"))
        .await
        .ok();
    assert_eq!(by_other["hash"], hex::encode(tx_hash));

    // Not an external message, not a BoC, never sent: 400, 400, 404.
    let internal = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Boc::encode(&body));
    let p = s
        .get(&format!("/v1/transactions/by-boc?boc={internal}"))
        .await
        .problem(400, "invalid-parameter");
    assert_eq!(p["parameter"], "boc", "{p}");
    s.get("/v1/transactions/by-boc?boc=not-a-boc")
        .await
        .problem(400, "invalid-parameter");
    let mut unsent = CellBuilder::new();
    unsent.store_u32(1).expect("bits");
    let unsent_msg = CellBuilder::build_from(Message {
        info: MsgInfo::ExtIn(ExtInMsgInfo {
            src: None,
            dst: IntAddr::Std(StdAddr::new(0, HashBytes([0x31; 32]))),
            import_fee: Tokens::ZERO,
        }),
        init: None,
        body: unsent.build().expect("body").as_slice().expect("slice"),
        layout: None,
    })
    .expect("message");
    let unsent64 =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Boc::encode(&unsent_msg));
    s.get(&format!("/v1/transactions/by-boc?boc={unsent64}"))
        .await
        .problem(404, "not-found");
}

#[tokio::test]
async fn indexer_status_reports_the_checkpoint() {
    let s = Seeded::new(0).await;
    let st = s.get("/v1/indexer/status").await.ok();
    assert_eq!(st["last_mc_seqno"], 1);
    assert_eq!(st["last_mc_gen_utime"], 2_000);
    assert!(st["lag_seconds"].as_i64().expect("lag") > 0);
    assert_eq!(st["lag_blocks"], serde_json::Value::Null);
}
