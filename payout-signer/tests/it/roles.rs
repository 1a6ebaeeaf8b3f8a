//! The signer's database role: `labelmint_signer` reads the ledger and writes only the
//! signer's own journal, items, volumes, audit and fencing token. A write to the ledger's
//! earnings (or to the allowlist, the freeze switch, the journal's past) is refused by
//! Postgres with "permission denied"; the signer does all of its own work under it.

use std::sync::Arc;

use labelmint_ledger::{Ledger, ProjectId};
use labelmint_payout_signer::client::SignerClient;
use labelmint_payout_signer::ledger::PgLedger;
use labelmint_payout_signer::store::{self, Registration};
use labelmint_payout_signer::wire::{CloseBody, ReleaseBody, raw_address};
use labelmint_payout_signer::{Config, Error, spawn};
use sqlx::PgPool;

use crate::support::{
    TON, TestDb, VAULT_TIMEOUT, addr, approve, batch_body, file_key, now, seed_ledger, wide_limits,
};

const ROLE: &str = "labelmint_signer";

/// Runs `sql` on `pool` and returns the SQLSTATE it failed with.
async fn refused_code(pool: &PgPool, sql: &str) -> String {
    let err = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .expect_err(sql);
    match &err {
        sqlx::Error::Database(d) => {
            assert!(d.message().contains("permission denied"), "{sql}: {err}");
            d.code().unwrap_or_default().to_string()
        }
        other => panic!("{sql}: {other}"),
    }
}

#[tokio::test]
async fn the_signers_role_reads_the_ledger_and_writes_only_its_own_tables() {
    let db = TestDb::new().await;
    let owner = Ledger::connect(&db.url, 2).await.unwrap();
    owner.migrate().await.unwrap();
    let (vault, escrow, project) = (addr(0xaaaa, 0xaa), addr(0xeeee, 0xee), 7);
    seed_ledger(&owner, &vault, &escrow, project).await;
    let admin = store::connect(&db.url, 2).await.unwrap();
    store::migrate(&admin).await.unwrap();
    for r in [
        Registration::Vault {
            address: vault.clone(),
            currency: "TON".into(),
            timeout: VAULT_TIMEOUT,
            onchain_limit: None,
        },
        Registration::Escrow {
            address: escrow.clone(),
            project_id: project,
        },
    ] {
        store::register(&admin, &r).await.unwrap();
    }
    let earnings = approve(&owner, project, 3, TON, 41).await;

    // The signer as `serve` runs it: its pool, its lock connection and its ledger reads are
    // all under the role.
    let as_signer = store::connect_as(&db.url, 4, Some(ROLE)).await.unwrap();
    assert_eq!(
        store::current_role(&as_signer).await.unwrap(),
        (ROLE.to_string(), false)
    );
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::test(&db.url);
    config.limits = wide_limits();
    assert_eq!(config.db_role.as_deref(), Some(ROLE));
    let handle = spawn(
        config.clone(),
        file_key(dir.path()),
        Arc::new(PgLedger::new(Ledger::from_pool(as_signer.clone()))),
    )
    .await
    .expect("the signer starts under its role");
    let client = SignerClient::new(&handle.url().unwrap(), config.token.clone()).unwrap();

    // Its own work: a batch (ledger earnings read, journal + items + volume + audit written),
    // a release (releasable read), the project's close (close facts read).
    client
        .batch(&batch_body(&owner, &vault, 1, now() as u32, &earnings, TON).await)
        .await
        .unwrap()
        .expect("batch signed under the role");
    let vu = (now() + 600) as u32;
    client
        .release(&ReleaseBody {
            escrow: raw_address(&escrow),
            seqno: 1,
            valid_until: vu,
            amount: (3 * TON).to_string(),
        })
        .await
        .unwrap()
        .expect("release signed under the role");
    let _ = owner
        .request_close(ProjectId(project), "admin:ops")
        .await
        .unwrap();
    client
        .close(&CloseBody {
            escrow: raw_address(&escrow),
            seqno: 2,
            valid_until: vu,
        })
        .await
        .unwrap()
        .expect("close signed under the role");
    let journaled: i64 = sqlx::query_scalar("SELECT count(*) FROM signer_journal")
        .fetch_one(&as_signer)
        .await
        .unwrap();
    assert_eq!(journaled, 3);
    let earning_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_earnings")
        .fetch_one(&as_signer)
        .await
        .unwrap();
    assert_eq!(earning_rows, 3, "the role reads the ledger");

    // What the role may not do: the ledger's earnings (and the rest of the ledger), the
    // allowlist, the freeze switch, the journal's and the audit log's past.
    let id = earnings[0].0;
    for sql in [
        format!(
            "INSERT INTO ledger_earnings (submission_key, worker, payout_address, project_id, \
             currency, amount, decision_id) VALUES ('forged', 'mallory', '{}', {project}, 'TON', \
             1000000000000, 'none')",
            raw_address(&addr(0x666, 0x66))
        ),
        format!("UPDATE ledger_earnings SET state = 'revoked' WHERE id = {id}"),
        format!("UPDATE ledger_earnings SET amount = amount * 2 WHERE id = {id}"),
        "DELETE FROM ledger_batch_items".to_string(),
        "UPDATE ledger_projects SET state = 'closing'".to_string(),
        format!(
            "INSERT INTO signer_contracts (address, kind, project_id, registered_at) \
             VALUES ('{}', 'escrow', 9, 0)",
            raw_address(&addr(0x777, 0x77))
        ),
        "UPDATE signer_state SET frozen = false, freeze_reason = NULL".to_string(),
        "UPDATE signer_journal SET valid_until = 0".to_string(),
        "DELETE FROM signer_items".to_string(),
        "UPDATE signer_audit SET record = '{}'".to_string(),
        "TRUNCATE signer_volume".to_string(),
    ] {
        assert_eq!(refused_code(&as_signer, &sql).await, "42501", "{sql}");
    }
    handle.stop().await.unwrap();
}

#[tokio::test]
async fn a_signer_role_that_may_write_the_ledgers_earnings_is_refused_at_start() {
    let db = TestDb::new().await;
    let owner = Ledger::connect(&db.url, 2).await.unwrap();
    owner.migrate().await.unwrap();
    // A role of this test only (roles are cluster-wide), given too much.
    let role = format!("labelmint_signer_t{:08x}", rand::random::<u32>());
    let admin = store::connect(&db.url, 1).await.unwrap();
    for sql in [
        format!("CREATE ROLE {role} NOLOGIN IN ROLE labelmint_signer"),
        format!("GRANT {role} TO CURRENT_USER"),
        format!("GRANT INSERT ON ledger_earnings TO {role}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::test(&db.url);
    config.db_role = Some(role.clone());
    let outcome = spawn(
        config,
        file_key(dir.path()),
        Arc::new(PgLedger::new(owner.clone())),
    )
    .await;
    for sql in [
        format!("REVOKE ALL ON ledger_earnings FROM {role}"),
        format!("DROP ROLE {role}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    match outcome {
        Err(Error::Config(m)) => {
            assert!(m.contains(&role) && m.contains("ledger_earnings"), "{m}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
