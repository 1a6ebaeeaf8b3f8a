//! HTTP hardening, with raw TCP clients: the token is checked before the body is read (an
//! unauthenticated request declaring a gigabyte is answered 401 at once), bodies are capped
//! per route (413 `application/problem+json` naming the cap), slow bodies time out (408), and
//! connections that send their header slowly, or nothing, or idle after a response, are
//! dropped after the header-read timeout.

use std::time::{Duration, Instant};

use labelmint_payout_signer::HttpLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Env, wide_limits};

const TOKEN: &str = "THROWAWAY-test-token-0123456789";

async fn env() -> Env {
    Env::with_http(
        wide_limits(),
        HttpLimits {
            header_read_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(1),
            ..HttpLimits::default()
        },
    )
    .await
}

async fn connect(env: &Env) -> TcpStream {
    TcpStream::connect(env.handle.as_ref().unwrap().addr.unwrap())
        .await
        .expect("connect")
}

/// Reads until the server has sent a whole response head and `Content-Length` body, or
/// closed the connection; the text read.
async fn read_response(s: &mut TcpStream, within: Duration) -> String {
    let mut buf = Vec::new();
    let read = async {
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(within, read)
        .await
        .expect("the server answers in time");
    String::from_utf8_lossy(&buf).to_string()
}

/// Waits until the server closes the connection (a read gives EOF or an error); how long it
/// took. Panics if it stays open past `limit`.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut chunk = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the server closes the connection");
    start.elapsed()
}

fn json_body(response: &str) -> serde_json::Value {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON body in {response:?}"))
}

#[tokio::test]
async fn auth_comes_before_the_body_and_bodies_are_capped_per_route() {
    let env = env().await;

    // No token, a declared gigabyte, 16 bytes sent: 401 at once, the rest never read.
    let mut s = connect(&env).await;
    let started = Instant::now();
    s.write_all(
        b"POST /v1/vault/batch HTTP/1.1\r\nHost: signer\r\nContent-Type: application/json\r\n\
          Content-Length: 1073741824\r\n\r\n{\"vault\":\"0:00\",",
    )
    .await
    .unwrap();
    let r = read_response(&mut s, Duration::from_secs(5)).await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    assert_eq!(json_body(&r)["error"], "unauthorized");
    assert!(started.elapsed() < Duration::from_secs(1));
    // A wrong token is the same.
    let mut s = connect(&env).await;
    s.write_all(
        b"POST /v1/escrow/close HTTP/1.1\r\nHost: signer\r\nAuthorization: Bearer THROWAWAY-not-the-token-00\r\n\
          Content-Length: 1073741824\r\n\r\n{",
    )
    .await
    .unwrap();
    let r = read_response(&mut s, Duration::from_secs(5)).await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");

    // With the token, a declared body above the route's cap: 413 problem+json naming the cap,
    // without reading it.
    for (path, cap) in [
        ("/v1/vault/batch", 256 * 1024),
        ("/v1/escrow/release", 4 * 1024),
        ("/v1/escrow/close", 4 * 1024),
    ] {
        let mut s = connect(&env).await;
        s.write_all(
            format!(
                "POST {path} HTTP/1.1\r\nHost: signer\r\nAuthorization: Bearer {TOKEN}\r\n\
                 Content-Length: {}\r\n\r\n{{",
                cap + 1
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let r = read_response(&mut s, Duration::from_secs(5)).await;
        assert!(r.starts_with("HTTP/1.1 413"), "{path}: {r}");
        assert!(
            r.to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{r}"
        );
        let p = json_body(&r);
        assert_eq!(p["status"], 413);
        assert_eq!(p["limit"], cap);
        assert_eq!(p["error"], "body_too_large");
        assert!(
            p["type"].as_str().unwrap().contains("body_too_large"),
            "{p}"
        );
    }

    // A chunked body (no length declared) that grows past the cap: 413 once the cap is hit.
    let mut s = connect(&env).await;
    s.write_all(
        format!(
            "POST /v1/escrow/close HTTP/1.1\r\nHost: signer\r\nAuthorization: Bearer {TOKEN}\r\n\
             Transfer-Encoding: chunked\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let chunk = format!("400\r\n{}\r\n", " ".repeat(0x400));
    for _ in 0..5 {
        s.write_all(chunk.as_bytes()).await.unwrap();
    }
    let r = read_response(&mut s, Duration::from_secs(5)).await;
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    assert_eq!(json_body(&r)["limit"], 4 * 1024);

    // A body that stalls: 408 after the body timeout.
    let mut s = connect(&env).await;
    s.write_all(
        format!(
            "POST /v1/escrow/close HTTP/1.1\r\nHost: signer\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Length: 100\r\n\r\n{{\"escrow\":"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let r = read_response(&mut s, Duration::from_secs(5)).await;
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    assert_eq!(json_body(&r)["error"], "body_timeout");

    // The server still serves ordinary requests.
    assert_eq!(env.client.public_key().await.unwrap(), env.public_key);
}

#[tokio::test]
async fn slow_idle_and_silent_connections_are_dropped() {
    let env = env().await;

    // Slowloris: a header trickling in one byte every 100 ms is cut at the 1 s header timeout,
    // long before it would end (a 60-byte header line: 6 s).
    let mut s = connect(&env).await;
    s.write_all(b"POST /v1/vault/batch HTTP/1.1\r\nHost: signer\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut dropped = false;
    for b in "X-Slow: ".bytes().chain(std::iter::repeat_n(b'a', 52)) {
        if s.write_all(&[b]).await.is_err() {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // A read that does not block tells whether the server closed its side.
        let mut one = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(1), s.read(&mut one)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                dropped = true;
                break;
            }
            _ => {}
        }
    }
    let took = started.elapsed();
    assert!(dropped, "the slow client was not dropped");
    assert!(
        took < Duration::from_secs(3),
        "dropped after {took:?}, not at the 1 s header timeout"
    );

    // A connection that sends nothing.
    let mut s = connect(&env).await;
    let took = closed_within(&mut s, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(900), "{took:?}");

    // A kept-alive connection idling after its response.
    let mut s = connect(&env).await;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: signer\r\n\r\n")
        .await
        .unwrap();
    let r = read_response(&mut s, Duration::from_secs(5)).await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let took = closed_within(&mut s, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(900), "{took:?}");

    // Meanwhile the signer serves everyone else.
    assert_eq!(env.client.public_key().await.unwrap(), env.public_key);
}
