//! Jetton recovery, driven by the settler: after a recipient's jetton wallet refused a payout
//! (or an escrow leg), the tokens are back in the contract's jetton wallet but off its books
//! (the ledger's `*_jetton_wallet_unbooked`). The settler sends that contract
//! `jetton_recover{amount = the unbooked balance}` from the relayer wallet; the contract's
//! answer (`ev_jetton_recovered`, or `ev_jetton_recovery_failed`) is indexed and ingested, and
//! the tokens can be paid again.
//!
//! Per contract, each pass:
//! 1. an attempt in flight (a `settler_recoveries` row without outcome) is resolved by an
//!    indexed answer, by `RECOVERY_TIMEOUT` passing in indexed chain time, or as lost when the
//!    indexed time is past the relayer external's valid_until + the finality margin and the
//!    contract's recovery counter did not move;
//! 2. while an attempt is in flight, or the contract shows a recovery in flight, the contract
//!    is `recovering`: its vault batches are not signed, sent or formed, its escrow releases
//!    not carried (the contract would refuse them: 319 / 221);
//! 3. otherwise, when the ledger shows unbooked tokens and the relayer is free (its last
//!    external landed or can no longer land: `relayer`), a new attempt is written (fenced)
//!    BEFORE the relayer carries it in the same pass, so a restarted leader does not send a
//!    second one. An attempt for the same amount as one that booked nothing (failed, or
//!    answered with 0) is not repeated before `RECOVERY_TIMEOUT` has passed since it was sent.

use std::collections::HashMap;

use labelmint_abi::Layout;
use labelmint_abi::escrow::{EscrowStorage, RECOVERY_TIMEOUT};
use labelmint_abi::recovery::JettonRecover;
use labelmint_ledger::{Account, AwaitingRecovery, RawAddress};
use sqlx::Row;
use tycho_types::cell::Cell;
use tycho_types::models::StdAddr;

use super::{Settler, indexed_time, std_addr};
use crate::error::{Error, Result};

/// `get_vault_data` position of `recoveryNonce` (contracts/contracts/vault/getters.tolk).
pub(super) const VAULT_DATA_RECOVERY_NONCE: usize = 19;
/// `get_vault_data` position of `recoveryStartedAt` (0: no recovery in flight).
pub(super) const VAULT_DATA_RECOVERY_STARTED_AT: usize = 20;
/// The vault's `RECOVERY_TIMEOUT` (contracts/contracts/vault/fees.tolk; the escrow's is
/// [`RECOVERY_TIMEOUT`], the same hour): a recovery in flight may be replaced after it.
pub const VAULT_RECOVERY_TIMEOUT: u32 = 3600;
/// Seconds the relayer's external stays valid (chain time).
pub(super) const RELAYER_TTL: u32 = 60;
/// At most this many recoveries per pass (one relayer external carries four messages).
const MAX_PER_PASS: usize = 4;

/// A `jetton_recover` to carry, its attempt recorded.
pub(super) struct Recover {
    pub(super) to: StdAddr,
    pub(super) contract: RawAddress,
    pub(super) body: Cell,
    pub(super) amount: u128,
    /// The relayer external's valid_until recorded with the attempt.
    pub(super) valid_until: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vault,
    Escrow,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Vault => "vault",
            Kind::Escrow => "escrow",
        }
    }

    fn timeout(self) -> u32 {
        match self {
            Kind::Vault => VAULT_RECOVERY_TIMEOUT,
            Kind::Escrow => RECOVERY_TIMEOUT,
        }
    }
}

/// A contract's recovery state as its getter / data shows it now.
struct OnChain {
    /// A recovery is in flight (vault: until answered, whatever the time: batches wait;
    /// escrow: until answered or timed out).
    in_flight: bool,
    /// The contract would take a new `jetton_recover` now.
    can_start: bool,
    /// Its recovery counter (vault: recovery_nonce; escrow: recoveries).
    nonce: u64,
}

struct Attempt {
    kind: Kind,
    amount: u128,
    sent_at: u32,
    valid_until: u32,
    events_before: i64,
    nonce_before: u64,
    outcome: Option<String>,
}

/// The latest indexed answer of a contract's recoveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// `ev_jetton_recovered`, booking this much (0: the wallet held no more than the books).
    Recovered(u128),
    /// `ev_jetton_recovery_failed`: the wallet did not hold the claim.
    Failed,
}

/// Where an open attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    /// Resolved: `recovered` (booked something), `failed` (answered, booked nothing),
    /// `timed_out`.
    Outcome(&'static str),
    /// It can no longer land: lost if the contract's counter did not move ([`never_arrived`]).
    CheckLost,
    /// Still in flight.
    Open,
}

/// An open attempt, from the answers indexed now (`answers` in all, `latest`), and the
/// indexed chain time.
fn resolve(
    a: &Attempt,
    answers: i64,
    latest: Option<Answer>,
    indexed: u32,
    margin: u32,
) -> Resolution {
    if answers > a.events_before {
        return Resolution::Outcome(match latest {
            Some(Answer::Recovered(booked)) if booked > 0 => "recovered",
            _ => "failed",
        });
    }
    if u64::from(indexed) >= u64::from(a.sent_at) + u64::from(a.kind.timeout()) {
        return Resolution::Outcome("timed_out");
    }
    if u64::from(indexed) > u64::from(a.valid_until) + u64::from(margin) {
        return Resolution::CheckLost;
    }
    Resolution::Open
}

/// Past its valid_until: the contract's recovery counter did not move and nothing is in
/// flight, so the attempt never reached it.
fn never_arrived(a: &Attempt, st: &OnChain) -> bool {
    st.nonce == a.nonce_before && !st.in_flight
}

/// Whether a new attempt for `amount` may go, after the contract's last (resolved) one: always
/// after one that was lost or booked something, or for another amount; after one that booked
/// nothing for the same amount, only once `RECOVERY_TIMEOUT` passed (it would fail again).
fn may_send(last: Option<&Attempt>, amount: u128, indexed: u32) -> bool {
    let Some(a) = last else {
        return true;
    };
    match a.outcome.as_deref() {
        None => false,
        Some("lost" | "recovered") => true,
        Some(_) => {
            a.amount != amount
                || u64::from(indexed) >= u64::from(a.sent_at) + u64::from(a.kind.timeout())
        }
    }
}

impl Settler {
    /// Step 1 and 3 of the module doc; fills `self.recovering` and returns the recoveries to
    /// carry in this pass's relayer external. `relayer_free`: the relayer sends a new external
    /// this pass; while it is busy (its last external can still land) no attempt is decided,
    /// so every recorded attempt is carried in the pass that recorded it.
    pub(super) async fn recoveries(&mut self, relayer_free: bool) -> Result<Vec<Recover>> {
        self.recovering.clear();
        let mut attempts = self.recovery_attempts().await?;
        let indexed = indexed_time(&self.pool).await?;
        let chain_now = self.chain.now().await?;
        let margin = self.cfg.finality_margin;

        let mut resolved_any = false;
        let pending: Vec<String> = attempts
            .iter()
            .filter(|(_, a)| a.outcome.is_none())
            .map(|(c, _)| c.clone())
            .collect();
        for contract in pending {
            let Some(a) = attempts.get_mut(&contract) else {
                continue;
            };
            let (answers, latest) = self.recovery_answers(&contract).await?;
            let outcome = match resolve(a, answers, latest, indexed, margin) {
                Resolution::Outcome(o) => Some(o),
                Resolution::CheckLost => {
                    let addr = RawAddress::parse(&contract)?;
                    match self.on_chain(a.kind, &addr, chain_now).await? {
                        Some(st) if never_arrived(a, &st) => Some("lost"),
                        _ => None,
                    }
                }
                Resolution::Open => None,
            };
            let Some(outcome) = outcome else {
                self.recovering.insert(contract);
                continue;
            };
            sqlx::query(
                "UPDATE settler_recoveries SET outcome = $2 WHERE contract = $1 AND outcome IS NULL",
            )
            .bind(&contract)
            .bind(outcome)
            .execute(&self.pool)
            .await?;
            a.outcome = Some(outcome.to_string());
            // An answer (booked, or booked nothing) is ingested before the unbooked is read.
            resolved_any |= matches!(outcome, "recovered" | "failed");
            if outcome == "recovered" {
                tracing::info!(contract = %contract, amount = %a.amount, "jetton recovery answered");
            } else {
                self.metrics.recovery_failed();
                tracing::warn!(contract = %contract, amount = %a.amount, outcome, "jetton recovery booked nothing");
            }
        }
        if resolved_any {
            // The answers just seen: book them before reading what is still unbooked.
            self.ledger.ingest_chain_events(10_000).await?;
        }

        let mut out = Vec::new();
        for w in self.ledger.awaiting_recovery().await? {
            if out.len() >= MAX_PER_PASS {
                break;
            }
            let contract = w.contract.to_string();
            if self.recovering.contains(&contract) {
                continue;
            }
            let kind = match w.account {
                Account::VaultJettonWalletUnbooked(_) => Kind::Vault,
                Account::EscrowJettonWalletUnbooked(_) => Kind::Escrow,
                _ => continue,
            };
            let Some(st) = self.on_chain(kind, &w.contract, chain_now).await? else {
                continue;
            };
            if st.in_flight {
                // Someone's recovery (ours after a restart, or anyone's: it is open to all).
                self.recovering.insert(contract);
                continue;
            }
            if !st.can_start || !relayer_free {
                continue;
            }
            if !may_send(attempts.get(&contract), w.amount, indexed) {
                continue;
            }
            if let Some(r) = self.record_attempt(kind, &w, &st, chain_now).await? {
                out.push(r);
            }
            self.recovering.insert(contract);
        }
        Ok(out)
    }

    async fn recovery_attempts(&mut self) -> Result<HashMap<String, Attempt>> {
        let rows = sqlx::query(
            "SELECT contract, kind, amount::text AS amount, sent_at, valid_until, events_before, \
                    nonce_before::text AS nonce_before, outcome FROM settler_recoveries",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = HashMap::new();
        for r in rows {
            let bad = |what: &str| Error::Message(format!("settler_recoveries.{what}"));
            let kind = match r.try_get::<String, _>("kind")?.as_str() {
                "vault" => Kind::Vault,
                "escrow" => Kind::Escrow,
                _ => return Err(bad("kind")),
            };
            out.insert(
                r.try_get::<String, _>("contract")?,
                Attempt {
                    kind,
                    amount: r
                        .try_get::<String, _>("amount")?
                        .parse()
                        .map_err(|_| bad("amount"))?,
                    sent_at: u32::try_from(r.try_get::<i64, _>("sent_at")?)
                        .map_err(|_| bad("sent_at"))?,
                    valid_until: u32::try_from(r.try_get::<i64, _>("valid_until")?)
                        .map_err(|_| bad("valid_until"))?,
                    events_before: r.try_get("events_before")?,
                    nonce_before: r
                        .try_get::<String, _>("nonce_before")?
                        .parse()
                        .map_err(|_| bad("nonce_before"))?,
                    outcome: r.try_get("outcome")?,
                },
            );
        }
        Ok(out)
    }

    /// The contract's indexed recovery answers: how many, and the latest.
    async fn recovery_answers(&mut self, contract: &str) -> Result<(i64, Option<Answer>)> {
        let row = sqlx::query(
            "SELECT count(*) AS n, \
                    (array_agg(kind ORDER BY lt DESC, msg_idx DESC))[1] AS last, \
                    (array_agg(COALESCE(amount, 0)::text ORDER BY lt DESC, msg_idx DESC))[1] \
                        AS booked \
             FROM events WHERE contract = $1 \
               AND kind IN ('ev_jetton_recovered', 'ev_jetton_recovery_failed')",
        )
        .bind(contract)
        .fetch_one(&self.pool)
        .await?;
        let latest = match row.try_get::<Option<String>, _>("last")?.as_deref() {
            None => None,
            Some("ev_jetton_recovered") => {
                let booked: Option<String> = row.try_get("booked")?;
                Some(Answer::Recovered(
                    booked
                        .unwrap_or_default()
                        .parse()
                        .map_err(|_| Error::Message("ev_jetton_recovered amount".into()))?,
                ))
            }
            Some(_) => Some(Answer::Failed),
        };
        Ok((row.try_get("n")?, latest))
    }

    /// The contract's recovery state (`None`: not deployed).
    async fn on_chain(
        &mut self,
        kind: Kind,
        contract: &RawAddress,
        now: u32,
    ) -> Result<Option<OnChain>> {
        let addr = std_addr(contract);
        match kind {
            Kind::Vault => {
                let data = match self.chain.getter(&addr, "get_vault_data").await {
                    Ok(d) => d,
                    Err(Error::Chain { .. }) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let int = |i: usize, what: &str| {
                    data.get(i)
                        .copied()
                        .flatten()
                        .ok_or_else(|| Error::chain(what, format!("no integer at {i}")))
                };
                let started = u32::try_from(int(
                    VAULT_DATA_RECOVERY_STARTED_AT,
                    "get_vault_data.recoveryStartedAt",
                )?)
                .map_err(|e| Error::chain("get_vault_data.recoveryStartedAt", e))?;
                let nonce = u64::try_from(int(
                    VAULT_DATA_RECOVERY_NONCE,
                    "get_vault_data.recoveryNonce",
                )?)
                .map_err(|e| Error::chain("get_vault_data.recoveryNonce", e))?;
                Ok(Some(OnChain {
                    in_flight: started != 0,
                    can_start: started == 0
                        || u64::from(now) >= u64::from(started) + u64::from(VAULT_RECOVERY_TIMEOUT),
                    nonce,
                }))
            }
            Kind::Escrow => {
                let Some(data) = self.chain.data(&addr).await? else {
                    return Ok(None);
                };
                let st = EscrowStorage::parse(&data)
                    .map_err(|e| Error::chain(format!("escrow data of {contract}"), e))?;
                let in_flight = st.recovery_in_flight(now);
                Ok(Some(OnChain {
                    in_flight,
                    can_start: !in_flight,
                    nonce: u64::from(st.recoveries),
                }))
            }
        }
    }

    /// Writes the attempt (fenced) and builds its message: nothing is sent before it is
    /// recorded.
    async fn record_attempt(
        &mut self,
        kind: Kind,
        w: &AwaitingRecovery,
        st: &OnChain,
        chain_now: u32,
    ) -> Result<Option<Recover>> {
        let contract = w.contract.to_string();
        let (events_before, _) = self.recovery_answers(&contract).await?;
        let valid_until = chain_now.saturating_add(RELAYER_TTL);
        let written = sqlx::query(
            "INSERT INTO settler_recoveries \
                 (contract, kind, amount, sent_at, valid_until, events_before, nonce_before) \
             VALUES ($1, $2, $3::text::numeric, $4, $5, $6, $7::text::numeric) \
             ON CONFLICT (contract) DO UPDATE SET kind = EXCLUDED.kind, \
                 amount = EXCLUDED.amount, sent_at = EXCLUDED.sent_at, \
                 valid_until = EXCLUDED.valid_until, events_before = EXCLUDED.events_before, \
                 nonce_before = EXCLUDED.nonce_before, outcome = NULL, \
                 attempts = settler_recoveries.attempts + 1, created_at = now() \
             WHERE settler_recoveries.outcome IS NOT NULL",
        )
        .bind(&contract)
        .bind(kind.as_str())
        .bind(w.amount.to_string())
        .bind(i64::from(chain_now))
        .bind(i64::from(valid_until))
        .bind(events_before)
        .bind(st.nonce.to_string())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if written != 1 {
            // An attempt still in flight (another pass's): never a second one.
            return Ok(None);
        }
        let body = JettonRecover {
            query_id: u64::from(chain_now),
            amount: w.amount,
        }
        .build()
        .map_err(|e| Error::Message(format!("jetton_recover body: {e}")))?;
        tracing::info!(contract = %contract, kind = kind.as_str(), amount = %w.amount, currency = %w.currency, "jetton recovery decided");
        Ok(Some(Recover {
            to: std_addr(&w.contract),
            contract: w.contract.clone(),
            body,
            amount: w.amount,
            valid_until,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field names of `struct <name> { ... }` in a Tolk source, in order.
    fn fields(src: &str, name: &str) -> Vec<String> {
        let start = src
            .find(&format!("struct {name} {{"))
            .expect("the struct in the source");
        let body = &src[start..];
        let body = &body[body.find('{').expect("{") + 1..body.find('}').expect("}")];
        body.lines()
            .filter_map(|l| l.trim().split(':').next())
            .map(str::trim)
            .filter(|f| !f.is_empty() && !f.starts_with("//"))
            .map(str::to_string)
            .collect()
    }

    fn attempt(outcome: Option<&str>) -> Attempt {
        Attempt {
            kind: Kind::Vault,
            amount: 50,
            sent_at: 1_000,
            valid_until: 1_060,
            events_before: 2,
            nonce_before: 7,
            outcome: outcome.map(str::to_string),
        }
    }

    #[test]
    fn an_open_attempt_resolves_by_its_answer_its_timeout_or_as_lost() {
        let a = attempt(None);
        let m = 10;
        let t = VAULT_RECOVERY_TIMEOUT;
        use Resolution::*;
        for (answers, latest, indexed, want) in [
            (2, Some(Answer::Recovered(50)), 1_001, Open),
            (3, Some(Answer::Recovered(50)), 1_001, Outcome("recovered")),
            (3, Some(Answer::Recovered(0)), 1_001, Outcome("failed")),
            (3, Some(Answer::Failed), 1_001, Outcome("failed")),
            (3, Some(Answer::Failed), 1_000 + t, Outcome("failed")),
            (2, None, 1_060 + m, Open),
            (2, None, 1_061 + m, CheckLost),
            (2, Some(Answer::Failed), 1_000 + t - 1, CheckLost),
            (2, Some(Answer::Failed), 1_000 + t, Outcome("timed_out")),
        ] {
            assert_eq!(
                resolve(&a, answers, latest, indexed, m),
                want,
                "{answers} {latest:?} {indexed}"
            );
        }
        let st = |nonce, in_flight| OnChain {
            in_flight,
            can_start: !in_flight,
            nonce,
        };
        assert!(never_arrived(&a, &st(7, false)));
        assert!(!never_arrived(&a, &st(8, false)), "it arrived: answered");
        assert!(!never_arrived(&a, &st(8, true)), "it arrived: in flight");
        assert!(!never_arrived(&a, &st(7, true)), "another one in flight");
    }

    #[test]
    fn a_new_attempt_waits_after_one_that_booked_nothing_for_the_same_amount() {
        let t = VAULT_RECOVERY_TIMEOUT;
        for (outcome, amount, indexed, want) in [
            (None, 50, 1_001, false),
            (None, 60, 1_000 + t, false),
            (Some("lost"), 50, 1_100, true),
            (Some("recovered"), 50, 1_100, true),
            (Some("failed"), 50, 1_100, false),
            (Some("failed"), 60, 1_100, true),
            (Some("failed"), 50, 1_000 + t, true),
            (Some("timed_out"), 50, 1_000 + t - 1, false),
            (Some("timed_out"), 50, 1_000 + t, true),
        ] {
            let a = attempt(outcome);
            assert_eq!(
                may_send(Some(&a), amount, indexed),
                want,
                "{outcome:?} {amount} {indexed}"
            );
        }
        assert!(may_send(None, 50, 0));
    }

    #[test]
    fn vault_getter_positions_and_timeout_match_the_contract() {
        let getters = include_str!("../../../contracts/contracts/vault/getters.tolk");
        let f = fields(getters, "VaultDataReply");
        assert_eq!(f[VAULT_DATA_RECOVERY_NONCE], "recoveryNonce");
        assert_eq!(f[VAULT_DATA_RECOVERY_STARTED_AT], "recoveryStartedAt");
        assert_eq!(f[super::super::VAULT_DATA_JETTON_BALANCE], "jettonBalance");
        let fees = include_str!("../../../contracts/contracts/vault/fees.tolk");
        assert!(
            fees.contains(&format!(
                "const RECOVERY_TIMEOUT = {VAULT_RECOVERY_TIMEOUT}\n"
            )),
            "vault RECOVERY_TIMEOUT"
        );
    }
}
