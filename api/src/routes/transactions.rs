//! `/v1/transactions/{hash}`: an indexed transaction by its hash, by the hash of its inbound
//! message, or by the TEP-467 normalized hash of its external-in message (the indexer stores
//! it with every ext-in message). `/v1/transactions/by-boc?boc=`: the BoC a wallet returned
//! from TonConnect's `sendTransaction`, normalized here, finds the wallet transaction it
//! started (a client's wallet is watched from the moment it creates a project).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::extract::Seg;
use crate::problem::{ApiError, Problem};
use crate::routes::projects::{EVENT_JSON, EventView};
use crate::server::AppState;
use crate::wire::{Address, parse_hash};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_transaction))
        .routes(routes!(get_transaction_by_boc))
}

/// An indexed transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionView {
    /// `transaction_hash`, `message_hash` or `normalized_message_hash` (TEP-467): what the
    /// hash matched.
    pub matched_by: String,
    /// The transaction hash (hex).
    pub hash: String,
    /// The account (a watched contract: bounceable).
    pub account: Address,
    /// Logical time (decimal string).
    pub lt: String,
    /// Chain time (unix seconds).
    pub now: i64,
    /// The masterchain block that committed it.
    pub mc_seqno: i64,
    /// The shard block holding it: workchain, shard (signed 64-bit prefix), seqno.
    pub block: BlockRef,
    /// Account status before and after.
    pub orig_status: String,
    /// Account status after.
    pub end_status: String,
    /// Total fees (nanoTON).
    pub total_fees: String,
    /// The compute phase's exit code (`null`: skipped).
    pub compute_exit_code: Option<i32>,
    /// Whether the compute phase succeeded.
    pub compute_success: Option<bool>,
    /// The action phase's result code (`null`: no action phase).
    pub action_result_code: Option<i32>,
    /// Whether the transaction aborted.
    pub aborted: bool,
    /// Its inbound message, when it had one.
    pub in_msg: Option<MessageView>,
    /// Its outbound messages, by index.
    pub out_msgs: Vec<MessageView>,
    /// The events it emitted (decoded).
    pub events: Vec<EventView>,
}

/// A shard block reference.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockRef {
    /// Workchain.
    pub workchain: i32,
    /// Shard prefix (signed 64-bit, as TON's tools print it).
    pub shard: String,
    /// Seqno.
    pub seqno: i64,
}

/// A message of a transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Its index (0 for the inbound message).
    pub idx: i32,
    /// Its hash (hex).
    pub msg_hash: String,
    /// `int`, `ext_in` or `ext_out`.
    pub msg_kind: String,
    /// Source (raw; `null`: addr_none).
    pub src: Option<String>,
    /// Destination (raw; `null`: addr_none).
    pub dst: Option<String>,
    /// Value (nanoTON), internal messages only.
    pub value: Option<String>,
    /// Whether it is a bounce.
    pub bounced: Option<bool>,
    /// The body's first 32 bits, when present.
    pub op: Option<i64>,
}

#[derive(FromRow)]
struct TxRow {
    hash: Vec<u8>,
    account: String,
    lt: i64,
    now: i64,
    mc_seqno: i64,
    block_workchain: i32,
    block_shard: i64,
    block_seqno: i64,
    orig_status: String,
    end_status: String,
    total_fees: String,
    compute_exit_code: Option<i32>,
    compute_success: Option<bool>,
    action_result_code: Option<i32>,
    aborted: bool,
    matched_by: String,
    msgs: sqlx::types::Json<Vec<MsgJson>>,
    events: sqlx::types::Json<Vec<EventView>>,
}

/// A message as the statement's JSON array has it.
#[derive(Deserialize)]
struct MsgJson {
    direction: String,
    idx: i32,
    msg_hash: String,
    msg_kind: String,
    src: Option<String>,
    dst: Option<String>,
    value: Option<String>,
    bounced: Option<bool>,
    op: Option<i64>,
}

/// The transaction read: `$1` is a transaction hash, an inbound message hash or the TEP-467
/// normalized hash of an external-in message (32 bytes). One statement: three index lookups
/// glued by UNION ALL (an `OR t.hash IN (subquery)` made
/// Postgres scan every transaction: 700 ms at a million rows), then the transaction's messages
/// and events as JSON arrays (one round trip instead of three). The bench's database floor
/// runs it too (`benches/reads.rs`).
pub fn transaction_sql() -> String {
    format!(
        "WITH t AS ( \
           SELECT * FROM ( \
             SELECT t.hash, t.account, t.lt, t.now, t.mc_seqno, t.block_workchain, \
               t.block_shard, t.block_seqno, t.orig_status, t.end_status, \
               t.total_fees::text AS total_fees, t.compute_exit_code, t.compute_success, \
               t.action_result_code, t.aborted, 'transaction_hash' AS matched_by, 0 AS rank \
             FROM transactions t WHERE t.hash = $1 \
             UNION ALL \
             SELECT t.hash, t.account, t.lt, t.now, t.mc_seqno, t.block_workchain, \
               t.block_shard, t.block_seqno, t.orig_status, t.end_status, \
               t.total_fees::text AS total_fees, t.compute_exit_code, t.compute_success, \
               t.action_result_code, t.aborted, 'message_hash' AS matched_by, 1 AS rank \
             FROM messages m JOIN transactions t ON t.hash = m.tx_hash \
             WHERE m.msg_hash = $1 AND m.direction = 'in' \
             UNION ALL \
             SELECT t.hash, t.account, t.lt, t.now, t.mc_seqno, t.block_workchain, \
               t.block_shard, t.block_seqno, t.orig_status, t.end_status, \
               t.total_fees::text AS total_fees, t.compute_exit_code, t.compute_success, \
               t.action_result_code, t.aborted, 'normalized_message_hash' AS matched_by, \
               2 AS rank \
             FROM messages m JOIN transactions t ON t.hash = m.tx_hash \
             WHERE m.norm_hash = $1 AND m.direction = 'in' \
           ) found ORDER BY rank, lt LIMIT 1) \
         SELECT t.hash, t.account, t.lt, t.now, t.mc_seqno, t.block_workchain, t.block_shard, \
           t.block_seqno, t.orig_status, t.end_status, t.total_fees, t.compute_exit_code, \
           t.compute_success, t.action_result_code, t.aborted, t.matched_by, \
           (SELECT COALESCE(json_agg(json_build_object('direction', m.direction, \
                'idx', m.idx, 'msg_hash', encode(m.msg_hash, 'hex'), 'msg_kind', m.msg_kind, \
                'src', m.src, 'dst', m.dst, 'value', m.value::text, 'bounced', m.bounced, \
                'op', m.op) ORDER BY m.direction, m.idx), '[]'::json) \
            FROM messages m WHERE m.tx_hash = t.hash) AS msgs, \
           (SELECT COALESCE(json_agg({EVENT_JSON} ORDER BY e.msg_idx), '[]'::json) \
            FROM events e WHERE e.tx_hash = t.hash) AS events \
         FROM t"
    )
}

/// `boc` of [`get_transaction_by_boc`].
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BocQuery {
    /// The external message as a one-root BoC in base64 (what TonConnect's `sendTransaction`
    /// answers as `boc`).
    pub boc: String,
}

/// The transaction a wallet's external message started, from the message's BoC (TonConnect's
/// `sendTransaction` answer): the BoC is normalized (TEP-467) and looked up.
#[utoipa::path(get, path = "/v1/transactions/by-boc", tag = "chain",
    security(("bearer" = [])),
    params(BocQuery),
    responses(
        (status = 200, body = TransactionView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "not indexed (yet): the wallet's transaction is not in a block the indexer has committed"),
    ))]
async fn get_transaction_by_boc(
    State(st): State<AppState>,
    Caller(who): Caller,
    crate::extract::Q(q): crate::extract::Q<BocQuery>,
) -> Result<Json<TransactionView>, ApiError> {
    who.require_full_read("a transaction")?;
    let cell = crate::wire::parse_boc("boc", &q.boc)?;
    let hash = labelmint_abi::message_hash::normalized_hash(&cell)
        .map_err(|e| ApiError::param("boc", format!("not a wallet's external message: {e}")))?;
    lookup(&st, &hash).await
}

/// A transaction by its hash, its inbound message's hash or the TEP-467 normalized hash of its
/// external-in message (hex or base64).
#[utoipa::path(get, path = "/v1/transactions/{hash}", tag = "chain",
    security(("bearer" = [])),
    params(("hash" = String, Path, description = "transaction hash, inbound message hash or normalized external-in message hash (TEP-467): 64 hex digits or base64")),
    responses(
        (status = 200, body = TransactionView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_transaction(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(h): Seg,
) -> Result<Json<TransactionView>, ApiError> {
    who.require_full_read("a transaction")?;
    let hash = parse_hash("hash", &h)?;
    lookup(&st, &hash).await
}

/// The transaction `hash` names (as a transaction, in-message or normalized hash), whole.
async fn lookup(st: &AppState, hash: &[u8; 32]) -> Result<Json<TransactionView>, ApiError> {
    let hash = hash.to_vec();
    let sql = transaction_sql();
    let tx: TxRow = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&hash)
        .fetch_optional(&st.pool)
        .await?
        .ok_or(ApiError::NotFound {
            resource: "transaction",
            id: hex::encode(&hash),
        })?;
    let mut in_msg = None;
    let mut out_msgs = Vec::new();
    for m in tx.msgs.0 {
        let view = MessageView {
            idx: m.idx,
            msg_hash: m.msg_hash,
            msg_kind: m.msg_kind,
            src: m.src,
            dst: m.dst,
            value: m.value,
            bounced: m.bounced,
            op: m.op,
        };
        if m.direction == "in" {
            in_msg = Some(view);
        } else {
            out_msgs.push(view);
        }
    }
    Ok(Json(TransactionView {
        matched_by: tx.matched_by,
        hash: hex::encode(&tx.hash),
        account: Address::contract(&tx.account, st.testnet),
        lt: tx.lt.to_string(),
        now: tx.now,
        mc_seqno: tx.mc_seqno,
        block: BlockRef {
            workchain: tx.block_workchain,
            shard: tx.block_shard.to_string(),
            seqno: tx.block_seqno,
        },
        orig_status: tx.orig_status,
        end_status: tx.end_status,
        total_fees: tx.total_fees,
        compute_exit_code: tx.compute_exit_code,
        compute_success: tx.compute_success,
        action_result_code: tx.action_result_code,
        aborted: tx.aborted,
        in_msg,
        out_msgs,
        events: tx.events.0,
    }))
}
