//! Bad input: random and mutated bytes into sendMessage and the request decoder, garbage on
//! the socket. Nothing panics, every input gets an answer, the chain keeps producing blocks.

use std::time::Instant;

use labelmint_devnet::wallet::Transfer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::AsyncWriteExt;
use ton_liteapi::tl::adnl::Message;
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;

use crate::support::{TON, client, devnet, last_mc};

const INPUTS: usize = 100_000;

/// Random bytes, or a valid input with a few bytes flipped, cut or extended.
fn mutate(rng: &mut StdRng, valid: &[u8]) -> Vec<u8> {
    match rng.gen_range(0..4) {
        0 => {
            let len = rng.gen_range(0..300);
            (0..len).map(|_| rng.r#gen()).collect()
        }
        1 => {
            let mut v = valid.to_vec();
            for _ in 0..rng.gen_range(1..4) {
                let i = rng.gen_range(0..v.len());
                v[i] ^= 1 << rng.gen_range(0..8);
            }
            v
        }
        2 => valid[..rng.gen_range(0..valid.len())].to_vec(),
        _ => {
            let mut v = valid.to_vec();
            v.extend((0..rng.gen_range(1..64)).map(|_| rng.r#gen::<u8>()));
            v
        }
    }
}

#[tokio::test]
async fn random_and_mutated_messages_are_refused_without_panic() {
    let devnet = devnet().await;
    let to = StdAddr::new(0, HashBytes([0x12; 32]));
    let valid = devnet
        .faucet_message(&[Transfer {
            to,
            amount: TON,
            bounce: false,
            body: None,
            init: None,
            mode: 3,
        }])
        .unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let started = Instant::now();
    for _ in 0..INPUTS {
        let input = mutate(&mut rng, &valid);
        let now = devnet.node().now();
        let _ = devnet.node().lock().submit_external(&input, now);
    }
    eprintln!("{INPUTS} sendMessage inputs in {:?}", started.elapsed());
    // A flipped bit in the signed body breaks the signature, elsewhere the BOC or the
    // address. Copies of the valid message (trailing bytes after a BOC are ignored) are one
    // pending message; an unsigned header field (import_fee) may still vary.
    let pending = devnet.node().lock().pending_externals();
    assert!((1..20).contains(&pending), "{pending} pending");
    let produced = devnet.produce_block().unwrap();
    assert_eq!(produced.master.seqno, 1);
    // Only one of them could spend seqno 0.
    assert_eq!(devnet.faucet_seqno().unwrap(), 1);
}

#[test]
fn random_and_mutated_requests_decode_or_fail_cleanly() {
    let valid = tl_proto::serialize(Message::Query {
        query_id: ton_liteapi::tl::common::Int256([1; 32]),
        query: ton_liteapi::tl::request::LiteQuery {
            wrapped_request: ton_liteapi::tl::request::WrappedRequest {
                wait_masterchain_seqno: None,
                request: ton_liteapi::tl::request::Request::GetMasterchainInfo,
            },
        },
    });
    let mut rng = StdRng::seed_from_u64(11);
    let mut decoded = 0;
    for _ in 0..INPUTS {
        let input = mutate(&mut rng, &valid);
        if tl_proto::deserialize::<Message>(&input).is_ok() {
            decoded += 1;
        }
    }
    assert!(decoded < INPUTS);
}

#[tokio::test]
async fn garbage_on_the_socket_closes_that_connection_only() {
    let devnet = devnet().await;
    let mut rng = StdRng::seed_from_u64(3);
    for len in [0usize, 1, 100, 256, 300, 5000] {
        let mut socket = tokio::net::TcpStream::connect(devnet.addr()).await.unwrap();
        let bytes: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
        let _ = socket.write_all(&bytes).await;
        let _ = socket.shutdown().await;
    }
    let mut c = client(&devnet).await;
    devnet.produce_block().unwrap();
    assert_eq!(last_mc(&mut c).await.seqno, 1);
}
