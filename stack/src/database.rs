//! The stack's own database on the private cluster, and the check that it indexed the chain
//! the stack runs beside.

use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection, Row};

use crate::error::{Error, Result};

/// The database `make up` indexes into (created on the cluster of the admin URL).
pub const DEFAULT_DATABASE: &str = "labelmint_up";

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> Result<String> {
    let bad = |reason: &str| Error::DatabaseUrl {
        url: redact(url),
        reason: reason.to_string(),
    };
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(bad("database names are [a-z0-9_]"));
    }
    let opts: PgConnectOptions = url.parse().map_err(|_| bad("not a postgres:// URL"))?;
    Ok(opts.database(name).to_url_lossy().to_string())
}

/// The URL without its password and options, for messages: `postgres://user@host:port/db`.
pub fn redact(url: &str) -> String {
    match url.parse::<PgConnectOptions>() {
        Ok(o) => format!(
            "postgres://{}@{}:{}/{}",
            o.get_username(),
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or("")
        ),
        Err(_) => "<unparsable URL>".to_string(),
    }
}

/// Creates database `name` on the cluster of `admin_url` unless it exists; returns its URL.
pub async fn ensure(admin_url: &str, name: &str) -> Result<String> {
    let url = with_database(admin_url, name)?;
    let mut conn = PgConnection::connect(admin_url).await?;
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await?
        .is_some();
    if !exists {
        // The name is checked by with_database: [a-z0-9_] only.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(url)
}

/// Drops database `name` (closing its connections) and creates it again.
pub async fn recreate(admin_url: &str, name: &str) -> Result<String> {
    with_database(admin_url, name)?;
    let mut conn = PgConnection::connect(admin_url).await?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    ensure(admin_url, name).await
}

/// Whether the index in `pool` belongs to the chain whose masterchain block hashes
/// `chain_hash(seqno)` gives: true when nothing was indexed yet, or the checkpoint's block is
/// the chain's block at that seqno.
pub async fn same_chain(
    pool: &sqlx::PgPool,
    chain_hash: impl Fn(u32) -> Option<[u8; 32]>,
) -> Result<bool> {
    let row = sqlx::query(
        "SELECT c.mc_seqno, b.root_hash FROM checkpoint c \
         LEFT JOIN blocks b ON b.workchain = -1 AND b.seqno = c.mc_seqno",
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(true);
    };
    let seqno: i64 = row.try_get("mc_seqno")?;
    let hash: Option<Vec<u8>> = row.try_get("root_hash")?;
    let Ok(seqno) = u32::try_from(seqno) else {
        return Ok(false);
    };
    Ok(match (hash, chain_hash(seqno)) {
        (Some(indexed), Some(chain)) => indexed.as_slice() == chain.as_slice(),
        _ => false,
    })
}
