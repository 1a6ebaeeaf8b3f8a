//! The double-entry journal: accounts, posting (idempotent by key, balanced per currency, checked
//! again by the database at commit), balances, and a project's releasable amount.
//!
//! Sign convention: a line's amount is a debit when positive and a credit when negative; the
//! lines of an entry sum to zero per currency. Custody accounts (escrow, transit, vault) are
//! debit-normal; counterparties and obligations (client, payable, fees) are credit-normal. At
//! any time: escrows + transit + vaults + treasury + bounce costs + tokens back in a contract's
//! jetton wallet but off its books (`*_jetton_wallet_unbooked`) + suspense =
//! -(clients + payables + fees + funders), i.e. every unit held is owed to someone.

use std::fmt;
use std::str::FromStr;

use sqlx::{PgConnection, Row};

use crate::Ledger;
use crate::error::{Error, Result};
use crate::model::ProjectFunding;
use crate::num::{parse_i128, parse_u128};
use crate::types::{BatchId, ChainRef, CurrencyCode, EarningId, ProjectId};

/// A journal account. Its text form (`escrow:42`, `vault:TON`, `payable:alice`) is what the
/// database stores; lines also carry their currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// What a project's escrow holds of its budget (debit-normal).
    Escrow(ProjectId),
    /// Released by a project's escrow, not yet credited by the vault (debit-normal; 0 at rest).
    Transit(ProjectId),
    /// The client of a project: deposited - refunded - approved - fees (credit-normal: its
    /// negated balance is what the client could still get back or spend).
    Client(ProjectId),
    /// What the currency's vault holds for payouts (debit-normal).
    Vault(CurrencyCode),
    /// Fees sent to the platform's treasury (debit-normal: custody outside the escrows).
    Treasury(CurrencyCode),
    /// The platform's fee income (credit-normal; mirror of `Treasury`).
    Fees(CurrencyCode),
    /// Owed to a worker: approved and not paid (credit-normal).
    Payable(String),
    /// What bounced payouts cost (TON bounces come back minus network fees; debit-normal).
    BounceCosts(CurrencyCode),
    /// Money sent to the vault by someone other than a registered escrow (credit-normal).
    Funders(CurrencyCode),
    /// Chain facts the ledger could not attribute (an unknown batch or item); must be 0.
    Suspense(CurrencyCode),
    /// Jetton units back in the vault's jetton wallet after a recipient's wallet refused a
    /// payout (`jetton_transfer_bounced`), not on the vault's books until a jetton recovery
    /// (`ev_jetton_recovered`) books them (debit-normal; 0 once recovered).
    VaultJettonWalletUnbooked(CurrencyCode),
    /// The same for a project's escrow: a release, fee or refund leg refused by its recipient's
    /// wallet (debit-normal; 0 once recovered).
    EscrowJettonWalletUnbooked(ProjectId),
}

impl Account {
    /// The kind (the text before the first ':').
    pub fn kind(&self) -> &'static str {
        match self {
            Account::Escrow(_) => "escrow",
            Account::Transit(_) => "transit",
            Account::Client(_) => "client",
            Account::Vault(_) => "vault",
            Account::Treasury(_) => "treasury",
            Account::Fees(_) => "fees",
            Account::Payable(_) => "payable",
            Account::BounceCosts(_) => "bounce_costs",
            Account::Funders(_) => "funders",
            Account::Suspense(_) => "suspense",
            Account::VaultJettonWalletUnbooked(_) => "vault_jetton_wallet_unbooked",
            Account::EscrowJettonWalletUnbooked(_) => "escrow_jetton_wallet_unbooked",
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.kind();
        match self {
            Account::Escrow(p)
            | Account::Transit(p)
            | Account::Client(p)
            | Account::EscrowJettonWalletUnbooked(p) => write!(f, "{k}:{p}"),
            Account::Vault(c)
            | Account::VaultJettonWalletUnbooked(c)
            | Account::Treasury(c)
            | Account::Fees(c)
            | Account::BounceCosts(c)
            | Account::Funders(c)
            | Account::Suspense(c) => write!(f, "{k}:{c}"),
            Account::Payable(w) => write!(f, "{k}:{w}"),
        }
    }
}

impl FromStr for Account {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("account", format!("{s:?}"));
        let (kind, key) = s.split_once(':').ok_or_else(bad)?;
        let project = || key.parse::<u64>().map(ProjectId).map_err(|_| bad());
        let currency = || CurrencyCode::new(key);
        Ok(match kind {
            "escrow" => Account::Escrow(project()?),
            "transit" => Account::Transit(project()?),
            "client" => Account::Client(project()?),
            "vault" => Account::Vault(currency()?),
            "treasury" => Account::Treasury(currency()?),
            "fees" => Account::Fees(currency()?),
            "payable" if !key.is_empty() => Account::Payable(key.to_owned()),
            "bounce_costs" => Account::BounceCosts(currency()?),
            "funders" => Account::Funders(currency()?),
            "suspense" => Account::Suspense(currency()?),
            "vault_jetton_wallet_unbooked" => Account::VaultJettonWalletUnbooked(currency()?),
            "escrow_jetton_wallet_unbooked" => Account::EscrowJettonWalletUnbooked(project()?),
            _ => return Err(bad()),
        })
    }
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// An earning approved (client -> payable).
    Approve,
    /// An unbatched earning revoked (payable -> client).
    Revoke,
    /// `ev_deposit`.
    Deposit,
    /// `ev_release`.
    Release,
    /// `ev_release_bounced`.
    ReleaseBounced,
    /// `ev_vault_funded`.
    VaultFunded,
    /// `ev_refund`.
    Refund,
    /// `ev_refund_bounced`.
    RefundBounced,
    /// `ev_batch_executed`.
    BatchExecuted,
    /// `ev_payout_bounced`.
    PayoutBounced,
    /// `jetton_transfer_bounced` (the indexer's fact): a jetton transfer of the vault or an
    /// escrow refused by the recipient's wallet.
    JettonTransferBounced,
    /// `ev_jetton_recovered`: a contract booked tokens its jetton wallet held beyond its books.
    JettonRecovered,
    /// `ev_gas_topped_up` of a TON vault: TON added to the vault's balance, from which it pays
    /// payouts and fees alike (a jetton vault's top-up is TON, not its currency: not posted).
    GasToppedUp,
}

impl EntryKind {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Approve => "approve",
            EntryKind::Revoke => "revoke",
            EntryKind::Deposit => "deposit",
            EntryKind::Release => "release",
            EntryKind::ReleaseBounced => "release_bounced",
            EntryKind::VaultFunded => "vault_funded",
            EntryKind::Refund => "refund",
            EntryKind::RefundBounced => "refund_bounced",
            EntryKind::BatchExecuted => "batch_executed",
            EntryKind::PayoutBounced => "payout_bounced",
            EntryKind::JettonTransferBounced => "jetton_transfer_bounced",
            EntryKind::JettonRecovered => "jetton_recovered",
            EntryKind::GasToppedUp => "gas_topped_up",
        }
    }
}

/// One account's balance in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBalance {
    /// The account.
    pub account: Account,
    /// Sum of its lines (debit > 0).
    pub balance: i128,
}

/// An entry to post.
#[derive(Debug, Clone)]
pub(crate) struct NewEntry {
    pub(crate) key: String,
    pub(crate) kind: EntryKind,
    pub(crate) currency: CurrencyCode,
    pub(crate) project: Option<ProjectId>,
    pub(crate) earning: Option<EarningId>,
    pub(crate) batch: Option<BatchId>,
    pub(crate) chain: Option<ChainRef>,
    pub(crate) memo: String,
    pub(crate) lines: Vec<(Account, i128)>,
}

impl NewEntry {
    pub(crate) fn new(key: String, kind: EntryKind, currency: &CurrencyCode) -> Self {
        NewEntry {
            key,
            kind,
            currency: currency.clone(),
            project: None,
            earning: None,
            batch: None,
            chain: None,
            memo: String::new(),
            lines: Vec::new(),
        }
    }

    pub(crate) fn line(mut self, account: Account, amount: i128) -> Self {
        if amount != 0 {
            self.lines.push((account, amount));
        }
        self
    }
}

/// Posts `entry` in the caller's transaction. `Ok(None)`: an entry with this key exists
/// (idempotent replay), nothing was written. The lines must sum to zero: checked here, and by
/// the database's deferred trigger at commit.
pub(crate) async fn post(conn: &mut PgConnection, entry: &NewEntry) -> Result<Option<i64>> {
    let sum = entry
        .lines
        .iter()
        .try_fold(0i128, |acc, (_, a)| acc.checked_add(*a));
    if sum != Some(0) || entry.lines.len() < 2 {
        return Err(Error::invalid(
            "journal entry",
            format!(
                "{} lines of {} do not balance",
                entry.lines.len(),
                entry.key
            ),
        ));
    }
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO ledger_journal_entries \
             (key, kind, currency, project_id, earning_id, batch_id, tx_hash, msg_idx, lt, \
              chain_time, memo) \
         VALUES ($1, $2, $3, $4::text::numeric, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (key) DO NOTHING RETURNING id",
    )
    .bind(&entry.key)
    .bind(entry.kind.as_str())
    .bind(entry.currency.as_str())
    .bind(entry.project.map(|p| p.0.to_string()))
    .bind(entry.earning.map(|e| e.sql()))
    .bind(entry.batch.map(|b| b.0))
    .bind(entry.chain.map(|c| c.tx_hash.to_vec()))
    .bind(entry.chain.map(|c| i32::from(c.msg_idx)))
    .bind(entry.chain.map(|c| c.lt as i64))
    .bind(entry.chain.map(|c| i64::from(c.now)))
    .bind(&entry.memo)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    let accounts: Vec<String> = entry.lines.iter().map(|(a, _)| a.to_string()).collect();
    let amounts: Vec<String> = entry.lines.iter().map(|(_, v)| v.to_string()).collect();
    let numbers: Vec<i16> = (0..entry.lines.len() as i16).collect();
    sqlx::query(
        "INSERT INTO ledger_journal_lines (entry_id, line_no, account, currency, amount) \
         SELECT $1, n, a, $2, v::numeric FROM UNNEST($3::smallint[], $4::text[], $5::text[]) \
             AS t(n, a, v)",
    )
    .bind(id)
    .bind(entry.currency.as_str())
    .bind(numbers)
    .bind(accounts)
    .bind(amounts)
    .execute(&mut *conn)
    .await?;
    Ok(Some(id))
}

/// One account's balance in `currency` (0 if it has no lines), in the caller's transaction.
pub(crate) async fn balance_in(
    conn: &mut PgConnection,
    account: &Account,
    currency: &CurrencyCode,
) -> Result<i128> {
    let s: String = sqlx::query_scalar(
        "SELECT COALESCE(sum(amount), 0)::text FROM ledger_journal_lines \
         WHERE account = $1 AND currency = $2",
    )
    .bind(account.to_string())
    .bind(currency.as_str())
    .fetch_one(&mut *conn)
    .await?;
    parse_i128("balance", &s)
}

impl Ledger {
    /// Every account's balance in `currency` (accounts with lines only), sorted by account.
    pub async fn balances(&self, currency: &CurrencyCode) -> Result<Vec<AccountBalance>> {
        let rows = sqlx::query(
            "SELECT account, sum(amount)::text AS balance FROM ledger_journal_lines \
             WHERE currency = $1 GROUP BY account ORDER BY account",
        )
        .bind(currency.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let account: String = r.try_get("account")?;
                let balance: String = r.try_get("balance")?;
                Ok(AccountBalance {
                    account: account
                        .parse()
                        .map_err(|_| Error::corrupt("account", account.clone()))?,
                    balance: parse_i128("balance", &balance)?,
                })
            })
            .collect()
    }

    /// One account's balance in `currency` (0 if it has no lines).
    pub async fn balance(&self, account: &Account, currency: &CurrencyCode) -> Result<i128> {
        let mut conn = self.pool.acquire().await?;
        balance_in(&mut conn, account, currency).await
    }

    /// What the project's escrow may still release to the vault: its approved (not revoked)
    /// earnings minus what it released on chain (net of bounced vault legs, including a leg the
    /// vault's jetton wallet refused), never below 0.
    ///
    /// Only releases the indexer has seen count: the signer must also subtract the releases it
    /// signed that have not landed (and not expired) yet.
    pub async fn releasable(&self, project: ProjectId) -> Result<u128> {
        Ok(self.project_funding(project).await?.releasable)
    }

    /// A project's approvals and releases (see [`Ledger::releasable`]).
    pub async fn project_funding(&self, project: ProjectId) -> Result<ProjectFunding> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COALESCE(sum(amount), 0)::text FROM ledger_earnings \
                 WHERE project_id = $1::text::numeric AND state <> 'revoked') AS approved, \
               (SELECT COALESCE(sum(l.amount), 0)::text FROM ledger_journal_lines l \
                  JOIN ledger_journal_entries e ON e.id = l.entry_id \
                 WHERE l.account = $2 \
                   AND e.kind IN ('release', 'release_bounced', 'jetton_transfer_bounced')) \
                 AS released, \
               EXISTS (SELECT 1 FROM ledger_projects WHERE project_id = $1::text::numeric) AS known",
        )
        .bind(project.0.to_string())
        .bind(Account::Transit(project).to_string())
        .fetch_one(&self.pool)
        .await?;
        if !row.try_get::<bool, _>("known")? {
            return Err(Error::UnknownProject(project));
        }
        let approved = parse_u128("approved", &row.try_get::<String, _>("approved")?)?;
        let released_signed = parse_i128("released", &row.try_get::<String, _>("released")?)?;
        let released = u128::try_from(released_signed.max(0)).unwrap_or(0);
        Ok(ProjectFunding {
            approved,
            released,
            releasable: approved.saturating_sub(released),
        })
    }
}
