//! Sending: the HTTP client, claiming due deliveries, one attempt and its record, the worker.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sqlx::{FromRow, PgPool};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::sign::{EVENT_ID_HEADER, SIGNATURE_HEADER, SealKey, signature};
use super::ssrf::{GuardedResolver, check_syntax};
use super::{WebhookConfig, outbox};

/// The user agent of every webhook request.
pub const USER_AGENT: &str = "LabelMint-Webhooks/1";

/// Errors are stored and shown up to this many characters.
const MAX_ERROR: usize = 500;

type Https = HttpsConnector<HttpConnector<GuardedResolver>>;

/// The outbound HTTP client: hyper-util's, rustls with the Mozilla roots, the SSRF-guarded
/// resolver, a timeout per attempt, no redirects followed (a 3xx is a failed attempt).
#[derive(Debug, Clone)]
pub struct Sender {
    client: Client<Https, Full<Bytes>>,
    timeout: Duration,
    allow_private: bool,
}

impl Sender {
    /// A client for `config`.
    pub fn new(config: &WebhookConfig) -> Sender {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver {
            allow_private: config.allow_private,
        });
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Sender {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(https),
            timeout: config.timeout,
            allow_private: config.allow_private,
        }
    }

    /// POSTs `body` to `url` with `headers`: the status, or why there is none.
    pub async fn post(
        &self,
        url: &str,
        body: &str,
        headers: &[(&str, String)],
    ) -> Result<u16, String> {
        // Again at every send: an IP-literal host does not go through the resolver.
        check_syntax(url, self.allow_private)?;
        let mut req = hyper::Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", USER_AGENT);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| format!("request: {e}"))?;
        match tokio::time::timeout(self.timeout, self.client.request(req)).await {
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            Ok(Err(e)) => {
                let mut msg = format!("{e}");
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    msg.push_str(": ");
                    msg.push_str(&s.to_string());
                    src = s.source();
                }
                Err(msg)
            }
            Ok(Ok(res)) => Ok(res.status().as_u16()),
        }
    }
}

/// A delivery taken for one attempt.
#[derive(Debug, Clone, FromRow)]
pub struct Claimed {
    /// The delivery.
    pub id: i64,
    /// Its endpoint.
    pub endpoint_id: String,
    /// The event id.
    pub event_id: String,
    /// The bytes to send.
    pub body: String,
    /// This attempt's number.
    pub attempts: i32,
    /// When the delivery was made (unix ms): the 24-hour window starts here.
    pub created_ms: i64,
    /// The endpoint's URL.
    pub url: String,
    /// Its sealed secret.
    pub secret_sealed: Vec<u8>,
}

/// Takes up to `limit` due deliveries of live endpoints for one attempt each: counts the
/// attempt and moves `next_attempt_ms` to `now + lease`, so no other worker takes them
/// meanwhile (`FOR UPDATE SKIP LOCKED`: workers of several processes skip each other's rows).
pub async fn claim_due(
    pool: &PgPool,
    now_ms: i64,
    lease_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as(
        "WITH due AS ( \
           SELECT d.id FROM api_webhook_deliveries d \
           JOIN api_webhook_endpoints w ON w.id = d.endpoint_id \
           WHERE d.state = 'pending' AND d.next_attempt_ms <= $1 AND w.disabled_at IS NULL \
           ORDER BY d.next_attempt_ms, d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED) \
         UPDATE api_webhook_deliveries d SET next_attempt_ms = $1 + $2, attempts = d.attempts + 1 \
         FROM due, api_webhook_endpoints w WHERE d.id = due.id AND w.id = d.endpoint_id \
         RETURNING d.id, d.endpoint_id, d.event_id, d.body, d.attempts, d.created_ms, w.url, \
           w.secret_sealed",
    )
    .bind(now_ms)
    .bind(lease_ms)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// What one attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// `delivered`, `pending` (tried again at `next_attempt_ms`) or `failed`.
    pub state: &'static str,
    /// When the next attempt is due.
    pub next_attempt_ms: Option<i64>,
}

/// Makes one attempt of `c` and records it (the attempt row and the delivery's new state).
pub async fn attempt(
    pool: &PgPool,
    sender: &Sender,
    key: &SealKey,
    config: &WebhookConfig,
    c: &Claimed,
) -> Result<Outcome, sqlx::Error> {
    let started = config.clock.now_ms();
    let result = match key.open(&c.endpoint_id, &c.secret_sealed) {
        None => Err("the signing secret does not open with this server's webhook key".to_owned()),
        Some(secret) => {
            let t = started.div_euclid(1000);
            let headers = [
                (SIGNATURE_HEADER, signature(&secret, t, c.body.as_bytes())),
                (EVENT_ID_HEADER, c.event_id.clone()),
                ("labelmint-delivery-attempt", c.attempts.to_string()),
            ];
            sender.post(&c.url, &c.body, &headers).await
        }
    };
    let finished = config.clock.now_ms().max(started);
    let (status, error) = match result {
        Ok(s) if (200..300).contains(&s) => (Some(s), None),
        Ok(s) => (Some(s), Some(format!("the receiver answered {s}"))),
        Err(e) => (None, Some(e.chars().take(MAX_ERROR).collect::<String>())),
    };
    let delivered = error.is_none();
    let next = if delivered {
        None
    } else {
        config.backoff.next_attempt_jittered(
            c.created_ms,
            started,
            u32::try_from(c.attempts).unwrap_or(u32::MAX),
        )
    };
    let state = match (delivered, next) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO api_webhook_attempts \
           (delivery_id, attempt, started_ms, finished_ms, status_code, error) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(c.id)
    .bind(c.attempts)
    .bind(started)
    .bind(finished)
    .bind(status.map(i32::from))
    .bind(&error)
    .execute(&mut *tx)
    .await?;
    // Only the claim that made this attempt may settle it (a lease that ran out and was
    // claimed again has a higher attempt count).
    sqlx::query(
        "UPDATE api_webhook_deliveries SET state = $3, next_attempt_ms = $4, \
           last_status = $5, last_error = $6, \
           finished_ms = CASE WHEN $3 = 'pending' THEN NULL ELSE $7 END \
         WHERE id = $1 AND attempts = $2 AND state = 'pending'",
    )
    .bind(c.id)
    .bind(c.attempts)
    .bind(state)
    .bind(next)
    .bind(status.map(i32::from))
    .bind(&error)
    .bind(finished)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    match &error {
        None => tracing::info!(delivery = c.id, endpoint = %c.endpoint_id, event_id = %c.event_id,
            attempt = c.attempts, status = ?status, "webhook delivered"),
        Some(e) => tracing::warn!(delivery = c.id, endpoint = %c.endpoint_id,
            event_id = %c.event_id, attempt = c.attempts, status = ?status, error = %e, state,
            "webhook attempt failed"),
    }
    Ok(Outcome {
        status,
        error,
        state,
        next_attempt_ms: next,
    })
}

/// How long a claimed attempt holds its delivery: the request timeout and a margin.
pub fn lease_ms(config: &WebhookConfig) -> i64 {
    i64::try_from(config.timeout.as_millis()).unwrap_or(i64::MAX / 2) + 30_000
}

/// One pass of the worker: the outbox, then every due delivery (in groups of
/// `concurrency`). Answers how many attempts it made.
pub async fn pass(
    pool: &PgPool,
    sender: &Sender,
    key: &SealKey,
    config: &WebhookConfig,
) -> Result<usize, sqlx::Error> {
    while outbox::fill(pool, config.clock.now_ms()).await? > 0 {}
    let mut made = 0;
    loop {
        let now = config.clock.now_ms();
        let claimed = claim_due(
            pool,
            now,
            lease_ms(config),
            i64::try_from(config.concurrency.max(1)).unwrap_or(16),
        )
        .await?;
        if claimed.is_empty() {
            return Ok(made);
        }
        made += claimed.len();
        let results = futures::future::join_all(
            claimed
                .iter()
                .map(|c| attempt(pool, sender, key, config, c)),
        )
        .await;
        for r in results {
            r?;
        }
    }
}

/// Starts the delivery worker; it stops when `shutdown` turns true.
pub fn spawn(
    pool: PgPool,
    config: WebhookConfig,
    key: SealKey,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let config = Arc::new(config);
    tokio::spawn(async move {
        let sender = Sender::new(&config);
        let mut tick = tokio::time::interval(config.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
            tokio::select! {
                r = pass(&pool, &sender, &key, &config) => if let Err(e) = r {
                    tracing::warn!(error = %e, "webhook worker pass failed; retrying next tick");
                },
                _ = shutdown.changed() => return,
            }
        }
    })
}
