//! Webhooks against a local receiver: signatures verified with the secret, retries after
//! 500s on the documented schedule (a controlled clock), giving up after 24 hours, never
//! twice once delivered (across a restart), the delivery log, test sends, secret rotation,
//! event filters, disabling, and SSRF refusals.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use labelmint_api::auth::keys::Scope;
use labelmint_api::auth::secret::Secret;
use labelmint_api::auth::sessions;
use labelmint_api::webhooks::sign::verify;
use labelmint_api::webhooks::{Backoff, Clock};
use serde_json::json;

use crate::support::{Seeded, TON, TON_PROJECT, addr};

/// A clock the test moves.
#[derive(Debug)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl TestClock {
    fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

/// 2027-01-15T08:00:00Z.
const T0: i64 = 1_800_000_000_000;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    signature: String,
    event_id: String,
    attempt: String,
    content_type: String,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    otherwise: u16,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    r.got.lock().expect("lock").push(Got {
        signature: h("labelmint-signature"),
        event_id: h("labelmint-event-id"),
        attempt: h("labelmint-delivery-attempt"),
        content_type: h("content-type"),
        body,
    });
    let code = r
        .script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(r.otherwise);
    StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
}

impl Receiver {
    /// Answers `script` in order, then `otherwise`.
    async fn start(script: &[u16], otherwise: u16) -> (Receiver, String) {
        let r = Receiver {
            got: Arc::default(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            otherwise,
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (r, url)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().expect("lock").clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Got> {
        for _ in 0..200 {
            let g = self.got();
            if g.len() >= n {
                return g;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the receiver got {} requests, not {n}", self.got().len());
    }
}

/// The delivery row: (state, attempts, created_ms, next_attempt_ms).
async fn delivery(s: &Seeded, endpoint: &str) -> (String, i32, i64, Option<i64>) {
    sqlx::query_as(
        "SELECT state, attempts, created_ms, next_attempt_ms FROM api_webhook_deliveries \
         WHERE endpoint_id = $1 AND event_type <> 'webhook_test' ORDER BY id DESC LIMIT 1",
    )
    .bind(endpoint)
    .fetch_one(&s.pool)
    .await
    .expect("delivery")
}

/// Attempt start times of the endpoint's latest delivery.
async fn attempt_starts(s: &Seeded, endpoint: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT a.started_ms FROM api_webhook_attempts a \
         JOIN api_webhook_deliveries d ON d.id = a.delivery_id \
         WHERE d.endpoint_id = $1 AND d.event_type <> 'webhook_test' ORDER BY a.attempt",
    )
    .bind(endpoint)
    .fetch_all(&s.pool)
    .await
    .expect("attempts")
}

/// Waits until `n` attempts of the endpoint's event deliveries are recorded (the receiver
/// sees a request before the worker records its outcome).
async fn recorded(s: &Seeded, endpoint: &str, n: usize) {
    for _ in 0..400 {
        if attempt_starts(s, endpoint).await.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{n} attempts were never recorded");
}

/// Waits until the worker's outbox has started (its first pass pins where it begins).
async fn outbox_started(s: &Seeded) {
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM api_webhook_outbox")
            .fetch_one(&s.pool)
            .await
            .expect("outbox");
        if n == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the outbox never started");
}

async fn with_clock(s: &mut Seeded) -> Arc<TestClock> {
    let clock = Arc::new(TestClock(AtomicI64::new(T0)));
    let c = clock.clone();
    s.respawn(move |config| {
        config.webhooks.clock = c;
        config.webhooks.poll = Duration::from_millis(50);
    })
    .await;
    outbox_started(s).await;
    clock
}

fn secret_of(v: &serde_json::Value) -> Secret {
    let text = v["secret"].as_str().expect("secret");
    assert!(text.starts_with("whsec_"), "{text}");
    Secret::from_text(text.to_owned())
}

#[tokio::test]
async fn deliveries_are_signed_retried_after_500s_on_schedule_and_logged() {
    let mut s = Seeded::new(0).await;
    let clock = with_clock(&mut s).await;
    let (rx, url) = Receiver::start(&[500, 500], 200).await;
    let client = s.key(Scope::Client, Some(addr(230).as_str())).await;
    let r = s
        .send_as(
            "POST",
            "/v1/webhooks",
            Some(&client),
            Some(json!({"url": url, "events": ["ev_deposit", "ev_release"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let secret = secret_of(&made);
    let ep = made["endpoint_id"].as_str().expect("id").to_owned();
    assert_eq!(made["client"]["raw"], addr(230).as_str());
    assert_eq!(made["events"], json!(["ev_deposit", "ev_release"]));

    // A deposit on the client's project: the first attempt at once, answered 500.
    let esc = addr(TON_PROJECT as u8);
    s.event(&esc, "ev_deposit", 42, None, None, None).await;
    rx.wait_for(1).await;
    recorded(&s, &ep, 1).await;
    let (state, attempts, created, next1) = delivery(&s, &ep).await;
    assert_eq!((state.as_str(), attempts), ("pending", 1));
    assert_eq!(created, T0);
    let next1 = next1.expect("a next attempt");
    let b = Backoff::default();
    let gap = next1 - T0;
    assert!(
        (b.delay_ms(1)..=b.delay_ms(1) * 12 / 10).contains(&gap),
        "first retry after {gap} ms"
    );
    // Not a millisecond early.
    clock.set(next1 - 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rx.got().len(), 1, "retried before it was due");
    clock.set(next1);
    rx.wait_for(2).await;
    recorded(&s, &ep, 2).await;
    let (_, attempts, _, next2) = delivery(&s, &ep).await;
    assert_eq!(attempts, 2);
    let next2 = next2.expect("a next attempt");
    let gap = next2 - next1;
    assert!(
        (b.delay_ms(2)..=b.delay_ms(2) * 12 / 10).contains(&gap),
        "second retry after {gap} ms"
    );
    clock.set(next2);
    let got = rx.wait_for(3).await;
    recorded(&s, &ep, 3).await;
    let (state, attempts, _, next) = delivery(&s, &ep).await;
    assert_eq!((state.as_str(), attempts, next), ("delivered", 3, None));
    assert_eq!(attempt_starts(&s, &ep).await, [T0, next1, next2]);

    // Every attempt: the same bytes, signed with the secret at the attempt's time.
    let starts = [T0, next1, next2];
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.body, got[0].body);
        assert_eq!(g.content_type, "application/json");
        assert_eq!(g.attempt, (i + 1).to_string());
        let t = verify(&secret, &g.signature, g.body.as_bytes()).expect("signature verifies");
        assert_eq!(t, starts[i] / 1000, "{}", g.signature);
        assert!(verify(&secret, &g.signature, b"{}").is_none());
    }
    let body: serde_json::Value = serde_json::from_str(&got[0].body).expect("body");
    assert_eq!(body["type"], "ev_deposit");
    assert_eq!(body["project_id"], "101");
    assert_eq!(body["data"]["amount"], "42");
    assert_eq!(body["data"]["kind"], "ev_deposit");
    assert_eq!(body["event_id"].as_str(), Some(got[0].event_id.as_str()));
    assert!(
        body["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    // The delivery log shows the three attempts.
    let log = s
        .get_as(&format!("/v1/webhooks/{ep}/deliveries"), Some(&client))
        .await
        .ok();
    let d = &log["items"][0];
    assert_eq!(d["state"], "delivered");
    assert_eq!(d["attempts"], 3);
    assert_eq!(d["event_id"], body["event_id"]);
    assert_eq!(d["type"], "ev_deposit");
    assert_eq!(d["next_attempt_at"], serde_json::Value::Null);
    let codes: Vec<i64> = d["attempt_log"]
        .as_array()
        .expect("log")
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(codes, [500, 500, 200]);
    assert_eq!(
        d["attempt_log"][0]["error"], "the receiver answered 500",
        "{d}"
    );
    assert_eq!(d["attempt_log"][2]["error"], serde_json::Value::Null);

    // Not wanted (a refund), or not the client's (another project's escrow is the client's
    // too here, so a vault event of nobody's): nothing new.
    s.event(&esc, "ev_refund", 1, None, None, None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.got().len(), 3);

    // Restart the server (and its worker) and let two days pass: never sent again.
    let c = clock.clone();
    s.respawn(move |config| {
        config.webhooks.clock = c;
        config.webhooks.poll = Duration::from_millis(50);
    })
    .await;
    clock.set(T0 + 2 * 86_400_000);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(rx.got().len(), 3, "delivered once only");
    let n: i64 =
        sqlx::query_scalar("SELECT count(*) FROM api_webhook_deliveries WHERE endpoint_id = $1")
            .bind(&ep)
            .fetch_one(&s.pool)
            .await
            .expect("count");
    assert_eq!(n, 1, "one delivery per (endpoint, event)");

    // Another client sees nothing of it.
    let other = s.key(Scope::Client, Some(addr(231).as_str())).await;
    s.get_as(&format!("/v1/webhooks/{ep}/deliveries"), Some(&other))
        .await
        .problem(403, "not-owner");
    let mine = s.get_as("/v1/webhooks", Some(&other)).await.ok();
    assert_eq!(mine, json!([]));
}

#[tokio::test]
async fn a_failing_receiver_is_given_up_after_24_hours() {
    let mut s = Seeded::new(0).await;
    let clock = with_clock(&mut s).await;
    let (rx, url) = Receiver::start(&[], 500).await;
    // An admin's endpoint (no client): every project's events.
    let r = s
        .send_as(
            "POST",
            "/v1/webhooks",
            Some(&s.admin_key),
            Some(json!({"url": url})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(made["client"], serde_json::Value::Null);
    let ep = made["endpoint_id"].as_str().expect("id").to_owned();
    s.event(&addr(201), "ev_deposit", 5, None, None, None).await;
    let b = Backoff::default();
    let mut n = 0;
    let mut last_start = T0;
    loop {
        n += 1;
        rx.wait_for(n).await;
        recorded(&s, &ep, n).await;
        let (state, attempts, created, next) = delivery(&s, &ep).await;
        assert_eq!(attempts, n as i32);
        assert_eq!(created, T0);
        match next {
            Some(next) => {
                assert_eq!(state, "pending");
                let d = b.delay_ms(n as u32);
                let gap = next - last_start;
                assert!(
                    (d..=d + b.max_jitter_ms(d)).contains(&gap),
                    "after attempt {n}: {gap} ms, schedule {d} ms"
                );
                assert!(next - T0 <= 24 * 3_600_000, "beyond 24 h");
                clock.set(next);
                last_start = next;
            }
            None => {
                assert_eq!(state, "failed");
                // Given up because the next attempt would have come after 24 h.
                assert!(last_start - T0 + b.delay_ms(n as u32) > 24 * 3_600_000);
                break;
            }
        }
        assert!(n < 20, "too many attempts");
    }
    assert!((12..=14).contains(&n), "{n} attempts in 24 h");
    eprintln!(
        "gave up after {n} attempts; the last at +{:.1} h",
        (last_start - T0) as f64 / 3_600_000.0
    );
    // Two more days: nothing more is sent.
    clock.set(T0 + 3 * 86_400_000);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(rx.got().len(), n);
    let log = s
        .get_as(&format!("/v1/webhooks/{ep}/deliveries"), Some(&s.admin_key))
        .await
        .ok();
    assert_eq!(log["items"][0]["state"], "failed");
    assert_eq!(
        log["items"][0]["attempt_log"].as_array().map(Vec::len),
        Some(n)
    );
}

#[tokio::test]
async fn test_sends_rotation_disabling_and_input_checks() {
    let mut s = Seeded::new(0).await;
    let (rx, url) = Receiver::start(&[], 200).await;
    let session = sessions::create(
        &s.pool,
        addr(230).as_str(),
        "v4r2",
        Duration::from_secs(600),
    )
    .await
    .expect("session")
    .0;
    let me = Some(session.expose());
    let r = s
        .send_as("POST", "/v1/webhooks", me, Some(json!({"url": url})))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let first = secret_of(&made);
    let ep = made["endpoint_id"].as_str().expect("id").to_owned();

    // A test send: signed, delivered now, in the log.
    let d = s
        .send_as("POST", &format!("/v1/webhooks/{ep}/test"), me, None)
        .await
        .ok();
    assert_eq!(d["state"], "delivered", "{d}");
    assert_eq!(d["type"], "webhook_test");
    assert_eq!(d["attempt_log"][0]["status_code"], 200);
    let got = rx.wait_for(1).await;
    assert!(verify(&first, &got[0].signature, got[0].body.as_bytes()).is_some());
    let body: serde_json::Value = serde_json::from_str(&got[0].body).expect("body");
    assert_eq!(body["type"], "webhook_test");
    assert_eq!(body["event_id"], d["event_id"]);
    assert_eq!(body["data"]["endpoint_id"], ep.as_str());

    // Rotate: the new secret signs, the old one no longer does.
    let rotated = s
        .send_as(
            "POST",
            &format!("/v1/webhooks/{ep}/rotate-secret"),
            me,
            None,
        )
        .await
        .ok();
    let second = secret_of(&rotated);
    assert_ne!(first, second);
    assert!(rotated["rotated_at"].is_string());
    s.send_as("POST", &format!("/v1/webhooks/{ep}/test"), me, None)
        .await
        .ok();
    let got = rx.wait_for(2).await;
    assert!(verify(&second, &got[1].signature, got[1].body.as_bytes()).is_some());
    assert!(verify(&first, &got[1].signature, got[1].body.as_bytes()).is_none());
    // Neither secret is stored in clear, nor listed.
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(w)::text FROM api_webhook_endpoints w")
            .fetch_all(&s.pool)
            .await
            .expect("rows");
    for row in &rows {
        assert!(!row.contains(first.expose()) && !row.contains(second.expose()));
    }
    let list = s.get_as("/v1/webhooks", me).await;
    assert!(!list.body.contains("whsec_"), "{}", list.body);
    assert_eq!(list.ok()[0]["endpoint_id"], ep.as_str());

    // Bad input: 400s naming the field, 422 for refused URLs.
    for (body, param) in [
        (json!({"url": url, "events": ["ev_nope"]}), "events"),
        (json!({"url": url, "events": []}), "events"),
        (json!({"url": url, "client": addr(230).as_str()}), "client"),
        (json!({"url": url, "extra": 1}), "body"),
        (json!({}), "body"),
    ] {
        let p = s
            .send_as("POST", "/v1/webhooks", me, Some(body.clone()))
            .await
            .problem(400, "invalid-parameter");
        assert_eq!(p["parameter"], param, "{body}");
    }
    for bad in [
        "ftp://example.com/x",
        "not a url",
        "http://user:pw@127.0.0.1/x",
    ] {
        s.send_as("POST", "/v1/webhooks", me, Some(json!({ "url": bad })))
            .await
            .problem(422, "webhook-url-refused");
    }
    s.send_as("DELETE", "/v1/webhooks/we_nothex", me, None)
        .await
        .problem(400, "invalid-parameter");
    s.send_as("DELETE", "/v1/webhooks/we_0000000000000000", me, None)
        .await
        .problem(404, "not-found");

    // SSRF: without allow_private, inside targets are refused when made...
    s.respawn(|c| c.webhooks.allow_private = false).await;
    let long = format!("https://example.com/{}", "a".repeat(2100));
    for bad in [
        url.as_str(),
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/",
        "http://localhost:8080/",
        "http://2130706433/",
        long.as_str(),
    ] {
        let p = s
            .send_as("POST", "/v1/webhooks", me, Some(json!({ "url": bad })))
            .await
            .problem(422, "webhook-url-refused");
        assert!(p["detail"].is_string());
    }
    // ...and when sent (this endpoint was made while they were allowed).
    let before = rx.got().len();
    let d = s
        .send_as("POST", &format!("/v1/webhooks/{ep}/test"), me, None)
        .await
        .ok();
    assert_eq!(d["attempt_log"][0]["status_code"], serde_json::Value::Null);
    assert!(
        d["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("not a public address")),
        "{d}"
    );
    assert_eq!(rx.got().len(), before, "nothing reached the inside host");

    // Disable: gone for sends and rotation; its log stays; its pending retry failed.
    let off = s
        .send_as("DELETE", &format!("/v1/webhooks/{ep}"), me, None)
        .await
        .ok();
    assert!(off["disabled_at"].is_string());
    s.send_as("POST", &format!("/v1/webhooks/{ep}/test"), me, None)
        .await
        .problem(404, "not-found");
    s.send_as(
        "POST",
        &format!("/v1/webhooks/{ep}/rotate-secret"),
        me,
        None,
    )
    .await
    .problem(404, "not-found");
    let log = s
        .get_as(&format!("/v1/webhooks/{ep}/deliveries"), me)
        .await
        .ok();
    let items = log["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["state"], "failed");
    assert_eq!(items[0]["last_error"], "endpoint disabled");

    // A server without a webhook key: 503.
    s.respawn(|c| c.webhooks.key = None).await;
    s.get_as("/v1/webhooks", me)
        .await
        .problem(503, "webhooks-unavailable");
}

#[tokio::test]
async fn payout_events_reach_the_clients_whose_projects_they_pay() {
    let mut s = Seeded::new(0).await;
    s.respawn(|c| c.webhooks.poll = Duration::from_millis(50))
        .await;
    outbox_started(&s).await;
    let (mine, url) = Receiver::start(&[], 200).await;
    let (theirs, other_url) = Receiver::start(&[], 200).await;
    let client = s.key(Scope::Client, Some(addr(230).as_str())).await;
    let stranger = s.key(Scope::Client, Some(addr(231).as_str())).await;
    for (key, u) in [(&client, &url), (&stranger, &other_url)] {
        let r = s
            .send_as("POST", "/v1/webhooks", Some(key), Some(json!({ "url": u })))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // The TON batch (vault addr(250), query 77) pays earnings of the client's project 101.
    s.event(
        &addr(250),
        "ev_batch_executed",
        TON / 2,
        None,
        Some(77),
        None,
    )
    .await;
    let got = mine.wait_for(1).await;
    let body: serde_json::Value = serde_json::from_str(&got[0].body).expect("body");
    assert_eq!(body["type"], "ev_batch_executed");
    assert_eq!(body["data"]["query_id"], "77");
    assert_eq!(body["project_id"], serde_json::Value::Null);
    // A vault event paying nobody's earnings (an unknown batch) goes to no client.
    s.event(&addr(250), "ev_batch_executed", 1, None, Some(9_999), None)
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(mine.got().len(), 1);
    assert!(
        theirs.got().is_empty(),
        "another client got {:?}",
        theirs.got()
    );
}

#[tokio::test]
async fn two_api_processes_share_the_deliveries_without_sending_one_twice() {
    let mut s = Seeded::new(0).await;
    s.respawn(|c| c.webhooks.poll = Duration::from_millis(20))
        .await;
    // A second server on the same database, with its own worker (the same webhook key, as
    // replicas share it).
    let url_db = s.db.as_ref().expect("db").url.clone();
    let mut config = labelmint_api::Config::test(&url_db);
    config.webhooks.key = Some(s.hook_key.clone());
    config.webhooks.poll = Duration::from_millis(20);
    let second = labelmint_api::spawn(config).await.expect("second server");
    outbox_started(&s).await;
    let (rx, url) = Receiver::start(&[], 200).await;
    let r = s
        .send_as(
            "POST",
            "/v1/webhooks",
            Some(&s.admin_key),
            Some(json!({ "url": url })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let n = 40;
    for i in 0..n {
        s.event(
            &addr(TON_PROJECT as u8),
            "ev_deposit",
            i + 1,
            None,
            None,
            None,
        )
        .await;
    }
    let got = rx.wait_for(n as usize).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = rx.got();
    assert_eq!(got_now.len(), got.len(), "more requests came late");
    let mut ids: Vec<&str> = got_now.iter().map(|g| g.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n as usize, "every event once");
    assert_eq!(got_now.len(), n as usize, "no event twice");
    let (delivered, attempts): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'delivered'), COALESCE(sum(attempts), 0) \
         FROM api_webhook_deliveries",
    )
    .fetch_one(&s.pool)
    .await
    .expect("count");
    assert_eq!(
        (delivered, attempts),
        (i64::from(n as u32), i64::from(n as u32))
    );
    second.shutdown().await.expect("stop the second server");
}
