//! The real binary: SIGKILL between the journal commit and the reply, then a restart; a second
//! instance refused by the lock; the audit log's tamper detection.

use std::time::Duration;

use labelmint_payout_signer::audit;
use labelmint_payout_signer::{SignerClient, Token};

use crate::support::{
    BIN_TOKEN, Binary, TON, TestDb, approve, batch_body, binary_command, now, prepare,
};

#[tokio::test]
async fn sigkill_after_the_journal_commit_then_restart_returns_the_same_signature() {
    let db = TestDb::new().await;
    let (ledger, vault, _) = prepare(&db).await;
    let earnings = approve(&ledger, 7, 2, TON, 9).await;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("signer.key");

    let mut cmd = binary_command(&db.url, &key_file);
    cmd.env("LABELMINT_SIGNER_TEST_PAUSE_AFTER_JOURNAL_MS", "30000");
    let mut bin = Binary::start(cmd).await;
    assert!(
        key_file.exists(),
        "--create-key-if-missing created the key file"
    );
    let client = SignerClient::new(&bin.url, Token::new(BIN_TOKEN).unwrap()).unwrap();
    let body = batch_body(&ledger, &vault, 42, now() as u32, &earnings, TON).await;
    let pending = {
        let (c, b) = (client.clone(), body.clone());
        tokio::spawn(async move { c.batch(&b).await })
    };
    // Wait for the journal entry to be committed, then kill -9 during the pause.
    let mut committed = false;
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM signer_journal")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if n == 1 {
            committed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(committed, "the journal entry is committed before the reply");
    bin.child.start_kill().unwrap(); // SIGKILL
    bin.child.wait().await.unwrap();
    assert!(
        pending.await.unwrap().is_err(),
        "the client never got the answer"
    );
    let stored: Vec<u8> = sqlx::query_scalar("SELECT boc FROM signer_journal")
        .fetch_one(&db.pool)
        .await
        .unwrap();

    // Restart (no pause): the same request gets the same message; other content is refused.
    let bin = Binary::start(binary_command(&db.url, &key_file)).await;
    let client = SignerClient::new(&bin.url, Token::new(BIN_TOKEN).unwrap()).unwrap();
    let again = client.batch(&body).await.unwrap().expect("replayed");
    assert!(again.replayed);
    use base64::Engine as _;
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&again.boc)
            .unwrap(),
        stored
    );
    let other = batch_body(&ledger, &vault, 42, now() as u32, &earnings[..1], TON).await;
    let r = client.batch(&other).await.unwrap().expect_err("refused");
    assert_eq!(r.body.rule.as_deref(), Some("journal.conflict"));

    // The freeze switch through the CLI: refused while frozen, signing again after unfreeze.
    let cli = |args: &[&str]| {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_payout-signer"));
        c.args(args).env("DATABASE_URL", &db.url);
        c
    };
    let out = cli(&["freeze", "--reason", "drill"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let fresh = batch_body(&ledger, &vault, 43, now() as u32, &earnings[..1], TON).await;
    let r = client.batch(&fresh).await.unwrap().expect_err("frozen");
    assert_eq!(r.body.rule.as_deref(), Some("freeze"));
    assert!(cli(&["unfreeze"]).output().await.unwrap().status.success());
    let r = client
        .batch(&fresh)
        .await
        .unwrap()
        .expect_err("item still live in batch 42");
    assert_eq!(r.body.rule.as_deref(), Some("item.not_in_other_batch"));

    // `audit verify` through the CLI: sound now.
    let out = cli(&["audit", "verify"]).output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit log ok"));

    // A second instance on the same database refuses to start and says why.
    let out = binary_command(&db.url, &key_file).output().await.unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another payout-signer holds the signing lock"),
        "{err}"
    );
    drop(bin);
    let _ = TON;
}

#[tokio::test]
async fn audit_verify_detects_an_edited_a_removed_and_reordered_records() {
    let env = crate::support::Env::new(crate::support::wide_limits()).await;
    let e = env.approve(3, TON, 10).await;
    // One body sent twice: built twice, its created_at (the wall clock's second) could differ
    // and the signer would rightly refuse it as a different request under the same query_id.
    let first = env.batch(1, &e[..1], TON).await;
    env.client.batch(&first).await.unwrap().expect("signed");
    env.client.batch(&first).await.unwrap().expect("replayed");
    env.client
        .batch(&env.batch(1, &e[..2], TON).await)
        .await
        .unwrap()
        .expect_err("conflict");
    env.client
        .batch(&env.batch(2, &e[1..3], TON).await)
        .await
        .unwrap()
        .expect("signed");
    let pool = &env.db.pool;
    let mut conn = pool.acquire().await.unwrap();
    let ok = audit::verify(&mut conn).await.expect("sound log");
    assert!(ok.records >= 7, "{ok:?}"); // 2 register, start, 4 requests
    // No secrets in the records.
    let all: Vec<String> = sqlx::query_scalar("SELECT record FROM signer_audit")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(all.iter().all(|r| !r.contains("THROWAWAY")));
    // The table refuses edits outright.
    assert!(
        sqlx::query("UPDATE signer_audit SET record = record WHERE seq = 1")
            .execute(pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM signer_audit WHERE seq = 1")
            .execute(pool)
            .await
            .is_err()
    );

    // Someone who can disable the trigger: edit, remove, reorder; each is detected.
    sqlx::query("CREATE TABLE audit_copy AS SELECT * FROM signer_audit")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE signer_audit DISABLE TRIGGER USER")
        .execute(pool)
        .await
        .unwrap();
    let restore = || async {
        sqlx::query("DELETE FROM signer_audit")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO signer_audit SELECT * FROM audit_copy")
            .execute(pool)
            .await
            .unwrap();
    };
    let tampers = [
        (
            "UPDATE signer_audit SET record = replace(record, '\"decision\":\"', '\"decision\":\"x') WHERE seq = 5",
            5,
        ),
        ("DELETE FROM signer_audit WHERE seq = 4", 5),
        (
            "UPDATE signer_audit a SET record = b.record, prev_hash = b.prev_hash, hash = b.hash \
             FROM audit_copy b WHERE (a.seq = 4 AND b.seq = 5) OR (a.seq = 5 AND b.seq = 4)",
            4,
        ),
    ];
    for (sql, bad_seq) in tampers {
        sqlx::query(sql).execute(pool).await.unwrap();
        match audit::verify(&mut conn).await {
            Err(labelmint_payout_signer::Error::AuditBroken { seq, reason }) => {
                assert_eq!(seq, bad_seq, "{sql}: {reason}")
            }
            other => panic!("{sql}: not detected: {other:?}"),
        }
        restore().await;
        audit::verify(&mut conn).await.expect("restored");
    }
    // The CLI exits non-zero naming the record.
    sqlx::query("UPDATE signer_audit SET record = record || ' ' WHERE seq = 3")
        .execute(pool)
        .await
        .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_payout-signer"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &env.db.url)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("audit log broken at seq 3"), "{err}");
}
