//! `/metrics` and `/health` over HTTP.

use std::sync::Arc;
use std::time::Duration;

use labelmint_indexer::metrics::{Metrics, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.expect("read");
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    let body = buf.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

#[tokio::test]
async fn metrics_and_health() {
    let m = Arc::new(Metrics::new(Duration::from_millis(300)));
    let server = serve("127.0.0.1:0".parse().expect("addr"), m.clone())
        .await
        .expect("serve");
    m.head_seen(120, 1_800_000_120);
    m.block_committed(100, 1_800_000_100, 3, 250, 4);
    m.liteserver_error();
    m.liteserver_failover();

    let (status, body) = get(server.addr, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "labelmint_indexer_indexed_seqno 100",
        "labelmint_indexer_chain_head_seqno 120",
        "labelmint_indexer_lag_blocks 20",
        "labelmint_indexer_lag_seconds 20",
        "labelmint_indexer_transactions_total 250",
        "labelmint_indexer_events_total 4",
        "labelmint_indexer_shard_blocks_total 3",
        "labelmint_indexer_liteserver_errors_total 1",
        "labelmint_indexer_liteserver_failovers_total 1",
        "# TYPE labelmint_indexer_transactions_total counter",
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "missing {line:?} in\n{body}"
        );
    }

    let (status, body) = get(server.addr, "/health").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ok\""));

    // No progress for longer than the stall time: unhealthy.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let (status, body) = get(server.addr, "/health").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("stalled"));
    m.block_committed(101, 1_800_000_101, 1, 1, 0);
    assert_eq!(get(server.addr, "/health").await.0, 200);
    server.task.abort();
}
