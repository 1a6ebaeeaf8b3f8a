//! One open stream: replay from Postgres, then forward the live events that belong to it.

use std::sync::Arc;

use axum::response::sse::Event;
use sqlx::PgPool;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::{Hub, Permit, StreamEvent, StreamKey, read_after};

/// Events one backlog query reads.
const BACKLOG_PAGE: i64 = 200;

/// Whose events a stream carries.
#[derive(Debug, Clone)]
pub enum Filter {
    /// The events a project's escrow emitted (what `GET /v1/projects/{id}/events` lists).
    Project {
        /// The escrow (raw).
        escrow: String,
    },
    /// The vault events about a worker's payouts: `ev_batch_executed` of a batch paying them,
    /// `ev_payout_bounced` of one of their items.
    Worker {
        /// The payout address (raw).
        address: String,
    },
}

impl Filter {
    fn matches(&self, ev: &StreamEvent) -> bool {
        match self {
            Filter::Project { escrow } => &ev.contract == escrow,
            Filter::Worker { address } => ev.workers.iter().any(|w| w == address),
        }
    }

    /// The backlog's extra condition over `e` and its `$6`.
    fn sql(&self) -> (&'static str, &str) {
        match self {
            Filter::Project { escrow } => ("AND e.contract = $6", escrow),
            Filter::Worker { address } => (
                "AND ((e.kind = 'ev_payout_bounced' AND e.payout_item_id IN \
                   (SELECT pi.id FROM ledger_payout_items pi WHERE pi.payout_address = $6)) \
                  OR (e.kind = 'ev_batch_executed' AND (e.contract, e.query_id) IN \
                   (SELECT b.vault, b.query_id FROM ledger_batches b \
                    JOIN ledger_payout_items pi ON pi.batch_id = b.id \
                    WHERE pi.payout_address = $6)))",
                address,
            ),
        }
    }
}

fn sse(ev: &StreamEvent) -> Event {
    Event::default()
        .id(ev.key.to_string())
        .event(&ev.kind)
        .data(&*ev.data)
}

/// Why a pump stopped sending.
enum Stop {
    /// The caller went away, or the server shuts down.
    Gone,
}

/// Sends the events after `last` from Postgres (in pages) with back-pressure: the caller's
/// own history is bounded, and a caller that does not read holds only this task.
async fn backlog(
    pool: &PgPool,
    filter: &Filter,
    last: &mut StreamKey,
    tx: &mpsc::Sender<Event>,
) -> Result<(), Stop> {
    let (cond, arg) = filter.sql();
    loop {
        let page = match read_after(pool, last, BACKLOG_PAGE, cond, Some(arg)).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "stream backlog read failed: closing the stream");
                return Err(Stop::Gone);
            }
        };
        let n = page.len() as i64;
        for ev in page {
            tx.send(sse(&ev)).await.map_err(|_| Stop::Gone)?;
            *last = ev.key.clone();
        }
        if n < BACKLOG_PAGE {
            return Ok(());
        }
    }
}

/// Runs one stream until the caller leaves, is dropped for not reading, or the server stops.
/// `last`: the key after which to start (`StreamKey::ZERO`: from the first event).
pub async fn pump(
    hub: Arc<Hub>,
    pool: PgPool,
    filter: Filter,
    mut last: StreamKey,
    tx: mpsc::Sender<Event>,
    permit: Permit,
) {
    let _permit = permit;
    let mut shutdown = hub.shutdown();
    if *shutdown.borrow() {
        return;
    }
    // Subscribe first: whatever commits while the backlog is read arrives here too, and the
    // key comparison below sends it once.
    let mut rx = hub.subscribe();
    tokio::select! {
        r = backlog(&pool, &filter, &mut last, &tx) => if r.is_err() { return },
        _ = shutdown.changed() => return,
    }
    loop {
        let ev = tokio::select! {
            r = rx.recv() => r,
            () = tx.closed() => return,
            _ = shutdown.changed() => return,
        };
        match ev {
            Ok(ev) => {
                if ev.key <= last || !filter.matches(&ev) {
                    continue;
                }
                match tx.try_send(sse(&ev)) {
                    Ok(()) => last = ev.key.clone(),
                    Err(TrySendError::Full(_)) => {
                        hub.count_drop();
                        tracing::info!(
                            last_sent = %last,
                            "stream dropped: the caller does not read (its buffer is full)"
                        );
                        return;
                    }
                    Err(TrySendError::Closed(_)) => return,
                }
            }
            // The shared buffer moved past events this pump had not seen (it was sending its
            // backlog): read them from Postgres instead.
            Err(RecvError::Lagged(_)) => {
                tokio::select! {
                    r = backlog(&pool, &filter, &mut last, &tx) => if r.is_err() { return },
                    _ = shutdown.changed() => return,
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}
