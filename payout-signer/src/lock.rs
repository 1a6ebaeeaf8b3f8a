//! One signer at a time: a session-level Postgres advisory lock, held on a dedicated
//! connection for the process's lifetime, plus a fencing token.
//!
//! `acquire` takes `pg_try_advisory_lock(SIGNER_LOCK_KEY)` (a second instance gets
//! [`Error::LockHeld`] and exits non-zero), then writes a fresh random holder token into
//! `signer_state`. Every signing transaction checks in `pg_locks` that our lock connection still holds the lock,
//! and reads that row `FOR SHARE` and refuses unless the token is its own: if our lock connection died and another instance took over, it rewrote the
//! token (its UPDATE waits for our in-flight transactions), so we can no longer commit a
//! signature. A watchdog pings the lock connection; when it fails, signing stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::{Connection, PgConnection};

use crate::error::{Error, Result};
use crate::store::{connect_options_as, now};

/// The advisory lock key (`'LMSG'`).
pub const SIGNER_LOCK_KEY: i64 = 0x4C4D_5347;

/// The held lock. Dropping it stops the watchdog and closes the connection (releasing the lock).
#[derive(Debug)]
pub struct InstanceLock {
    holder: String,
    pid: i32,
    lost: Arc<AtomicBool>,
    watchdog: tokio::task::JoinHandle<()>,
}

impl InstanceLock {
    /// Takes the lock or fails with [`Error::LockHeld`]; the lock connection runs as `role`.
    pub async fn acquire(url: &str, role: Option<&str>) -> Result<Self> {
        let mut conn = PgConnection::connect_with(&connect_options_as(url, role)?).await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(SIGNER_LOCK_KEY)
            .fetch_one(&mut conn)
            .await?;
        if !got {
            let _ = conn.close().await;
            return Err(Error::LockHeld {
                key: SIGNER_LOCK_KEY,
            });
        }
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut conn)
            .await?;
        let holder = hex::encode(rand::random::<[u8; 16]>());
        sqlx::query("UPDATE signer_state SET holder = $1, holder_since = $2 WHERE id = 1")
            .bind(&holder)
            .bind(now() as i64)
            .execute(&mut conn)
            .await?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        let watchdog = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let ok = sqlx::query_scalar::<_, bool>(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                     AND pid = pg_backend_pid() AND granted \
                     AND ((classid::BIGINT << 32) | objid::BIGINT) = $1)",
                )
                .bind(SIGNER_LOCK_KEY)
                .fetch_one(&mut conn)
                .await;
                if !matches!(ok, Ok(true)) {
                    tracing::error!(?ok, "lost the signer lock connection: signing stops");
                    flag.store(true, Ordering::SeqCst);
                    return;
                }
            }
        });
        Ok(Self {
            holder,
            pid,
            lost,
            watchdog,
        })
    }

    /// The fencing token this instance wrote.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The backend pid of the lock connection (signing transactions check it still holds the
    /// lock).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// False once the lock connection failed.
    pub fn held(&self) -> bool {
        !self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        self.watchdog.abort();
    }
}
