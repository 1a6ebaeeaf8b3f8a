//! `Idempotency-Key` on every POST that writes: (caller, key) -> the request's hash and the
//! answer, kept 24 h ([`TTL`]).
//!
//! ```text
//! POST + Idempotency-Key: K + body B
//!   INSERT (caller, K, hash(method, path, canonical JSON of B), in_flight, lease 60 s)
//!     inserted ............................ run the handler, store its answer (2xx and 4xx;
//!                                           a 5xx deletes the row so a retry runs again)
//!     conflict, other hash ................ 422 idempotency-key-reused
//!     conflict, done ...................... the stored status and body again, with
//!                                           `Idempotent-Replayed: true`
//!     conflict, in_flight, lease running .. 409 idempotency-key-in-flight
//!     conflict, in_flight, lease over ..... take it over (its holder died): run again with
//!                                           the id the first run reserved, so a project
//!                                           id, hence its escrow, is the same
//! ```
//!
//! Of two concurrent requests with one key exactly one inserts the row (the primary key), so
//! never two escrows for one key. Rows older than [`TTL`] are deleted when a key is used, and
//! a key older than that is new again.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};
use sqlx::PgPool;

use crate::auth::Principal;
use crate::problem::{ApiError, PROBLEM_JSON, Problem};

/// How long a key and its answer are kept.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a request may hold its key before another request with it may take over.
pub const LEASE: Duration = Duration::from_secs(60);
/// The header a replayed answer carries.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// The longest key.
pub const MAX_KEY: usize = 255;

/// The request's `Idempotency-Key` (required; 1..=255 printable ASCII characters).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let bad = |why: &str| ApiError::param("Idempotency-Key", why);
        let v = parts
            .headers
            .get("idempotency-key")
            .ok_or_else(|| bad("this POST needs an Idempotency-Key header (e.g. a UUID)"))?;
        let s = v
            .to_str()
            .map_err(|_| bad("1 to 255 printable ASCII characters"))?;
        if s.is_empty() || s.len() > MAX_KEY || !s.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(bad("1 to 255 printable ASCII characters"));
        }
        Ok(IdempotencyKey(s.to_owned()))
    }
}

/// Who a key belongs to: keys of different callers never meet.
pub fn caller_id(p: &Principal) -> String {
    match p {
        Principal::Key { key_id, .. } => format!("key:{key_id}"),
        Principal::Session { address } => format!("session:{address}"),
    }
}

/// SHA-256 over the method, the path and the body's canonical JSON (keys sorted, no spaces),
/// so the same request written differently is the same request. A body that is not JSON is
/// hashed as its bytes.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    if body.iter().all(u8::is_ascii_whitespace) {
        h.update(b"{}");
    } else {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(v) => h.update(v.to_string().as_bytes()),
            Err(_) => h.update(body),
        }
    }
    h.finalize().into()
}

/// What [`begin`] decided.
#[derive(Debug)]
pub enum Begin {
    /// Run the request; `reserved_id`: what an earlier, dead run of this key reserved.
    Run {
        /// The id reserved by a run that died.
        reserved_id: Option<u64>,
    },
    /// Answer this again.
    Replay(Stored),
}

/// A stored answer.
#[derive(Debug)]
pub struct Stored {
    /// Its status.
    pub status: StatusCode,
    /// Its body.
    pub body: Vec<u8>,
    /// Its content type.
    pub content_type: String,
}

impl IntoResponse for Stored {
    fn into_response(self) -> Response {
        let ct = HeaderValue::from_str(&self.content_type)
            .unwrap_or(HeaderValue::from_static("application/json"));
        let problem = if self.content_type == PROBLEM_JSON {
            serde_json::from_slice::<Problem>(&self.body).ok()
        } else {
            None
        };
        let mut res = (self.status, self.body).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, ct);
        res.headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
        // A stored problem gets this request's instance and id again.
        if let Some(p) = problem {
            res.extensions_mut().insert(p);
        }
        res
    }
}

type Row = (
    Vec<u8>,
    String,
    Option<i16>,
    Option<Vec<u8>>,
    Option<String>,
);

/// Claims `key` for `caller` and a request hashing to `hash`, or says why not.
pub async fn begin(
    pool: &PgPool,
    caller: &str,
    key: &str,
    hash: &[u8; 32],
) -> Result<Begin, ApiError> {
    let ttl = secs(TTL);
    let lease = secs(LEASE);
    sqlx::query("DELETE FROM api_idempotency WHERE created_at < now() - make_interval(secs => $1)")
        .bind(ttl)
        .execute(pool)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO api_idempotency (caller, key, request_sha256, state, locked_until) \
         VALUES ($1, $2, $3, 'in_flight', now() + make_interval(secs => $4)) \
         ON CONFLICT (caller, key) DO NOTHING",
    )
    .bind(caller)
    .bind(key)
    .bind(hash.as_slice())
    .bind(lease)
    .execute(pool)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        return Ok(Begin::Run { reserved_id: None });
    }
    let taken: Option<Option<String>> = sqlx::query_scalar(
        "UPDATE api_idempotency SET locked_until = now() + make_interval(secs => $4) \
         WHERE caller = $1 AND key = $2 AND request_sha256 = $3 AND state = 'in_flight' \
           AND locked_until < now() \
         RETURNING reserved_id::text",
    )
    .bind(caller)
    .bind(key)
    .bind(hash.as_slice())
    .bind(lease)
    .fetch_optional(pool)
    .await?;
    if let Some(reserved) = taken {
        tracing::warn!(caller, "idempotency key taken over after its lease ran out");
        let reserved_id = reserved
            .map(|r| r.parse::<u64>())
            .transpose()
            .map_err(|e| ApiError::Internal(format!("api_idempotency.reserved_id: {e}")))?;
        return Ok(Begin::Run { reserved_id });
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT request_sha256, state, status, response, content_type FROM api_idempotency \
         WHERE caller = $1 AND key = $2",
    )
    .bind(caller)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    let Some((stored_hash, state, status, response, content_type)) = row else {
        // Deleted between the two statements (its run failed): the caller may retry at once.
        return Err(ApiError::IdempotencyKeyInFlight);
    };
    if stored_hash.as_slice() != hash.as_slice() {
        return Err(ApiError::IdempotencyKeyReused);
    }
    match (state.as_str(), status, response) {
        ("done", Some(status), Some(body)) => Ok(Begin::Replay(Stored {
            status: u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK),
            body,
            content_type: content_type.unwrap_or_else(|| "application/json".to_owned()),
        })),
        _ => Err(ApiError::IdempotencyKeyInFlight),
    }
}

/// Remembers an id the running request allocated (a takeover reuses it).
pub async fn reserve(pool: &PgPool, caller: &str, key: &str, id: u64) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE api_idempotency SET reserved_id = $3::text::numeric \
         WHERE caller = $1 AND key = $2 AND state = 'in_flight'",
    )
    .bind(caller)
    .bind(key)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

/// Stores the answer (2xx and 4xx), or frees the key (5xx: a retry should run again).
pub async fn finish(
    pool: &PgPool,
    caller: &str,
    key: &str,
    status: StatusCode,
    body: &[u8],
    content_type: &str,
) -> Result<(), ApiError> {
    if status.is_server_error() {
        sqlx::query(
            "DELETE FROM api_idempotency WHERE caller = $1 AND key = $2 AND state = 'in_flight'",
        )
        .bind(caller)
        .bind(key)
        .execute(pool)
        .await?;
        return Ok(());
    }
    sqlx::query(
        "UPDATE api_idempotency SET state = 'done', status = $3, response = $4, \
           content_type = $5 \
         WHERE caller = $1 AND key = $2 AND state = 'in_flight'",
    )
    .bind(caller)
    .bind(key)
    .bind(i16::try_from(status.as_u16()).unwrap_or(500))
    .bind(body)
    .bind(content_type)
    .execute(pool)
    .await?;
    Ok(())
}

fn secs(d: Duration) -> f64 {
    // Durations of configuration (seconds to a day): exact in an f64.
    d.as_secs() as f64
}

/// Runs `work` under the key: replays, refuses, or runs it and stores its answer. The answer
/// of `work` is JSON (`Ok`) or a problem (`Err`).
pub async fn run<T, F>(
    pool: &PgPool,
    caller: &str,
    key: &str,
    hash: &[u8; 32],
    ok_status: StatusCode,
    work: impl FnOnce(Option<u64>) -> F,
) -> Response
where
    T: serde::Serialize,
    F: Future<Output = Result<T, ApiError>>,
{
    let reserved_id = match begin(pool, caller, key, hash).await {
        Ok(Begin::Run { reserved_id }) => reserved_id,
        Ok(Begin::Replay(stored)) => return stored.into_response(),
        Err(e) => return e.into_response(),
    };
    let (status, body, content_type, res) = match work(reserved_id).await {
        Ok(v) => match serde_json::to_vec(&v) {
            Ok(body) => {
                let mut res = (ok_status, body.clone()).into_response();
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                (ok_status, body, "application/json", res)
            }
            Err(e) => {
                let e = ApiError::Internal(format!("encode the answer: {e}"));
                let status = e.kind().status();
                (status, Vec::new(), PROBLEM_JSON, e.into_response())
            }
        },
        Err(e) => {
            let status = e.kind().status();
            let body = serde_json::to_vec(&e.problem()).unwrap_or_default();
            (status, body, PROBLEM_JSON, e.into_response())
        }
    };
    if let Err(e) = finish(pool, caller, key, status, &body, content_type).await {
        // The answer stands; the key stays in flight until its lease ends, then a retry runs
        // again (and reuses the reserved id).
        tracing::warn!(error = %e, "could not store the idempotent answer");
    }
    res
}
