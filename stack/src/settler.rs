//! The settler as `make up` runs it: the real `settler` binary (labelmint-settler) as its own
//! process, configured like an operator would configure it against any network: the devnet's
//! global config (liteservers), the payout signer's URL and bearer-token file, a relayer wallet
//! seed file, and the database in its environment.
//!
//! The relayer wallet pays the gas of the releases the settler carries to escrows. Its seed is
//! a THROWAWAY devnet key, created once from the OS's randomness in the settler's folder
//! ([`RELAYER_KEY_FILE`], mode 0600) and funded from the devnet's faucet; it never appears on a
//! command line or in a log. No secret is on the settler's command line: the database URL goes
//! through its environment, the token and the seed as files only their owner reads.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use labelmint_devnet::wallet::WalletV4R2;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::error::{Error, Result};
use crate::signer::{local_secret, private_dir};

/// The relayer wallet's seed file in the settler's folder: a THROWAWAY key for the local devnet
/// only (64 hex digits, 0600).
pub const RELAYER_KEY_FILE: &str = "throwaway-devnet-relayer.key";
/// The settler's log (its stderr and stdout, appended) in the settler's folder.
pub const LOG_FILE: &str = "settler.log";
/// How long the settler may take to migrate and take the leader lock.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

fn settler_err(reason: impl Into<String>) -> Error {
    Error::Settler {
        reason: reason.into(),
    }
}

/// The relayer wallet of the settler folder `dir`: its seed file (created on first use) and
/// the v4r2 wallet it opens.
pub fn relayer_wallet(dir: &Path) -> Result<(PathBuf, WalletV4R2)> {
    private_dir(dir)?;
    let path = local_secret(dir, RELAYER_KEY_FILE)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| settler_err(format!("reading {}: {e}", path.display())))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed).map_err(|_| {
        settler_err(format!(
            "{} must hold 64 hex digits (an ed25519 seed); remove it to get a new one",
            path.display()
        ))
    })?;
    Ok((path, WalletV4R2::from_seed(seed)))
}

/// How to start the settler.
#[derive(Debug, Clone)]
pub struct SettlerOptions {
    /// The `settler` binary.
    pub bin: PathBuf,
    /// Its folder: the relayer seed file, the log.
    pub dir: PathBuf,
    /// The ledger's and the index's database (passed in the environment only).
    pub database_url: String,
    /// The liteservers' global config file.
    pub global_config: PathBuf,
    /// The payout signer's URL.
    pub signer_url: String,
    /// The signer's bearer-token file.
    pub signer_token_file: PathBuf,
    /// Where its `/metrics` listen (port 0: a free port is picked).
    pub metrics_addr: SocketAddr,
    /// Time between settlement passes.
    pub interval: Duration,
    /// A release's validity after chain time, seconds (also how long a landed release holds
    /// the next one back: the signer counts it live until then).
    pub release_ttl: u32,
}

/// A running `settler`, killed when dropped.
#[derive(Debug)]
pub struct SettlerProcess {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// Where its `/metrics` are served.
    pub metrics_addr: SocketAddr,
    /// Its log file.
    pub log_file: PathBuf,
    /// The relayer seed file it reads.
    pub relayer_key_file: PathBuf,
    /// The fencing token of its leadership term.
    pub token: i64,
}

/// A free port on 127.0.0.1 (bound, then released for the child to take).
fn free_port() -> Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| settler_err(format!("picking a port for its metrics: {e}")))
}

/// The last `n` lines of `path` (for error messages).
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl SettlerProcess {
    /// Starts `settler` with `opts` and waits until it leads (it migrated the database, took
    /// the leader lock and got its fencing token), reading `settler_leader` through `pool`.
    pub async fn start(opts: &SettlerOptions, pool: &PgPool) -> Result<SettlerProcess> {
        private_dir(&opts.dir)?;
        let (relayer_key_file, _) = relayer_wallet(&opts.dir)?;
        let log_file = opts.dir.join(LOG_FILE);
        let log = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&log_file)
                .map_err(|e| settler_err(format!("opening {}: {e}", log_file.display())))?
        };
        let log_err = log
            .try_clone()
            .map_err(|e| settler_err(format!("{}: {e}", log_file.display())))?;
        let metrics_addr = if opts.metrics_addr.port() == 0 {
            SocketAddr::new(opts.metrics_addr.ip(), free_port()?)
        } else {
            opts.metrics_addr
        };
        // Secrets never go on the command line (ps and /proc/<pid>/cmdline show it to every
        // user): the database URL through the environment, the token and the relayer seed as
        // owner-only files. Variables that would override the files are removed.
        let mut child = Command::new(&opts.bin)
            .env("DATABASE_URL", &opts.database_url)
            .env_remove("LABELMINT_DATABASE_URL_FILE")
            .env_remove("LABELMINT_RELAYER_KEY")
            // A log file, not a terminal: no colour codes.
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                std::env::var("LABELMINT_SETTLER_LOG")
                    .unwrap_or_else(|_| "info,ton_liteapi=warn,sqlx=warn".into()),
            )
            .arg("--global-config")
            .arg(&opts.global_config)
            .arg("--signer-url")
            .arg(&opts.signer_url)
            .arg("--signer-token-file")
            .arg(&opts.signer_token_file)
            .arg("--relayer-key-file")
            .arg(&relayer_key_file)
            .arg("--metrics")
            .arg(metrics_addr.to_string())
            .arg("--interval-ms")
            .arg(opts.interval.as_millis().to_string())
            .arg("--release-ttl")
            .arg(opts.release_ttl.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| settler_err(format!("starting {}: {e}", opts.bin.display())))?;
        let pid = child
            .id()
            .ok_or_else(|| settler_err("the settler exited at once"))?;
        let holder = format!("settler pid {pid}");
        let started = Instant::now();
        let token = loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(settler_err(format!(
                    "the settler exited ({status}); the end of {}:\n{}",
                    log_file.display(),
                    log_tail(&log_file, 5)
                )));
            }
            if let Some((who, token)) = leader(pool).await? {
                if who == holder {
                    break token;
                }
                if started.elapsed() > Duration::from_secs(20) {
                    let _ = child.start_kill();
                    return Err(settler_err(format!(
                        "the settler stands by: \"{who}\" holds the leader lock (another make \
                         up or settler on this database?); stop it and start again"
                    )));
                }
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.start_kill();
                return Err(settler_err(format!(
                    "not leading after {START_TIMEOUT:?}; the end of {}:\n{}",
                    log_file.display(),
                    log_tail(&log_file, 5)
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        Ok(SettlerProcess {
            child,
            pid,
            metrics_addr,
            log_file,
            relayer_key_file,
            token,
        })
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its `/metrics`, parsed ([`SettlerFigures`]).
    pub async fn figures(&self) -> Result<SettlerFigures> {
        let text = http_get(self.metrics_addr, "/metrics").await?;
        Ok(SettlerFigures::parse(&text))
    }
}

/// Who holds the settler's leadership (`settler_leader`), once the settler migrated.
async fn leader(pool: &PgPool) -> Result<Option<(String, i64)>> {
    let migrated: bool = sqlx::query_scalar("SELECT to_regclass('settler_leader') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !migrated {
        return Ok(None);
    }
    Ok(
        sqlx::query_as("SELECT holder, token FROM settler_leader WHERE singleton")
            .fetch_optional(pool)
            .await?,
    )
}

/// A plain HTTP/1.0 GET on 127.0.0.1 (the settler's metrics; no TLS, no redirects): the body.
async fn http_get(addr: SocketAddr, path: &str) -> Result<String> {
    let fetch = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf).to_string())
    };
    let text = tokio::time::timeout(Duration::from_secs(3), fetch)
        .await
        .map_err(|_| settler_err(format!("GET http://{addr}{path}: timed out")))?
        .map_err(|e| settler_err(format!("GET http://{addr}{path}: {e}")))?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| settler_err(format!("GET http://{addr}{path}: no HTTP answer")))?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(settler_err(format!(
            "GET http://{addr}{path}: {}",
            head.lines().next().unwrap_or("")
        )));
    }
    Ok(body.to_string())
}

/// The settler's own figures, from its `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettlerFigures {
    /// Whether it leads.
    pub leader: bool,
    /// Settlement passes, and how many ended with an error.
    pub passes: u64,
    /// Passes that ended with an error.
    pub pass_errors: u64,
    /// Batches formed.
    pub batches_formed: u64,
    /// Batch externals sent (resends included).
    pub batches_sent: u64,
    /// Batches expired in chain time.
    pub batches_expired: u64,
    /// Releases carried by the relayer (resends included).
    pub releases_sent: u64,
    /// Contracts whose float is low: (kind, contract).
    pub float_low: Vec<(String, String)>,
}

impl SettlerFigures {
    /// Reads the Prometheus text the settler serves (unknown series are ignored).
    pub fn parse(text: &str) -> SettlerFigures {
        let mut f = SettlerFigures::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let n = value.trim().parse::<u64>().unwrap_or(0);
            match series {
                "labelmint_settler_leader" => f.leader = n == 1,
                "labelmint_settler_passes_total" => f.passes = n,
                "labelmint_settler_pass_errors_total" => f.pass_errors = n,
                "labelmint_settler_batches_formed_total" => f.batches_formed = n,
                "labelmint_settler_batches_sent_total" => f.batches_sent = n,
                "labelmint_settler_batches_expired_total" => f.batches_expired = n,
                "labelmint_settler_releases_sent_total" => f.releases_sent = n,
                s if s.starts_with("labelmint_settler_float_low{") && n == 1 => {
                    let label = |name: &str| {
                        s.split(&format!("{name}=\""))
                            .nth(1)
                            .and_then(|r| r.split('"').next())
                            .unwrap_or("")
                            .to_string()
                    };
                    f.float_low.push((label("kind"), label("contract")));
                }
                _ => {}
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_settlers_metrics() {
        let text = "# HELP labelmint_settler_passes_total Settlement passes.\n\
                    labelmint_settler_passes_total 12\n\
                    labelmint_settler_pass_errors_total 1\n\
                    labelmint_settler_batches_sent_total 3\n\
                    labelmint_settler_releases_sent_total 2\n\
                    labelmint_settler_leader 1\n\
                    labelmint_settler_float_low{contract=\"0:ab\",kind=\"vault\",currency=\"TON\"} 1\n\
                    labelmint_settler_float_low{contract=\"0:cd\",kind=\"escrow\",currency=\"TON\"} 0\n";
        let f = SettlerFigures::parse(text);
        assert!(f.leader);
        assert_eq!((f.passes, f.pass_errors), (12, 1));
        assert_eq!((f.batches_sent, f.releases_sent), (3, 2));
        assert_eq!(f.float_low, vec![("vault".to_string(), "0:ab".to_string())]);
    }
}
