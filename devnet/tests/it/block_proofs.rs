//! Block proofs through the liteserver, checked with labelmint-abi's verifier (TON's rules):
//! from the init block (the zero state, as the global config names it) to the last block,
//! across a key block where the validator set changes; forged answers fail.

use adnl::AdnlPeer;
use futures::{SinkExt, StreamExt};
use labelmint_abi::proof::{
    BlockLinkData, ProofError, SignatureSetData, check_block_signatures, check_chain,
    mc_validator_subset, node_id_short,
};
use ton_liteapi::tl::adnl::Message;
use ton_liteapi::tl::common::{BlockIdExt, BlockLink, Int256};
use ton_liteapi::tl::request::{GetShardBlockProof, LiteQuery, Request, WrappedRequest};
use ton_liteapi::tl::response::Response;
use tycho_types::boc::Boc;
use tycho_types::cell::HashBytes;
use tycho_types::models::{Block, BlockId, ShardIdent};

use crate::support::{client, devnet};

fn id(b: &BlockIdExt) -> BlockId {
    BlockId {
        shard: ShardIdent::new(b.workchain, b.shard).expect("shard"),
        seqno: b.seqno,
        root_hash: HashBytes(b.root_hash.0),
        file_hash: HashBytes(b.file_hash.0),
    }
}

fn link(l: &BlockLink) -> BlockLinkData {
    match l {
        BlockLink::BlockLinkForward {
            to_key_block,
            from,
            to,
            dest_proof,
            config_proof,
            signatures,
        } => BlockLinkData::Forward {
            to_key_block: *to_key_block,
            from: id(from),
            to: id(to),
            dest_proof: dest_proof.clone(),
            config_proof: config_proof.clone(),
            signatures: SignatureSetData {
                validator_set_hash: signatures.validator_set_hash,
                catchain_seqno: signatures.catchain_seqno,
                signatures: signatures
                    .signatures
                    .iter()
                    .map(|s| {
                        let sig: [u8; 64] = s.signature.as_slice().try_into().expect("64 bytes");
                        (s.node_id_short.0, sig)
                    })
                    .collect(),
            },
        },
        BlockLink::BlockLinkBack {
            to_key_block,
            from,
            to,
            dest_proof,
            proof,
            state_proof,
        } => BlockLinkData::Back {
            to_key_block: *to_key_block,
            from: id(from),
            to: id(to),
            dest_proof: dest_proof.clone(),
            proof: proof.clone(),
            state_proof: state_proof.clone(),
        },
    }
}

#[tokio::test]
async fn a_proof_from_the_init_block_crosses_a_validator_set_change_and_verifies() {
    let devnet = devnet().await; // 0: zero state, 1: genesis key block
    devnet.produce_block().unwrap(); // 2
    devnet.rotate_validators("block proof test set", 7).unwrap();
    devnet.produce_block().unwrap(); // 3: key block
    devnet.produce_block().unwrap(); // 4
    devnet.produce_block().unwrap(); // 5
    let mut c = client(&devnet).await;
    let info = c.get_masterchain_info().await.unwrap();
    assert_eq!(info.last.seqno, 5);
    let zero = BlockIdExt {
        workchain: -1,
        shard: ShardIdent::MASTERCHAIN.prefix(),
        seqno: 0,
        root_hash: info.init.root_hash.clone(),
        file_hash: info.init.file_hash.clone(),
    };
    // The global config's init_block: the genesis key block.
    let config = devnet.global_config().unwrap();
    let init_json = &config["validator"]["init_block"];
    assert_eq!(init_json["seqno"], 1);
    let init =
        labelmint_devnet::liteapi::convert::block_id_ext(&devnet.node().lock().master.blocks[1].id);
    assert!(devnet.node().lock().master.blocks[1].key_block);

    // From the zero state (TON's checker starts from its McStateExtra config): forward 0 -> 1,
    // 1 -> 3, 3 -> 5.
    let proof = c
        .get_block_proof(zero.clone(), Some(info.last.clone()), false, false)
        .await
        .unwrap();
    assert!(proof.complete);
    let links: Vec<BlockLinkData> = proof.steps.iter().map(link).collect();
    assert_eq!(links.len(), 3);
    check_chain(&id(&zero), &links).expect("the chain from the zero state verifies");

    // From the init block to the last one: forward 1 -> 3 (signed by the first set), then
    // forward 3 -> 5 (signed by the new set named in key block 3's config).
    let proof = c
        .get_block_proof(init.clone(), Some(info.last.clone()), false, false)
        .await
        .unwrap();
    assert!(proof.complete);
    assert_eq!(proof.to, info.last);
    let links: Vec<BlockLinkData> = proof.steps.iter().map(link).collect();
    let kinds: Vec<(bool, u32, u32)> = links
        .iter()
        .map(|l| {
            let (f, t) = l.ends();
            (matches!(l, BlockLinkData::Forward { .. }), f.seqno, t.seqno)
        })
        .collect();
    assert_eq!(kinds, vec![(true, 1, 3), (true, 3, 5)]);
    let verified = check_chain(&id(&init), &links).expect("the chain verifies");
    assert_eq!(verified.to, id(&info.last));
    assert_eq!(verified.last_key_block.map(|b| b.seqno), Some(3));

    // Without a target: to the last block.
    let proof = c
        .get_block_proof(init.clone(), None, false, false)
        .await
        .unwrap();
    assert!(proof.complete && proof.to == info.last);

    // Backwards, from the last block to block 2: one back link (TON links straight back to an
    // older target); the proofs show block 5's state listing block 2 in its prev_blocks.
    let mc1 = c
        .lookup_block(
            (),
            ton_liteapi::tl::common::BlockId {
                workchain: -1,
                shard: ShardIdent::MASTERCHAIN.prefix(),
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
    let back = c
        .get_block_proof(info.last.clone(), Some(mc1.id.clone()), false, false)
        .await
        .unwrap();
    assert!(back.complete);
    let back_links: Vec<BlockLinkData> = back.steps.iter().map(link).collect();
    let ends: Vec<(u32, u32)> = back_links
        .iter()
        .map(|l| (l.ends().0.seqno, l.ends().1.seqno))
        .collect();
    assert_eq!(ends, vec![(5, 2)]);
    let verified = check_chain(&id(&info.last), &back_links).expect("back links verify");
    assert_eq!(verified.to.seqno, 2);

    // A block in the middle, from the init block: forward to key block 3, back to 2.
    let mid = c
        .get_block_proof(init.clone(), Some(mc1.id.clone()), false, false)
        .await
        .unwrap();
    let mid_links: Vec<BlockLinkData> = mid.steps.iter().map(link).collect();
    check_chain(&id(&init), &mid_links).expect("forward then back verifies");
    assert_eq!(mid.to, mc1.id);

    // Forgeries: a flipped signature, a signature set missing signers, a claimed key flag.
    let mut forged = links.clone();
    if let BlockLinkData::Forward { signatures, .. } = &mut forged[1] {
        signatures.signatures[0].1[5] ^= 1;
    }
    assert!(matches!(
        check_chain(&id(&init), &forged),
        Err(ProofError::BadSignature { .. })
    ));
    let mut forged = links.clone();
    if let BlockLinkData::Forward { signatures, .. } = &mut forged[1] {
        signatures.signatures.truncate(4); // 4 of 7: not more than 2/3
    }
    assert!(matches!(
        check_chain(&id(&init), &forged),
        Err(ProofError::NotEnoughWeight { .. })
    ));
    let mut forged = links.clone();
    if let BlockLinkData::Forward { to_key_block, .. } = &mut forged[1] {
        *to_key_block = true;
    }
    assert!(check_chain(&id(&init), &forged).is_err());
    // The second link does not start where a forged first one ends.
    assert!(check_chain(&id(&info.last), &links).is_err());
}

#[tokio::test]
async fn every_block_is_signed_by_more_than_two_thirds_of_the_published_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = labelmint_devnet::Config::test();
    config.state_dir = Some(dir.path().to_path_buf());
    let devnet = labelmint_devnet::spawn(config).await.unwrap();
    for _ in 0..3 {
        devnet.produce_block().unwrap();
    }
    // validators.json publishes the keys; param 34 of the zero state lists the same ones.
    let published: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("validators.json")).unwrap())
            .unwrap();
    let keys: Vec<[u8; 32]> = published["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let k = hex::decode(v["public_key"].as_str().unwrap()).unwrap();
            assert_eq!(
                v["node_id_short"].as_str().unwrap(),
                hex::encode(node_id_short(&k.clone().try_into().unwrap()))
            );
            k.try_into().unwrap()
        })
        .collect();
    assert_eq!(keys.len(), 4);
    let chain = devnet.node().lock();
    let zero = labelmint_devnet::engine::mc_extra_of(&chain.master.blocks[0].state).unwrap();
    let set = zero.config.params.get_current_validator_set().unwrap();
    let listed: Vec<[u8; 32]> = set.list.iter().map(|v| v.public_key.0).collect();
    assert_eq!(listed, keys);
    let cc = zero.config.params.get_catchain_config().unwrap();
    for seqno in 1..=3u32 {
        let b = &chain.master.blocks[seqno as usize];
        let info = b.root.parse::<Block>().unwrap().load_info().unwrap();
        let subset = mc_validator_subset(&set, &cc, info.gen_catchain_seqno).unwrap();
        let sigs: Vec<([u8; 32], [u8; 64])> = b
            .signatures
            .as_ref()
            .unwrap()
            .signatures
            .values()
            .map(|s| {
                let s = s.unwrap();
                (s.node_id_short.0, s.signature.0)
            })
            .collect();
        let weight = check_block_signatures(
            &subset,
            &b.id.root_hash.0,
            &b.id.file_hash.0,
            sigs.iter().map(|(n, s)| (n, s)),
        )
        .unwrap();
        assert_eq!(weight, set.total_weight);
        // Three of four signatures carry more than 2/3 of the weight; two do not.
        assert!(
            check_block_signatures(
                &subset,
                &b.id.root_hash.0,
                &b.id.file_hash.0,
                sigs[..3].iter().map(|(n, s)| (n, s)),
            )
            .is_ok()
        );
        assert!(matches!(
            check_block_signatures(
                &subset,
                &b.id.root_hash.0,
                &b.id.file_hash.0,
                sigs[..2].iter().map(|(n, s)| (n, s)),
            ),
            Err(ProofError::NotEnoughWeight { .. })
        ));
        // A signature over another block does not count.
        let other = &chain.master.blocks[seqno as usize - 1].id;
        assert!(
            check_block_signatures(
                &subset,
                &other.root_hash.0,
                &other.file_hash.0,
                sigs.iter().map(|(n, s)| (n, s)),
            )
            .is_err()
        );
    }
}

#[tokio::test]
async fn the_shard_block_proof_names_the_basechain_block_in_a_masterchain_block() {
    let devnet = devnet().await;
    let produced = devnet.produce_block().unwrap();
    let shard_id = labelmint_devnet::liteapi::convert::block_id_ext(&produced.shard);
    let mut peer = AdnlPeer::connect(devnet.public_key(), devnet.addr())
        .await
        .unwrap();
    let frame = tl_proto::serialize(Message::Query {
        query_id: Int256([3; 32]),
        query: LiteQuery {
            wrapped_request: WrappedRequest {
                wait_masterchain_seqno: None,
                request: Request::GetShardBlockProof(GetShardBlockProof {
                    id: shard_id.clone(),
                }),
            },
        },
    });
    peer.send(frame.into()).await.unwrap();
    let answer = peer.next().await.expect("an answer").unwrap();
    let Message::Answer {
        answer: Response::ShardBlockProof(proof),
        ..
    } = tl_proto::deserialize::<Message>(&answer).unwrap()
    else {
        panic!("not a shardBlockProof");
    };
    assert_eq!(id(&proof.masterchain_id), produced.master);
    assert_eq!(proof.links.len(), 1);
    assert_eq!(proof.links[0].id, shard_id);
    // The proof is the masterchain block (its root hash) whose shard hashes hold the block.
    let end_lt = labelmint_abi::proof::check_shard_block_link(
        &produced.master,
        &produced.shard,
        &proof.links[0].proof,
    )
    .expect("the shard block link verifies");
    assert!(end_lt > 0);
    // Another shard block is not in it.
    let mut other = produced.shard;
    other.file_hash = HashBytes([0xab; 32]);
    assert!(
        labelmint_abi::proof::check_shard_block_link(
            &produced.master,
            &other,
            &proof.links[0].proof
        )
        .is_err()
    );
    // Its transactions are pruned: the proof is small.
    assert!(
        proof.links[0].proof.len() < 2_000,
        "{}",
        proof.links[0].proof.len()
    );
    let _ = Boc::decode(&proof.links[0].proof).unwrap();
}

async fn raw(devnet: &labelmint_devnet::Devnet, request: Request) -> Response {
    let mut peer = AdnlPeer::connect(devnet.public_key(), devnet.addr())
        .await
        .unwrap();
    let frame = tl_proto::serialize(Message::Query {
        query_id: Int256([5; 32]),
        query: LiteQuery {
            wrapped_request: WrappedRequest {
                wait_masterchain_seqno: None,
                request,
            },
        },
    });
    peer.send(frame.into()).await.unwrap();
    let answer = peer.next().await.expect("an answer").unwrap();
    match tl_proto::deserialize::<Message>(&answer).unwrap() {
        Message::Answer { answer, .. } => answer,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn lookup_block_with_proof_links_a_shard_block_to_the_clients_masterchain_block() {
    use tycho_types::merkle::MerkleUpdate;
    use tycho_types::models::McStateExtra;
    let devnet = devnet().await;
    let produced = devnet.produce_block().unwrap(); // 2
    devnet.produce_block().unwrap(); // 3
    let last = devnet.produce_block().unwrap().master; // 4
    let request = |lt: Option<u64>| {
        Request::LookupBlockWithProof(ton_liteapi::tl::request::LookupBlockWithProof {
            mode: (),
            id: ton_liteapi::tl::common::BlockId {
                workchain: 0,
                shard: ShardIdent::BASECHAIN.prefix(),
                seqno: produced.shard.seqno,
            },
            mc_block_id: labelmint_devnet::liteapi::convert::block_id_ext(&last),
            seqno: lt.is_none().then_some(()),
            lt,
            utime: None,
            with_state_update: None,
            with_value_flow: None,
            with_extra: None,
            with_shard_hashes: None,
            with_prev_blk_signatures: None,
        })
    };
    let Response::LookupBlockResult(r) = raw(&devnet, request(None)).await else {
        panic!("not a lookupBlockResult");
    };
    assert_eq!(id(&r.id), produced.shard);
    assert_eq!(id(&r.mc_block_id), produced.master);
    // The header proof is the block's.
    let header = labelmint_abi::proof::virtual_root(&r.header).unwrap();
    assert_eq!(header.repr_hash(), &produced.shard.root_hash);
    assert!(r.prev_header.is_empty());
    // The registering masterchain block names the shard block.
    assert_eq!(r.shard_links.len(), 1);
    labelmint_abi::proof::check_shard_block_link(
        &produced.master,
        &produced.shard,
        &r.shard_links[0].proof,
    )
    .unwrap();
    // The client's block (4) commits to a state whose prev_blocks hold the registering one (2).
    let client = labelmint_abi::proof::virtual_root(&r.client_mc_state_proof).unwrap();
    assert_eq!(client.repr_hash(), &last.root_hash);
    let new_hash = client
        .reference_cloned(2)
        .unwrap()
        .parse_exotic::<MerkleUpdate>()
        .unwrap()
        .new_hash;
    let state = labelmint_abi::proof::virtual_root(&r.mc_block_proof).unwrap();
    assert_eq!(state.repr_hash(), &new_hash);
    let extra = state
        .reference_cloned(3)
        .unwrap()
        .parse::<McStateExtra>()
        .unwrap();
    let (_, entry) = extra
        .prev_blocks
        .get(produced.master.seqno)
        .unwrap()
        .unwrap();
    assert_eq!(entry.block_ref.root_hash, produced.master.root_hash);

    // By lt: the previous block's header comes too.
    let info = header
        .reference_cloned(0)
        .unwrap()
        .parse::<tycho_types::models::BlockInfo>()
        .unwrap();
    let Response::LookupBlockResult(r) = raw(&devnet, request(Some(info.start_lt))).await else {
        panic!("not a lookupBlockResult");
    };
    assert_eq!(id(&r.id), produced.shard);
    let prev = labelmint_abi::proof::virtual_root(&r.prev_header).unwrap();
    assert_eq!(
        prev.repr_hash(),
        &devnet.node().lock().base.blocks[1].id.root_hash
    );
}
