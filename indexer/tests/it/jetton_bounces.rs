//! Jetton transfers refused by a recipient's wallet that the test USD's admin locked (USDT's
//! `call_to` + `set_status`), from a real sandbox run (`fixtures/jetton_bounces.json`): the
//! bounced `internal_transfer` is decoded at the sender's jetton wallet and indexed as a
//! `jetton_transfer_bounced` fact of the escrow or vault that owns that wallet.

use std::time::Duration;

use labelmint_abi::Event;
use labelmint_indexer::decode::{DecodedTransaction, decode_transaction};
use labelmint_indexer::fixed_chain::FixedChain;
use labelmint_indexer::metrics::Metrics;
use labelmint_indexer::model::{
    AccountKind, JETTON_TRANSFER_BOUNCED, MasterBlockRows, WatchedAccount,
};
use labelmint_indexer::store::{Store, WriteOutcome};
use labelmint_indexer::tail::{TailOptions, index_master_block, tail};
use sqlx::Row;

use crate::support::{Flows, TestDb, block, flows, jetton_bounces};

const USD: u128 = 1_000_000;

fn decoded(f: &Flows) -> Vec<(String, DecodedTransaction)> {
    f.steps
        .iter()
        .flat_map(|s| {
            s.transactions.iter().map(|t| {
                (
                    s.name.clone(),
                    decode_transaction(&t.boc(), block(1)).expect("decode"),
                )
            })
        })
        .collect()
}

/// The escrow's events of the fixture, by name.
fn escrow_events(f: &Flows) -> Vec<Event> {
    let escrow = f.account("usdEscrow");
    decoded(f)
        .into_iter()
        .filter(|(_, d)| d.tx.account == escrow)
        .flat_map(|(_, d)| d.events.into_iter().map(|e| e.event))
        .collect()
}

#[test]
fn the_three_refused_transfers_decode_with_query_id_amount_and_recipient() {
    let f = jetton_bounces();
    let events = escrow_events(&f);
    let release_seqno = events
        .iter()
        .find_map(|e| match e {
            Event::EvRelease(r) => Some(r.seqno),
            _ => None,
        })
        .expect("ev_release");
    let refund = events
        .iter()
        .find_map(|e| match e {
            Event::EvRefund(r) => Some(r.clone()),
            _ => None,
        })
        .expect("ev_refund");

    let bounces: Vec<_> = decoded(&f)
        .into_iter()
        .filter_map(|(step, d)| d.bounced_transfer.clone().map(|b| (step, d, b)))
        .collect();
    let got: Vec<_> = bounces
        .iter()
        .map(|(step, d, b)| {
            (
                step.as_str(),
                d.tx.account.clone(),
                b.query_id,
                b.amount,
                b.recipient_wallet.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "usd_release_fee_refused",
                f.account("usdEscrowJettonWallet"),
                (2u64 << 32) | u64::from(release_seqno),
                10 * USD, // 2.5 % of the 400 USD release
                f.account("treasuryJettonWallet"),
            ),
            (
                "usd_batch_item_refused",
                f.account("usdVaultJettonWallet"),
                2002, // the payout item id
                50 * USD,
                f.account("lockedWorkerJettonWallet"),
            ),
            (
                "usd_refund_refused",
                f.account("usdEscrowJettonWallet"),
                refund.query_id,
                refund.amount,
                f.account("clientJettonWallet"),
            ),
        ]
    );
    assert_eq!(refund.query_id >> 32, 3, "the refund is leg 3");
    assert_eq!(refund.amount, 590 * USD);
    for (_, d, b) in &bounces {
        assert_eq!(b.jetton_wallet, d.tx.account);
        let m = &d.messages[0];
        assert_eq!(m.bounced, Some(true));
        assert_eq!(m.op, Some(0xffff_ffff));
        assert_eq!(m.src.as_deref(), Some(b.recipient_wallet.as_str()));
        assert_eq!(d.tx.compute_success, Some(true));
    }
    // The refusals themselves (exit code 45 at the locked wallets) are not bounces.
    let refusals: Vec<_> = decoded(&f)
        .into_iter()
        .filter(|(_, d)| d.tx.compute_exit_code == Some(45))
        .collect();
    assert_eq!(refusals.len(), 3);
    assert!(refusals.iter().all(|(_, d)| d.bounced_transfer.is_none()));
    // The TON flows hold a bounced payout (a comment, not an internal_transfer): no fact.
    let ton = decoded(&flows());
    assert!(ton.iter().any(|(_, d)| d.messages[0].bounced == Some(true)));
    assert!(ton.iter().all(|(_, d)| d.bounced_transfer.is_none()));
}

fn watched(address: String, kind: AccountKind, owner: Option<String>) -> WatchedAccount {
    WatchedAccount {
        address,
        kind,
        project_id: (kind == AccountKind::Escrow).then_some(7),
        owner,
        currency: Some("USD".into()),
    }
}

#[test]
fn a_bounce_is_a_fact_only_at_the_jetton_wallet_of_a_watched_escrow_or_vault() {
    let f = jetton_bounces();
    let (_, d) = decoded(&f)
        .into_iter()
        .find(|(_, d)| {
            d.bounced_transfer.is_some() && d.tx.account == f.account("usdVaultJettonWallet")
        })
        .expect("the vault wallet's bounce");
    let vault = watched(f.account("usdVault"), AccountKind::Vault, None);
    let wallet = watched(
        f.account("usdVaultJettonWallet"),
        AccountKind::JettonWallet,
        Some(vault.address.clone()),
    );
    let facts = |w: Option<&WatchedAccount>, o: Option<&WatchedAccount>| {
        let mut rows = MasterBlockRows::default();
        d.clone().push_into(&mut rows, w, o);
        rows.events
    };
    let kept = facts(Some(&wallet), Some(&vault));
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].kind, JETTON_TRANSFER_BOUNCED);
    assert_eq!(kept[0].contract, vault.address);
    assert_eq!(kept[0].payout_item_id, Some(2002));
    // not watched, watched without its owner, owned by someone else, or "owned" by a wallet
    assert!(facts(None, None).is_empty());
    assert!(facts(Some(&wallet), None).is_empty());
    let stranger = watched(f.account("client"), AccountKind::Vault, None);
    assert!(facts(Some(&wallet), Some(&stranger)).is_empty());
    let unowned = watched(wallet.address.clone(), AccountKind::JettonWallet, None);
    assert!(facts(Some(&unowned), Some(&vault)).is_empty());
    let other = watched(f.account("client"), AccountKind::Other, None);
    let owned_by_other = watched(
        wallet.address.clone(),
        AccountKind::JettonWallet,
        Some(other.address.clone()),
    );
    assert!(facts(Some(&owned_by_other), Some(&other)).is_empty());
    // a vault's wallet registered as the vault itself would make no fact either
    assert!(facts(Some(&vault), Some(&vault)).is_empty());
}

async fn watch(store: &Store, w: WatchedAccount) {
    store.watch(&w).await.expect("watch");
}

/// Registers the fixture's escrow and vault, and the vault's jetton wallet (the escrow's is
/// learned from its ev_jetton_wallet_learned while indexing).
pub(crate) async fn watch_fixture(store: &Store, f: &Flows) {
    let vault = f.account("usdVault");
    watch(
        store,
        watched(f.account("usdEscrow"), AccountKind::Escrow, None),
    )
    .await;
    watch(store, watched(vault.clone(), AccountKind::Vault, None)).await;
    watch(
        store,
        watched(
            f.account("usdVaultJettonWallet"),
            AccountKind::JettonWallet,
            Some(vault),
        ),
    )
    .await;
}

#[tokio::test]
async fn the_tailer_indexes_each_refused_transfer_once_as_a_fact_of_its_owner() {
    let db = TestDb::new().await;
    let f = jetton_bounces();
    watch_fixture(&db.store, &f).await;
    let blocks: Vec<Vec<Vec<u8>>> = f
        .steps
        .iter()
        .map(|s| s.transactions.iter().map(|t| t.boc()).collect())
        .collect();
    let mut chain = FixedChain::new(blocks, 1_800_000_000).expect("chain");
    let head = chain.head();
    let opts = TailOptions {
        start_seqno: Some(1),
        index_all_accounts: false,
        poll_interval: Duration::from_millis(5),
        stop_after: Some(head),
        parallel: 1,
    };
    let metrics = Metrics::new(Duration::from_secs(60));
    tail(&mut chain, &db.store, &metrics, &opts)
        .await
        .expect("tail");
    assert_eq!(db.store.checkpoint().await.expect("checkpoint"), Some(head));

    // The escrow's wallet was learned on chain and is watched, owned by the escrow.
    let learned = db.store.watched_accounts().await.expect("watched");
    let w = learned
        .iter()
        .find(|w| w.address == f.account("usdEscrowJettonWallet"))
        .expect("escrow wallet watched");
    assert_eq!(w.kind, AccountKind::JettonWallet);
    assert_eq!(w.owner, Some(f.account("usdEscrow")));

    let facts = || async {
        sqlx::query(
            "SELECT e.contract, e.contract_kind, e.project_id::text AS project_id, \
                    e.payout_item_id::text AS item, e.query_id::text AS query_id, \
                    e.amount::text AS amount, e.msg_idx, t.account, \
                    e.fields->>'jetton_wallet' AS wallet, e.fields->>'recipient_wallet' AS recipient, \
                    e.fields->>'leg' AS leg, e.fields->>'owner' AS owner \
             FROM events e JOIN transactions t ON t.hash = e.tx_hash \
             WHERE e.kind = 'jetton_transfer_bounced' ORDER BY e.lt",
        )
        .fetch_all(db.store.pool())
        .await
        .expect("facts")
    };
    let rows = facts().await;
    type Row7 = (
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    );
    let got: Vec<Row7> = rows
        .iter()
        .map(|r| {
            let account: String = r.get("account");
            assert_eq!(r.get::<Option<String>, _>("wallet"), Some(account));
            assert_eq!(r.get::<i32, _>("msg_idx"), 0);
            assert_eq!(r.get::<Option<String>, _>("owner"), Some(r.get("contract")));
            (
                r.get("contract"),
                r.get::<Option<String>, _>("contract_kind").expect("kind"),
                r.get("project_id"),
                r.get("item"),
                r.get::<String, _>("amount"),
                r.get("recipient"),
                r.get("leg"),
            )
        })
        .collect();
    let (escrow, vault) = (f.account("usdEscrow"), f.account("usdVault"));
    assert_eq!(
        got,
        vec![
            (
                escrow.clone(),
                "escrow".into(),
                Some("7".into()),
                None,
                (10 * USD).to_string(),
                Some(f.account("treasuryJettonWallet")),
                Some("2".into())
            ),
            (
                vault,
                "vault".into(),
                None,
                Some("2002".into()),
                (50 * USD).to_string(),
                Some(f.account("lockedWorkerJettonWallet")),
                None
            ),
            (
                escrow,
                "escrow".into(),
                Some("7".into()),
                None,
                (590 * USD).to_string(),
                Some(f.account("clientJettonWallet")),
                Some("3".into())
            ),
        ]
    );
    // the item id is the query id for the vault; the escrow's facts carry leg_query_id
    let q: Vec<String> = rows.iter().map(|r| r.get("query_id")).collect();
    assert_eq!(q[1], "2002");
    assert_eq!(q[2].parse::<u64>().expect("q") >> 32, 3);

    // Replaying a block (a retry after a crash) writes nothing twice.
    let watched_now = db.store.watched_accounts().await.expect("watched");
    let seqno = 1 + f
        .steps
        .iter()
        .position(|s| s.name == "usd_batch_item_refused")
        .expect("step") as u32;
    let prev = vec![block_ref_of(&mut chain, seqno - 1).await];
    let again = index_master_block(&mut chain, seqno, &prev, &watched_now, false)
        .await
        .expect("index");
    assert_eq!(
        again
            .rows
            .events
            .iter()
            .filter(|e| e.kind == JETTON_TRANSFER_BOUNCED)
            .count(),
        1
    );
    assert_eq!(
        db.store
            .write_master_block(&again.rows)
            .await
            .expect("write"),
        WriteOutcome::AlreadyIndexed
    );
    assert_eq!(facts().await.len(), 3);
}

async fn block_ref_of(chain: &mut FixedChain, seqno: u32) -> labelmint_indexer::model::BlockRef {
    use labelmint_indexer::tail::ChainSource;
    chain
        .master_block(seqno)
        .await
        .expect("master")
        .expect("exists")
        .shard_tops[0]
}
