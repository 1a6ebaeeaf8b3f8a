//! One leader: the advisory lock, the takeover within 5 s of the leader's death, and the
//! fencing token refusing every write of the old leader (the ledger's own functions
//! included), on a real Postgres.

use std::time::{Duration, Instant};

use labelmint_ledger::{
    BatchRequest, Currency, CurrencyCode, Ledger, NewEarning, Project, ProjectId, RawAddress, Vault,
};
use labelmint_settler::leader;
use labelmint_testdb::ScratchDb;

fn addr(b: u8) -> RawAddress {
    RawAddress::from_parts(0, &[b; 32])
}

fn request(query_id: u64) -> BatchRequest {
    BatchRequest {
        currency: CurrencyCode::ton(),
        max_items: 1,
        max_total: 1_000_000_000_000,
        query_id,
        created_at: 1_790_000_000,
        valid_until: 1_790_000_600,
    }
}

fn fenced(e: labelmint_ledger::Error) -> bool {
    labelmint_settler::Error::from(e).is_fenced()
}

#[tokio::test]
async fn a_standby_takes_over_within_5s_and_the_old_leaders_writes_are_refused() {
    let db = ScratchDb::create("settler_it_leader").await;
    labelmint_settler::migrate(&db.url).await.expect("migrate");
    let plain = Ledger::from_pool(db.pool(2).await);
    let ton = CurrencyCode::ton();
    plain
        .register_currency(&Currency {
            code: ton.clone(),
            decimals: 9,
            jetton_master: None,
        })
        .await
        .unwrap();
    plain
        .register_vault(&Vault {
            currency: ton.clone(),
            address: addr(1),
        })
        .await
        .unwrap();
    plain
        .register_project(&Project {
            id: ProjectId(7),
            escrow: addr(2),
            currency: ton.clone(),
            client: addr(3),
        })
        .await
        .unwrap();
    for i in 0..3u8 {
        plain
            .approve_earning(&NewEarning {
                submission_key: format!("leader:{i}"),
                worker: format!("w{i}"),
                payout_address: addr(0x10 + i),
                project: ProjectId(7),
                amount: 1_000_000,
                decision_id: format!("d{i}"),
            })
            .await
            .unwrap();
    }

    let a = leader::try_acquire(&db.url, "a", 2)
        .await
        .unwrap()
        .expect("a leads");
    assert!(
        leader::try_acquire(&db.url, "b", 2)
            .await
            .unwrap()
            .is_none(),
        "a second settler cannot lead while the first holds the lock"
    );
    let a_ledger = Ledger::from_pool(a.pool.clone());
    let first = a_ledger
        .form_batch(&request(1))
        .await
        .expect("the leader writes")
        .expect("a batch");
    let token_a = a.token;
    let old_pool = a.pool.clone();

    // The standby polls; the leader dies (its lock connection closes with it).
    let url = db.url.clone();
    let standby =
        tokio::spawn(
            async move { leader::acquire(&url, "b", 2, Duration::from_millis(200)).await },
        );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!standby.is_finished(), "the standby waits while a leads");
    let died = Instant::now();
    drop(a);
    let b = tokio::time::timeout(Duration::from_secs(5), standby)
        .await
        .expect("the standby took over within 5 s")
        .expect("task")
        .expect("b leads");
    assert!(died.elapsed() < Duration::from_secs(5));
    assert_eq!(
        b.token,
        token_a + 1,
        "a takeover increments the fencing token"
    );

    // Every write of the old leader is refused now: forming a batch, moving one, an intent.
    let old = Ledger::from_pool(old_pool.clone());
    let e = old.form_batch(&request(2)).await.unwrap_err();
    assert!(fenced(e), "the old leader cannot form a batch");
    let e = old.mark_signed(first.id, [7; 32]).await.unwrap_err();
    assert!(fenced(e), "the old leader cannot move a batch");
    let e = sqlx::query(
        "INSERT INTO settler_releases (escrow, project_id, seqno, valid_until, amount) \
         VALUES ($1, 7, 0, 1, 1)",
    )
    .bind(addr(2).to_string())
    .execute(&old_pool)
    .await
    .unwrap_err();
    assert!(labelmint_settler::Error::from(e).is_fenced());
    // Nothing of it landed.
    let batches: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_batches")
        .fetch_one(&b.pool)
        .await
        .unwrap();
    assert_eq!(batches, 1);

    // The new leader writes.
    let new = Ledger::from_pool(b.pool.clone());
    let _ = new
        .mark_signed(first.id, [7; 32])
        .await
        .expect("the new leader writes");
    let second = new.form_batch(&request(2)).await.unwrap().expect("a batch");
    assert_eq!(second.item_count, 1);
    // Sessions that are not settlers (the consensus engine, the API) are not fenced.
    plain
        .approve_earning(&NewEarning {
            submission_key: "leader:late".into(),
            worker: "w9".into(),
            payout_address: addr(0x19),
            project: ProjectId(7),
            amount: 1,
            decision_id: "d9".into(),
        })
        .await
        .expect("unfenced writers are not settlers");
    b.release().await;
}
