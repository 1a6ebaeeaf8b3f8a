//! The payout signer as `make up` runs it: a separate `payout-signer` process with a file key
//! created on first run. Only the settler asks it to sign (releases and batches); the stack
//! registers contracts with it and checks its audit chain.
//!
//! The local secrets (bearer token, key passphrase) are created once in the signer's folder
//! (`.data/signer`, mode 0600) from the OS's randomness; they protect a local devnet key only.
//! No secret is on the signer's command line: the database URL (with its password) goes
//! through the child's environment, the token and passphrase as those files.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use labelmint_payout_signer::client::SignerClient;
use labelmint_payout_signer::config::Token;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::error::{Error, Result};

/// How long the signer may take to open its key and listen.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

fn signer_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Signer {
        reason: format!("{what}: {e}"),
    }
}

/// A running `payout-signer serve`, killed when dropped.
#[derive(Debug)]
pub struct SignerProcess {
    child: Child,
    bin: PathBuf,
    database_url: String,
    /// Where it listens (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Its ed25519 public key (the contracts trust it).
    pub public_key: [u8; 32],
    /// A client with the bearer token.
    pub client: SignerClient,
    /// The key file.
    pub key_file: PathBuf,
    /// The bearer token file (0600): what the settler reads.
    pub token_file: PathBuf,
}

/// Creates `dir` (and its parents) as a private folder (0700) when missing.
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| signer_err(&format!("creating {}", dir.display()), e))
}

/// A secret file in `dir`: kept when it exists, else created (0600) with 32 random bytes in
/// hex (from the OS's randomness). Returns its path; the secret itself is never printed.
pub(crate) fn local_secret(dir: &Path, name: &str) -> Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name);
    if path.exists() {
        return Ok(path);
    }
    let secret: [u8; 32] = rand::random();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| signer_err(&format!("creating {}", path.display()), e))?;
    f.write_all(hex::encode(secret).as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| signer_err(&format!("writing {}", path.display()), e))?;
    Ok(path)
}

impl SignerProcess {
    /// Starts `bin serve` on `listen` with the file key `dir/signer.key` (created on first run),
    /// the ledger and journal in `database_url`, bound to the chain's `global_id` (config param
    /// 19), and waits until it listens.
    pub async fn start(
        bin: &Path,
        dir: &Path,
        database_url: &str,
        listen: SocketAddr,
        global_id: i32,
    ) -> Result<SignerProcess> {
        private_dir(dir)?;
        let token_file = local_secret(dir, "token")?;
        let passphrase_file = local_secret(dir, "passphrase")?;
        let key_file = dir.join("signer.key");
        let token = std::fs::read_to_string(&token_file)
            .map_err(|e| signer_err(&format!("reading {}", token_file.display()), e))?;
        let token = Token::new(token).map_err(|e| signer_err("token", e))?;
        // Secrets never go on the command line (ps and /proc/<pid>/cmdline show it to every
        // user): the database URL (with its password) through the child's environment, the
        // token and the key passphrase as files only their owner reads.
        let mut child = Command::new(bin)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--token-file")
            .arg(&token_file)
            .arg("--key-backend")
            .arg("file")
            .arg("--key-file")
            .arg(&key_file)
            .arg("--passphrase-file")
            .arg(&passphrase_file)
            .arg("--create-key-if-missing")
            .arg(format!("--global-id={global_id}"))
            .env_remove("LABELMINT_SIGNER_TOKEN")
            .env_remove("LABELMINT_SIGNER_PASSPHRASE")
            .env_remove("LABELMINT_DATABASE_URL_FILE")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| signer_err(&format!("starting {}", bin.display()), e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| signer_err("stdout", "not piped"))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut public_key = None;
        let mut url = None;
        let read = async {
            while let Some(line) = lines.next_line().await? {
                if let Some(k) = line.strip_prefix("public_key=") {
                    public_key = Some(k.trim().to_string());
                }
                if let Some(u) = line.strip_prefix("listening=") {
                    url = Some(u.trim().to_string());
                    break;
                }
            }
            Ok::<_, std::io::Error>(())
        };
        let outcome = tokio::time::timeout(START_TIMEOUT, read).await;
        let (Ok(Ok(())), Some(public_key), Some(url)) = (outcome, public_key, url) else {
            let _ = child.start_kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ =
                    tokio::time::timeout(Duration::from_secs(2), e.read_to_string(&mut err)).await;
            }
            return Err(signer_err(
                "payout-signer did not start",
                err.trim().lines().last().unwrap_or("no output"),
            ));
        };
        // Keep draining stdout so the signer never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let mut key = [0u8; 32];
        hex::decode_to_slice(&public_key, &mut key).map_err(|e| signer_err("public_key", e))?;
        let client = SignerClient::new(&url, token).map_err(|e| signer_err("client", e))?;
        // The process's own answer must agree with what it printed.
        let served = client
            .public_key()
            .await
            .map_err(|e| signer_err("GET /v1/pubkey", e))?;
        if served != key {
            return Err(signer_err(
                "public key",
                "GET /v1/pubkey differs from the startup line",
            ));
        }
        Ok(SignerProcess {
            child,
            bin: bin.to_path_buf(),
            database_url: database_url.to_string(),
            url,
            public_key: key,
            client,
            key_file,
            token_file,
        })
    }

    /// Runs `payout-signer <command> <args>` (the database URL in its environment) to
    /// completion; its stdout.
    pub async fn command(&self, command: &str, args: &[&str]) -> Result<String> {
        let out = Command::new(&self.bin)
            .arg(command)
            .env("DATABASE_URL", &self.database_url)
            .env_remove("LABELMINT_DATABASE_URL_FILE")
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .await
            .map_err(|e| signer_err("payout-signer", e))?;
        if !out.status.success() {
            return Err(signer_err(
                &format!("payout-signer {command} {}", args.join(" ")),
                String::from_utf8_lossy(&out.stderr).trim(),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The process id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}
