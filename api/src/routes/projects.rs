//! `/v1/projects`, `/v1/projects/{project_id}`, `/v1/projects/{project_id}/events`: each
//! project's ledger row with the sums of its escrow's indexed events.

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
use crate::wire::{Address, Page, PageQuery, page, parse_u64};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects))
        .routes(routes!(get_project))
        .routes(routes!(project_events))
}

/// A project and its escrow. Amounts: base units of `currency` (`decimals`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    /// The project id (uint64, as a decimal string).
    pub project_id: String,
    /// The project's escrow (bounceable).
    pub escrow: Address,
    /// The client's wallet (non-bounceable).
    pub client: Address,
    /// `TON` or a jetton's code (`USD`).
    pub currency: String,
    /// Decimals of the currency's base unit.
    pub decimals: u8,
    /// The ledger's state: `active`, `closing` or `closed`.
    pub state: String,
    /// What the escrow still holds for the project (indexed events): deposited + recovered -
    /// released - platform fees + release_bounced - refunded + refund_bounced.
    pub budget: String,
    /// Sum of `ev_deposit`.
    pub deposited: String,
    /// Sum of `ev_release` amounts (to the vault).
    pub released: String,
    /// Sum of `ev_release` fees (to the treasury).
    pub platform_fees: String,
    /// Sum of `ev_release_bounced` (release or fee legs that came back).
    pub release_bounced: String,
    /// Sum of `ev_refund`.
    pub refunded: String,
    /// Sum of `ev_refund_bounced`.
    pub refund_bounced: String,
    /// Sum of `ev_jetton_recovered` (returned tokens booked again).
    pub recovered: String,
    /// The ledger's approved earnings of the project (not revoked).
    pub approved: String,
    /// The escrow account's TON balance (nanoTON, 9 decimals) as last indexed; `null` before
    /// its first indexed transaction.
    pub on_chain_balance_ton: Option<String>,
    /// The escrow account's status as last indexed (`active`, `uninit`, ...).
    pub account_status: Option<String>,
    /// The escrow's deadline (unix seconds: after it the client may refund without a close),
    /// from the escrow's indexed storage, or before the escrow is deployed and indexed, as
    /// given at `POST /v1/projects`; `null` otherwise.
    pub deadline: Option<u32>,
    /// The escrow contract's own state (`active` or `closed`), from its indexed storage;
    /// `null` before it is deployed and indexed.
    pub escrow_state: Option<String>,
    /// The escrow's jetton wallet once it learned it (TEP-89; bounceable); `null` for TON and
    /// before.
    pub jetton_wallet: Option<Address>,
    /// The title given at `POST /v1/projects`; `null` for projects registered otherwise
    /// (`labelmint project create`).
    pub title: Option<String>,
}

#[derive(FromRow)]
struct ProjectRow {
    project_id: String,
    escrow: String,
    client: String,
    currency: String,
    decimals: i16,
    state: String,
    budget: String,
    deposited: String,
    released: String,
    fees: String,
    release_bounced: String,
    refunded: String,
    refund_bounced: String,
    recovered: String,
    approved: String,
    balance: Option<String>,
    status: Option<String>,
    data: Option<Vec<u8>>,
    title: Option<String>,
    deadline: Option<i64>,
}

/// The project read (the bench's database floor runs it too: `benches/reads.rs`).
pub const PROJECT_SQL: &str = "\
SELECT p.project_id::text AS project_id, p.escrow, p.client, p.currency, c.decimals, p.state, \
  (f.deposited + f.recovered - f.released - f.fees + f.release_bounced - f.refunded \
    + f.refund_bounced)::text AS budget, \
  f.deposited::text AS deposited, f.released::text AS released, f.fees::text AS fees, \
  f.release_bounced::text AS release_bounced, f.refunded::text AS refunded, \
  f.refund_bounced::text AS refund_bounced, f.recovered::text AS recovered, \
  (SELECT COALESCE(sum(amount), 0) FROM ledger_earnings e \
    WHERE e.project_id = p.project_id AND e.state <> 'revoked')::text AS approved, \
  s.balance::text AS balance, s.status, s.data, a.title, a.deadline \
FROM ledger_projects p \
JOIN ledger_currencies c ON c.code = p.currency \
CROSS JOIN LATERAL (SELECT \
    COALESCE(sum(amount) FILTER (WHERE kind = 'ev_deposit'), 0) AS deposited, \
    COALESCE(sum(amount) FILTER (WHERE kind = 'ev_release'), 0) AS released, \
    COALESCE(sum(fee) FILTER (WHERE kind = 'ev_release'), 0) AS fees, \
    COALESCE(sum(amount) FILTER (WHERE kind = 'ev_release_bounced'), 0) AS release_bounced, \
    COALESCE(sum(amount) FILTER (WHERE kind = 'ev_refund'), 0) AS refunded, \
    COALESCE(sum(amount) FILTER (WHERE kind = 'ev_refund_bounced'), 0) AS refund_bounced, \
    COALESCE(sum(amount) FILTER (WHERE kind = 'ev_jetton_recovered'), 0) AS recovered \
  FROM events ev WHERE ev.contract = p.escrow) f \
LEFT JOIN account_states s ON s.address = p.escrow \
LEFT JOIN api_projects a ON a.project_id = p.project_id ";

impl ProjectRow {
    fn view(self, testnet: bool) -> ProjectView {
        let storage = crate::storage::escrow(&self.escrow, self.data.as_deref());
        ProjectView {
            escrow: Address::contract(&self.escrow, testnet),
            client: Address::wallet(&self.client, testnet),
            project_id: self.project_id,
            currency: self.currency,
            decimals: u8::try_from(self.decimals).unwrap_or(0),
            state: self.state,
            budget: self.budget,
            deposited: self.deposited,
            released: self.released,
            platform_fees: self.fees,
            release_bounced: self.release_bounced,
            refunded: self.refunded,
            refund_bounced: self.refund_bounced,
            recovered: self.recovered,
            approved: self.approved,
            on_chain_balance_ton: self.balance,
            account_status: self.status,
            deadline: storage
                .as_ref()
                .map(|s| s.params.deadline)
                .or_else(|| self.deadline.and_then(|d| u32::try_from(d).ok())),
            escrow_state: storage.as_ref().map(|s| {
                match s.state {
                    labelmint_abi::escrow::EscrowState::Active => "active",
                    labelmint_abi::escrow::EscrowState::Closed => "closed",
                }
                .to_owned()
            }),
            jetton_wallet: storage
                .as_ref()
                .and_then(|s| s.jetton_wallet.as_ref())
                .map(|w| Address::contract(&w.to_string(), testnet)),
            title: self.title,
        }
    }
}

/// Projects, by project id ascending (a client key or a wallet session: its own only).
#[utoipa::path(get, path = "/v1/projects", tag = "projects",
    security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, body = Page<ProjectView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_projects(
    State(st): State<AppState>,
    Caller(who): Caller,
    Q(q): Q<PageQuery>,
) -> Result<Json<Page<ProjectView>>, ApiError> {
    let limit = q.limit()?;
    let after = q.cursor("p", 1)?.map(|mut k| k.remove(0));
    let sql = format!(
        "{PROJECT_SQL} WHERE ($1::text IS NULL OR p.project_id > $1::text::numeric) \
           AND ($3::text IS NULL OR p.client = $3) \
         ORDER BY p.project_id LIMIT $2"
    );
    let rows: Vec<ProjectRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(i64::from(limit) + 1)
        .bind(who.owner())
        .fetch_all(&st.pool)
        .await?;
    Ok(Json(page(
        rows,
        limit,
        "p",
        |r| vec![r.project_id.clone()],
        |r| r.view(st.testnet),
    )))
}

/// One project.
#[utoipa::path(get, path = "/v1/projects/{project_id}", tag = "projects",
    security(("bearer" = [])),
    params(("project_id" = String, Path, description = "uint64 project id")),
    responses(
        (status = 200, body = ProjectView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_project(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<ProjectView>, ApiError> {
    let pid = parse_u64("project_id", &id)?;
    let sql = format!("{PROJECT_SQL} WHERE p.project_id = $1::text::numeric");
    let row: Option<ProjectRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(pid.to_string())
        .fetch_optional(&st.pool)
        .await?;
    let row = row.ok_or(ApiError::NotFound {
        resource: "project",
        id: pid.to_string(),
    })?;
    who.require_owner("project", &row.client)?;
    Ok(Json(row.view(st.testnet)))
}

/// An event the indexer decoded from a contract's external-out message.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct EventView {
    /// The TL-B constructor: `ev_deposit`, `ev_release`, `ev_payout_bounced`, ...
    pub kind: String,
    /// The transaction that emitted it (hex).
    pub tx_hash: String,
    /// The out message's index in that transaction.
    pub msg_idx: i32,
    /// The transaction's logical time (decimal string).
    pub lt: String,
    /// Chain time: the transaction's `now` (unix seconds).
    pub now: i64,
    /// The masterchain block that committed it.
    pub mc_seqno: i64,
    /// The amount the event is about (base units), when it has one.
    pub amount: Option<String>,
    /// The platform fee of an `ev_release`.
    pub fee: Option<String>,
    /// The running figure after the event (see the indexer's schema), when it has one.
    pub balance_after: Option<String>,
    /// The query id (decimal string), when it has one.
    pub query_id: Option<String>,
    /// The payout item id (decimal string), when it has one.
    pub payout_item_id: Option<String>,
    /// Every field as labelmint-abi's JSON form writes it (integers as strings).
    pub fields: serde_json::Value,
}

#[derive(FromRow)]
pub(crate) struct EventRow {
    pub(crate) kind: String,
    pub(crate) tx_hash: Vec<u8>,
    pub(crate) msg_idx: i32,
    pub(crate) lt: i64,
    pub(crate) now: i64,
    pub(crate) mc_seqno: i64,
    pub(crate) amount: Option<String>,
    pub(crate) fee: Option<String>,
    pub(crate) balance_after: Option<String>,
    pub(crate) query_id: Option<String>,
    pub(crate) payout_item_id: Option<String>,
    pub(crate) fields: serde_json::Value,
}

/// An [`EventView`] as a JSON object built by Postgres (`e` is the events row): the
/// transaction read gets its events in the same statement.
pub(crate) const EVENT_JSON: &str = "json_build_object('kind', e.kind, \
    'tx_hash', encode(e.tx_hash, 'hex'), 'msg_idx', e.msg_idx, 'lt', e.lt::text, 'now', e.now, \
    'mc_seqno', e.mc_seqno, 'amount', e.amount::text, 'fee', e.fee::text, \
    'balance_after', e.balance_after::text, 'query_id', e.query_id::text, \
    'payout_item_id', e.payout_item_id::text, 'fields', e.fields)";

/// The columns of an [`EventRow`].
pub(crate) const EVENT_COLS: &str = "kind, tx_hash, msg_idx, lt, now, mc_seqno, \
    amount::text AS amount, fee::text AS fee, balance_after::text AS balance_after, \
    query_id::text AS query_id, payout_item_id::text AS payout_item_id, fields";

impl EventRow {
    pub(crate) fn view(self) -> EventView {
        EventView {
            kind: self.kind,
            tx_hash: hex::encode(&self.tx_hash),
            msg_idx: self.msg_idx,
            lt: self.lt.to_string(),
            now: self.now,
            mc_seqno: self.mc_seqno,
            amount: self.amount,
            fee: self.fee,
            balance_after: self.balance_after,
            query_id: self.query_id,
            payout_item_id: self.payout_item_id,
            fields: self.fields,
        }
    }
}

/// A page of a project's events, with the project's currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectEvents {
    /// The project's currency.
    pub currency: String,
    /// Its decimals.
    pub decimals: u8,
    /// The escrow's events, newest first (by lt, then message index).
    pub items: Vec<EventView>,
    /// Pass as `cursor` to get the next page; `null`: this is the last page.
    pub next_cursor: Option<String>,
}

/// The events the escrow of a project emitted, newest first.
#[utoipa::path(get, path = "/v1/projects/{project_id}/events", tag = "projects",
    security(("bearer" = [])),
    params(("project_id" = String, Path, description = "uint64 project id"), PageQuery),
    responses(
        (status = 200, body = ProjectEvents),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn project_events(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
    Q(q): Q<PageQuery>,
) -> Result<Json<ProjectEvents>, ApiError> {
    let pid = parse_u64("project_id", &id)?;
    let limit = q.limit()?;
    let after = q.cursor_i64("e", 2)?;
    let project: Option<(String, String, i16, String)> = sqlx::query_as(
        "SELECT p.escrow, p.currency, c.decimals, p.client FROM ledger_projects p \
         JOIN ledger_currencies c ON c.code = p.currency WHERE p.project_id = $1::text::numeric",
    )
    .bind(pid.to_string())
    .fetch_optional(&st.pool)
    .await?;
    let (escrow, currency, decimals, client) = project.ok_or(ApiError::NotFound {
        resource: "project",
        id: pid.to_string(),
    })?;
    who.require_owner("project", &client)?;
    let (lt, idx) = match after.as_deref() {
        Some([lt, idx]) => (
            Some(*lt),
            Some(i32::try_from(*idx).map_err(|_| {
                ApiError::param(
                    "cursor",
                    "not a cursor of this list (pass next_cursor as is)",
                )
            })?),
        ),
        _ => (None, None),
    };
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events WHERE contract = $1 \
           AND ($2::bigint IS NULL OR (lt, msg_idx) < ($2, $3::int)) \
         ORDER BY lt DESC, msg_idx DESC LIMIT $4"
    );
    let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&escrow)
        .bind(lt)
        .bind(idx)
        .bind(i64::from(limit) + 1)
        .fetch_all(&st.pool)
        .await?;
    let p = page(
        rows,
        limit,
        "e",
        |r| vec![r.lt.to_string(), r.msg_idx.to_string()],
        EventRow::view,
    );
    Ok(Json(ProjectEvents {
        currency,
        decimals: u8::try_from(decimals).unwrap_or(0),
        items: p.items,
        next_cursor: p.next_cursor,
    }))
}
