//! One settlement pass, as the leader: ingest, releases, then per vault: expire, (re)sign and
//! (re)send the live batches, form new ones from what the vault holds.
//!
//! Every decision is written to Postgres before it has an effect outside (the batch before
//! the signer is asked, the release intent before the signer is asked), and every effect
//! outside is idempotent when repeated with the same bytes (the signer's journal replays a
//! request it signed; the vault's query-id window and the escrow's seqno refuse a second
//! execution), so a pass interrupted anywhere is completed by the next one.
//!
//! Batches pay ONE transfer per worker: the ledger's payout items group each worker's approved
//! earnings (one currency, one address) under a new item id; this module sends exactly the
//! ledger's items. A TON item goes **bounceable** when its destination is an active (deployed)
//! account, so a contract that refuses the payout sends it back (`ev_payout_bounced`: the
//! earnings are owed again, the address on hold until it is corrected); and non-bounceable when
//! the destination does not exist or is not initialized yet, so a new wallet can receive (a
//! bounceable message to it always comes back). That is TON wallets' own rule when the user
//! gives no flag; the ledger keeps raw addresses, whose user-friendly flag is unknown. The flags
//! are decided once per batch, before the first signing request, and stored in the ledger
//! (`set_bounceable`): a re-request after a crash is byte-identical. Jetton items do not use
//! the flag (the vault's jetton transfers are always bounceable; the recipient's jetton wallet
//! refusing is `jetton_transfer_bounced`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use labelmint_abi::Layout;
use labelmint_abi::escrow::{EscrowStorage, MAX_FEE_BPS};
use labelmint_devnet::wallet::{Transfer, WalletV4R2, seqno_of};
use labelmint_ledger::{
    Batch, BatchItem, BatchRequest, BatchState, CurrencyCode, Ledger, ProjectId, RawAddress,
};
use labelmint_payout_signer::client::{Refusal, SignerClient};
use labelmint_payout_signer::wire::{BatchBody, ItemBody, ReleaseBody, Signed};
use sqlx::{PgPool, Row};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, HashBytes};
use tycho_types::models::{AccountState, StdAddr};

use crate::chain::{Chain, amount_at};
use crate::config::{Config, TON};
use crate::error::{Error, Result};
use crate::metrics::{Float, Metrics};
use crate::progress::{Progress, Silent, Step};

mod recover;
mod relayer;

pub use recover::VAULT_RECOVERY_TIMEOUT;
use recover::{RELAYER_TTL, Recover, VAULT_DATA_RECOVERY_STARTED_AT};
use relayer::{Carried, Carry, Decision, Free};

/// The vault's fee reserves (contracts/contracts/vault/fees.tolk): kept out of what a TON
/// vault can pay.
pub const VAULT_MIN_TON_RESERVE: u128 = TON / 10;
/// Per batch (fees.tolk `BATCH_FEE_RESERVE`).
pub const VAULT_BATCH_FEE_RESERVE: u128 = TON / 100;
/// Per TON item, doubled for a rise of the network's prices (fees.tolk: 0.0015 TON).
pub const VAULT_ITEM_FEE_RESERVE: u128 = 3 * TON / 1000;
/// Per jetton item, on top of `attach` (fees.tolk: 0.0025 TON).
pub const VAULT_JETTON_ITEM_FEE_RESERVE: u128 = 25 * TON / 10_000;
/// What an escrow keeps for its own storage and the release's outgoing messages.
pub const ESCROW_MIN_TON: u128 = TON / 100;

/// `get_vault_data` stack positions (contracts/contracts/vault/getters.tolk, VaultDataReply).
const VAULT_DATA_JETTON_BALANCE: usize = 16;
/// `get_window_usage` position of `available`.
const WINDOW_AVAILABLE: usize = 3;

pub(crate) fn std_addr(a: &RawAddress) -> StdAddr {
    StdAddr::new(a.workchain() as i8, HashBytes(a.account()))
}

fn wall_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

fn refused(what: &str, r: Refusal) -> Error {
    Error::SignerRefused {
        what: what.to_string(),
        status: r.status,
        rule: r.body.rule.unwrap_or(r.body.error),
        message: r.body.message,
    }
}

fn cell_of(signed: &Signed) -> Result<Cell> {
    Boc::decode_base64(&signed.boc).map_err(|e| Error::Signer(format!("signed BOC: {e}")))
}

/// The indexer's checkpoint block time (chain time as the index saw it; 0 before any block).
pub async fn indexed_time(pool: &PgPool) -> Result<u32> {
    let t: Option<i64> = sqlx::query_scalar(
        "SELECT b.gen_utime FROM checkpoint c JOIN blocks b \
             ON b.workchain = -1 AND b.seqno = c.mc_seqno",
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(u32::try_from(t.unwrap_or(0)).unwrap_or(0))
}

struct VaultRow {
    currency: CurrencyCode,
    address: RawAddress,
    timeout: Option<u32>,
    jetton: bool,
}

struct Intent {
    project: ProjectId,
    seqno: u32,
    valid_until: u32,
    amount: u128,
    landed: bool,
}

/// The leader's working state for one term.
pub struct Settler {
    cfg: Config,
    ledger: Ledger,
    pool: PgPool,
    chain: Chain,
    signer: SignerClient,
    relayer: WalletV4R2,
    relayer_addr: StdAddr,
    metrics: Arc<Metrics>,
    batch_sent_at: HashMap<i64, Instant>,
    release_sent_at: HashMap<String, Instant>,
    progress: Arc<dyn Progress>,
    /// Payout destinations seen active (deployed): TON payouts to them go bounceable.
    active: HashSet<RawAddress>,
    /// Contracts (raw addresses) with a jetton recovery in flight this pass (ours, or one the
    /// contract shows): no batches for such a vault, no releases from such an escrow.
    recovering: HashSet<String>,
    /// The relayer's last external this term (see [`relayer`]).
    relayer_last: Option<Carried>,
    /// When a liteserver last took it (`None`: never; it goes again next pass).
    relayer_sent_at: Option<Instant>,
}

/// What the relayer may carry this pass: the recoveries just decided (their attempts
/// recorded) and the signed releases.
struct Work {
    recover: Vec<Recover>,
    releases: Vec<(StdAddr, Cell)>,
}

/// The relayer's turn in a pass (from [`relayer::decide`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Free: the next external goes at this wallet seqno.
    Free(u32),
    /// Busy (its last external can still land) or unusable: nothing new this pass; `resend`:
    /// the last external's bytes go again.
    Busy { resend: bool },
}

impl Settler {
    /// A settler over the fenced `pool` of a leadership term.
    pub fn new(cfg: Config, pool: PgPool, metrics: Arc<Metrics>) -> Result<Self> {
        let chain = Chain::new(cfg.liteservers.clone())?;
        let signer = SignerClient::new(&cfg.signer_url, cfg.signer_token.clone())
            .map_err(|e| Error::Config(format!("signer: {e}")))?;
        let relayer = WalletV4R2::from_seed(*cfg.relayer_seed);
        let relayer_addr = relayer
            .address()
            .map_err(|e| Error::Message(format!("relayer address: {e}")))?;
        Ok(Self {
            ledger: Ledger::from_pool(pool.clone()),
            pool,
            chain,
            signer,
            relayer,
            relayer_addr,
            metrics,
            cfg,
            batch_sent_at: HashMap::new(),
            release_sent_at: HashMap::new(),
            progress: Arc::new(Silent),
            active: HashSet::new(),
            recovering: HashSet::new(),
            relayer_last: None,
            relayer_sent_at: None,
        })
    }

    /// Reports every pass's steps to `progress` (bars, timings; see [`crate::progress`]).
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// The relayer wallet's address (fund it with TON for the releases' gas).
    pub fn relayer_address(&self) -> &StdAddr {
        &self.relayer_addr
    }

    /// One pass. A fenced error must end the term; other errors are logged by the caller
    /// and the next pass tries again.
    pub async fn pass(&mut self) -> Result<()> {
        self.progress.step(Step::Ingesting);
        let ingested = self.ledger.ingest_chain_events(10_000).await?;
        self.progress.step(Step::Ingested(&ingested));
        let mut first_err = None;
        // The relayer first: new recoveries are decided only when it can carry them now.
        let turn = match self.relayer_turn().await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "relayer state");
                first_err = Some(e);
                Turn::Busy { resend: false }
            }
        };
        let recover = match self.recoveries(matches!(turn, Turn::Free(_))).await {
            Ok(r) => r,
            Err(e) if e.is_fenced() => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "jetton recoveries");
                first_err = Some(e);
                Vec::new()
            }
        };
        let releases = match self.releases().await {
            Ok(r) => r,
            Err(e) if e.is_fenced() => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "releases");
                first_err.get_or_insert(e);
                Vec::new()
            }
        };
        if let Err(e) = self.relay(turn, Work { recover, releases }).await {
            tracing::warn!(error = %e, "relayer");
            first_err.get_or_insert(e);
        }
        for v in self.vaults().await? {
            self.progress.step(Step::Vault {
                currency: &v.currency,
                address: &v.address,
            });
            let done = self.vault_pass(&v).await;
            self.progress.step(Step::VaultDone {
                currency: &v.currency,
            });
            if let Err(e) = done {
                if e.is_fenced() {
                    return Err(e);
                }
                tracing::warn!(vault = %v.address, error = %e, "vault pass");
                first_err.get_or_insert(e);
            }
        }
        // The floats of this pass, for `labelmint float` and the api (observational).
        let recorded = match self.chain.now().await {
            Ok(now) => crate::float::record(&self.pool, &self.metrics.floats(), now).await,
            Err(e) => Err(e),
        };
        if let Err(e) = recorded {
            if e.is_fenced() {
                return Err(e);
            }
            tracing::warn!(error = %e, "float not recorded");
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn vaults(&mut self) -> Result<Vec<VaultRow>> {
        let rows = sqlx::query(
            "SELECT v.currency, v.address, v.timeout, c.jetton_master IS NOT NULL AS jetton \
             FROM ledger_vaults v JOIN ledger_currencies c ON c.code = v.currency ORDER BY v.currency",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(VaultRow {
                    currency: CurrencyCode::new(&r.try_get::<String, _>("currency")?)?,
                    address: RawAddress::parse(&r.try_get::<String, _>("address")?)?,
                    timeout: r
                        .try_get::<Option<i64>, _>("timeout")?
                        .and_then(|t| u32::try_from(t).ok()),
                    jetton: r.try_get("jetton")?,
                })
            })
            .collect()
    }

    /// Approved plus in live batches, in `currency` (what the vault must still pay).
    async fn payable(&mut self, currency: &CurrencyCode) -> Result<u128> {
        let s: String = sqlx::query_scalar(
            "SELECT COALESCE(sum(amount), 0)::text FROM ledger_earnings \
             WHERE currency = $1 AND state IN ('approved', 'batched', 'signed', 'sent')",
        )
        .bind(currency.as_str())
        .fetch_one(&self.pool)
        .await?;
        s.parse()
            .map_err(|_| Error::Message(format!("payable sum {s:?}")))
    }

    // ---------------------------------------------------------------- batches

    async fn vault_pass(&mut self, v: &VaultRow) -> Result<()> {
        let vault = std_addr(&v.address);
        let indexed = indexed_time(&self.pool).await?;
        let chain_now = self.chain.now().await?;
        let margin = self.cfg.finality_margin;
        let vault_data = if v.jetton {
            Some(self.chain.getter(&vault, "get_vault_data").await?)
        } else {
            None
        };
        // A jetton recovery in flight (ours, decided this pass, or one the vault shows): the
        // vault refuses batches (ERR_RECOVERY_PENDING) until it is answered; dead batches
        // still expire (a ledger decision in indexed chain time).
        let recovering = self.recovering.contains(v.address.as_str())
            || vault_data.as_ref().is_some_and(|d| {
                d.get(VAULT_DATA_RECOVERY_STARTED_AT)
                    .copied()
                    .flatten()
                    .is_none_or(|t| t != 0)
            });
        if recovering {
            tracing::debug!(vault = %v.address, "jetton recovery in flight: no batches this pass");
        }
        let mut live_total: u128 = 0;
        let mut live_count: usize = 0;
        for b in self.ledger.live_batches(&v.currency).await? {
            if b.vault != v.address {
                continue;
            }
            // Expiry: only when the INDEXED chain time is past valid_until plus the finality
            // margin; the ledger checks again, and refuses if the batch was seen executed.
            if u64::from(indexed) > u64::from(b.valid_until) + u64::from(margin) {
                match self.ledger.expire_batch(b.id, indexed - margin).await {
                    Ok(_) => {
                        self.metrics.batch_expired();
                        self.progress.step(Step::BatchExpired(&b));
                        self.batch_sent_at.remove(&b.id.0);
                        tracing::info!(batch = %b.id, query_id = b.query_id, "batch expired in chain time; its earnings are payable again");
                    }
                    Err(labelmint_ledger::Error::ExecutedOnChain(_)) => {
                        // Paid: the ingest confirms it.
                    }
                    Err(
                        labelmint_ledger::Error::NotExpired { .. }
                        | labelmint_ledger::Error::ChainTimeAhead { .. },
                    ) => {}
                    Err(e) => return Err(e.into()),
                }
                continue;
            }
            live_total = live_total.saturating_add(b.total);
            live_count += 1;
            if recovering {
                continue;
            }
            if chain_now > b.valid_until {
                // It can no longer land; it expires once the index is past it.
                continue;
            }
            let due = self
                .batch_sent_at
                .get(&b.id.0)
                .is_none_or(|t| t.elapsed() >= self.cfg.resend_after);
            if b.state == BatchState::Sent && !due {
                continue;
            }
            if let Err(e) = self.sign_and_send(&b, v).await {
                if e.is_fenced() {
                    return Err(e);
                }
                tracing::warn!(batch = %b.id, error = %e, "batch not sent this pass");
            }
        }

        if recovering {
            return Ok(());
        }
        // What the vault can pay beyond its live batches.
        let balance = self.chain.balance(&vault).await?;
        let window = self.chain.getter(&vault, "get_window_usage").await?;
        let window_available = amount_at(&window, WINDOW_AVAILABLE, "get_window_usage.available")?;
        let n = self.cfg.batch_size as u128;
        let (holdings, ton_needed_per_batch) = if let Some(data) = &vault_data {
            let books = amount_at(
                data,
                VAULT_DATA_JETTON_BALANCE,
                "get_vault_data.jettonBalance",
            )?;
            let per_batch = n * (self.cfg.jetton_attach + VAULT_JETTON_ITEM_FEE_RESERVE)
                + VAULT_BATCH_FEE_RESERVE;
            (books, per_batch)
        } else {
            let per_batch = n * VAULT_ITEM_FEE_RESERVE + VAULT_BATCH_FEE_RESERVE;
            (
                balance.saturating_sub(VAULT_MIN_TON_RESERVE + per_batch),
                per_batch,
            )
        };
        let payable = self.payable(&v.currency).await?;
        self.metrics.float(
            &v.address.to_string(),
            Float {
                kind: "vault",
                currency: v.currency.as_str().to_string(),
                ton_balance: balance,
                ton_needed: VAULT_MIN_TON_RESERVE + ton_needed_per_batch,
                holdings,
                payable,
            },
        );
        let timeout = v.timeout.unwrap_or(self.cfg.batch_ttl);
        while live_count < self.cfg.max_live_batches {
            if v.jetton {
                // Every live batch's TON side comes from the float too.
                let float_needed =
                    VAULT_MIN_TON_RESERVE + ton_needed_per_batch * (live_count as u128 + 1);
                if balance < float_needed {
                    break;
                }
            } else if live_count > 0 {
                // Fee reserves of the other live batches.
                let extra = ton_needed_per_batch * live_count as u128;
                if holdings <= live_total.saturating_add(extra) {
                    break;
                }
            }
            let extra_fees = if v.jetton {
                0
            } else {
                ton_needed_per_batch * live_count as u128
            };
            let max_total = holdings
                .saturating_sub(live_total)
                .saturating_sub(extra_fees)
                .min(window_available.saturating_sub(live_total));
            if max_total == 0 {
                break;
            }
            let created_at = chain_now.min(wall_now());
            let valid_until = created_at.saturating_add(timeout).saturating_sub(1);
            let query_id = self.next_query_id(&v.address, created_at).await?;
            let Some(b) = self
                .ledger
                .form_batch(&BatchRequest {
                    currency: v.currency.clone(),
                    max_items: self.cfg.batch_size,
                    max_total,
                    query_id,
                    created_at,
                    valid_until,
                })
                .await?
            else {
                break;
            };
            self.metrics.batch_formed();
            self.progress.step(Step::BatchFormed(&b));
            live_total = live_total.saturating_add(b.total);
            live_count += 1;
            if let Err(e) = self.sign_and_send(&b, v).await {
                if e.is_fenced() {
                    return Err(e);
                }
                tracing::warn!(batch = %b.id, error = %e, "new batch not sent this pass");
            }
        }
        Ok(())
    }

    /// A query id never used for this vault: above every one the ledger recorded, and above
    /// `created_at * 1000` (a fresh database against an old vault does not reuse the ids of an
    /// earlier run).
    async fn next_query_id(&mut self, vault: &RawAddress, created_at: u32) -> Result<u64> {
        let max: Option<String> =
            sqlx::query_scalar("SELECT max(query_id)::text FROM ledger_batches WHERE vault = $1")
                .bind(vault.as_str())
                .fetch_one(&self.pool)
                .await?;
        let next = max
            .and_then(|m| m.parse::<u64>().ok())
            .map(|m| m + 1)
            .unwrap_or(0);
        Ok(next.max(u64::from(created_at) * 1000))
    }

    /// Whether TON payouts to `addrs` go bounceable: yes to an active (deployed) account, so a
    /// contract that refuses the payout sends it back (`ev_payout_bounced`, the earnings are
    /// owed again); no to an account that does not exist or is not initialized yet, so a new
    /// wallet can receive (a bounceable message to it would always come back). This is what TON
    /// wallets do when the user gives no flag; the ledger stores raw addresses, whose
    /// user-friendly flag is unknown. Active accounts are remembered for the leader's term;
    /// the others are looked up at one masterchain block.
    async fn bounceable(&mut self, addrs: &[RawAddress]) -> Result<Vec<bool>> {
        let unknown: Vec<&RawAddress> =
            addrs.iter().filter(|a| !self.active.contains(*a)).collect();
        let looked = self
            .chain
            .active(&unknown.iter().map(|a| std_addr(a)).collect::<Vec<_>>())
            .await?;
        for (a, active) in unknown.into_iter().zip(looked) {
            if active {
                self.active.insert(a.clone());
            }
        }
        Ok(addrs.iter().map(|a| self.active.contains(a)).collect())
    }

    /// The batch's items, their `bounceable` flags decided (once, before the first signing
    /// request: the signed bytes carry them). Jetton payouts do not use the flag (false). A
    /// batch signed without decided flags (by hand, or before the flags existed) was signed
    /// with `false`: that is what is asked for again.
    async fn items_to_sign(&mut self, b: &Batch, v: &VaultRow) -> Result<Vec<BatchItem>> {
        let items = self.ledger.batch_items(b.id).await?;
        if items.iter().all(|i| i.bounceable.is_some())
            || b.state != BatchState::Batched
            || b.signed_hash.is_some()
        {
            return Ok(items);
        }
        let flags: Vec<_> = if v.jetton {
            items.iter().map(|i| (i.item_id, false)).collect()
        } else {
            let dests: Vec<RawAddress> = items.iter().map(|i| i.payout_address.clone()).collect();
            let active = self.bounceable(&dests).await?;
            items
                .iter()
                .zip(active)
                .map(|(i, f)| (i.item_id, f))
                .collect()
        };
        let _ = self.ledger.set_bounceable(b.id, &flags).await?;
        Ok(self.ledger.batch_items(b.id).await?)
    }

    /// Asks the signer for the batch exactly as the ledger holds it (a re-request returns the
    /// journal's bytes), records `signed`, hands the external to the liteserver, records
    /// `sent`.
    async fn sign_and_send(&mut self, b: &Batch, v: &VaultRow) -> Result<()> {
        let items = self.items_to_sign(b, v).await?;
        let (attach, forward_ton) = if v.jetton {
            (self.cfg.jetton_attach, self.cfg.jetton_forward_ton)
        } else {
            (0, 0)
        };
        let body = BatchBody {
            vault: b.vault.to_string(),
            query_id: b.query_id.to_string(),
            created_at: b.created_at,
            attach: attach.to_string(),
            forward_ton: forward_ton.to_string(),
            items: items
                .iter()
                .map(|i| ItemBody {
                    item_id: i.item_id.get().to_string(),
                    dest: i.payout_address.to_string(),
                    amount: i.amount.to_string(),
                    bounceable: i.bounceable.unwrap_or(false),
                })
                .collect(),
        };
        let signed = self
            .signer
            .batch(&body)
            .await
            .map_err(|e| Error::Signer(format!("POST /v1/vault/batch: {e}")))?
            .map_err(|r| refused(&format!("batch {}", b.id), r))?;
        let mut signing_hash = [0u8; 32];
        hex::decode_to_slice(&signed.signing_hash, &mut signing_hash)
            .map_err(|e| Error::Signer(format!("signing_hash: {e}")))?;
        let _ = self.ledger.mark_signed(b.id, signing_hash).await?;
        self.progress.step(Step::BatchSigned(b));
        let message = cell_of(&signed)?;
        if let Err(e) = self.chain.send(&message).await {
            // Refused or lost: the same bytes go again after resend_after, until valid_until.
            tracing::info!(batch = %b.id, error = %e, "liteserver did not take the batch external");
            self.batch_sent_at.insert(b.id.0, Instant::now());
            self.progress.step(Step::BatchNotSent(b));
            return Ok(());
        }
        let _ = self.ledger.mark_sent(b.id, message.repr_hash().0).await?;
        self.batch_sent_at.insert(b.id.0, Instant::now());
        self.metrics.batch_sent();
        self.progress.step(Step::BatchSent(b));
        tracing::info!(batch = %b.id, query_id = b.query_id, items = b.item_count, total = %b.total, "batch sent");
        Ok(())
    }

    // ---------------------------------------------------------------- releases

    async fn intents(&mut self) -> Result<HashMap<String, Intent>> {
        let rows = sqlx::query(
            "SELECT escrow, project_id::text AS project_id, seqno, valid_until, amount::text AS amount, landed \
             FROM settler_releases",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = HashMap::new();
        for r in rows {
            let bad = |what: &str| Error::Message(format!("settler_releases.{what}"));
            out.insert(
                r.try_get::<String, _>("escrow")?,
                Intent {
                    project: ProjectId(
                        r.try_get::<String, _>("project_id")?
                            .parse()
                            .map_err(|_| bad("project_id"))?,
                    ),
                    seqno: u32::try_from(r.try_get::<i64, _>("seqno")?)
                        .map_err(|_| bad("seqno"))?,
                    valid_until: u32::try_from(r.try_get::<i64, _>("valid_until")?)
                        .map_err(|_| bad("valid_until"))?,
                    amount: r
                        .try_get::<String, _>("amount")?
                        .parse()
                        .map_err(|_| bad("amount"))?,
                    landed: r.try_get("landed")?,
                },
            );
        }
        Ok(out)
    }

    /// Whether the indexer saw the escrow's seqno consumed by a release: its `ev_release` with
    /// that seqno (emitted whether or not a leg bounces later; a bounce is
    /// [`Settler::release_bounced`]).
    async fn release_indexed(&mut self, escrow: &str, seqno: u32) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM events WHERE contract = $1 \
                AND kind = 'ev_release' AND fields->>'seqno' = $2)",
        )
        .bind(escrow)
        .bind(seqno.to_string())
        .fetch_one(&self.pool)
        .await?)
    }

    /// Whether the escrow's release at `seqno` came back (`ev_release_bounced`, leg 1 or 2: its
    /// query id is `leg << 32 | seqno`).
    async fn release_bounced(&mut self, escrow: &str, seqno: u32) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM events WHERE contract = $1 \
                AND kind = 'ev_release_bounced' AND query_id % 4294967296 = $2::numeric)",
        )
        .bind(escrow)
        .bind(seqno.to_string())
        .fetch_one(&self.pool)
        .await?)
    }

    /// Per escrow: records and signs what is releasable; returns the signed releases for the
    /// relayer to carry (see [`Settler::relay`]).
    async fn releases(&mut self) -> Result<Vec<(StdAddr, Cell)>> {
        let projects = sqlx::query(
            "SELECT p.project_id::text AS project_id, p.escrow, p.currency FROM ledger_projects p \
             JOIN ledger_vaults v ON v.currency = p.currency WHERE p.state <> 'closed' \
             ORDER BY p.project_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let intents = self.intents().await?;
        self.progress.step(Step::Releases {
            projects: projects.len(),
        });
        let indexed = indexed_time(&self.pool).await?;
        let chain_now = self.chain.now().await?;
        let margin = self.cfg.finality_margin;
        let mut carry: Vec<(StdAddr, Cell)> = Vec::new();
        let mut need_ingest = false;
        for r in &projects {
            self.progress.step(Step::ReleaseProject);
            let escrow_raw: String = r.try_get("escrow")?;
            let project = ProjectId(
                r.try_get::<String, _>("project_id")?
                    .parse()
                    .map_err(|_| Error::Message("project_id".into()))?,
            );
            let currency: String = r.try_get("currency")?;
            let escrow = std_addr(&RawAddress::parse(&escrow_raw)?);
            let seqno = match self.chain.getter(&escrow, "get_seqno").await {
                Ok(s) => match s
                    .first()
                    .copied()
                    .flatten()
                    .and_then(|v| u32::try_from(v).ok())
                {
                    Some(s) => s,
                    None => continue,
                },
                // Not deployed yet (or not an escrow): nothing to release from.
                Err(Error::Chain { .. }) => continue,
                Err(e) => return Err(e),
            };
            // The escrow's balance and data (None: not deployed), read once: its float, its
            // recovery state and its fee.
            let account = self.chain.account(&escrow).await?;
            let balance = account
                .as_ref()
                .map(|a| a.balance.tokens.into_inner())
                .unwrap_or(0);
            let data = match account.map(|a| a.state) {
                Some(AccountState::Active(init)) => init.data,
                _ => None,
            };
            let storage = data.as_ref().and_then(|d| EscrowStorage::parse(d).ok());
            if self.recovering.contains(&escrow_raw)
                || storage
                    .as_ref()
                    .is_some_and(|st| st.recovery_in_flight(chain_now))
            {
                // A jetton recovery in flight: the escrow refuses releases
                // (ERR_RECOVERY_PENDING) until it is answered.
                continue;
            }
            let intent = intents.get(&escrow_raw);
            let budget = amount_at(
                &self.chain.getter(&escrow, "get_budget").await?,
                0,
                "get_budget",
            )?;
            let releasable = self.ledger.releasable(project).await?;
            self.metrics.float(
                &escrow_raw,
                Float {
                    kind: "escrow",
                    currency: currency.clone(),
                    ton_balance: balance,
                    ton_needed: ESCROW_MIN_TON
                        + if currency == "TON" {
                            intent.filter(|i| !i.landed).map(|i| i.amount).unwrap_or(0)
                        } else {
                            0
                        },
                    holdings: budget,
                    payable: releasable,
                },
            );
            if let Some(i) = intent {
                if !i.landed && i.seqno < seqno {
                    if self.release_indexed(&escrow_raw, i.seqno).await? {
                        sqlx::query("UPDATE settler_releases SET landed = TRUE WHERE escrow = $1")
                            .bind(&escrow_raw)
                            .execute(&self.pool)
                            .await?;
                        need_ingest = true;
                        tracing::info!(escrow = %escrow_raw, seqno = i.seqno, "release landed");
                    } else if u64::from(indexed) > u64::from(i.valid_until) + u64::from(margin) {
                        // The seqno went to something else (a close); ours can no longer land.
                        sqlx::query("DELETE FROM settler_releases WHERE escrow = $1")
                            .bind(&escrow_raw)
                            .execute(&self.pool)
                            .await?;
                    }
                    continue;
                }
                if !i.landed {
                    if i.seqno > seqno {
                        tracing::error!(escrow = %escrow_raw, intent = i.seqno, chain = seqno, "release intent ahead of the escrow's seqno");
                        continue;
                    }
                    if chain_now >= i.valid_until {
                        if u64::from(indexed) > u64::from(i.valid_until) + u64::from(margin) {
                            tracing::error!(escrow = %escrow_raw, seqno = i.seqno, "release expired without landing: the signer will not sign another content for this seqno");
                        }
                        continue;
                    }
                    let due = self
                        .release_sent_at
                        .get(&escrow_raw)
                        .is_none_or(|t| t.elapsed() >= self.cfg.resend_after);
                    if due {
                        match self.sign_release(&escrow, i).await {
                            Ok(cell) => carry.push((escrow.clone(), cell)),
                            Err(e) if e.is_fenced() => return Err(e),
                            Err(e) => {
                                tracing::warn!(escrow = %escrow_raw, error = %e, "release not signed")
                            }
                        }
                    }
                    continue;
                }
                // Landed. Once the ledger counts it (the ingest above) the signer no longer
                // holds it as pending, so the next release may follow at once; but after a
                // bounced release (its vault leg came back: the escrow paid the fee, the vault
                // did not take the amount) wait until its valid_until, so that a vault that
                // refuses does not cost the client a fee every pass.
                if chain_now <= i.valid_until && self.release_bounced(&escrow_raw, i.seqno).await? {
                    continue;
                }
            }
            if need_ingest {
                continue;
            }
            // At most what the escrow's budget covers with the platform fee on top
            // (amount + floor(amount * bps / 10^4) <= budget).
            let fee_bps = match (&data, &storage) {
                (Some(_), Some(st)) => st.params.fee_bps,
                (Some(_), None) => MAX_FEE_BPS,
                (None, _) => continue,
            };
            let cap = budget.saturating_mul(10_000) / (10_000 + u128::from(fee_bps));
            let releasable = releasable.min(cap);
            if releasable == 0 {
                continue;
            }
            let valid_until = chain_now
                .min(wall_now())
                .saturating_add(self.cfg.release_ttl);
            let new = Intent {
                project,
                seqno,
                valid_until,
                amount: releasable,
                landed: false,
            };
            // Written (fenced) BEFORE the signer is asked: a re-request is byte-identical.
            sqlx::query(
                "INSERT INTO settler_releases (escrow, project_id, seqno, valid_until, amount) \
                 VALUES ($1, $2::text::numeric, $3, $4, $5::text::numeric) \
                 ON CONFLICT (escrow) DO UPDATE SET project_id = EXCLUDED.project_id, \
                    seqno = EXCLUDED.seqno, valid_until = EXCLUDED.valid_until, \
                    amount = EXCLUDED.amount, landed = FALSE, created_at = now() \
                 WHERE settler_releases.landed",
            )
            .bind(&escrow_raw)
            .bind(project.0.to_string())
            .bind(i64::from(seqno))
            .bind(i64::from(valid_until))
            .bind(releasable.to_string())
            .execute(&self.pool)
            .await?;
            match self.sign_release(&escrow, &new).await {
                Ok(cell) => carry.push((escrow.clone(), cell)),
                Err(Error::SignerRefused { rule, message, .. }) => {
                    // Refused: nothing was signed for this content, so the intent may go.
                    tracing::warn!(escrow = %escrow_raw, rule, message, "release refused; dropping the intent");
                    sqlx::query("DELETE FROM settler_releases WHERE escrow = $1 AND NOT landed")
                        .bind(&escrow_raw)
                        .execute(&self.pool)
                        .await?;
                }
                Err(e) if e.is_fenced() => return Err(e),
                Err(e) => tracing::warn!(escrow = %escrow_raw, error = %e, "release not signed"),
            }
        }
        if need_ingest {
            self.ledger.ingest_chain_events(10_000).await?;
        }
        Ok(carry)
    }

    /// The relayer's state before anything is decided: whether its last external landed,
    /// can still land, or is dead ([`relayer::decide`]).
    async fn relayer_turn(&mut self) -> Result<Turn> {
        // Chain time BEFORE the wallet's state: see `relayer::decide`.
        let chain_now = self.chain.now().await?;
        let addr = self.relayer_addr.clone();
        let Some(data) = self.chain.data(&addr).await? else {
            tracing::warn!(relayer = %addr, "the relayer wallet is not deployed: fund and deploy it");
            return Ok(Turn::Busy { resend: false });
        };
        let seqno = seqno_of(&data).map_err(|e| Error::Message(format!("relayer seqno: {e}")))?;
        let last = self.relayer_last.as_ref();
        let resend_due = self
            .relayer_sent_at
            .is_none_or(|t| t.elapsed() >= self.cfg.resend_after);
        let decision = relayer::decide(
            last.map(|l| (l.seqno, l.valid_until)),
            seqno,
            chain_now,
            self.cfg.finality_margin,
            resend_due,
        );
        Ok(match decision {
            Decision::Build(why) => {
                if let Some(l) = self.relayer_last.take() {
                    if why == Free::Expired {
                        // Its releases are due at once; its recoveries are found lost by their
                        // records (the same valid_until) and decided again.
                        for to in l.releases() {
                            self.release_sent_at.remove(&escrow_key(to));
                        }
                        tracing::warn!(seqno = l.seqno, hash = %l.hash(), carried = ?l.carries, "relayer external expired without landing");
                    } else {
                        tracing::debug!(seqno = l.seqno, hash = %l.hash(), "relayer external landed");
                    }
                }
                Turn::Free(seqno)
            }
            Decision::Wait { resend } => Turn::Busy { resend },
            Decision::Behind => {
                tracing::warn!(
                    wallet = seqno,
                    last = last.map(|l| l.seqno),
                    "the liteserver shows the relayer behind its last external"
                );
                Turn::Busy { resend: false }
            }
        })
    }

    /// The relayer wallet's turn: its float, then (free) one new external with the recoveries
    /// (first) and the signed releases, or (busy) its last external's bytes again when due.
    async fn relay(&mut self, turn: Turn, work: Work) -> Result<()> {
        let Work { recover, releases } = work;
        let attach = self.cfg.release_attach * (releases.len() as u128)
            + self.cfg.recover_attach * (recover.len() as u128);
        self.relayer_float(attach).await?;
        match turn {
            Turn::Free(seqno) => {
                if recover.is_empty() && releases.is_empty() {
                    return Ok(());
                }
                self.carry(seqno, Work { recover, releases }).await
            }
            Turn::Busy { resend } => {
                // Recoveries are not decided while busy; releases are signed again next pass.
                if !releases.is_empty() || !recover.is_empty() {
                    tracing::debug!(
                        releases = releases.len(),
                        recoveries = recover.len(),
                        "relayer busy: waiting for its last external"
                    );
                }
                if resend {
                    self.resend().await;
                }
                Ok(())
            }
        }
    }

    /// Sends the last external's exact bytes again (the wallet executes them at most once).
    async fn resend(&mut self) {
        let Some(last) = self.relayer_last.as_ref() else {
            return;
        };
        let message = last.message.clone();
        match self.chain.send(&message).await {
            Ok(()) => {
                self.relayer_sent_at = Some(Instant::now());
                for to in last.releases() {
                    self.release_sent_at.insert(escrow_key(to), Instant::now());
                }
                tracing::debug!(seqno = last.seqno, hash = %last.hash(), "relayer external sent again");
            }
            Err(e) => {
                tracing::info!(error = %e, "liteserver did not take the relayer external again")
            }
        }
    }

    async fn sign_release(&mut self, escrow: &StdAddr, i: &Intent) -> Result<Cell> {
        let body = ReleaseBody {
            escrow: escrow.to_string(),
            seqno: i.seqno,
            valid_until: i.valid_until,
            amount: i.amount.to_string(),
        };
        let signed = self
            .signer
            .release(&body)
            .await
            .map_err(|e| Error::Signer(format!("POST /v1/escrow/release: {e}")))?
            .map_err(|r| refused(&format!("release for project {}", i.project), r))?;
        cell_of(&signed)
    }

    /// The relayer's float gauge; `attach`: what the messages of this pass attach (at least
    /// one release's worth is kept in reserve).
    async fn relayer_float(&mut self, attach: u128) -> Result<()> {
        let addr = self.relayer_addr.clone();
        let balance = self.chain.balance(&addr).await?;
        self.metrics.float(
            &format!("{}:{}", addr.workchain, hex::encode(addr.address.0)),
            Float {
                kind: "relayer",
                currency: "TON".into(),
                ton_balance: balance,
                ton_needed: attach.max(self.cfg.release_attach),
                holdings: 0,
                payable: 0,
            },
        );
        Ok(())
    }

    /// The relayer wallet carries the recoveries, then the signed releases, in one external at
    /// `seqno` (up to 4 messages, v4r2's limit; the recoveries are at most 4 and come first;
    /// releases left out are signed and carried again next pass). Its valid_until is the one
    /// the recoveries' attempts recorded (or chain time + 60 s). It is recorded as the
    /// relayer's last external BEFORE it is sent: from then on nothing else goes at `seqno`
    /// until it landed or can no longer land.
    async fn carry(&mut self, seqno: u32, work: Work) -> Result<()> {
        let Work { recover, releases } = work;
        let chain_now = self.chain.now().await?;
        let valid_until = recover
            .iter()
            .map(|r| r.valid_until)
            .min()
            .unwrap_or(chain_now.saturating_add(RELAYER_TTL));
        let recover: Vec<Recover> = recover.into_iter().take(4).collect();
        let releases: Vec<(StdAddr, Cell)> = releases.into_iter().take(4 - recover.len()).collect();
        let message = |to: &StdAddr, body: &Cell, amount: u128| Transfer {
            to: to.clone(),
            amount,
            bounce: true,
            body: Some(body.clone()),
            init: None,
            mode: 3,
        };
        let transfers: Vec<Transfer> = recover
            .iter()
            .map(|r| message(&r.to, &r.body, self.cfg.recover_attach))
            .chain(
                releases
                    .iter()
                    .map(|(to, body)| message(to, body, self.cfg.release_attach)),
            )
            .collect();
        let msg = self
            .relayer
            .external_transfer(seqno, valid_until, &transfers, false)
            .map_err(|e| Error::Message(format!("relayer transfer: {e}")))?;
        let hash = *msg.repr_hash();
        self.relayer_last = Some(Carried {
            seqno,
            valid_until,
            message: msg.clone(),
            carries: recover
                .iter()
                .map(|r| Carry::Recovery(r.contract.clone()))
                .chain(releases.iter().map(|(to, _)| Carry::Release(to.clone())))
                .collect(),
        });
        self.relayer_sent_at = None;
        match self.chain.send(&msg).await {
            Ok(()) => {
                self.relayer_sent_at = Some(Instant::now());
                for r in &recover {
                    self.metrics.recovery_sent();
                    self.progress.step(Step::RecoverySent {
                        contract: &r.contract,
                        amount: r.amount,
                    });
                    tracing::info!(contract = %r.contract, amount = %r.amount, seqno, "relayer carried a jetton_recover");
                }
                for (to, _) in &releases {
                    self.release_sent_at.insert(escrow_key(to), Instant::now());
                    self.metrics.release_sent();
                }
                if !releases.is_empty() {
                    self.progress.step(Step::ReleasesCarried {
                        count: releases.len(),
                    });
                    tracing::info!(releases = releases.len(), seqno, %hash, "relayer carried releases");
                }
            }
            // Recorded as the last external all the same (a liteserver may have taken it and
            // failed to answer): its bytes go again next pass, nothing else at this seqno.
            Err(e) => {
                tracing::info!(error = %e, seqno, "liteserver did not take the relayer external")
            }
        }
        Ok(())
    }
}

/// The `release_sent_at` key of an escrow (its raw address).
fn escrow_key(a: &StdAddr) -> String {
    format!("{}:{}", a.workchain, hex::encode(a.address.0))
}
