//! `POST /v1/projects`: a new project with its escrow, registered (signer allowlist, indexer,
//! ledger: [`crate::escrow::create_escrow`]), and the `sendTransaction` that funds it.
//!
//! ```text
//! body -> currency (the ledger's), budget (its decimals), deadline (future, <= 10 y), title
//!      -> client: the caller's own wallet (session, client key) | the body's (admin key)
//!      -> project id = nextval(api_project_ids) (kept in the idempotency record)
//!      -> escrow = f(project id, client, currency's jetton, vault, treasury, fee, signer key,
//!                    deadline) -> registered -> api_projects (title, budget, deadline)
//!      -> TON: ONE message: stateInit + escrow_deposit(budget), budget + 0.01 gas + 0.1 float,
//!              non-bounceable (deploys and funds at once)
//!         jetton: escrow_deploy + stateInit, 0.1 float, non-bounceable; the escrow asks its
//!              master for its jetton wallet (TEP-89). The jetton transfer comes from
//!              POST /v1/projects/{id}/deposits once that answer is indexed: sending it in the
//!              same request would race the discovery (a notification before the escrow knows
//!              its wallet is treated as foreign and sent back).
//! ```

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use labelmint_ledger::{CurrencyCode, Ledger};
use serde::{Deserialize, Serialize};
use tycho_types::models::StdAddr;
use utoipa::ToSchema;

use crate::auth::keys::Scope;
use crate::auth::{Caller, Principal};
use crate::escrow::register::raw_addr;
use crate::escrow::{EscrowError, NewEscrow, create_escrow};
use crate::idempotency::{self, IdempotencyKey};
use crate::problem::{ApiError, Problem};
use crate::routes::project_writes::body::{self, Body};
use crate::routes::project_writes::{now_unix, query_id, requested_by, require_writer};
use crate::server::AppState;
use crate::tonconnect::SendTransaction;
use crate::wire::{Address, clip};

/// The body of `POST /v1/projects`.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct CreateProjectRequest {
    /// A currency of the platform: `TON`, or a jetton's code (`USD`: the test USD on the
    /// devnet, standing in for USDT).
    #[schema(example = "TON")]
    currency: String,
    /// The budget in the currency's unit, at most its decimals (`"12.5"`).
    #[schema(example = "12.5")]
    budget: String,
    /// When the client may take the rest back without a close: RFC 3339 text or unix
    /// seconds; in the future, at most ten years ahead.
    #[schema(value_type = String, example = "2027-03-01T00:00:00Z")]
    deadline: serde_json::Value,
    /// 1 to 200 characters.
    #[schema(example = "Street signs, batch 3")]
    title: String,
    /// The client's wallet (raw or user-friendly). An admin key must name it; a session or a
    /// client key may only name its own wallet (the default).
    #[schema(example = "0:83dfd552e63729b472fcbcc8c45ebcc6691702558b68ec7527e1ba403a0f31a8")]
    client: Option<String>,
}

const FIELDS: &[&str] = &["currency", "budget", "deadline", "title", "client"];

/// A created project.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedProject {
    /// The project id (uint64, as a decimal string), allocated by the server.
    #[schema(example = "4102")]
    pub project_id: String,
    /// The title.
    #[schema(example = "Street signs, batch 3")]
    pub title: String,
    /// The escrow (bounceable form; the deploy message itself goes non-bounceable).
    pub escrow: Address,
    /// The client's wallet.
    pub client: Address,
    /// The currency.
    #[schema(example = "TON")]
    pub currency: String,
    /// Its decimals.
    #[schema(example = 9)]
    pub decimals: u8,
    /// The budget asked for, in base units.
    #[schema(example = "12500000000")]
    pub budget: String,
    /// The escrow's deadline, unix seconds.
    #[schema(example = 1_803_945_600)]
    pub deadline: u32,
    /// The same as RFC 3339.
    #[schema(example = "2027-03-01T00:00:00Z")]
    pub deadline_at: String,
    /// The platform fee of each release, basis points.
    #[schema(example = 250)]
    pub fee_bps: u16,
    /// `active`.
    #[schema(example = "active")]
    pub state: String,
}

/// The answer of `POST /v1/projects`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectCreated {
    /// The project.
    pub project: CreatedProject,
    /// What the client's wallet signs now: TON: one message that deploys the escrow and
    /// deposits the budget; jetton: the escrow's deploy.
    pub send_transaction: SendTransaction,
    /// What comes next, for a jetton project: the deposit request
    /// (`POST /v1/projects/{id}/deposits`) once the deploy is indexed.
    #[schema(example = "none: the message deploys the escrow and deposits the budget")]
    pub next: String,
}

/// Creates a project: its escrow (registered with the signer, the indexer and the ledger)
/// and the TonConnect `sendTransaction` that deploys (and, for TON, funds) it.
#[utoipa::path(post, path = "/v1/projects", tag = "projects",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1..=255 printable ASCII characters (e.g. a UUID); the same key and body replay the answer (`Idempotent-Replayed: true`) for 24 h")),
    request_body = CreateProjectRequest,
    responses(
        (status = 201, body = ProjectCreated),
        (status = 400, description = "a field is missing or invalid (`parameter` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "a read key, or another wallet than the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "idempotency-key-in-flight", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "idempotency-key-reused", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "writes-disabled: no signer key or treasury configured", body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn create_project(
    State(st): State<AppState>,
    Caller(who): Caller,
    IdempotencyKey(key): IdempotencyKey,
    bytes: Bytes,
) -> Response {
    let caller = idempotency::caller_id(&who);
    let hash = idempotency::request_hash("POST", "/v1/projects", &bytes);
    let pool = st.writes.pool.clone();
    idempotency::run(
        &pool,
        &caller,
        &key,
        &hash,
        StatusCode::CREATED,
        |reserved| create(st, who, bytes, caller.clone(), key.clone(), reserved),
    )
    .await
}

/// The client a caller may create for.
fn client_of(who: &Principal, named: Option<&str>) -> Result<StdAddr, ApiError> {
    let named = named
        .map(|s| {
            labelmint_abi::address::parse_any(s)
                .map_err(|e| ApiError::param("client", e.to_string()))
        })
        .transpose()?;
    let own = match who {
        Principal::Key {
            scope: Scope::Admin,
            ..
        } => {
            return named.ok_or_else(|| {
                ApiError::param(
                    "client",
                    "is required with an admin key (the client's wallet)",
                )
            });
        }
        Principal::Session { address } => address.as_str(),
        Principal::Key { client, .. } => client.as_deref().unwrap_or(""),
    };
    let own = labelmint_abi::address::parse_raw(own)
        .map_err(|_| ApiError::Internal(format!("caller's wallet {own:?} is not raw")))?;
    match named {
        Some(n) if n != own => Err(ApiError::NotOwner { resource: "wallet" }),
        _ => Ok(own),
    }
}

async fn create(
    st: AppState,
    who: Principal,
    bytes: Bytes,
    caller: String,
    key: String,
    reserved: Option<u64>,
) -> Result<ProjectCreated, ApiError> {
    require_writer(&who)?;
    let b = Body::parse(&bytes, FIELDS)?;
    let currency_text = b.required_str("currency")?;
    let budget_text = b.required_str("budget")?;
    let now = now_unix();
    let deadline = body::deadline(b.get("deadline"), now)?;
    let title = b.required_str("title")?.trim();
    if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
        return Err(ApiError::param(
            "title",
            "1 to 200 characters, no control characters",
        ));
    }
    let client = client_of(&who, b.str("client")?)?;
    if client.workchain != 0 {
        return Err(ApiError::param("client", "only basechain (0) wallets"));
    }
    let w = &st.writes;
    let pool = &w.pool;
    let ledger = Ledger::from_pool(pool.clone());
    let unknown = || {
        ApiError::param(
            "currency",
            format!(
                "{:?} is not a currency of this platform",
                clip(currency_text)
            ),
        )
    };
    let code = CurrencyCode::new(currency_text).map_err(|_| unknown())?;
    let currency = ledger
        .currency(&code)
        .await
        .map_err(|e| ApiError::Internal(format!("ledger currency: {e}")))?
        .ok_or_else(unknown)?;
    let budget = body::amount("budget", budget_text, currency.decimals)?;
    let cfg = w.config.clone().ok_or_else(|| {
        ApiError::WritesDisabled(
            "this server creates no projects: it has no signer public key and treasury configured"
                .into(),
        )
    })?;
    // A project id: the one an earlier run of this request reserved, else a new one; an id
    // the CLI took meanwhile is skipped.
    let mut next = reserved;
    let mut attempts = 0;
    let reg = loop {
        let id = match next.take() {
            Some(id) => id,
            None => {
                let id: i64 = sqlx::query_scalar("SELECT nextval('api_project_ids')")
                    .fetch_one(pool)
                    .await?;
                let id = u64::try_from(id)
                    .map_err(|_| ApiError::Internal(format!("project id {id}")))?;
                idempotency::reserve(pool, &caller, &key, id).await?;
                id
            }
        };
        let spec = NewEscrow {
            project_id: id,
            client: client.clone(),
            currency: code.clone(),
            deadline,
            fee_bps: cfg.fee_bps,
            treasury: cfg.treasury.clone(),
            signer_key: cfg.signer_key,
        };
        match create_escrow(pool, &spec).await {
            Ok(r) => break r,
            Err(EscrowError::Conflict { .. }) if attempts < 5 => {
                attempts += 1;
                tracing::warn!(
                    project_id = id,
                    "project id taken outside the API; next one"
                );
            }
            Err(EscrowError::NoVault(c)) => {
                return Err(ApiError::WritesDisabled(format!(
                    "no {c} vault is registered yet: this currency takes no projects"
                )));
            }
            Err(e) => return Err(ApiError::Internal(format!("create the escrow: {e}"))),
        }
    };
    let plan = &reg.plan;
    let project_id = plan.params.project_id;
    let escrow_raw = raw_addr(&plan.address);
    let client_raw = labelmint_abi::address::raw(&client);
    sqlx::query(
        "INSERT INTO api_projects (project_id, title, client, escrow, currency, budget, \
           deadline, fee_bps, state_init, created_by) \
         VALUES ($1::text::numeric, $2, $3, $4, $5, $6::text::numeric, $7, $8, $9, $10) \
         ON CONFLICT (project_id) DO NOTHING",
    )
    .bind(project_id.to_string())
    .bind(title)
    .bind(&client_raw)
    .bind(escrow_raw.as_str())
    .bind(code.as_str())
    .bind(budget.to_string())
    .bind(i64::from(deadline))
    .bind(i32::from(cfg.fee_bps))
    .bind(tycho_types::boc::Boc::encode(&plan.init_cell))
    .bind(requested_by(&who))
    .execute(pool)
    .await?;
    let (message, next) = if plan.is_jetton() {
        (
            plan.deploy(query_id()),
            format!(
                "once the deploy is indexed (the escrow learned its jetton wallet), POST /v1/projects/{project_id}/deposits with {{\"amount\": \"{}\"}} for the jetton transfer",
                budget_text.trim()
            ),
        )
    } else {
        (
            plan.ton_deposit(query_id(), budget, true),
            "none: the message deploys the escrow and deposits the budget".to_owned(),
        )
    };
    let message = message.map_err(|e| ApiError::Internal(format!("build the message: {e}")))?;
    let testnet = st.testnet;
    tracing::info!(project_id, escrow = %escrow_raw, client = %client_raw, "project created");
    Ok(ProjectCreated {
        project: CreatedProject {
            project_id: project_id.to_string(),
            title: title.to_owned(),
            escrow: Address::contract(escrow_raw.as_str(), testnet),
            client: Address::wallet(&client_raw, testnet),
            currency: code.to_string(),
            decimals: currency.decimals,
            budget: budget.to_string(),
            deadline,
            deadline_at: body::rfc3339(deadline),
            fee_bps: cfg.fee_bps,
            state: "active".into(),
        },
        send_transaction: SendTransaction::new(now, w.global_id, client_raw, &[message], testnet),
        next,
    })
}
