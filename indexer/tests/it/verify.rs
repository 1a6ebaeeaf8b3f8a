//! The indexer trusts no liteserver: a lying liteserver (the devnet's `tamper` listener over
//! the same chain) is caught every time and nothing it said reaches Postgres, while the
//! honest liteserver beside it is used instead. Real devnet, real Postgres.
//!
//! Each lie is served by the FIRST liteserver of the list, so the indexer meets it before
//! the honest one; the test then compares Postgres with the devnet's own chain, hash by hash.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use labelmint_devnet::liteapi::tamper::{Tamper, TamperingServer, serve_tampering};
use labelmint_devnet::wallet::Transfer;
use labelmint_devnet::{Config as DevnetConfig, Devnet};
use labelmint_indexer::lite::{LiteServer, parse_init_block};
use labelmint_indexer::model::{AccountKind, WatchedAccount};
use labelmint_indexer::verify::Verification;
use sqlx::Row;
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;

use crate::support::TestDb;

const TON: u128 = 1_000_000_000;

fn raw(a: &StdAddr) -> String {
    format!("{}:{}", a.workchain, hex::encode(a.address.0))
}

fn recipient(i: u8) -> StdAddr {
    use sha2::Digest;
    let h: [u8; 32] = sha2::Sha256::digest(format!("indexer verify test recipient {i}")).into();
    StdAddr::new(0, HashBytes(h))
}

/// A devnet with a few transfers to watched recipients, over several blocks.
async fn chain_with_transfers() -> (Devnet, Vec<StdAddr>) {
    let devnet = labelmint_devnet::spawn(DevnetConfig::test())
        .await
        .expect("devnet");
    let to: Vec<StdAddr> = (0..3).map(recipient).collect();
    for (i, r) in to.iter().enumerate() {
        devnet
            .faucet_send(&[Transfer {
                to: r.clone(),
                amount: TON * (i as u128 + 1),
                bounce: false,
                body: None,
                init: None,
                mode: 3,
            }])
            .expect("faucet external accepted");
        devnet.settle(16).expect("settle");
    }
    (devnet, to)
}

fn honest(devnet: &Devnet) -> LiteServer {
    LiteServer {
        addr: devnet.addr().into(),
        public_key: devnet.public_key(),
    }
}

fn lying(liar: &TamperingServer) -> LiteServer {
    LiteServer {
        addr: liar.addr.into(),
        public_key: liar.public_key,
    }
}

fn init_block(devnet: &Devnet) -> Verification {
    let json = devnet.global_config().expect("global config").to_string();
    Verification::From(
        parse_init_block(&json)
            .expect("init block")
            .expect("the devnet names its init block"),
    )
}

async fn watch(db: &TestDb, who: &[StdAddr]) {
    for a in who {
        db.store
            .watch(&WatchedAccount {
                address: raw(a),
                kind: AccountKind::Wallet,
                project_id: None,
                owner: None,
                currency: Some("TON".into()),
            })
            .await
            .expect("watch");
    }
}

fn head(devnet: &Devnet) -> u32 {
    devnet.node().lock().last_master().expect("head").id.seqno
}

async fn caught_up(db: &TestDb, seqno: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while db.store.checkpoint().await.expect("checkpoint") < Some(seqno) {
        assert!(
            Instant::now() < deadline,
            "the indexer did not reach {seqno}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every transaction hash of the devnet's chain.
fn chain_tx_hashes(devnet: &Devnet) -> BTreeSet<Vec<u8>> {
    let chain = devnet.node().lock();
    [&chain.base.history, &chain.master.history]
        .into_iter()
        .flat_map(|h| {
            h.values()
                .flat_map(|txs| txs.values().map(|(_, hash, _)| hash.0.to_vec()))
        })
        .collect()
}

/// Postgres holds exactly the devnet's chain: the same transactions (hash and time), the
/// same masterchain blocks, the same balances.
async fn assert_postgres_is_the_honest_chain(db: &TestDb, devnet: &Devnet, watched: &[StdAddr]) {
    let stored: BTreeSet<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM transactions")
        .fetch_all(db.store.pool())
        .await
        .expect("transactions")
        .into_iter()
        .collect();
    assert_eq!(
        stored,
        chain_tx_hashes(devnet),
        "the transactions are the chain's"
    );
    let rows = sqlx::query(
        "SELECT seqno, root_hash, file_hash, gen_utime FROM blocks WHERE workchain = -1",
    )
    .fetch_all(db.store.pool())
    .await
    .expect("blocks");
    assert!(!rows.is_empty());
    {
        let chain = devnet.node().lock();
        for r in rows {
            let seqno: i64 = r.get("seqno");
            let b = chain
                .master
                .block(u32::try_from(seqno).expect("seqno"))
                .expect("block on chain");
            let root: Vec<u8> = r.get("root_hash");
            let file: Vec<u8> = r.get("file_hash");
            assert_eq!(root, b.id.root_hash.0.to_vec(), "masterchain block {seqno}");
            assert_eq!(file, b.id.file_hash.0.to_vec(), "masterchain block {seqno}");
        }
    }
    for a in watched {
        let balance: String =
            sqlx::query_scalar("SELECT balance::text FROM account_states WHERE address = $1")
                .bind(raw(a))
                .fetch_one(db.store.pool())
                .await
                .expect("account state");
        let real = devnet
            .account(a)
            .expect("account")
            .load_account()
            .expect("load")
            .expect("exists")
            .balance
            .tokens
            .into_inner();
        assert_eq!(balance, real.to_string(), "balance of {}", raw(a));
    }
}

/// One lie: the indexer (liar first, honest second) catches it, fails the liar over, and
/// stores exactly the honest chain.
async fn lie_is_caught(tamper: Tamper) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let db = TestDb::new().await;
    let (devnet, to) = chain_with_transfers().await;
    let liar = serve_tampering(devnet.node().clone(), tamper)
        .await
        .expect("lying liteserver");
    watch(&db, &to).await;
    let mut config =
        labelmint_indexer::Config::test(db.url.clone(), vec![lying(&liar), honest(&devnet)]);
    config.verification = init_block(&devnet);
    config.start_seqno = Some(1);
    config.index_all_accounts = true;
    config.poll_interval = Duration::from_millis(20);
    let indexer = labelmint_indexer::spawn(config).await.expect("indexer");
    caught_up(&db, head(&devnet)).await;
    indexer.abort();

    assert!(liar.altered() >= 1, "{tamper:?}: the liar never lied");
    assert!(
        indexer.metrics.liteserver_unverified_total() >= 1,
        "{tamper:?}: the lie was not caught"
    );
    assert!(
        indexer.metrics.liteserver_failovers() >= 1,
        "{tamper:?}: no failover"
    );
    assert_postgres_is_the_honest_chain(&db, &devnet, &to).await;
    let (verified, _) = indexer.metrics.verification_cost();
    assert!(
        verified >= 1,
        "masterchain blocks were verified by signatures"
    );
}

#[tokio::test]
async fn an_altered_transaction_is_caught_and_not_stored() {
    lie_is_caught(Tamper::Transaction).await;
}

#[tokio::test]
async fn an_altered_balance_is_caught_and_not_stored() {
    lie_is_caught(Tamper::AccountBalance).await;
}

#[tokio::test]
async fn an_altered_block_header_is_caught_and_not_stored() {
    lie_is_caught(Tamper::BlockHeader).await;
}

#[tokio::test]
async fn a_forged_signature_is_caught_and_not_stored() {
    lie_is_caught(Tamper::ForgedSignature).await;
}

/// The control: with `--trust-liteserver` the same balance lie IS stored, so the tests above
/// catch a lie that matters.
#[tokio::test]
async fn a_trusting_indexer_stores_the_lie() {
    let db = TestDb::new().await;
    let (devnet, to) = chain_with_transfers().await;
    let liar = serve_tampering(devnet.node().clone(), Tamper::AccountBalance)
        .await
        .expect("lying liteserver");
    watch(&db, &to).await;
    let mut config = labelmint_indexer::Config::test(db.url.clone(), vec![lying(&liar)]);
    config.verification = Verification::TrustLiteserver;
    config.start_seqno = Some(1);
    config.poll_interval = Duration::from_millis(20);
    let indexer = labelmint_indexer::spawn(config).await.expect("indexer");
    caught_up(&db, head(&devnet)).await;
    indexer.abort();
    assert!(liar.altered() >= 1);
    assert_eq!(indexer.metrics.liteserver_unverified_total(), 0);
    let balance: String =
        sqlx::query_scalar("SELECT balance::text FROM account_states WHERE address = $1")
            .bind(raw(&to[0]))
            .fetch_one(db.store.pool())
            .await
            .expect("account state");
    let real = devnet
        .account(&to[0])
        .expect("account")
        .load_account()
        .expect("load")
        .expect("exists")
        .balance
        .tokens
        .into_inner();
    assert_eq!(
        balance,
        (real + TON).to_string(),
        "the invented TON is in Postgres"
    );
    assert!(
        indexer
            .metrics
            .render()
            .contains("labelmint_indexer_trust_liteserver 1")
    );
}
