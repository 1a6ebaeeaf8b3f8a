//! The endpoints and the delivery log in Postgres (the hooks pool).

use sqlx::{FromRow, PgPool};

use super::sign::{SealKey, new_secret};
use crate::auth::secret::{Secret, random_bytes};

/// RFC 3339 text of a TIMESTAMPTZ column, in SQL.
macro_rules! ts {
    ($col:literal) => {
        concat!(
            "to_char(",
            $col,
            " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        )
    };
}

/// An endpoint as stored (without its secret).
#[derive(Debug, Clone, FromRow)]
pub struct Endpoint {
    /// `we_<16 hex>`.
    pub id: String,
    /// The client wallet (raw); `None`: every project (an admin's).
    pub owner: Option<String>,
    /// Where events are POSTed.
    pub url: String,
    /// The event types it wants (`None`: all).
    pub events: Option<Vec<String>>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, when its secret was last rotated.
    pub rotated_at: Option<String>,
    /// RFC 3339, when it was disabled (it gets nothing after).
    pub disabled_at: Option<String>,
}

const ENDPOINT_COLS: &str = concat!(
    "id, owner, url, events, ",
    ts!("created_at"),
    " AS created_at, ",
    ts!("rotated_at"),
    " AS rotated_at, ",
    ts!("disabled_at"),
    " AS disabled_at"
);

/// Makes an endpoint; answers it with its signing secret (the only time it is shown).
pub async fn create(
    pool: &PgPool,
    key: &SealKey,
    owner: Option<&str>,
    created_by: &str,
    url: &str,
    events: Option<&[String]>,
) -> Result<(Endpoint, Secret), sqlx::Error> {
    let id = format!("we_{}", hex::encode(random_bytes::<8>()));
    let secret = new_secret();
    let sql = format!(
        "INSERT INTO api_webhook_endpoints (id, owner, created_by, url, events, secret_sealed) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ENDPOINT_COLS}"
    );
    let ep: Endpoint = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&id)
        .bind(owner)
        .bind(created_by)
        .bind(url)
        .bind(events)
        .bind(key.seal(&id, &secret))
        .fetch_one(pool)
        .await?;
    Ok((ep, secret))
}

/// The endpoints of `owner` (`None`: all), newest first, at most `limit`.
pub async fn list(
    pool: &PgPool,
    owner: Option<&str>,
    limit: i64,
) -> Result<Vec<Endpoint>, sqlx::Error> {
    let sql = format!(
        "SELECT {ENDPOINT_COLS} FROM api_webhook_endpoints \
         WHERE ($1::text IS NULL OR owner = $1) ORDER BY created_at DESC, id LIMIT $2"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// One endpoint.
pub async fn get(pool: &PgPool, id: &str) -> Result<Option<Endpoint>, sqlx::Error> {
    let sql = format!("SELECT {ENDPOINT_COLS} FROM api_webhook_endpoints WHERE id = $1");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Disables an endpoint (kept with its log) and fails its pending deliveries.
pub async fn disable(
    pool: &PgPool,
    id: &str,
    now_ms: i64,
) -> Result<Option<Endpoint>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let sql = format!(
        "UPDATE api_webhook_endpoints SET disabled_at = COALESCE(disabled_at, now()) \
         WHERE id = $1 RETURNING {ENDPOINT_COLS}"
    );
    let ep: Option<Endpoint> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE api_webhook_deliveries SET state = 'failed', next_attempt_ms = NULL, \
           last_error = 'endpoint disabled', finished_ms = $2 \
         WHERE endpoint_id = $1 AND state = 'pending'",
    )
    .bind(id)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ep)
}

/// A new signing secret for a live endpoint (the old one stops signing at once).
pub async fn rotate(
    pool: &PgPool,
    key: &SealKey,
    id: &str,
) -> Result<Option<(Endpoint, Secret)>, sqlx::Error> {
    let secret = new_secret();
    let sql = format!(
        "UPDATE api_webhook_endpoints SET secret_sealed = $2, rotated_at = now() \
         WHERE id = $1 AND disabled_at IS NULL RETURNING {ENDPOINT_COLS}"
    );
    let ep: Option<Endpoint> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(key.seal(id, &secret))
        .fetch_optional(pool)
        .await?;
    Ok(ep.map(|e| (e, secret)))
}

/// A delivery and its attempts.
#[derive(Debug, Clone, FromRow)]
pub struct Delivery {
    /// Its id.
    pub id: i64,
    /// The event id the receiver de-duplicates by.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i32,
    /// Unix ms (the worker's clock).
    pub created_ms: i64,
    /// When the next attempt is due (pending only).
    pub next_attempt_ms: Option<i64>,
    /// When it was delivered or given up.
    pub finished_ms: Option<i64>,
    /// The last answer's status.
    pub last_status: Option<i32>,
    /// The last error (no answer, or not 2xx).
    pub last_error: Option<String>,
    /// Its attempts, first first.
    #[sqlx(skip)]
    pub log: Vec<Attempt>,
}

/// One attempt.
#[derive(Debug, Clone, FromRow)]
pub struct Attempt {
    /// 1, 2, ...
    pub attempt: i32,
    /// Unix ms.
    pub started_ms: i64,
    /// Unix ms.
    pub finished_ms: i64,
    /// The receiver's status, if it answered.
    pub status_code: Option<i32>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// An endpoint's deliveries, newest first, before delivery id `before`, at most `limit`.
pub async fn deliveries(
    pool: &PgPool,
    endpoint: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let mut ds: Vec<Delivery> = sqlx::query_as(
        "SELECT id, event_id, event_type, state, attempts, created_ms, next_attempt_ms, \
           finished_ms, last_status, last_error \
         FROM api_webhook_deliveries WHERE endpoint_id = $1 AND ($2::bigint IS NULL OR id < $2) \
         ORDER BY id DESC LIMIT $3",
    )
    .bind(endpoint)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let ids: Vec<i64> = ds.iter().map(|d| d.id).collect();
    #[derive(FromRow)]
    struct Row {
        delivery_id: i64,
        #[sqlx(flatten)]
        attempt: Attempt,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT delivery_id, attempt, started_ms, finished_ms, status_code, error \
         FROM api_webhook_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    for r in rows {
        if let Some(d) = ds.iter_mut().find(|d| d.id == r.delivery_id) {
            d.log.push(r.attempt);
        }
    }
    Ok(ds)
}
