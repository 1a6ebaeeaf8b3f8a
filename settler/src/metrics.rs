//! Prometheus `/metrics`: the settler's progress and the float of every escrow and vault.
//!
//! Plain figures behind a mutex rendered in the text format (a few dozen series need no
//! registry crate, like the indexer's). Float gauges are labelled by contract and currency.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

/// One contract's float: what it holds against what its next actions need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Float {
    /// `escrow` or `vault`.
    pub kind: &'static str,
    /// The currency code.
    pub currency: String,
    /// TON balance (nanoTON).
    pub ton_balance: u128,
    /// TON its next actions need (fees, reserves; nanoTON).
    pub ton_needed: u128,
    /// Vaults: what it holds of its currency (TON above its reserve, or the jetton books);
    /// escrows: the remaining budget.
    pub holdings: u128,
    /// Vaults: what the ledger says is payable in its currency (approved + in live batches);
    /// escrows: what is releasable (approved, not released).
    pub payable: u128,
}

impl Float {
    /// Whether the TON balance is below what the next actions need, or the holdings (a
    /// vault's funds, an escrow's remaining budget) below what is payable from them.
    pub fn is_low(&self) -> bool {
        self.ton_balance < self.ton_needed || self.holdings < self.payable
    }
}

#[derive(Debug, Default)]
struct Figures {
    is_leader: bool,
    token: i64,
    passes: u64,
    errors: u64,
    batches_formed: u64,
    batches_sent: u64,
    batches_expired: u64,
    releases_sent: u64,
    recoveries_sent: u64,
    recoveries_failed: u64,
    floats: BTreeMap<String, Float>,
}

/// The settler's figures. Share as `Arc<Metrics>`.
#[derive(Debug, Default)]
pub struct Metrics {
    f: Mutex<Figures>,
}

impl Metrics {
    fn with(&self, f: impl FnOnce(&mut Figures)) {
        if let Ok(mut g) = self.f.lock() {
            f(&mut g);
        }
    }
    /// This process leads (with `token`) or stands by.
    pub fn leader(&self, is_leader: bool, token: i64) {
        self.with(|f| {
            f.is_leader = is_leader;
            f.token = token;
        });
    }
    /// Whether this process leads, and its term's fencing token.
    pub fn leading(&self) -> (bool, i64) {
        self.f
            .lock()
            .map(|f| (f.is_leader, f.token))
            .unwrap_or((false, 0))
    }
    /// A settlement pass ended (`ok` false: with an error).
    pub fn pass(&self, ok: bool) {
        self.with(|f| {
            f.passes += 1;
            if !ok {
                f.errors += 1;
            }
        });
    }
    /// A batch was formed.
    pub fn batch_formed(&self) {
        self.with(|f| f.batches_formed += 1);
    }
    /// A batch external was handed to the liteserver.
    pub fn batch_sent(&self) {
        self.with(|f| f.batches_sent += 1);
    }
    /// A batch expired in chain time.
    pub fn batch_expired(&self) {
        self.with(|f| f.batches_expired += 1);
    }
    /// A release was carried by the relayer wallet.
    pub fn release_sent(&self) {
        self.with(|f| f.releases_sent += 1);
    }
    /// A `jetton_recover` was carried by the relayer wallet.
    pub fn recovery_sent(&self) {
        self.with(|f| f.recoveries_sent += 1);
    }
    /// A `jetton_recover` the settler sent did not book: the contract's wallet refused it
    /// (`ev_jetton_recovery_failed`), it never reached the contract, or it timed out.
    pub fn recovery_failed(&self) {
        self.with(|f| f.recoveries_failed += 1);
    }
    /// Releases carried by the relayer wallet so far (each counted once, when a new external
    /// carrying it was taken by a liteserver; resends of the same bytes are not counted).
    pub fn releases_sent(&self) -> u64 {
        self.f.lock().map(|f| f.releases_sent).unwrap_or(0)
    }
    /// (recoveries sent, recoveries failed) so far.
    pub fn recoveries(&self) -> (u64, u64) {
        self.f
            .lock()
            .map(|f| (f.recoveries_sent, f.recoveries_failed))
            .unwrap_or((0, 0))
    }
    /// A contract's float; logs a warning when it is low.
    pub fn float(&self, contract: &str, fl: Float) {
        if fl.is_low() {
            tracing::warn!(
                contract,
                kind = fl.kind,
                currency = %fl.currency,
                ton_balance = %fl.ton_balance,
                ton_needed = %fl.ton_needed,
                holdings = %fl.holdings,
                payable = %fl.payable,
                "float low: top the contract up"
            );
        }
        self.with(|f| {
            f.floats.insert(contract.to_string(), fl);
        });
    }
    /// The floats seen last, by contract.
    pub fn floats(&self) -> BTreeMap<String, Float> {
        self.f.lock().map(|f| f.floats.clone()).unwrap_or_default()
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        let Ok(f) = self.f.lock() else {
            return String::new();
        };
        let mut s = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            "labelmint_settler_passes_total",
            "Settlement passes.",
            f.passes,
        );
        counter(
            "labelmint_settler_pass_errors_total",
            "Passes that ended with an error.",
            f.errors,
        );
        counter(
            "labelmint_settler_batches_formed_total",
            "Batches formed.",
            f.batches_formed,
        );
        counter(
            "labelmint_settler_batches_sent_total",
            "Batch externals sent (resends included).",
            f.batches_sent,
        );
        counter(
            "labelmint_settler_batches_expired_total",
            "Batches expired in chain time.",
            f.batches_expired,
        );
        counter(
            "labelmint_settler_releases_sent_total",
            "Releases carried (resends included).",
            f.releases_sent,
        );
        counter(
            "labelmint_settler_recoveries_sent_total",
            "jetton_recover messages carried to jetton vaults and escrows (resends included).",
            f.recoveries_sent,
        );
        counter(
            "labelmint_settler_recoveries_failed_total",
            "jetton_recover attempts that booked nothing (refused by the wallet, lost, timed out).",
            f.recoveries_failed,
        );
        let _ = writeln!(
            s,
            "# HELP labelmint_settler_leader 1 while this process leads.\n# TYPE labelmint_settler_leader gauge\nlabelmint_settler_leader {}\n# HELP labelmint_settler_fencing_token The fencing token of this process's term.\n# TYPE labelmint_settler_fencing_token gauge\nlabelmint_settler_fencing_token {}",
            u8::from(f.is_leader),
            f.token
        );
        for (name, help) in [
            ("ton_balance", "TON balance (nanoTON)."),
            ("ton_needed", "TON the next actions need (nanoTON)."),
            (
                "holdings",
                "Vault holdings / escrow remaining budget (base units).",
            ),
            (
                "payable",
                "Payable in the vault's currency per the ledger (base units).",
            ),
            ("float_low", "1 while the float is low."),
        ] {
            let _ = writeln!(
                s,
                "# HELP labelmint_settler_{name} {help}\n# TYPE labelmint_settler_{name} gauge"
            );
            for (c, fl) in &f.floats {
                let v = match name {
                    "ton_balance" => fl.ton_balance,
                    "ton_needed" => fl.ton_needed,
                    "holdings" => fl.holdings,
                    "payable" => fl.payable,
                    _ => u128::from(fl.is_low()),
                };
                let _ = writeln!(
                    s,
                    "labelmint_settler_{name}{{contract=\"{c}\",kind=\"{}\",currency=\"{}\"}} {v}",
                    fl.kind, fl.currency
                );
            }
        }
        s
    }
}

async fn metrics(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        m.render(),
    )
}

/// Serves `/metrics` on `addr` (port 0: any); returns the bound address and the task.
pub async fn serve(
    addr: SocketAddr,
    m: Arc<Metrics>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new().route("/metrics", get(metrics)).with_state(m);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((bound, task))
}
