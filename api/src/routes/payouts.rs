//! `/v1/payouts/batches` (filters, pages) and `/v1/payouts/batches/{id}` with its items.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::extract::{Q, Seg};
use crate::problem::{ApiError, Problem};
use crate::server::AppState;
use crate::wire::{Address, Page, PageQuery, clip, hex_opt, page, parse_address, parse_id};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_batches))
        .routes(routes!(get_batch))
}

/// Whether payout item `p` concerns the wallet `$OWNER` (a scoped caller's; [`visible_item`]
/// names the parameter): it pays that wallet, or one of its earnings belongs to a project
/// whose client is that wallet.
const VISIBLE_ITEM: &str = "(p.payout_address = $OWNER OR EXISTS (SELECT 1 FROM ledger_batch_items bi \
      JOIN ledger_earnings e ON e.id = bi.earning_id \
      JOIN ledger_projects pr ON pr.project_id = e.project_id \
      WHERE bi.batch_id = p.batch_id AND bi.position = p.position AND pr.client = $OWNER))";

fn visible_item(param: &str) -> String {
    VISIBLE_ITEM.replace("$OWNER", param)
}

/// The batch states of the ledger.
const STATES: [&str; 5] = ["batched", "signed", "sent", "confirmed", "expired"];

/// A payout batch (one signed vault request). Amounts: base units of `currency`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    /// The batch id (decimal string).
    pub id: String,
    /// The paying vault (bounceable).
    pub vault: Address,
    /// Its currency.
    pub currency: String,
    /// Decimals of the currency's base unit.
    pub decimals: u8,
    /// The vault request's query id (decimal string).
    pub query_id: String,
    /// The request's `created_at` (unix seconds, chain time).
    pub created_at: i64,
    /// The last chain second it can land.
    pub valid_until: i64,
    /// `batched`, `signed`, `sent`, `confirmed` or `expired`.
    pub state: String,
    /// Transfers in it.
    pub item_count: i32,
    /// Their sum.
    pub total: String,
    /// Hash of the signed request (hex), once signed.
    pub signed_hash: Option<String>,
    /// Hash of the external message sent (hex), once sent.
    pub sent_hash: Option<String>,
    /// The vault transaction that executed it (hex), once confirmed.
    pub confirmed_tx: Option<String>,
    /// Its logical time (decimal string).
    pub confirmed_lt: Option<String>,
    /// Its chain time (unix seconds).
    pub confirmed_now: Option<i64>,
    /// The chain time at which it was found expired.
    pub expired_at_chain: Option<i64>,
}

#[derive(FromRow)]
struct BatchRow {
    id: i64,
    vault: String,
    currency: String,
    decimals: i16,
    query_id: String,
    created_at: i64,
    valid_until: i64,
    state: String,
    item_count: i32,
    total: String,
    signed_hash: Option<Vec<u8>>,
    sent_hash: Option<Vec<u8>>,
    confirmed_tx: Option<Vec<u8>>,
    confirmed_lt: Option<i64>,
    confirmed_now: Option<i64>,
    expired_at_chain: Option<i64>,
}

/// The batch read (the bench's database floor runs it too: `benches/reads.rs`).
pub const BATCH_SQL: &str = "\
SELECT b.id, b.vault, b.currency, c.decimals, b.query_id::text AS query_id, b.created_at, \
  b.valid_until, b.state, b.item_count, b.total::text AS total, b.signed_hash, b.sent_hash, \
  b.confirmed_tx, b.confirmed_lt, b.confirmed_now, b.expired_at_chain \
FROM ledger_batches b JOIN ledger_currencies c ON c.code = b.currency ";

impl BatchRow {
    fn view(self, testnet: bool) -> BatchView {
        BatchView {
            id: self.id.to_string(),
            vault: Address::contract(&self.vault, testnet),
            currency: self.currency,
            decimals: u8::try_from(self.decimals).unwrap_or(0),
            query_id: self.query_id,
            created_at: self.created_at,
            valid_until: self.valid_until,
            state: self.state,
            item_count: self.item_count,
            total: self.total,
            signed_hash: hex_opt(self.signed_hash),
            sent_hash: hex_opt(self.sent_hash),
            confirmed_tx: hex_opt(self.confirmed_tx),
            confirmed_lt: self.confirmed_lt.map(|v| v.to_string()),
            confirmed_now: self.confirmed_now,
            expired_at_chain: self.expired_at_chain,
        }
    }
}

/// Filters and page of `/v1/payouts/batches`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BatchQuery {
    /// `batched`, `signed`, `sent`, `confirmed` or `expired`.
    pub state: Option<String>,
    /// A currency code (`TON`, `USD`).
    pub currency: Option<String>,
    /// Batches paying this worker: the ledger's worker id, or a payout address (raw or
    /// user-friendly).
    pub worker: Option<String>,
    /// Items per page, 1..=200 (default 50).
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page (opaque).
    pub cursor: Option<String>,
}

/// Payout batches, newest first.
#[utoipa::path(get, path = "/v1/payouts/batches", tag = "payouts",
    security(("bearer" = [])), params(BatchQuery),
    responses(
        (status = 200, body = Page<BatchView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_batches(
    State(st): State<AppState>,
    Caller(who): Caller,
    Q(q): Q<BatchQuery>,
) -> Result<Json<Page<BatchView>>, ApiError> {
    let pq = PageQuery {
        limit: q.limit.clone(),
        cursor: q.cursor.clone(),
    };
    let limit = pq.limit()?;
    let before = pq.cursor_i64("b", 1)?.map(|k| k[0]);
    if let Some(s) = &q.state
        && !STATES.contains(&s.as_str())
    {
        return Err(ApiError::param(
            "state",
            format!("{:?} is not one of {}", clip(s), STATES.join(", ")),
        ));
    }
    if let Some(c) = &q.currency
        && (!(2..=12).contains(&c.len())
            || !c
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
    {
        return Err(ApiError::param(
            "currency",
            format!("{:?} is not a currency code (TON, USD, ...)", clip(c)),
        ));
    }
    // A worker filter that looks like an address is compared as its raw form (the payout
    // address); anything else is the ledger's worker id.
    let (worker_id, worker_addr) = match q.worker.as_deref() {
        None => (None, None),
        Some(w) if w.is_empty() || w.len() > 256 => {
            return Err(ApiError::param("worker", "1 to 256 characters"));
        }
        Some(w) => match parse_address("worker", w) {
            Ok(raw) => (None, Some(raw)),
            Err(_) => (Some(w.to_owned()), None),
        },
    };
    let visible = visible_item("$7");
    let sql = format!(
        "{BATCH_SQL} WHERE ($1::text IS NULL OR b.state = $1) \
           AND ($2::text IS NULL OR b.currency = $2) \
           AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM ledger_payout_items i \
                 WHERE i.batch_id = b.id AND i.worker = $3)) \
           AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM ledger_payout_items i \
                 WHERE i.batch_id = b.id AND i.payout_address = $4)) \
           AND ($5::bigint IS NULL OR b.id < $5) \
           AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM ledger_payout_items p \
                 WHERE p.batch_id = b.id AND {visible})) \
         ORDER BY b.id DESC LIMIT $6"
    );
    let rows: Vec<BatchRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&q.state)
        .bind(&q.currency)
        .bind(worker_id)
        .bind(worker_addr)
        .bind(before)
        .bind(i64::from(limit) + 1)
        .bind(who.owner())
        .fetch_all(&st.pool)
        .await?;
    Ok(Json(page(
        rows,
        limit,
        "b",
        |r| vec![r.id.to_string()],
        |r| r.view(st.testnet),
    )))
}

/// One transfer of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    /// The payout item id (decimal string; the on-chain comment carries it).
    pub item_id: String,
    /// Position in the vault request's item list (0-based).
    pub position: i32,
    /// The ledger's worker id.
    pub worker: String,
    /// Where it was sent (non-bounceable).
    pub payout_address: Address,
    /// The amount (base units).
    pub amount: String,
    /// The earnings it pays (decimal strings).
    pub earning_ids: Vec<String>,
    /// `pending`, `paid`, `expired` or `bounced`.
    pub outcome: String,
    /// The vault item's bounceable flag, once decided.
    pub bounceable: Option<bool>,
    /// `payout_bounced` or `recipient_wallet_refused`, when it came back.
    pub bounce_reason: Option<String>,
    /// The transaction that showed the bounce (hex).
    pub bounce_tx: Option<String>,
    /// What came back (base units).
    pub bounced_amount: Option<String>,
    /// Chain time of the bounce transaction, when indexed.
    pub bounce_now: Option<i64>,
    /// Chain time of the batch's execution (the payment), once confirmed.
    pub paid_now: Option<i64>,
}

#[derive(FromRow)]
struct ItemRow {
    item_id: i64,
    position: i32,
    worker: String,
    payout_address: String,
    amount: String,
    earning_ids: Vec<i64>,
    outcome: String,
    bounceable: Option<bool>,
    bounce_reason: Option<String>,
    bounce_tx: Option<Vec<u8>>,
    bounced_amount: Option<String>,
    bounce_now: Option<i64>,
}

/// A batch and its items.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDetail {
    /// The batch.
    #[serde(flatten)]
    pub batch: BatchView,
    /// Its transfers, by position.
    pub items: Vec<ItemView>,
}

/// One batch with its items.
#[utoipa::path(get, path = "/v1/payouts/batches/{id}", tag = "payouts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "batch id")),
    responses(
        (status = 200, body = BatchDetail),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_batch(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<BatchDetail>, ApiError> {
    let id = parse_id("id", &id)?;
    let sql = format!("{BATCH_SQL} WHERE b.id = $1");
    let batch: BatchRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&st.pool)
        .await?
        .ok_or(ApiError::NotFound {
            resource: "batch",
            id: id.to_string(),
        })?;
    let visible = visible_item("$2");
    let sql = format!(
        "SELECT p.id AS item_id, p.position, p.worker, p.payout_address, p.amount::text AS amount, \
           ARRAY(SELECT i.earning_id FROM ledger_batch_items i \
                 WHERE i.batch_id = p.batch_id AND i.position = p.position \
                 ORDER BY i.earning_id) AS earning_ids, \
           p.outcome, p.bounceable, p.bounce_reason, p.bounce_tx, \
           p.bounced_amount::text AS bounced_amount, t.now AS bounce_now \
         FROM ledger_payout_items p LEFT JOIN transactions t ON t.hash = p.bounce_tx \
         WHERE p.batch_id = $1 AND ($2::text IS NULL OR {visible}) ORDER BY p.position"
    );
    let items: Vec<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(who.owner())
        .fetch_all(&st.pool)
        .await?;
    if who.owner().is_some() && items.is_empty() {
        return Err(ApiError::NotOwner { resource: "batch" });
    }
    let paid_now = batch.confirmed_now;
    let testnet = st.testnet;
    Ok(Json(BatchDetail {
        batch: batch.view(testnet),
        items: items
            .into_iter()
            .map(|r| ItemView {
                item_id: r.item_id.to_string(),
                position: r.position,
                worker: r.worker,
                payout_address: Address::wallet(&r.payout_address, testnet),
                amount: r.amount,
                earning_ids: r.earning_ids.iter().map(i64::to_string).collect(),
                paid_now: if r.outcome == "paid" || r.outcome == "bounced" {
                    paid_now
                } else {
                    None
                },
                outcome: r.outcome,
                bounceable: r.bounceable,
                bounce_reason: r.bounce_reason,
                bounce_tx: hex_opt(r.bounce_tx),
                bounced_amount: r.bounced_amount,
                bounce_now: r.bounce_now,
            })
            .collect(),
    }))
}
