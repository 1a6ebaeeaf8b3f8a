//! `/v1/transactions/{hash}`: an indexed transaction by its hash, or by the hash of its
//! inbound message (an external message's hash, as sent, maps to the transaction it started).
//!
//! Not yet: the normalized external-message hash of TEP-467. The indexer keeps each
//! transaction's BOC and each message's plain `msg_hash`, but no normalized hash (the hash of
//! the ext-in message rebuilt with `src` = addr_none, `import_fee` = 0, no StateInit and the
//! body as a reference), so there is nothing to look it up by without scanning every BOC. It
//! needs a `norm_hash` column (indexed) written by the indexer with each message, and a
//! backfill; the lookup then is one more `OR` here.

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
    OpenApiRouter::new().routes(routes!(get_transaction))
}

/// An indexed transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionView {
    /// `transaction_hash` or `message_hash`: what the path's hash matched.
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
    by_hash: bool,
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

/// The transaction read: `$1` is a transaction hash or an inbound message hash (32 bytes).
/// One statement: two index lookups glued by UNION ALL (an `OR t.hash IN (subquery)` made
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
               t.action_result_code, t.aborted, true AS by_hash \
             FROM transactions t WHERE t.hash = $1 \
             UNION ALL \
             SELECT t.hash, t.account, t.lt, t.now, t.mc_seqno, t.block_workchain, \
               t.block_shard, t.block_seqno, t.orig_status, t.end_status, \
               t.total_fees::text AS total_fees, t.compute_exit_code, t.compute_success, \
               t.action_result_code, t.aborted, false AS by_hash \
             FROM messages m JOIN transactions t ON t.hash = m.tx_hash \
             WHERE m.msg_hash = $1 AND m.direction = 'in' \
           ) found ORDER BY by_hash DESC, lt LIMIT 1) \
         SELECT t.*, \
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

/// A transaction by its hash or by its inbound message's hash (hex or base64).
#[utoipa::path(get, path = "/v1/transactions/{hash}", tag = "chain",
    security(("bearer" = [])),
    params(("hash" = String, Path, description = "transaction hash or inbound message hash: 64 hex digits or base64")),
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
    let hash = parse_hash("hash", &h)?.to_vec();
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
        matched_by: if tx.by_hash {
            "transaction_hash"
        } else {
            "message_hash"
        }
        .to_owned(),
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
