//! Observability: Prometheus `/metrics` and `/health`, served by axum.
//!
//! The figures are plain atomics updated by the tailer and the liteserver client; `/metrics`
//! renders them in the Prometheus text format (no registry crate: a dozen series do not need
//! one). Transactions per second is `rate(labelmint_indexer_transactions_total[1m])`.
//!
//! `/health` answers 200 while the indexer keeps up: it is at the chain head, or it committed a
//! block within the configured stall time. It answers 503 once it is behind and has committed
//! nothing for longer than that (a hung indexer, a dead liteserver, a stuck block) — an idle
//! chain is fine, since the indexer is then at the head.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

/// The indexer's figures. Share it as `Arc<Metrics>`.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    indexed_seqno: AtomicU64,
    indexed_utime: AtomicU64,
    head_seqno: AtomicU64,
    head_utime: AtomicU64,
    /// Milliseconds since `started` of the last committed block (0: none yet).
    last_progress_ms: AtomicU64,
    transactions: AtomicU64,
    events: AtomicU64,
    undecoded_events: AtomicU64,
    mc_blocks: AtomicU64,
    shard_blocks: AtomicU64,
    liteserver_errors: AtomicU64,
    liteserver_failovers: AtomicU64,
    liteserver_timeouts: AtomicU64,
    liteserver_unverified: AtomicU64,
    /// 1 when started with `--trust-liteserver` (nothing verified).
    trust_liteserver: AtomicU64,
    verified_blocks: AtomicU64,
    verify_micros: AtomicU64,
    stall_after: Duration,
}

impl Metrics {
    /// New figures; `/health` turns 503 after `stall_after` without progress.
    pub fn new(stall_after: Duration) -> Self {
        Self {
            started: Instant::now(),
            indexed_seqno: AtomicU64::new(0),
            indexed_utime: AtomicU64::new(0),
            head_seqno: AtomicU64::new(0),
            head_utime: AtomicU64::new(0),
            last_progress_ms: AtomicU64::new(0),
            transactions: AtomicU64::new(0),
            events: AtomicU64::new(0),
            undecoded_events: AtomicU64::new(0),
            mc_blocks: AtomicU64::new(0),
            shard_blocks: AtomicU64::new(0),
            liteserver_errors: AtomicU64::new(0),
            liteserver_failovers: AtomicU64::new(0),
            liteserver_timeouts: AtomicU64::new(0),
            liteserver_unverified: AtomicU64::new(0),
            trust_liteserver: AtomicU64::new(0),
            verified_blocks: AtomicU64::new(0),
            verify_micros: AtomicU64::new(0),
            stall_after,
        }
    }

    fn progress(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_progress_ms.store(ms, Ordering::Relaxed);
    }

    /// A masterchain block was committed, with its shard blocks, transactions and events.
    pub fn block_committed(
        &self,
        seqno: u32,
        gen_utime: u32,
        shard_blocks: u64,
        txs: u64,
        events: u64,
    ) {
        self.indexed_seqno
            .store(u64::from(seqno), Ordering::Relaxed);
        self.indexed_utime
            .store(u64::from(gen_utime), Ordering::Relaxed);
        self.mc_blocks.fetch_add(1, Ordering::Relaxed);
        self.shard_blocks.fetch_add(shard_blocks, Ordering::Relaxed);
        self.transactions.fetch_add(txs, Ordering::Relaxed);
        self.events.fetch_add(events, Ordering::Relaxed);
        self.progress();
    }

    /// The chain head as last seen.
    pub fn head_seen(&self, seqno: u32, gen_utime: u32) {
        self.head_seqno.store(u64::from(seqno), Ordering::Relaxed);
        self.head_utime
            .store(u64::from(gen_utime), Ordering::Relaxed);
    }

    /// An external-out body that is not a LabelMint event.
    pub fn undecoded_event(&self) {
        self.undecoded_events.fetch_add(1, Ordering::Relaxed);
    }

    /// A liteserver request failed (transport, timeout or server error).
    pub fn liteserver_error(&self) {
        self.liteserver_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A liteserver request timed out.
    pub fn liteserver_timeout(&self) {
        self.liteserver_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// The client moved to another liteserver.
    pub fn liteserver_failover(&self) {
        self.liteserver_failovers.fetch_add(1, Ordering::Relaxed);
    }

    /// A liteserver answer did not verify (the server was treated as failed).
    pub fn liteserver_unverified(&self) {
        self.liteserver_unverified.fetch_add(1, Ordering::Relaxed);
    }

    /// Unverified answers so far.
    pub fn liteserver_unverified_total(&self) -> u64 {
        self.liteserver_unverified.load(Ordering::Relaxed)
    }

    /// The indexer runs with `--trust-liteserver`: nothing is verified.
    pub fn set_trust_liteserver(&self, on: bool) {
        self.trust_liteserver
            .store(u64::from(on), Ordering::Relaxed);
    }

    /// A masterchain block was verified by signatures, in `spent` (proof checks only).
    pub fn block_verified(&self, spent: Duration) {
        self.verified_blocks.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(spent.as_micros()).unwrap_or(u64::MAX);
        self.verify_micros.fetch_add(us, Ordering::Relaxed);
    }

    /// Masterchain blocks verified so far and the time their checks took.
    pub fn verification_cost(&self) -> (u64, Duration) {
        (
            self.verified_blocks.load(Ordering::Relaxed),
            Duration::from_micros(self.verify_micros.load(Ordering::Relaxed)),
        )
    }

    /// Liteserver errors so far.
    pub fn liteserver_errors(&self) -> u64 {
        self.liteserver_errors.load(Ordering::Relaxed)
    }

    /// Failovers so far.
    pub fn liteserver_failovers(&self) -> u64 {
        self.liteserver_failovers.load(Ordering::Relaxed)
    }

    /// Whether the indexer keeps up: at the head, or a block committed within the stall time.
    pub fn healthy(&self) -> bool {
        let at_head =
            self.head_seqno.load(Ordering::Relaxed) <= self.indexed_seqno.load(Ordering::Relaxed);
        let now = self.started.elapsed();
        let last = Duration::from_millis(self.last_progress_ms.load(Ordering::Relaxed));
        at_head || now.saturating_sub(last) <= self.stall_after
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let indexed = get(&self.indexed_seqno);
        let head = get(&self.head_seqno);
        let lag_blocks = head.saturating_sub(indexed);
        let (head_utime, indexed_utime) = (get(&self.head_utime), get(&self.indexed_utime));
        let lag_seconds = if head_utime > 0 && indexed_utime > 0 {
            head_utime.saturating_sub(indexed_utime)
        } else {
            0
        };
        let mut out = String::new();
        let mut series = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        };
        series(
            "labelmint_indexer_indexed_seqno",
            "gauge",
            "Last masterchain seqno committed to Postgres.",
            indexed,
        );
        series(
            "labelmint_indexer_chain_head_seqno",
            "gauge",
            "Newest masterchain seqno the liteservers reported.",
            head,
        );
        series(
            "labelmint_indexer_lag_blocks",
            "gauge",
            "Masterchain blocks between the chain head and the last committed block.",
            lag_blocks,
        );
        series(
            "labelmint_indexer_lag_seconds",
            "gauge",
            "Chain time between the head block and the last committed block.",
            lag_seconds,
        );
        series(
            "labelmint_indexer_transactions_total",
            "counter",
            "Transactions committed (rate() gives transactions per second).",
            get(&self.transactions),
        );
        series(
            "labelmint_indexer_events_total",
            "counter",
            "LabelMint events decoded and committed.",
            get(&self.events),
        );
        series(
            "labelmint_indexer_undecoded_events_total",
            "counter",
            "External-out bodies that are not LabelMint events.",
            get(&self.undecoded_events),
        );
        series(
            "labelmint_indexer_masterchain_blocks_total",
            "counter",
            "Masterchain blocks committed.",
            get(&self.mc_blocks),
        );
        series(
            "labelmint_indexer_shard_blocks_total",
            "counter",
            "Shard blocks committed.",
            get(&self.shard_blocks),
        );
        series(
            "labelmint_indexer_liteserver_errors_total",
            "counter",
            "Failed liteserver requests (transport, timeout, server error).",
            get(&self.liteserver_errors),
        );
        series(
            "labelmint_indexer_liteserver_timeouts_total",
            "counter",
            "Liteserver requests that timed out.",
            get(&self.liteserver_timeouts),
        );
        series(
            "labelmint_indexer_liteserver_failovers_total",
            "counter",
            "Switches from one liteserver to another.",
            get(&self.liteserver_failovers),
        );
        series(
            "labelmint_indexer_liteserver_unverified_total",
            "counter",
            "Liteserver answers that did not verify (the server was failed over).",
            get(&self.liteserver_unverified),
        );
        series(
            "labelmint_indexer_trust_liteserver",
            "gauge",
            "1 when started with --trust-liteserver: no proof or signature is checked.",
            get(&self.trust_liteserver),
        );
        series(
            "labelmint_indexer_verified_blocks_total",
            "counter",
            "Masterchain blocks verified by validator signatures.",
            get(&self.verified_blocks),
        );
        series(
            "labelmint_indexer_verify_microseconds_total",
            "counter",
            "Time spent checking proofs and signatures (divide by verified blocks: cost per block).",
            get(&self.verify_micros),
        );
        series(
            "labelmint_indexer_healthy",
            "gauge",
            "1 while the indexer keeps up, 0 once it is behind and stalled.",
            u64::from(self.healthy()),
        );
        out
    }
}

/// The `/metrics` and `/health` routes.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/health", get(health_handler))
        .with_state(metrics)
}

async fn metrics_handler(State(m): State<Arc<Metrics>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        m.render(),
    )
        .into_response()
}

async fn health_handler(State(m): State<Arc<Metrics>>) -> Response {
    let body = serde_json::json!({
        "status": if m.healthy() { "ok" } else { "stalled" },
        "indexed_seqno": m.indexed_seqno.load(Ordering::Relaxed),
        "chain_head_seqno": m.head_seqno.load(Ordering::Relaxed),
    });
    let status = if m.healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// A running HTTP server for the metrics routes.
#[derive(Debug)]
pub struct MetricsServer {
    /// The bound address (port 0 resolves here).
    pub addr: SocketAddr,
    /// The server task.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds `addr` and serves `/metrics` and `/health` in a background task.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<MetricsServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = router(metrics);
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(MetricsServer { addr, task })
}
