//! `/v1/vaults`, `/v1/vaults/{address}`: each currency's payout vault, with what it paid,
//! what came back, what waits to be paid and what is in flight.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::extract::Seg;
use crate::problem::{ApiError, Problem};
use crate::server::AppState;
use crate::wire::{Address, parse_address};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_vaults))
        .routes(routes!(get_vault))
}

/// A vault's rolling limit: what batches may total over any `length_seconds`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    /// The window's length in seconds.
    pub length_seconds: u32,
    /// At most this may leave per window (base units).
    pub limit: String,
    /// The sliding estimate of what left in the last `length_seconds` at `at`.
    pub used: String,
    /// What a batch may still total at `at`.
    pub available: String,
    /// The chain time these figures are for (the last indexed masterchain block; unix s).
    pub at: u32,
}

/// A payout vault. Amounts: base units of `currency` (`decimals`).
#[derive(Debug, Serialize, ToSchema)]
pub struct VaultView {
    /// The vault (bounceable).
    pub address: Address,
    /// Its currency.
    pub currency: String,
    /// Decimals of the currency's base unit.
    pub decimals: u8,
    /// The vault's replay timeout in seconds, when the ledger knows it.
    pub timeout: Option<i64>,
    /// Sum of `ev_vault_funded` (releases from escrows and other funding).
    pub funded: String,
    /// Sum of `ev_batch_executed` totals (paid out on chain).
    pub paid: String,
    /// Sum of `ev_payout_bounced` (payouts that came back).
    pub bounced: String,
    /// Earnings approved in the ledger and in no live batch: what the settler will pay next.
    pub payable: String,
    /// Batches formed, signed or sent and not yet confirmed or expired.
    pub live_batches: i64,
    /// Their total.
    pub live_total: String,
    /// The rolling window's use after the last executed batch (`ev_batch_executed`'s
    /// `balance_after`); `null` before the first batch.
    pub window_used_after_last_batch: Option<String>,
    /// The rolling limit at the indexed chain time, from the vault's indexed storage (the
    /// vault's own arithmetic); `null` before it is deployed and indexed.
    pub window: Option<WindowView>,
    /// Frozen by its admin (no batches), from its indexed storage.
    pub frozen: Option<bool>,
    /// The admin (cold wallet or multisig; non-bounceable), from its indexed storage.
    pub admin: Option<Address>,
    /// The admin change proposed and waiting for its delay, if any (`vault_pending_change`
    /// in labelmint-abi's JSON form: `query_id`, `apply_after`, `change.kind` and its fields).
    #[schema(value_type = Option<Object>)]
    pub pending_admin_change: Option<serde_json::Value>,
    /// The vault account's TON balance (nanoTON) as last indexed.
    pub on_chain_balance_ton: Option<String>,
    /// The vault account's status as last indexed.
    pub account_status: Option<String>,
}

#[derive(FromRow)]
struct VaultRow {
    address: String,
    currency: String,
    decimals: i16,
    timeout: Option<i64>,
    funded: String,
    paid: String,
    bounced: String,
    payable: String,
    live_batches: i64,
    live_total: String,
    window_used: Option<String>,
    balance: Option<String>,
    status: Option<String>,
    data: Option<Vec<u8>>,
    chain_now: Option<i64>,
}

const VAULT_SQL: &str = "\
SELECT v.address, v.currency, c.decimals, v.timeout, \
  f.funded::text AS funded, f.paid::text AS paid, f.bounced::text AS bounced, \
  (SELECT COALESCE(sum(amount), 0) FROM ledger_earnings e \
    WHERE e.currency = v.currency AND e.state = 'approved')::text AS payable, \
  b.n AS live_batches, b.total::text AS live_total, \
  (SELECT balance_after::text FROM events w WHERE w.contract = v.address \
    AND w.kind = 'ev_batch_executed' ORDER BY w.lt DESC, w.msg_idx DESC LIMIT 1) AS window_used, \
  s.balance::text AS balance, s.status, s.data, \
  (SELECT b.gen_utime FROM checkpoint ck JOIN blocks b ON b.workchain = -1 \
    AND b.seqno = ck.mc_seqno LIMIT 1) AS chain_now \
FROM ledger_vaults v \
JOIN ledger_currencies c ON c.code = v.currency \
CROSS JOIN LATERAL (SELECT \
    COALESCE(sum(amount) FILTER (WHERE kind = 'ev_vault_funded'), 0) AS funded, \
    COALESCE(sum(amount) FILTER (WHERE kind = 'ev_batch_executed'), 0) AS paid, \
    COALESCE(sum(amount) FILTER (WHERE kind = 'ev_payout_bounced'), 0) AS bounced \
  FROM events ev WHERE ev.contract = v.address) f \
CROSS JOIN LATERAL (SELECT count(*) AS n, COALESCE(sum(total), 0) AS total FROM ledger_batches lb \
  WHERE lb.vault = v.address AND lb.state IN ('batched', 'signed', 'sent')) b \
LEFT JOIN account_states s ON s.address = v.address ";

impl VaultRow {
    fn view(self, testnet: bool) -> VaultView {
        let storage = crate::storage::vault(&self.address, self.data.as_deref());
        let at = self.chain_now.and_then(|t| u32::try_from(t).ok());
        let window = storage.as_ref().zip(at).map(|(s, at)| WindowView {
            length_seconds: s.window_len,
            limit: s.window_limit.to_string(),
            used: s.window_used(at).to_string(),
            available: s.window_available(at).to_string(),
            at,
        });
        VaultView {
            address: Address::contract(&self.address, testnet),
            currency: self.currency,
            decimals: u8::try_from(self.decimals).unwrap_or(0),
            timeout: self.timeout,
            funded: self.funded,
            paid: self.paid,
            bounced: self.bounced,
            payable: self.payable,
            live_batches: self.live_batches,
            live_total: self.live_total,
            window_used_after_last_batch: self.window_used,
            window,
            frozen: storage.as_ref().map(|s| s.frozen),
            admin: storage
                .as_ref()
                .map(|s| Address::wallet(&s.params.admin.to_string(), testnet)),
            pending_admin_change: storage
                .as_ref()
                .and_then(|s| s.params.pending.as_ref())
                .and_then(|p| serde_json::to_value(p).ok()),
            on_chain_balance_ton: self.balance,
            account_status: self.status,
        }
    }
}

/// Every vault (one per currency), by currency code. Never more than a handful: not paged.
#[utoipa::path(get, path = "/v1/vaults", tag = "vaults",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<VaultView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_vaults(
    State(st): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<Vec<VaultView>>, ApiError> {
    who.require_full_read("the vaults")?;
    let sql = format!("{VAULT_SQL} ORDER BY v.currency");
    let rows: Vec<VaultRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(&st.pool)
        .await?;
    Ok(Json(rows.into_iter().map(|r| r.view(st.testnet)).collect()))
}

/// One vault, by address (raw or user-friendly).
#[utoipa::path(get, path = "/v1/vaults/{address}", tag = "vaults",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "raw (0:<64 hex>) or user-friendly")),
    responses(
        (status = 200, body = VaultView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_vault(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(addr): Seg,
) -> Result<Json<VaultView>, ApiError> {
    who.require_full_read("a vault")?;
    let raw = parse_address("address", &addr)?;
    let sql = format!("{VAULT_SQL} WHERE v.address = $1");
    let row: Option<VaultRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&raw)
        .fetch_optional(&st.pool)
        .await?;
    row.map(|r| Json(r.view(st.testnet)))
        .ok_or(ApiError::NotFound {
            resource: "vault",
            id: raw,
        })
}
