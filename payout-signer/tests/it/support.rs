//! Shared test support: one real Postgres database per test (signer + ledger tables), a real
//! ledger with approved earnings, real keys (file backend; SoftHSM2 when scripts/softhsm.sh
//! works), a signer started in-process on port 0.

use std::sync::Arc;

use labelmint_keys::{FileKey, KdfParams, KeyBackend, Passphrase};
use labelmint_ledger::{
    Currency, CurrencyCode, Ledger, NewEarning, Project, ProjectId, RawAddress, Vault,
};
use labelmint_payout_signer::client::SignerClient;
use labelmint_payout_signer::ledger::PgLedger;
use labelmint_payout_signer::store::{self, Registration};
use labelmint_payout_signer::wire::{BatchBody, ItemBody, raw_address};
use labelmint_payout_signer::{Config, Handle, HttpLimits, Limits, spawn};
use labelmint_testdb::ScratchDb;
use sqlx::PgPool;
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;
use zeroize::Zeroizing;

pub(crate) const TON: u128 = 1_000_000_000;

/// A fresh database, dropped with the value.
pub(crate) struct TestDb {
    pub(crate) url: String,
    pub(crate) pool: PgPool,
    _db: ScratchDb,
}

impl TestDb {
    pub(crate) async fn new() -> TestDb {
        let db = ScratchDb::create("labelmint_signer").await;
        TestDb {
            url: db.url.clone(),
            pool: db.pool(4).await,
            _db: db,
        }
    }
}

pub(crate) fn addr(tag: u64, salt: u8) -> StdAddr {
    let mut b = [salt; 32];
    b[..8].copy_from_slice(&tag.to_be_bytes());
    StdAddr::new(0, HashBytes(b))
}

/// A THROWAWAY file key (cheap KDF) in `dir`.
pub(crate) fn file_key(dir: &std::path::Path) -> Arc<dyn KeyBackend> {
    let pass = Passphrase::new(Zeroizing::new("THROWAWAY test passphrase".into()), "test")
        .expect("passphrase");
    Arc::new(
        FileKey::generate(
            &dir.join("signer.key"),
            &pass,
            KdfParams::insecure_for_tests(),
        )
        .expect("keygen"),
    )
}

/// A database with the ledger (TON currency, a project with its escrow, the TON vault), the
/// signer's allowlist, and a signer serving on port 0.
pub(crate) struct Env {
    pub(crate) db: TestDb,
    pub(crate) ledger: Ledger,
    pub(crate) handle: Option<Handle>,
    pub(crate) client: SignerClient,
    pub(crate) vault: StdAddr,
    pub(crate) escrow: StdAddr,
    pub(crate) project: u64,
    pub(crate) public_key: [u8; 32],
    pub(crate) _dir: tempfile::TempDir,
}

pub(crate) const VAULT_TIMEOUT: u32 = 3600;

impl Env {
    pub(crate) async fn new(limits: Limits) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = file_key(dir.path());
        Self::with_key(limits, key, dir, None).await
    }

    /// A signer with its own HTTP limits (timeouts, body caps).
    pub(crate) async fn with_http(limits: Limits, http: HttpLimits) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = file_key(dir.path());
        Self::with_key_http(limits, key, dir, None, http).await
    }

    pub(crate) async fn with_key(
        limits: Limits,
        key: Arc<dyn KeyBackend>,
        dir: tempfile::TempDir,
        vault: Option<StdAddr>,
    ) -> Env {
        Self::with_key_http(limits, key, dir, vault, HttpLimits::default()).await
    }

    async fn with_key_http(
        limits: Limits,
        key: Arc<dyn KeyBackend>,
        dir: tempfile::TempDir,
        vault: Option<StdAddr>,
        http: HttpLimits,
    ) -> Env {
        let db = TestDb::new().await;
        let ledger = Ledger::connect(&db.url, 4).await.expect("ledger");
        ledger.migrate().await.expect("ledger migrations");
        let vault = vault.unwrap_or_else(|| addr(0xaaaa, 0xaa));
        let escrow = addr(0xeeee, 0xee);
        let project = 7;
        seed_ledger(&ledger, &vault, &escrow, project).await;
        let pool = store::connect(&db.url, 2).await.expect("pool");
        store::migrate(&pool).await.expect("signer migrations");
        store::register(
            &pool,
            &Registration::Vault {
                address: vault.clone(),
                currency: "TON".into(),
                timeout: VAULT_TIMEOUT,
                onchain_limit: None,
            },
        )
        .await
        .expect("register vault");
        store::register(
            &pool,
            &Registration::Escrow {
                address: escrow.clone(),
                project_id: project,
            },
        )
        .await
        .expect("register escrow");
        let public_key = key.public_key();
        let mut config = Config::test(&db.url);
        config.limits = limits;
        config.max_connections = 16;
        config.http = http;
        let handle = spawn(config.clone(), key, Arc::new(PgLedger::new(ledger.clone())))
            .await
            .expect("signer starts");
        let client =
            SignerClient::new(&handle.url().expect("tcp"), config.token.clone()).expect("client");
        Env {
            db,
            ledger,
            handle: Some(handle),
            client,
            vault,
            escrow,
            project,
            public_key,
            _dir: dir,
        }
    }

    /// Approves `n` earnings of `amount` to distinct workers (salt distinguishes workers).
    pub(crate) async fn approve(&self, n: usize, amount: u128, salt: u8) -> Vec<(u64, StdAddr)> {
        approve(&self.ledger, self.project, n, amount, salt).await
    }

    /// A batch body paying `earnings`.
    pub(crate) fn batch(
        &self,
        query_id: u64,
        earnings: &[(u64, StdAddr)],
        amount: u128,
    ) -> BatchBody {
        batch_body(&self.vault, query_id, now() as u32, earnings, amount)
    }
}

pub(crate) fn now() -> u64 {
    store::now()
}

pub(crate) fn batch_body(
    vault: &StdAddr,
    query_id: u64,
    created_at: u32,
    earnings: &[(u64, StdAddr)],
    amount: u128,
) -> BatchBody {
    BatchBody {
        vault: raw_address(vault),
        query_id: query_id.to_string(),
        created_at,
        attach: "0".into(),
        forward_ton: "0".into(),
        items: earnings
            .iter()
            .map(|(id, w)| ItemBody {
                item_id: id.to_string(),
                dest: raw_address(w),
                amount: amount.to_string(),
                bounceable: false,
            })
            .collect(),
    }
}

pub(crate) async fn seed_ledger(ledger: &Ledger, vault: &StdAddr, escrow: &StdAddr, project: u64) {
    let raw = |a: &StdAddr| RawAddress::parse(&raw_address(a)).expect("raw address");
    ledger
        .register_currency(&Currency {
            code: CurrencyCode::ton(),
            decimals: 9,
            jetton_master: None,
        })
        .await
        .expect("currency");
    ledger
        .register_vault(&Vault {
            currency: CurrencyCode::ton(),
            address: raw(vault),
        })
        .await
        .expect("vault");
    ledger
        .register_project(&Project {
            id: ProjectId(project),
            escrow: raw(escrow),
            currency: CurrencyCode::ton(),
            client: raw(&addr(0xc1, 0xc1)),
        })
        .await
        .expect("project");
}

pub(crate) async fn approve(
    ledger: &Ledger,
    project: u64,
    n: usize,
    amount: u128,
    salt: u8,
) -> Vec<(u64, StdAddr)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let worker = addr(i as u64 + 1, salt);
        let a = ledger
            .approve_earning(&NewEarning {
                submission_key: format!("sub-{salt}-{i}-{}", rand::random::<u64>()),
                worker: format!("worker-{salt}-{i}"),
                payout_address: RawAddress::parse(&raw_address(&worker)).expect("raw"),
                project: ProjectId(project),
                amount,
                decision_id: format!("decision-{salt}-{i}"),
            })
            .await
            .expect("approve");
        out.push((a.earning_id.get(), worker));
    }
    out
}

/// Generous caps for tests that are not about caps.
pub(crate) fn wide_limits() -> Limits {
    let mut l = Limits::default();
    for k in ["batch", "hour", "day", "worker_day"] {
        l.apply_cap(&format!("TON:{k}={}", 1_000_000_000 * TON))
            .expect("cap");
    }
    l
}

/// Ledger + allowlist on `db` without starting a signer: (ledger, vault, escrow).
pub(crate) async fn prepare(db: &TestDb) -> (Ledger, StdAddr, StdAddr) {
    let ledger = Ledger::connect(&db.url, 4).await.expect("ledger");
    ledger.migrate().await.expect("ledger migrations");
    let vault = addr(0xaaaa, 0xaa);
    let escrow = addr(0xeeee, 0xee);
    seed_ledger(&ledger, &vault, &escrow, 7).await;
    let pool = store::connect(&db.url, 2).await.expect("pool");
    store::migrate(&pool).await.expect("signer migrations");
    store::register(
        &pool,
        &Registration::Vault {
            address: vault.clone(),
            currency: "TON".into(),
            timeout: VAULT_TIMEOUT,
            onchain_limit: None,
        },
    )
    .await
    .expect("register vault");
    (ledger, vault, escrow)
}

/// The real binary, serving on 127.0.0.1:0 with a THROWAWAY key file; `listening` is read
/// from its stdout.
pub(crate) struct Binary {
    pub(crate) child: tokio::process::Child,
    pub(crate) url: String,
}

pub(crate) const BIN_TOKEN: &str = "THROWAWAY-binary-token-0123456789";

pub(crate) fn binary_command(db_url: &str, key_file: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_payout-signer"));
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--create-key-if-missing")
        .env("DATABASE_URL", db_url)
        .env("LABELMINT_SIGNER_TOKEN", BIN_TOKEN)
        .env("LABELMINT_SIGNER_KEY_FILE", key_file)
        .env("LABELMINT_SIGNER_PASSPHRASE", "THROWAWAY binary passphrase")
        .env_remove("LABELMINT_SIGNER_TEST_PAUSE_AFTER_JOURNAL_MS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd
}

impl Binary {
    pub(crate) async fn start(mut cmd: tokio::process::Command) -> Binary {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut child = cmd.spawn().expect("spawn payout-signer");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(u) = line.strip_prefix("listening=") {
                    return u.to_string();
                }
            }
            panic!("payout-signer exited before listening");
        })
        .await
        .expect("payout-signer listens within 60s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Binary { child, url }
    }
}
