//! Currencies, projects (escrows) and vaults: what the ledger knows exists on chain.
//! Registrations are idempotent: the same content again is a no-op, different content an error.

use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::Ledger;
use crate::error::{Error, Result};
use crate::model::{Currency, Project, Vault};
use crate::num::parse_u64;
use crate::types::{CurrencyCode, ProjectId, RawAddress};

impl Ledger {
    /// Registers a currency. Returns `true` if it is new.
    pub async fn register_currency(&self, c: &Currency) -> Result<bool> {
        if c.decimals > 30 {
            return Err(Error::invalid("decimals", c.decimals.to_string()));
        }
        let inserted = sqlx::query(
            "INSERT INTO ledger_currencies (code, decimals, jetton_master) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(c.code.as_str())
        .bind(i16::from(c.decimals))
        .bind(c.jetton_master.as_ref().map(RawAddress::as_str))
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        if !inserted && self.currency(&c.code).await?.as_ref() != Some(c) {
            return Err(Error::RegistrationConflict {
                what: "currency",
                key: c.code.to_string(),
            });
        }
        Ok(inserted)
    }

    /// A registered currency.
    pub async fn currency(&self, code: &CurrencyCode) -> Result<Option<Currency>> {
        let row = sqlx::query(
            "SELECT code, decimals, jetton_master FROM ledger_currencies WHERE code = $1",
        )
        .bind(code.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let decimals: i16 = r.try_get("decimals")?;
            Ok(Currency {
                code: CurrencyCode::new(&r.try_get::<String, _>("code")?)?,
                decimals: u8::try_from(decimals)
                    .map_err(|_| Error::corrupt("decimals", decimals.to_string()))?,
                jetton_master: r
                    .try_get::<Option<String>, _>("jetton_master")?
                    .map(|a| RawAddress::parse(&a))
                    .transpose()?,
            })
        })
        .transpose()
    }

    /// Registers a project and its escrow. Returns `true` if it is new.
    pub async fn register_project(&self, p: &Project) -> Result<bool> {
        if self.currency(&p.currency).await?.is_none() {
            return Err(Error::UnknownCurrency(p.currency.clone()));
        }
        let inserted = sqlx::query(
            "INSERT INTO ledger_projects (project_id, escrow, currency, client) \
             VALUES ($1::text::numeric, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(p.id.0.to_string())
        .bind(p.escrow.as_str())
        .bind(p.currency.as_str())
        .bind(p.client.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        if !inserted && self.project(p.id).await?.as_ref() != Some(p) {
            return Err(Error::RegistrationConflict {
                what: "project",
                key: format!("{} (escrow {})", p.id, p.escrow),
            });
        }
        Ok(inserted)
    }

    /// A registered project.
    pub async fn project(&self, id: ProjectId) -> Result<Option<Project>> {
        sqlx::query(
            "SELECT project_id::text AS project_id, escrow, currency, client FROM ledger_projects \
             WHERE project_id = $1::text::numeric",
        )
        .bind(id.0.to_string())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| project_of(&r))
        .transpose()
    }

    /// The project whose escrow is at `escrow`.
    pub async fn project_by_escrow(&self, escrow: &RawAddress) -> Result<Option<Project>> {
        sqlx::query(
            "SELECT project_id::text AS project_id, escrow, currency, client FROM ledger_projects \
             WHERE escrow = $1",
        )
        .bind(escrow.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(|r| project_of(&r))
        .transpose()
    }

    /// Registers the vault of a currency (one per currency). Returns `true` if it is new.
    pub async fn register_vault(&self, v: &Vault) -> Result<bool> {
        if self.currency(&v.currency).await?.is_none() {
            return Err(Error::UnknownCurrency(v.currency.clone()));
        }
        let inserted = sqlx::query(
            "INSERT INTO ledger_vaults (currency, address) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(v.currency.as_str())
        .bind(v.address.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        if !inserted && self.vault(&v.currency).await?.as_ref() != Some(v) {
            return Err(Error::RegistrationConflict {
                what: "vault",
                key: format!("{} ({})", v.currency, v.address),
            });
        }
        Ok(inserted)
    }

    /// Records the vault's replay timeout (seconds, from its config or its get-method). From
    /// then on [`Ledger::form_batch`] refuses a `valid_until` earlier than
    /// `created_at + timeout - 1` for this vault.
    pub async fn set_vault_timeout(&self, currency: &CurrencyCode, timeout: u32) -> Result<()> {
        if timeout == 0 {
            return Err(Error::invalid("timeout", "0"));
        }
        let n = sqlx::query("UPDATE ledger_vaults SET timeout = $2 WHERE currency = $1")
            .bind(currency.as_str())
            .bind(i64::from(timeout))
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::UnknownVault(currency.clone()));
        }
        Ok(())
    }

    /// The vault's replay timeout, if registered.
    pub async fn vault_timeout(&self, currency: &CurrencyCode) -> Result<Option<u32>> {
        let t: Option<Option<i64>> =
            sqlx::query_scalar("SELECT timeout FROM ledger_vaults WHERE currency = $1")
                .bind(currency.as_str())
                .fetch_optional(&self.pool)
                .await?;
        t.flatten()
            .map(|v| crate::num::u32_of("timeout", v))
            .transpose()
    }

    /// The vault of a currency.
    pub async fn vault(&self, currency: &CurrencyCode) -> Result<Option<Vault>> {
        sqlx::query("SELECT currency, address FROM ledger_vaults WHERE currency = $1")
            .bind(currency.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| {
                Ok(Vault {
                    currency: CurrencyCode::new(&r.try_get::<String, _>("currency")?)?,
                    address: RawAddress::parse(&r.try_get::<String, _>("address")?)?,
                })
            })
            .transpose()
    }
}

fn project_of(r: &PgRow) -> Result<Project> {
    Ok(Project {
        id: ProjectId(parse_u64(
            "project id",
            &r.try_get::<String, _>("project_id")?,
        )?),
        escrow: RawAddress::parse(&r.try_get::<String, _>("escrow")?)?,
        currency: CurrencyCode::new(&r.try_get::<String, _>("currency")?)?,
        client: RawAddress::parse(&r.try_get::<String, _>("client")?)?,
    })
}
