//! What the settler does, as a person watching `make up` wants to see it: read from what the
//! settler and the indexer write to Postgres (the settler's release intents, the ledger's
//! batches and their states, the indexed events), never from the settler's own say-so.
//!
//! ```text
//!   +3.1 s  release requested   22.5 TON for project 1764000000 (escrow seqno 0): signed by the payout signer, carried by the relayer wallet
//!   +4.2 s  release landed      22.5 TON + 0.5625 TON fee: escrow#1764000000 -> ton-vault (masterchain block 93)
//!   +5.0 s  batch #1 sent       3 items, 22.5 TON (vault query 1764000000000, valid 3600 s)
//!   +6.4 s  batch #1 confirmed  3 items, 22.5 TON, executed at lt 93000004
//!             worker-1  UQ...  12 TON      (earning #1)
//! ```

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::time::Instant;

use labelmint_ledger::{BatchId, BatchState, Ledger};
use sqlx::{PgPool, Row};
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;

use crate::error::Result;
use crate::indexed;
use crate::scenario::{friendly, say, ton};

/// A batch the settler confirmed, as [`Progress::poll`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmedBatch {
    /// The ledger's id.
    pub id: i64,
    /// Its items.
    pub items: usize,
    /// Its total, nanoTON.
    pub total: u128,
}

/// Follows the settler's work on one run's contracts and prints each step once.
#[derive(Debug)]
pub struct Progress {
    started: Instant,
    /// Batches with a larger id are this run's.
    after_batch: i64,
    batches: HashMap<i64, BatchState>,
    /// The run's contracts (raw), and their names.
    names: HashMap<String, String>,
    start_mc: u32,
    after_lt: u64,
    intents: HashSet<(String, i64)>,
    /// Every batch confirmed so far, in order.
    pub confirmed: Vec<ConfirmedBatch>,
}

/// A raw address of the ledger (`0:<hex>`) as a [`StdAddr`].
pub(crate) fn std_of(raw: &str) -> Option<StdAddr> {
    let (wc, hex_part) = raw.split_once(':')?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut bytes).ok()?;
    Some(StdAddr::new(wc.parse().ok()?, HashBytes(bytes)))
}

impl Progress {
    /// Follows batches formed after batch `after_batch` and the events of `names`' contracts
    /// (raw address -> name) indexed after masterchain block `start_mc`.
    pub fn new(after_batch: i64, names: HashMap<String, String>, start_mc: u32) -> Self {
        Self {
            started: Instant::now(),
            after_batch,
            batches: HashMap::new(),
            names,
            start_mc,
            after_lt: 0,
            intents: HashSet::new(),
            confirmed: Vec::new(),
        }
    }

    /// The largest batch id in the ledger (0 when none): batches after it are new.
    pub async fn last_batch(pool: &PgPool) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(max(id), 0) FROM ledger_batches")
                .fetch_one(pool)
                .await?,
        )
    }

    fn line(&self, what: &str, rest: String, out: &mut dyn Write) {
        say(
            out,
            format!(
                "  +{:>6.1} s  {what:<19} {rest}",
                self.started.elapsed().as_secs_f64()
            ),
        );
    }

    fn name(&self, raw: &str) -> String {
        self.names.get(raw).cloned().unwrap_or_else(|| {
            std_of(raw)
                .map(|a| friendly(&a, true))
                .unwrap_or_else(|| raw.to_string())
        })
    }

    /// Reads what changed since the last call and prints it; returns the batches confirmed in
    /// this call.
    pub async fn poll(
        &mut self,
        pool: &PgPool,
        ledger: &Ledger,
        out: &mut dyn Write,
    ) -> Result<Vec<ConfirmedBatch>> {
        let contracts: Vec<String> = self.names.keys().cloned().collect();

        // Release intents: the settler writes one (fenced) before it asks the signer, one row
        // per escrow, replaced by the next seqno's (it may have landed between two polls).
        let intents = sqlx::query(
            "SELECT escrow, project_id::text AS project, seqno, amount::text AS amount \
             FROM settler_releases WHERE escrow = ANY($1) ORDER BY created_at",
        )
        .bind(&contracts)
        .fetch_all(pool)
        .await?;
        for r in intents {
            let escrow: String = r.try_get("escrow")?;
            let seqno: i64 = r.try_get("seqno")?;
            if !self.intents.insert((escrow.clone(), seqno)) {
                continue;
            }
            let amount: String = r.try_get("amount")?;
            let amount = amount.parse::<u128>().map(ton).unwrap_or(amount);
            let project: String = r.try_get("project")?;
            self.line(
                "release requested",
                format!(
                    "{amount} for project {project} ({} seqno {seqno}): signed by the payout \
                     signer, carried by the relayer wallet",
                    self.name(&escrow)
                ),
                out,
            );
        }

        // Chain facts, as the indexer decoded them.
        for e in indexed::events_since(pool, &contracts, self.start_mc).await? {
            if e.lt <= self.after_lt {
                continue;
            }
            self.after_lt = e.lt;
            let amount = e.amount.map(ton).unwrap_or_else(|| "?".into());
            match e.kind.as_str() {
                "ev_release" => self.line(
                    "release landed",
                    format!(
                        "{amount} + {} fee: {} -> ton-vault (masterchain block {})",
                        e.fee.map(ton).unwrap_or_else(|| "?".into()),
                        self.name(&e.contract),
                        e.mc_seqno
                    ),
                    out,
                ),
                "ev_release_bounced" => self.line(
                    "release bounced",
                    format!(
                        "{amount} back in {} (masterchain block {}): the settler retries",
                        self.name(&e.contract),
                        e.mc_seqno
                    ),
                    out,
                ),
                "ev_payout_bounced" => self.line(
                    "payout bounced",
                    format!(
                        "item #{} {amount}: payable again (masterchain block {})",
                        e.payout_item_id.unwrap_or(0),
                        e.mc_seqno
                    ),
                    out,
                ),
                _ => {}
            }
        }

        // Batches: formed, signed, sent, confirmed or expired (the ledger's state machine).
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM ledger_batches WHERE id > $1 ORDER BY id")
                .bind(self.after_batch)
                .fetch_all(pool)
                .await?;
        let mut confirmed_now = Vec::new();
        for id in ids {
            let Some(b) = ledger.batch(BatchId(id)).await? else {
                continue;
            };
            let seen = self.batches.get(&id).copied();
            if seen == Some(b.state) {
                continue;
            }
            let was_sent = matches!(
                seen,
                Some(BatchState::Sent | BatchState::Confirmed | BatchState::Expired)
            );
            if !was_sent && matches!(b.state, BatchState::Sent | BatchState::Confirmed) {
                self.line(
                    &format!("batch #{id} sent"),
                    format!(
                        "{} items, {} (vault query {}, valid {} s): signed by the payout signer",
                        b.item_count,
                        ton(b.total),
                        b.query_id,
                        b.valid_until.saturating_sub(b.created_at) + 1
                    ),
                    out,
                );
            }
            match b.state {
                BatchState::Confirmed => {
                    let at = b
                        .confirmed
                        .as_ref()
                        .map(|c| {
                            format!(", executed at lt {} (tx {})", c.lt, hex::encode(c.tx_hash))
                        })
                        .unwrap_or_default();
                    self.line(
                        &format!("batch #{id} confirmed"),
                        format!("{} items, {}{at}", b.item_count, ton(b.total)),
                        out,
                    );
                    for i in ledger.batch_items(b.id).await? {
                        let to = std_of(i.payout_address.as_str())
                            .map(|a| friendly(&a, false))
                            .unwrap_or_else(|| i.payout_address.to_string());
                        say(
                            out,
                            format!(
                                "{:>13}{:<10} {to}  {:>14}  (item #{}: {} earning(s))",
                                "",
                                i.worker,
                                ton(i.amount),
                                i.item_id.get(),
                                i.earnings.len()
                            ),
                        );
                    }
                    let c = ConfirmedBatch {
                        id,
                        items: b.item_count,
                        total: b.total,
                    };
                    self.confirmed.push(c.clone());
                    confirmed_now.push(c);
                }
                BatchState::Expired => self.line(
                    &format!("batch #{id} expired"),
                    format!(
                        "not executed by its valid_until ({}) in chain time: its {} earnings are \
                         payable again and go into a new batch",
                        b.valid_until, b.item_count
                    ),
                    out,
                ),
                _ => {}
            }
            self.batches.insert(id, b.state);
        }
        Ok(confirmed_now)
    }
}
