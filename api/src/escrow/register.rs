//! [`create_escrow`]: the escrow of a new project, registered with the payout signer's
//! allowlist, the indexer and the ledger (see the module doc for the order and why).

use labelmint_abi::escrow::{EscrowParams, EscrowRoutes};
use labelmint_indexer::model::{AccountKind, WatchedAccount};
use labelmint_ledger::{Currency, CurrencyCode, Ledger, Project, ProjectId, RawAddress};
use labelmint_payout_signer::store::Registration;
use sqlx::PgPool;
use tycho_types::models::StdAddr;

use crate::escrow::plan::EscrowPlan;

/// What a new project's escrow is made of (the vault comes from the ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEscrow {
    /// The project id (uint64; the escrow stores it).
    pub project_id: u64,
    /// The client's wallet: funds the project, gets refunds.
    pub client: StdAddr,
    /// A currency registered in the ledger (`TON`, `USD`, ...).
    pub currency: CurrencyCode,
    /// Unix time from which the client may refund without a close.
    pub deadline: u32,
    /// Platform fee in basis points of each release (at most 2000).
    pub fee_bps: u16,
    /// Where platform fees go.
    pub treasury: StdAddr,
    /// The payout signer's ed25519 public key.
    pub signer_key: [u8; 32],
}

/// A registered escrow.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The escrow (parameters, StateInit, address).
    pub plan: EscrowPlan,
    /// The project's currency as the ledger has it.
    pub currency: Currency,
    /// `false`: the ledger had this project with this escrow already (nothing changed).
    pub newly: bool,
}

/// Why an escrow could not be made or registered.
#[derive(Debug, thiserror::Error)]
pub enum EscrowError {
    /// The ledger has no such currency.
    #[error("currency {0} is not registered in the ledger")]
    UnknownCurrency(String),
    /// The ledger has no vault for the currency (the escrow's releases need one).
    #[error("no {0} vault is registered in the ledger: deploy and register the vault first")]
    NoVault(String),
    /// The project id is registered with another escrow (other parameters).
    #[error(
        "project {project_id} is already registered with escrow {escrow} (other parameters); nothing changed"
    )]
    Conflict {
        /// The project id.
        project_id: u64,
        /// The escrow it has (raw).
        escrow: String,
    },
    /// The database has no signer allowlist (the payout signer's migrations did not run).
    #[error(
        "this database has no signer allowlist (signer_contracts): start the payout signer once on it (it applies its migrations)"
    )]
    NoAllowlist,
    /// The parameters make no valid escrow (a fee above the cap, an address out of range).
    #[error("escrow parameters: {0}")]
    Params(#[from] labelmint_abi::Error),
    /// The signer's allowlist refused or failed.
    #[error("signer allowlist: {0}")]
    Signer(#[from] labelmint_payout_signer::Error),
    /// The indexer's store failed.
    #[error("indexer watched accounts: {0}")]
    Indexer(#[from] labelmint_indexer::Error),
    /// The ledger failed.
    #[error("ledger: {0}")]
    Ledger(#[from] labelmint_ledger::Error),
    /// Postgres failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A ledger address as a chain address.
pub fn std_addr(a: &RawAddress) -> Result<StdAddr, labelmint_abi::Error> {
    labelmint_abi::address::parse_raw(a.as_str())
}

/// A chain address as a ledger address.
pub fn raw_addr(a: &StdAddr) -> RawAddress {
    RawAddress::from_parts(a.workchain, a.address.as_array())
}

/// Makes the escrow of `spec` and registers it: 1. the payout signer's allowlist, 2. the
/// indexer's watched accounts, 3. the ledger. Each step is idempotent; a project id already
/// registered with another escrow is [`EscrowError::Conflict`] before anything is written.
/// `pool` needs: SELECT on the ledger's currencies, vaults and projects; SELECT, INSERT on
/// `signer_contracts`, `signer_audit`; INSERT on `watched_accounts` and `ledger_projects`.
pub async fn create_escrow(pool: &PgPool, spec: &NewEscrow) -> Result<Registered, EscrowError> {
    let ledger = Ledger::from_pool(pool.clone());
    let currency = ledger
        .currency(&spec.currency)
        .await?
        .ok_or_else(|| EscrowError::UnknownCurrency(spec.currency.to_string()))?;
    let vault = ledger
        .vault(&spec.currency)
        .await?
        .ok_or_else(|| EscrowError::NoVault(spec.currency.to_string()))?;
    let params = EscrowParams {
        project_id: spec.project_id,
        signer_key: spec.signer_key,
        deadline: spec.deadline,
        fee_bps: spec.fee_bps,
        client: spec.client.clone(),
        jetton_master: currency.jetton_master.as_ref().map(std_addr).transpose()?,
        routes: EscrowRoutes {
            vault: std_addr(&vault.address)?,
            treasury: spec.treasury.clone(),
        },
    };
    let plan = EscrowPlan::new(params)?;
    let escrow_raw = raw_addr(&plan.address);
    let id = ProjectId(spec.project_id);
    if let Some(p) = ledger.project(id).await?
        && p.escrow != escrow_raw
    {
        return Err(EscrowError::Conflict {
            project_id: spec.project_id,
            escrow: p.escrow.as_str().to_owned(),
        });
    }
    // 1. The signer's allowlist (same database as the ledger).
    let ready: bool = sqlx::query_scalar("SELECT to_regclass('signer_contracts') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !ready {
        return Err(EscrowError::NoAllowlist);
    }
    labelmint_payout_signer::store::register(
        pool,
        &Registration::Escrow {
            address: plan.address.clone(),
            project_id: spec.project_id,
        },
    )
    .await?;
    // 2. The indexer's watched accounts: the escrow, and the client's wallet (its
    //    transactions are those its external messages start: TEP-467 lookups of the BoC a
    //    wallet returned from TonConnect).
    let store = labelmint_indexer::store::Store::from_pool(pool.clone());
    store
        .watch(&WatchedAccount {
            address: escrow_raw.as_str().to_owned(),
            kind: AccountKind::Escrow,
            project_id: Some(spec.project_id),
            owner: None,
            currency: Some(
                currency
                    .jetton_master
                    .as_ref()
                    .map_or_else(|| "TON".to_owned(), |m| m.as_str().to_owned()),
            ),
        })
        .await?;
    store
        .watch(&WatchedAccount {
            address: raw_addr(&spec.client).as_str().to_owned(),
            kind: AccountKind::Wallet,
            project_id: None,
            owner: None,
            currency: None,
        })
        .await?;
    // 3. The ledger.
    let newly = match ledger
        .register_project(&Project {
            id,
            escrow: escrow_raw.clone(),
            currency: spec.currency.clone(),
            client: raw_addr(&spec.client),
        })
        .await
    {
        Ok(n) => n,
        Err(labelmint_ledger::Error::RegistrationConflict { .. }) => {
            let escrow = ledger
                .project(id)
                .await?
                .map(|p| p.escrow.as_str().to_owned())
                .unwrap_or_default();
            return Err(EscrowError::Conflict {
                project_id: spec.project_id,
                escrow,
            });
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Registered {
        plan,
        currency,
        newly,
    })
}
