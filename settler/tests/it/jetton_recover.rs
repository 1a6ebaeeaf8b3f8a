//! A test USD payout refused by a LOCKED recipient wallet, recovered by the settler on its own,
//! on the real stack (devnet, indexer, the payout-signer process, Postgres): the minter's admin
//! locks one worker's jetton wallet (USDT's `call_to` + `set_status`); the settler pays; the
//! other workers are confirmed; the locked wallet refuses (exit 45) and the tokens come back to
//! the vault's jetton wallet off its books (`jetton_transfer_bounced`: the earnings approved
//! again, reason `recipient_wallet_refused`, the address on hold). The settler then sends
//! `jetton_recover` by itself, exactly once; the vault books the tokens (`ev_jetton_recovered`,
//! indexed and ingested): its books equal its jetton wallet, the ledger reconciles with nothing
//! awaiting recovery. After the worker's address is corrected, the earnings are paid once, to
//! the new address.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use labelmint_abi::jetton::STATUS_RECEIVE_LOCKED;
use labelmint_ledger::{
    AddressCorrection, BounceReason, EarningId, EarningState, ItemOutcome, RawAddress,
};
use labelmint_settler_testkit::{
    Coin, Options, ProjectSpec, Stack, USD, raw, std_addr, wait_for, worker_address,
};

const PROJECT: u64 = 5301;
const GROUP: u8 = 53;
const WORKERS: u32 = 4;

/// The earnings of `address`, by id.
async fn earnings_of(s: &Stack, address: &RawAddress) -> Vec<EarningId> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM ledger_earnings WHERE payout_address = $1 ORDER BY id")
            .bind(address.as_str())
            .fetch_all(&s.pool)
            .await
            .expect("earnings");
    ids.into_iter()
        .map(|i| EarningId::new(u64::try_from(i).expect("id")).expect("id"))
        .collect()
}

/// Indexed events of `kind` from `contract`: (query_id, amount).
async fn events(s: &Stack, contract: &RawAddress, kind: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT COALESCE(query_id::text, ''), COALESCE(amount::text, '') FROM events \
         WHERE contract = $1 AND kind = $2 ORDER BY lt",
    )
    .bind(contract.as_str())
    .bind(kind)
    .fetch_all(&s.pool)
    .await
    .expect("events")
}

/// Waits until the settler's recorded attempt for `contract` is resolved as recovered (in the
/// pass that ingested the answer, just after it).
async fn attempt_resolved_as_recovered(s: &Stack, contract: &RawAddress) {
    wait_for(
        "the attempt resolved as recovered",
        Duration::from_secs(30),
        || async {
            let outcome: Option<String> =
                sqlx::query_scalar("SELECT outcome FROM settler_recoveries WHERE contract = $1")
                    .bind(contract.as_str())
                    .fetch_one(&s.pool)
                    .await
                    .ok()?;
            (outcome.as_deref() == Some("recovered")).then_some(())
        },
    )
    .await;
}

/// The vault's jetton books (on chain) and its jetton wallet's balance.
fn books_and_wallet(s: &Stack) -> (u128, u128) {
    (
        s.vault_storage(&s.usd_vault).stats.jetton_balance,
        s.usd_balance(&s.usd_vault),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_refused_by_a_locked_jetton_wallet_is_recovered_by_the_settler_and_paid_once() {
    let started = Instant::now();
    let mut o = Options::new("settler_it_jetton_recover");
    o.projects = vec![ProjectSpec {
        id: PROJECT,
        coin: Coin::Usd,
        deposit: 100 * USD,
    }];
    let s = Stack::start(o).await;
    // As in `bounce`: the signer reads the indexer's tables, so it sees the refused payout on
    // chain and may sign its earnings again at once, not only after the first batch's
    // valid_until.
    let vault = raw(&s.usd_vault);
    let usd = Coin::Usd.code();
    // 8 earnings for 4 workers (two each): 1.00 .. 1.70 USD.
    let earnings = s
        .approve(PROJECT, "rec", 8, GROUP, WORKERS, |i| {
            USD + (i as u128) * USD / 10
        })
        .await;
    let mut owed: HashMap<RawAddress, u128> = HashMap::new();
    for (a, amount) in &earnings {
        *owed.entry(a.clone()).or_default() += amount;
    }
    let locked = worker_address(GROUP, 0);
    let locked_owed = owed[&locked];
    let locked_earnings = earnings_of(&s, &locked).await;
    assert_eq!(locked_earnings.len(), 2);

    // USDT's admin lock, through the minter: the worker's wallet refuses incoming transfers.
    s.set_usd_status(&std_addr(&locked), STATUS_RECEIVE_LOCKED)
        .await;

    let mut config = s.settler_config("settler-recover");
    config.batch_size = 10;
    let settler = labelmint_settler::spawn(config.clone())
        .await
        .expect("settler");

    // The others are paid; the locked wallet's transfer comes back: both earnings approved
    // again with the reason.
    wait_for(
        "the others confirmed and the refused payout ingested",
        Duration::from_secs(180),
        || async {
            let states = s.states().await;
            let refused = s.ledger.earning_bounces(locked_earnings[1]).await.ok()?;
            (states == vec![("approved".into(), 2), ("confirmed".into(), 6)] && !refused.is_empty())
                .then_some(())
        },
    )
    .await;
    let first_item = {
        let b = s
            .ledger
            .earning_bounces(locked_earnings[0])
            .await
            .expect("bounces");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].reason, BounceReason::RecipientWalletRefused);
        b[0].item_id
    };
    for e in &locked_earnings {
        let earning = s.ledger.earning(*e).await.unwrap().unwrap();
        assert_eq!(earning.state, EarningState::Approved, "payable again");
        let b = s.ledger.earning_bounces(*e).await.unwrap();
        assert_eq!(
            (b.len(), b[0].item_id, b[0].reason),
            (1, first_item, BounceReason::RecipientWalletRefused)
        );
    }
    assert_eq!(
        s.usd_balance(&std_addr(&locked)),
        0,
        "the locked wallet kept nothing"
    );
    let refused = events(&s, &vault, "jetton_transfer_bounced").await;
    let refused_all: Vec<(String, String)> = sqlx::query_as(
        "SELECT COALESCE(payout_item_id::text, ''), COALESCE(amount::text, '') FROM events \
         WHERE kind = 'jetton_transfer_bounced'",
    )
    .fetch_all(&s.pool)
    .await
    .unwrap();
    assert_eq!(
        refused_all.len(),
        1,
        "{refused_all:?} / vault's: {refused:?}"
    );
    assert_eq!(refused_all[0].1, locked_owed.to_string());

    // The settler recovers by itself. It is killed right after the relayer's external with the
    // jetton_recover was handed over; the next leader finds the attempt recorded and does not
    // send another one.
    wait_for(
        "the settler sent jetton_recover",
        Duration::from_secs(60),
        || async { (settler.metrics.recoveries().0 == 1).then_some(()) },
    )
    .await;
    settler.abort();
    drop(settler);
    config.holder = "settler-recover-after-kill".into();
    let settler = labelmint_settler::spawn(config).await.expect("settler");

    // ev_jetton_recovered for exactly the refused amount, ingested (nothing awaits recovery),
    // and the vault's books equal its jetton wallet again.
    wait_for(
        "the vault's recovery indexed and ingested",
        Duration::from_secs(120),
        || async {
            let recovered = events(&s, &vault, "ev_jetton_recovered").await;
            let waiting = s.ledger.awaiting_recovery().await.ok()?;
            (!recovered.is_empty() && waiting.is_empty()).then_some(())
        },
    )
    .await;
    let recovered = events(&s, &vault, "ev_jetton_recovered").await;
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert_eq!(recovered[0].1, locked_owed.to_string());
    let st = s.vault_storage(&s.usd_vault).stats;
    assert!(st.recovery.is_none(), "no recovery in flight: {st:?}");
    assert_eq!(st.recovered, locked_owed);
    let (books, wallet) = books_and_wallet(&s);
    assert_eq!(books, wallet, "the vault's books equal its jetton wallet");
    assert_eq!(books, locked_owed, "only the refused tokens are left");

    // Exactly one jetton_recover: the new leader resolves the recorded attempt by the indexed
    // answer (in the same pass that ingested it), sent none, and sends none while it keeps
    // running (the address is on hold, so nothing else moves either).
    attempt_resolved_as_recovered(&s, &vault).await;
    let quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(3) {
        let (outcome, attempts): (Option<String>, i64) =
            sqlx::query_as("SELECT outcome, attempts FROM settler_recoveries WHERE contract = $1")
                .bind(vault.as_str())
                .fetch_one(&s.pool)
                .await
                .expect("the recorded attempt");
        assert_eq!((outcome.as_deref(), attempts), (Some("recovered"), 1));
        assert_eq!(settler.metrics.recoveries(), (0, 0));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        events(&s, &vault, "ev_jetton_recovery_failed").await.len(),
        0
    );
    let holds = s.ledger.payout_holds(&usd).await.expect("holds");
    assert_eq!(holds.len(), 1);
    assert_eq!(
        (&holds[0].payout_address, holds[0].item_id),
        (&locked, first_item)
    );
    drop(settler);

    // The ledger agrees with the indexed chain; nothing awaits recovery.
    s.index_to_head().await;
    for (code, r) in s.reconcile().await {
        assert!(r.is_clean(), "{code}: {r:?}");
        assert!(r.awaiting_recovery.is_empty(), "{code}: {r:?}");
    }

    // The worker gives an unlocked address; a new leader pays it exactly once.
    let corrected = worker_address(GROUP, 99);
    let rec = s
        .ledger
        .correct_payout_address(&AddressCorrection {
            worker: format!("w{}", locked.as_str()),
            currency: usd.clone(),
            new_address: corrected.clone(),
            corrected_by: "admin:settler-test".into(),
            reason: "the worker's wallet is locked by the jetton's admin".into(),
        })
        .await
        .expect("correct");
    assert_eq!(rec.corrected.len(), 2);
    let settler = labelmint_settler::spawn(s.settler_config("settler-recover-2"))
        .await
        .expect("settler");
    wait_for(
        "every earning confirmed",
        Duration::from_secs(180),
        || async { s.all_confirmed().await.then_some(()) },
    )
    .await;
    drop(settler);
    s.index_to_head().await;

    for e in &locked_earnings {
        let attempts = s.ledger.earning_attempts(*e).await.unwrap();
        let outcomes: Vec<ItemOutcome> = attempts.iter().map(|(_, o)| *o).collect();
        assert_eq!(outcomes, vec![ItemOutcome::Bounced, ItemOutcome::Paid]);
        let items = s.ledger.batch_items(attempts[1].0).await.unwrap();
        let item = items
            .iter()
            .find(|i| i.earnings.contains(e))
            .expect("its item");
        assert_eq!(item.payout_address, corrected);
        assert_ne!(item.item_id, first_item);
    }
    let paid: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT earning_id, count(*) FROM ledger_batch_items WHERE outcome = 'paid' \
         GROUP BY earning_id",
    )
    .fetch_all(&s.pool)
    .await
    .unwrap();
    assert_eq!(paid.len(), earnings.len());
    assert!(paid.iter().all(|(_, n)| *n == 1), "{paid:?}");
    let confirmed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_earnings WHERE state = 'confirmed'")
            .fetch_one(&s.pool)
            .await
            .unwrap();
    assert_eq!(confirmed, earnings.len() as i64);

    // On chain: the new address got exactly the refused amount, the locked one nothing, the
    // others their earnings; the vault's books and wallet are both empty.
    assert_eq!(s.usd_balance(&std_addr(&corrected)), locked_owed);
    assert_eq!(s.usd_balance(&std_addr(&locked)), 0);
    for (worker, sum) in owed.iter().filter(|(w, _)| **w != locked) {
        assert_eq!(s.usd_balance(&std_addr(worker)), *sum, "{worker}");
    }
    assert_eq!(books_and_wallet(&s), (0, 0));
    assert_eq!(
        events(&s, &vault, "ev_jetton_recovered").await.len(),
        1,
        "no further recovery"
    );
    for (code, r) in s.reconcile().await {
        assert!(r.is_clean(), "{code}: {r:?}");
        assert!(r.awaiting_recovery.is_empty(), "{code}: {r:?}");
    }
    eprintln!("jetton_recover scenario took {:?}", started.elapsed());
}

/// A leader that recorded a jetton_recover and died before its relayer external went out: the
/// next leader treats the vault as recovering (no batches) until the attempt is found lost
/// (the indexed chain time past its valid_until + the finality margin, the vault's recovery
/// counter unchanged), then pays, and recovers the refused payout with one new attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_recovery_that_never_went_out_holds_batches_until_found_lost() {
    let mut o = Options::new("settler_it_jetton_recover_lost");
    o.projects = vec![ProjectSpec {
        id: PROJECT,
        coin: Coin::Usd,
        deposit: 20 * USD,
    }];
    let s = Stack::start(o).await;
    let vault = raw(&s.usd_vault);
    let earnings = s
        .approve(PROJECT, "lost", 2, GROUP, 2, |i| USD + i as u128)
        .await;
    let locked = worker_address(GROUP, 0);
    let locked_owed: u128 = earnings
        .iter()
        .filter(|(a, _)| *a == locked)
        .map(|(_, v)| v)
        .sum();
    s.set_usd_status(&std_addr(&locked), STATUS_RECEIVE_LOCKED)
        .await;

    // What a killed leader left: the attempt recorded, its external never sent.
    let now = s.devnet.node().now();
    sqlx::query(
        "INSERT INTO settler_recoveries \
             (contract, kind, amount, sent_at, valid_until, events_before, nonce_before) \
         VALUES ($1, 'vault', 1, $2, $2, 0, 0)",
    )
    .bind(vault.as_str())
    .bind(i64::from(now))
    .execute(&s.pool)
    .await
    .expect("the dead leader's attempt");

    let settler = labelmint_settler::spawn(s.settler_config("settler-recover-lost"))
        .await
        .expect("settler");
    wait_for(
        "the refused payout recovered",
        Duration::from_secs(120),
        || async {
            let recovered = events(&s, &vault, "ev_jetton_recovered").await;
            let waiting = s.ledger.awaiting_recovery().await.ok()?;
            (!recovered.is_empty() && waiting.is_empty()).then_some(())
        },
    )
    .await;
    attempt_resolved_as_recovered(&s, &vault).await;
    // Found lost (one failure), then one real attempt.
    assert_eq!(settler.metrics.recoveries(), (1, 1));
    let (outcome, attempts, amount): (Option<String>, i64, String) = sqlx::query_as(
        "SELECT outcome, attempts, amount::text FROM settler_recoveries WHERE contract = $1",
    )
    .bind(vault.as_str())
    .fetch_one(&s.pool)
    .await
    .expect("attempt");
    assert_eq!(
        (outcome.as_deref(), attempts, amount),
        (Some("recovered"), 2, locked_owed.to_string())
    );
    // No batch was formed while the dead leader's attempt could still land.
    let first: i64 = sqlx::query_scalar("SELECT min(created_at) FROM ledger_batches")
        .fetch_one(&s.pool)
        .await
        .expect("batches");
    assert!(
        first >= i64::from(now + labelmint_ledger::FINALITY_MARGIN_SECS),
        "first batch created at {first}, the attempt was valid until {now}"
    );
    let recovered = events(&s, &vault, "ev_jetton_recovered").await;
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].1, locked_owed.to_string());
    assert!(
        events(&s, &vault, "ev_jetton_recovery_failed")
            .await
            .is_empty()
    );
    let (books, wallet) = books_and_wallet(&s);
    assert_eq!((books, wallet), (locked_owed, locked_owed));
    drop(settler);
    s.index_to_head().await;
    for (code, r) in s.reconcile().await {
        assert!(r.is_clean(), "{code}: {r:?}");
        assert!(r.awaiting_recovery.is_empty(), "{code}: {r:?}");
    }
}
