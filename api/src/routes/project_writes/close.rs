//! `POST /v1/projects/{project_id}/close`: the client (or an admin) asks for the close.
//!
//! What closes an escrow (contracts/contracts/escrow/README.md, scheme.tlb): `escrow_close`
//! carrying a `close_request` signed by the payout signer's key; anyone may carry it. The
//! client's wallet cannot close the escrow by itself, so this route does what the contract's
//! rules leave to the platform: it asks the ledger for the close (`active -> closing`: no new
//! earnings from now on; [`labelmint_ledger::Ledger::request_close`]); the payout signer then
//! signs the close once the final release of what is approved is confirmed, and the platform
//! carries it. The client's own transaction is the refund: `escrow_refund`, accepted once the
//! escrow is closed (`ev_closed` indexed) or its deadline has passed. The answer carries that
//! `sendTransaction` (bounceable: sent too early, the escrow refuses it and the TON comes
//! back; ask again with a new key when it expired).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use labelmint_ledger::{Ledger, ProjectId, Transition};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Principal};
use crate::escrow::plan::refund;
use crate::extract::Seg;
use crate::idempotency::{self, IdempotencyKey};
use crate::problem::{ApiError, Problem};
use crate::routes::project_writes::body::Body;
use crate::routes::project_writes::{
    chain_addr, load_project, now_unix, query_id, requested_by, require_writer,
};
use crate::server::AppState;
use crate::tonconnect::SendTransaction;
use crate::wire::parse_u64;

/// The answer of a close request.
#[derive(Debug, Serialize, ToSchema)]
pub struct CloseRequested {
    /// The project id.
    #[schema(example = "4102")]
    pub project_id: String,
    /// `closing`: no new earnings; the signer authorizes the escrow's close after the final
    /// release.
    #[schema(example = "closing")]
    pub state: String,
    /// The client's `escrow_refund`, to send once the escrow is closed or its deadline passed.
    pub refund: SendTransaction,
    /// What happens next, in words.
    pub detail: String,
}

/// Asks for the project's close (no new earnings; the escrow's close follows the final
/// release) and answers the client's refund request.
#[utoipa::path(post, path = "/v1/projects/{project_id}/close", tag = "projects",
    security(("bearer" = [])),
    params(
        ("project_id" = String, Path, description = "uint64 project id"),
        ("Idempotency-Key" = String, Header, description = "1..=255 printable ASCII characters"),
    ),
    responses(
        (status = 202, body = CloseRequested),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "project-not-active: already closing or closed; idempotency-key-in-flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "idempotency-key-reused", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn close_project(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
    IdempotencyKey(key): IdempotencyKey,
    bytes: Bytes,
) -> Response {
    let caller = idempotency::caller_id(&who);
    let path = format!("/v1/projects/{id}/close");
    let hash = idempotency::request_hash("POST", &path, &bytes);
    let pool = st.writes.pool.clone();
    idempotency::run(&pool, &caller, &key, &hash, StatusCode::ACCEPTED, |_| {
        close(st, who, id, bytes)
    })
    .await
}

async fn close(
    st: AppState,
    who: Principal,
    id: String,
    bytes: Bytes,
) -> Result<CloseRequested, ApiError> {
    require_writer(&who)?;
    let pid = parse_u64("project_id", &id)?;
    Body::parse(&bytes, &[])?;
    let p = load_project(&st, &who, pid).await?;
    let ledger = Ledger::from_pool(st.writes.pool.clone());
    match ledger
        .request_close(ProjectId(pid), &requested_by(&who))
        .await
    {
        Ok(Transition::Applied) => {}
        Ok(Transition::AlreadyApplied) => {
            return Err(ApiError::ProjectNotActive(format!(
                "project {pid} is already closing"
            )));
        }
        Err(labelmint_ledger::Error::IllegalProjectTransition { .. }) => {
            return Err(ApiError::ProjectNotActive(format!(
                "project {pid} is closed"
            )));
        }
        Err(labelmint_ledger::Error::UnknownProject(_)) => {
            return Err(ApiError::NotFound {
                resource: "project",
                id: pid.to_string(),
            });
        }
        Err(e) => return Err(ApiError::Internal(format!("request_close: {e}"))),
    }
    tracing::info!(project_id = pid, by = %requested_by(&who), "close requested");
    let escrow = chain_addr("escrow", &p.escrow)?;
    let funding = refund(&escrow, p.jetton_master.is_some(), query_id())
        .map_err(|e| ApiError::Internal(format!("build the refund: {e}")))?;
    Ok(CloseRequested {
        project_id: pid.to_string(),
        state: "closing".into(),
        refund: SendTransaction::new(
            now_unix(),
            st.writes.global_id,
            p.client,
            &[funding],
            st.testnet,
        ),
        detail: "no new earnings from now on; the payout signer authorizes the escrow's close after the final release of what is approved, and the platform carries it; then send `refund` (or at once after the deadline)".into(),
    })
}
