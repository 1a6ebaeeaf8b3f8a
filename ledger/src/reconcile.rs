//! Conservation check: per currency, the journal's chain-fact totals against the sums of the
//! indexer's `events` of the registered escrows and vault, plus the journal's own invariants.
//!
//! | figure | journal (lines of entries of that kind) | chain (`events` of this currency's contracts) |
//! |---|---|---|
//! | deposited | escrow lines of `deposit` | sum(amount) of ev_deposit |
//! | released | transit lines of `release` | sum(amount) of ev_release |
//! | fees | treasury lines of `release` | sum(fee) of ev_release |
//! | release_bounced | escrow lines of `release_bounced` | sum(amount) of ev_release_bounced |
//! | refunded | -escrow lines of `refund` | sum(amount) of ev_refund |
//! | refund_bounced | escrow lines of `refund_bounced` | sum(amount) of ev_refund_bounced |
//! | vault_funded | vault lines of `vault_funded` | sum(amount) of ev_vault_funded |
//! | gas_topped_up | vault lines of `gas_topped_up` (TON vaults) | sum(amount) of ev_gas_topped_up (TON vaults; 0 for a jetton currency) |
//! | paid | -vault lines of `batch_executed` | sum(amount) of ev_batch_executed |
//! | bounced | vault lines of `payout_bounced` | sum(amount) of ev_payout_bounced |
//! | jetton_refused | `*_jetton_wallet_unbooked` lines of `jetton_transfer_bounced` | sum(amount) of jetton_transfer_bounced (the indexer's fact) |
//! | jetton_recovered | vault and escrow lines of `jetton_recovered` | sum(amount) of ev_jetton_recovered |
//! | owed | -payable lines (all entries) | sum of earnings approved, batched, signed or sent |
//!
//! Issues also reported: indexed events not ingested yet, anomalies, a non-zero suspense
//! account, a negative custody balance (escrow, transit, vault, tokens back in a contract's
//! jetton wallet), an unbalanced entry, and an escrow whose own counters (the `deposited` of its
//! last ev_deposit, the `remaining` of its last ev_release / ev_release_bounced / ev_closed /
//! ev_jetton_recovered) disagree with the sum of its indexed events up to that event: the index
//! itself misses something.
//!
//! Not an issue, but listed ([`Reconciliation::awaiting_recovery`]): tokens a recipient's
//! wallet refused that are back in the vault's or an escrow's jetton wallet and not booked by
//! the contract yet; a jetton recovery (`jetton_recover`, anyone may send it) books them.

use std::collections::HashMap;

use sqlx::Row;

use crate::Ledger;
use crate::error::Result;
use crate::journal::AccountBalance;
use crate::num::parse_i128;
use crate::types::CurrencyCode;

/// One compared figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// `deposited`, `released`, `fees`, ... (see the module's table).
    pub name: &'static str,
    /// The journal's total.
    pub journal: i128,
    /// The reference total: indexed chain events, or the earnings table for `owed`.
    pub expected: i128,
}

impl Figure {
    /// Whether the two agree.
    pub fn matches(&self) -> bool {
        self.journal == self.expected
    }
}

/// The result of [`Ledger::reconcile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    /// The currency.
    pub currency: CurrencyCode,
    /// Every figure, in the module table's order.
    pub figures: Vec<Figure>,
    /// Indexed events of registered contracts the ledger has not taken in yet.
    pub unposted_events: i64,
    /// Recorded anomalies of this currency's contracts.
    pub anomalies: i64,
    /// Everything that is not as it should be, for a person; empty when clean.
    pub issues: Vec<String>,
    /// Positive `vault_jetton_wallet_unbooked` / `escrow_jetton_wallet_unbooked` balances:
    /// tokens back in a contract's jetton wallet after a recipient's wallet refused them, waiting
    /// for a jetton recovery to be booked by the contract (not an issue).
    pub awaiting_recovery: Vec<AccountBalance>,
}

impl Reconciliation {
    /// No issue: every figure matches and every invariant holds.
    pub fn is_clean(&self) -> bool {
        self.issues.is_empty()
    }
}

/// The account kinds of tokens back in a contract's jetton wallet, off its books.
const UNBOOKED: &[&str] = &[
    "vault_jetton_wallet_unbooked",
    "escrow_jetton_wallet_unbooked",
];

/// (figure, entry kind, account kinds, sign) for the journal side; (event kind, column) for the
/// chain side.
type FigureDef = (
    &'static str,
    &'static str,
    &'static [&'static str],
    i128,
    &'static str,
    &'static str,
);

const FIGURES: [FigureDef; 12] = [
    (
        "deposited",
        "deposit",
        &["escrow"],
        1,
        "ev_deposit",
        "amount",
    ),
    (
        "released",
        "release",
        &["transit"],
        1,
        "ev_release",
        "amount",
    ),
    ("fees", "release", &["treasury"], 1, "ev_release", "fee"),
    (
        "release_bounced",
        "release_bounced",
        &["escrow"],
        1,
        "ev_release_bounced",
        "amount",
    ),
    ("refunded", "refund", &["escrow"], -1, "ev_refund", "amount"),
    (
        "refund_bounced",
        "refund_bounced",
        &["escrow"],
        1,
        "ev_refund_bounced",
        "amount",
    ),
    (
        "vault_funded",
        "vault_funded",
        &["vault"],
        1,
        "ev_vault_funded",
        "amount",
    ),
    (
        "gas_topped_up",
        "gas_topped_up",
        &["vault"],
        1,
        "ev_gas_topped_up",
        "amount",
    ),
    (
        "paid",
        "batch_executed",
        &["vault"],
        -1,
        "ev_batch_executed",
        "amount",
    ),
    (
        "bounced",
        "payout_bounced",
        &["vault"],
        1,
        "ev_payout_bounced",
        "amount",
    ),
    (
        "jetton_refused",
        "jetton_transfer_bounced",
        UNBOOKED,
        1,
        "jetton_transfer_bounced",
        "amount",
    ),
    (
        "jetton_recovered",
        "jetton_recovered",
        &["vault", "escrow"],
        1,
        "ev_jetton_recovered",
        "amount",
    ),
];

impl Ledger {
    /// Compares the journal with the indexed chain for `currency` (see the module docs). Ingest
    /// first ([`Ledger::ingest_chain_events`]): events not taken in yet are reported as an issue,
    /// not silently excluded. Needs the indexer's tables ([`crate::Error::IndexerMissing`]).
    pub async fn reconcile(&self, currency: &CurrencyCode) -> Result<Reconciliation> {
        let mut conn = self.pool.acquire().await?;
        crate::batches::indexed_chain_time(&mut conn).await?;
        // A consistent snapshot of both sides.
        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;

        let journal_rows = sqlx::query(
            "SELECT e.kind, l.account_kind, sum(l.amount)::text AS total \
             FROM ledger_journal_lines l JOIN ledger_journal_entries e ON e.id = l.entry_id \
             WHERE l.currency = $1 GROUP BY e.kind, l.account_kind",
        )
        .bind(currency.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mut journal: HashMap<(String, String), i128> = HashMap::new();
        for r in &journal_rows {
            journal.insert(
                (r.try_get("kind")?, r.try_get("account_kind")?),
                parse_i128("journal total", &r.try_get::<String, _>("total")?)?,
            );
        }

        let contracts = "(SELECT escrow FROM ledger_projects WHERE currency = $1 \
                          UNION SELECT address FROM ledger_vaults WHERE currency = $1)";
        let chain_rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT kind, COALESCE(sum(amount), 0)::text AS amount, \
                    COALESCE(sum(fee), 0)::text AS fee \
             FROM events WHERE contract IN {contracts} GROUP BY kind"
        )))
        .bind(currency.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mut chain: HashMap<(String, &'static str), i128> = HashMap::new();
        for r in &chain_rows {
            let kind: String = r.try_get("kind")?;
            chain.insert(
                (kind.clone(), "amount"),
                parse_i128("chain amount", &r.try_get::<String, _>("amount")?)?,
            );
            chain.insert(
                (kind, "fee"),
                parse_i128("chain fee", &r.try_get::<String, _>("fee")?)?,
            );
        }

        // A jetton vault's gas top-ups are TON, not its currency: the journal does not post
        // them, and they are not compared.
        let jetton: bool = sqlx::query_scalar(
            "SELECT COALESCE((SELECT jetton_master IS NOT NULL FROM ledger_currencies \
                              WHERE code = $1), false)",
        )
        .bind(currency.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let mut figures = Vec::new();
        for (name, entry_kind, account_kinds, sign, ev_kind, column) in FIGURES {
            if jetton && name == "gas_topped_up" {
                figures.push(Figure {
                    name,
                    journal: 0,
                    expected: 0,
                });
                continue;
            }
            let j: i128 = account_kinds
                .iter()
                .filter_map(|k| journal.get(&(entry_kind.to_owned(), (*k).to_owned())))
                .sum();
            let c = chain
                .get(&(ev_kind.to_owned(), column))
                .copied()
                .unwrap_or(0);
            figures.push(Figure {
                name,
                journal: sign * j,
                expected: c,
            });
        }

        let owed_journal: String = sqlx::query_scalar(
            "SELECT COALESCE(-sum(amount), 0)::text FROM ledger_journal_lines \
             WHERE currency = $1 AND account_kind = 'payable'",
        )
        .bind(currency.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let owed_earnings: String = sqlx::query_scalar(
            "SELECT COALESCE(sum(amount), 0)::text FROM ledger_earnings \
             WHERE currency = $1 AND state IN ('approved', 'batched', 'signed', 'sent')",
        )
        .bind(currency.as_str())
        .fetch_one(&mut *tx)
        .await?;
        figures.push(Figure {
            name: "owed",
            journal: parse_i128("owed", &owed_journal)?,
            expected: parse_i128("owed", &owed_earnings)?,
        });

        let unposted_events: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM events e WHERE e.contract IN {contracts} \
               AND NOT EXISTS (SELECT 1 FROM ledger_chain_events c \
                               WHERE c.tx_hash = e.tx_hash AND c.msg_idx = e.msg_idx)"
        )))
        .bind(currency.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let anomalies: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM ledger_anomalies a JOIN ledger_chain_events c \
               ON c.tx_hash = a.tx_hash AND c.msg_idx = a.msg_idx WHERE c.contract IN {contracts}"
        )))
        .bind(currency.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let suspicious = sqlx::query(
            "SELECT account, sum(amount)::text AS balance FROM ledger_journal_lines \
             WHERE currency = $1 AND account_kind IN ('suspense', 'escrow', 'transit', 'vault', \
                 'vault_jetton_wallet_unbooked', 'escrow_jetton_wallet_unbooked') \
             GROUP BY account, account_kind \
             HAVING (account_kind = 'suspense' AND sum(amount) <> 0) OR sum(amount) < 0 \
             ORDER BY account",
        )
        .bind(currency.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let unbalanced: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT entry_id FROM ledger_journal_lines WHERE currency = $1 \
             GROUP BY entry_id HAVING sum(amount) <> 0) t",
        )
        .bind(currency.as_str())
        .fetch_one(&mut *tx)
        .await?;
        // The escrows' own counters against the indexed events: a gap in the index (a missed
        // event) shows here even when journal and index agree with each other.
        let counters = sqlx::query(
            "WITH ev AS ( \
                 SELECT contract, lt, msg_idx, kind, COALESCE(amount, 0) AS a, \
                        COALESCE(fee, 0) AS f, balance_after \
                 FROM events WHERE contract IN \
                     (SELECT escrow FROM ledger_projects WHERE currency = $1)), \
             last_dep AS ( \
                 SELECT DISTINCT ON (contract) contract, balance_after FROM ev \
                 WHERE kind = 'ev_deposit' AND balance_after IS NOT NULL \
                 ORDER BY contract, lt DESC, msg_idx DESC), \
             dep_sum AS (SELECT contract, sum(a) AS s FROM ev WHERE kind = 'ev_deposit' \
                 GROUP BY contract), \
             last_budget AS ( \
                 SELECT DISTINCT ON (contract) contract, lt, msg_idx, balance_after FROM ev \
                 WHERE kind IN ('ev_release', 'ev_release_bounced', 'ev_closed', \
                                'ev_jetton_recovered') \
                   AND balance_after IS NOT NULL \
                 ORDER BY contract, lt DESC, msg_idx DESC), \
             computed AS ( \
                 SELECT b.contract, b.balance_after AS claimed, COALESCE(sum(CASE e.kind \
                     WHEN 'ev_deposit' THEN e.a WHEN 'ev_release' THEN -(e.a + e.f) \
                     WHEN 'ev_release_bounced' THEN e.a WHEN 'ev_refund' THEN -e.a \
                     WHEN 'ev_refund_bounced' THEN e.a WHEN 'ev_jetton_recovered' THEN e.a \
                     ELSE 0 END), 0) AS computed \
                 FROM last_budget b LEFT JOIN ev e ON e.contract = b.contract \
                     AND (e.lt, e.msg_idx) <= (b.lt, b.msg_idx) \
                 GROUP BY b.contract, b.balance_after) \
             SELECT 'deposited' AS what, d.contract, d.balance_after::text AS claimed, \
                    s.s::text AS computed \
             FROM last_dep d JOIN dep_sum s USING (contract) WHERE d.balance_after <> s.s \
             UNION ALL \
             SELECT 'remaining budget', contract, claimed::text, computed::text FROM computed \
             WHERE claimed <> computed \
             ORDER BY 2, 1",
        )
        .bind(currency.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let unbooked = sqlx::query(
            "SELECT account, sum(amount)::text AS balance FROM ledger_journal_lines \
             WHERE currency = $1 AND account_kind = ANY($2) \
             GROUP BY account HAVING sum(amount) > 0 ORDER BY account",
        )
        .bind(currency.as_str())
        .bind(UNBOOKED)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let awaiting_recovery = unbooked
            .iter()
            .map(|r| {
                let account: String = r.try_get("account")?;
                Ok(AccountBalance {
                    account: account
                        .parse()
                        .map_err(|_| crate::Error::corrupt("account", account.clone()))?,
                    balance: parse_i128("balance", &r.try_get::<String, _>("balance")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let mut issues = Vec::new();
        for r in &counters {
            let what: String = r.try_get("what")?;
            let contract: String = r.try_get("contract")?;
            let claimed: String = r.try_get("claimed")?;
            let computed: String = r.try_get("computed")?;
            issues.push(format!(
                "escrow {contract}: its {what} counter says {claimed}, the indexed events add up \
                 to {computed} (an event missing from the index?)"
            ));
        }
        for f in figures.iter().filter(|f| !f.matches()) {
            issues.push(format!(
                "{}: journal {} != {} {}",
                f.name,
                f.journal,
                if f.name == "owed" {
                    "earnings"
                } else {
                    "chain"
                },
                f.expected
            ));
        }
        if unposted_events > 0 {
            issues.push(format!(
                "{unposted_events} indexed event(s) not ingested yet"
            ));
        }
        if anomalies > 0 {
            issues.push(format!("{anomalies} anomaly(ies) recorded"));
        }
        for r in &suspicious {
            let account: String = r.try_get("account")?;
            let balance: String = r.try_get("balance")?;
            issues.push(format!("{account} has balance {balance}"));
        }
        if unbalanced > 0 {
            issues.push(format!("{unbalanced} unbalanced journal entry(ies)"));
        }
        if !issues.is_empty() {
            tracing::warn!(currency = %currency, ?issues, "reconciliation found issues");
        }
        Ok(Reconciliation {
            currency: currency.clone(),
            figures,
            unposted_events,
            anomalies,
            issues,
            awaiting_recovery,
        })
    }
}
