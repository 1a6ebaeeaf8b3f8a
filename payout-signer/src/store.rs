//! Postgres: the pool, the migrations (own history table `_sqlx_migrations_signer`), the
//! contract allowlist, the freeze switch and the instance fencing token.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Row};
use tycho_types::models::StdAddr;

use crate::audit::{self, Record};
use crate::error::{Error, Result};
use crate::wire::raw_address;

/// The migrations history table of this crate.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations_signer";

/// Unix time now, seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Connect options with `synchronous_commit = on` forced (a commit is on disk before the
/// signer answers) and `enable_seqscan = off`: every signer query is an index lookup, and the
/// signer's tables grow from empty faster than autovacuum analyzes them, so without statistics
/// the planner would scan them whole (measured: 7 ms instead of 0.3 ms per 250-item lookup).
/// `jit = off` and no parallel workers: with estimates that far off, a 500-row lookup was
/// costed high enough to be JIT-compiled (0.6 s of compilation for a 6 ms query) and handed to
/// parallel workers; neither ever pays off for the signer's small keyed reads.
pub fn connect_options(url: &str) -> Result<PgConnectOptions> {
    let opts: PgConnectOptions = url
        .parse()
        .map_err(|e| Error::Config(format!("database url: {e}")))?;
    Ok(opts.options([
        ("synchronous_commit", "on"),
        ("enable_seqscan", "off"),
        ("jit", "off"),
        ("max_parallel_workers_per_gather", "0"),
    ]))
}

/// [`connect_options`] that also switch every connection to `role` (`SET ROLE` at connect, as
/// a startup option): the session then has that role's rights only. The login must be a
/// member of it.
pub fn connect_options_as(url: &str, role: Option<&str>) -> Result<PgConnectOptions> {
    let opts = connect_options(url)?;
    Ok(match role {
        None => opts,
        Some(role) => {
            if role.is_empty()
                || !role
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
            {
                return Err(Error::Config(format!(
                    "database role {role:?}: expected [a-z0-9_]+"
                )));
            }
            opts.options([("role", role)])
        }
    })
}

/// A pool on `url` with `synchronous_commit = on`, with the login's own rights (migrations,
/// `register`, `freeze`: the operator's commands).
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool> {
    connect_as(url, max_connections, None).await
}

/// A pool on `url` whose connections run as `role` ([`connect_options_as`]).
pub async fn connect_as(url: &str, max_connections: u32, role: Option<&str>) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .connect_with(connect_options_as(url, role)?)
        .await?)
}

/// The role a connection runs as (`current_user`) and whether it may still change the
/// ledger's earnings (it must not, when it is the signer's role).
pub async fn current_role(pool: &PgPool) -> Result<(String, bool)> {
    let row = sqlx::query(
        "SELECT current_user::TEXT AS role, \
         COALESCE(has_table_privilege(to_regclass('ledger_earnings'), 'INSERT') \
           OR has_table_privilege(to_regclass('ledger_earnings'), 'UPDATE'), false) AS writes_ledger",
    )
    .fetch_one(pool)
    .await?;
    Ok((row.try_get("role")?, row.try_get("writes_ledger")?))
}

/// Applies the signer's migrations.
pub async fn migrate(pool: &PgPool) -> Result<()> {
    let mut m = sqlx::migrate!("./migrations");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m.run(pool).await?;
    Ok(())
}

/// A registered contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// A project escrow.
    Escrow {
        /// The ledger's project id.
        project_id: u64,
    },
    /// A payout vault.
    Vault {
        /// What it pays (TON, USD, ...).
        currency: String,
        /// Its replay timeout (a batch is live until created_at + timeout).
        timeout: u32,
        /// Its on-chain rolling window limit, if registered.
        onchain_limit: Option<u128>,
    },
}

/// What `payout-signer register` adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// `--escrow <addr> --project <id>`.
    Escrow {
        /// The escrow.
        address: StdAddr,
        /// The ledger's project id.
        project_id: u64,
    },
    /// `--vault <addr> --currency <C> --timeout <s> [--onchain-limit <n>]`.
    Vault {
        /// The vault.
        address: StdAddr,
        /// What it pays.
        currency: String,
        /// Its replay timeout, seconds.
        timeout: u32,
        /// Its on-chain rolling window limit.
        onchain_limit: Option<u128>,
    },
}

/// Adds (or confirms) a contract on the allowlist; a contract registered differently before
/// is refused (re-registering is never a silent change). Audited.
pub async fn register(pool: &PgPool, r: &Registration) -> Result<()> {
    let mut tx = pool.begin().await?;
    let (address, kind, project, currency, timeout, limit) = match r {
        Registration::Escrow {
            address,
            project_id,
        } => (
            raw_address(address),
            "escrow",
            Some(project_id.to_string()),
            None,
            None,
            None,
        ),
        Registration::Vault {
            address,
            currency,
            timeout,
            onchain_limit,
        } => (
            raw_address(address),
            "vault",
            None,
            Some(currency.clone()),
            Some(i64::from(*timeout)),
            onchain_limit.map(|l| l.to_string()),
        ),
    };
    if let Some(existing) = lookup(&mut tx, &address).await? {
        let same = match (&existing, r) {
            (Registered::Escrow { project_id }, Registration::Escrow { project_id: p, .. }) => {
                project_id == p
            }
            (
                Registered::Vault {
                    currency,
                    timeout,
                    onchain_limit,
                },
                Registration::Vault {
                    currency: c,
                    timeout: t,
                    onchain_limit: l,
                    ..
                },
            ) => currency == c && timeout == t && onchain_limit == l,
            _ => false,
        };
        if !same {
            return Err(Error::Config(format!(
                "{address} is already registered as {existing:?}; the allowlist never changes silently"
            )));
        }
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO signer_contracts \
         (address, kind, project_id, currency, vault_timeout, onchain_limit, registered_at) \
         VALUES ($1, $2, $3::NUMERIC, $4, $5, $6::NUMERIC, $7)",
    )
    .bind(&address)
    .bind(kind)
    .bind(&project)
    .bind(&currency)
    .bind(timeout)
    .bind(&limit)
    .bind(now() as i64)
    .execute(&mut *tx)
    .await?;
    let mut rec = Record::new(now(), "register", "done");
    rec.contract = Some(address.clone());
    rec.detail = Some(match (project, currency) {
        (Some(p), _) => format!("escrow of project {p}"),
        (_, Some(c)) => format!("{c} vault, timeout {}s", timeout.unwrap_or(0)),
        _ => String::new(),
    });
    audit::append(&mut tx, &rec).await?;
    tx.commit().await?;
    Ok(())
}

/// The registration of `address` (raw), if any.
pub async fn lookup(conn: &mut PgConnection, address: &str) -> Result<Option<Registered>> {
    let row = sqlx::query(
        "SELECT kind, project_id::TEXT AS project_id, currency, vault_timeout, \
         onchain_limit::TEXT AS onchain_limit FROM signer_contracts WHERE address = $1",
    )
    .bind(address)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let kind: String = row.try_get("kind")?;
    let parse = |s: Option<String>| -> Result<Option<u128>> {
        s.map(|s| {
            s.parse::<u128>()
                .map_err(|e| Error::Config(format!("stored number {s:?}: {e}")))
        })
        .transpose()
    };
    Ok(Some(match kind.as_str() {
        "escrow" => Registered::Escrow {
            project_id: parse(row.try_get("project_id")?)?
                .and_then(|p| u64::try_from(p).ok())
                .ok_or_else(|| Error::Config("escrow without a project id".into()))?,
        },
        _ => Registered::Vault {
            currency: row
                .try_get::<Option<String>, _>("currency")?
                .unwrap_or_default(),
            timeout: row
                .try_get::<Option<i64>, _>("vault_timeout")?
                .and_then(|t| u32::try_from(t).ok())
                .unwrap_or(0),
            onchain_limit: parse(row.try_get("onchain_limit")?)?,
        },
    }))
}

/// Every registered vault: (address, currency, on-chain limit).
pub async fn vaults(pool: &PgPool) -> Result<Vec<(String, String, Option<u128>)>> {
    let rows = sqlx::query(
        "SELECT address, currency, onchain_limit::TEXT AS onchain_limit FROM signer_contracts \
         WHERE kind = 'vault' ORDER BY address",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let limit: Option<String> = r.try_get("onchain_limit")?;
            Ok((
                r.try_get("address")?,
                r.try_get::<Option<String>, _>("currency")?
                    .unwrap_or_default(),
                limit.and_then(|l| l.parse().ok()),
            ))
        })
        .collect()
}

/// Turns the freeze switch on (`Some(reason)`) or off (`None`). Audited.
pub async fn set_frozen(pool: &PgPool, reason: Option<&str>) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE signer_state SET frozen = $1, freeze_reason = $2 WHERE id = 1")
        .bind(reason.is_some())
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    let mut rec = Record::new(
        now(),
        if reason.is_some() {
            "freeze"
        } else {
            "unfreeze"
        },
        "done",
    );
    rec.detail = reason.map(str::to_string);
    audit::append(&mut tx, &rec).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether signing is frozen, and why.
pub async fn frozen(pool: &PgPool) -> Result<Option<String>> {
    let row = sqlx::query("SELECT frozen, freeze_reason FROM signer_state WHERE id = 1")
        .fetch_one(pool)
        .await?;
    let frozen: bool = row.try_get("frozen")?;
    Ok(frozen.then(|| {
        row.try_get::<Option<String>, _>("freeze_reason")
            .ok()
            .flatten()
            .unwrap_or_default()
    }))
}
