//! `/health` (the process is up), `/ready` (the database answers and the indexer is recent
//! enough), `/metrics` (Prometheus text).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::{ApiError, Problem};
use crate::server::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics))
}

/// `/health` and `/ready` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok`.
    pub status: &'static str,
    /// `/ready`: seconds since the last indexed masterchain block was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indexer_lag_seconds: Option<i64>,
}

/// The process is up (no dependency is checked).
#[utoipa::path(get, path = "/health", tag = "ops",
    responses((status = 200, description = "Up", body = Status)))]
async fn health() -> Json<Status> {
    Json(Status {
        status: "ok",
        indexer_lag_seconds: None,
    })
}

/// The database answers and the last indexed masterchain block is recent enough.
#[utoipa::path(get, path = "/ready", tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Status),
        (status = 503, description = "Not ready (which dependency, why)", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
async fn ready(State(st): State<AppState>) -> Result<Json<Status>, ApiError> {
    let row: Option<(Option<i64>, i64)> = sqlx::query_as(
        "SELECT b.gen_utime, extract(epoch FROM now())::bigint FROM checkpoint c \
         LEFT JOIN blocks b ON b.workchain = -1 AND b.seqno = c.mc_seqno",
    )
    .fetch_optional(&st.pool)
    .await
    .map_err(|e| ApiError::NotReady {
        reason: format!("database: {}", short(&e)),
    })?;
    let Some((Some(made), now)) = row else {
        return Err(ApiError::NotReady {
            reason: "indexer: no masterchain block indexed yet".to_owned(),
        });
    };
    let lag = (now - made).max(0);
    let bound = i64::try_from(st.max_indexer_lag.as_secs()).unwrap_or(i64::MAX);
    if lag > bound {
        return Err(ApiError::NotReady {
            reason: format!(
                "indexer: the last indexed masterchain block is {lag} s old (bound {bound} s)"
            ),
        });
    }
    Ok(Json(Status {
        status: "ok",
        indexer_lag_seconds: Some(lag),
    }))
}

/// Why a database call failed, without anything of the URL or the database's name (a
/// server message may quote them: only its SQLSTATE is shown; the log has the rest).
fn short(e: &sqlx::Error) -> String {
    tracing::warn!(cause = %e, "ready: database check failed");
    match e {
        sqlx::Error::PoolTimedOut => "no connection within the acquire timeout".to_owned(),
        sqlx::Error::Io(io) => io.kind().to_string(),
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("the server refused (SQLSTATE {code})"),
            None => "the server refused".to_owned(),
        },
        _ => "unavailable".to_owned(),
    }
}

/// Prometheus text exposition of the server's request counters and latencies. Without a
/// credential, but by default only to connections from this host (`--metrics-public` opens it).
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"),
        (status = 403, description = "a connection from another host (and no `--metrics-public`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn metrics(
    State(st): State<AppState>,
    req: axum::extract::Request,
) -> Result<impl IntoResponse, ApiError> {
    if st.metrics_loopback_only {
        let peer = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        if !peer.is_some_and(|ip| ip.is_loopback()) {
            return Err(ApiError::InsufficientScope(
                "/metrics answers connections from this host only (127.0.0.1, ::1): scrape it \
                 locally, or start the server with --metrics-public behind a proxy that guards it"
                    .into(),
            ));
        }
    }
    let mut text = st.metrics.render();
    text.push_str(&st.streams.render_metrics());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
