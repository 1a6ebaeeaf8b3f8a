//! # labelmint-settler-testkit — a whole local settlement stack, for tests and the benchmark
//!
//! [`Stack::start`] brings up, in this process unless said otherwise:
//!
//! ```text
//! scratch Postgres db --- ledger + settler migrations, indexer tables
//! devnet (blocks every Options::block_time, liteserver on 127.0.0.1:0)
//!   faucet --deploys--> TON vault, test USD vault (TEP-89: learns its jetton wallet),
//!                       one escrow per ProjectSpec (TON or test USD), treasury, relayer
//!   faucet --deposits-> each escrow (escrow_deposit, or a jetton transfer of minted USD)
//! indexer (in-process, from block 1) watching the escrows and vaults
//! payout-signer (its own PROCESS, file key, trusted by every contract above)
//! ```
//!
//! Then a test approves earnings ([`Stack::approve`] in bulk, [`Stack::approve_earning`] one
//! by one) and runs the settler in-process ([`Stack::settler_config`]) or as a binary
//! ([`Stack::files`] writes what it reads), and reads what happened: balances and storage on
//! the devnet, [`Stack::index_to_head`], [`Stack::vault_payouts`] (a batch's transfers on
//! chain), [`Stack::paid_attempts`], [`Stack::reconcile`]. [`Stack::deploy_stranger_escrow`]
//! deploys a contract nobody registered (a destination that refuses a plain transfer).
//!
//! Keys here are THROWAWAY keys from public phrases: the chain is local and worthless.
//!
//! ## What it must never do
//! - Be a dependency of anything but tests and benchmarks (`[dev-dependencies]` only).
//! - Touch a database, port or folder it did not create (scratch database, port 0, temp dirs).

use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use labelmint_abi::Layout;
use labelmint_abi::escrow::{
    EscrowDeploy, EscrowDeposit, EscrowParams, EscrowRoutes, EscrowStorage,
    JETTON_DEPOSIT_FORWARD_TON,
};
use labelmint_abi::jetton::{
    CallTo, ForwardPayload, JettonTransfer, JettonWalletStorage, SetStatus,
};
use labelmint_abi::state_init::{
    escrow_address, escrow_state_init, jetton_wallet_address, vault_address, vault_state_init,
};
use labelmint_abi::vault::{VaultConfig, VaultStorage, VaultTopUp};
use labelmint_devnet::config::seed_from_phrase;
use labelmint_devnet::wallet::{Transfer, WalletV4R2};
use labelmint_devnet::{Config as DevnetConfig, Devnet};
use labelmint_indexer::lite::LiteServer;
use labelmint_indexer::model::{AccountKind, WatchedAccount};
use labelmint_ledger::{
    Currency, CurrencyCode, Ledger, NewEarning, Project as LedgerProject, ProjectId, RawAddress,
    Reconciliation, Vault,
};
use labelmint_payout_signer::client::SignerClient;
use labelmint_payout_signer::config::Token;
use labelmint_settler::Config;
use labelmint_testdb::ScratchDb;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tycho_types::cell::{Cell, CellFamily as _, HashBytes};
use tycho_types::models::{AccountState, StdAddr};

mod payouts;

/// nanoTON per TON.
pub const TON: u128 = 1_000_000_000;
/// Test USD base units per USD (6 decimals, like USDT).
pub const USD: u128 = 1_000_000;
/// THROWAWAY: the relayer wallet.
const THROWAWAY_RELAYER_PHRASE: &str = "THROWAWAY labelmint settler testkit relayer";
/// THROWAWAY: the treasury wallet.
const THROWAWAY_TREASURY_PHRASE: &str = "THROWAWAY labelmint settler testkit treasury";
/// How long one setup step may take.
const STEP: Duration = Duration::from_secs(60);
/// The id of [`Options::new`]'s project.
pub const PROJECT: u64 = 4101;

/// A project's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coin {
    /// TON (9 decimals).
    Ton,
    /// The devnet's test USD jetton (6 decimals).
    Usd,
}

impl Coin {
    /// The ledger's currency code.
    pub fn code(self) -> CurrencyCode {
        match self {
            Coin::Ton => CurrencyCode::ton(),
            Coin::Usd => CurrencyCode::new("USD").expect("USD is a currency code"),
        }
    }

    /// One whole unit in base units.
    pub fn unit(self) -> u128 {
        match self {
            Coin::Ton => TON,
            Coin::Usd => USD,
        }
    }
}

/// A project to deploy and fund.
#[derive(Debug, Clone, Copy)]
pub struct ProjectSpec {
    /// Its id (the escrow stores it).
    pub id: u64,
    /// Its currency.
    pub coin: Coin,
    /// What the client deposits (base units of `coin`).
    pub deposit: u128,
}

impl ProjectSpec {
    /// A TON project `id` with 20 TON deposited.
    pub fn ton(id: u64) -> ProjectSpec {
        ProjectSpec {
            id,
            coin: Coin::Ton,
            deposit: 20 * TON,
        }
    }
}

/// How to build the stack.
#[derive(Debug, Clone)]
pub struct Options {
    /// Scratch database prefix (`[a-z0-9_]`).
    pub name: String,
    /// The devnet's block interval.
    pub block_time: Duration,
    /// The vaults' replay timeout (a batch's lifetime), seconds.
    pub vault_timeout: u32,
    /// The projects.
    pub projects: Vec<ProjectSpec>,
    /// TON deployed into the TON vault (its fee float).
    pub ton_vault_float: u128,
    /// TON deployed into the test USD vault (every jetton transfer's TON comes from it).
    pub usd_vault_float: u128,
    /// TON for the relayer wallet (it attaches `release_attach` to each release; the excess
    /// comes back).
    pub relayer_ton: u128,
    /// `payout-signer serve --float` overrides (`KIND=AMOUNT`, nanoTON).
    pub signer_float: Vec<String>,
    /// Leave the TON vault undeployed (a release to it bounces) until the test calls
    /// [`Stack::deploy_ton_vault`].
    pub ton_vault_later: bool,
}

impl Options {
    /// One TON project ([`PROJECT`], 20 TON deposited), 200 ms blocks, 300 s batches.
    pub fn new(name: &str) -> Options {
        Options {
            name: name.to_string(),
            block_time: Duration::from_millis(200),
            vault_timeout: 300,
            projects: vec![ProjectSpec::ton(PROJECT)],
            ton_vault_float: 5 * TON,
            usd_vault_float: 60 * TON,
            relayer_ton: 20 * TON,
            signer_float: Vec::new(),
            ton_vault_later: false,
        }
    }
}

/// A deployed, funded project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Its id.
    pub id: u64,
    /// Its currency.
    pub coin: Coin,
    /// Its escrow.
    pub escrow: StdAddr,
    /// What was deposited.
    pub deposit: u128,
}

/// The running payout-signer process (killed when dropped).
#[derive(Debug)]
pub struct Signer {
    child: Child,
    bin: PathBuf,
    database_url: String,
    dir: tempfile::TempDir,
    /// Where it listens (`http://127.0.0.1:PORT`).
    pub url: String,
    /// Its public key (every contract trusts it).
    pub public_key: [u8; 32],
}

impl Signer {
    /// Its bearer token file.
    pub fn token_file(&self) -> PathBuf {
        self.dir.path().join("token")
    }

    /// Its bearer token.
    pub fn token(&self) -> Token {
        let t = std::fs::read_to_string(self.token_file()).expect("signer token");
        Token::new(t.trim().to_string()).expect("token")
    }

    /// Runs `payout-signer COMMAND ARGS` against the same database; its stdout.
    pub async fn command(&self, command: &str, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .arg(command)
            .env("DATABASE_URL", &self.database_url)
            .env_remove("LABELMINT_DATABASE_URL_FILE")
            .env("RUST_LOG", "warn")
            .args(args)
            .output()
            .await
            .expect("payout-signer command");
        assert!(
            out.status.success(),
            "payout-signer {command} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

fn secret_file(path: &Path, content: &str) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("secret file");
    f.write_all(content.as_bytes()).expect("write secret");
}

/// The `payout-signer` binary of this build profile (built when missing: a dependency's binary
/// is not built by `cargo test` of another crate).
pub fn signer_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    // target/<profile>/deps/<exe> (tests, benches) or target/<profile>/<exe>.
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("payout-signer");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = std::process::Command::new(cargo);
        cmd.args([
            "build",
            "-q",
            "-p",
            "labelmint-payout-signer",
            "--bin",
            "payout-signer",
        ]);
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo build payout-signer");
        assert!(status.success(), "building payout-signer");
    }
    bin
}

impl Signer {
    /// `payout-signer serve` on 127.0.0.1:0 with a new file key, the ledger in `database_url`,
    /// bound to `global_id`; `float`: `--float` overrides.
    pub async fn start(database_url: &str, global_id: i32, float: &[String]) -> Signer {
        let dir = tempfile::tempdir().expect("signer dir");
        secret_file(&dir.path().join("token"), &hex::encode(random32()));
        secret_file(&dir.path().join("passphrase"), &hex::encode(random32()));
        let bin = signer_bin();
        let mut cmd = Command::new(&bin);
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env_remove("LABELMINT_DATABASE_URL_FILE")
            .env_remove("LABELMINT_SIGNER_TOKEN")
            .env_remove("LABELMINT_SIGNER_PASSPHRASE")
            .env("RUST_LOG", "warn")
            .arg("--listen")
            .arg(SocketAddr::from(([127, 0, 0, 1], 0)).to_string())
            .arg("--token-file")
            .arg(dir.path().join("token"))
            .args(["--key-backend", "file", "--key-file"])
            .arg(dir.path().join("signer.key"))
            .arg("--passphrase-file")
            .arg(dir.path().join("passphrase"))
            .arg("--create-key-if-missing")
            .arg(format!("--global-id={global_id}"));
        for f in float {
            cmd.arg(format!("--float={f}"));
        }
        // Its log (teardown drops its database under it: noise) goes to a file beside its key.
        let log = std::fs::File::create(dir.path().join("signer.log")).expect("signer log");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("start payout-signer");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut key, mut url) = (None, None);
        let read = async {
            while let Some(line) = lines.next_line().await.expect("signer stdout") {
                if let Some(k) = line.strip_prefix("public_key=") {
                    key = Some(k.trim().to_string());
                }
                if let Some(u) = line.strip_prefix("listening=") {
                    url = Some(u.trim().to_string());
                    break;
                }
            }
        };
        if tokio::time::timeout(STEP, read).await.is_err() || url.is_none() {
            panic!(
                "payout-signer did not start: {}",
                std::fs::read_to_string(dir.path().join("signer.log")).unwrap_or_default()
            );
        }
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let mut public_key = [0u8; 32];
        hex::decode_to_slice(key.expect("public_key= line"), &mut public_key).expect("key hex");
        Signer {
            child,
            bin,
            database_url: database_url.to_string(),
            dir,
            url: url.expect("listening= line"),
            public_key,
        }
    }

    /// A client with the bearer token.
    pub fn client(&self) -> SignerClient {
        SignerClient::new(&self.url, self.token()).expect("signer client")
    }
}

fn random32() -> [u8; 32] {
    rand::random()
}

/// Files a settler binary (or `labelmint settle`) reads for this stack.
#[derive(Debug)]
pub struct Files {
    _dir: tempfile::TempDir,
    /// The devnet's global config.
    pub global_config: PathBuf,
    /// The relayer's seed (hex, 0600).
    pub relayer_key: PathBuf,
    /// The signer's bearer token.
    pub signer_token: PathBuf,
}

/// The running stack.
pub struct Stack {
    /// The scratch database (dropped with the stack).
    pub db: ScratchDb,
    /// A pool on it.
    pub pool: PgPool,
    /// The ledger on it.
    pub ledger: Ledger,
    /// The devnet (in-process).
    pub devnet: Devnet,
    /// The indexer (in-process).
    pub indexer: labelmint_indexer::Handle,
    /// The signer (a process).
    pub signer: Signer,
    /// The TON vault.
    pub ton_vault: StdAddr,
    /// The test USD vault.
    pub usd_vault: StdAddr,
    /// The test USD minter.
    pub minter: StdAddr,
    /// The platform's treasury (a v4r2 wallet; escrows send their fee to it).
    pub treasury: StdAddr,
    /// The projects, as asked.
    pub projects: Vec<Project>,
    /// The relayer's seed.
    pub relayer_seed: [u8; 32],
    /// The vaults' replay timeout.
    pub vault_timeout: u32,
    /// The TON vault's constructor parameters (its StateInit, for a late deploy).
    pub ton_vault_config: VaultConfig,
}

/// `0:<hex>` of an address.
pub fn raw(a: &StdAddr) -> RawAddress {
    RawAddress::from_parts(a.workchain, &a.address.0)
}

/// The address of a raw one.
pub fn std_addr(a: &RawAddress) -> StdAddr {
    StdAddr::new(a.workchain() as i8, HashBytes(a.account()))
}

/// Worker `i` of group `group`: a basechain address nobody deployed.
pub fn worker_address(group: u8, i: u32) -> RawAddress {
    let mut a = [0u8; 32];
    a[0] = 0x5a;
    a[1] = group;
    a[2..6].copy_from_slice(&i.to_be_bytes());
    for (k, b) in a.iter_mut().enumerate().skip(6) {
        *b = (k as u8).wrapping_mul(37) ^ group;
    }
    RawAddress::from_parts(0, &a)
}

/// A project's escrow: fee 2.5 %, deadline in 30 days from `now`, the faucet its client.
fn escrow_params(
    project_id: u64,
    signer_key: [u8; 32],
    now: u32,
    faucet: &StdAddr,
    jetton_master: Option<StdAddr>,
    vault: &StdAddr,
    treasury: &StdAddr,
) -> EscrowParams {
    EscrowParams {
        project_id,
        signer_key,
        deadline: now + 30 * 86_400,
        fee_bps: 250,
        client: faucet.clone(),
        jetton_master,
        routes: EscrowRoutes {
            vault: vault.clone(),
            treasury: treasury.clone(),
        },
    }
}

/// Polls `f` every 100 ms until it returns Some, panicking after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Stack {
    /// Everything up: contracts deployed, registered with the ledger, the signer and the
    /// indexer; every escrow funded and its deposit indexed.
    pub async fn start(o: Options) -> Stack {
        let db = ScratchDb::create(&o.name).await;
        let pool = db.pool(8).await;
        labelmint_settler::migrate(&db.url).await.expect("migrate");
        labelmint_indexer::store::Store::from_pool(pool.clone())
            .migrate()
            .await
            .expect("indexer migrations");
        let ledger = Ledger::from_pool(pool.clone());
        let devnet = labelmint_devnet::spawn(DevnetConfig {
            block_time: Some(o.block_time),
            ..DevnetConfig::test()
        })
        .await
        .expect("devnet");
        let global_id = labelmint_devnet::engine::ton_config::DEVNET_GLOBAL_ID;
        let signer = Signer::start(&db.url, global_id, &o.signer_float).await;

        let faucet = devnet.genesis().faucet.clone();
        let minter = devnet.genesis().jetton_minter.clone();
        let now = devnet.node().now();
        let vault_config = |jetton: Option<StdAddr>, id: u32| VaultConfig {
            signer_key: signer.public_key,
            timeout: o.vault_timeout,
            window_len: 86_400,
            window_limit: 1_000_000 * TON,
            admin: faucet.clone(),
            jetton_master: jetton,
            vault_id: id,
            admin_delay: labelmint_abi::vault::DEFAULT_ADMIN_DELAY,
        };
        let ton_cfg = vault_config(None, 51);
        let usd_cfg = vault_config(Some(minter.clone()), 52);
        let ton_vault = vault_address(&ton_cfg).expect("vault");
        let usd_vault = vault_address(&usd_cfg).expect("vault");
        let treasury_wallet = WalletV4R2::from_seed(seed_from_phrase(THROWAWAY_TREASURY_PHRASE));
        let treasury = treasury_wallet.address().expect("treasury");
        let relayer_seed = seed_from_phrase(THROWAWAY_RELAYER_PHRASE);
        let relayer = WalletV4R2::from_seed(relayer_seed);

        // The ledger's currencies and vaults; the signer's vaults.
        let usd_code = Coin::Usd.code();
        for (code, decimals, jetton, vault) in [
            (CurrencyCode::ton(), 9, None, &ton_vault),
            (usd_code.clone(), 6, Some(raw(&minter)), &usd_vault),
        ] {
            ledger
                .register_currency(&Currency {
                    code: code.clone(),
                    decimals,
                    jetton_master: jetton,
                })
                .await
                .expect("currency");
            ledger
                .register_vault(&Vault {
                    currency: code.clone(),
                    address: raw(vault),
                })
                .await
                .expect("vault");
            ledger
                .set_vault_timeout(&code, o.vault_timeout)
                .await
                .expect("timeout");
            signer
                .command(
                    "register",
                    &[
                        "--vault",
                        &vault.to_string(),
                        "--currency",
                        code.as_str(),
                        "--timeout",
                        &o.vault_timeout.to_string(),
                        "--onchain-limit",
                        &(1_000_000 * TON).to_string(),
                    ],
                )
                .await;
        }

        // The projects: escrows registered everywhere before they exist.
        let mut projects = Vec::new();
        let mut escrow_inits = Vec::new();
        for p in &o.projects {
            let params = escrow_params(
                p.id,
                signer.public_key,
                now,
                &faucet,
                (p.coin == Coin::Usd).then(|| minter.clone()),
                match p.coin {
                    Coin::Ton => &ton_vault,
                    Coin::Usd => &usd_vault,
                },
                &treasury,
            );
            let escrow = escrow_address(&params).expect("escrow");
            ledger
                .register_project(&LedgerProject {
                    id: ProjectId(p.id),
                    escrow: raw(&escrow),
                    currency: p.coin.code(),
                    client: raw(&faucet),
                })
                .await
                .expect("project");
            signer
                .command(
                    "register",
                    &[
                        "--escrow",
                        &escrow.to_string(),
                        "--project",
                        &p.id.to_string(),
                    ],
                )
                .await;
            escrow_inits.push(escrow_state_init(&params).expect("init"));
            projects.push(Project {
                id: p.id,
                coin: p.coin,
                escrow,
                deposit: p.deposit,
            });
        }

        let mut config = labelmint_indexer::Config::test(
            db.url.clone(),
            vec![LiteServer {
                addr: devnet.addr().into(),
                public_key: devnet.public_key(),
            }],
        );
        config.start_seqno = Some(1);
        config.poll_interval = Duration::from_millis(50);
        let indexer = labelmint_indexer::spawn(config).await.expect("indexer");
        let currency_of = |c: Coin| match c {
            Coin::Ton => "TON".to_string(),
            Coin::Usd => raw(&minter).to_string(),
        };
        let mut watch = vec![
            (ton_vault.clone(), AccountKind::Vault, None, Coin::Ton),
            (usd_vault.clone(), AccountKind::Vault, None, Coin::Usd),
        ];
        for p in &projects {
            watch.push((p.escrow.clone(), AccountKind::Escrow, Some(p.id), p.coin));
        }
        for (address, kind, project_id, coin) in watch {
            indexer
                .store
                .watch(&WatchedAccount {
                    address: raw(&address).to_string(),
                    kind,
                    project_id,
                    owner: None,
                    currency: Some(currency_of(coin)),
                })
                .await
                .expect("watch");
        }

        let s = Stack {
            db,
            pool,
            ledger,
            devnet,
            indexer,
            signer,
            ton_vault,
            usd_vault,
            minter,
            treasury: treasury.clone(),
            projects,
            relayer_seed,
            vault_timeout: o.vault_timeout,
            ton_vault_config: ton_cfg.clone(),
        };

        // Deploy: the vaults (their float), the treasury, the relayer, the escrows; mint the
        // client's test USD.
        let deploy = |to: &StdAddr, amount: u128, body: Option<Cell>, init| Transfer {
            to: to.clone(),
            amount,
            bounce: false,
            body,
            init: Some(init),
            mode: 3,
        };
        let mut transfers = vec![
            deploy(
                &s.usd_vault,
                o.usd_vault_float,
                Some(VaultTopUp { query_id: 1 }.build().expect("top up")),
                vault_state_init(&usd_cfg).expect("init"),
            ),
            deploy(
                &treasury,
                TON / 2,
                None,
                treasury_wallet.state_init().expect("init"),
            ),
            deploy(
                &relayer.address().expect("relayer"),
                o.relayer_ton,
                None,
                relayer.state_init().expect("init"),
            ),
        ];
        if !o.ton_vault_later {
            transfers.push(s.ton_vault_deploy(o.ton_vault_float));
        }
        for (p, init) in s.projects.iter().zip(escrow_inits) {
            transfers.push(deploy(
                &p.escrow,
                TON / 10,
                Some(EscrowDeploy { query_id: 2 }.build().expect("deploy")),
                init,
            ));
        }
        let usd_total: u128 = s
            .projects
            .iter()
            .filter(|p| p.coin == Coin::Usd)
            .map(|p| p.deposit)
            .sum();
        if usd_total > 0 {
            transfers.push(
                labelmint_devnet::faucet::usd_mint(&s.minter, &faucet, usd_total, 7).expect("mint"),
            );
        }
        s.faucet_all(&transfers).await;
        for p in &s.projects {
            let e = p.escrow.clone();
            wait_for("the escrows deployed", STEP, || async {
                s.active(&e).then_some(())
            })
            .await;
        }
        // Jetton contracts learn their wallets (TEP-89) before any notification may come.
        let learned = 1 + s.projects.iter().filter(|p| p.coin == Coin::Usd).count() as i64;
        wait_for("the jetton wallets learned", STEP, || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM events WHERE kind = 'ev_jetton_wallet_learned'",
            )
            .fetch_one(&s.pool)
            .await
            .ok()?;
            (n >= learned).then_some(())
        })
        .await;
        if usd_total > 0 {
            wait_for("the client's test USD", STEP, || async {
                (s.usd_balance(&faucet) >= usd_total).then_some(())
            })
            .await;
        }

        // Deposits.
        let faucet_usd_wallet = jetton_wallet_address(&faucet, &s.minter).expect("wallet");
        let deposits: Vec<Transfer> = s
            .projects
            .iter()
            .map(|p| match p.coin {
                Coin::Ton => Transfer {
                    to: p.escrow.clone(),
                    amount: p.deposit + TON / 100,
                    bounce: true,
                    body: Some(
                        EscrowDeposit {
                            query_id: 4,
                            amount: p.deposit,
                        }
                        .build()
                        .expect("deposit"),
                    ),
                    init: None,
                    mode: 3,
                },
                Coin::Usd => Transfer {
                    to: faucet_usd_wallet.clone(),
                    amount: TON / 10 + JETTON_DEPOSIT_FORWARD_TON,
                    bounce: true,
                    body: Some(
                        JettonTransfer {
                            query_id: 4,
                            amount: p.deposit,
                            destination: Some(p.escrow.clone()),
                            response_destination: Some(faucet.clone()),
                            custom_payload: None,
                            forward_ton_amount: JETTON_DEPOSIT_FORWARD_TON,
                            forward_payload: ForwardPayload::Inline(Cell::empty_cell()),
                        }
                        .build()
                        .expect("jetton transfer"),
                    ),
                    init: None,
                    mode: 3,
                },
            })
            .collect();
        s.faucet_all(&deposits).await;
        let n = s.projects.len() as i64;
        wait_for("every deposit indexed", STEP, || async {
            let got: i64 =
                sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = 'ev_deposit'")
                    .fetch_one(&s.pool)
                    .await
                    .ok()?;
            (got >= n).then_some(())
        })
        .await;
        s
    }

    /// Sends `transfers` from the faucet, four per external, each external after the previous
    /// one landed.
    pub async fn faucet_all(&self, transfers: &[Transfer]) {
        for chunk in transfers.chunks(4) {
            let seqno = self.devnet.faucet_seqno().expect("faucet seqno");
            self.devnet.faucet_send(chunk).expect("faucet external");
            wait_for("the faucet's external", STEP, || async {
                (self.devnet.faucet_seqno().ok()? > seqno).then_some(())
            })
            .await;
        }
    }

    /// Deploys a TON escrow of `project_id` that nobody registered (not the ledger, the signer
    /// or the indexer) and nobody funds: a deployed contract that refuses anything but its own
    /// messages (a plain transfer, a text comment, makes it throw). Returns once it is active.
    pub async fn deploy_stranger_escrow(&self, project_id: u64) -> StdAddr {
        let faucet = self.devnet.genesis().faucet.clone();
        let params = escrow_params(
            project_id,
            self.signer.public_key,
            self.devnet.node().now(),
            &faucet,
            None,
            &self.ton_vault,
            &self.treasury,
        );
        let escrow = escrow_address(&params).expect("escrow address");
        self.faucet_all(&[Transfer {
            to: escrow.clone(),
            amount: TON / 10,
            bounce: false,
            body: Some(
                EscrowDeploy {
                    query_id: project_id,
                }
                .build()
                .expect("deploy"),
            ),
            init: Some(escrow_state_init(&params).expect("init")),
            mode: 3,
        }])
        .await;
        wait_for("the stranger escrow deployed", STEP, || async {
            self.active(&escrow).then_some(())
        })
        .await;
        escrow
    }

    /// The TON vault's deploy: its StateInit and `float` TON with a `vault_top_up`.
    fn ton_vault_deploy(&self, float: u128) -> Transfer {
        Transfer {
            to: self.ton_vault.clone(),
            amount: float,
            bounce: false,
            body: Some(VaultTopUp { query_id: 1 }.build().expect("top up")),
            init: Some(vault_state_init(&self.ton_vault_config).expect("init")),
            mode: 3,
        }
    }

    /// Deploys the TON vault with `float` TON (a stack started with
    /// [`Options::ton_vault_later`]) and waits until it is active.
    pub async fn deploy_ton_vault(&self, float: u128) {
        self.faucet_all(&[self.ton_vault_deploy(float)]).await;
        wait_for("the TON vault deployed", STEP, || async {
            self.active(&self.ton_vault).then_some(())
        })
        .await;
    }

    /// Whether an account is active on the devnet.
    pub fn active(&self, a: &StdAddr) -> bool {
        self.devnet
            .account(a)
            .ok()
            .and_then(|acc| acc.load_account().ok().flatten())
            .is_some_and(|acc| matches!(acc.state, AccountState::Active(_)))
    }

    /// An account's TON balance on the devnet (0 without an account).
    pub fn balance(&self, a: &StdAddr) -> u128 {
        self.devnet
            .account(a)
            .ok()
            .and_then(|acc| acc.load_account().ok().flatten())
            .map(|acc| acc.balance.tokens.into_inner())
            .unwrap_or(0)
    }

    /// `owner`'s test USD balance (its jetton wallet's; 0 without one).
    pub fn usd_balance(&self, owner: &StdAddr) -> u128 {
        self.usd_wallet(owner).map(|w| w.balance).unwrap_or(0)
    }

    /// `owner`'s test USD wallet's storage (None: not deployed).
    pub fn usd_wallet(&self, owner: &StdAddr) -> Option<JettonWalletStorage> {
        let wallet = jetton_wallet_address(owner, &self.minter).ok()?;
        self.data(&wallet).and_then(|d| {
            let mut s = d.as_slice().ok()?;
            JettonWalletStorage::load(&mut s).ok()
        })
    }

    /// An active account's data on the devnet.
    pub fn data(&self, a: &StdAddr) -> Option<Cell> {
        self.devnet
            .account(a)
            .ok()
            .and_then(|acc| acc.load_account().ok().flatten())
            .and_then(|acc| match acc.state {
                AccountState::Active(init) => init.data,
                _ => None,
            })
    }

    /// A vault's storage as it is now on the devnet (its jetton books, its recovery in
    /// flight).
    pub fn vault_storage(&self, vault: &StdAddr) -> VaultStorage {
        let data = self.data(vault).expect("the vault is deployed");
        VaultStorage::parse(&data).expect("vault storage")
    }

    /// An escrow's storage as it is now on the devnet (its counters, its recovery in flight).
    pub fn escrow_storage(&self, escrow: &StdAddr) -> EscrowStorage {
        let data = self.data(escrow).expect("the escrow is deployed");
        EscrowStorage::parse(&data).expect("escrow storage")
    }

    /// Locks (or unlocks, `status` 0) `owner`'s test USD wallet as USDT's admin would: the
    /// faucet (the minter's admin on the devnet) sends `call_to` carrying `set_status` (bit 2,
    /// [`labelmint_abi::jetton::STATUS_RECEIVE_LOCKED`]: incoming transfers bounce with exit
    /// 45). The minter deploys the wallet if it does not exist. Returns once the wallet shows
    /// the status.
    pub async fn set_usd_status(&self, owner: &StdAddr, status: u8) {
        let body = CallTo {
            query_id: 45,
            to_address: owner.clone(),
            ton_amount: TON / 20,
            master_msg: SetStatus {
                query_id: 45,
                status,
            }
            .build()
            .expect("set_status"),
        }
        .build()
        .expect("call_to");
        self.faucet_all(&[Transfer {
            to: self.minter.clone(),
            amount: TON / 10,
            bounce: true,
            body: Some(body),
            init: None,
            mode: 3,
        }])
        .await;
        wait_for("the wallet's status", STEP, || async {
            (self.usd_wallet(owner)?.status == status).then_some(())
        })
        .await;
    }

    /// The liteserver of the devnet.
    pub fn liteservers(&self) -> Vec<LiteServer> {
        vec![LiteServer {
            addr: self.devnet.addr().into(),
            public_key: self.devnet.public_key(),
        }]
    }

    /// A settler config for this stack (200 ms passes, resend after 2 s, releases valid 120 s).
    pub fn settler_config(&self, holder: &str) -> Config {
        let mut c = Config::new(
            self.db.url.clone(),
            self.liteservers(),
            self.signer.url.clone(),
            self.signer.token(),
            self.relayer_seed,
        );
        c.interval = Duration::from_millis(200);
        c.resend_after = Duration::from_secs(2);
        c.release_ttl = 120;
        c.holder = holder.to_string();
        c
    }

    /// Writes what a settler binary reads (global config, relayer key) into a temp folder.
    pub fn files(&self) -> Files {
        let dir = tempfile::tempdir().expect("tempdir");
        let global_config = dir.path().join("global-config.json");
        std::fs::write(
            &global_config,
            serde_json::to_vec(&self.devnet.global_config().expect("global config")).expect("json"),
        )
        .expect("write global config");
        let relayer_key = dir.path().join("relayer.key");
        secret_file(&relayer_key, &hex::encode(self.relayer_seed));
        Files {
            _dir: dir,
            global_config,
            relayer_key,
            signer_token: self.signer.token_file(),
        }
    }

    /// The project with id `id`.
    pub fn project(&self, id: u64) -> &Project {
        self.projects
            .iter()
            .find(|p| p.id == id)
            .expect("a project of the stack")
    }

    /// Approves `n` earnings of project `project` for workers `worker_address(group, i %
    /// workers)` (amount of earning i: `amount(i)`), four approvals at a time; returns
    /// (worker address, amount) per earning.
    pub async fn approve(
        &self,
        project: u64,
        tag: &str,
        n: usize,
        group: u8,
        workers: u32,
        amount: impl Fn(usize) -> u128,
    ) -> Vec<(RawAddress, u128)> {
        let all: Vec<(usize, RawAddress, u128)> = (0..n)
            .map(|i| (i, worker_address(group, i as u32 % workers), amount(i)))
            .collect();
        let mut tasks = Vec::new();
        for part in all.chunks(n.div_ceil(4).max(1)) {
            let part = part.to_vec();
            let ledger = self.ledger.clone();
            let tag = tag.to_string();
            tasks.push(tokio::spawn(async move {
                for (i, address, amount) in part {
                    ledger
                        .approve_earning(&NewEarning {
                            submission_key: format!("{tag}:{i}"),
                            worker: format!("w{}", address.as_str()),
                            payout_address: address.clone(),
                            project: ProjectId(project),
                            amount,
                            decision_id: format!("{tag}-decision-{i}"),
                        })
                        .await
                        .expect("approve");
                }
            }));
        }
        for t in tasks {
            t.await.expect("approvals");
        }
        all.into_iter().map(|(_, a, v)| (a, v)).collect()
    }

    /// Earnings by state.
    pub async fn states(&self) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT state, count(*) FROM ledger_earnings GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await
            .expect("states")
    }

    /// Whether every earning is confirmed.
    pub async fn all_confirmed(&self) -> bool {
        let s = self.states().await;
        s.len() == 1 && s[0].0 == "confirmed"
    }

    /// Waits until the indexer committed the devnet's head, then ingests every indexed event.
    pub async fn index_to_head(&self) {
        let head = self
            .devnet
            .node()
            .lock()
            .last_master()
            .expect("head")
            .id
            .seqno;
        wait_for("the indexer at the head", STEP, || async {
            let cp = self.indexer.store.checkpoint().await.ok()?;
            (cp >= Some(head)).then_some(())
        })
        .await;
        while self
            .ledger
            .ingest_chain_events(10_000)
            .await
            .expect("ingest")
            .seen
            > 0
        {}
    }

    /// Reconciles every registered currency.
    pub async fn reconcile(&self) -> Vec<(CurrencyCode, Reconciliation)> {
        let mut out = Vec::new();
        for c in [Coin::Ton.code(), Coin::Usd.code()] {
            let r = self.ledger.reconcile(&c).await.expect("reconcile");
            out.push((c, r));
        }
        out
    }
}
