//! The journal: the database refuses unbalanced or one-line entries and any edit; chain events
//! are ingested once each, with the lines the README lists; reconciliation passes on matching
//! data and reports every kind of mismatch.

use labelmint_ledger::{
    Account, BatchRequest, BatchState, EarningState, ItemOutcome, Ledger, Reconciliation,
};

use crate::support::{
    Ev, TON_PROJECT, TON_PROJECT_2, TestDb, USD_PROJECT, addr, earning, escrow_of, register_all,
    ton, usd, vault_of,
};

async fn raw_entry(db: &TestDb, key: &str, lines: &[(&str, i64)]) -> Result<(), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ledger_journal_entries (key, kind, currency) VALUES ($1, 'deposit', 'TON') \
         RETURNING id",
    )
    .bind(key)
    .fetch_one(&mut *tx)
    .await?;
    for (n, (account, amount)) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO ledger_journal_lines (entry_id, line_no, account, currency, amount) \
             VALUES ($1, $2, $3, 'TON', $4)",
        )
        .bind(id)
        .bind(n as i16)
        .bind(*account)
        .bind(*amount)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

#[tokio::test]
async fn the_database_refuses_unbalanced_entries_and_edits() {
    let db = TestDb::new().await;
    register_all(&db.ledger).await;
    let err = raw_entry(&db, "bad-1", &[("escrow:101", 10), ("client:101", -9)])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unbalanced"), "{err}");
    let err = raw_entry(&db, "bad-2", &[("escrow:101", 10)])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least two"), "{err}");
    let err = raw_entry(&db, "bad-3", &[]).await.unwrap_err();
    assert!(err.to_string().contains("at least two"), "{err}");
    let err = raw_entry(&db, "bad-4", &[("escrow:101", 0), ("client:101", 0)])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("check"), "{err}");
    assert_eq!(
        db.count("ledger_journal_entries").await,
        0,
        "nothing was kept"
    );

    raw_entry(
        &db,
        "good",
        &[("escrow:101", 10), ("client:101", -4), ("client:101", -6)],
    )
    .await
    .unwrap();
    // The same key twice is refused (idempotency keys are unique).
    assert!(
        raw_entry(&db, "good", &[("escrow:101", 1), ("client:101", -1)])
            .await
            .is_err()
    );
    for sql in [
        "UPDATE ledger_journal_lines SET amount = 11 WHERE line_no = 0",
        "DELETE FROM ledger_journal_lines",
        "UPDATE ledger_journal_entries SET memo = 'x'",
        "DELETE FROM ledger_journal_entries",
        "TRUNCATE ledger_journal_lines",
    ] {
        let err = sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&db.pool)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(
        db.ledger
            .balance(&Account::Escrow(TON_PROJECT), &ton())
            .await
            .unwrap(),
        10
    );
}

/// Writes the events of a whole TON flow and of a USD deposit, as the indexer would; returns
/// the TON batch's earnings.
async fn flow(db: &TestDb) -> (labelmint_ledger::Batch, Vec<labelmint_ledger::EarningId>) {
    let l = &db.ledger;
    let esc = escrow_of(TON_PROJECT);
    let vault = vault_of(&ton());
    db.set_chain_time(1_000).await;
    let e1 = l
        .approve_earning(&earning("a", "ann", TON_PROJECT, 300))
        .await
        .unwrap()
        .earning_id;
    let e2 = l
        .approve_earning(&earning("b", "ben", TON_PROJECT, 200))
        .await
        .unwrap()
        .earning_id;
    assert_eq!(l.releasable(TON_PROJECT).await.unwrap(), 500);
    db.insert_event(&Ev::new(esc.clone(), "ev_deposit", 10_000))
        .await;
    let mut release = Ev::new(esc.clone(), "ev_release", 500);
    release.fee = Some(12);
    db.insert_event(&release).await;
    // The fee leg bounced and came back (leg 2 in the query id's high half).
    let mut fee_back = Ev::new(esc.clone(), "ev_release_bounced", 12);
    fee_back.query_id = Some((2 << 32) | 1);
    db.insert_event(&fee_back).await;
    let mut funded = Ev::new(vault.clone(), "ev_vault_funded", 500);
    funded.project_id = Some(TON_PROJECT.0);
    funded.from = Some(esc.to_string());
    db.insert_event(&funded).await;
    // Someone tops the vault up directly for project 101, not from its escrow: not a release.
    let mut outsider = Ev::new(vault.clone(), "ev_vault_funded", 77);
    outsider.project_id = Some(TON_PROJECT.0);
    outsider.from = Some(addr(9).to_string());
    db.insert_event(&outsider).await;
    db.insert_event(&Ev::new(vault.clone(), "ev_gas_topped_up", 1_000_000))
        .await;

    let batch = l
        .form_batch(&BatchRequest {
            currency: ton(),
            max_items: 250,
            max_total: 10_000,
            query_id: 77,
            created_at: 1_000,
            valid_until: 1_100,
        })
        .await
        .unwrap()
        .unwrap();
    let _ = l.mark_signed(batch.id, [1; 32]).await.unwrap();
    // One item per worker; the chain knows ben's by its item id.
    let items = l.batch_items(batch.id).await.unwrap();
    let ben = items
        .iter()
        .find(|i| i.earnings == vec![e2])
        .expect("ben's item");
    assert_ne!(ben.item_id.get(), 0);
    let mut executed = Ev::new(vault.clone(), "ev_batch_executed", 500);
    executed.query_id = Some(77);
    db.insert_event(&executed).await;
    // ben's payout bounced: 200 out, 190 back (TON bounces cost network fees).
    let mut bounced = Ev::new(vault.clone(), "ev_payout_bounced", 190);
    bounced.item_id = Some(ben.item_id.get());
    db.insert_event(&bounced).await;
    let mut closed = Ev::new(esc.clone(), "ev_closed", 0);
    closed.amount = None;
    closed.balance_after = Some(9_500);
    db.insert_event(&closed).await;
    let mut refund = Ev::new(esc.clone(), "ev_refund", 9_500);
    refund.query_id = Some((3 << 32) | 2);
    db.insert_event(&refund).await;
    // The USD project: a deposit of its own.
    db.insert_event(&Ev::new(escrow_of(USD_PROJECT), "ev_deposit", 5_000_000))
        .await;
    // An escrow the ledger does not know: never read.
    db.insert_event(&Ev::new(addr(199), "ev_deposit", 1)).await;
    (batch, vec![e1, e2])
}

fn figure(r: &Reconciliation, name: &str) -> (i128, i128) {
    let f = r.figures.iter().find(|f| f.name == name).unwrap();
    (f.journal, f.expected)
}

#[tokio::test]
async fn ingestion_posts_each_event_once_with_its_side_effects() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    let (batch, e) = flow(&db).await;

    // Ingest in small steps: the result does not depend on the step.
    let mut total = labelmint_ledger::IngestReport::default();
    loop {
        let r = l.ingest_chain_events(3).await.unwrap();
        total.seen += r.seen;
        total.posted += r.posted;
        total.ignored += r.ignored;
        total.anomalies += r.anomalies;
        total.batches_confirmed += r.batches_confirmed;
        total.items_bounced += r.items_bounced;
        if r.seen < 3 {
            break;
        }
    }
    assert_eq!(total.seen, 11, "{total:?}");
    assert_eq!(total.posted, 10, "{total:?}");
    assert_eq!(total.ignored, 1, "ev_closed");
    assert_eq!(
        (
            total.anomalies,
            total.batches_confirmed,
            total.items_bounced
        ),
        (0, 1, 1)
    );
    // Again: nothing new.
    assert_eq!(l.ingest_chain_events(100).await.unwrap().seen, 0);
    assert_eq!(db.count("ledger_chain_events").await, 11);

    // Side effects: the batch is confirmed, ann paid, ben owed again.
    let b = l.batch(batch.id).await.unwrap().unwrap();
    assert_eq!(b.state, BatchState::Confirmed);
    assert_eq!(
        l.earning(e[0]).await.unwrap().unwrap().state,
        EarningState::Confirmed
    );
    assert_eq!(
        l.earning(e[1]).await.unwrap().unwrap().state,
        EarningState::Approved
    );
    let items = l.batch_items(batch.id).await.unwrap();
    assert_eq!(
        items.iter().map(|i| i.outcome).collect::<Vec<_>>(),
        vec![ItemOutcome::Paid, ItemOutcome::Bounced]
    );

    // Balances (TON).
    let bal = |a: Account| async move { l.balance(&a, &ton()).await.unwrap() };
    // Escrow: 10,000 - 500 - 12 + 12 (fee leg back) - 9,500 refund = 0.
    assert_eq!(bal(Account::Escrow(TON_PROJECT)).await, 0);
    assert_eq!(bal(Account::Transit(TON_PROJECT)).await, 0);
    // Vault: 500 + 77 + 1,000,000 (the TON vault's gas top-up) - 500 + 190 = 1,000,267.
    assert_eq!(bal(Account::Vault(ton())).await, 1_000_267);
    assert_eq!(bal(Account::Funders(ton())).await, -1_000_077);
    assert_eq!(bal(Account::Treasury(ton())).await, 0);
    assert_eq!(bal(Account::Fees(ton())).await, 0);
    assert_eq!(bal(Account::Payable("ann".into())).await, 0);
    assert_eq!(bal(Account::Payable("ben".into())).await, -200);
    assert_eq!(bal(Account::BounceCosts(ton())).await, 10);
    // Client: -10,000 + 500 approved + 12 fee - 12 fee back + 9,500 refund = 0.
    assert_eq!(bal(Account::Client(TON_PROJECT)).await, 0);
    // Every unit held is owed to someone: the balances sum to zero.
    let all = l.balances(&ton()).await.unwrap();
    assert_eq!(all.iter().map(|b| b.balance).sum::<i128>(), 0);
    assert_eq!(
        l.balance(&Account::Escrow(USD_PROJECT), &usd())
            .await
            .unwrap(),
        5_000_000
    );
    // Releasable: 500 approved, 500 released.
    let f = l.project_funding(TON_PROJECT).await.unwrap();
    assert_eq!((f.approved, f.released, f.releasable), (500, 500, 0));
    assert_eq!(l.releasable(TON_PROJECT_2).await.unwrap(), 0);

    let r = l.reconcile(&ton()).await.unwrap();
    assert!(r.is_clean(), "{:?}", r.issues);
    assert_eq!(figure(&r, "deposited"), (10_000, 10_000));
    assert_eq!(figure(&r, "released"), (500, 500));
    assert_eq!(figure(&r, "fees"), (12, 12));
    assert_eq!(figure(&r, "release_bounced"), (12, 12));
    assert_eq!(figure(&r, "refunded"), (9_500, 9_500));
    assert_eq!(figure(&r, "vault_funded"), (577, 577));
    assert_eq!(figure(&r, "paid"), (500, 500));
    assert_eq!(figure(&r, "bounced"), (190, 190));
    assert_eq!(figure(&r, "owed"), (200, 200));
    let r = l.reconcile(&usd()).await.unwrap();
    assert!(r.is_clean(), "{:?}", r.issues);
    assert_eq!(figure(&r, "deposited"), (5_000_000, 5_000_000));
}

async fn clean_flow() -> (TestDb, Ledger) {
    let db = TestDb::new().await;
    let l = db.ledger.clone();
    register_all(&l).await;
    flow(&db).await;
    while l.ingest_chain_events(100).await.unwrap().seen > 0 {}
    assert!(l.reconcile(&ton()).await.unwrap().is_clean());
    (db, l)
}

#[tokio::test]
async fn reconciliation_reports_events_not_ingested() {
    let (db, l) = clean_flow().await;
    db.insert_event(&Ev::new(escrow_of(TON_PROJECT_2), "ev_deposit", 40))
        .await;
    let r = l.reconcile(&ton()).await.unwrap();
    assert!(!r.is_clean());
    assert_eq!(r.unposted_events, 1);
    assert_eq!(figure(&r, "deposited"), (10_000, 10_040));
    assert!(
        r.issues
            .iter()
            .any(|i| i.starts_with("deposited: journal 10000 != chain 10040")),
        "{:?}",
        r.issues
    );
    l.ingest_chain_events(100).await.unwrap();
    assert!(l.reconcile(&ton()).await.unwrap().is_clean());
}

#[tokio::test]
async fn reconciliation_detects_a_journal_entry_without_a_chain_fact() {
    let (db, l) = clean_flow().await;
    // A balanced entry written around the ledger: a "deposit" the chain never saw.
    raw_entry(
        &db,
        "forged",
        &[("escrow:102", 1_000), ("client:102", -1_000)],
    )
    .await
    .unwrap();
    let r = l.reconcile(&ton()).await.unwrap();
    assert_eq!(figure(&r, "deposited"), (11_000, 10_000));
    assert!(!r.is_clean());
    assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
}

#[tokio::test]
async fn reconciliation_detects_an_event_missing_from_the_index() {
    let (db, l) = clean_flow().await;
    // Project 102's escrow reports 100 deposited, then 250: the index lacks a deposit of 100.
    let esc = escrow_of(TON_PROJECT_2);
    let mut first = Ev::new(esc.clone(), "ev_deposit", 100);
    first.balance_after = Some(100);
    db.insert_event(&first).await;
    let mut third = Ev::new(esc.clone(), "ev_deposit", 50);
    third.balance_after = Some(250);
    db.insert_event(&third).await;
    l.ingest_chain_events(100).await.unwrap();
    let r = l.reconcile(&ton()).await.unwrap();
    // Journal and index agree with each other...
    assert!(r.figures.iter().all(|f| f.matches()), "{:?}", r.figures);
    // ...but not with the escrow's own counter.
    assert_eq!(r.issues.len(), 1, "{:?}", r.issues);
    assert!(
        r.issues[0].contains(&format!("escrow {esc}: its deposited counter says 250"))
            && r.issues[0].contains("add up to 150"),
        "{:?}",
        r.issues
    );
}

#[tokio::test]
async fn reconciliation_detects_an_altered_chain_amount() {
    let (db, l) = clean_flow().await;
    // The indexed batch total disagrees with what was posted (e.g. a re-indexed fork).
    sqlx::query("UPDATE events SET amount = 499 WHERE kind = 'ev_batch_executed'")
        .execute(&db.pool)
        .await
        .unwrap();
    let r = l.reconcile(&ton()).await.unwrap();
    assert_eq!(figure(&r, "paid"), (500, 499));
    assert!(!r.is_clean());
}

#[tokio::test]
async fn unknown_chain_facts_go_to_suspense_and_are_reported() {
    let (db, l) = clean_flow().await;
    let vault = vault_of(&ton());
    // A batch the ledger never formed, and a bounce of an item it never paid.
    let mut executed = Ev::new(vault.clone(), "ev_batch_executed", 1_000);
    executed.query_id = Some(999);
    db.insert_event(&executed).await;
    let mut bounced = Ev::new(vault.clone(), "ev_payout_bounced", 5);
    bounced.item_id = Some(123_456);
    db.insert_event(&bounced).await;
    let r = l.ingest_chain_events(100).await.unwrap();
    assert_eq!((r.seen, r.anomalies), (2, 2));
    let kinds: Vec<String> = l
        .anomalies()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect();
    assert_eq!(kinds, vec!["unknown_batch", "unknown_item"]);
    assert_eq!(
        l.balance(&Account::Suspense(ton()), &ton()).await.unwrap(),
        1_000 - 5
    );
    let rec = l.reconcile(&ton()).await.unwrap();
    // The figures still match the chain (the money moved), but suspense and anomalies show.
    assert_eq!(figure(&rec, "paid"), (1_500, 1_500));
    assert_eq!(rec.anomalies, 2);
    assert!(
        rec.issues.iter().any(|i| i.contains("suspense:TON")),
        "{:?}",
        rec.issues
    );
    assert!(
        rec.issues.iter().any(|i| i.contains("anomal")),
        "{:?}",
        rec.issues
    );
}

#[tokio::test]
async fn concurrent_ingesters_post_each_event_once() {
    let db = TestDb::with_connections(12).await;
    let l = db.ledger.clone();
    register_all(&l).await;
    flow(&db).await;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let l = l.clone();
            tokio::spawn(async move {
                let mut seen = 0;
                loop {
                    let r = l.ingest_chain_events(2).await.unwrap();
                    seen += r.seen;
                    if r.seen == 0 {
                        return seen;
                    }
                }
            })
        })
        .collect();
    let mut seen = 0;
    for t in tasks {
        seen += t.await.unwrap();
    }
    assert_eq!(seen, 11);
    assert_eq!(
        db.count("ledger_journal_entries WHERE kind <> 'approve'")
            .await,
        10
    );
    assert!(l.reconcile(&ton()).await.unwrap().is_clean());
}

#[tokio::test]
async fn a_batch_confirmed_by_the_settler_is_still_posted_from_the_chain() {
    let db = TestDb::new().await;
    let l = db.ledger.clone();
    register_all(&l).await;
    let (batch, e) = flow(&db).await;
    // The settler saw its own transaction first and confirmed with it; another hash than the
    // indexed one (e.g. it recorded the wrong message) is flagged, the payment still posted.
    let _ = l
        .mark_confirmed(
            batch.id,
            &labelmint_ledger::ChainRef {
                tx_hash: [7; 32],
                msg_idx: 0,
                lt: 1,
                now: 1,
            },
        )
        .await
        .unwrap();
    while l.ingest_chain_events(100).await.unwrap().seen > 0 {}
    let kinds: Vec<String> = l
        .anomalies()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect();
    assert_eq!(kinds, vec!["confirm_evidence_differs"]);
    assert_eq!(
        l.earning(e[1]).await.unwrap().unwrap().state,
        EarningState::Approved
    );
    assert_eq!(
        l.balance(&Account::Payable("ann".into()), &ton())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        l.balance(&Account::Suspense(ton()), &ton()).await.unwrap(),
        0
    );
    let r = l.reconcile(&ton()).await.unwrap();
    assert_eq!(r.issues, vec!["1 anomaly(ies) recorded".to_owned()]);
}
