//! Rate limits (issue 14 point 6): a caller's burst over its bucket is a 429 problem with
//! Retry-After; callers and IPs have their own buckets; the bucket refills; /health and
//! /ready and exempt keys are never limited; X-Forwarded-For counts only from a trusted proxy.

use std::time::Duration;

use labelmint_api::auth::keys::Scope;
use labelmint_api::ratelimit::{Rate, RateLimits};

use crate::raw::{RawResp, raw};
use crate::support::Seeded;

async fn get(s: &Seeded, path: &str, headers: &[(&str, &[u8])]) -> RawResp {
    raw("GET", &format!("{}{path}", s.base), headers, Vec::new())
        .await
        .expect("answer")
}

fn assert_limited(r: &RawResp, by: &str) -> u64 {
    assert_eq!(r.status, 429, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let p = r.json();
    assert_eq!(
        p["type"], "https://labelmint.dev/problems/rate-limited",
        "{p}"
    );
    assert_eq!(p["status"], 429);
    assert!(p["detail"].as_str().is_some_and(|d| d.contains(by)), "{p}");
    assert!(p["request_id"].is_string(), "{p}");
    let secs: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!((1..=2).contains(&secs), "1 token/s: {secs}");
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("ratelimit-reset"), Some(secs.to_string().as_str()));
    secs
}

#[tokio::test]
async fn a_burst_over_the_limit_is_429_with_retry_after_and_the_bucket_refills() {
    let mut s = Seeded::new(0).await;
    let exempt = s.key(Scope::Read, None).await;
    let exempt_id = exempt.split('_').nth(1).expect("key id").to_owned();
    let exempt_for_config = exempt_id.clone();
    s.respawn(move |c| {
        c.rate_limits = RateLimits {
            per_caller: Rate::new(1, 3).expect("rate"),
            per_ip: Rate::new(1, 2).expect("rate"),
            exempt_keys: vec![exempt_for_config],
            ..RateLimits::default()
        };
    })
    .await;
    let admin = format!("Bearer {}", s.admin_key);
    let read = format!("Bearer {}", s.read_key);

    // Three tokens, counted down in RateLimit-Remaining, then 429.
    for left in ["2", "1", "0"] {
        let r = get(&s, "/v1/projects", &[("authorization", admin.as_bytes())]).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("ratelimit-limit"), Some("3"));
        assert_eq!(r.header("ratelimit-remaining"), Some(left));
    }
    let r = get(&s, "/v1/projects", &[("authorization", admin.as_bytes())]).await;
    let wait = assert_limited(&r, "caller");

    // Another key has its own bucket; so does the IP (anonymous answers stay 401 until it is
    // empty); /health and /ready are never counted; the exempt key never is either.
    let r = get(&s, "/v1/projects", &[("authorization", read.as_bytes())]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ratelimit-remaining"), Some("2"));
    for _ in 0..20 {
        assert_eq!(get(&s, "/health", &[]).await.status, 200);
        let exempt_auth = format!("Bearer {exempt}");
        let r = get(
            &s,
            "/v1/indexer/status",
            &[("authorization", exempt_auth.as_bytes())],
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("ratelimit-limit"), None, "exempt: no bucket");
    }
    for _ in 0..2 {
        assert_eq!(get(&s, "/v1/projects", &[]).await.status, 401);
    }
    assert_limited(&get(&s, "/v1/projects", &[]).await, "client IP");

    // A wrong secret under the admin's key id is charged to the IP, not to the admin's bucket:
    // nobody can drain another caller's bucket without its secret.
    let forged = format!(
        "Bearer lmk_{}_{}",
        s.admin_key.split('_').nth(1).expect("key id"),
        "A".repeat(43)
    );
    assert_limited(
        &get(&s, "/v1/projects", &[("authorization", forged.as_bytes())]).await,
        "client IP",
    );

    // The admin's bucket refills after Retry-After.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let r = get(&s, "/v1/projects", &[("authorization", admin.as_bytes())]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let mut s = Seeded::new(0).await;
    let one_each = RateLimits {
        per_ip: Rate::new(1, 1).expect("rate"),
        ..RateLimits::default()
    };
    // No trusted proxy: X-Forwarded-For is ignored, every request is 127.0.0.1's.
    let limits = one_each.clone();
    s.respawn(move |c| c.rate_limits = limits).await;
    let a: [(&str, &[u8]); 1] = [("x-forwarded-for", b"198.51.100.1")];
    let b: [(&str, &[u8]); 1] = [("x-forwarded-for", b"198.51.100.2")];
    assert_eq!(get(&s, "/v1/projects", &a).await.status, 401);
    assert_eq!(get(&s, "/v1/projects", &b).await.status, 429);

    // 127.0.0.1 is the trusted proxy: each forwarded client has its own bucket, and a client
    // cannot pick another's by prepending a hop.
    let limits = RateLimits {
        trusted_proxies: vec!["127.0.0.0/8".parse().expect("net")],
        ..one_each
    };
    s.respawn(move |c| c.rate_limits = limits).await;
    assert_eq!(get(&s, "/v1/projects", &a).await.status, 401);
    assert_eq!(get(&s, "/v1/projects", &b).await.status, 401);
    assert_eq!(get(&s, "/v1/projects", &a).await.status, 429);
    let spoof: [(&str, &[u8]); 1] = [("x-forwarded-for", b"198.51.100.3, 198.51.100.2")];
    assert_eq!(get(&s, "/v1/projects", &spoof).await.status, 429);
}
