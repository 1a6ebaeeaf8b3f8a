//! The tailing loop over an in-memory chain with a split and a merge, against the real
//! Postgres: nothing missing, nothing twice, across kills at random moments.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use labelmint_indexer::metrics::Metrics;
use labelmint_indexer::model::{AccountKind, WatchedAccount, raw_address_parts};
use labelmint_indexer::store::Store;
use labelmint_indexer::tail::{TailOptions, index_master_block, tail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::chain::{MemChain, account};
use crate::support::TestDb;

fn opts(stop: u32) -> TailOptions {
    TailOptions {
        start_seqno: Some(1),
        index_all_accounts: false,
        poll_interval: Duration::from_millis(5),
        stop_after: Some(stop),
        parallel: 1,
    }
}

fn parallel(stop: u32, n: usize) -> TailOptions {
    TailOptions {
        parallel: n,
        ..opts(stop)
    }
}

async fn watch(store: &Store, accounts: impl Iterator<Item = u8>) -> HashSet<String> {
    let mut set = HashSet::new();
    for i in accounts {
        let address = raw_address_parts(0, &account(i));
        store
            .watch(&WatchedAccount {
                address: address.clone(),
                kind: AccountKind::Escrow,
                project_id: Some(u64::from(i)),
                owner: None,
                currency: Some("TON".into()),
            })
            .await
            .expect("watch");
        set.insert(address);
    }
    set
}

async fn indexed_hashes(store: &Store) -> Vec<String> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM transactions")
        .fetch_all(store.pool())
        .await
        .expect("hashes");
    rows.iter().map(hex::encode).collect()
}

#[tokio::test]
async fn tails_through_a_split_and_a_merge() {
    let chain = MemChain::build(1, 40, 12, 20);
    // One block at a time, and the catch-up mode gathering 4 at once: the same result.
    for o in [opts(40), parallel(40, 4)] {
        let db = TestDb::new().await;
        let watched = watch(&db.store, 0..10).await;
        let metrics = Metrics::new(Duration::from_secs(60));
        let mut c = chain.clone();
        tail(&mut c, &db.store, &metrics, &o).await.expect("tail");
        let got = indexed_hashes(&db.store).await;
        let want = chain.hashes_of(&watched);
        assert!(!want.is_empty());
        assert_eq!(got.len(), want.len());
        assert_eq!(got.into_iter().collect::<HashSet<_>>(), want);
        assert_eq!(db.store.checkpoint().await.expect("cp"), Some(40));
        // Every shard block once, the split pair and the merged block included.
        let shard_blocks: i64 =
            sqlx::query_scalar("SELECT count(*) FROM blocks WHERE workchain = 0")
                .fetch_one(db.store.pool())
                .await
                .expect("blocks");
        let halves: i64 =
            sqlx::query_scalar("SELECT count(DISTINCT shard) FROM blocks WHERE workchain = 0")
                .fetch_one(db.store.pool())
                .await
                .expect("shards");
        assert!(shard_blocks > 40);
        assert_eq!(halves, 3);
        // Latest state of each touched watched account.
        let states: i64 = sqlx::query_scalar("SELECT count(*) FROM account_states")
            .fetch_one(db.store.pool())
            .await
            .expect("states");
        assert!(states > 0 && states <= 10);
    }
}

#[tokio::test]
async fn waits_at_the_tip_and_picks_up_new_watched_accounts_without_restart() {
    let chain = MemChain::build(2, 12, 10, 6);
    chain.set_head(5);
    let db = TestDb::new().await;
    let first = watch(&db.store, 0..3).await;
    let metrics = Arc::new(Metrics::new(Duration::from_secs(60)));
    let (store, m, mut c) = (db.store.clone(), metrics.clone(), chain.clone());
    let task = tokio::spawn(async move { tail(&mut c, &store, &m, &opts(12)).await });
    // It indexes up to the visible head and waits there.
    for _ in 0..200 {
        if db.store.checkpoint().await.expect("cp") == Some(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(db.store.checkpoint().await.expect("cp"), Some(5));
    // A new escrow is registered while it runs; then the chain moves on.
    let second = watch(&db.store, 3..6).await;
    chain.set_head(12);
    task.await.expect("join").expect("tail");
    assert_eq!(db.store.checkpoint().await.expect("cp"), Some(12));

    // Accounts 0-2: everything. Accounts 3-5: only what came after mc 5.
    let got: HashSet<String> = indexed_hashes(&db.store).await.into_iter().collect();
    assert!(chain.hashes_of(&first).is_subset(&got));
    let second_all = chain.hashes_of(&second);
    let second_got: HashSet<_> = got.intersection(&second_all).cloned().collect();
    assert!(!second_got.is_empty(), "new accounts were picked up");
    assert!(
        second_got.len() < second_all.len(),
        "and not before they were registered"
    );
}

#[tokio::test]
async fn filtering_keeps_only_watched_accounts_unless_indexing_all() {
    let chain = MemChain::build(3, 8, 40, 8);
    let watched_rows = vec![WatchedAccount {
        address: raw_address_parts(0, &account(1)),
        kind: AccountKind::Vault,
        project_id: None,
        owner: None,
        currency: None,
    }];
    let tops0 = vec![];
    let mut c = chain.clone();
    let mut all = 0;
    let mut some = 0;
    let mut prev = tops0;
    let mut spoofable = 0;
    for s in 1..=8 {
        let a = index_master_block(&mut c, s, &prev, &watched_rows, true)
            .await
            .expect("all");
        let w = index_master_block(&mut c, s, &prev, &watched_rows, false)
            .await
            .expect("some");
        assert!(
            w.rows
                .transactions
                .iter()
                .all(|t| t.account == watched_rows[0].address)
        );
        assert!(
            w.rows
                .events
                .iter()
                .all(|e| e.contract_kind == Some(AccountKind::Vault))
        );
        // Indexing everything still takes events only from watched escrows and vaults: the
        // other accounts here emit ev_deposit bodies too (anyone can), and they are no facts.
        assert!(
            a.rows
                .events
                .iter()
                .all(|e| e.contract == watched_rows[0].address)
        );
        let ext_outs = a
            .rows
            .messages
            .iter()
            .filter(|m| m.msg_kind == "ext_out")
            .count();
        spoofable += ext_outs - a.rows.events.len();
        all += a.rows.transactions.len();
        some += w.rows.transactions.len();
        prev = a.shard_tops;
    }
    assert!(some > 0 && some < all, "{some} of {all}");
    assert!(
        spoofable > 0,
        "the chain has ev_deposit bodies from unwatched accounts"
    );
}

/// The crash test at the library level: the tailing task (catching up with 4 parallel
/// workers) is killed (aborted mid-await, which drops the open Postgres transaction like a
/// killed process does) at random moments, at least 20 times, and restarted from the
/// checkpoint each time.
#[tokio::test]
async fn killed_at_random_moments_it_neither_skips_nor_duplicates() {
    const LAST: u32 = 200;
    let chain = MemChain::build(4, LAST, 40, 30);
    let db = TestDb::new().await;
    let watched = watch(&db.store, 0..30).await;
    let want = chain.hashes_of(&watched);
    assert!(want.len() > 2_000, "{} transactions", want.len());
    let metrics = Arc::new(Metrics::new(Duration::from_secs(60)));
    let mut rng = StdRng::seed_from_u64(99);
    // Kill until 25 kills landed before the end (the chain is long enough that this machine,
    // or one several times faster, cannot finish first).
    let mut mid_run = 0;
    let mut checkpoints = Vec::new();
    while mid_run < 25 {
        let (store, m, mut c) = (db.store.clone(), metrics.clone(), chain.clone());
        let task = tokio::spawn(async move { tail(&mut c, &store, &m, &parallel(LAST, 4)).await });
        tokio::time::sleep(Duration::from_millis(rng.gen_range(1..40))).await;
        task.abort();
        let _ = task.await;
        let cp = db.store.checkpoint().await.expect("cp");
        checkpoints.push(cp);
        if cp == Some(LAST) {
            break;
        }
        mid_run += 1;
    }
    eprintln!("checkpoints after each kill: {checkpoints:?}");
    assert!(
        mid_run >= 20,
        "only {mid_run} kills landed mid-run: {checkpoints:?}"
    );
    let mut c = chain.clone();
    tail(&mut c, &db.store, &metrics, &opts(LAST))
        .await
        .expect("final run");

    let got = indexed_hashes(&db.store).await;
    let got_set: HashSet<String> = got.iter().cloned().collect();
    assert_eq!(got.len(), got_set.len(), "duplicates");
    assert_eq!(got_set, want, "missing or extra transactions");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(db.store.pool())
        .await
        .expect("events");
    let ext_outs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages WHERE msg_kind = 'ext_out'")
            .fetch_one(db.store.pool())
            .await
            .expect("ext outs");
    assert_eq!(events, ext_outs);
    assert!(events > 0);
    assert_eq!(db.store.checkpoint().await.expect("cp"), Some(LAST));
}
