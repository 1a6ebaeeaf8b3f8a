//! The payout signer as `make up` runs it: a separate `payout-signer` process with a file key
//! created on first run, and the [`Authorizer`] that asks it (through the ledger) to sign the
//! scenario's release and payout batch.
//!
//! The local secrets (bearer token, key passphrase) are created once in the signer's folder
//! (`.data/signer`, mode 0600) from the OS's randomness; they protect a local devnet key only.
//! No secret is on the signer's command line: the database URL (with its password) goes
//! through the child's environment, the token and passphrase as those files.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use labelmint_abi::Layout;
use labelmint_abi::escrow::{EscrowRelease, ReleaseRequest};
use labelmint_abi::vault::VaultBatch;
use labelmint_devnet::scenario::{Authorizer, Plan};
use labelmint_ledger::{Batch, BatchItem, BatchRequest, CurrencyCode, Ledger};
use labelmint_payout_signer::client::{Refusal, SignerClient};
use labelmint_payout_signer::config::Token;
use labelmint_payout_signer::wire::{BatchBody, ItemBody, ReleaseBody, Signed};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tycho_types::boc::Boc;
use tycho_types::cell::Cell;
use tycho_types::models::StdAddr;

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
}

/// A secret file in `dir`: read when it exists, else created (0600) with 32 random bytes in
/// hex.
fn local_secret(dir: &Path, name: &str) -> Result<PathBuf> {
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
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| signer_err(&format!("creating {}", dir.display()), e))?;
        }
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

fn refusal(what: &str, r: &Refusal) -> Error {
    Error::Signer {
        reason: format!(
            "{what} refused: HTTP {} {}{}: {}",
            r.status,
            r.body.error,
            r.body
                .rule
                .as_ref()
                .map(|rule| format!(" (rule {rule})"))
                .unwrap_or_default(),
            r.body.message
        ),
    }
}

fn cell_of(signed: &Signed) -> Result<Cell> {
    Boc::decode_base64(&signed.boc).map_err(|e| signer_err("signed BOC", e))
}

/// Signs through the signer service: the release as asked (the signer checks it against the
/// ledger's releasable amount), the batch as the ledger forms it from approved earnings.
#[derive(Debug)]
pub struct SignerAuthorizer<'a> {
    client: SignerClient,
    public_key: [u8; 32],
    ledger: &'a Ledger,
    vault_timeout: u32,
    /// The batch the ledger formed and the signer signed.
    pub batch: Option<(Batch, Vec<BatchItem>)>,
    /// What the signer answered, in order.
    pub signed: Vec<Signed>,
}

impl<'a> SignerAuthorizer<'a> {
    /// An authorizer over `signer`, forming batches in `ledger` for a vault with replay
    /// timeout `vault_timeout`.
    pub fn new(signer: &SignerProcess, ledger: &'a Ledger, vault_timeout: u32) -> Self {
        Self {
            client: signer.client.clone(),
            public_key: signer.public_key,
            ledger,
            vault_timeout,
            batch: None,
            signed: Vec::new(),
        }
    }
}

impl Authorizer for SignerAuthorizer<'_> {
    fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    fn describe(&self) -> String {
        "the payout-signer service; its file key was created on first run".to_string()
    }

    async fn release(
        &mut self,
        _plan: &Plan,
        request: ReleaseRequest,
    ) -> labelmint_devnet::Result<Cell> {
        let body = ReleaseBody {
            escrow: request.escrow.to_string(),
            seqno: request.seqno,
            valid_until: request.valid_until,
            amount: request.amount.to_string(),
        };
        let signed = self
            .client
            .release(&body)
            .await
            .map_err(|e| signer_err("POST /v1/escrow/release", e))
            .and_then(|r| r.map_err(|r| refusal("the release", &r)))
            .map_err(to_devnet)?;
        let cell = cell_of(&signed).map_err(to_devnet)?;
        // The signer binds the request to its configured network: it must be this chain's.
        let signed_for = EscrowRelease::parse(&cell)
            .map_err(|e| signer_err("the signed release", e))
            .map_err(to_devnet)?
            .request
            .global_id;
        if signed_for != request.global_id {
            return Err(to_devnet(signer_err(
                "the signed release",
                format!(
                    "signed for global id {signed_for}, the chain's is {}",
                    request.global_id
                ),
            )));
        }
        self.signed.push(signed);
        Ok(cell)
    }

    async fn batch(
        &mut self,
        plan: &Plan,
        created_at: u32,
        payouts: &[(StdAddr, u128)],
    ) -> labelmint_devnet::Result<Cell> {
        self.sign_batch(plan, created_at, payouts)
            .await
            .map_err(to_devnet)
    }
}

impl SignerAuthorizer<'_> {
    async fn sign_batch(
        &mut self,
        plan: &Plan,
        created_at: u32,
        payouts: &[(StdAddr, u128)],
    ) -> Result<Cell> {
        // What the vault was funded with for this run: the batch takes the oldest approved
        // earnings up to that.
        let max_total: u128 = payouts.iter().map(|(_, a)| a).sum();
        let batch = self
            .ledger
            .form_batch(&BatchRequest {
                currency: CurrencyCode::ton(),
                max_items: 250,
                max_total,
                query_id: u64::from(plan.run_id),
                created_at,
                // The last second the vault still accepts it (the ledger checks the same).
                valid_until: created_at
                    .saturating_add(self.vault_timeout)
                    .saturating_sub(1),
            })
            .await?
            .ok_or_else(|| signer_err("ledger", "no approved TON earnings to pay"))?;
        let items = self.ledger.batch_items(batch.id).await?;
        let body = BatchBody {
            vault: batch.vault.to_string(),
            query_id: batch.query_id.to_string(),
            created_at: batch.created_at,
            attach: "0".into(),
            forward_ton: "0".into(),
            items: items
                .iter()
                .map(|i| ItemBody {
                    item_id: i.item_id.get().to_string(),
                    dest: i.payout_address.to_string(),
                    amount: i.amount.to_string(),
                    bounceable: false,
                })
                .collect(),
        };
        let signed = self
            .client
            .batch(&body)
            .await
            .map_err(|e| signer_err("POST /v1/vault/batch", e))?
            .map_err(|r| refusal("the batch", &r))?;
        let cell = cell_of(&signed)?;
        // The signer binds the batch to its configured network: it must be this chain's.
        let signed_for = cell
            .reference_cloned(0)
            .ok_or_else(|| signer_err("the signed batch", "the external message has no body"))
            .and_then(|body| {
                VaultBatch::parse(&body).map_err(|e| signer_err("the signed batch", e))
            })?
            .request
            .global_id;
        if signed_for != plan.global_id {
            return Err(signer_err(
                "the signed batch",
                format!(
                    "signed for global id {signed_for}, the chain's is {}",
                    plan.global_id
                ),
            ));
        }
        let mut signing_hash = [0u8; 32];
        hex::decode_to_slice(&signed.signing_hash, &mut signing_hash)
            .map_err(|e| signer_err("signing_hash", e))?;
        // Applied, or already applied with the same evidence: both are fine here.
        let _ = self.ledger.mark_signed(batch.id, signing_hash).await?;
        // Handed to the liteserver right after this returns; if that fails the batch expires
        // in chain time and its earnings are approved again.
        let _ = self.ledger.mark_sent(batch.id, cell.repr_hash().0).await?;
        self.signed.push(signed);
        self.batch = Some((batch, items));
        Ok(cell)
    }
}

fn to_devnet(e: Error) -> labelmint_devnet::Error {
    labelmint_devnet::Error::Authorizer {
        reason: e.to_string(),
    }
}
