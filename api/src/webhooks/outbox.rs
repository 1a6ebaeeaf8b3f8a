//! The outbox: turns newly indexed events into deliveries, exactly once per (endpoint, event).

use sqlx::PgPool;

use super::rfc3339_ms;
use crate::streams::{StreamEvent, StreamKey, newest, read_after};

/// Events one pass turns into deliveries at most.
const PAGE: i64 = 500;

/// The JSON body of an event's webhook.
pub fn body(ev: &StreamEvent) -> String {
    let data: serde_json::Value = serde_json::from_str(&ev.data).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "event_id": ev.key.to_string(),
        "type": ev.kind,
        "created_at": rfc3339_ms(ev.now.saturating_mul(1000)),
        "project_id": ev.project_id,
        "data": data,
    })
    .to_string()
}

/// One pass: in one transaction, lock the cursor, read the events after it, make the
/// deliveries of every live endpoint that wants each, move the cursor. Several processes may
/// run it: the row lock orders them, and `UNIQUE (endpoint_id, event_id)` would absorb a
/// repeat anyway. The first pass ever starts at the newest event (history is not sent).
/// Answers how many events it read.
pub async fn fill(pool: &PgPool, now_ms: i64) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let row: Option<(i64, i64, Vec<u8>, i32)> =
        sqlx::query_as("SELECT mc_seqno, lt, tx_hash, msg_idx FROM api_webhook_outbox FOR UPDATE")
            .fetch_optional(&mut *tx)
            .await?;
    let cursor = match row.and_then(|(m, l, h, i)| StreamKey::from_row(m, l, &h, i)) {
        Some(k) => k,
        None => {
            let start = newest(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO api_webhook_outbox (mc_seqno, lt, tx_hash, msg_idx) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (singleton) DO NOTHING",
            )
            .bind(start.mc_seqno)
            .bind(start.lt)
            .bind(start.tx_hash.to_vec())
            .bind(start.msg_idx)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(0);
        }
    };
    let events = read_after(&mut *tx, &cursor, PAGE, "", None).await?;
    let Some(last) = events.last().map(|e| e.key.clone()) else {
        return Ok(0);
    };
    for ev in &events {
        sqlx::query(
            "INSERT INTO api_webhook_deliveries \
               (endpoint_id, event_id, event_type, body, created_ms, next_attempt_ms) \
             SELECT w.id, $1, $2, $3, $4, $4 FROM api_webhook_endpoints w \
             WHERE w.disabled_at IS NULL AND (w.owner IS NULL OR w.owner = ANY($5)) \
               AND (w.events IS NULL OR $2 = ANY(w.events)) \
             ON CONFLICT (endpoint_id, event_id) DO NOTHING",
        )
        .bind(ev.key.to_string())
        .bind(&ev.kind)
        .bind(body(ev))
        .bind(now_ms)
        .bind(&ev.clients)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE api_webhook_outbox SET mc_seqno = $1, lt = $2, tx_hash = $3, msg_idx = $4, \
           updated_at = now()",
    )
    .bind(last.mc_seqno)
    .bind(last.lt)
    .bind(last.tx_hash.to_vec())
    .bind(last.msg_idx)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(events.len())
}
