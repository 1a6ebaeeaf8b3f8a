//! The stack's own database on the private cluster (created when missing, from an admin
//! connection to another database of the cluster), and the check that it indexed the chain the
//! stack runs beside.

use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection, Row};

use crate::error::{Error, Result};

/// The database `make up` writes (the indexer, the ledger, the signer and the settler share
/// it): what `./scripts/pg.sh url` prints and the `labelmint` CLI reads by default.
pub const DEFAULT_DATABASE: &str = "labelmint_up";

/// The URL of [`DEFAULT_DATABASE`] on the private cluster of `scripts/pg.sh` (its fixed local
/// password, 127.0.0.1 only: not a secret).
pub const DEFAULT_DATABASE_URL: &str =
    "postgres://labelmint:labelmint@127.0.0.1:54329/labelmint_up";

/// The database every Postgres cluster has, used to create and drop the stack's database when
/// no admin URL is given.
pub const MAINTENANCE_DATABASE: &str = "postgres";

fn bad(url: &str, reason: &str) -> Error {
    Error::DatabaseUrl {
        url: redact(url),
        reason: reason.to_string(),
    }
}

/// `url` with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> Result<String> {
    if !valid_name(name) {
        return Err(bad(url, "database names are [a-z0-9_]"));
    }
    let opts: PgConnectOptions = url.parse().map_err(|_| bad(url, "not a postgres:// URL"))?;
    Ok(opts.database(name).to_url_lossy().to_string())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The database `url` names (`[a-z0-9_]` only: it goes into CREATE/DROP DATABASE).
pub fn database_name(url: &str) -> Result<String> {
    let opts: PgConnectOptions = url.parse().map_err(|_| bad(url, "not a postgres:// URL"))?;
    let name = opts
        .get_database()
        .ok_or_else(|| bad(url, "the URL names no database"))?;
    if !valid_name(name) {
        return Err(bad(url, "database names are [a-z0-9_]"));
    }
    Ok(name.to_string())
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

/// Checks that `admin_url` can create and drop the database of `database_url` (another
/// database on the same cluster); returns that database's name.
fn admin_for(admin_url: &str, database_url: &str) -> Result<String> {
    let name = database_name(database_url)?;
    let admin: PgConnectOptions = admin_url
        .parse()
        .map_err(|_| bad(admin_url, "not a postgres:// URL"))?;
    if admin.get_database() == Some(name.as_str()) {
        return Err(bad(
            admin_url,
            "the admin URL must name another database of the cluster (the stack drops and \
             creates its own database from there), e.g. postgres",
        ));
    }
    Ok(name)
}

/// Creates the database of `database_url` from `admin_url` (same cluster) unless it exists.
pub async fn ensure(admin_url: &str, database_url: &str) -> Result<()> {
    let name = admin_for(admin_url, database_url)?;
    let mut conn = PgConnection::connect(admin_url).await?;
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await?
        .is_some();
    if !exists {
        // The name is checked by admin_for: [a-z0-9_] only.
        let created = sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await;
        // Another process may have created it meanwhile (duplicate_database): fine.
        if let Err(e) = created {
            let duplicate = e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "42P04");
            if !duplicate {
                return Err(e.into());
            }
        }
    }
    conn.close().await?;
    Ok(())
}

/// Drops the database of `database_url` (closing its connections) and creates it again, from
/// `admin_url`.
pub async fn recreate(admin_url: &str, database_url: &str) -> Result<()> {
    let name = admin_for(admin_url, database_url)?;
    let mut conn = PgConnection::connect(admin_url).await?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    ensure(admin_url, database_url).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_redaction() {
        assert_eq!(
            database_name(DEFAULT_DATABASE_URL).unwrap(),
            DEFAULT_DATABASE
        );
        assert_eq!(
            redact(DEFAULT_DATABASE_URL),
            "postgres://labelmint@127.0.0.1:54329/labelmint_up"
        );
        assert!(database_name("postgres://u:p@h:1/Bad-Name").is_err());
        assert!(database_name("not a url").is_err());
        let admin = with_database(DEFAULT_DATABASE_URL, MAINTENANCE_DATABASE).unwrap();
        assert_eq!(database_name(&admin).unwrap(), "postgres");
        assert_eq!(
            admin_for(&admin, DEFAULT_DATABASE_URL).unwrap(),
            "labelmint_up"
        );
        // Dropping the database one is connected to cannot work: refused up front.
        assert!(admin_for(DEFAULT_DATABASE_URL, DEFAULT_DATABASE_URL).is_err());
    }
}
