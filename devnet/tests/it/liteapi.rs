//! Each liteserver method the indexer needs first, through ton_liteapi's client.

use ton_liteapi::tl::common::BlockId as TlBlockId;
use ton_liteapi::types::LiteError;
use tycho_types::boc::Boc;
use tycho_types::models::{Block, BlockchainConfig, ShardHashes, ShardIdent};

use crate::support::{client, devnet, last_mc};

#[tokio::test]
async fn time_version_and_masterchain_info() {
    let devnet = devnet().await;
    let mut c = client(&devnet).await;
    let now = c.get_time().await.unwrap();
    assert!(now > 1_700_000_000);
    let v = c.get_version().await.unwrap();
    assert_eq!(v.version, 0x101);

    // A new devnet has its zero state (`init`) and its genesis key block (seqno 1).
    let info = c.get_masterchain_info().await.unwrap();
    assert_eq!(info.last.workchain, -1);
    assert_eq!(info.last.seqno, 1);
    let zero = devnet.node().lock().master.blocks[0].id;
    assert_eq!(info.init.root_hash.0, zero.root_hash.0);
    devnet.produce_block().unwrap();
    let ext = c.get_masterchain_info_ext(0).await.unwrap();
    assert_eq!(ext.last.seqno, 2);
    assert!(ext.last_utime <= ext.now);
}

#[tokio::test]
async fn blocks_walk_from_masterchain_to_shard() {
    let devnet = devnet().await;
    devnet.produce_block().unwrap();
    let mut c = client(&devnet).await;
    let mc = last_mc(&mut c).await;

    // getBlock returns a real Block whose hash is the id's root hash.
    let boc = c.get_block(mc.clone()).await.unwrap();
    let root = Boc::decode(&boc).unwrap();
    assert_eq!(root.repr_hash().0, mc.root_hash.0);
    let block = root.parse::<Block>().unwrap();
    let info = block.load_info().unwrap();
    assert_eq!(info.seqno, 2); // 1 is the genesis key block
    assert!(info.shard.is_masterchain());

    // getAllShardsInfo names the basechain block, which lookupBlock finds too.
    let shards = c.get_all_shards_info(mc.clone()).await.unwrap();
    let hashes = Boc::decode(&shards.data)
        .unwrap()
        .parse::<ShardHashes>()
        .unwrap();
    let (ident, descr) = hashes.iter().next().unwrap().unwrap();
    assert_eq!(ident, ShardIdent::BASECHAIN);
    assert_eq!(descr.seqno, 2);
    let by_seqno = c
        .lookup_block(
            (),
            TlBlockId {
                workchain: 0,
                shard: ShardIdent::BASECHAIN.prefix(),
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
        .unwrap();
    assert_eq!(by_seqno.id.root_hash.0, descr.root_hash.0);
    let by_lt = c
        .lookup_block(
            (),
            TlBlockId {
                workchain: 0,
                shard: ShardIdent::BASECHAIN.prefix(),
                seqno: 0,
            },
            None,
            Some(descr.start_lt),
            None,
            false,
            false,
            false,
            false,
            false,
        )
        .await
        .unwrap();
    assert_eq!(by_lt.id.seqno, 2);

    // The shard block refers back to the masterchain.
    let shard_boc = c.get_block(by_seqno.id.clone()).await.unwrap();
    let shard_block = Boc::decode(&shard_boc).unwrap().parse::<Block>().unwrap();
    let shard_info = shard_block.load_info().unwrap();
    let master_ref = shard_info.load_master_ref().unwrap().unwrap();
    assert_eq!(master_ref.seqno, 1);

    // getBlockHeader answers with a Merkle proof of the header.
    let header = c
        .get_block_header(mc.clone(), false, false, false, false, false)
        .await
        .unwrap();
    assert!(!header.is_empty());
}

#[tokio::test]
async fn config_params_and_all() {
    let devnet = devnet().await;
    let mut c = client(&devnet).await;
    let mc = last_mc(&mut c).await;
    let some = c
        .get_config_params(
            mc.clone(),
            vec![19, 20],
            false,
            false,
            false,
            false,
            false,
            false,
            false,
            false,
            false,
            false,
            false,
        )
        .await
        .unwrap();
    // config_proof is a Merkle proof of the mc state: ConfigParams in McStateExtra, the asked
    // params kept, the others pruned (tests/it/proofs.rs checks the hashes).
    let config = proved_config(&some.config_proof);
    assert!(
        config
            .params
            .get_raw_cell(19)
            .unwrap()
            .unwrap()
            .as_slice()
            .is_ok()
    );
    assert!(
        config.params.get_raw_cell(12).is_err_and(|_| true) || {
            let c12 = config.params.get_raw_cell(12).unwrap().unwrap();
            c12.as_slice().is_err()
        }
    );
    let all = c
        .get_config_all(
            mc, false, false, false, false, false, false, false, false, false, false, false,
        )
        .await
        .unwrap();
    let config = proved_config(&all.config_proof);
    assert!(
        config
            .params
            .get_raw_cell(12)
            .unwrap()
            .unwrap()
            .as_slice()
            .is_ok()
    );
}

/// The config inside a config_proof (a Merkle proof of the masterchain state).
fn proved_config(boc: &[u8]) -> BlockchainConfig {
    let proof = Boc::decode(boc)
        .unwrap()
        .parse_exotic::<tycho_types::merkle::MerkleProof>()
        .unwrap();
    let state = proof
        .cell
        .as_ref()
        .virtualize()
        .parse::<tycho_types::models::ShardStateUnsplit>()
        .unwrap();
    state.load_custom().unwrap().unwrap().config
}

#[tokio::test]
async fn unsupported_and_unknown_answer_errors() {
    let devnet = devnet().await;
    let mut c = client(&devnet).await;
    let mc =
        labelmint_devnet::liteapi::convert::block_id_ext(&devnet.node().lock().master.blocks[0].id);
    match c.get_validator_stats(mc.clone(), 10, None, None).await {
        Err(LiteError::ServerError(e)) => {
            assert!(e.message.to_string().contains("not supported"), "{e:?}")
        }
        other => panic!("expected liteServer.error, got {other:?}"),
    }
    // Seqno 0 is the zero state: getState serves it, getBlock explains.
    let zero = c.get_state(mc.clone()).await.unwrap();
    assert_eq!(zero.root_hash.0, mc.root_hash.0);
    match c.get_block(mc.clone()).await {
        Err(LiteError::ServerError(e)) => {
            assert!(e.message.to_string().contains("zero state"), "{e:?}")
        }
        other => panic!("expected liteServer.error, got {other:?}"),
    }
    let mut unknown = mc.clone();
    unknown.seqno = 999;
    match c.get_block(unknown).await {
        Err(LiteError::ServerError(e)) => assert_eq!(e.code, 651, "{e:?}"),
        other => panic!("expected liteServer.error, got {other:?}"),
    }
    // The connection still works.
    assert!(c.get_time().await.is_ok());
    assert!(c.get_libraries(Vec::new()).await.unwrap().is_empty());
}

#[tokio::test]
async fn shard_info_names_the_basechain_block() {
    let devnet = devnet().await;
    devnet.produce_block().unwrap();
    let mut c = client(&devnet).await;
    let mc = last_mc(&mut c).await;
    let info = c
        .get_shard_info(mc, 0, ShardIdent::BASECHAIN.prefix(), true)
        .await
        .unwrap();
    assert_eq!(info.shardblk.workchain, 0);
    assert_eq!(info.shardblk.seqno, 2);
    // The shard tree's leaf, as TON sends it: bt_leaf$0 then the ShardDescr.
    let leaf = Boc::decode(&info.shard_descr).unwrap();
    let mut slice = leaf.as_slice().unwrap();
    assert!(!slice.load_bit().unwrap());
    let descr =
        <tycho_types::models::ShardDescription as tycho_types::cell::Load>::load_from(&mut slice)
            .unwrap();
    assert_eq!(descr.root_hash.0, info.shardblk.root_hash.0);
}

#[tokio::test]
async fn global_config_is_what_liteclients_load() {
    let devnet = devnet().await;
    let config = devnet.global_config().unwrap();
    let ls = &config["liteservers"][0];
    assert_eq!(ls["ip"].as_i64().unwrap(), 2_130_706_433); // 127.0.0.1 as a signed int
    assert_eq!(
        ls["port"].as_u64().unwrap(),
        u64::from(devnet.addr().port())
    );
    assert_eq!(ls["id"]["@type"], "pub.ed25519");
    use base64::Engine as _;
    let key = base64::engine::general_purpose::STANDARD
        .decode(ls["id"]["key"].as_str().unwrap())
        .unwrap();
    assert_eq!(key, devnet.public_key());
    assert_eq!(config["validator"]["zero_state"]["workchain"], -1);
}

#[tokio::test]
async fn transactions_before_lt_zero_are_an_empty_list() {
    // As TON's liteserver: an account that never had a transaction asks from lt 0 and gets
    // an empty list, not an error.
    let devnet = devnet().await;
    let mut c = client(&devnet).await;
    let nobody = tycho_types::models::StdAddr::new(0, tycho_types::cell::HashBytes([5; 32]));
    let list = c
        .get_transactions(
            4,
            crate::support::account_id(&nobody),
            0,
            ton_liteapi::tl::common::Int256([0; 32]),
        )
        .await
        .unwrap();
    assert!(list.ids.is_empty());
    assert!(list.transactions.is_empty());
}
