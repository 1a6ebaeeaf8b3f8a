//! `POST /v1/tasks/next`, `POST /v1/tasks/{task_id}/submit|skip|release`,
//! `GET /v1/tasks/{task_id}/history`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::extract::{J, Seg};
use crate::problem::{ApiError, Problem};
use crate::routes::labeling::{require_client, rfc3339_ms, service, worker};
use crate::server::AppState;
use crate::wire::{parse_id, parse_u64};

/// Which project's task to take.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NextTask {
    /// The project (uint64, decimal string).
    #[schema(example = "4102")]
    pub project_id: String,
}

/// A reserved task (gold and ordinary tasks look the same).
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    /// The task id (opaque decimal string).
    #[schema(example = "5120394857201")]
    pub task_id: String,
    /// Its project.
    pub project_id: String,
    /// `classification`.
    pub task_type: String,
    /// What to label, as uploaded.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// The labels to choose from.
    pub labels: Vec<String>,
    /// When the reservation ends (RFC 3339): submit, skip or release before.
    pub reserved_until: String,
}

/// An answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// One of the task's labels.
    #[schema(example = "cat")]
    pub label: String,
}

/// What a submission did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Submitted {
    /// The task.
    pub task_id: String,
    /// The consensus engine's submission id (decimal string).
    pub submission_id: String,
    /// `true`: the same answer was stored before; nothing changed.
    pub replayed: bool,
}

/// A task's state for the worker after skip or release.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    /// The task.
    pub task_id: String,
    /// `skipped` or `released`.
    pub state: String,
}

/// One event of a task's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEventView {
    /// When (RFC 3339).
    pub at: String,
    /// `reserved`, `answered`, `skipped`, `released`, `expired`, `decided`, `needs_more`,
    /// `unresolved`.
    pub event: String,
    /// The worker's wallet (raw), for worker events.
    pub worker: Option<String>,
    /// The label, for answers and decisions.
    pub label: Option<String>,
}

/// A task's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    /// The task.
    pub task_id: String,
    /// Oldest first.
    pub events: Vec<HistoryEventView>,
}

/// Reserves a task for the calling worker (a wallet session) for 30 minutes (the task set's
/// reservation time): never a task the worker answered or skipped, higher priority first,
/// gold mixed in at the project's rate. Asking again while holding one returns it. 204: no
/// task is free for this worker now.
#[utoipa::path(post, path = "/v1/tasks/next", tag = "labeling",
    security(("bearer" = [])),
    request_body = NextTask,
    responses(
        (status = 200, body = TaskView),
        (status = 204, description = "no task is free for this worker now"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "insufficient-scope (not a wallet session), worker-cut-off (gold)", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "budget-exhausted", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn next_task(
    State(st): State<AppState>,
    Caller(who): Caller,
    J(body): J<NextTask>,
) -> Result<Response, ApiError> {
    let l = service(&st)?;
    let w = worker(&who)?;
    let project = parse_u64("project_id", &body.project_id)?;
    match l.next(project, &w).await? {
        None => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(r) => Ok(Json(TaskView {
            task_id: r.task_id.to_string(),
            project_id: r.project.to_string(),
            task_type: r.task_type,
            payload: r.payload,
            labels: r.labels,
            reserved_until: rfc3339_ms(r.expires_ms),
        })
        .into_response()),
    }
}

/// Answers a reserved task: only the reservation holder, only before it expires. The same
/// answer again is the same submission (`replayed`); another label is refused (409).
#[utoipa::path(post, path = "/v1/tasks/{task_id}/submit", tag = "labeling",
    security(("bearer" = [])),
    params(("task_id" = String, Path, description = "the task id")),
    request_body = Answer,
    responses(
        (status = 200, body = Submitted),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "not-reservation-holder", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no-reservation, reservation-expired, answer-conflict, already-done, task-closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "label-not-in-set", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn submit(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
    J(body): J<Answer>,
) -> Result<Json<Submitted>, ApiError> {
    let l = service(&st)?;
    let w = worker(&who)?;
    let task_id = parse_id("task_id", &id)?;
    let s = l.submit(task_id, &w, &body.label).await?;
    Ok(Json(Submitted {
        task_id: task_id.to_string(),
        submission_id: s.submission_id.to_string(),
        replayed: s.replayed,
    }))
}

/// Skips a reserved task: the worker never gets it again. Skipping twice is one skip.
#[utoipa::path(post, path = "/v1/tasks/{task_id}/skip", tag = "labeling",
    security(("bearer" = [])),
    params(("task_id" = String, Path, description = "the task id")),
    responses(
        (status = 200, body = Ended),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn skip(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<Ended>, ApiError> {
    let l = service(&st)?;
    let w = worker(&who)?;
    let task_id = parse_id("task_id", &id)?;
    l.skip(task_id, &w).await?;
    Ok(Json(Ended {
        task_id: task_id.to_string(),
        state: "skipped".into(),
    }))
}

/// Gives a reserved task back to the pool (the worker may get it again).
#[utoipa::path(post, path = "/v1/tasks/{task_id}/release", tag = "labeling",
    security(("bearer" = [])),
    params(("task_id" = String, Path, description = "the task id")),
    responses(
        (status = 200, body = Ended),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn release(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<Ended>, ApiError> {
    let l = service(&st)?;
    let w = worker(&who)?;
    let task_id = parse_id("task_id", &id)?;
    l.release(task_id, &w).await?;
    Ok(Json(Ended {
        task_id: task_id.to_string(),
        state: "released".into(),
    }))
}

/// A task's history: a worker sees their own reservations and answer; the project's client
/// (or a read key) sees every worker's and the engine's decisions.
#[utoipa::path(get, path = "/v1/tasks/{task_id}/history", tag = "labeling",
    security(("bearer" = [])),
    params(("task_id" = String, Path, description = "the task id")),
    responses(
        (status = 200, body = History),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn history(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<History>, ApiError> {
    let l = service(&st)?;
    let task_id = parse_id("task_id", &id)?;
    let project = l.task_project(task_id).await?;
    let all = require_client(l, &who, project, false).await.is_ok();
    let me = match (&who, all) {
        (_, true) => None,
        (crate::auth::Principal::Session { address }, false) => Some(address.clone()),
        _ => {
            return Err(ApiError::NotOwner {
                resource: "project",
            });
        }
    };
    let events = l.history(task_id, me.as_deref()).await?;
    Ok(Json(History {
        task_id: task_id.to_string(),
        events: events
            .into_iter()
            .map(|e| HistoryEventView {
                at: rfc3339_ms(e.at_ms),
                event: e.event,
                worker: e.worker,
                label: e.label,
            })
            .collect(),
    }))
}
