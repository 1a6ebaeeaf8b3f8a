//! Server-sent event streams: one shared poller reads the indexer's new events (one query per
//! tick for every subscriber) and fans them out over a `tokio::sync::broadcast`; each open
//! stream has a small task that first replays what its caller missed from Postgres, then
//! forwards the live events that belong to it into a bounded per-connection buffer.
//!
//! ```text
//!  indexer --commit mc block--> events --poller (every `poll`, one SELECT key > cursor)--+
//!                                                                                       v
//!  GET .../stream --auth--> pump task: subscribe -> backlog (key > Last-Event-ID, pages) |
//!                                       -> live: broadcast (shared, `shared_buffer`) ----+
//!                                       -> mpsc (`buffer` per connection) -> SSE body
//! ```
//!
//! - Exactness: the pump subscribes BEFORE it reads the backlog and forwards a live event
//!   only when its [`StreamKey`] is above the last one it sent, so an event committed while
//!   the backlog is read is sent once, not lost, not twice. Keys grow in commit order
//!   (see [`StreamKey`]), so a resume with `Last-Event-ID` gets exactly what came after.
//! - A pump that falls behind the shared buffer (it was still sending its backlog) reads
//!   the gap from Postgres again. A caller that does not read its stream fills its own
//!   buffer and is dropped (the stream ends; it reconnects with `Last-Event-ID` and loses
//!   nothing). Memory per connection is bounded by `buffer` events.
//! - [`Limiter`] caps the open streams of one caller (an API key, or a wallet's sessions).

mod key;
mod limit;
mod pump;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

pub use key::StreamKey;
pub use limit::{Limiter, Permit};
pub use pump::{Filter, pump};

use crate::routes::projects::EventRow;

/// Stream settings.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// How often the shared poller looks for new events (an event is sent within about this
    /// long of its block being indexed).
    pub poll: Duration,
    /// Events held per connection before a caller that does not read is dropped.
    pub buffer: usize,
    /// Events the shared fan-out keeps for subscribers that are busy (replaying).
    pub shared_buffer: usize,
    /// A `: keep-alive` comment after this long without an event (proxies close idle streams).
    pub keep_alive: Duration,
    /// The `retry:` the stream announces: how long a browser waits before reconnecting.
    pub retry: Duration,
    /// Open streams per caller.
    pub max_per_caller: usize,
}

impl Default for StreamConfig {
    /// Poll every 250 ms, 256 events per connection, 4,096 shared, keep-alive 15 s, retry 3 s,
    /// 8 streams per caller.
    fn default() -> StreamConfig {
        StreamConfig {
            poll: Duration::from_millis(250),
            buffer: 256,
            shared_buffer: 4096,
            keep_alive: Duration::from_secs(15),
            retry: Duration::from_secs(3),
            max_per_caller: 8,
        }
    }
}

/// One indexed event as the streams carry it: its key, who it belongs to, and its JSON
/// (serialized once, shared by every subscriber).
#[derive(Debug)]
pub struct StreamEvent {
    /// Its place.
    pub key: StreamKey,
    /// The TL-B constructor (`ev_deposit`, ...): the SSE `event:` name.
    pub kind: String,
    /// The emitting contract (raw).
    pub contract: String,
    /// The project whose escrow emitted it (decimal), if any.
    pub project_id: Option<String>,
    /// That project's client (raw), if any.
    pub client: Option<String>,
    /// The payout addresses it concerns (a batch executed or an item bounced).
    pub workers: Vec<String>,
    /// The clients whose projects it concerns: the escrow's, the project an event names
    /// (`ev_vault_funded`), and the projects whose earnings a batch or a bounced item pays.
    pub clients: Vec<String>,
    /// Chain time of its transaction (unix seconds).
    pub now: i64,
    /// The event as `GET /v1/projects/{id}/events` shows it (`EventView`), as JSON.
    pub data: Arc<str>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct StreamRow {
    #[sqlx(flatten)]
    ev: EventRow,
    contract: String,
    project_id: Option<String>,
    client: Option<String>,
    workers: Vec<String>,
    clients: Vec<String>,
}

/// The columns of a [`StreamRow`] over `events e` (joined to its project), ordered by key.
/// `{where}` is spliced in (constant SQL only): `$1..$4` are the key to start after, `$5` the
/// page size.
pub(crate) fn select_sql(filter: &str) -> String {
    format!(
        "SELECT e.kind, e.tx_hash, e.msg_idx, e.lt, e.now, e.mc_seqno, e.amount::text AS amount, \
           e.fee::text AS fee, e.balance_after::text AS balance_after, \
           e.query_id::text AS query_id, e.payout_item_id::text AS payout_item_id, e.fields, \
           e.contract, p.project_id::text AS project_id, p.client, \
           ARRAY(SELECT DISTINCT pi.payout_address FROM ledger_payout_items pi \
             WHERE (e.kind = 'ev_payout_bounced' AND pi.id = e.payout_item_id) \
                OR (e.kind = 'ev_batch_executed' AND pi.batch_id IN \
                    (SELECT b.id FROM ledger_batches b \
                     WHERE b.vault = e.contract AND b.query_id = e.query_id)) \
             ORDER BY 1) AS workers, \
           ARRAY(SELECT c FROM (SELECT p.client AS c WHERE p.client IS NOT NULL \
               UNION SELECT lp.client FROM ledger_projects lp WHERE lp.project_id = e.project_id \
               UNION SELECT lp.client FROM ledger_payout_items pi \
                 JOIN ledger_batch_items bi ON bi.batch_id = pi.batch_id AND bi.position = pi.position \
                 JOIN ledger_earnings le ON le.id = bi.earning_id \
                 JOIN ledger_projects lp ON lp.project_id = le.project_id \
                 WHERE (e.kind = 'ev_payout_bounced' AND pi.id = e.payout_item_id) \
                    OR (e.kind = 'ev_batch_executed' AND pi.batch_id IN \
                        (SELECT b.id FROM ledger_batches b \
                         WHERE b.vault = e.contract AND b.query_id = e.query_id))) cs \
             ORDER BY 1) AS clients \
         FROM events e LEFT JOIN ledger_projects p ON p.escrow = e.contract \
         WHERE (e.mc_seqno, e.lt, e.tx_hash, e.msg_idx) > ($1, $2, $3, $4) {filter} \
         ORDER BY e.mc_seqno, e.lt, e.tx_hash, e.msg_idx LIMIT $5"
    )
}

/// Reads up to `limit` events after `after` that pass `filter` (constant SQL over `e`, with
/// `$6` bound to `arg`).
pub(crate) async fn read_after<'c>(
    db: impl sqlx::PgExecutor<'c>,
    after: &StreamKey,
    limit: i64,
    filter: &str,
    arg: Option<&str>,
) -> Result<Vec<StreamEvent>, sqlx::Error> {
    let sql = select_sql(filter);
    let mut q = sqlx::query_as::<_, StreamRow>(sqlx::AssertSqlSafe(sql))
        .bind(after.mc_seqno)
        .bind(after.lt)
        .bind(after.tx_hash.to_vec())
        .bind(after.msg_idx)
        .bind(limit);
    if let Some(arg) = arg {
        q = q.bind(arg.to_owned());
    }
    let rows = q.fetch_all(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(key) = StreamKey::from_row(r.ev.mc_seqno, r.ev.lt, &r.ev.tx_hash, r.ev.msg_idx)
        else {
            tracing::warn!(
                mc_seqno = r.ev.mc_seqno,
                lt = r.ev.lt,
                "an event whose tx_hash is not 32 bytes: skipped"
            );
            continue;
        };
        let kind = r.ev.kind.clone();
        let now = r.ev.now;
        let data =
            serde_json::to_string(&r.ev.view()).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        out.push(StreamEvent {
            key,
            now,
            clients: r.clients,
            kind,
            contract: r.contract,
            project_id: r.project_id,
            client: r.client,
            workers: r.workers,
            data: data.into(),
        });
    }
    Ok(out)
}

/// The shared poller and its fan-out.
#[derive(Debug)]
pub struct Hub {
    tx: broadcast::Sender<Arc<StreamEvent>>,
    shutdown: watch::Receiver<bool>,
    /// Settings.
    pub config: StreamConfig,
    /// Open streams per caller.
    pub limiter: Arc<Limiter>,
    /// Streams dropped because their caller did not read (for `/metrics` and tests).
    pub dropped: AtomicU64,
    /// Polls made (one query each).
    pub polls: AtomicU64,
}

impl Hub {
    /// Starts the poller on `pool` from the newest event (streams replay older ones from
    /// Postgres themselves). It stops when `shutdown` turns true.
    pub fn spawn(
        pool: PgPool,
        config: StreamConfig,
        shutdown: watch::Receiver<bool>,
    ) -> (Arc<Hub>, JoinHandle<()>) {
        let (tx, _) = broadcast::channel(config.shared_buffer.max(1));
        let hub = Arc::new(Hub {
            tx,
            shutdown,
            limiter: Arc::new(Limiter::new(config.max_per_caller)),
            config,
            dropped: AtomicU64::new(0),
            polls: AtomicU64::new(0),
        });
        let task = tokio::spawn(poll(hub.clone(), pool));
        (hub, task)
    }

    /// A receiver of every new event.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StreamEvent>> {
        self.tx.subscribe()
    }

    /// Turns true when the server shuts down (streams end then).
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }

    /// The streams' Prometheus lines: open streams, streams dropped for not reading, polls.
    pub fn render_metrics(&self) -> String {
        format!(
            "# HELP labelmint_api_streams_open Server-sent event streams open.\n\
             # TYPE labelmint_api_streams_open gauge\n\
             labelmint_api_streams_open {}\n\
             # HELP labelmint_api_streams_dropped_total Streams closed because their caller did not read.\n\
             # TYPE labelmint_api_streams_dropped_total counter\n\
             labelmint_api_streams_dropped_total {}\n\
             # HELP labelmint_api_stream_polls_total Queries of the shared event poller.\n\
             # TYPE labelmint_api_stream_polls_total counter\n\
             labelmint_api_stream_polls_total {}\n",
            self.limiter.total(),
            self.dropped.load(Ordering::Relaxed),
            self.polls.load(Ordering::Relaxed),
        )
    }

    pub(crate) fn count_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// Events one poll reads at most (a full page is followed by another poll at once).
const POLL_PAGE: i64 = 500;

/// The key of the newest indexed event (`ZERO` when there is none).
pub(crate) async fn newest<'c>(db: impl sqlx::PgExecutor<'c>) -> Result<StreamKey, sqlx::Error> {
    let row: Option<(i64, i64, Vec<u8>, i32)> = sqlx::query_as(
        "SELECT mc_seqno, lt, tx_hash, msg_idx FROM events \
         ORDER BY mc_seqno DESC, lt DESC, tx_hash DESC, msg_idx DESC LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    Ok(row
        .and_then(|(m, l, h, i)| StreamKey::from_row(m, l, &h, i))
        .unwrap_or(StreamKey::ZERO))
}

async fn poll(hub: Arc<Hub>, pool: PgPool) {
    let mut shutdown = hub.shutdown.clone();
    let mut cursor: Option<StreamKey> = None;
    let mut tick = tokio::time::interval(hub.config.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        loop {
            let after = match &cursor {
                Some(c) => c.clone(),
                None => match newest(&pool).await {
                    Ok(k) => {
                        cursor = Some(k.clone());
                        k
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "stream poller: cannot read the newest event");
                        break;
                    }
                },
            };
            hub.polls.fetch_add(1, Ordering::Relaxed);
            match read_after(&pool, &after, POLL_PAGE, "", None).await {
                Ok(events) => {
                    let full = events.len() as i64 == POLL_PAGE;
                    for ev in events {
                        cursor = Some(ev.key.clone());
                        // No subscriber is not an error: the next one replays from Postgres.
                        let _ = hub.tx.send(Arc::new(ev));
                    }
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "stream poller: read failed; retrying next tick");
                    break;
                }
            }
        }
    }
}
