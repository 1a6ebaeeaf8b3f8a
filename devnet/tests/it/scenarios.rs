//! Chain scenarios: transfers, a contract deploy and deposit, a bounce, a rejected external.

use std::time::Duration;

use labelmint_abi::Layout;
use labelmint_abi::escrow::{EscrowDeploy, EscrowDeposit, EscrowParams, EscrowRoutes};
use labelmint_abi::state_init::{escrow_address, escrow_state_init};
use labelmint_devnet::wallet::Transfer;
use labelmint_devnet::{Config, spawn};
use ton_liteapi::tl::common::Int256;
use ton_liteapi::types::LiteError;
use tycho_types::boc::Boc;
use tycho_types::cell::{CellBuilder, HashBytes, Load};
use tycho_types::models::{MsgInfo, StdAddr, Transaction};
use tycho_vm::{Stack, VmGetterMethodId};

use crate::support::{TON, account, account_id, balance, client, devnet, last_mc, roots};

fn transfer(to: &StdAddr, amount: u128, bounce: bool) -> Transfer {
    Transfer {
        to: to.clone(),
        amount,
        bounce,
        body: None,
        init: None,
        mode: 3,
    }
}

#[tokio::test]
async fn faucet_transfer_to_a_new_address_is_visible() {
    let devnet = devnet().await;
    let mut c = client(&devnet).await;
    let to = StdAddr::new(0, HashBytes([0x21; 32]));
    let msg = devnet
        .faucet_message(&[transfer(&to, 3 * TON, false)])
        .unwrap();
    assert_eq!(c.send_message(msg).await.unwrap(), 1);
    devnet.settle(4).unwrap();

    // getAccountState: an uninit account holding exactly what was sent.
    assert_eq!(balance(&mut c, &to).await, 3 * TON);

    // listBlockTransactions of the shard block registered by masterchain block 2 (the first
    // after the genesis key block).
    let mc1 = c
        .lookup_block(
            (),
            ton_liteapi::tl::common::BlockId {
                workchain: -1,
                shard: 1 << 63,
                seqno: 2,
            },
            Some(()),
            None,
            None,
            false,
            false,
            false,
            false,
            false,
        )
        .await
        .unwrap()
        .id;
    let shards = c.get_all_shards_info(mc1).await.unwrap();
    let hashes = Boc::decode(&shards.data)
        .unwrap()
        .parse::<tycho_types::models::ShardHashes>()
        .unwrap();
    let (ident, descr) = hashes.iter().next().unwrap().unwrap();
    let shard_id = ton_liteapi::tl::common::BlockIdExt {
        workchain: ident.workchain(),
        shard: ident.prefix(),
        seqno: descr.seqno,
        root_hash: Int256(descr.root_hash.0),
        file_hash: Int256(descr.file_hash.0),
    };
    let list = c
        .list_block_transactions(shard_id.clone(), 100, None, false, false)
        .await
        .unwrap();
    assert!(!list.incomplete);
    let accounts: Vec<_> = list
        .ids
        .iter()
        .map(|t| t.account.clone().unwrap())
        .collect();
    assert!(accounts.contains(&Int256(to.address.0)));
    assert!(accounts.contains(&Int256(devnet.genesis().faucet.address.0)));
    // Paging: one at a time with `after` gives the same ids.
    let first = c
        .list_block_transactions(shard_id.clone(), 1, None, false, false)
        .await
        .unwrap();
    assert!(first.incomplete);
    let after = ton_liteapi::tl::common::TransactionId3 {
        account: first.ids[0].account.clone().unwrap(),
        lt: first.ids[0].lt.unwrap(),
    };
    let rest = c
        .list_block_transactions(shard_id.clone(), 10, Some(after), false, false)
        .await
        .unwrap();
    assert_eq!(rest.ids.len() + 1, list.ids.len());

    // getTransactions from the recipient's transaction; getOneTransaction agrees.
    let tx_id = list
        .ids
        .iter()
        .find(|t| t.account == Some(Int256(to.address.0)))
        .unwrap();
    let txs = c
        .get_transactions(
            10,
            account_id(&to),
            tx_id.lt.unwrap(),
            tx_id.hash.clone().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(txs.ids, vec![shard_id.clone()]);
    let cells = roots(&txs.transactions);
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0].repr_hash().0, tx_id.hash.clone().unwrap().0);
    let tx = cells[0].parse::<Transaction>().unwrap();
    let in_msg = tx.load_in_msg().unwrap().unwrap();
    match in_msg.info {
        MsgInfo::Int(i) => assert_eq!(i.value.tokens.into_inner(), 3 * TON),
        _ => panic!("expected an internal message"),
    }
    let one = c
        .get_one_transaction(shard_id, account_id(&to), tx_id.lt.unwrap())
        .await
        .unwrap();
    assert_eq!(
        Boc::decode(&one.transaction).unwrap().repr_hash(),
        cells[0].repr_hash()
    );

    // The faucet's history: its external transaction.
    let faucet = devnet.genesis().faucet.clone();
    let faucet_tx = list
        .ids
        .iter()
        .find(|t| t.account == Some(Int256(faucet.address.0)))
        .unwrap();
    let history = c
        .get_transactions(
            10,
            account_id(&faucet),
            faucet_tx.lt.unwrap(),
            faucet_tx.hash.clone().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(roots(&history.transactions).len(), 1);
}

fn escrow_params(client: &StdAddr) -> EscrowParams {
    EscrowParams {
        project_id: 42,
        signer_key: [9; 32],
        deadline: 2_000_000_000,
        fee_bps: 250,
        client: client.clone(),
        jetton_master: None,
        routes: EscrowRoutes {
            vault: StdAddr::new(0, HashBytes([0x0a; 32])),
            treasury: StdAddr::new(0, HashBytes([0x0b; 32])),
        },
    }
}

#[tokio::test]
async fn escrow_deploy_and_deposit_run_the_real_contract() {
    let devnet = devnet().await;
    let mut c = client(&devnet).await;
    let faucet = devnet.genesis().faucet.clone();
    let params = escrow_params(&faucet);
    let escrow = escrow_address(&params).unwrap();

    let deploy = Transfer {
        to: escrow.clone(),
        amount: TON,
        bounce: false,
        body: Some(EscrowDeploy { query_id: 1 }.build().unwrap()),
        init: Some(escrow_state_init(&params).unwrap()),
        mode: 3,
    };
    c.send_message(devnet.faucet_message(&[deploy]).unwrap())
        .await
        .unwrap();
    devnet.settle(4).unwrap();
    let deployed = account(&mut c, &escrow).await.expect("escrow exists");
    assert!(matches!(
        deployed.state,
        tycho_types::models::AccountState::Active(_)
    ));

    let deposit = Transfer {
        to: escrow.clone(),
        amount: 5 * TON + TON / 10,
        bounce: true,
        body: Some(
            EscrowDeposit {
                query_id: 2,
                amount: 5 * TON,
            }
            .build()
            .unwrap(),
        ),
        init: None,
        mode: 3,
    };
    c.send_message(devnet.faucet_message(&[deposit]).unwrap())
        .await
        .unwrap();
    devnet.settle(4).unwrap();

    // get_budget through runSmcMethod (VmStack BOC in and out).
    let mc = last_mc(&mut c).await;
    let empty = Boc::encode(CellBuilder::build_from(&Stack { items: Vec::new() }).unwrap());
    let method = u64::from("get_budget".as_getter_method_id());
    let result = c
        .run_smc_method(4, mc, account_id(&escrow), method, empty)
        .await
        .unwrap();
    assert_eq!(result.exit_code, 0);
    let stack_cell = Boc::decode(result.result.unwrap()).unwrap();
    let stack = Stack::load_from(&mut stack_cell.as_slice().unwrap()).unwrap();
    let budget = stack.items[0].as_int().unwrap().to_string();
    assert_eq!(budget, (5 * TON).to_string());

    // The deposit transaction emitted its event as an external-out message.
    let chain = devnet.node().lock();
    let history = &chain.base.history[&escrow.address];
    let (seqno, _, last) = history.values().last().unwrap();
    let block = chain.base.block(*seqno).unwrap();
    let extra = block
        .root
        .parse::<tycho_types::models::Block>()
        .unwrap()
        .load_extra()
        .unwrap();
    let exported = extra
        .load_out_msg_description()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Ok((_, _, tycho_types::models::OutMsg::External(_)))))
        .count();
    assert_eq!(exported, 1, "the event is in the block's OutMsgDescr");
    let tx = last.parse::<Transaction>().unwrap();
    let ext_outs = tx
        .out_msgs
        .values()
        .filter_map(Result::ok)
        .filter(|m| matches!(m.parse::<MsgInfo>(), Ok(MsgInfo::ExtOut(_))))
        .count();
    assert_eq!(ext_outs, 1);
}

#[tokio::test]
async fn a_bounceable_transfer_to_nobody_bounces_back() {
    let devnet = devnet().await;
    let mut c = client(&devnet).await;
    let faucet = devnet.genesis().faucet.clone();
    let nobody = StdAddr::new(0, HashBytes([0x77; 32]));
    let before = balance(&mut c, &faucet).await;
    c.send_message(
        devnet
            .faucet_message(&[transfer(&nobody, 2 * TON, true)])
            .unwrap(),
    )
    .await
    .unwrap();
    devnet.settle(4).unwrap();
    assert_eq!(balance(&mut c, &nobody).await, 0);
    let after = balance(&mut c, &faucet).await;
    // Got the 2 TON back minus fees.
    assert!(before - after < TON / 10, "{before} -> {after}");

    let chain = devnet.node().lock();
    let history = &chain.base.history[&faucet.address];
    assert_eq!(history.len(), 2);
    let (_, _, last) = history.values().last().unwrap();
    let tx = last.parse::<Transaction>().unwrap();
    match tx.load_in_msg().unwrap().unwrap().info {
        MsgInfo::Int(i) => assert!(i.bounced),
        _ => panic!("expected the bounce"),
    }
    // lt order: the bounce comes after the failed delivery, which comes after the send.
    let nobody_lt = chain.base.history[&nobody.address]
        .keys()
        .next()
        .copied()
        .unwrap();
    let first_lt = history.keys().next().copied().unwrap();
    assert!(first_lt < nobody_lt && nobody_lt < tx.lt);
}

#[tokio::test]
async fn a_rejected_external_returns_an_error_and_blocks_keep_coming() {
    let devnet = spawn(Config {
        block_time: Some(Duration::from_millis(50)),
        ..Config::test()
    })
    .await
    .unwrap();
    let mut c = client(&devnet).await;

    // A bad signature: a message signed by another key to the faucet's address.
    let other = labelmint_devnet::wallet::WalletV4R2::from_seed([1; 32]);
    let body = other
        .external_transfer(0, u32::MAX, &[], false)
        .unwrap()
        .reference_cloned(0)
        .unwrap();
    let forged =
        labelmint_devnet::wallet::external_message(&devnet.genesis().faucet, None, body).unwrap();
    match c.send_message(Boc::encode(&forged)).await {
        Err(LiteError::ServerError(e)) => {
            assert!(e.message.to_string().contains("rejected"), "{e:?}")
        }
        other => panic!("expected liteServer.error, got {other:?}"),
    }
    // Garbage and an internal message are refused too.
    assert!(matches!(
        c.send_message(vec![0xde, 0xad]).await,
        Err(LiteError::ServerError(_))
    ));

    let start = last_mc(&mut c).await.seqno;
    let mut c = c.wait_masterchain_seqno(start + 3);
    let later = c.get_masterchain_info().await.unwrap().last.seqno;
    assert!(later >= start + 3);
    assert_eq!(devnet.node().lock().pending_externals(), 0);
}

#[tokio::test]
async fn stop_and_start_continue_the_same_chain() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        state_dir: Some(dir.path().to_path_buf()),
        ..Config::test()
    };
    let to = StdAddr::new(0, HashBytes([0x31; 32]));
    let (seqno, mc_hash, tx_lt, tx_hash) = {
        let devnet = spawn(config.clone()).await.unwrap();
        devnet
            .faucet_send(&[transfer(&to, 4 * TON, false)])
            .unwrap();
        devnet.settle(4).unwrap();
        devnet.produce_block().unwrap();
        let chain = devnet.node().lock();
        let (lt, (_, hash, _)) = chain.base.history[&to.address].iter().next().unwrap();
        let last = chain.last_master().unwrap();
        (last.id.seqno, last.id.root_hash, *lt, *hash)
    };
    assert!(dir.path().join("global-config.json").exists());
    assert!(dir.path().join("faucet.json").exists());

    let devnet = spawn(config).await.unwrap();
    let mut c = client(&devnet).await;
    let info = c.get_masterchain_info().await.unwrap();
    assert_eq!(info.last.seqno, seqno);
    assert_eq!(info.last.root_hash.0, mc_hash.0);
    assert_eq!(balance(&mut c, &to).await, 4 * TON);
    // History survived: the old transaction is served.
    let txs = c
        .get_transactions(1, account_id(&to), tx_lt, Int256(tx_hash.0))
        .await
        .unwrap();
    assert_eq!(roots(&txs.transactions).len(), 1);
    // And the chain goes on from there, the faucet's seqno included.
    devnet.faucet_send(&[transfer(&to, TON, false)]).unwrap();
    devnet.settle(4).unwrap();
    assert_eq!(balance(&mut c, &to).await, 5 * TON);
    assert!(devnet.node().lock().last_master().unwrap().id.seqno > seqno);
}

#[tokio::test]
async fn the_faucet_mints_test_usd_to_a_new_holder() {
    use labelmint_abi::jetton::JettonWalletStorage;
    let devnet = devnet().await;
    let mut c = client(&devnet).await;
    let holder = StdAddr::new(0, HashBytes([0x44; 32]));
    devnet.faucet_usd(&holder, 25_000_000).unwrap();
    devnet.settle(6).unwrap();
    let wallet =
        labelmint_abi::state_init::jetton_wallet_address(&holder, &devnet.genesis().jetton_minter)
            .unwrap();
    let acc = account(&mut c, &wallet)
        .await
        .expect("jetton wallet deployed");
    let tycho_types::models::AccountState::Active(init) = acc.state else {
        panic!("jetton wallet not active");
    };
    let storage = JettonWalletStorage::parse(init.data.as_ref().unwrap()).unwrap();
    assert_eq!(storage.balance, 25_000_000);
    assert_eq!(storage.owner, holder);
    // The excess came back to the holder (the response address).
    assert!(balance(&mut c, &holder).await > 0);
}

#[tokio::test]
async fn the_faucet_command_funds_an_address_through_the_liteserver() {
    use labelmint_devnet::client::{FaucetAmount, faucet};
    let dir = tempfile::tempdir().unwrap();
    let devnet = spawn(Config {
        state_dir: Some(dir.path().to_path_buf()),
        block_time: Some(Duration::from_millis(50)),
        ..Config::test()
    })
    .await
    .unwrap();
    let mut c = client(&devnet).await;
    let to = StdAddr::new(0, HashBytes([0x52; 32]));
    faucet(dir.path(), &to, FaucetAmount::Ton(7 * TON))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while balance(&mut c, &to).await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "transfer never landed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(balance(&mut c, &to).await, 7 * TON);

    // The next one needs the next seqno: wait for the first to settle, then mint test USD.
    faucet(dir.path(), &to, FaucetAmount::Usd(1_000_000))
        .await
        .unwrap();
    let wallet =
        labelmint_abi::state_init::jetton_wallet_address(&to, &devnet.genesis().jetton_minter)
            .unwrap();
    while account(&mut c, &wallet).await.is_none() {
        assert!(std::time::Instant::now() < deadline, "mint never landed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Getters run with the chain's VM version (config param 8), like transactions: the test USD
/// minter's `get_wallet_address` uses a version-12 opcode (BTOS) and used to fail with exit code
/// 6 under tycho-vm's default getter version 11. The answer is the address labelmint-abi derives,
/// which the ABI vectors check against @ton/sandbox's own run of this getter's code.
#[tokio::test]
async fn the_minters_get_wallet_address_runs_with_the_chains_vm_version() {
    use tycho_vm::{OwnedCellSlice, RcStackValue};
    let devnet = devnet().await;
    let mut c = client(&devnet).await;
    devnet.settle(2).unwrap();
    let minter = devnet.genesis().jetton_minter.clone();
    let owner = StdAddr::new(0, HashBytes([0x57; 32]));
    let arg = CellBuilder::build_from(&owner).unwrap();
    let params = Stack {
        items: vec![RcStackValue::new_dyn_value(
            OwnedCellSlice::new_allow_exotic(arg),
        )],
    };
    let params = Boc::encode(CellBuilder::build_from(&params).unwrap());
    let mc = last_mc(&mut c).await;
    let method = u64::from("get_wallet_address".as_getter_method_id());
    let result = c
        .run_smc_method(4, mc, account_id(&minter), method, params)
        .await
        .unwrap();
    assert_eq!(result.exit_code, 0, "get_wallet_address must not fail");
    let stack_cell = Boc::decode(result.result.unwrap()).unwrap();
    let stack = Stack::load_from(&mut stack_cell.as_slice().unwrap()).unwrap();
    let slice = stack.items[0].as_cell_slice().expect("an address slice");
    let answered = StdAddr::load_from(&mut slice.apply()).unwrap();
    let derived = labelmint_abi::state_init::jetton_wallet_address(&owner, &minter).unwrap();
    assert_eq!(answered, derived);
    assert_eq!(
        labelmint_devnet::engine::getter::vm_version(devnet.node().lock().config()).unwrap(),
        labelmint_devnet::engine::getter::MAX_VM_VERSION
    );
}
