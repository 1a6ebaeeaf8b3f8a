//! One active settler: a Postgres advisory lock held on a dedicated connection, plus a fencing
//! token (`settler_leader.token`) incremented on every takeover and checked by a trigger in
//! every write transaction of the leader's pool (the session setting
//! `labelmint.settler_fence`).
//!
//! Why both: the lock alone cannot stop an old leader that lost its lock connection (a network
//! partition, a paused process) from committing a write it had prepared; the token can, since
//! the new leader increments it under `FOR SHARE` readers before it writes anything.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool};

use crate::error::{Error, Result};

/// The advisory lock key ("LMST").
pub const LEADER_LOCK_KEY: i64 = 0x4C4D_5354;

/// A held leadership: the lock connection and the fenced pool for this term.
#[derive(Debug)]
pub struct Leadership {
    lock_conn: PgConnection,
    /// This term's fencing token.
    pub token: i64,
    /// A pool whose every connection carries the token (every write is fenced).
    pub pool: PgPool,
}

impl Leadership {
    /// Whether the lock connection is still alive and the token still ours.
    pub async fn check(&mut self) -> Result<()> {
        let held: Option<i64> = tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query_scalar("SELECT token FROM settler_leader WHERE singleton")
                .fetch_optional(&mut self.lock_conn),
        )
        .await
        .map_err(|_| Error::LockLost)?
        .map_err(|_| Error::LockLost)?;
        if held != Some(self.token) {
            return Err(Error::Fenced { token: self.token });
        }
        Ok(())
    }

    /// Gives the leadership up (closes the lock connection; a standby takes over).
    pub async fn release(self) {
        self.pool.close().await;
        let _ = self.lock_conn.close().await;
    }
}

/// Tries once to become the leader: `Ok(None)` when another settler holds the lock.
pub async fn try_acquire(url: &str, holder: &str, pool_size: u32) -> Result<Option<Leadership>> {
    let opts: PgConnectOptions = url.parse()?;
    let mut conn = opts.connect().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK_KEY)
        .fetch_one(&mut conn)
        .await?;
    if !locked {
        let _ = conn.close().await;
        return Ok(None);
    }
    // The takeover: waits for the old leader's write transactions in flight (they hold the row
    // FOR SHARE), then every later write of the old leader fails its trigger.
    let token: i64 = sqlx::query_scalar(
        "UPDATE settler_leader SET token = token + 1, holder = $1, taken_at = now() \
         WHERE singleton RETURNING token",
    )
    .bind(holder)
    .fetch_one(&mut conn)
    .await?;
    let fence = token.to_string();
    let pool = PgPoolOptions::new()
        .max_connections(pool_size.max(2))
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |c, _| {
            let fence = fence.clone();
            Box::pin(async move {
                c.execute(sqlx::AssertSqlSafe(format!(
                    "SET labelmint.settler_fence = '{fence}'"
                )))
                .await?;
                Ok(())
            })
        })
        .connect_with(opts)
        .await?;
    tracing::info!(token, holder, "took the settler lead");
    Ok(Some(Leadership {
        lock_conn: conn,
        token,
        pool,
    }))
}

/// Waits until this process is the leader, polling every `poll`.
pub async fn acquire(
    url: &str,
    holder: &str,
    pool_size: u32,
    poll: Duration,
) -> Result<Leadership> {
    let mut said = false;
    loop {
        match try_acquire(url, holder, pool_size).await {
            Ok(Some(l)) => return Ok(l),
            Ok(None) => {
                if !said {
                    tracing::info!("another settler leads; standing by");
                    said = true;
                }
            }
            Err(e) => tracing::warn!(error = %e, "leader lock: trying again"),
        }
        tokio::time::sleep(poll).await;
    }
}
