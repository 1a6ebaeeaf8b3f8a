//! `POST /v1/projects/{project_id}/deposits`: the `sendTransaction` that deposits `amount`
//! into the project's escrow.
//!
//! - TON: `escrow_deposit` to the escrow (bounceable, amount + 0.01 gas); while the escrow is
//!   not deployed yet (as indexed) the message carries its StateInit and the float too
//!   (non-bounceable), like the first one.
//! - Jetton: a `transfer` from the client's own jetton wallet, found by running the master's
//!   `get_wallet_address` through the liteserver, with the forward TON the contracts document
//!   (0.04). Only once the escrow knows its jetton wallet (`ev_jetton_wallet_learned`
//!   indexed): before, the notification would come from a wallet the escrow does not know and
//!   be sent back, so the answer is 409 `escrow-not-ready`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tycho_types::boc::Boc;
use utoipa::ToSchema;

use crate::auth::{Caller, Principal};
use crate::escrow::plan::{jetton_deposit, ton_deposit};
use crate::extract::Seg;
use crate::idempotency::{self, IdempotencyKey};
use crate::problem::{ApiError, Problem};
use crate::routes::project_writes::body::{self, Body};
use crate::routes::project_writes::{chain_addr, load_project, now_unix, query_id, require_writer};
use crate::server::AppState;
use crate::tonconnect::SendTransaction;
use crate::tonproof::chain::KeyAnswer;
use crate::wire::parse_u64;

/// The body of `POST /v1/projects/{project_id}/deposits`.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct DepositRequestBody {
    /// The amount in the project's currency unit, at most its decimals (`"250.5"`).
    #[schema(example = "250.5")]
    amount: String,
}

/// A deposit to sign.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositRequest {
    /// The project id.
    #[schema(example = "4102")]
    pub project_id: String,
    /// The currency.
    #[schema(example = "USD")]
    pub currency: String,
    /// Its decimals.
    #[schema(example = 6)]
    pub decimals: u8,
    /// The amount, in base units.
    #[schema(example = "250500000")]
    pub amount: String,
    /// What the client's wallet signs.
    pub send_transaction: SendTransaction,
}

/// A deposit request for the project's escrow (TON: to the escrow; jetton: a transfer from
/// the client's jetton wallet).
#[utoipa::path(post, path = "/v1/projects/{project_id}/deposits", tag = "projects",
    security(("bearer" = [])),
    params(
        ("project_id" = String, Path, description = "uint64 project id"),
        ("Idempotency-Key" = String, Header, description = "1..=255 printable ASCII characters"),
    ),
    request_body = DepositRequestBody,
    responses(
        (status = 200, body = DepositRequest),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "escrow-not-ready (jetton escrow without its wallet yet), project-not-active, idempotency-key-in-flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "idempotency-key-reused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "liteserver-unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn deposit_request(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
    IdempotencyKey(key): IdempotencyKey,
    bytes: Bytes,
) -> Response {
    let caller = idempotency::caller_id(&who);
    let path = format!("/v1/projects/{id}/deposits");
    let hash = idempotency::request_hash("POST", &path, &bytes);
    let pool = st.writes.pool.clone();
    idempotency::run(&pool, &caller, &key, &hash, StatusCode::OK, |_| {
        deposit(st, who, id, bytes)
    })
    .await
}

async fn deposit(
    st: AppState,
    who: Principal,
    id: String,
    bytes: Bytes,
) -> Result<DepositRequest, ApiError> {
    require_writer(&who)?;
    let pid = parse_u64("project_id", &id)?;
    let b = Body::parse(&bytes, &["amount"])?;
    let amount_text = b.required_str("amount")?;
    let p = load_project(&st, &who, pid).await?;
    let decimals = u8::try_from(p.decimals).unwrap_or(0);
    let amount = body::amount("amount", amount_text, decimals)?;
    if p.state != "active" {
        return Err(ApiError::ProjectNotActive(format!(
            "project {pid} is {}: it takes no deposits (the client takes the rest back with escrow_refund)",
            p.state
        )));
    }
    let escrow = chain_addr("escrow", &p.escrow)?;
    let client = chain_addr("client", &p.client)?;
    let funding = match &p.jetton_master {
        None => {
            let deployed = p.status.as_deref() == Some("active");
            let init = if deployed {
                None
            } else {
                let boc = p.state_init.as_deref().ok_or_else(|| {
                    ApiError::EscrowNotReady(format!(
                        "the escrow of project {pid} is not deployed (as indexed) and was not created through this API (no StateInit here): deploy it first"
                    ))
                })?;
                Some(Boc::decode(boc).map_err(|e| {
                    ApiError::Internal(format!("stored StateInit of project {pid}: {e}"))
                })?)
            };
            ton_deposit(&escrow, query_id(), amount, init.as_ref())
        }
        Some(master) => {
            if !p.wallet_learned {
                return Err(ApiError::EscrowNotReady(format!(
                    "the escrow of project {pid} does not know its jetton wallet yet (no ev_jetton_wallet_learned indexed): send its deploy, wait until it is indexed, then ask again"
                )));
            }
            let master = chain_addr("jetton master", master)?;
            let reader = st.auth.keys.as_ref().ok_or_else(|| {
                ApiError::LiteserverUnavailable(
                    "this server has no liteserver configured (--global-config) to find the client's jetton wallet".into(),
                )
            })?;
            let wallet = match reader.jetton_wallet(&master, &client).await {
                Ok(w) => w,
                Err(KeyAnswer::NoKey(why) | KeyAnswer::Unavailable(why)) => {
                    return Err(ApiError::LiteserverUnavailable(format!(
                        "get_wallet_address: {why}"
                    )));
                }
                Err(KeyAnswer::Key(_)) => {
                    return Err(ApiError::Internal("get_wallet_address: a key".into()));
                }
            };
            jetton_deposit(&escrow, &client, query_id(), amount, wallet)
        }
    }
    .map_err(|e| ApiError::Internal(format!("build the message: {e}")))?;
    Ok(DepositRequest {
        project_id: pid.to_string(),
        currency: p.currency,
        decimals,
        amount: amount.to_string(),
        send_transaction: SendTransaction::new(
            now_unix(),
            st.writes.global_id,
            p.client,
            &[funding],
            st.testnet,
        ),
    })
}
