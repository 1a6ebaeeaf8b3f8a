//! Server-sent events: replay then follow, resume with Last-Event-ID (header and query) with
//! no gap and no duplicate, a worker's stream, authorization, the per-caller cap, and a
//! caller that does not read being dropped.

use std::time::{Duration, Instant};

use labelmint_api::auth::keys::Scope;
use labelmint_api::auth::sessions;

use crate::sse::{self, Next};
use crate::support::{Seeded, TON, TON_PROJECT, addr};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_project_stream_replays_follows_and_resumes_exactly() {
    let mut s = Seeded::new(0).await;
    let client = s.key(Scope::Client, Some(addr(230).as_str())).await;
    let url = format!("{}/v1/projects/{TON_PROJECT}/stream", s.base);
    let mut st = sse::open(&url, Some(&client), None).await.expect("open");

    // The existing events, oldest first, each the same JSON object the list route shows.
    let list = s
        .get_as(&format!("/v1/projects/{TON_PROJECT}/events"), Some(&client))
        .await
        .ok();
    let mut listed: Vec<serde_json::Value> = list["items"].as_array().expect("items").clone();
    listed.reverse();
    assert_eq!(listed.len(), 3, "deposit, release, release bounced");
    let mut ids = Vec::new();
    for want in &listed {
        let ev = st.expect(WAIT).await;
        assert_eq!(&ev.json(), want);
        assert_eq!(ev.event.as_deref(), want["kind"].as_str());
        ids.push(ev.id.clone().expect("id"));
    }
    assert_eq!(st.retry, Some(3000), "the stream announces retry");
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 3, "distinct ids");

    // Nothing of another project or of the vault.
    st.quiet(Duration::from_millis(600)).await;

    // A new event arrives within about a second of being committed.
    let esc = addr(TON_PROJECT as u8);
    let t0 = Instant::now();
    s.event(&esc, "ev_deposit", 7 * TON, None, None, None).await;
    let ev = st.expect(WAIT).await;
    let latency = t0.elapsed();
    assert_eq!(ev.event.as_deref(), Some("ev_deposit"));
    assert_eq!(ev.json()["amount"], (7 * TON).to_string());
    // The web page must show a deposit within 2 s of its block (the poller ticks every 250 ms).
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    eprintln!("stream latency (commit -> event received): {latency:?}");
    let last = ev.id.clone().expect("id");
    // Other projects' events do not reach this stream.
    s.event(&addr(201), "ev_deposit", 1, None, None, None).await;
    st.quiet(Duration::from_millis(700)).await;

    // Disconnect; two events happen; reconnect with Last-Event-ID: exactly those two.
    drop(st);
    s.event(&esc, "ev_deposit", 11, None, None, None).await;
    s.event(&esc, "ev_refund", 12, None, None, None).await;
    let mut st = sse::open(&url, Some(&client), Some(&last))
        .await
        .expect("reopen");
    let a = st.expect(WAIT).await;
    let b = st.expect(WAIT).await;
    assert_eq!(a.json()["amount"], "11");
    assert_eq!(b.json()["amount"], "12");
    assert_eq!(b.event.as_deref(), Some("ev_refund"));
    st.quiet(Duration::from_millis(700)).await;
    // And live again after the resume.
    s.event(&esc, "ev_deposit", 13, None, None, None).await;
    assert_eq!(st.expect(WAIT).await.json()["amount"], "13");
    drop(st);

    // `?last_event_id=` (a browser's first connect) resumes the same way.
    let mut st = sse::open(
        &format!("{url}?last_event_id={}", ids[1]),
        Some(&client),
        None,
    )
    .await
    .expect("open with query");
    let amounts: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(
                st.expect(WAIT).await.json()["amount"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
        v
    };
    assert_eq!(
        amounts,
        [
            (12 * TON / 1000).to_string(),
            (7 * TON).to_string(),
            "11".into(),
            "12".into(),
            "13".into()
        ]
    );
    st.quiet(Duration::from_millis(500)).await;
    drop(st);

    // A Last-Event-ID this API did not make: 400 naming it.
    let p = sse::open(&url, Some(&client), Some("not-an-id"))
        .await
        .err()
        .expect("refused");
    assert_eq!(
        p.problem(400, "invalid-parameter")["parameter"],
        "Last-Event-ID"
    );
    let p = sse::open(&format!("{url}?last_event_id=x"), Some(&client), None)
        .await
        .err()
        .expect("refused");
    assert_eq!(
        p.problem(400, "invalid-parameter")["parameter"],
        "last_event_id"
    );
}

#[tokio::test]
async fn a_worker_stream_carries_their_payout_events_only() {
    let mut s = Seeded::new(0).await;
    // ann (addr 1) is paid in the TON batch; ben (addr 2) too, and his item bounced.
    let ann = sessions::create(&s.pool, addr(1).as_str(), "v4r2", Duration::from_secs(600))
        .await
        .expect("session")
        .0;
    let base = s.base.clone();
    let url = |a: u8| format!("{base}/v1/workers/{}/stream", addr(a).as_str());
    let mut st = sse::open(&url(1), Some(ann.expose()), None)
        .await
        .expect("ann");
    let ev = st.expect(WAIT).await;
    assert_eq!(ev.event.as_deref(), Some("ev_batch_executed"));
    assert_eq!(ev.json()["query_id"], "77");
    st.quiet(Duration::from_millis(600)).await;
    let mut ben = sse::open(&url(2), Some(&s.admin_key), None)
        .await
        .expect("ben");
    assert_eq!(
        ben.expect(WAIT).await.event.as_deref(),
        Some("ev_batch_executed")
    );
    assert_eq!(
        ben.expect(WAIT).await.event.as_deref(),
        Some("ev_payout_bounced")
    );
    ben.quiet(Duration::from_millis(500)).await;
    // A deposit is nobody's payout: neither stream moves.
    s.event(&addr(TON_PROJECT as u8), "ev_deposit", 1, None, None, None)
        .await;
    st.quiet(Duration::from_millis(700)).await;
    // Ann's session cannot open ben's stream.
    sse::open(&url(2), Some(ann.expose()), None)
        .await
        .err()
        .expect("refused")
        .problem(403, "not-owner");
}

#[tokio::test]
async fn streams_are_authorized_and_capped_per_caller() {
    let mut s = Seeded::new(0).await;
    s.respawn(|c| c.streams.max_per_caller = 2).await;
    let url = format!("{}/v1/projects/{TON_PROJECT}/stream", s.base);
    sse::open(&url, None, None)
        .await
        .err()
        .expect("anonymous")
        .problem(401, "authentication-required");
    let other = s.key(Scope::Client, Some(addr(231).as_str())).await;
    sse::open(&url, Some(&other), None)
        .await
        .err()
        .expect("another client")
        .problem(403, "not-owner");
    sse::open(
        &format!("{}/v1/projects/999/stream", s.base),
        Some(&s.admin_key),
        None,
    )
    .await
    .err()
    .expect("unknown project")
    .problem(404, "not-found");
    let owner = s.key(Scope::Client, Some(addr(230).as_str())).await;
    let a = sse::open(&url, Some(&owner), None).await.expect("1st");
    let b = sse::open(&url, Some(&owner), None).await.expect("2nd");
    let p = sse::open(&url, Some(&owner), None)
        .await
        .err()
        .expect("3rd")
        .problem(429, "too-many-streams");
    assert!(
        p["detail"].as_str().unwrap_or("").contains("at most 2"),
        "{p}"
    );
    // Another caller is not held back by this one's streams.
    let _c = sse::open(&url, Some(&s.admin_key), None)
        .await
        .expect("another caller");
    // Closing one gives its place back (once the server sees it closed).
    drop(a);
    let mut reopened = None;
    for _ in 0..50 {
        match sse::open(&url, Some(&owner), None).await {
            Ok(st) => {
                reopened = Some(st);
                break;
            }
            Err(r) => {
                r.problem(429, "too-many-streams");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(reopened.is_some(), "the closed stream's place came back");
    drop(b);
}

#[tokio::test]
async fn a_caller_that_does_not_read_is_dropped_and_resumes() {
    let mut s = Seeded::new(0).await;
    s.respawn(|c| {
        c.streams.buffer = 4;
        c.streams.keep_alive = Duration::from_millis(200);
    })
    .await;
    let url = format!("{}/v1/projects/{TON_PROJECT}/stream", s.base);
    let mut st = sse::open(&url, Some(&s.admin_key), None)
        .await
        .expect("open");
    for _ in 0..3 {
        st.expect(WAIT).await;
    }
    // Keep-alive comments while idle.
    st.quiet(Duration::from_millis(700)).await;
    assert!(st.comments >= 2, "keep-alives: {}", st.comments);
    // The caller stops reading; 96 events of 256 KiB each (24 MiB, more than the sockets
    // hold) are indexed.
    let esc = addr(TON_PROJECT as u8);
    let pad = "x".repeat(256 * 1024);
    let server = s.server.as_ref().expect("server").streams().clone();
    let n = 96u32;
    for i in 0..n {
        s.event_with(
            &esc,
            "ev_deposit",
            u128::from(i) + 1,
            None,
            None,
            None,
            serde_json::json!({ "pad": pad }),
        )
        .await;
    }
    let mut waited = 0;
    while server.dropped.load(std::sync::atomic::Ordering::Relaxed) == 0 && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(
        server.dropped.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "the stream was dropped"
    );
    let m = crate::support::get(&format!("{}/metrics", s.base)).await;
    assert!(
        m.body.contains("labelmint_api_streams_dropped_total 1"),
        "{}",
        m.body
    );
    // What was buffered still arrives, then the stream ends before the last event.
    let mut got = Vec::new();
    loop {
        match st.next(WAIT).await {
            Next::Event(e) => got.push(e),
            Next::End => break,
            Next::Quiet => panic!("the dropped stream neither ended nor sent"),
        }
    }
    assert!(
        got.len() < n as usize,
        "{} of {n} sent before the drop",
        got.len()
    );
    // Resuming after the last one received gets the rest exactly.
    let last = got.last().and_then(|e| e.id.clone());
    let mut st = sse::open(&url, Some(&s.admin_key), last.as_deref())
        .await
        .expect("resume");
    let first_amount: u32 = got
        .first()
        .map(|e| {
            e.json()["amount"]
                .as_str()
                .unwrap_or("0")
                .parse()
                .unwrap_or(0)
        })
        .unwrap_or(1);
    assert_eq!(first_amount, 1);
    for i in got.len()..n as usize {
        let e = st.expect(WAIT).await;
        assert_eq!(e.json()["amount"], (i + 1).to_string());
    }
    st.quiet(Duration::from_millis(500)).await;
}
