//! Exactly-once storage against the real Postgres: one database per test.

use labelmint_indexer::Error;
use labelmint_indexer::model::{
    AccountKind, AccountStateRow, BlockRow, DecodedEvent, EventRow, MasterBlockRows, WatchedAccount,
};
use labelmint_indexer::store::{Store, WriteOutcome};

use crate::support::{TestDb, block, decode_step, flows};

/// The rows of a masterchain block holding the given fixture steps' transactions, with the
/// flows' escrows and vaults watched.
async fn rows_for(store: &Store, mc_seqno: u32, steps: &[&str]) -> MasterBlockRows {
    let f = flows();
    let watched = store.watched_accounts().await.expect("watched");
    let mut rows = MasterBlockRows {
        mc_seqno,
        ..Default::default()
    };
    let mut mc = block(mc_seqno);
    mc.workchain = -1;
    rows.blocks.push(BlockRow {
        id: mc,
        gen_utime: Some(1_800_000_000 + mc_seqno),
        start_lt: Some(u64::from(mc_seqno) * 1_000_000),
        end_lt: Some(u64::from(mc_seqno) * 1_000_000 + 10),
    });
    rows.blocks.push(BlockRow {
        id: block(mc_seqno),
        gen_utime: Some(1_800_000_000 + mc_seqno),
        start_lt: None,
        end_lt: None,
    });
    for s in steps {
        for d in decode_step(f.step(s), mc_seqno) {
            let w = watched.iter().find(|w| w.address == d.tx.account);
            if w.is_some() {
                rows.account_states.push(AccountStateRow {
                    address: d.tx.account.clone(),
                    balance: u128::from(d.tx.lt) * 3,
                    status: d.tx.end_status,
                    last_lt: d.tx.lt,
                    last_tx_hash: Some(d.tx.hash),
                });
            }
            d.push_into(&mut rows, w, None);
        }
    }
    rows
}

async fn watch_flows(store: &Store) {
    let f = flows();
    for (name, kind, project) in [
        ("tonEscrow", AccountKind::Escrow, Some(1)),
        ("usdEscrow", AccountKind::Escrow, Some(2)),
        ("tonVault", AccountKind::Vault, None),
        ("usdVault", AccountKind::Vault, None),
    ] {
        store
            .watch(&WatchedAccount {
                address: f.account(name),
                kind,
                project_id: project,
                owner: None,
                currency: Some(
                    if name.starts_with("ton") {
                        "TON"
                    } else {
                        "USD"
                    }
                    .into(),
                ),
            })
            .await
            .expect("watch");
    }
}

async fn counts(db: &TestDb) -> [i64; 5] {
    [
        db.count("blocks").await,
        db.count("transactions").await,
        db.count("messages").await,
        db.count("events").await,
        db.count("account_states").await,
    ]
}

#[tokio::test]
async fn resume_point_follows_the_checkpoint_and_order_is_enforced() {
    let db = TestDb::new().await;
    let s = &db.store;
    assert_eq!(s.resume_from().await.expect("resume"), None);
    let empty = |n| MasterBlockRows {
        mc_seqno: n,
        ..Default::default()
    };
    assert_eq!(
        s.write_master_block(&empty(10)).await.expect("10"),
        WriteOutcome::Committed
    );
    assert_eq!(s.checkpoint().await.expect("cp"), Some(10));
    assert_eq!(s.resume_from().await.expect("resume"), Some(11));
    // Skipping a block is refused.
    let err = s.write_master_block(&empty(12)).await.expect_err("gap");
    assert!(
        matches!(
            err,
            Error::OutOfOrder {
                expected: 11,
                got: 12
            }
        ),
        "{err:?}"
    );
    assert_eq!(s.resume_from().await.expect("resume"), Some(11));
    assert_eq!(
        s.write_master_block(&empty(11)).await.expect("11"),
        WriteOutcome::Committed
    );
    assert_eq!(s.resume_from().await.expect("resume"), Some(12));
    // Old blocks are no-ops.
    assert_eq!(
        s.write_master_block(&empty(5)).await.expect("5"),
        WriteOutcome::AlreadyIndexed
    );
    assert_eq!(s.resume_from().await.expect("resume"), Some(12));
}

#[tokio::test]
async fn replaying_a_block_is_a_no_op() {
    let db = TestDb::new().await;
    watch_flows(&db.store).await;
    let rows = rows_for(&db.store, 100, &["ton_deposit", "ton_release"]).await;
    assert!(!rows.events.is_empty());
    assert_eq!(
        db.store.write_master_block(&rows).await.expect("write"),
        WriteOutcome::Committed
    );
    let after_first = counts(&db).await;
    assert_eq!(after_first[1], rows.transactions.len() as i64);
    assert_eq!(after_first[2], rows.messages.len() as i64);
    assert_eq!(after_first[3], rows.events.len() as i64);

    // The same block again (a restart that lost track): nothing happens.
    assert_eq!(
        db.store.write_master_block(&rows).await.expect("replay"),
        WriteOutcome::AlreadyIndexed
    );
    assert_eq!(counts(&db).await, after_first);

    // The same transactions again inside the NEXT block (a buggy walk): the unique keys keep
    // every row single; only the new block rows land.
    let mut again = rows_for(&db.store, 101, &["ton_deposit", "ton_release"]).await;
    again.blocks.retain(|b| b.id.workchain == -1);
    assert_eq!(
        db.store.write_master_block(&again).await.expect("101"),
        WriteOutcome::Committed
    );
    let c = counts(&db).await;
    assert_eq!(c[0], after_first[0] + 1);
    assert_eq!(c[1..], after_first[1..]);
    assert_eq!(db.store.resume_from().await.expect("resume"), Some(102));
}

#[tokio::test]
async fn a_crash_between_statements_leaves_nothing() {
    let db = TestDb::new().await;
    watch_flows(&db.store).await;
    let o = db
        .store
        .write_master_block(&MasterBlockRows {
            mc_seqno: 49,
            ..Default::default()
        })
        .await
        .expect("49");
    assert_eq!(o, WriteOutcome::Committed);
    let rows = rows_for(
        &db.store,
        50,
        &["ton_deposit", "usd_deposit", "ton_batch_with_bounce"],
    )
    .await;
    let before = counts(&db).await;
    {
        let mut w = db
            .store
            .begin_master_block(50)
            .await
            .expect("begin")
            .expect("not indexed yet");
        w.insert_blocks(&rows.blocks).await.expect("blocks");
        w.insert_transactions(&rows.transactions)
            .await
            .expect("txs");
        w.insert_messages(&rows.messages).await.expect("msgs");
        // ... and the process dies here: the writer (its Postgres transaction) is dropped.
    }
    assert_eq!(counts(&db).await, before);
    assert_eq!(db.store.resume_from().await.expect("resume"), Some(50));

    // A statement failing half-way (a row too large for its column) rolls back too.
    let mut bad = rows.clone();
    if let Some(t) = bad.transactions.last_mut() {
        t.lt = u64::MAX;
    }
    let err = db
        .store
        .write_master_block(&bad)
        .await
        .expect_err("lt out of range");
    assert!(matches!(err, Error::OutOfRange { .. }), "{err:?}");
    assert_eq!(counts(&db).await, before);

    // The restart writes the block whole.
    assert_eq!(
        db.store.write_master_block(&rows).await.expect("50"),
        WriteOutcome::Committed
    );
    let c = counts(&db).await;
    assert_eq!(c[1], rows.transactions.len() as i64);
    assert_eq!(db.store.resume_from().await.expect("resume"), Some(51));
}

#[tokio::test]
async fn two_writers_of_the_same_block_commit_it_once() {
    let db = TestDb::new().await;
    watch_flows(&db.store).await;
    let rows = rows_for(&db.store, 7, &["ton_release"]).await;
    let (a, b) = tokio::join!(
        db.store.write_master_block(&rows),
        db.store.write_master_block(&rows)
    );
    let mut outcomes = [a.expect("a"), b.expect("b")];
    outcomes.sort_by_key(|o| *o == WriteOutcome::Committed);
    assert_eq!(
        outcomes,
        [WriteOutcome::AlreadyIndexed, WriteOutcome::Committed]
    );
    assert_eq!(
        db.count("transactions").await,
        rows.transactions.len() as i64
    );
}

#[tokio::test]
async fn events_are_stored_with_exact_numeric_amounts_and_indexed_columns() {
    let db = TestDb::new().await;
    watch_flows(&db.store).await;
    let rows = rows_for(
        &db.store,
        1,
        &[
            "ton_deposit",
            "ton_release",
            "ton_batch_with_bounce",
            "ton_close",
            "ton_refund",
        ],
    )
    .await;
    assert_eq!(
        db.store.write_master_block(&rows).await.expect("write"),
        WriteOutcome::Committed
    );
    let pool = db.store.pool();
    let f = flows();

    let (amount, project, kind): (String, String, String) = sqlx::query_as(
        "SELECT amount::text, project_id::text, contract_kind FROM events WHERE kind = 'ev_deposit'",
    )
    .fetch_one(pool)
    .await
    .expect("deposit");
    assert_eq!(
        (amount.as_str(), project.as_str(), kind.as_str()),
        ("100000000000", "1", "escrow")
    );

    let (amount, fee, after): (String, String, String) = sqlx::query_as(
        "SELECT amount::text, fee::text, balance_after::text FROM events WHERE kind = 'ev_release'",
    )
    .fetch_one(pool)
    .await
    .expect("release");
    assert_eq!(
        (amount.as_str(), fee.as_str(), after.as_str()),
        ("40000000000", "1000000000", "59000000000")
    );

    // The vault's funding carries its own project id; the bounce its payout item id.
    let project: String = sqlx::query_scalar(
        "SELECT project_id::text FROM events WHERE kind = 'ev_vault_funded' AND project_id = 1",
    )
    .fetch_one(pool)
    .await
    .expect("funded");
    assert_eq!(project, "1");
    let (item, contract): (String, String) = sqlx::query_as(
        "SELECT payout_item_id::text, contract FROM events WHERE payout_item_id = 1003",
    )
    .fetch_one(pool)
    .await
    .expect("bounce");
    assert_eq!((item.as_str(), contract), ("1003", f.account("tonVault")));
    let total: String =
        sqlx::query_scalar("SELECT amount::text FROM events WHERE kind = 'ev_batch_executed'")
            .fetch_one(pool)
            .await
            .expect("batch");
    assert_eq!(total, "22000000000");
    let refund: String =
        sqlx::query_scalar("SELECT fields->>'amount' FROM events WHERE kind = 'ev_refund'")
            .fetch_one(pool)
            .await
            .expect("refund");
    assert_eq!(refund, "59000000000");

    // Messages by hash, transactions by account + lt desc.
    let m = &rows.messages[0];
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE msg_hash = $1")
        .bind(m.msg_hash.to_vec())
        .fetch_one(pool)
        .await
        .expect("by hash");
    assert_eq!(n, 1);
    let lts: Vec<i64> =
        sqlx::query_scalar("SELECT lt FROM transactions WHERE account = $1 ORDER BY lt DESC")
            .bind(f.account("tonEscrow"))
            .fetch_all(pool)
            .await
            .expect("by account");
    assert_eq!(lts.len(), 4);
    assert!(lts.windows(2).all(|w| w[0] > w[1]));

    // The indexes the API needs exist.
    let idx: Vec<String> =
        sqlx::query_scalar("SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'")
            .fetch_all(pool)
            .await
            .expect("indexes");
    for want in [
        "transactions_account_lt_desc",
        "messages_msg_hash",
        "events_kind_project",
        "events_payout_item_id",
    ] {
        assert!(
            idx.iter().any(|i| i == want),
            "missing index {want}: {idx:?}"
        );
    }
}

#[tokio::test]
async fn account_states_only_move_forward() {
    let db = TestDb::new().await;
    let row = |lt, balance| AccountStateRow {
        address: "0:".to_owned() + &"ab".repeat(32),
        balance,
        status: "active",
        last_lt: lt,
        last_tx_hash: None,
    };
    let block = |n, states: Vec<AccountStateRow>| MasterBlockRows {
        mc_seqno: n,
        account_states: states,
        ..Default::default()
    };
    // Two states of one account in one block: the newer wins (and no "row affected twice").
    let o = db
        .store
        .write_master_block(&block(1, vec![row(20, 2), row(10, 1)]))
        .await
        .expect("1");
    assert_eq!(o, WriteOutcome::Committed);
    let o = db
        .store
        .write_master_block(&block(2, vec![row(15, 9)]))
        .await
        .expect("2");
    assert_eq!(o, WriteOutcome::Committed);
    let (balance, lt): (String, i64) =
        sqlx::query_as("SELECT balance::text, last_lt FROM account_states")
            .fetch_one(db.store.pool())
            .await
            .expect("state");
    assert_eq!((balance.as_str(), lt), ("2", 20));
    // u128 balances beyond i64 survive exactly.
    let o = db
        .store
        .write_master_block(&block(3, vec![row(30, u128::from(u64::MAX) * 1000 + 7)]))
        .await
        .expect("3");
    assert_eq!(o, WriteOutcome::Committed);
    let balance: String = sqlx::query_scalar("SELECT balance::text FROM account_states")
        .fetch_one(db.store.pool())
        .await
        .expect("state");
    assert_eq!(balance, "18446744073709551615007");
}

#[tokio::test]
async fn an_announced_jetton_wallet_is_watched_in_the_same_transaction() {
    let db = TestDb::new().await;
    watch_flows(&db.store).await;
    let f = flows();
    let escrow = f.account("usdEscrow");
    let wallet = tycho_types::models::StdAddr::new(0, tycho_types::cell::HashBytes([0x5a; 32]));
    let mut rows = rows_for(&db.store, 3, &["usd_deposit"]).await;
    let tx = rows
        .transactions
        .iter()
        .find(|t| t.account == escrow)
        .expect("escrow tx")
        .clone();
    let watched = db.store.watched_accounts().await.expect("watched");
    rows.events.push(EventRow::new(
        &tx,
        &DecodedEvent {
            msg_idx: 99,
            event: labelmint_abi::Event::EvJettonWalletLearned(
                labelmint_abi::escrow::EvJettonWalletLearned {
                    wallet: wallet.clone(),
                },
            ),
        },
        watched.iter().find(|w| w.address == escrow),
    ));
    assert_eq!(
        db.store.write_master_block(&rows).await.expect("write"),
        WriteOutcome::Committed
    );
    let watched = db.store.watched_accounts().await.expect("watched");
    let w = watched
        .iter()
        .find(|w| w.address == labelmint_indexer::model::raw_address(&wallet))
        .expect("wallet watched");
    assert_eq!(w.kind, AccountKind::JettonWallet);
    assert_eq!(w.owner.as_deref(), Some(escrow.as_str()));
    assert_eq!(w.currency.as_deref(), Some("USD"));
}

/// TEP-467: every stored external-in message has its normalized hash, the others none. The
/// fixtures' externals (@ton/core puts a body that fits inline) are not in normal form, so the
/// normalized hash differs from the plain one (an external already in normal form hashes to
/// itself: labelmint-abi's message_hash tests). Rows indexed before the column are filled at
/// start.
#[tokio::test]
async fn external_in_messages_carry_their_normalized_hash_and_older_rows_are_filled() {
    let db = TestDb::new().await;
    watch_flows(&db.store).await;
    let steps = [
        "ton_deposit",
        "ton_release",
        "ton_batch_with_bounce",
        "ton_close",
    ];
    let rows = rows_for(&db.store, 100, &steps).await;
    assert_eq!(
        db.store.write_master_block(&rows).await.expect("write"),
        WriteOutcome::Committed
    );
    type Stored = Vec<(String, Vec<u8>, Option<Vec<u8>>, Vec<u8>)>;
    let read = || async {
        let rows: Stored = sqlx::query_as(
            "SELECT m.msg_kind, m.msg_hash, m.norm_hash, t.boc FROM messages m \
             JOIN transactions t ON t.hash = m.tx_hash ORDER BY m.tx_hash, m.direction, m.idx",
        )
        .fetch_all(db.store.pool())
        .await
        .expect("messages");
        rows
    };
    let before = read().await;
    let mut ext_in = 0;
    for (kind, msg_hash, norm, boc) in &before {
        if kind != "ext_in" {
            assert_eq!(norm, &None, "{kind}");
            continue;
        }
        let norm = norm
            .as_ref()
            .expect("an ext-in message has its normalized hash");
        let want = labelmint_indexer::decode::in_message_norm_hash(boc)
            .expect("decode")
            .expect("ext-in");
        assert_eq!(norm.as_slice(), want.as_slice());
        assert_ne!(norm, msg_hash, "an inline body is not the normal form");
        ext_in += 1;
    }
    assert!(ext_in >= 4, "ext-in messages: {ext_in}");

    // A database indexed before the column: the hashes are gone, a restart fills them.
    sqlx::query("UPDATE messages SET norm_hash = NULL")
        .execute(db.store.pool())
        .await
        .expect("clear");
    db.store.migrate().await.expect("migrate again");
    assert_eq!(read().await, before);
}
