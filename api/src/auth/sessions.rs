//! Wallet sessions (`api_sessions`) and ton_proof payloads (`ton_proof_payloads`) in Postgres.

use std::time::Duration;

use sqlx::PgPool;

use crate::auth::secret::{self, Secret};

fn secs(d: Duration) -> f64 {
    // Durations of configuration (minutes to days): exact in an f64.
    d.as_secs() as f64
}

/// A new session for `address` (raw form), valid for `ttl`: the token (shown once) and its
/// expiry (RFC 3339). Also deletes sessions a day past their expiry.
pub async fn create(
    pool: &PgPool,
    address: &str,
    wallet: &str,
    ttl: Duration,
) -> Result<(Secret, String), sqlx::Error> {
    sqlx::query("DELETE FROM api_sessions WHERE expires_at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    let token = secret::new_session_token();
    let expires: String = sqlx::query_scalar(
        "INSERT INTO api_sessions (token_sha256, address, wallet, expires_at) \
         VALUES ($1, $2, $3, now() + make_interval(secs => $4)) \
         RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    )
    .bind(token.sha256().as_slice())
    .bind(address)
    .bind(wallet)
    .bind(secs(ttl))
    .fetch_one(pool)
    .await?;
    Ok((token, expires))
}

/// The wallet of a live session and the milliseconds it has left (`None`: unknown, expired or
/// revoked).
pub async fn lookup(
    pool: &PgPool,
    sha256: &[u8; 32],
) -> Result<Option<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT address, (EXTRACT(EPOCH FROM expires_at - now()) * 1000)::bigint \
         FROM api_sessions WHERE token_sha256 = $1 \
           AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(sha256.as_slice())
    .fetch_optional(pool)
    .await
}

/// Ends a session (logout). Whether it was live.
pub async fn revoke(pool: &PgPool, sha256: &[u8; 32]) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE api_sessions SET revoked_at = now() WHERE token_sha256 = $1 AND revoked_at IS NULL",
    )
    .bind(sha256.as_slice())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// A new ton_proof payload (64 hex digits), valid for `ttl`; also deletes payloads a day past
/// their expiry. Answers the payload and its expiry (RFC 3339).
pub async fn issue_payload(pool: &PgPool, ttl: Duration) -> Result<(String, String), sqlx::Error> {
    sqlx::query("DELETE FROM ton_proof_payloads WHERE expires_at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    let payload = hex::encode(secret::random_bytes::<32>());
    let expires: String = sqlx::query_scalar(
        "INSERT INTO ton_proof_payloads (payload, expires_at) \
         VALUES ($1, now() + make_interval(secs => $2)) \
         RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    )
    .bind(&payload)
    .bind(secs(ttl))
    .fetch_one(pool)
    .await?;
    Ok((payload, expires))
}

/// Where a payload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadState {
    /// Issued, unexpired, unused.
    Fresh,
    /// Never issued (or long deleted).
    Unknown,
    /// Issued, past its expiry.
    Expired,
    /// Already used by a login.
    Used,
}

async fn state(pool: &PgPool, payload: &str) -> Result<PayloadState, sqlx::Error> {
    let row: Option<(bool, bool)> = sqlx::query_as(
        "SELECT consumed_at IS NOT NULL, expires_at <= now() FROM ton_proof_payloads \
         WHERE payload = $1",
    )
    .bind(payload)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => PayloadState::Unknown,
        Some((true, _)) => PayloadState::Used,
        Some((false, true)) => PayloadState::Expired,
        Some((false, false)) => PayloadState::Fresh,
    })
}

/// Where a payload stands, without using it (a cheap early refusal).
pub async fn peek_payload(pool: &PgPool, payload: &str) -> Result<PayloadState, sqlx::Error> {
    state(pool, payload).await
}

/// Uses a payload: one statement sets `consumed_at` only if it is unset and unexpired, so of
/// two logins racing with one payload exactly one gets [`PayloadState::Fresh`].
pub async fn consume_payload(pool: &PgPool, payload: &str) -> Result<PayloadState, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE ton_proof_payloads SET consumed_at = now() \
         WHERE payload = $1 AND consumed_at IS NULL AND expires_at > now()",
    )
    .bind(payload)
    .execute(pool)
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(PayloadState::Fresh);
    }
    match state(pool, payload).await? {
        // Expired between the two statements, or consumed by the racer.
        PayloadState::Fresh => Ok(PayloadState::Used),
        other => Ok(other),
    }
}
