//! Jetton transfers refused by a recipient's wallet that the test USD's admin locked (USDT's
//! lock): real sandbox transactions (`indexer/tests/fixtures/jetton_bounces.json`: a release whose
//! fee the treasury's locked wallet refuses, a batch whose item 2002 a locked worker's wallet
//! refuses, a refund the locked client's wallet refuses), indexed by the real indexer code into
//! the real Postgres, then ingested: the refused payout's earning is owed again exactly once,
//! with its reason; the journal balances; reconciliation is clean before and after the
//! contracts' jetton recoveries (`ev_jetton_recovered`, written as the indexer writes events).

use std::time::Duration;

use base64::Engine as _;
use labelmint_indexer::fixed_chain::FixedChain;
use labelmint_indexer::metrics::Metrics;
use labelmint_indexer::model::{AccountKind, WatchedAccount};
use labelmint_indexer::store::Store;
use labelmint_indexer::tail::{TailOptions, tail};
use labelmint_ledger::{
    Account, BatchRequest, BounceReason, Currency, EarningState, ItemOutcome, Ledger, NewEarning,
    Project, ProjectId, RawAddress, Reconciliation, Vault,
};
use serde::Deserialize;

use crate::support::{Ev, TestDb, USD_PROJECT, escrow_of, register_all, usd, vault_of};

const USD: u128 = 1_000_000;
const PROJECT: ProjectId = ProjectId(7);

#[derive(Deserialize)]
struct Fixture {
    accounts: std::collections::HashMap<String, String>,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    transactions: Vec<Tx>,
}

#[derive(Deserialize)]
struct Tx {
    boc: String,
}

impl Fixture {
    fn load() -> Fixture {
        serde_json::from_str(include_str!(
            "../../../indexer/tests/fixtures/jetton_bounces.json"
        ))
        .expect("jetton_bounces.json")
    }

    fn raw(&self, name: &str) -> String {
        self.accounts[name].clone()
    }

    fn addr(&self, name: &str) -> RawAddress {
        RawAddress::parse(&self.accounts[name]).expect("address")
    }
}

/// Indexes the whole fixture with the indexer's tailer, watching the escrow, the vault and the
/// vault's jetton wallet (the escrow's is learned on chain).
async fn index(db: &TestDb, f: &Fixture) {
    let store = Store::from_pool(db.pool.clone());
    let watch = |address: String, kind, owner: Option<String>| WatchedAccount {
        address,
        kind,
        project_id: (kind == AccountKind::Escrow).then_some(PROJECT.0),
        owner,
        currency: Some("USD".into()),
    };
    for w in [
        watch(f.raw("usdEscrow"), AccountKind::Escrow, None),
        watch(f.raw("usdVault"), AccountKind::Vault, None),
        watch(
            f.raw("usdVaultJettonWallet"),
            AccountKind::JettonWallet,
            Some(f.raw("usdVault")),
        ),
    ] {
        store.watch(&w).await.expect("watch");
    }
    let blocks = f
        .steps
        .iter()
        .map(|s| {
            s.transactions
                .iter()
                .map(|t| {
                    base64::engine::general_purpose::STANDARD
                        .decode(&t.boc)
                        .expect("base64")
                })
                .collect()
        })
        .collect();
    let mut chain = FixedChain::new(blocks, 1_800_000_000).expect("chain");
    let opts = TailOptions {
        start_seqno: Some(1),
        index_all_accounts: false,
        poll_interval: Duration::from_millis(5),
        stop_after: Some(chain.head()),
        parallel: 1,
    };
    tail(
        &mut chain,
        &store,
        &Metrics::new(Duration::from_secs(60)),
        &opts,
    )
    .await
    .expect("tail");
}

fn figure(r: &Reconciliation, name: &str) -> (i128, i128) {
    let f = r.figures.iter().find(|f| f.name == name).expect("figure");
    (f.journal, f.expected)
}

async fn bal(l: &Ledger, a: Account) -> i128 {
    l.balance(&a, &usd()).await.expect("balance")
}

/// Every balance of the currency sums to zero (each entry does).
async fn assert_balanced(l: &Ledger) {
    let all = l.balances(&usd()).await.expect("balances");
    assert_eq!(all.iter().map(|b| b.balance).sum::<i128>(), 0, "{all:?}");
}

#[tokio::test]
async fn refused_payout_fee_and_refund_are_booked_owed_again_once_and_reconciled_after_recovery() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    let f = Fixture::load();
    l.register_currency(&Currency {
        code: usd(),
        decimals: 6,
        jetton_master: Some(f.addr("minter")),
    })
    .await
    .expect("USD");
    l.register_project(&Project {
        id: PROJECT,
        escrow: f.addr("usdEscrow"),
        currency: usd(),
        client: f.addr("client"),
    })
    .await
    .expect("project");
    l.register_vault(&Vault {
        currency: usd(),
        address: f.addr("usdVault"),
    })
    .await
    .expect("vault");
    // The fixture's batch pays items 2001 and 2002 (query id 1, created at 1_800_000_000): the
    // ledger's payout item ids start there (one item per worker, oldest first).
    sqlx::query("SELECT setval('ledger_payout_item_id_seq', 2000)")
        .execute(&db.pool)
        .await
        .expect("setval");
    let approve = |key: &str, worker: &str, to: &str, amount: u128| NewEarning {
        submission_key: key.into(),
        worker: worker.into(),
        payout_address: f.addr(to),
        project: PROJECT,
        amount,
        decision_id: format!("decision-{key}"),
    };
    let paid = l
        .approve_earning(&approve("s1", "paula", "paidWorker", 100 * USD))
        .await
        .expect("approve")
        .earning_id;
    let refused = l
        .approve_earning(&approve("s2", "lars", "lockedWorker", 50 * USD))
        .await
        .expect("approve")
        .earning_id;

    let batch = l
        .form_batch(&BatchRequest {
            currency: usd(),
            max_items: 250,
            max_total: 1_000 * USD,
            query_id: 1,
            created_at: 1_800_000_000,
            valid_until: 1_800_000_000 + 3_599,
        })
        .await
        .expect("form")
        .expect("batch");
    assert_eq!(batch.item_count, 2);
    let formed = l.batch_items(batch.id).await.expect("items");
    assert_eq!(
        formed
            .iter()
            .map(|i| (i.item_id.get(), i.earnings.clone()))
            .collect::<Vec<_>>(),
        vec![(2001, vec![paid]), (2002, vec![refused])]
    );

    index(&db, &f).await;
    let r = l.ingest_chain_events(1_000).await.expect("ingest");
    assert_eq!(r.batches_confirmed, 1, "{r:?}");
    assert_eq!(r.items_refused, 1, "{r:?}");
    assert_eq!(r.items_bounced, 0, "{r:?}");
    assert_eq!(r.anomalies, 0, "{r:?}");
    // deposit, release, refund, vault funded, batch executed, 3 refusals (ignored:
    // ev_jetton_wallet_learned, ev_closed)
    assert_eq!((r.posted, r.ignored), (8, 2), "{r:?}");

    // The refused item's earning is owed again, with its reason; the other one is paid.
    let e = l.earning(refused).await.expect("earning").expect("exists");
    assert_eq!(e.state, EarningState::Approved);
    assert_eq!(
        l.earning(paid)
            .await
            .expect("earning")
            .expect("exists")
            .state,
        EarningState::Confirmed
    );
    let bounces = l.earning_bounces(refused).await.expect("bounces");
    assert_eq!(bounces.len(), 1);
    assert_eq!(bounces[0].batch, batch.id);
    assert_eq!(bounces[0].reason, BounceReason::RecipientWalletRefused);
    assert_eq!(bounces[0].amount, Some(50 * USD));
    assert!(l.earning_bounces(paid).await.expect("bounces").is_empty());
    assert_eq!(
        l.earning_attempts(refused).await.expect("attempts"),
        vec![(batch.id, ItemOutcome::Bounced)]
    );
    // The bounce's evidence is the vault's jetton wallet's transaction.
    let wallet_of_tx: String =
        sqlx::query_scalar("SELECT account FROM transactions WHERE hash = $1")
            .bind(bounces[0].tx_hash.to_vec())
            .fetch_one(&db.pool)
            .await
            .expect("tx");
    assert_eq!(wallet_of_tx, f.raw("usdVaultJettonWallet"));

    // The books: the tokens are in the contracts' jetton wallets, off their books.
    let c = usd();
    assert_eq!(
        bal(l, Account::Payable("lars".into())).await,
        -50 * USD as i128
    );
    assert_eq!(bal(l, Account::Payable("paula".into())).await, 0);
    assert_eq!(
        bal(l, Account::VaultJettonWalletUnbooked(c.clone())).await,
        50 * USD as i128
    );
    assert_eq!(
        bal(l, Account::EscrowJettonWalletUnbooked(PROJECT)).await,
        600 * USD as i128
    );
    assert_eq!(bal(l, Account::Vault(c.clone())).await, 250 * USD as i128);
    assert_eq!(bal(l, Account::Escrow(PROJECT)).await, 0);
    assert_eq!(bal(l, Account::Transit(PROJECT)).await, 0);
    assert_eq!(
        bal(l, Account::Treasury(c.clone())).await,
        0,
        "the fee never arrived"
    );
    assert_eq!(
        bal(l, Account::Fees(c.clone())).await,
        0,
        "nor was it earned"
    );
    assert_eq!(bal(l, Account::Client(PROJECT)).await, -850 * USD as i128);
    assert_balanced(l).await;

    let rec = l.reconcile(&c).await.expect("reconcile");
    assert!(rec.is_clean(), "{:?}", rec.issues);
    assert_eq!(
        figure(&rec, "jetton_refused"),
        (650 * USD as i128, 650 * USD as i128)
    );
    assert_eq!(figure(&rec, "owed"), (50 * USD as i128, 50 * USD as i128));
    let waiting: Vec<_> = rec
        .awaiting_recovery
        .iter()
        .map(|b| (b.account.clone(), b.balance))
        .collect();
    assert_eq!(
        waiting,
        vec![
            (
                Account::EscrowJettonWalletUnbooked(PROJECT),
                600 * USD as i128
            ),
            (
                Account::VaultJettonWalletUnbooked(c.clone()),
                50 * USD as i128
            ),
        ]
    );
    // The same, per contract, for the settler's `jetton_recover`: the vault first.
    let per_contract: Vec<_> = l
        .awaiting_recovery()
        .await
        .expect("awaiting recovery")
        .into_iter()
        .map(|a| (a.account, a.contract, a.currency, a.amount))
        .collect();
    assert_eq!(
        per_contract,
        vec![
            (
                Account::VaultJettonWalletUnbooked(c.clone()),
                f.addr("usdVault"),
                c.clone(),
                50 * USD
            ),
            (
                Account::EscrowJettonWalletUnbooked(PROJECT),
                f.addr("usdEscrow"),
                c.clone(),
                600 * USD
            ),
        ]
    );

    // Exactly once: nothing new to ingest; and the same fact taken in again (its record lost)
    // changes nothing: the entry key and the item's bounce evidence hold.
    assert_eq!(l.ingest_chain_events(1_000).await.expect("ingest").seen, 0);
    let before = l.balances(&c).await.expect("balances");
    let removed = sqlx::query(
        "DELETE FROM ledger_chain_events WHERE kind = 'jetton_transfer_bounced' \
         AND contract = $1",
    )
    .bind(f.raw("usdVault"))
    .execute(&db.pool)
    .await
    .expect("delete")
    .rows_affected();
    assert_eq!(removed, 1);
    let again = l.ingest_chain_events(1_000).await.expect("ingest");
    assert_eq!((again.seen, again.items_refused), (1, 0), "{again:?}");
    assert_eq!(l.balances(&c).await.expect("balances"), before);
    assert_eq!(l.earning_bounces(refused).await.expect("bounces").len(), 1);
    assert_eq!(
        l.earning(refused)
            .await
            .expect("earning")
            .expect("exists")
            .state,
        EarningState::Approved
    );
    assert_eq!(
        db.count("ledger_journal_entries WHERE kind = 'jetton_transfer_bounced'")
            .await,
        3
    );

    // The contracts' jetton recoveries book the tokens again: 50 at the vault, 600 (the fee and
    // the refund) at the escrow.
    let mut vault_rec = Ev::new(f.addr("usdVault"), "ev_jetton_recovered", 50 * USD);
    vault_rec.query_id = Some(1);
    vault_rec.balance_after = Some(300 * USD);
    db.insert_event(&vault_rec).await;
    let mut escrow_rec = Ev::new(f.addr("usdEscrow"), "ev_jetton_recovered", 600 * USD);
    escrow_rec.query_id = Some(1);
    escrow_rec.balance_after = Some(600 * USD);
    db.insert_event(&escrow_rec).await;
    let r = l.ingest_chain_events(1_000).await.expect("ingest");
    assert_eq!((r.posted, r.anomalies), (2, 0), "{r:?}");
    assert_eq!(
        bal(l, Account::VaultJettonWalletUnbooked(c.clone())).await,
        0
    );
    assert_eq!(
        bal(l, Account::EscrowJettonWalletUnbooked(PROJECT)).await,
        0
    );
    assert_eq!(bal(l, Account::Vault(c.clone())).await, 300 * USD as i128);
    assert_eq!(bal(l, Account::Escrow(PROJECT)).await, 600 * USD as i128);
    assert_eq!(bal(l, Account::Funders(c.clone())).await, 0);
    assert_balanced(l).await;
    let rec = l.reconcile(&c).await.expect("reconcile");
    assert!(rec.is_clean(), "{:?}", rec.issues);
    assert!(rec.awaiting_recovery.is_empty());
    assert!(l.awaiting_recovery().await.expect("awaiting").is_empty());
    assert_eq!(
        figure(&rec, "jetton_recovered"),
        (650 * USD as i128, 650 * USD as i128)
    );

    // The earning owed again waits: the locked address is on hold.
    let holds = l.payout_holds(&usd()).await.expect("holds");
    assert_eq!(holds.len(), 1);
    assert_eq!(
        (
            holds[0].worker.as_str(),
            holds[0].reason,
            holds[0].item_id.get()
        ),
        ("lars", BounceReason::RecipientWalletRefused, 2002)
    );
    let again = BatchRequest {
        currency: usd(),
        max_items: 250,
        max_total: 1_000 * USD,
        query_id: 2,
        created_at: 1_800_000_100,
        valid_until: 1_800_000_100 + 3_599,
    };
    assert!(l.form_batch(&again).await.expect("form").is_none());
    // Once the wallet is unlocked, the hold is released and the earning batched again, in a
    // new item.
    l.release_payout_hold("lars", &usd(), &f.addr("lockedWorker"), "admin:test")
        .await
        .expect("release");
    assert!(l.payout_holds(&usd()).await.expect("holds").is_empty());
    let next = l
        .form_batch(&BatchRequest {
            currency: usd(),
            max_items: 250,
            max_total: 1_000 * USD,
            query_id: 2,
            created_at: 1_800_000_100,
            valid_until: 1_800_000_100 + 3_599,
        })
        .await
        .expect("form")
        .expect("batch");
    let items = l.batch_items(next.id).await.expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].earnings, vec![refused]);
    assert!(items[0].item_id.get() > 2002, "a new item id");
}

#[tokio::test]
async fn escrow_legs_refused_at_the_recipient_and_recoveries_beyond_them() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    register_all(l).await;
    db.set_chain_time(1_000).await;
    let (esc, vault, c, p) = (escrow_of(USD_PROJECT), vault_of(&usd()), usd(), USD_PROJECT);
    let e = l
        .approve_earning(&crate::support::earning("k", "kim", p, 300))
        .await
        .expect("approve")
        .earning_id;
    assert_eq!(l.releasable(p).await.expect("releasable"), 300);
    db.insert_event(&Ev::new(esc.clone(), "ev_deposit", 1_000))
        .await;
    let mut release = Ev::new(esc.clone(), "ev_release", 300);
    release.fee = Some(7);
    db.insert_event(&release).await;
    // Leg 1: the vault's own jetton wallet refused the release (it was locked): no
    // ev_vault_funded, the 300 are back in the escrow's jetton wallet.
    let mut leg1 = Ev::new(esc.clone(), "jetton_transfer_bounced", 300);
    leg1.query_id = Some((1 << 32) | 1); // leg 1, seqno 1
    leg1.project_id = Some(p.0);
    db.insert_event(&leg1).await;
    // A fact with a leg no escrow sends: suspense and an anomaly.
    let mut odd = Ev::new(esc.clone(), "jetton_transfer_bounced", 5);
    odd.query_id = Some((9 << 32) | 1);
    db.insert_event(&odd).await;
    // A refusal at the vault of an item the ledger does not know.
    let mut unknown = Ev::new(vault.clone(), "jetton_transfer_bounced", 11);
    unknown.query_id = Some(987_654);
    unknown.item_id = Some(987_654);
    db.insert_event(&unknown).await;

    let r = l.ingest_chain_events(100).await.expect("ingest");
    assert_eq!((r.seen, r.anomalies), (5, 2), "{r:?}");
    assert_eq!(bal(l, Account::Transit(p)).await, 0);
    assert_eq!(bal(l, Account::EscrowJettonWalletUnbooked(p)).await, 305);
    // the release did not reach the vault: the project may release it again
    assert_eq!(l.releasable(p).await.expect("releasable"), 300);
    assert_eq!(
        l.earning(e).await.expect("earning").expect("exists").state,
        EarningState::Approved
    );
    let rec = l.reconcile(&c).await.expect("reconcile");
    assert!(!rec.is_clean());
    assert!(
        rec.issues.iter().any(|i| i.contains("suspense")),
        "{:?}",
        rec.issues
    );
    assert!(
        rec.issues.iter().any(|i| i.contains("anomal")),
        "{:?}",
        rec.issues
    );
    let kinds: Vec<String> = l
        .anomalies()
        .await
        .expect("anomalies")
        .into_iter()
        .map(|a| a.kind)
        .collect();
    assert_eq!(
        kinds,
        vec!["unknown_leg".to_string(), "unknown_item".to_string()]
    );

    // Recoveries beyond what bounced: at the escrow the extra is the client's (a deposit that
    // came without a notification); at the vault it is funding by someone.
    let mut esc_rec = Ev::new(esc.clone(), "ev_jetton_recovered", 340);
    esc_rec.query_id = Some(1);
    db.insert_event(&esc_rec).await;
    let mut vault_rec = Ev::new(vault.clone(), "ev_jetton_recovered", 30);
    vault_rec.query_id = Some(1);
    db.insert_event(&vault_rec).await;
    let before_client = bal(l, Account::Client(p)).await;
    let r = l.ingest_chain_events(100).await.expect("ingest");
    assert_eq!((r.posted, r.anomalies), (2, 0), "{r:?}");
    assert_eq!(bal(l, Account::EscrowJettonWalletUnbooked(p)).await, 0);
    assert_eq!(bal(l, Account::Client(p)).await, before_client - 35);
    // the vault held 11 refused tokens (of the unknown item): 30 recovered = 11 + 19 funding
    assert_eq!(
        bal(l, Account::VaultJettonWalletUnbooked(c.clone())).await,
        0
    );
    assert_eq!(bal(l, Account::Funders(c.clone())).await, -19);
    assert_eq!(bal(l, Account::Vault(c.clone())).await, 30);
    assert_balanced(l).await;
}
