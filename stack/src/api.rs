//! The status API in `make up`: `labelmint-api` served in this process on the stack's
//! database (it applies its own migrations: the read role, the auth tables), answering
//! ton_proof logins for the local pages' domains and reading wallet keys through the devnet's
//! liteserver; and a read-only API key for the curl lines it prints.
//!
//! The key's secret goes into a 0600 file in the API's folder and is never printed: the curl
//! lines read it with `$(cat <file>)`. Each run revokes the key of the run before (its id is
//! the file's `lmk_<key_id>_` prefix) and makes a new one, so a copied file stops working.

use std::io::Write as _;
use std::net::{SocketAddr, SocketAddrV4};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use labelmint_api::auth::keys::{self, Scope};
use labelmint_api::config::Network;
use labelmint_indexer::lite::LiteServer;
use sqlx::PgPool;

use crate::error::{Error, Result};

/// The read key's file in the API's folder.
pub const READ_KEY_FILE: &str = "read.key";

fn api_err(reason: impl std::fmt::Display) -> Error {
    Error::Api {
        reason: reason.to_string(),
    }
}

/// The API as `make up` runs it.
#[derive(Debug)]
pub struct ApiService {
    /// The server (stops when dropped with the process).
    pub handle: labelmint_api::Handle,
    /// `http://<addr>`.
    pub base: String,
    /// The read key's file (0600): `curl -H "Authorization: Bearer $(cat <file>)"`.
    pub key_file: PathBuf,
}

/// Serves the API on `listen` over `database_url`, and makes this run's read key in `dir`.
/// `writes`: what `POST /v1/projects` makes escrows with (the stack's signer key, treasury
/// and fee), `None` to leave project creation off.
pub async fn start(
    database_url: &str,
    listen: SocketAddr,
    devnet: (SocketAddrV4, [u8; 32]),
    dir: &Path,
    pool: &PgPool,
    writes: Option<labelmint_api::config::WriteConfig>,
) -> Result<ApiService> {
    let mut config = labelmint_api::Config::test(database_url);
    config.listen = listen;
    config.network = Network::Devnet;
    config.writes = writes;
    config.liteservers = vec![LiteServer {
        addr: SocketAddr::V4(devnet.0),
        public_key: devnet.1,
    }];
    config.proof = labelmint_api::auth::ProofConfig::new(
        vec![
            format!("127.0.0.1:{}", listen.port()),
            format!("localhost:{}", listen.port()),
        ],
        Network::Devnet.global_id(),
    );
    let handle = labelmint_api::spawn(config)
        .await
        .map_err(|e| api_err(format!("starting on {listen}: {e}")))?;
    let base = format!("http://{}", handle.addr());
    let key_file = read_key(dir, pool).await?;
    Ok(ApiService {
        handle,
        base,
        key_file,
    })
}

/// Revokes the last run's read key (when its file is there and the key is in this database)
/// and writes a new one to `dir/read.key` (0600).
async fn read_key(dir: &Path, pool: &PgPool) -> Result<PathBuf> {
    crate::signer::private_dir(dir)?;
    let path = dir.join(READ_KEY_FILE);
    if let Ok(old) = std::fs::read_to_string(&path)
        && let Some(key_id) = old
            .trim()
            .strip_prefix("lmk_")
            .and_then(|rest| rest.split('_').next())
    {
        // Gone with a re-created database, or revoked already: nothing to do.
        let _ = keys::revoke(pool, key_id).await;
    }
    let issued = keys::create(pool, Scope::Read, None, "make up: the printed curl lines")
        .await
        .map_err(|e| api_err(format!("making the read key: {e}")))?;
    let tmp = dir.join(format!("{READ_KEY_FILE}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| api_err(format!("creating {}: {e}", tmp.display())))?;
    f.write_all(issued.key.expose().as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| api_err(format!("writing {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path)
        .map_err(|e| api_err(format!("renaming {}: {e}", tmp.display())))?;
    Ok(path)
}

/// The lines `make up` prints: the URLs and curl commands that work as printed (run from the
/// repository's root, where the key file's relative path points).
pub fn intro(api: &ApiService, project_id: u64, tx_hash: Option<&str>) -> Vec<String> {
    let key = api.key_file.display();
    let curl = |path: &str| {
        format!(
            "  curl -s -H \"Authorization: Bearer $(cat {key})\" {}{path}",
            api.base
        )
    };
    let mut lines = vec![
        format!(
            "api          {} (status API), Swagger UI {}/docs, OpenAPI {}/openapi.json, metrics {}/metrics",
            api.base, api.base, api.base, api.base
        ),
        format!("             read key in {key} (0600; a new one each run, the old one revoked)"),
        "  try:".to_owned(),
        curl(&format!("/v1/projects/{project_id}")),
        curl("/v1/vaults"),
        curl("/v1/payouts/batches?limit=5"),
        curl("/v1/indexer/status"),
    ];
    if let Some(h) = tx_hash {
        lines.push(curl(&format!("/v1/transactions/{h}")));
    }
    lines
}
