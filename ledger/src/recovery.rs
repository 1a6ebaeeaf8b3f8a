//! Tokens awaiting a jetton recovery, per contract: what a recipient's wallet refused came back
//! to the vault's or an escrow's jetton wallet (`jetton_transfer_bounced`), is held in
//! `vault_jetton_wallet_unbooked:C` / `escrow_jetton_wallet_unbooked:P`, and is not on the
//! contract's books until its `jetton_recover` books it (`ev_jetton_recovered`). The settler
//! asks each listed contract to recover exactly that amount.

use sqlx::Row;

use crate::Ledger;
use crate::error::{Error, Result};
use crate::journal::Account;
use crate::num::parse_u128;
use crate::types::{CurrencyCode, RawAddress};

/// One contract whose jetton wallet holds tokens its books do not (per the ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingRecovery {
    /// The unbooked account: [`Account::VaultJettonWalletUnbooked`] or
    /// [`Account::EscrowJettonWalletUnbooked`].
    pub account: Account,
    /// The contract that can book them (the currency's vault, or the project's escrow).
    pub contract: RawAddress,
    /// The jetton's currency.
    pub currency: CurrencyCode,
    /// How much (base units, > 0): the `amount` of its `jetton_recover`.
    pub amount: u128,
}

impl Ledger {
    /// Every positive unbooked jetton balance with the contract that holds it, vaults first,
    /// then escrows by project. Read every settler pass: it goes through the lines' (currency,
    /// account_kind) index, jetton currencies only.
    pub async fn awaiting_recovery(&self) -> Result<Vec<AwaitingRecovery>> {
        let rows = sqlx::query(
            "WITH u AS ( \
                 SELECT account, account_kind, currency, sum(amount) AS balance \
                 FROM ledger_journal_lines \
                 WHERE currency IN (SELECT code FROM ledger_currencies \
                                    WHERE jetton_master IS NOT NULL) \
                   AND account_kind IN ('vault_jetton_wallet_unbooked', \
                                        'escrow_jetton_wallet_unbooked') \
                 GROUP BY account, account_kind, currency HAVING sum(amount) > 0) \
             SELECT u.account, u.currency, u.balance::text AS balance, \
                    COALESCE(v.address, p.escrow) AS contract \
             FROM u \
             LEFT JOIN ledger_vaults v ON u.account_kind = 'vault_jetton_wallet_unbooked' \
                 AND v.currency = u.currency \
             LEFT JOIN ledger_projects p ON u.account_kind = 'escrow_jetton_wallet_unbooked' \
                 AND p.project_id::text = split_part(u.account, ':', 2) \
             ORDER BY u.account_kind DESC, u.account",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let account: String = r.try_get("account")?;
                let contract: Option<String> = r.try_get("contract")?;
                let contract =
                    contract.ok_or_else(|| Error::corrupt("unbooked account", account.clone()))?;
                Ok(AwaitingRecovery {
                    account: account
                        .parse()
                        .map_err(|_| Error::corrupt("account", account.clone()))?,
                    contract: RawAddress::parse(&contract)?,
                    currency: CurrencyCode::new(&r.try_get::<String, _>("currency")?)?,
                    amount: parse_u128("balance", &r.try_get::<String, _>("balance")?)?,
                })
            })
            .collect()
    }
}
