//! A whole local stack for the settler: devnet (blocks every 200 ms), indexer, payout-signer
//! process, ledger, a TON escrow and vault deployed from the faucet, a funded relayer wallet.
//!
//! Keys here are THROWAWAY keys from public phrases (a local chain).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use labelmint_abi::Layout;
use labelmint_abi::escrow::{EscrowDeploy, EscrowDeposit, EscrowParams, EscrowRoutes};
use labelmint_abi::state_init::{
    escrow_address, escrow_state_init, vault_address, vault_state_init,
};
use labelmint_abi::vault::{VaultConfig, VaultTopUp};
use labelmint_devnet::config::seed_from_phrase;
use labelmint_devnet::wallet::{Transfer, WalletV4R2};
use labelmint_devnet::{Config as DevnetConfig, Devnet};
use labelmint_indexer::lite::LiteServer;
use labelmint_indexer::model::{AccountKind, WatchedAccount};
use labelmint_ledger::{
    Currency, CurrencyCode, Ledger, NewEarning, Project, ProjectId, RawAddress, Vault,
};
use labelmint_payout_signer::config::Token;
use labelmint_settler::Config;
use labelmint_stack::signer::SignerProcess;
use labelmint_testdb::ScratchDb;
use sqlx::PgPool;
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;

pub(crate) const TON: u128 = 1_000_000_000;
/// THROWAWAY: the relayer wallet of the tests.
const THROWAWAY_RELAYER_PHRASE: &str = "THROWAWAY labelmint settler test relayer";
/// THROWAWAY: the treasury wallet.
const THROWAWAY_TREASURY_PHRASE: &str = "THROWAWAY labelmint settler test treasury";
pub(crate) const PROJECT: u64 = 4101;
pub(crate) const DEPOSIT: u128 = 20 * TON;
/// The vault's TON float: a TON vault pays every batch's fees from its own balance (about
/// 0.01 TON per batch), beside the released money it pays out.
pub(crate) const VAULT_FLOAT: u128 = 5 * TON;

pub(crate) fn raw(a: &StdAddr) -> RawAddress {
    RawAddress::from_parts(a.workchain, &a.address.0)
}

pub(crate) fn std_addr(a: &RawAddress) -> StdAddr {
    StdAddr::new(a.workchain() as i8, HashBytes(a.account()))
}

/// The payout-signer binary of this build (built here when `cargo test` did not build it).
fn signer_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .to_path_buf();
    let bin = dir.join("payout-signer");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "-q",
                "-p",
                "labelmint-payout-signer",
                "--bin",
                "payout-signer",
            ])
            .status()
            .expect("cargo build");
        assert!(status.success(), "building payout-signer");
    }
    bin
}

/// Polls `f` until it returns Some, at most `limit`.
pub(crate) async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
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

/// The running stack.
pub(crate) struct Stack {
    pub(crate) db: ScratchDb,
    pub(crate) pool: PgPool,
    pub(crate) ledger: Ledger,
    pub(crate) devnet: Devnet,
    pub(crate) indexer: labelmint_indexer::Handle,
    pub(crate) signer: SignerProcess,
    pub(crate) _signer_dir: tempfile::TempDir,
    pub(crate) vault: StdAddr,
    pub(crate) escrow: StdAddr,
    pub(crate) relayer_seed: [u8; 32],
}

impl Stack {
    /// Everything up, contracts deployed and registered, the escrow funded with [`DEPOSIT`].
    /// `vault_timeout`: the vault's replay timeout (a batch's lifetime).
    pub(crate) async fn new(name: &str, vault_timeout: u32) -> Stack {
        let db = ScratchDb::create(name).await;
        let pool = db.pool(4).await;
        labelmint_settler::migrate(&db.url).await.expect("migrate");
        let ledger = Ledger::from_pool(pool.clone());
        let devnet = labelmint_devnet::spawn(DevnetConfig {
            block_time: Some(Duration::from_millis(200)),
            ..DevnetConfig::test()
        })
        .await
        .expect("devnet");
        let global_id = labelmint_devnet::engine::ton_config::DEVNET_GLOBAL_ID;
        let signer_dir = tempfile::tempdir().expect("tempdir");
        let signer = SignerProcess::start(
            &signer_bin(),
            signer_dir.path(),
            &db.url,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            global_id,
        )
        .await
        .expect("payout-signer");

        let faucet = devnet.genesis().faucet.clone();
        let now = devnet.node().now();
        let vault_config = VaultConfig {
            signer_key: signer.public_key,
            timeout: vault_timeout,
            window_len: 86_400,
            window_limit: 1_000_000 * TON,
            admin: faucet.clone(),
            jetton_master: None,
            vault_id: 41,
            admin_delay: labelmint_abi::vault::DEFAULT_ADMIN_DELAY,
        };
        let vault = vault_address(&vault_config).expect("vault");
        let treasury_wallet = WalletV4R2::from_seed(seed_from_phrase(THROWAWAY_TREASURY_PHRASE));
        let treasury = treasury_wallet.address().expect("treasury");
        let params = EscrowParams {
            project_id: PROJECT,
            signer_key: signer.public_key,
            deadline: now + 30 * 86_400,
            fee_bps: 250,
            client: faucet.clone(),
            jetton_master: None,
            routes: EscrowRoutes {
                vault: vault.clone(),
                treasury: treasury.clone(),
            },
        };
        let escrow = escrow_address(&params).expect("escrow");
        let relayer_seed = seed_from_phrase(THROWAWAY_RELAYER_PHRASE);
        let relayer = WalletV4R2::from_seed(relayer_seed);

        // Registered in the ledger, the signer's allowlist and the indexer before they exist.
        let ton = CurrencyCode::ton();
        ledger
            .register_currency(&Currency {
                code: ton.clone(),
                decimals: 9,
                jetton_master: None,
            })
            .await
            .expect("currency");
        ledger
            .register_vault(&Vault {
                currency: ton.clone(),
                address: raw(&vault),
            })
            .await
            .expect("vault");
        ledger
            .set_vault_timeout(&ton, vault_timeout)
            .await
            .expect("timeout");
        ledger
            .register_project(&Project {
                id: ProjectId(PROJECT),
                escrow: raw(&escrow),
                currency: ton.clone(),
                client: raw(&faucet),
            })
            .await
            .expect("project");
        signer
            .command(
                "register",
                &[
                    "--vault",
                    &vault.to_string(),
                    "--currency",
                    "TON",
                    "--timeout",
                    &vault_timeout.to_string(),
                    "--onchain-limit",
                    &(1_000_000 * TON).to_string(),
                ],
            )
            .await
            .expect("register vault");
        signer
            .command(
                "register",
                &[
                    "--escrow",
                    &escrow.to_string(),
                    "--project",
                    &PROJECT.to_string(),
                ],
            )
            .await
            .expect("register escrow");
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
        for (address, kind, project_id) in [
            (&escrow, AccountKind::Escrow, Some(PROJECT)),
            (&vault, AccountKind::Vault, None),
        ] {
            indexer
                .store
                .watch(&WatchedAccount {
                    address: raw(address).to_string(),
                    kind,
                    project_id,
                    owner: None,
                    currency: Some("TON".to_owned()),
                })
                .await
                .expect("watch");
        }

        // Deploy the vault (its float), the escrow, the treasury and the relayer.
        let deploy = |to: &StdAddr, amount: u128, body, init| Transfer {
            to: to.clone(),
            amount,
            bounce: false,
            body,
            init: Some(init),
            mode: 3,
        };
        devnet
            .faucet_send(&[
                deploy(
                    &vault,
                    VAULT_FLOAT,
                    Some(VaultTopUp { query_id: 1 }.build().expect("top up")),
                    vault_state_init(&vault_config).expect("init"),
                ),
                deploy(
                    &escrow,
                    TON / 10,
                    Some(EscrowDeploy { query_id: 2 }.build().expect("deploy")),
                    escrow_state_init(&params).expect("init"),
                ),
                deploy(
                    &treasury,
                    TON / 2,
                    None,
                    treasury_wallet.state_init().expect("init"),
                ),
                deploy(
                    &relayer.address().expect("relayer"),
                    5 * TON,
                    None,
                    relayer.state_init().expect("init"),
                ),
            ])
            .expect("faucet");
        let s = Stack {
            db,
            pool,
            ledger,
            devnet,
            indexer,
            signer,
            _signer_dir: signer_dir,
            vault,
            escrow,
            relayer_seed,
        };
        let escrow = s.escrow.clone();
        wait_for("the escrow deployed", Duration::from_secs(30), || async {
            (s.balance(&escrow) > 0).then_some(())
        })
        .await;
        let deposit = EscrowDeposit {
            query_id: 4,
            amount: DEPOSIT,
        }
        .build()
        .expect("deposit");
        s.devnet
            .faucet_send(&[Transfer {
                to: s.escrow.clone(),
                amount: DEPOSIT + TON / 100,
                bounce: true,
                body: Some(deposit),
                init: None,
                mode: 3,
            }])
            .expect("deposit");
        wait_for("the deposit", Duration::from_secs(30), || async {
            (s.balance(&escrow) > DEPOSIT).then_some(())
        })
        .await;
        s
    }

    /// An account's balance on the devnet (0 without an account).
    pub(crate) fn balance(&self, a: &StdAddr) -> u128 {
        self.devnet
            .account(a)
            .ok()
            .and_then(|acc| acc.load_account().ok().flatten())
            .map(|acc| acc.balance.tokens.into_inner())
            .unwrap_or(0)
    }

    /// A settler config for this stack.
    pub(crate) fn settler_config(&self, holder: &str) -> Config {
        let token = std::fs::read_to_string(self._signer_dir.path().join("token")).expect("token");
        let mut c = Config::new(
            self.db.url.clone(),
            vec![LiteServer {
                addr: self.devnet.addr().into(),
                public_key: self.devnet.public_key(),
            }],
            self.signer.url.clone(),
            Token::new(token.trim().to_string()).expect("token"),
            self.relayer_seed,
        );
        c.interval = Duration::from_millis(200);
        c.resend_after = Duration::from_secs(2);
        c.release_ttl = 120;
        c.holder = holder.to_string();
        c
    }

    /// Approves `n` earnings over `workers` workers (amounts vary); returns (worker address,
    /// amount) per earning.
    pub(crate) async fn approve(
        &self,
        tag: &str,
        n: usize,
        workers: u8,
    ) -> Vec<(RawAddress, u128)> {
        let mut out = Vec::new();
        for i in 0..n {
            let w = (i % usize::from(workers)) as u8;
            let address = RawAddress::from_parts(0, &[0x60 + w; 32]);
            let amount = TON / 100 + ((i % 50) as u128) * 100_000;
            self.ledger
                .approve_earning(&NewEarning {
                    submission_key: format!("{tag}:{i}"),
                    worker: format!("worker-{w}"),
                    payout_address: address.clone(),
                    project: ProjectId(PROJECT),
                    amount,
                    decision_id: format!("{tag}-decision-{i}"),
                })
                .await
                .expect("approve");
            out.push((address, amount));
        }
        out
    }

    /// Earnings by state.
    pub(crate) async fn states(&self) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT state, count(*) FROM ledger_earnings GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await
            .expect("states")
    }

    /// Whether every earning is confirmed.
    pub(crate) async fn all_confirmed(&self) -> bool {
        let s = self.states().await;
        s.len() == 1 && s[0].0 == "confirmed"
    }
}
