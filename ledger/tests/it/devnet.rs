//! The ledger on real indexed chain data: the devnet runs the real compiled escrow and vault,
//! the real indexer tails it into the same Postgres, and the ledger drives the money flow a
//! settler would (approve, release what is releasable, form a batch, let it expire in chain
//! time, re-batch, sign, send), then ingests the indexed events and reconciles to the unit.
//!
//! The signer and treasury keys are THROWAWAY keys from public phrases: the chain is local.

use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use labelmint_abi::escrow::{
    CloseRequest, EscrowClose, EscrowDeploy, EscrowDeposit, EscrowParams, EscrowRefund,
    EscrowRelease, EscrowRoutes, EscrowStorage, ReleaseRequest,
};
use labelmint_abi::state_init::{
    escrow_address, escrow_state_init, vault_address, vault_state_init,
};
use labelmint_abi::vault::{
    DEFAULT_ADMIN_DELAY, PayoutItem, VaultBatch, VaultBatchRequest, VaultConfig, VaultTopUp,
};
use labelmint_abi::{Layout, SignedRequest};
use labelmint_devnet::config::seed_from_phrase;
use labelmint_devnet::wallet::{Transfer, WalletV4R2, external_message};
use labelmint_devnet::{Config as DevnetConfig, Devnet};
use labelmint_indexer::lite::LiteServer;
use labelmint_indexer::model::{AccountKind, WatchedAccount};
use labelmint_ledger::{
    Account, BatchRequest, BatchState, Currency, CurrencyCode, EarningState, FINALITY_MARGIN_SECS,
    Ledger, NewEarning, Project, ProjectId, RawAddress, Vault,
};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, HashBytes};
use tycho_types::models::{AccountState, Block, StdAddr};

use crate::support::TestDb;

const TON: u128 = 1_000_000_000;
/// THROWAWAY: the signer of releases and batches (a public phrase).
const THROWAWAY_SIGNER_PHRASE: &str = "THROWAWAY labelmint ledger test signer";
/// THROWAWAY: the treasury wallet's key (a public phrase).
const THROWAWAY_TREASURY_PHRASE: &str = "THROWAWAY labelmint ledger test treasury";
const PROJECT: u64 = 301;
const DEPOSIT: u128 = 10 * TON;
const FEE_BPS: u16 = 250;

fn raw(a: &StdAddr) -> RawAddress {
    RawAddress::from_parts(a.workchain, &a.address.0)
}

fn std_addr(a: &RawAddress) -> StdAddr {
    StdAddr::new(a.workchain() as i8, HashBytes(a.account()))
}

fn worker_addr(i: u8) -> RawAddress {
    RawAddress::from_parts(0, &[0x40 + i; 32])
}

fn send(devnet: &Devnet, transfers: &[Transfer]) {
    devnet
        .faucet_send(transfers)
        .expect("faucet external accepted");
    devnet.settle(16).expect("settle");
}

/// The devnet's global id (config param 19), which signed requests must carry.
fn chain_global_id(devnet: &Devnet) -> i32 {
    devnet
        .node()
        .lock()
        .last_master()
        .expect("head")
        .root
        .parse::<Block>()
        .expect("block")
        .global_id
}

fn escrow_seqno(devnet: &Devnet, escrow: &StdAddr) -> u32 {
    let acc = devnet
        .account(escrow)
        .expect("account")
        .load_account()
        .expect("load")
        .expect("escrow exists");
    let AccountState::Active(init) = acc.state else {
        panic!("escrow not active");
    };
    EscrowStorage::parse(init.data.as_ref().expect("data"))
        .expect("escrow storage")
        .seqno
}

/// Waits until the indexer committed the devnet's last masterchain block.
async fn caught_up(db: &TestDb, devnet: &Devnet) {
    let head = devnet.node().lock().last_master().expect("head").id.seqno;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let cp: Option<i64> = sqlx::query_scalar("SELECT mc_seqno FROM checkpoint")
            .fetch_optional(&db.pool)
            .await
            .expect("checkpoint");
        if cp >= Some(i64::from(head)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the indexer did not reach {head}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Builds, signs and records the vault request of a ledger batch; returns the external message.
async fn sign_batch(
    l: &Ledger,
    global_id: i32,
    signer: &SigningKey,
    vault: &StdAddr,
    batch: &labelmint_ledger::Batch,
    bounceable: &RawAddress,
) -> Cell {
    let items = l.batch_items(batch.id).await.expect("items");
    let request = VaultBatchRequest {
        vault: vault.clone(),
        global_id,
        query_id: batch.query_id,
        created_at: batch.created_at,
        attach: 0,
        forward_ton: 0,
        items: items
            .iter()
            .map(|i| PayoutItem {
                item_id: i.item_id.get(),
                bounceable: &i.payout_address == bounceable,
                dest: std_addr(&i.payout_address),
                amount: i.amount,
            })
            .collect(),
    };
    assert_eq!(request.total().expect("total"), batch.total);
    // The signer's policy check: the request is exactly the ledger's live batch.
    let planned: Vec<_> = items
        .iter()
        .map(|i| (i.item_id, i.payout_address.clone(), i.amount))
        .collect();
    let checked = l
        .check_vault_request(&raw(vault), batch.query_id, batch.created_at, &planned)
        .await
        .expect("request matches the ledger");
    assert_eq!(checked.id, batch.id);
    let hash = request.signing_hash().expect("hash");
    let signature = signer.sign(&hash).to_bytes();
    let _ = l.mark_signed(batch.id, hash).await.expect("mark signed");
    external_message(
        vault,
        None,
        VaultBatch { signature, request }.build().expect("batch"),
    )
    .expect("external")
}

#[tokio::test]
async fn a_real_flow_is_ingested_and_reconciles_to_the_unit() {
    let db = TestDb::new().await;
    let l = &db.ledger;
    let devnet = labelmint_devnet::spawn(DevnetConfig::test())
        .await
        .expect("devnet");
    let faucet = devnet.genesis().faucet.clone();
    let global_id = devnet.node().lock().config().global_id;
    let signer = SigningKey::from_bytes(&seed_from_phrase(THROWAWAY_SIGNER_PHRASE));
    let treasury_wallet = WalletV4R2::from_seed(seed_from_phrase(THROWAWAY_TREASURY_PHRASE));
    let treasury = treasury_wallet.address().expect("treasury");
    let now = devnet.node().now();

    let vault_config = VaultConfig {
        signer_key: signer.verifying_key().to_bytes(),
        timeout: 3600,
        window_len: 86_400,
        window_limit: 1_000 * TON,
        admin: faucet.clone(),
        jetton_master: None,
        admin_delay: DEFAULT_ADMIN_DELAY,
        vault_id: 7,
    };
    let vault = vault_address(&vault_config).expect("vault address");
    let params = EscrowParams {
        project_id: PROJECT,
        signer_key: signer.verifying_key().to_bytes(),
        deadline: now + 30 * 86_400,
        fee_bps: FEE_BPS,
        client: faucet.clone(),
        jetton_master: None,
        routes: EscrowRoutes {
            vault: vault.clone(),
            treasury: treasury.clone(),
        },
    };
    let escrow = escrow_address(&params).expect("escrow address");

    // Registered in the ledger and watched by the indexer before they exist.
    let ton = CurrencyCode::ton();
    l.register_currency(&Currency {
        code: ton.clone(),
        decimals: 9,
        jetton_master: None,
    })
    .await
    .unwrap();
    l.register_project(&Project {
        id: ProjectId(PROJECT),
        escrow: raw(&escrow),
        currency: ton.clone(),
        client: raw(&faucet),
    })
    .await
    .unwrap();
    l.register_vault(&Vault {
        currency: ton.clone(),
        address: raw(&vault),
    })
    .await
    .unwrap();
    let store = labelmint_indexer::store::Store::from_pool(db.pool.clone());
    for (address, kind, project_id) in [
        (&escrow, AccountKind::Escrow, Some(PROJECT)),
        (&vault, AccountKind::Vault, None),
    ] {
        store
            .watch(&WatchedAccount {
                address: raw(address).to_string(),
                kind,
                project_id,
                owner: None,
                currency: Some("TON".to_owned()),
            })
            .await
            .expect("watch");
    }
    let mut config = labelmint_indexer::Config::test(
        db.url.clone(),
        vec![LiteServer {
            addr: devnet.addr().into(),
            public_key: devnet.public_key(),
        }],
    );
    config.start_seqno = Some(1);
    config.poll_interval = Duration::from_millis(20);
    let indexer = labelmint_indexer::spawn(config).await.expect("indexer");

    // Deploy the vault (1 TON of gas float), the escrow and the treasury wallet; deposit.
    let deploy = |to: &StdAddr, amount: u128, body: Cell, init| Transfer {
        to: to.clone(),
        amount,
        bounce: false,
        body: Some(body),
        init: Some(init),
        mode: 3,
    };
    send(
        &devnet,
        &[
            deploy(
                &vault,
                TON,
                VaultTopUp { query_id: 1 }.build().unwrap(),
                vault_state_init(&vault_config).unwrap(),
            ),
            deploy(
                &escrow,
                TON / 10,
                EscrowDeploy { query_id: 2 }.build().unwrap(),
                escrow_state_init(&params).unwrap(),
            ),
            Transfer {
                to: treasury.clone(),
                amount: TON / 2,
                bounce: false,
                body: None,
                init: Some(treasury_wallet.state_init().unwrap()),
                mode: 3,
            },
        ],
    );
    let deposit = EscrowDeposit {
        query_id: 4,
        amount: DEPOSIT,
    }
    .build()
    .unwrap();
    send(
        &devnet,
        &[Transfer {
            to: escrow.clone(),
            amount: DEPOSIT + TON / 100,
            bounce: true,
            body: Some(deposit),
            init: None,
            mode: 3,
        }],
    );

    // The consensus engine approves three earnings; the third worker's address has no account
    // and is paid bounceable, so it bounces.
    let amounts = [TON / 10, TON / 5, TON / 2];
    let mut ids = Vec::new();
    for (i, amount) in amounts.iter().enumerate() {
        let a = l
            .approve_earning(&NewEarning {
                submission_key: format!("task-1/sub-{i}"),
                worker: format!("worker-{i}"),
                payout_address: worker_addr(i as u8),
                project: ProjectId(PROJECT),
                amount: *amount,
                decision_id: format!("decision-{i}"),
            })
            .await
            .unwrap();
        ids.push(a.earning_id);
    }
    let approved: u128 = amounts.iter().sum();

    // Release exactly what is releasable.
    let release_amount = l.releasable(ProjectId(PROJECT)).await.unwrap();
    assert_eq!(release_amount, approved);
    let request = ReleaseRequest {
        escrow: escrow.clone(),
        global_id: chain_global_id(&devnet),
        seqno: escrow_seqno(&devnet, &escrow),
        valid_until: devnet.node().now() + 600,
        amount: release_amount,
    };
    let signature = signer.sign(&request.signing_hash().unwrap()).to_bytes();
    let release = EscrowRelease {
        query_id: 6,
        signature,
        request,
    }
    .build()
    .unwrap();
    send(
        &devnet,
        &[Transfer {
            to: escrow.clone(),
            amount: 4 * TON / 100,
            bounce: true,
            body: Some(release),
            init: None,
            mode: 3,
        }],
    );

    // Batch 1 is signed but never lands: once its valid_until (created_at + the vault's timeout
    // - 1) has passed in chain time (the chain moves an hour and a bit on), it expires and its
    // items are approved again.
    let valid = |t: u32| t + vault_config.timeout - 1;
    let t0 = devnet.node().now();
    let b1 = l
        .form_batch(&BatchRequest {
            currency: ton.clone(),
            max_items: 250,
            max_total: 1_000 * TON,
            query_id: 1,
            created_at: t0,
            valid_until: valid(t0),
        })
        .await
        .unwrap()
        .expect("batch 1");
    assert_eq!(b1.item_count, 3);
    let _never_sent = sign_batch(l, global_id, &signer, &vault, &b1, &worker_addr(2)).await;
    let later = valid(t0) + 1 + FINALITY_MARGIN_SECS;
    devnet
        .node()
        .lock()
        .produce_block(later)
        .expect("a later block");
    devnet.produce_block().expect("block");
    caught_up(&db, &devnet).await;
    assert!(matches!(
        l.expire_batch(b1.id, valid(t0)).await,
        Err(labelmint_ledger::Error::NotExpired { .. })
    ));
    assert_eq!(
        l.expire_batch(b1.id, valid(t0) + 1).await.unwrap(),
        labelmint_ledger::Transition::Applied
    );

    // Batch 2 takes them, is signed, sent and lands.
    let t1 = devnet.node().now();
    let b2 = l
        .form_batch(&BatchRequest {
            currency: ton.clone(),
            max_items: 250,
            max_total: 1_000 * TON,
            query_id: 2,
            created_at: t1,
            valid_until: valid(t1),
        })
        .await
        .unwrap()
        .expect("batch 2");
    assert_eq!((b2.item_count, b2.total), (3, approved));
    let ext = sign_batch(l, global_id, &signer, &vault, &b2, &worker_addr(2)).await;
    let _ = l.mark_sent(b2.id, ext.repr_hash().0).await.unwrap();
    let now = devnet.node().now();
    devnet
        .node()
        .lock()
        .submit_external(&Boc::encode(&ext), now)
        .expect("batch accepted");
    devnet.settle(16).expect("settle");
    devnet.produce_block().expect("block");

    // The project ends: a signed close, then the client's refund of the rest.
    let request = CloseRequest {
        escrow: escrow.clone(),
        global_id: chain_global_id(&devnet),
        seqno: escrow_seqno(&devnet, &escrow),
        valid_until: devnet.node().now() + 600,
    };
    let signature = signer.sign(&request.signing_hash().unwrap()).to_bytes();
    let close = EscrowClose {
        query_id: 9,
        signature,
        request,
    }
    .build()
    .unwrap();
    let refund = EscrowRefund { query_id: 10 }.build().unwrap();
    for (body, value) in [(close, 3 * TON / 100), (refund, 4 * TON / 100)] {
        send(
            &devnet,
            &[Transfer {
                to: escrow.clone(),
                amount: value,
                bounce: true,
                body: Some(body),
                init: None,
                mode: 3,
            }],
        );
    }
    devnet.produce_block().expect("block");
    caught_up(&db, &devnet).await;
    indexer.abort();

    // Before ingestion the chain is ahead of the journal, and reconciliation says so.
    let before = l.reconcile(&ton).await.unwrap();
    assert!(!before.is_clean());
    assert!(before.unposted_events > 0);

    let report = l.ingest_chain_events(1_000).await.unwrap();
    assert_eq!(report.anomalies, 0, "{:?}", l.anomalies().await.unwrap());
    assert_eq!(
        (report.batches_confirmed, report.items_bounced),
        (1, 1),
        "{report:?}"
    );
    assert_eq!(
        l.batch(b2.id).await.unwrap().unwrap().state,
        BatchState::Confirmed
    );
    assert_eq!(
        l.batch(b1.id).await.unwrap().unwrap().state,
        BatchState::Expired
    );
    let states: Vec<EarningState> = {
        let mut v = Vec::new();
        for id in &ids {
            v.push(l.earning(*id).await.unwrap().unwrap().state);
        }
        v
    };
    assert_eq!(
        states,
        vec![
            EarningState::Confirmed,
            EarningState::Confirmed,
            EarningState::Approved
        ]
    );

    let r = l.reconcile(&ton).await.unwrap();
    assert!(r.is_clean(), "{:?}", r.issues);
    let fig = |n: &str| {
        let f = r.figures.iter().find(|f| f.name == n).unwrap();
        assert_eq!(f.journal, f.expected, "{n}");
        f.journal
    };
    let fee = params.release_fee(release_amount);
    assert!(fee > 0);
    assert_eq!(fig("deposited"), DEPOSIT as i128);
    assert_eq!(fig("released"), approved as i128);
    assert_eq!(fig("fees"), fee as i128);
    assert_eq!(fig("vault_funded"), approved as i128);
    assert_eq!(fig("paid"), approved as i128);
    let back = fig("bounced");
    assert!(
        back > 0 && back < (TON / 2) as i128,
        "a TON bounce returns less: {back}"
    );
    assert_eq!(fig("owed"), (TON / 2) as i128);

    // The journal's view of the money: the escrow is empty (release, fee, refund); the vault
    // holds the bounced value; the worker whose payout bounced is owed again.
    let bal = |a: Account| {
        let ton = ton.clone();
        async move { l.balance(&a, &ton).await.unwrap() }
    };
    let rest = DEPOSIT - approved - fee;
    assert_eq!(fig("refunded"), rest as i128);
    assert_eq!(bal(Account::Escrow(ProjectId(PROJECT))).await, 0);
    // The client put in the deposit and got back all but the approved earnings and the fee.
    assert_eq!(bal(Account::Client(ProjectId(PROJECT))).await, 0);
    assert_eq!(bal(Account::Transit(ProjectId(PROJECT))).await, 0);
    // The vault's float (its gas top-up at deploy) is money a TON vault holds and pays from.
    let topped_up = fig("gas_topped_up");
    assert!(topped_up > 0);
    assert_eq!(bal(Account::Vault(ton.clone())).await, back + topped_up);
    assert_eq!(bal(Account::Funders(ton.clone())).await, -topped_up);
    assert_eq!(
        bal(Account::Payable("worker-2".into())).await,
        -((TON / 2) as i128)
    );
    assert_eq!(bal(Account::Payable("worker-0".into())).await, 0);
    // The address it bounced from is on hold: the earning waits for a corrected address.
    let holds = l.payout_holds(&ton).await.unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(
        (holds[0].worker.as_str(), &holds[0].payout_address),
        ("worker-2", &worker_addr(2))
    );
    assert_eq!(bal(Account::Treasury(ton.clone())).await, fee as i128);
    assert_eq!(
        bal(Account::BounceCosts(ton.clone())).await,
        (TON / 2) as i128 - back
    );
    // The escrow's own running figure agrees: its `remaining` after the release.
    let remaining: String = sqlx::query_scalar(
        "SELECT balance_after::text FROM events WHERE kind = 'ev_release' AND contract = $1",
    )
    .bind(raw(&escrow).as_str())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(remaining, rest.to_string());
    assert_eq!(l.releasable(ProjectId(PROJECT)).await.unwrap(), 0);
}
