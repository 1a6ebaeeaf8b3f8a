//! `/v1/projects/{project_id}/stream` and `/v1/workers/{address}/stream`: server-sent events
//! (HTML Living Standard, "Server-sent events"), resumable with `Last-Event-ID`.
//!
//! Each SSE event: `id:` the event's [`StreamKey`] (opaque, grows in commit order), `event:`
//! its TL-B constructor (`ev_deposit`, ...), `data:` the same JSON object as an item of
//! `GET /v1/projects/{project_id}/events`. The stream starts with `retry:` and sends a
//! `: keep-alive` comment when idle. Without `Last-Event-ID` (header, or `?last_event_id=` for
//! a browser's first connect) it starts at the first event.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, Principal};
use crate::extract::{Q, Seg};
use crate::problem::{ApiError, Problem};
use crate::routes::projects::EventView;
use crate::server::AppState;
use crate::streams::{Filter, StreamKey, pump};
use crate::wire::{clip, parse_address, parse_u64};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(project_stream))
        .routes(routes!(worker_stream))
}

/// Where to resume.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// The `id` of the last event received, for clients that cannot set the `Last-Event-ID`
    /// header (a browser's first `EventSource` connect). The header wins when both are sent.
    pub last_event_id: Option<String>,
}

/// The key to resume after: the `Last-Event-ID` header, else `?last_event_id=`, else the start.
fn resume_key(headers: &HeaderMap, q: &StreamQuery) -> Result<StreamKey, ApiError> {
    let (name, text) = match headers.get("last-event-id") {
        Some(v) => (
            "Last-Event-ID",
            v.to_str()
                .map_err(|_| ApiError::param("Last-Event-ID", "not visible ASCII"))?
                .to_owned(),
        ),
        None => match &q.last_event_id {
            Some(t) => ("last_event_id", t.clone()),
            None => return Ok(StreamKey::ZERO),
        },
    };
    // The HTML standard: an empty id resets the stream (start over).
    if text.is_empty() {
        return Ok(StreamKey::ZERO);
    }
    StreamKey::parse(&text).ok_or_else(|| {
        ApiError::param(
            name,
            format!(
                "{:?} is not an event id of this API (send the `id` of an event as is)",
                clip(&text)
            ),
        )
    })
}

fn open(
    st: &AppState,
    who: &Principal,
    filter: Filter,
    after: StreamKey,
) -> Result<Response, ApiError> {
    let hub = st.streams.clone();
    let caller = who.caller_id();
    let permit = hub
        .limiter
        .acquire(&caller)
        .ok_or_else(|| ApiError::TooManyStreams {
            open: hub.limiter.open(&caller),
            max: hub.config.max_per_caller,
        })?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(hub.config.buffer.max(1));
    let retry = hub.config.retry;
    let keep_alive = hub.config.keep_alive;
    tokio::spawn(pump(hub, st.pool.clone(), filter, after, tx, permit));
    let first = futures::stream::once(async move { Event::default().retry(retry).comment("") });
    let events: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(first.chain(ReceiverStream::new(rx)).map(Ok));
    let mut res = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keep_alive).text("keep-alive"))
        .into_response();
    // Tell reverse proxies (nginx) not to buffer the stream.
    res.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(res)
}

/// The project's escrow events as server-sent events: first those after `Last-Event-ID` (all,
/// without it), then each new one within about a second of its block being indexed. Same
/// authorization as `GET /v1/projects/{project_id}`. At most a few streams per caller (429
/// `too-many-streams`); a caller that stops reading is disconnected and resumes with
/// `Last-Event-ID`.
#[utoipa::path(get, path = "/v1/projects/{project_id}/stream", tag = "streams",
    security(("bearer" = [])),
    params(
        ("project_id" = String, Path, description = "uint64 project id"),
        ("Last-Event-ID" = Option<String>, Header, description = "the `id` of the last event received: the stream resumes right after it"),
        StreamQuery,
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `id:` event id, `event:` TL-B constructor, `data:` an EventView as JSON", content_type = "text/event-stream", body = EventView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn project_stream(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
    Q(q): Q<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let pid = parse_u64("project_id", &id)?;
    let after = resume_key(&headers, &q)?;
    let project: Option<(String, String)> = sqlx::query_as(
        "SELECT escrow, client FROM ledger_projects WHERE project_id = $1::text::numeric",
    )
    .bind(pid.to_string())
    .fetch_optional(&st.pool)
    .await?;
    let (escrow, client) = project.ok_or(ApiError::NotFound {
        resource: "project",
        id: pid.to_string(),
    })?;
    who.require_owner("project", &client)?;
    open(&st, &who, Filter::Project { escrow }, after)
}

/// A worker's payout events as server-sent events: the vault's `ev_batch_executed` of each
/// batch that pays this address, and `ev_payout_bounced` of each of its items that came back.
/// Same authorization as `GET /v1/workers/{address}/payouts`; resumes like the project stream.
#[utoipa::path(get, path = "/v1/workers/{address}/stream", tag = "streams",
    security(("bearer" = [])),
    params(
        ("address" = String, Path, description = "payout address, raw or user-friendly"),
        ("Last-Event-ID" = Option<String>, Header, description = "the `id` of the last event received: the stream resumes right after it"),
        StreamQuery,
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `id:` event id, `event:` TL-B constructor, `data:` an EventView as JSON", content_type = "text/event-stream", body = EventView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    ))]
async fn worker_stream(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(addr): Seg,
    Q(q): Q<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let raw = parse_address("address", &addr)?;
    who.require_owner("worker", &raw)?;
    let after = resume_key(&headers, &q)?;
    open(&st, &who, Filter::Worker { address: raw }, after)
}
