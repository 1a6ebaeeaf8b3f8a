//! `/v1/indexer/status`: how far the indexer got and how old that is.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::problem::ApiError;
use crate::problem::Problem;
use crate::server::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status))
}

/// The indexer's progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndexerStatus {
    /// The last masterchain block whose rows are all committed (`null`: none yet).
    pub last_mc_seqno: Option<i64>,
    /// When that block was made (unix seconds, chain time).
    pub last_mc_gen_utime: Option<i64>,
    /// When the indexer committed it (RFC 3339, UTC).
    pub committed_at: Option<String>,
    /// Seconds between that block's time and now.
    pub lag_seconds: Option<i64>,
    /// Blocks behind the newest masterchain block the indexer has seen on its liteserver
    /// (`head_mc_seqno - last_mc_seqno`, at least 0); `null` until it has read the head.
    pub lag_blocks: Option<i64>,
    /// The newest masterchain block the indexer has seen on its liteserver.
    pub head_mc_seqno: Option<i64>,
}

/// The indexer's last committed masterchain block and its lag.
#[utoipa::path(get, path = "/v1/indexer/status", tag = "chain",
    security(("bearer" = [])),
    responses(
        (status = 200, body = IndexerStatus),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn status(
    State(st): State<AppState>,
    Caller(_who): Caller,
) -> Result<Json<IndexerStatus>, ApiError> {
    type Row = (i64, Option<i64>, String, i64, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT c.mc_seqno, b.gen_utime, \
           to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
           extract(epoch FROM now())::bigint, c.head_seqno \
         FROM checkpoint c LEFT JOIN blocks b ON b.workchain = -1 AND b.seqno = c.mc_seqno",
    )
    .fetch_optional(&st.pool)
    .await?;
    Ok(Json(match row {
        None => IndexerStatus {
            last_mc_seqno: None,
            last_mc_gen_utime: None,
            committed_at: None,
            lag_seconds: None,
            lag_blocks: None,
            head_mc_seqno: None,
        },
        Some((seqno, made, at, now, head)) => IndexerStatus {
            last_mc_seqno: Some(seqno),
            last_mc_gen_utime: made,
            committed_at: Some(at),
            lag_seconds: made.map(|m| (now - m).max(0)),
            lag_blocks: head.map(|h| (h - seqno).max(0)),
            head_mc_seqno: head,
        },
    }))
}
