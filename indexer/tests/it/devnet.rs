//! The indexer against the real devnet (in-process, on-demand blocks, the real compiled
//! contracts) and the real Postgres: LabelMint's money flow shows up as decoded events with
//! exact amounts.
//!
//! The signer and treasury keys below are THROWAWAY keys from public phrases: this chain is
//! local and nothing here is secret.

use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use labelmint_abi::escrow::{
    CloseRequest, EscrowClose, EscrowDeploy, EscrowDeposit, EscrowParams, EscrowRefund,
    EscrowRelease, EscrowRoutes, EscrowStorage, JETTON_DEPOSIT_FORWARD_TON, ReleaseRequest,
};
use labelmint_abi::jetton::{ForwardPayload, JettonTransfer};
use labelmint_abi::state_init::{
    escrow_address, escrow_state_init, jetton_wallet_address, vault_address, vault_state_init,
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
use sqlx::Row;
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellFamily, HashBytes};
use tycho_types::models::{AccountState, Block, StdAddr};

use crate::support::TestDb;

const TON: u128 = 1_000_000_000;
/// Test USD has 6 decimals.
const USD: u128 = 1_000_000;
/// THROWAWAY: the signer of releases, closes and batches in these tests (a public phrase).
const THROWAWAY_SIGNER_PHRASE: &str = "THROWAWAY labelmint indexer test signer";
/// THROWAWAY: the treasury wallet's key (a public phrase).
const THROWAWAY_TREASURY_PHRASE: &str = "THROWAWAY labelmint indexer test treasury";

const TON_DEPOSIT: u128 = 100 * TON;
const USD_DEPOSIT: u128 = 250 * USD;
const RELEASE: u128 = 40 * TON;
const FEE_BPS: u16 = 250;
const BATCH_ITEMS: usize = 250;
/// Each of the 249 good payouts.
const PAYOUT: u128 = TON / 10;
/// The bounceable payout to an address with no account: it bounces back.
const BOUNCED_PAYOUT: u128 = TON / 2;
const BOUNCED_ITEM_ID: u64 = 7_000_250;

fn raw(a: &StdAddr) -> String {
    format!("{}:{}", a.workchain, hex::encode(a.address.0))
}

fn throwaway_signer() -> SigningKey {
    SigningKey::from_bytes(&seed_from_phrase(THROWAWAY_SIGNER_PHRASE))
}

fn worker(i: usize) -> StdAddr {
    use sha2::Digest;
    let h: [u8; 32] = sha2::Sha256::digest(format!("indexer test worker {i}")).into();
    StdAddr::new(0, HashBytes(h))
}

fn msg(to: &StdAddr, amount: u128, bounce: bool, body: Option<Cell>) -> Transfer {
    Transfer {
        to: to.clone(),
        amount,
        bounce,
        body,
        init: None,
        mode: 3,
    }
}

/// Sends from the faucet, then produces blocks until everything settled.
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

/// The value of the bounce `nobody`'s only transaction sent back.
fn bounce_value(devnet: &Devnet, nobody: &StdAddr) -> u128 {
    use tycho_types::models::{MsgInfo, Transaction};
    let chain = devnet.node().lock();
    let history = &chain.base.history[&nobody.address];
    assert_eq!(history.len(), 1);
    let (_, _, cell) = history.values().next().expect("transaction");
    let tx = cell.parse::<Transaction>().expect("transaction");
    let out = tx
        .out_msgs
        .values()
        .next()
        .expect("the bounce")
        .expect("out message");
    match out.parse::<MsgInfo>().expect("info") {
        MsgInfo::Int(i) => {
            assert!(i.bounced);
            i.value.tokens.into_inner()
        }
        other => panic!("not a bounce: {other:?}"),
    }
}

/// Waits until the indexer committed the devnet's last masterchain block.
async fn caught_up(db: &TestDb, devnet: &Devnet) {
    let head = devnet.node().lock().last_master().expect("head").id.seqno;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if db.store.checkpoint().await.expect("checkpoint") >= Some(head) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the indexer did not reach {head}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(kind, amount, fee, balance_after, payout_item_id)` of a contract's events, in lt order.
type EventLine = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

async fn events_of(db: &TestDb, contract: &StdAddr) -> Vec<EventLine> {
    sqlx::query(
        "SELECT kind, amount::text AS amount, fee::text AS fee, \
             balance_after::text AS balance_after, payout_item_id::text AS item \
         FROM events WHERE contract = $1 ORDER BY lt, msg_idx",
    )
    .bind(raw(contract))
    .fetch_all(db.store.pool())
    .await
    .expect("events")
    .into_iter()
    .map(|r| {
        (
            r.get("kind"),
            r.get("amount"),
            r.get("fee"),
            r.get("balance_after"),
            r.get("item"),
        )
    })
    .collect()
}

fn line(kind: &str, amount: u128, fee: Option<u128>, after: Option<u128>) -> EventLine {
    (
        kind.to_owned(),
        Some(amount.to_string()),
        fee.map(|f| f.to_string()),
        after.map(|a| a.to_string()),
        None,
    )
}

#[tokio::test]
async fn deposits_release_batch_bounce_and_refund_are_indexed_with_exact_amounts() {
    let db = TestDb::new().await;
    let devnet = labelmint_devnet::spawn(DevnetConfig::test())
        .await
        .expect("devnet");
    let faucet = devnet.genesis().faucet.clone();
    let minter = devnet.genesis().jetton_minter.clone();
    let signer = throwaway_signer();
    let treasury_wallet = WalletV4R2::from_seed(seed_from_phrase(THROWAWAY_TREASURY_PHRASE));
    let treasury = treasury_wallet.address().expect("treasury");
    let now = devnet.node().now();

    let vault_config = VaultConfig {
        signer_key: signer.verifying_key().to_bytes(),
        timeout: 3600,
        window_len: 86_400,
        window_limit: 1_000_000 * TON,
        admin: faucet.clone(),
        jetton_master: None,
        admin_delay: DEFAULT_ADMIN_DELAY,
        vault_id: 1,
    };
    let vault = vault_address(&vault_config).expect("vault address");
    let params = |project_id: u64, jetton_master: Option<StdAddr>| EscrowParams {
        project_id,
        signer_key: signer.verifying_key().to_bytes(),
        deadline: now + 30 * 86_400,
        fee_bps: FEE_BPS,
        client: faucet.clone(),
        jetton_master,
        routes: EscrowRoutes {
            vault: vault.clone(),
            treasury: treasury.clone(),
        },
    };
    let ton_params = params(101, None);
    let usd_params = params(102, Some(minter.clone()));
    let ton_escrow = escrow_address(&ton_params).expect("escrow address");
    let usd_escrow = escrow_address(&usd_params).expect("escrow address");

    // Registered before they exist (their addresses come from their StateInit), as the API does.
    for (address, kind, project_id, currency) in [
        (
            &ton_escrow,
            AccountKind::Escrow,
            Some(101),
            "TON".to_owned(),
        ),
        (&usd_escrow, AccountKind::Escrow, Some(102), raw(&minter)),
        (&vault, AccountKind::Vault, None, "TON".to_owned()),
    ] {
        db.store
            .watch(&WatchedAccount {
                address: raw(address),
                kind,
                project_id,
                owner: None,
                currency: Some(currency),
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
    // Verified from the devnet's init block: signatures, inclusion, state proofs.
    let global = devnet.global_config().expect("global config").to_string();
    config.verification = labelmint_indexer::verify::Verification::From(
        labelmint_indexer::lite::parse_init_block(&global)
            .expect("init block")
            .expect("named"),
    );
    let indexer = labelmint_indexer::spawn(config).await.expect("indexer");

    // 1. Deploy: the TON vault, both escrows (the test USD one discovers its jetton wallet,
    //    TEP-89) and the treasury wallet; the faucet mints itself test USD.
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
                VaultTopUp { query_id: 1 }.build().expect("top up"),
                vault_state_init(&vault_config).expect("vault init"),
            ),
            deploy(
                &ton_escrow,
                TON / 10,
                EscrowDeploy { query_id: 2 }.build().expect("deploy"),
                escrow_state_init(&ton_params).expect("escrow init"),
            ),
            deploy(
                &usd_escrow,
                TON / 10,
                EscrowDeploy { query_id: 3 }.build().expect("deploy"),
                escrow_state_init(&usd_params).expect("escrow init"),
            ),
            Transfer {
                to: treasury.clone(),
                amount: TON / 2,
                bounce: false,
                body: None,
                init: Some(treasury_wallet.state_init().expect("treasury init")),
                mode: 3,
            },
        ],
    );
    devnet.faucet_usd(&faucet, 1_000 * USD).expect("mint");
    devnet.settle(16).expect("settle");

    // 2. Deposits: 100 TON, then 250 test USD by a jetton transfer to the escrow.
    let deposit = EscrowDeposit {
        query_id: 4,
        amount: TON_DEPOSIT,
    }
    .build()
    .expect("deposit");
    send(
        &devnet,
        &[msg(
            &ton_escrow,
            TON_DEPOSIT + TON / 100,
            true,
            Some(deposit),
        )],
    );
    let faucet_usd_wallet = jetton_wallet_address(&faucet, &minter).expect("wallet");
    let usd_transfer = JettonTransfer {
        query_id: 5,
        amount: USD_DEPOSIT,
        destination: Some(usd_escrow.clone()),
        response_destination: Some(faucet.clone()),
        custom_payload: None,
        forward_ton_amount: JETTON_DEPOSIT_FORWARD_TON,
        forward_payload: ForwardPayload::Inline(Cell::empty_cell()),
    }
    .build()
    .expect("jetton transfer");
    send(
        &devnet,
        &[msg(
            &faucet_usd_wallet,
            TON / 10 + JETTON_DEPOSIT_FORWARD_TON,
            true,
            Some(usd_transfer),
        )],
    );

    // 3. A signed release of 40 TON (+1 TON fee) to the vault.
    let request = ReleaseRequest {
        escrow: ton_escrow.clone(),
        global_id: chain_global_id(&devnet),
        seqno: escrow_seqno(&devnet, &ton_escrow),
        valid_until: devnet.node().now() + 600,
        amount: RELEASE,
    };
    let signature = signer
        .sign(&request.signing_hash().expect("hash"))
        .to_bytes();
    let release = EscrowRelease {
        query_id: 6,
        signature,
        request,
    }
    .build()
    .expect("release");
    send(
        &devnet,
        &[msg(&ton_escrow, 4 * TON / 100, true, Some(release))],
    );

    // 4. A signed batch of 250 payouts; the last is bounceable to an address with no account.
    let mut items: Vec<PayoutItem> = (0..BATCH_ITEMS - 1)
        .map(|i| PayoutItem {
            item_id: 7_000_001 + i as u64,
            bounceable: false,
            dest: worker(i),
            amount: PAYOUT,
        })
        .collect();
    items.push(PayoutItem {
        item_id: BOUNCED_ITEM_ID,
        bounceable: true,
        dest: worker(10_000),
        amount: BOUNCED_PAYOUT,
    });
    let request = VaultBatchRequest {
        vault: vault.clone(),
        global_id: chain_global_id(&devnet),
        query_id: 8,
        created_at: devnet.node().now(),
        attach: 0,
        forward_ton: 0,
        items,
    };
    let total = request.total().expect("total");
    let signature = signer
        .sign(&request.signing_hash().expect("hash"))
        .to_bytes();
    let batch = external_message(
        &vault,
        None,
        VaultBatch { signature, request }.build().expect("batch"),
    )
    .expect("external");
    let now = devnet.node().now();
    devnet
        .node()
        .lock()
        .submit_external(&Boc::encode(&batch), now)
        .expect("batch accepted");
    devnet.settle(16).expect("settle");

    // 5. A signed close, then the client's refund of the rest.
    let request = CloseRequest {
        escrow: ton_escrow.clone(),
        global_id: chain_global_id(&devnet),
        seqno: escrow_seqno(&devnet, &ton_escrow),
        valid_until: devnet.node().now() + 600,
    };
    let signature = signer
        .sign(&request.signing_hash().expect("hash"))
        .to_bytes();
    let close = EscrowClose {
        query_id: 9,
        signature,
        request,
    }
    .build()
    .expect("close");
    send(
        &devnet,
        &[msg(&ton_escrow, 3 * TON / 100, true, Some(close))],
    );
    let refund = EscrowRefund { query_id: 10 }.build().expect("refund");
    send(
        &devnet,
        &[msg(&ton_escrow, 4 * TON / 100, true, Some(refund))],
    );
    devnet.produce_block().expect("block");

    caught_up(&db, &devnet).await;
    indexer.abort();

    let fee = ton_params.release_fee(RELEASE);
    assert_eq!(fee, TON);
    let remaining = TON_DEPOSIT - RELEASE - fee;
    assert_eq!(
        events_of(&db, &ton_escrow).await,
        vec![
            line("ev_deposit", TON_DEPOSIT, None, Some(TON_DEPOSIT)),
            line("ev_release", RELEASE, Some(fee), Some(remaining)),
            line("ev_closed", remaining, None, Some(remaining)),
            line("ev_refund", remaining, None, None),
        ]
        .into_iter()
        .map(|mut l| {
            // ev_closed carries no amount of its own: only the remaining budget.
            if l.0 == "ev_closed" {
                l.1 = None;
            }
            l
        })
        .collect::<Vec<_>>()
    );
    let usd_events = events_of(&db, &usd_escrow).await;
    assert_eq!(usd_events.len(), 2, "{usd_events:?}");
    assert_eq!(usd_events[0].0, "ev_jetton_wallet_learned");
    assert_eq!(
        usd_events[1],
        line("ev_deposit", USD_DEPOSIT, None, Some(USD_DEPOSIT))
    );
    // The learned jetton wallet is watched now, with its owner and currency.
    let learned: (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT kind, owner, currency FROM watched_accounts WHERE owner = $1")
            .bind(raw(&usd_escrow))
            .fetch_one(db.store.pool())
            .await
            .expect("learned wallet");
    assert_eq!(
        learned,
        (
            "jetton_wallet".to_owned(),
            Some(raw(&usd_escrow)),
            Some(raw(&minter))
        )
    );

    let vault_events = events_of(&db, &vault).await;
    let kinds: Vec<&str> = vault_events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "ev_gas_topped_up",
            "ev_vault_funded",
            "ev_batch_executed",
            "ev_payout_bounced"
        ],
        "{vault_events:?}"
    );
    // The deploy's top-up is gas; the release's leg 1 funds the project.
    assert_eq!(vault_events[0].1, Some(TON.to_string()));
    assert_eq!(vault_events[1].1, Some(RELEASE.to_string()));
    assert_eq!(total, PAYOUT * (BATCH_ITEMS as u128 - 1) + BOUNCED_PAYOUT);
    assert_eq!(vault_events[2].1, Some(total.to_string()));
    // The bounce brings back the payout less what the failed delivery and the bounce cost:
    // exactly the value of the bounce message the chain made.
    let bounced_back = bounce_value(&devnet, &worker(10_000));
    assert!(bounced_back < BOUNCED_PAYOUT && bounced_back > BOUNCED_PAYOUT - TON / 100);
    assert_eq!(
        vault_events[3],
        (
            "ev_payout_bounced".to_owned(),
            Some(bounced_back.to_string()),
            None,
            None,
            Some(BOUNCED_ITEM_ID.to_string())
        )
    );
    // The batch's 250 payouts are out messages of one vault transaction.
    let payouts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages m JOIN transactions t ON t.hash = m.tx_hash \
         WHERE t.account = $1 AND m.direction = 'out' AND m.msg_kind = 'int'",
    )
    .bind(raw(&vault))
    .fetch_one(db.store.pool())
    .await
    .expect("payouts");
    assert_eq!(payouts, BATCH_ITEMS as i64);
    // The head the indexer saw is recorded with the checkpoint (the API's lag in blocks).
    let (checkpoint, head): (i64, Option<i64>) =
        sqlx::query_as("SELECT mc_seqno, head_seqno FROM checkpoint")
            .fetch_one(db.store.pool())
            .await
            .expect("checkpoint");
    let head = head.expect("the head is recorded");
    let chain_head = i64::from(devnet.node().lock().last_master().expect("head").id.seqno);
    assert!(
        checkpoint <= head && head <= chain_head,
        "checkpoint {checkpoint}, recorded head {head}, chain head {chain_head}"
    );
    // Every watched account's latest state (balance and data cell) equals the devnet's.
    for a in [&ton_escrow, &usd_escrow, &vault] {
        let (balance, data): (String, Option<Vec<u8>>) =
            sqlx::query_as("SELECT balance::text, data FROM account_states WHERE address = $1")
                .bind(raw(a))
                .fetch_one(db.store.pool())
                .await
                .expect("state");
        let account = devnet
            .account(a)
            .expect("account")
            .load_account()
            .expect("load")
            .expect("deployed");
        assert_eq!(
            balance,
            account.balance.tokens.into_inner().to_string(),
            "{a}"
        );
        let tycho_types::models::AccountState::Active(init) = &account.state else {
            panic!("{a} is not active");
        };
        let want = init.data.as_ref().map(tycho_types::boc::Boc::encode);
        assert!(want.is_some(), "{a} has data");
        assert_eq!(data, want, "{a}: the indexed data cell is the devnet's");
    }
}
