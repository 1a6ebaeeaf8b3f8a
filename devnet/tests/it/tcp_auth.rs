//! `tcp.authentificate` as tonlib starts every connection: answered with a nonce, the signed
//! completion accepted, and the connection serves queries after it; a bad signature closes it.

use adnl::AdnlPeer;
use futures::{SinkExt, StreamExt};
use labelmint_devnet::liteapi::tcp_auth::{authentificate_frame, complete_frame, server_nonce};
use ton_liteapi::tl::adnl::Message;
use ton_liteapi::tl::common::Int256;
use ton_liteapi::tl::request::{LiteQuery, Request, WrappedRequest};
use ton_liteapi::tl::response::Response;

use crate::support::devnet;

fn time_query() -> Vec<u8> {
    tl_proto::serialize(Message::Query {
        query_id: Int256([4; 32]),
        query: LiteQuery {
            wrapped_request: WrappedRequest {
                wait_masterchain_seqno: None,
                request: Request::GetTime,
            },
        },
    })
}

#[tokio::test]
async fn an_authenticated_connection_keeps_serving_and_a_forged_one_is_closed() {
    let devnet = devnet().await;
    let key = ed25519_dalek::SigningKey::from_bytes(&[21; 32]);
    let client_nonce = [7u8; 32];

    let mut peer = AdnlPeer::connect(devnet.public_key(), devnet.addr())
        .await
        .unwrap();
    peer.send(authentificate_frame(&client_nonce).into())
        .await
        .unwrap();
    let reply = peer.next().await.expect("a nonce").unwrap();
    let server = server_nonce(&reply).expect("tcp.authentificationNonce");
    assert_eq!(server.len(), 256);
    peer.send(complete_frame(&key, &client_nonce, &server).into())
        .await
        .unwrap();
    peer.send(time_query().into()).await.unwrap();
    let answer = peer.next().await.expect("an answer").unwrap();
    assert!(matches!(
        tl_proto::deserialize::<Message>(&answer).unwrap(),
        Message::Answer {
            answer: Response::CurrentTime(_),
            ..
        }
    ));

    // A completion signed over other nonces ends the connection (TON: protocol violation).
    let mut peer = AdnlPeer::connect(devnet.public_key(), devnet.addr())
        .await
        .unwrap();
    peer.send(authentificate_frame(&client_nonce).into())
        .await
        .unwrap();
    let reply = peer.next().await.expect("a nonce").unwrap();
    let server = server_nonce(&reply).unwrap();
    peer.send(complete_frame(&key, &[8; 32], &server).into())
        .await
        .unwrap();
    let _ = peer.send(time_query().into()).await;
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), peer.next())
        .await
        .expect("the server closes, it does not hang");
    assert!(!matches!(next, Some(Ok(_))), "{next:?}");
}
