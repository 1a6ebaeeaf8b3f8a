//! A project's task set, task uploads, progress, worker quality and decided labels.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use labelmint_labeling::{Format, TaskSet};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::extract::{J, Q, Seg};
use crate::problem::{ApiError, Problem};
use crate::routes::labeling::{require_client, service};
use crate::server::AppState;
use crate::wire::parse_u64;

/// A task set (classification): what is asked, how often, at what price.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSetBody {
    /// The label set (at least two).
    #[schema(example = json!(["cat", "dog"]))]
    pub labels: Vec<String>,
    /// Answers wanted per task before consensus decides it.
    #[schema(example = 3)]
    pub overlap: u32,
    /// The most answers a task may get when consensus asks for more (default overlap + 2).
    pub max_overlap: Option<u32>,
    /// Paid per accepted answer: base units of the project's currency (decimal string).
    #[schema(example = "50000000")]
    pub price: String,
    /// The escrow's platform fee in basis points (each reservation holds price + fee of the
    /// budget); default 0.
    pub fee_bps: Option<u32>,
    /// Gold tasks are mixed in at this rate, per mille of next-task answers (default 100).
    pub gold_rate_per_mille: Option<u32>,
    /// Reservation time in seconds (default 1800).
    pub reservation_secs: Option<u32>,
    /// Consensus method: `mv`, `wv` or `ds` (default `mv`).
    pub method: Option<String>,
    /// Posterior confidence needed to decide (default 0.6).
    pub threshold: Option<f64>,
    /// A worker above this gold error rate is cut off (default 0.3).
    pub max_gold_error: Option<f64>,
    /// Gold answers before a worker can be cut off (default 3).
    pub min_gold_answers: Option<u32>,
}

/// A project's task set and budget. Amounts: base units of `currency`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskSetView {
    /// The project.
    pub project_id: String,
    /// `classification`.
    pub task_type: String,
    /// The label set (sorted).
    pub labels: Vec<String>,
    /// Answers wanted per task.
    pub overlap: u32,
    /// The most answers per task.
    pub max_overlap: u32,
    /// Per accepted answer.
    pub price: String,
    /// The project's currency.
    pub currency: String,
    /// Decimals of its base unit.
    pub decimals: u8,
    /// The escrow's fee (basis points).
    pub fee_bps: u32,
    /// Gold mix-in rate (per mille).
    pub gold_rate_per_mille: u32,
    /// Reservation time (seconds).
    pub reservation_secs: i64,
    /// `mv`, `wv` or `ds`.
    pub method: String,
    /// What the escrow may still approve (as of the last consensus pass).
    pub budget_left: String,
    /// Held by live reservations and undecided answers.
    pub budget_held: String,
}

async fn view(st: &AppState, ts: &TaskSet) -> Result<TaskSetView, ApiError> {
    let l = service(st)?;
    let p = l
        .ledger()
        .project(labelmint_ledger::ProjectId(ts.project))
        .await
        .map_err(labelmint_labeling::Error::from)?
        .ok_or(ApiError::NotFound {
            resource: "project",
            id: ts.project.to_string(),
        })?;
    let decimals = l
        .ledger()
        .currency(&p.currency)
        .await
        .map_err(labelmint_labeling::Error::from)?
        .map_or(0, |c| c.decimals);
    let (left, held) = l.budget(ts.project).await?;
    Ok(TaskSetView {
        project_id: ts.project.to_string(),
        task_type: "classification".into(),
        labels: ts.labels.clone(),
        overlap: ts.overlap,
        max_overlap: ts.max_overlap,
        price: ts.price.to_string(),
        currency: p.currency.to_string(),
        decimals,
        fee_bps: ts.fee_bps,
        gold_rate_per_mille: ts.gold_per_mille,
        reservation_secs: ts.reservation_ms / 1000,
        method: ts.method.as_str().to_owned(),
        budget_left: left.to_string(),
        budget_held: held.to_string(),
    })
}

/// Creates or updates the project's task set (the label set cannot change once set).
#[utoipa::path(post, path = "/v1/projects/{project_id}/task-set", tag = "labeling",
    security(("bearer" = [])),
    params(("project_id" = String, Path, description = "uint64 project id")),
    request_body = TaskSetBody,
    responses(
        (status = 200, body = TaskSetView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn put_task_set(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
    J(body): J<TaskSetBody>,
) -> Result<Json<TaskSetView>, ApiError> {
    let l = service(&st)?;
    let project = parse_u64("project_id", &id)?;
    require_client(l, &who, project, true).await?;
    let price: u128 = body
        .price
        .parse()
        .map_err(|_| ApiError::param("price", "a decimal string of base units"))?;
    let labels: Vec<&str> = body.labels.iter().map(String::as_str).collect();
    let mut ts = TaskSet::new(project, &labels, price);
    ts.overlap = body.overlap;
    ts.max_overlap = body.max_overlap.unwrap_or(body.overlap.saturating_add(2));
    ts.fee_bps = body.fee_bps.unwrap_or(0);
    ts.gold_per_mille = body.gold_rate_per_mille.unwrap_or(ts.gold_per_mille);
    if let Some(s) = body.reservation_secs {
        ts.reservation_ms = i64::from(s) * 1000;
    }
    if let Some(m) = &body.method {
        ts.method = m
            .parse()
            .map_err(|_| ApiError::param("method", "one of mv, wv, ds"))?;
    }
    if let Some(t) = body.threshold {
        if !(t > 0.0 && t <= 1.0) {
            return Err(ApiError::param("threshold", "in (0, 1]"));
        }
        ts.threshold = t;
    }
    if let Some(g) = body.max_gold_error {
        if !(0.0..=1.0).contains(&g) {
            return Err(ApiError::param("max_gold_error", "in [0, 1]"));
        }
        ts.max_gold_error = g;
    }
    if let Some(n) = body.min_gold_answers {
        if n == 0 {
            return Err(ApiError::param("min_gold_answers", "at least 1"));
        }
        ts.min_gold_answers = n;
    }
    let ts = l.put_task_set(&ts).await?;
    Ok(Json(view(&st, &ts).await?))
}

/// The project's task set and budget.
#[utoipa::path(get, path = "/v1/projects/{project_id}/task-set", tag = "labeling",
    security(("bearer" = [])),
    params(("project_id" = String, Path, description = "uint64 project id")),
    responses(
        (status = 200, body = TaskSetView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn get_task_set(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<TaskSetView>, ApiError> {
    let l = service(&st)?;
    let project = parse_u64("project_id", &id)?;
    require_client(l, &who, project, false).await?;
    let ts = l.task_set(project).await?.ok_or(ApiError::NotFound {
        resource: "task set of project",
        id: project.to_string(),
    })?;
    Ok(Json(view(&st, &ts).await?))
}

/// How many tasks an upload loaded.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    /// Tasks loaded (ordinary and gold).
    pub loaded: usize,
}

/// Uploads tasks: JSON lines (`Content-Type: application/x-ndjson`; one object per line:
/// `name`, optional `payload`, `priority`, `gold_label`) or CSV (`text/csv`; a header with
/// `name` and optional `priority`, `gold_label`; other columns become the payload). Every row
/// is validated first: a bad row answers 422 `invalid-upload` with its `line`, and nothing is
/// loaded. At most 16 MiB.
#[utoipa::path(post, path = "/v1/projects/{project_id}/tasks", tag = "labeling",
    security(("bearer" = [])),
    params(("project_id" = String, Path, description = "uint64 project id")),
    request_body(content = String, content_type = "application/x-ndjson", description = "JSON lines, or CSV with Content-Type: text/csv"),
    responses(
        (status = 200, body = Uploaded),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid-upload (with `line`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn upload_tasks(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Uploaded>, ApiError> {
    let l = service(&st)?;
    let project = parse_u64("project_id", &id)?;
    require_client(l, &who, project, true).await?;
    let body = body.map_err(|_| ApiError::PayloadTooLarge {
        limit: super::MAX_UPLOAD_BYTES,
    })?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let format = match ct.as_str() {
        "application/x-ndjson" | "application/jsonl" | "application/json-lines" => {
            Format::JsonLines
        }
        "text/csv" => Format::Csv,
        _ => {
            return Err(ApiError::UnsupportedMediaType(
                "tasks come as JSON lines (application/x-ndjson) or CSV (text/csv)".into(),
            ));
        }
    };
    let loaded = l.upload(project, format, &body).await?;
    Ok(Json(Uploaded { loaded }))
}

/// A project's progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressView {
    /// The project.
    pub project_id: String,
    /// Ordinary tasks.
    pub tasks: u64,
    /// Gold tasks.
    pub gold_tasks: u64,
    /// Decided.
    pub decided: u64,
    /// Back in the queue for more answers.
    pub needs_more: u64,
    /// Given up (no confident label at the maximum overlap).
    pub unresolved: u64,
    /// Waiting for their answers.
    pub open: u64,
    /// Answers received.
    pub answers: u64,
    /// Live reservations.
    pub live_reservations: u64,
    /// The mean posterior confidence of the decided labels (null: none yet).
    pub estimated_accuracy: Option<f64>,
}

/// Progress: tasks decided, needing more answers, unresolved, open; the estimated accuracy.
#[utoipa::path(get, path = "/v1/projects/{project_id}/progress", tag = "labeling",
    security(("bearer" = [])),
    params(("project_id" = String, Path, description = "uint64 project id")),
    responses(
        (status = 200, body = ProgressView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn progress(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<ProgressView>, ApiError> {
    let l = service(&st)?;
    let project = parse_u64("project_id", &id)?;
    require_client(l, &who, project, false).await?;
    let p = l.progress(project).await?;
    Ok(Json(ProgressView {
        project_id: project.to_string(),
        tasks: p.tasks,
        gold_tasks: p.gold_tasks,
        decided: p.decided,
        needs_more: p.needs_more,
        unresolved: p.unresolved,
        open: p.open,
        answers: p.answers,
        live_reservations: p.live_reservations,
        estimated_accuracy: l.estimated_accuracy(project).await?,
    }))
}

/// One worker's quality in a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerQualityView {
    /// The worker's wallet (raw).
    pub worker: String,
    /// Answers.
    pub answers: i64,
    /// Gold answers.
    pub gold_answers: i64,
    /// Wrong gold answers.
    pub gold_errors: i64,
    /// Cut off by gold (gets no more tasks; unpaid answers excluded).
    pub cut_off: bool,
    /// The engine's estimated accuracy.
    pub accuracy: Option<f64>,
    /// Share of answers on decided tasks that match the decided label.
    pub agreement: Option<f64>,
}

/// Per-worker quality.
#[utoipa::path(get, path = "/v1/projects/{project_id}/worker-quality", tag = "labeling",
    security(("bearer" = [])),
    params(("project_id" = String, Path, description = "uint64 project id")),
    responses(
        (status = 200, body = Vec<WorkerQualityView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn worker_quality(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<Vec<WorkerQualityView>>, ApiError> {
    let l = service(&st)?;
    let project = parse_u64("project_id", &id)?;
    require_client(l, &who, project, false).await?;
    Ok(Json(
        l.worker_quality(project)
            .await?
            .into_iter()
            .map(|w| WorkerQualityView {
                worker: w.worker,
                answers: w.answers,
                gold_answers: w.gold_answers,
                gold_errors: w.gold_errors,
                cut_off: w.cut_off,
                accuracy: w.accuracy,
                agreement: w.agreement,
            })
            .collect(),
    ))
}

/// The export format.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `jsonl` (default) or `csv`.
    pub format: Option<String>,
}

/// The decided labels: JSON lines (`name`, `label`, `confidence`, `answers`) or CSV.
#[utoipa::path(get, path = "/v1/projects/{project_id}/labels", tag = "labeling",
    security(("bearer" = [])),
    params(("project_id" = String, Path, description = "uint64 project id"), ExportQuery),
    responses(
        (status = 200, description = "JSON lines or CSV", content_type = "application/x-ndjson", body = String),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn export_labels(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
    Q(q): Q<ExportQuery>,
) -> Result<Response, ApiError> {
    let l = service(&st)?;
    let project = parse_u64("project_id", &id)?;
    require_client(l, &who, project, false).await?;
    let labels = l.decided_labels(project).await?;
    let (body, ct) = match q.format.as_deref() {
        None | Some("jsonl") => (
            labelmint_labeling::to_json_lines(&labels),
            "application/x-ndjson",
        ),
        Some("csv") => (labelmint_labeling::to_csv(&labels)?, "text/csv"),
        Some(_) => return Err(ApiError::param("format", "jsonl or csv")),
    };
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    Ok(res)
}
