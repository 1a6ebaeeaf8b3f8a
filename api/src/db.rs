//! The read pool: every connection runs as the read role (`SET ROLE` at connect, as a startup
//! option), with a statement timeout, so a slow or hostile query cannot hold the pool.

use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::Config;
use crate::error::{Error, Result};

/// The API's own migrations history table (crates sharing a database never trip over each
/// other's histories).
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations_api";

/// A statement may run this long before Postgres cancels it.
const STATEMENT_TIMEOUT_MS: &str = "5000";

/// The API's migrations (embedded at compile time), recorded in [`MIGRATIONS_TABLE`].
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m
}

fn options(url: &str) -> Result<PgConnectOptions> {
    // The error text of a bad URL could quote it: say only that it does not parse.
    PgConnectOptions::from_str(url)
        .map_err(|_| Error::Config("the database URL is not a postgres:// URL".to_owned()))
}

/// Applies the API's migration with the login's own rights (it creates the read role and
/// grants it SELECT; the indexer's and the ledger's tables must exist).
pub async fn migrate(config: &Config) -> Result<()> {
    let opts = options(&config.database_url)?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(config.acquire_timeout)
        .connect_with(opts)
        .await?;
    let ready: bool = sqlx::query_scalar(
        "SELECT to_regclass('checkpoint') IS NOT NULL AND to_regclass('ledger_payout_items') IS NOT NULL \
           AND to_regclass('signer_audit') IS NOT NULL",
    )
    .fetch_one(&pool)
    .await?;
    if !ready {
        pool.close().await;
        return Err(Error::Config(
            "the database has no indexer, ledger or payout-signer tables (or not the latest): \
             run their migrations first (the indexer, the ledger and the signer apply them at \
             start)"
                .to_owned(),
        ));
    }
    let res = migrator().run(&pool).await;
    pool.close().await;
    Ok(res?)
}

/// The read pool (lazy: the server starts, and `/ready` says so, while Postgres is away).
pub fn read_pool(config: &Config) -> Result<PgPool> {
    pool_as(config, config.db_role.as_deref(), config.max_connections)
}

/// The auth pool: API keys, payloads and sessions, as the auth role.
pub fn auth_pool(config: &Config) -> Result<PgPool> {
    pool_as(
        config,
        config.auth_db_role.as_deref(),
        (config.max_connections / 2).max(2),
    )
}

/// The write pool: project creation, close requests, idempotency records, as the write role.
pub fn write_pool(config: &Config) -> Result<PgPool> {
    pool_as(
        config,
        config.write_db_role.as_deref(),
        (config.max_connections / 2).max(2),
    )
}

/// The hooks pool: webhook endpoints, deliveries and the outbox, as the hooks role.
pub fn hooks_pool(config: &Config) -> Result<PgPool> {
    pool_as(
        config,
        config.hooks_db_role.as_deref(),
        (config.max_connections / 2).max(2),
    )
}

/// Labeling's three pools (its tables; the consensus engine's; the ledger's), with the
/// login's own rights: labeling writes answers and the engine approves earnings in the
/// ledger, as the consensus engine's own process does. Three, not one: a submission holds a
/// labeling connection while the engine stores it, the engine holds its own while the ledger
/// approves (`labelmint_labeling::Labeling::new`).
pub fn labeling_pools(config: &Config) -> Result<(PgPool, PgPool, PgPool)> {
    let n = config.max_connections.max(4);
    Ok((
        pool_as(config, None, n)?,
        pool_as(config, None, n)?,
        pool_as(config, None, n)?,
    ))
}

fn pool_as(config: &Config, role: Option<&str>, connections: u32) -> Result<PgPool> {
    let mut opts = options(&config.database_url)?
        .options([("statement_timeout", STATEMENT_TIMEOUT_MS)])
        .application_name("labelmint-api");
    if let Some(role) = role {
        if role.is_empty()
            || !role
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        {
            return Err(Error::Config(format!(
                "database role {role:?}: expected [a-z0-9_]+"
            )));
        }
        opts = opts.options([("role", role)]);
    }
    Ok(PgPoolOptions::new()
        .max_connections(connections.max(1))
        .acquire_timeout(config.acquire_timeout)
        .connect_lazy_with(opts))
}
