//! The writes of `/v1/projects`: create a project ([`create`]), get a deposit request
//! ([`deposits`]), ask for the close ([`close`]). Each takes an `Idempotency-Key`
//! ([`crate::idempotency`]) and runs on the write pool (`labelmint_api_write`).
//!
//! Who may write: a wallet session or a `client` API key for its own wallet; an `admin` key
//! for any client (named in the body); a `read` key never (403).

pub mod body;
pub mod close;
pub mod create;
pub mod deposits;

use std::time::{SystemTime, UNIX_EPOCH};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::auth::keys::Scope;
use crate::problem::ApiError;
use crate::server::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_project))
        .routes(routes!(deposits::deposit_request))
        .routes(routes!(close::close_project))
}

/// Unix seconds now.
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Refuses (403) a caller that may not write: `read` keys.
pub(crate) fn require_writer(who: &Principal) -> Result<(), ApiError> {
    match who {
        Principal::Key {
            scope: Scope::Read, ..
        } => Err(ApiError::InsufficientScope(
            "writes need a client or admin API key, or a wallet session".into(),
        )),
        _ => Ok(()),
    }
}

/// Who asked, as the ledger and the metadata record it (`client:<wallet>`,
/// `key:<key_id>`).
pub(crate) fn requested_by(who: &Principal) -> String {
    match who {
        Principal::Session { address } => format!("client:{address}"),
        Principal::Key { key_id, .. } => format!("key:{key_id}"),
    }
}

/// A query id for a wallet's message: random (it only correlates the message with its
/// events; the escrow does not use it for replay protection).
pub(crate) fn query_id() -> u64 {
    rand::random::<u64>() >> 1
}

/// A project as the write routes need it (read through the write pool).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ProjectRow {
    pub(crate) escrow: String,
    pub(crate) client: String,
    pub(crate) currency: String,
    pub(crate) state: String,
    pub(crate) decimals: i16,
    pub(crate) jetton_master: Option<String>,
    /// The escrow's StateInit, for projects created through the API.
    pub(crate) state_init: Option<Vec<u8>>,
    /// The escrow's account status as last indexed.
    pub(crate) status: Option<String>,
    /// The escrow announced its jetton wallet (`ev_jetton_wallet_learned` indexed).
    pub(crate) wallet_learned: bool,
}

/// The project `id` (404 when unknown; 403 for a caller of another wallet).
pub(crate) async fn load_project(
    st: &AppState,
    who: &Principal,
    id: u64,
) -> Result<ProjectRow, ApiError> {
    let row: Option<ProjectRow> = sqlx::query_as(
        "SELECT p.escrow, p.client, p.currency, p.state, c.decimals, c.jetton_master, \
           a.state_init, s.status, \
           EXISTS (SELECT 1 FROM events e WHERE e.contract = p.escrow \
                   AND e.kind = 'ev_jetton_wallet_learned') AS wallet_learned \
         FROM ledger_projects p \
         JOIN ledger_currencies c ON c.code = p.currency \
         LEFT JOIN api_projects a ON a.project_id = p.project_id \
         LEFT JOIN account_states s ON s.address = p.escrow \
         WHERE p.project_id = $1::text::numeric",
    )
    .bind(id.to_string())
    .fetch_optional(&st.writes.pool)
    .await?;
    let row = row.ok_or(ApiError::NotFound {
        resource: "project",
        id: id.to_string(),
    })?;
    who.require_owner("project", &row.client)?;
    Ok(row)
}

/// A stored address (raw) as a chain address.
pub(crate) fn chain_addr(what: &str, raw: &str) -> Result<tycho_types::models::StdAddr, ApiError> {
    labelmint_abi::address::parse_raw(raw)
        .map_err(|e| ApiError::Internal(format!("stored {what} {raw:?}: {e}")))
}
