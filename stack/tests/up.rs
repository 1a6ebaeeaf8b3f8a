//! `make up`'s run against a real in-process devnet and the real Postgres: the indexer beside
//! the devnet decodes every event of the scenario with exact amounts, and a database that
//! indexed another chain is started over.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use labelmint_devnet::scenario::{DEPOSIT, FEE_BPS, PAYOUTS, RELEASE};
use labelmint_devnet::{Config, spawn};
use labelmint_stack::up::{UpConfig, up};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// DATABASE_URL, or the private cluster of scripts/pg.sh (started if needed).
fn admin_url() -> String {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return url;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg.sh");
    let out = Command::new("bash")
        .arg(script)
        .output()
        .expect("run pg.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("DATABASE_URL="))
        .next_back()
        .expect("pg.sh prints DATABASE_URL")
        .to_owned()
}

async fn drop_db(admin: &str, name: &str) {
    let mut c = PgConnection::connect(admin).await.expect("admin");
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut c)
    .await
    .expect("drop");
}

async fn devnet() -> labelmint_devnet::Devnet {
    spawn(Config {
        block_time: Some(Duration::from_millis(100)),
        ..Config::test()
    })
    .await
    .expect("devnet")
}

#[tokio::test]
async fn up_prints_what_the_indexer_decoded_and_starts_over_on_a_new_chain() {
    let admin = admin_url();
    let config = UpConfig {
        admin_database_url: admin.clone(),
        database: format!("labelmint_up_it_{:012x}", rand::random::<u64>() >> 16),
        metrics_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
    };

    let first = devnet().await;
    let mut out = Vec::new();
    let stack = up(&first, &config, &mut out).await.expect("up");
    let text = String::from_utf8_lossy(&out).to_string();
    let kinds: Vec<&str> = stack.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ev_gas_topped_up",
            "ev_deposit",
            "ev_release",
            "ev_vault_funded",
            "ev_batch_executed"
        ],
        "{text}"
    );
    let amount = |kind: &str| {
        stack
            .events
            .iter()
            .find(|e| e.kind == kind)
            .and_then(|e| e.amount)
    };
    let fee = RELEASE * u128::from(FEE_BPS) / 10_000;
    assert_eq!(amount("ev_deposit"), Some(DEPOSIT));
    assert_eq!(amount("ev_release"), Some(RELEASE));
    assert_eq!(
        stack
            .events
            .iter()
            .find(|e| e.kind == "ev_release")
            .and_then(|e| e.fee),
        Some(fee)
    );
    assert_eq!(amount("ev_vault_funded"), Some(RELEASE));
    assert_eq!(amount("ev_batch_executed"), Some(PAYOUTS.iter().sum()));
    // Every event the scenario saw through the liteserver is in Postgres, in the same order,
    // from the same transactions.
    let seen: Vec<String> = stack
        .report
        .transactions
        .iter()
        .flat_map(|t| t.events.iter().map(move |e| (t.hash, e)))
        .map(|(h, e)| format!("{h}:{}", e.split(' ').next().unwrap_or("")))
        .collect();
    let indexed: Vec<String> = stack
        .events
        .iter()
        .map(|e| format!("{}:{}", e.tx_hash, e.kind))
        .collect();
    assert_eq!(seen, indexed, "{text}");
    for needle in [
        "what the indexer decoded",
        "ev_batch_executed",
        "amount 100 TON",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // The checkpoint covers the scenario and the live tail prints nothing twice.
    let last = stack.events.iter().map(|e| e.lt).max().unwrap_or(0);
    let mut tail = Vec::new();
    assert_eq!(
        stack.print_new_events(last, &mut tail).await.expect("tail"),
        last
    );
    assert!(tail.is_empty(), "{}", String::from_utf8_lossy(&tail));
    stack.indexer.abort();
    drop(first);

    // A new chain (same genesis, different blocks) on the same database: started over.
    let second = devnet().await;
    let mut out = Vec::new();
    let stack = up(&second, &config, &mut out).await.expect("up again");
    let text = String::from_utf8_lossy(&out).to_string();
    assert!(text.contains("indexed another chain"), "{text}");
    assert_eq!(stack.events.len(), 5, "{text}");
    stack.indexer.abort();
    drop_db(&admin, &config.database).await;
}
