//! Starting the service: pool, migrations, the single-instance lock, the startup checks, the
//! listener. [`spawn`] returns a [`Handle`]; tests start signers in-process on port 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::audit::Record;
use crate::config::{Config, Limits, Listen};
use crate::error::{Error, Result};
use crate::http::{AppState, router};
use crate::key::KeyBackend;
use crate::ledger::LedgerView;
use crate::lock::InstanceLock;
use crate::signer::Signer;
use crate::store;

/// A running signer.
#[derive(Debug)]
pub struct Handle {
    /// The TCP address it listens on (None for a unix socket).
    pub addr: Option<SocketAddr>,
    /// The unix socket it listens on.
    pub unix: Option<PathBuf>,
    /// The signer.
    pub signer: Arc<Signer>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Handle {
    /// `http://<addr>` for TCP listeners.
    pub fn url(&self) -> Option<String> {
        self.addr.map(|a| format!("http://{a}"))
    }

    /// Stops accepting, finishes in-flight requests, releases the lock.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task)
            .await
            .map_err(|e| Error::Config(format!("server task: {e}")))??;
        Ok(())
    }

    /// Waits until the server stops on its own (an accept error).
    pub async fn wait(mut self) -> Result<()> {
        (&mut self.task)
            .await
            .map_err(|e| Error::Config(format!("server task: {e}")))??;
        Ok(())
    }
}

/// Refuses caps that are not tighter than a registered vault's on-chain window limit.
pub fn check_caps_against_vaults(
    limits: &Limits,
    vaults: &[(String, String, Option<u128>)],
) -> Result<()> {
    for (address, currency, limit) in vaults {
        let Some(limit) = limit else { continue };
        let Some(caps) = limits.caps.get(currency) else {
            continue;
        };
        if caps.day >= *limit || caps.hour >= *limit {
            return Err(Error::Config(format!(
                "the {currency} caps (hour {}, day {}) must be below the on-chain window limit {limit} of vault {address}",
                caps.hour, caps.day
            )));
        }
    }
    Ok(())
}

/// Starts a signer: migrations, the instance lock (refused when another signer holds it), the
/// caps check, then the listener.
pub async fn spawn(
    config: Config,
    key: Arc<dyn KeyBackend>,
    ledger: Arc<dyn LedgerView>,
) -> Result<Handle> {
    let pool = store::connect(&config.database_url, config.max_connections).await?;
    store::migrate(&pool).await?;
    let lock = InstanceLock::acquire(&config.database_url).await?;
    check_caps_against_vaults(&config.limits, &store::vaults(&pool).await?)?;
    let signer = Arc::new(Signer::new(
        pool,
        key,
        ledger,
        config.limits.clone(),
        lock,
        config.test_pause_after_journal,
    ));
    let mut start = Record::new(store::now(), "start", "done");
    start.detail = Some(format!(
        "public key {} ({} backend)",
        hex::encode(signer.public_key()),
        signer.backend_kind()
    ));
    signer.audit(&start).await?;
    let app = router(AppState {
        signer: signer.clone(),
        token: Arc::new(config.token.clone()),
        global_id: config.global_id,
    });
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = rx.await;
    };
    match &config.listen {
        Listen::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let local = listener.local_addr()?;
            let task = tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            });
            Ok(Handle {
                addr: Some(local),
                unix: None,
                signer,
                shutdown: Some(tx),
                task,
            })
        }
        Listen::Unix(path) => {
            if path.exists() {
                std::fs::remove_file(path)?;
            }
            let listener = tokio::net::UnixListener::bind(path)?;
            let task = tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
            });
            Ok(Handle {
                addr: None,
                unix: Some(path.clone()),
                signer,
                shutdown: Some(tx),
                task,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TON;

    #[test]
    fn caps_must_be_below_a_vaults_onchain_limit() {
        let limits = Limits::default(); // TON day cap 100,000 TON
        let vault = |limit: Option<u128>| vec![("0:aa".to_string(), "TON".to_string(), limit)];
        assert!(check_caps_against_vaults(&limits, &vault(None)).is_ok());
        assert!(check_caps_against_vaults(&limits, &vault(Some(1_000_000 * TON))).is_ok());
        assert!(check_caps_against_vaults(&limits, &vault(Some(100_000 * TON))).is_err());
        assert!(check_caps_against_vaults(&limits, &vault(Some(50_000 * TON))).is_err());
    }
}
