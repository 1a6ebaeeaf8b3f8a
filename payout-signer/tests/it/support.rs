//! Shared test support: one real Postgres database per test (signer + ledger tables), a real
//! ledger with approved earnings, real keys (file backend; SoftHSM2 when scripts/softhsm.sh
//! works), a signer started in-process on port 0.

use std::sync::Arc;

use labelmint_keys::{FileKey, KdfParams, KeyBackend, Passphrase};
use labelmint_ledger::{
    BatchRequest, Currency, CurrencyCode, EarningId, Ledger, NewEarning, Project, ProjectId,
    RawAddress, Vault,
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

    /// Approves `n` earnings of `amount` for ONE worker (one payout address): a batch pays
    /// them as one item.
    pub(crate) async fn approve_same_worker(
        &self,
        n: usize,
        amount: u128,
        salt: u8,
    ) -> Vec<(u64, StdAddr)> {
        let worker = addr(0x5a5a, salt);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let a = self
                .ledger
                .approve_earning(&NewEarning {
                    submission_key: format!("same-{salt}-{i}-{}", rand::random::<u64>()),
                    worker: format!("worker-same-{salt}"),
                    payout_address: RawAddress::parse(&raw_address(&worker)).expect("raw"),
                    project: ProjectId(self.project),
                    amount,
                    decision_id: format!("decision-same-{salt}-{i}"),
                })
                .await
                .expect("approve");
            out.push((a.earning_id.get(), worker.clone()));
        }
        out
    }

    /// The ledger's batch `query_id` paying `earnings` as a signing request (see
    /// [`batch_body`]).
    pub(crate) async fn batch(
        &self,
        query_id: u64,
        earnings: &[(u64, StdAddr)],
        amount: u128,
    ) -> BatchBody {
        batch_body(
            &self.ledger,
            &self.vault,
            query_id,
            now() as u32,
            earnings,
            amount,
        )
        .await
    }
}

pub(crate) fn now() -> u64 {
    store::now()
}

/// The ledger's batch `query_id` of `vault` as a signing request. If the vault has no batch
/// with that query id yet, the ledger forms one from exactly `earnings` (grouped per worker
/// and address, as the settler's batches are; earnings already batched elsewhere are not
/// taken). Each earning is paid by the ledger's item that holds it (in this batch, else its
/// latest one; an id the ledger never batched is used as it is), to the destination given
/// with it, `amount` per earning: a test asks for exactly what it wants to see refused.
pub(crate) async fn batch_body(
    ledger: &Ledger,
    vault: &StdAddr,
    query_id: u64,
    created_at: u32,
    earnings: &[(u64, StdAddr)],
    amount: u128,
) -> BatchBody {
    let raw_vault = RawAddress::parse(&raw_address(vault)).expect("raw vault");
    let ids: Vec<EarningId> = earnings
        .iter()
        .filter_map(|(id, _)| EarningId::new(*id).ok())
        .collect();
    let currency: Option<String> =
        sqlx::query_scalar("SELECT currency FROM ledger_vaults WHERE address = $1")
            .bind(raw_vault.as_str())
            .fetch_optional(ledger.pool())
            .await
            .expect("vault currency");
    if let Some(currency) = currency
        && ledger
            .batch_by_query_id(&raw_vault, query_id)
            .await
            .expect("batch")
            .is_none()
    {
        let _ = ledger
            .form_batch_of(
                &BatchRequest {
                    currency: CurrencyCode::new(&currency).expect("code"),
                    max_items: 250,
                    max_total: labelmint_ledger::MAX_AMOUNT,
                    query_id,
                    created_at,
                    valid_until: created_at + VAULT_TIMEOUT - 1,
                },
                &ids,
            )
            .await
            .expect("form");
    }
    // earning -> (item id, batch query id)
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT i.earning_id, p.id, b.query_id::text FROM ledger_batch_items i \
         JOIN ledger_payout_items p ON p.batch_id = i.batch_id AND p.position = i.position \
         JOIN ledger_batches b ON b.id = i.batch_id \
         WHERE i.earning_id = ANY($1) ORDER BY i.batch_id",
    )
    .bind(ids.iter().map(|e| e.get() as i64).collect::<Vec<_>>())
    .fetch_all(ledger.pool())
    .await
    .expect("items");
    // Rows are oldest batch first: this batch's item wins, else the latest.
    let mut item_of: std::collections::HashMap<u64, (u64, bool)> = std::collections::HashMap::new();
    for (e, item, q) in rows {
        let this = q == query_id.to_string();
        let entry = item_of.entry(e as u64).or_insert((item as u64, this));
        if this || !entry.1 {
            *entry = (item as u64, this);
        }
    }
    let mut items: Vec<ItemBody> = Vec::new();
    let mut index: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    for (id, w) in earnings {
        let item = item_of.get(id).map_or(*id, |(i, _)| *i);
        match index.get(&item) {
            Some(&n) => {
                let a: u128 = items[n].amount.parse().expect("amount");
                items[n].amount = (a + amount).to_string();
            }
            None => {
                index.insert(item, items.len());
                items.push(ItemBody {
                    item_id: item.to_string(),
                    dest: raw_address(w),
                    amount: amount.to_string(),
                    bounceable: false,
                });
            }
        }
    }
    BatchBody {
        vault: raw_address(vault),
        query_id: query_id.to_string(),
        created_at,
        attach: "0".into(),
        forward_ton: "0".into(),
        items,
    }
}

/// Payout item ids of the tests' ledgers start here, far from earning ids (an earning id used
/// as an item id is then never someone else's item by chance).
pub(crate) const FIRST_ITEM_ID: i64 = 1_000_000_000;

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
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER SEQUENCE ledger_payout_item_id_seq RESTART WITH {FIRST_ITEM_ID}"
    )))
    .execute(ledger.pool())
    .await
    .expect("item ids");
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

/// What a ledger writer that ignores chain time would do: the batch `query_id` expired and its
/// earnings approved again (the database's state machines allow the moves; only the ledger's
/// `expire_batch` checks the chain).
pub(crate) async fn expire_behind_the_ledgers_back(env: &Env, query_id: u64) {
    let mut tx = env.db.pool.begin().await.unwrap();
    let batch: i64 = sqlx::query_scalar(
        "UPDATE ledger_batches SET state = 'expired' WHERE vault = $1 AND query_id = $2 RETURNING id",
    )
    .bind(raw_address(&env.vault))
    .bind(query_id as i64)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    for sql in [
        "UPDATE ledger_earnings SET state = 'approved' WHERE id IN \
         (SELECT earning_id FROM ledger_batch_items WHERE batch_id = $1)",
        "UPDATE ledger_batch_items SET outcome = 'expired' WHERE batch_id = $1",
        "UPDATE ledger_payout_items SET outcome = 'expired' WHERE batch_id = $1",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(batch)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

/// The indexer's tables in the test database, readable by the signer's role (the indexer's
/// migrations grant them when the role exists), and chain time `t` (a masterchain block at
/// `t` as the checkpoint).
pub(crate) async fn indexer_at(env: &Env, t: u64) {
    labelmint_indexer::store::Store::from_pool(env.db.pool.clone())
        .migrate()
        .await
        .expect("indexer migrations");
    labelmint_testdb::set_chain_time(&env.db.pool, t as i64).await;
}
