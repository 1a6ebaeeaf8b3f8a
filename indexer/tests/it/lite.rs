//! The liteserver client wrapper against local TCP listeners: timeouts, failover, server
//! errors, backoff. No chain needed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use labelmint_indexer::Error;
use labelmint_indexer::lite::{Lite, LiteOptions, LiteServer};
use labelmint_indexer::metrics::Metrics;
use tokio::net::TcpListener;
use ton_liteapi::tl::request::Request;
use ton_liteapi::tl::response::{CurrentTime, Response};

use crate::support::liteserver;

fn opts() -> LiteOptions {
    LiteOptions {
        request_timeout: Duration::from_millis(300),
        connect_timeout: Duration::from_millis(300),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(100),
        max_attempts: 4,
    }
}

fn metrics() -> Arc<Metrics> {
    Arc::new(Metrics::new(Duration::from_secs(60)))
}

fn time_server(
    now: u32,
) -> impl Fn(ton_liteapi::tl::request::WrappedRequest) -> Option<Response> + Clone {
    move |req| match req.request {
        Request::GetTime => Some(Response::CurrentTime(CurrentTime { now })),
        _ => None,
    }
}

/// A port nothing listens on (bound, then released).
async fn closed_port() -> LiteServer {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    LiteServer {
        addr,
        public_key: [1u8; 32],
    }
}

#[tokio::test]
async fn answers_through_a_real_adnl_liteserver() {
    let (server, task) = liteserver(time_server(1_800_000_123)).await;
    let m = metrics();
    let mut lite = Lite::new(vec![server], opts(), m.clone()).expect("lite");
    assert_eq!(lite.time().await.expect("time"), 1_800_000_123);
    assert_eq!(lite.time().await.expect("time again"), 1_800_000_123);
    assert_eq!(m.liteserver_errors(), 0);
    task.abort();
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Handshake done, queries parked forever.
    let (server, task) = liteserver(|_| None).await;
    let m = metrics();
    let mut lite = Lite::new(vec![server], opts(), m.clone()).expect("lite");
    let started = Instant::now();
    let err = lite.time().await.expect_err("must time out");
    let Error::AllServersFailed { attempts, last } = err else {
        panic!("{err:?}")
    };
    assert_eq!(attempts, 4);
    assert!(matches!(*last, Error::Timeout { .. }), "{last:?}");
    // 4 attempts x 300 ms + backoff, far from hanging.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(m.liteserver_errors(), 4);
    task.abort();
}

#[tokio::test]
async fn a_socket_that_never_completes_the_handshake_times_out() {
    // Accepts TCP and then says nothing: the ADNL handshake must not hang the client.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut o = opts();
    o.max_attempts = 2;
    let mut lite = Lite::new(
        vec![LiteServer {
            addr,
            public_key: [9u8; 32],
        }],
        o,
        metrics(),
    )
    .expect("lite");
    let err = lite.time().await.expect_err("must time out");
    assert!(
        matches!(&err, Error::AllServersFailed { last, .. } if matches!(**last, Error::Timeout { .. })),
        "{err:?}"
    );
    task.abort();
}

#[tokio::test]
async fn an_unreachable_first_server_fails_over_to_the_second() {
    let dead = closed_port().await;
    let (good, task) = liteserver(time_server(7)).await;
    let m = metrics();
    let mut lite = Lite::new(vec![dead, good.clone()], opts(), m.clone()).expect("lite");
    assert_eq!(lite.time().await.expect("time"), 7);
    assert_eq!(lite.current_server(), &good);
    assert_eq!(m.liteserver_failovers(), 1);
    assert_eq!(m.liteserver_errors(), 1);
    // Stays on the good server.
    assert_eq!(lite.time().await.expect("time"), 7);
    assert_eq!(m.liteserver_failovers(), 1);
    task.abort();
}

#[tokio::test]
async fn a_hanging_first_server_fails_over_to_the_second() {
    let (hanging, t1) = liteserver(|_| None).await;
    let (good, t2) = liteserver(time_server(8)).await;
    let m = metrics();
    let mut lite = Lite::new(vec![hanging, good.clone()], opts(), m.clone()).expect("lite");
    assert_eq!(lite.time().await.expect("time"), 8);
    assert_eq!(lite.current_server(), &good);
    assert_eq!(m.liteserver_failovers(), 1);
    t1.abort();
    t2.abort();
}

#[tokio::test]
async fn a_liteserver_error_is_returned_not_failed_over() {
    let (server, task) = liteserver(|_| {
        Some(Response::Error(ton_liteapi::tl::response::Error {
            code: 651,
            message: "block is not applied".into(),
        }))
    })
    .await;
    let (other, t2) = liteserver(time_server(1)).await;
    let m = metrics();
    let mut lite = Lite::new(vec![server.clone(), other], opts(), m.clone()).expect("lite");
    let err = lite.time().await.expect_err("server error");
    assert!(
        matches!(&err, Error::Server { code: 651, message, .. } if message == "block is not applied"),
        "{err:?}"
    );
    assert_eq!(m.liteserver_failovers(), 0);
    assert_eq!(lite.current_server(), &server);
    task.abort();
    t2.abort();
}

#[tokio::test]
async fn all_servers_down_backs_off_then_fails() {
    let a = closed_port().await;
    let b = closed_port().await;
    let m = metrics();
    let mut o = opts();
    o.max_attempts = 6; // three rounds over two servers: two backoffs (>= 50 + 100 ms)
    let mut lite = Lite::new(vec![a, b], o, m.clone()).expect("lite");
    let started = Instant::now();
    let err = lite.time().await.expect_err("all down");
    assert!(
        matches!(err, Error::AllServersFailed { attempts: 6, .. }),
        "{err:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(m.liteserver_errors(), 6);
    assert_eq!(m.liteserver_failovers(), 6);
}
