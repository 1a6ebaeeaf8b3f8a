//! Bad input: random and mutated bytes into sendMessage and the request decoder, garbage on
//! the socket. Nothing panics, every input gets an answer, the chain keeps producing blocks.

use std::time::Instant;

use adnl::AdnlPeer;
use futures::{SinkExt, StreamExt};
use labelmint_devnet::liteapi::server::{Incoming, decode_frame};
use labelmint_devnet::wallet::Transfer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::AsyncWriteExt;
use ton_liteapi::tl::adnl::Message;
use ton_liteapi::tl::common::Int256;
use ton_liteapi::tl::request::{LiteQuery, Request, WrappedRequest};
use ton_liteapi::tl::response::Response;
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
    // address; trailing bytes after the BOC are refused. Only a flip in an unsigned header
    // field (import_fee) may still give a valid message: a few pending at most.
    let pending = devnet.node().lock().pending_externals();
    assert!((1..20).contains(&pending), "{pending} pending");
    let produced = devnet.produce_block().unwrap();
    assert_eq!(produced.master.seqno, 2); // after the genesis key block
    // Only one of them could spend seqno 0.
    assert_eq!(devnet.faucet_seqno().unwrap(), 1);
}

/// TL id of liteServer.getAccountState.
const GET_ACCOUNT_STATE: u32 = 0x6b89_0e25;

fn query_frame(query_id: [u8; 32], request: Request) -> Vec<u8> {
    tl_proto::serialize(Message::Query {
        query_id: Int256(query_id),
        query: LiteQuery {
            wrapped_request: WrappedRequest {
                wait_masterchain_seqno: None,
                request,
            },
        },
    })
}

#[test]
fn random_and_mutated_requests_decode_or_fail_cleanly() {
    let valid = query_frame([1; 32], Request::GetMasterchainInfo);
    let mut rng = StdRng::seed_from_u64(11);
    let (mut decoded, mut answered_with_error, mut refused) = (0, 0, 0);
    for _ in 0..INPUTS {
        let input = mutate(&mut rng, &valid);
        match decode_frame(&input) {
            Ok(Incoming::Query { .. } | Incoming::Ping { .. }) => decoded += 1,
            Ok(Incoming::Undecodable { query_id, .. }) => {
                // Answered with liteServer.error, under the query id the client sent.
                assert_eq!(&query_id.0[..], &input[4..36]);
                answered_with_error += 1;
            }
            Ok(Incoming::Auth { .. }) => panic!("decode_frame never handles tcp.authentificate"),
            Err(_) => {
                // Only frames that are not an adnl.message.query with a query id end the
                // connection.
                assert!(input.len() < 36 || input[..4] != valid[..4]);
                refused += 1;
            }
        }
    }
    assert!(decoded > 0 && answered_with_error > 0 && refused > 0);
}

/// A frame with the query tag and id but `request` bytes that are not a liteServer request.
fn bad_query_frame(query_id: [u8; 32], request_bytes: &[u8]) -> Vec<u8> {
    let valid = query_frame(query_id, Request::GetTime);
    let mut frame = valid[..36].to_vec();
    // TL bytes: a short length prefix, the data, padding to 4 bytes.
    frame.push(request_bytes.len() as u8);
    frame.extend_from_slice(request_bytes);
    while !frame.len().is_multiple_of(4) {
        frame.push(0);
    }
    frame
}

#[tokio::test]
async fn an_undecodable_request_gets_lite_server_error_and_the_connection_stays() {
    let devnet = devnet().await;
    let mut peer = AdnlPeer::connect(devnet.public_key(), devnet.addr())
        .await
        .unwrap();
    let lite_query_tag = &query_frame([0; 32], Request::GetTime)[37..41];
    let cases: Vec<Vec<u8>> = vec![
        // liteServer.query wrapping an unknown function id.
        [
            lite_query_tag,
            &[8, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 0, 0, 0],
        ]
        .concat(),
        // liteServer.query wrapping a truncated getAccountState.
        [
            lite_query_tag,
            &[4],
            &GET_ACCOUNT_STATE.to_le_bytes(),
            &[0, 0, 0],
        ]
        .concat(),
        // Not even a liteServer.query.
        vec![1, 2, 3, 4, 5, 6, 7, 8],
    ];
    for (i, request_bytes) in cases.iter().enumerate() {
        let query_id = [i as u8 + 1; 32];
        peer.send(bad_query_frame(query_id, request_bytes).into())
            .await
            .unwrap();
        let answer = peer.next().await.expect("an answer").unwrap();
        match tl_proto::deserialize::<Message>(&answer).unwrap() {
            Message::Answer {
                query_id: id,
                answer: Response::Error(e),
            } => {
                assert_eq!(id.0, query_id);
                assert_eq!(e.code, 621, "{e:?}");
                assert!(e.message.to_string().contains("cannot decode"), "{e:?}");
            }
            other => panic!("case {i}: {other:?}"),
        }
    }
    // The same connection still answers a valid query.
    peer.send(query_frame([9; 32], Request::GetTime).into())
        .await
        .unwrap();
    let answer = peer.next().await.expect("an answer").unwrap();
    assert!(matches!(
        tl_proto::deserialize::<Message>(&answer).unwrap(),
        Message::Answer {
            answer: Response::CurrentTime(_),
            ..
        }
    ));
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
    assert_eq!(last_mc(&mut c).await.seqno, 2);
}
