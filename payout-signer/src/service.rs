//! Starting the service: pool, migrations, the single-instance lock, the startup checks, the
//! listener. [`spawn`] returns a [`Handle`]; tests start signers in-process on port 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::serve::Listener;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinHandle;

use crate::audit::Record;
use crate::config::{Config, HttpLimits, Limits, Listen};
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

/// Starts a signer: migrations (with the login's rights, if `config.migrate`), the signing pool
/// under the signer's database role (refused if that role may write the ledger's earnings),
/// the instance lock (refused when another signer holds it), the caps check, then the
/// listener.
pub async fn spawn(
    config: Config,
    key: Arc<dyn KeyBackend>,
    ledger: Arc<dyn LedgerView>,
) -> Result<Handle> {
    if config.migrate {
        // With the login's own rights: the signer's role may not run DDL.
        let owner = store::connect(&config.database_url, 1).await?;
        store::migrate(&owner).await?;
        owner.close().await;
    }
    let role = config.db_role.as_deref();
    let pool = store::connect_as(&config.database_url, config.max_connections, role).await?;
    let (current, writes_ledger) = store::current_role(&pool).await?;
    if role.is_some() && writes_ledger {
        return Err(Error::Config(format!(
            "the signer's database role {current} may INSERT or UPDATE ledger_earnings: it must only read the ledger (see the README, \"Database role\")"
        )));
    }
    tracing::info!(role = %current, "signing connections run as this database role");
    let lock = InstanceLock::acquire(&config.database_url, role).await?;
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
        http: config.http,
        global_id: config.global_id,
    });
    let (tx, rx) = oneshot::channel::<()>();
    let http = config.http;
    match &config.listen {
        Listen::Tcp(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            let local = listener.local_addr()?;
            let task = tokio::spawn(serve(listener, app, http, rx));
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
            let task = tokio::spawn(serve(listener, app, http, rx));
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

/// The accept loop: each connection is served by hyper's HTTP/1 connection with a header-read
/// timeout (which hyper also runs while a kept-alive connection waits for its next request:
/// the idle timeout), at most `max_connections` at once (more wait to be accepted). On
/// shutdown it stops accepting, lets each connection finish its request in flight, and returns
/// when all are closed.
async fn serve<L: Listener>(
    mut listener: L,
    app: axum::Router,
    http: HttpLimits,
    shutdown: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(http.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        // A free slot first: beyond the limit, new connections wait in the listen backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (io, _addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(http.header_read_timeout)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(io), service);
            tokio::pin!(conn);
            let outcome = tokio::select! {
                outcome = conn.as_mut() => outcome,
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = outcome {
                tracing::debug!(error = %e, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it is closed.
    let _ = slots
        .acquire_many(u32::try_from(http.max_connections.max(1)).unwrap_or(u32::MAX))
        .await;
    Ok(())
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
