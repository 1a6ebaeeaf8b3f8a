//! Labeling (`labelmint-labeling`): workers take, answer, skip and release tasks
//! ([`tasks`]); clients put up task sets and tasks and read progress, quality and the decided
//! labels ([`projects`]); workers read their balance and ask for withdrawals ([`payouts`]).
//!
//! Who: tasks are taken and answered by a wallet session (ton_proof; the wallet is the worker
//! and is paid); a project's task set and tasks are the project's client's (a session of the
//! client wallet or a `client` key; an `admin` key for any; `read` keys read only). Every POST
//! is idempotent by its content (the same answer twice is one submission; `next` returns the
//! live reservation again; skip and release twice are one), so none needs an Idempotency-Key.
//! Served only when the server runs labeling (`--labeling`); otherwise 503.

pub mod payouts;
pub mod projects;
pub mod tasks;

use axum::extract::DefaultBodyLimit;
use labelmint_labeling::{Labeling, Worker};
use labelmint_ledger::ProjectId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::problem::ApiError;
use crate::server::AppState;

/// The largest task upload (bytes).
pub const MAX_UPLOAD_BYTES: usize = 16 * 1024 * 1024;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(projects::upload_tasks))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES));
    OpenApiRouter::new()
        .routes(routes!(tasks::next_task))
        .routes(routes!(tasks::submit))
        .routes(routes!(tasks::skip))
        .routes(routes!(tasks::release))
        .routes(routes!(tasks::history))
        .routes(routes!(projects::put_task_set, projects::get_task_set))
        .routes(routes!(projects::progress))
        .routes(routes!(projects::worker_quality))
        .routes(routes!(projects::export_labels))
        .routes(routes!(payouts::balance))
        .routes(routes!(payouts::withdraw))
        .routes(routes!(payouts::threshold))
        .merge(uploads)
}

/// The service, or 503 when this server does not run labeling.
pub(crate) fn service(st: &AppState) -> Result<&Labeling, ApiError> {
    st.labeling.as_ref().ok_or(ApiError::LabelingUnavailable)
}

/// The worker a caller is: a wallet session only.
pub(crate) fn worker(who: &Principal) -> Result<Worker, ApiError> {
    match who {
        Principal::Session { address } => {
            labelmint_labeling::worker_of(address).map_err(ApiError::from)
        }
        Principal::Key { .. } => Err(ApiError::InsufficientScope(
            "tasks are taken and answered by a worker's wallet session (POST /v1/auth/ton-proof)"
                .into(),
        )),
    }
}

/// Checks that the caller is the project's client (or a full-read key when `write` is false,
/// an admin key when it is true). 404 for a project the ledger does not know.
pub(crate) async fn require_client(
    l: &Labeling,
    who: &Principal,
    project: u64,
    write: bool,
) -> Result<labelmint_ledger::Project, ApiError> {
    let p = l
        .ledger()
        .project(ProjectId(project))
        .await
        .map_err(labelmint_labeling::Error::from)?
        .ok_or(ApiError::NotFound {
            resource: "project",
            id: project.to_string(),
        })?;
    if write {
        crate::routes::project_writes::require_writer(who)?;
    }
    who.require_owner("project", p.client.as_str())?;
    Ok(p)
}

/// Unix milliseconds as RFC 3339 (UTC).
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
