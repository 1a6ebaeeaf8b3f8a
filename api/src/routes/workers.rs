//! `/v1/workers/{address}/earnings` and `/v1/workers/{address}/payouts`: by payout address.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::extract::{Q, Seg};
use crate::problem::{ApiError, Problem};
use crate::server::AppState;
use crate::wire::{Address, Page, PageQuery, hex_opt, page, parse_address};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(earnings))
        .routes(routes!(payouts))
}

/// An approved earning. Amount: base units of `currency`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EarningView {
    /// The earning id (decimal string).
    pub earning_id: String,
    /// The ledger's worker id.
    pub worker: String,
    /// Where it is paid (non-bounceable).
    pub payout_address: Address,
    /// Its project (decimal string).
    pub project_id: String,
    /// Its currency.
    pub currency: String,
    /// Decimals of the currency's base unit.
    pub decimals: u8,
    /// The amount (base units).
    pub amount: String,
    /// `approved`, `batched`, `signed`, `sent`, `confirmed` or `revoked`.
    pub state: String,
    /// The consensus decision that approved it.
    pub decision_id: String,
    /// When it was approved (RFC 3339, UTC).
    pub approved_at: String,
}

#[derive(FromRow)]
struct EarningRow {
    id: i64,
    worker: String,
    payout_address: String,
    project_id: String,
    currency: String,
    decimals: i16,
    amount: String,
    state: String,
    decision_id: String,
    approved_at: String,
}

/// The earnings paid to this address, newest first.
#[utoipa::path(get, path = "/v1/workers/{address}/earnings", tag = "workers",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "payout address, raw or user-friendly"), PageQuery),
    responses(
        (status = 200, body = Page<EarningView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn earnings(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(addr): Seg,
    Q(q): Q<PageQuery>,
) -> Result<Json<Page<EarningView>>, ApiError> {
    let raw = parse_address("address", &addr)?;
    who.require_owner("worker", &raw)?;
    let limit = q.limit()?;
    let before = q.cursor_i64("w", 1)?.map(|k| k[0]);
    let rows: Vec<EarningRow> = sqlx::query_as(
        "SELECT e.id, e.worker, e.payout_address, e.project_id::text AS project_id, e.currency, \
           c.decimals, e.amount::text AS amount, e.state, e.decision_id, \
           to_char(e.approved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS approved_at \
         FROM ledger_earnings e JOIN ledger_currencies c ON c.code = e.currency \
         WHERE e.payout_address = $1 AND ($2::bigint IS NULL OR e.id < $2) \
         ORDER BY e.id DESC LIMIT $3",
    )
    .bind(&raw)
    .bind(before)
    .bind(i64::from(limit) + 1)
    .fetch_all(&st.pool)
    .await?;
    let testnet = st.testnet;
    Ok(Json(page(
        rows,
        limit,
        "w",
        |r| vec![r.id.to_string()],
        |r| EarningView {
            earning_id: r.id.to_string(),
            worker: r.worker,
            payout_address: Address::wallet(&r.payout_address, testnet),
            project_id: r.project_id,
            currency: r.currency,
            decimals: u8::try_from(r.decimals).unwrap_or(0),
            amount: r.amount,
            state: r.state,
            decision_id: r.decision_id,
            approved_at: r.approved_at,
        },
    )))
}

/// A transfer to the worker. Amount: base units of `currency`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutView {
    /// The payout item id (decimal string).
    pub item_id: String,
    /// Its batch (decimal string).
    pub batch_id: String,
    /// The batch's state.
    pub batch_state: String,
    /// The ledger's worker id.
    pub worker: String,
    /// Where it was sent (non-bounceable).
    pub payout_address: Address,
    /// Its currency.
    pub currency: String,
    /// Decimals of the currency's base unit.
    pub decimals: u8,
    /// The amount (base units).
    pub amount: String,
    /// The earnings it pays (decimal strings).
    pub earning_ids: Vec<String>,
    /// `pending`, `paid`, `expired` or `bounced`.
    pub outcome: String,
    /// `payout_bounced` or `recipient_wallet_refused`, when it came back.
    pub bounce_reason: Option<String>,
    /// The transaction that showed the bounce (hex).
    pub bounce_tx: Option<String>,
    /// The vault transaction that executed the batch (hex), once confirmed.
    pub confirmed_tx: Option<String>,
    /// Its chain time (unix seconds).
    pub confirmed_now: Option<i64>,
}

#[derive(FromRow)]
struct PayoutRow {
    item_id: i64,
    batch_id: i64,
    position: i32,
    batch_state: String,
    worker: String,
    payout_address: String,
    currency: String,
    decimals: i16,
    amount: String,
    earning_ids: Vec<i64>,
    outcome: String,
    bounce_reason: Option<String>,
    bounce_tx: Option<Vec<u8>>,
    confirmed_tx: Option<Vec<u8>>,
    confirmed_now: Option<i64>,
}

/// The transfers to this address, newest batch first.
#[utoipa::path(get, path = "/v1/workers/{address}/payouts", tag = "workers",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "payout address, raw or user-friendly"), PageQuery),
    responses(
        (status = 200, body = Page<PayoutView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn payouts(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(addr): Seg,
    Q(q): Q<PageQuery>,
) -> Result<Json<Page<PayoutView>>, ApiError> {
    let raw = parse_address("address", &addr)?;
    who.require_owner("worker", &raw)?;
    let limit = q.limit()?;
    let (b, pos) = match q.cursor_i64("y", 2)?.as_deref() {
        Some([b, p]) => (
            Some(*b),
            Some(i32::try_from(*p).map_err(|_| {
                ApiError::param(
                    "cursor",
                    "not a cursor of this list (pass next_cursor as is)",
                )
            })?),
        ),
        _ => (None, None),
    };
    let rows: Vec<PayoutRow> = sqlx::query_as(
        "SELECT p.id AS item_id, p.batch_id, p.position, b.state AS batch_state, p.worker, \
           p.payout_address, p.currency, c.decimals, p.amount::text AS amount, \
           ARRAY(SELECT i.earning_id FROM ledger_batch_items i \
                 WHERE i.batch_id = p.batch_id AND i.position = p.position \
                 ORDER BY i.earning_id) AS earning_ids, \
           p.outcome, p.bounce_reason, p.bounce_tx, b.confirmed_tx, b.confirmed_now \
         FROM ledger_payout_items p \
         JOIN ledger_batches b ON b.id = p.batch_id \
         JOIN ledger_currencies c ON c.code = p.currency \
         WHERE p.payout_address = $1 \
           AND ($2::bigint IS NULL OR (p.batch_id, p.position) < ($2, $3::int)) \
         ORDER BY p.batch_id DESC, p.position DESC LIMIT $4",
    )
    .bind(&raw)
    .bind(b)
    .bind(pos)
    .bind(i64::from(limit) + 1)
    .fetch_all(&st.pool)
    .await?;
    let testnet = st.testnet;
    Ok(Json(page(
        rows,
        limit,
        "y",
        |r| vec![r.batch_id.to_string(), r.position.to_string()],
        |r| PayoutView {
            item_id: r.item_id.to_string(),
            batch_id: r.batch_id.to_string(),
            batch_state: r.batch_state,
            worker: r.worker,
            payout_address: Address::wallet(&r.payout_address, testnet),
            currency: r.currency,
            decimals: u8::try_from(r.decimals).unwrap_or(0),
            amount: r.amount,
            earning_ids: r.earning_ids.iter().map(i64::to_string).collect(),
            outcome: r.outcome,
            bounce_reason: r.bounce_reason,
            bounce_tx: hex_opt(r.bounce_tx),
            confirmed_tx: hex_opt(r.confirmed_tx),
            confirmed_now: r.confirmed_now,
        },
    )))
}
