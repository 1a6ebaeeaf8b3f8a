//! The devnet restarting (stop, then start on the same state folder) and one of two
//! liteservers going away are survived: the indexer (in-process, over the real liteserver
//! protocol) keeps going and ends with exactly the chain's transactions.

use std::time::Duration;

use labelmint_indexer::Config;

use crate::crash::{assert_same_set, wait_checkpoint};
use crate::loadnet::LoadNet;
use crate::support::TestDb;

/// Wallets sending load.
const WALLETS: usize = 40;
/// Wallet externals per block.
const EXTERNALS_PER_BLOCK: usize = 20;
/// Blocks before and after the disruption.
const BLOCKS: usize = 15;

fn config(db: &TestDb, net: &LoadNet) -> Config {
    let mut c = Config::test(db.url.clone(), net.liteservers());
    c.start_seqno = Some(1);
    c.index_all_accounts = true;
    c.poll_interval = Duration::from_millis(20);
    c.lite.request_timeout = Duration::from_millis(1_000);
    c.lite.connect_timeout = Duration::from_millis(500);
    c
}

async fn load(net: &mut LoadNet, blocks: usize) {
    for _ in 0..blocks {
        net.submit(EXTERNALS_PER_BLOCK);
        net.produce();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    while net.produce().queued > 0 {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_the_devnet_restarting_on_its_state_folder() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut net = LoadNet::start(WALLETS, 1, Some(dir.path()));
    let indexer = labelmint_indexer::spawn(config(&db, &net))
        .await
        .expect("indexer");
    load(&mut net, BLOCKS).await;
    let before = net.head();
    wait_checkpoint(&db, before, Duration::from_secs(60)).await;

    // Down for a while (every connection closed), then up again on the same folder and port.
    let head_before_restart = net.head();
    net = tokio::task::block_in_place(|| net.restart_after(Duration::from_millis(1_500)));
    assert_eq!(net.head(), head_before_restart, "the chain continues");
    load(&mut net, BLOCKS).await;
    let head = net.head();
    assert!(head > before);
    wait_checkpoint(&db, head, Duration::from_secs(60)).await;
    let errors = indexer.metrics.liteserver_errors();
    indexer.abort();
    assert_same_set(&db, &net).await;
    assert!(errors >= 1, "the restart was not even noticed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_one_of_two_liteservers_going_away() {
    let db = TestDb::new().await;
    let mut net = LoadNet::start(WALLETS, 2, None);
    let indexer = labelmint_indexer::spawn(config(&db, &net))
        .await
        .expect("indexer");
    load(&mut net, BLOCKS).await;
    wait_checkpoint(&db, net.head(), Duration::from_secs(60)).await;

    // The first liteserver (the one in use) goes away for good, mid-stream.
    net.submit(EXTERNALS_PER_BLOCK);
    net.produce();
    net.stop_server(0);
    load(&mut net, BLOCKS).await;
    let head = net.head();
    wait_checkpoint(&db, head, Duration::from_secs(60)).await;
    let failovers = indexer.metrics.liteserver_failovers();
    indexer.abort();
    assert_same_set(&db, &net).await;
    assert!(failovers >= 1, "no failover counted");
}
