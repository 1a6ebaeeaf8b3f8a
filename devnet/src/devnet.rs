//! [`spawn`] and the [`Devnet`] handle.

use std::net::SocketAddrV4;
use std::sync::Arc;

use adnl::crypto::{KeyPair, SecretKey};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tycho_types::boc::Boc;
use tycho_types::cell::HashBytes;
use tycho_types::models::{ShardAccount, StdAddr};

use crate::config::{Config, seed_from_phrase};
use crate::engine::genesis::{Genesis, GenesisAccounts};
use crate::engine::validators::{DEFAULT_VALIDATOR_COUNT, ValidatorKeys};
use crate::engine::{Chain, ProducedBlocks};
use crate::error::{Error, Result};
use crate::faucet;
use crate::liteapi::global_config::global_config;
use crate::node::{Node, unix_now};
use crate::wallet::{Transfer, WalletV4R2, seqno_of};

/// A running devnet. Dropping it stops the block producer and the liteserver.
#[derive(Debug)]
pub struct Devnet {
    node: Arc<Node>,
    addr: SocketAddrV4,
    public_key: [u8; 32],
    faucet: WalletV4R2,
    genesis: GenesisAccounts,
    state_dir: Option<std::path::PathBuf>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts a devnet: genesis, the liteserver on `config.listen`, and (with a block time) the
/// block producer. Must run inside a tokio runtime.
pub async fn spawn(config: Config) -> Result<Devnet> {
    let faucet_seed = seed_from_phrase(&config.faucet_phrase);
    let genesis = Genesis {
        faucet_seed,
        faucet_balance: config.faucet_balance,
        jetton_admin: None,
        extra_wallets: Vec::new(),
    };
    let validators = ValidatorKeys::from_phrase(&config.validator_phrase, DEFAULT_VALIDATOR_COUNT);
    let mut chain = Chain::open_with(
        &genesis,
        validators,
        unix_now(),
        config.state_dir.as_deref(),
    )?;
    if chain.master.blocks.len() == 1 {
        chain.produce_genesis_key_block(unix_now())?;
    }
    let accounts = chain.genesis().clone();
    let faucet = WalletV4R2::from_seed(faucet_seed);
    if faucet.address()? != accounts.faucet {
        tracing::warn!(
            stored = %accounts.faucet,
            "the stored chain's faucet was made from another phrase; faucet sends will be rejected"
        );
    }
    let node = Arc::new(Node::new(chain));

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Io {
            path: config.listen.to_string().into(),
            source,
        })?;
    let addr = match listener.local_addr() {
        Ok(std::net::SocketAddr::V4(a)) => a,
        Ok(other) => {
            return Err(Error::BadMessage {
                reason: format!("listening on {other}: IPv4 only"),
            });
        }
        Err(source) => {
            return Err(Error::Io {
                path: config.listen.to_string().into(),
                source,
            });
        }
    };
    let key = KeyPair::from(&SecretKey::from_bytes(seed_from_phrase(
        &config.server_phrase,
    )));
    let public_key = key.public_key.to_bytes();

    let mut tasks = vec![tokio::spawn(crate::liteapi::server::serve(
        listener,
        key,
        node.clone(),
    ))];
    if let Some(interval) = config.block_time {
        let node = node.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                match node.produce_block() {
                    Ok(p) if p.transactions > 0 => tracing::info!(
                        seqno = p.master.seqno,
                        transactions = p.transactions,
                        queued = p.queued,
                        reused_dry_runs = p.reused_dry_runs,
                        "block"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "block production failed"),
                }
            }
        }));
    }

    let devnet = Devnet {
        node,
        addr,
        public_key,
        faucet,
        genesis: accounts,
        state_dir: config.state_dir.clone(),
        tasks,
    };
    if let Some(dir) = &config.state_dir {
        devnet.write_files(dir, &config)?;
    }
    tracing::info!(addr = %devnet.addr, faucet = %devnet.genesis.faucet, "devnet up");
    Ok(devnet)
}

fn write(path: std::path::PathBuf, text: String) -> Result<()> {
    std::fs::write(&path, text).map_err(|source| Error::Io { path, source })
}

impl Devnet {
    /// The liteserver address.
    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }

    /// The liteserver's ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// Genesis addresses (faucet, test USD minter, its admin).
    pub fn genesis(&self) -> &GenesisAccounts {
        &self.genesis
    }

    /// The faucet wallet (its key signs transfers).
    pub fn faucet_wallet(&self) -> &WalletV4R2 {
        &self.faucet
    }

    /// The shared chain (for in-process inspection).
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// Produces a block now (on-demand mode; also works beside the interval).
    pub fn produce_block(&self) -> Result<ProducedBlocks> {
        self.node.produce_block()
    }

    /// Produces blocks until no internal message is queued (at most `max` blocks).
    pub fn settle(&self, max: usize) -> Result<Vec<ProducedBlocks>> {
        let mut out = Vec::new();
        for _ in 0..max {
            let p = self.produce_block()?;
            let done = p.queued == 0 && self.node.lock().pending_externals() == 0;
            out.push(p);
            if done {
                break;
            }
        }
        Ok(out)
    }

    /// An account's current state.
    pub fn account(&self, addr: &StdAddr) -> Result<ShardAccount> {
        self.node.lock().account(addr)
    }

    /// The faucet's current seqno.
    pub fn faucet_seqno(&self) -> Result<u32> {
        let state = self.account(&self.genesis.faucet)?;
        match state.load_account()?.map(|a| a.state) {
            Some(tycho_types::models::AccountState::Active(init)) => {
                seqno_of(&init.data.unwrap_or_default())
            }
            _ => Err(Error::BadMessage {
                reason: "the faucet is not active".into(),
            }),
        }
    }

    /// A signed faucet external carrying `transfers` (not sent).
    pub fn faucet_message(&self, transfers: &[Transfer]) -> Result<Vec<u8>> {
        let seqno = self.faucet_seqno()?;
        let msg = self
            .faucet
            .external_transfer(seqno, self.node.now() + 600, transfers, false)?;
        Ok(Boc::encode(&msg))
    }

    /// Sends `transfers` from the faucet (queued for the next block).
    pub fn faucet_send(&self, transfers: &[Transfer]) -> Result<HashBytes> {
        let boc = self.faucet_message(transfers)?;
        let now = self.node.now();
        self.node.lock().submit_external(&boc, now)
    }

    /// Sends `amount` nanoTON from the faucet to `to` (non-bounceable, so it reaches new
    /// addresses).
    pub fn faucet_ton(&self, to: &StdAddr, amount: u128) -> Result<HashBytes> {
        self.faucet_send(&[faucet::ton_transfer(to, amount)])
    }

    /// Mints `amount` test USD base units (6 decimals) to `to`'s jetton wallet: the faucet,
    /// the minter's admin, sends `labelmint_mint`.
    pub fn faucet_usd(&self, to: &StdAddr, amount: u128) -> Result<HashBytes> {
        if self.genesis.jetton_admin != self.genesis.faucet {
            return Err(Error::BadMessage {
                reason: "the faucet is not the test USD admin on this chain".into(),
            });
        }
        let mint = faucet::usd_mint(&self.genesis.jetton_minter, to, amount, self.node.now())?;
        self.faucet_send(&[mint])
    }

    /// The global config JSON for this devnet.
    pub fn global_config(&self) -> Result<serde_json::Value> {
        let chain = self.node.lock();
        let zero = chain.master.block(0).ok_or_else(|| Error::BlockNotFound {
            block: "masterchain 0".into(),
        })?;
        Ok(global_config(
            self.addr,
            &self.public_key,
            &zero.id,
            &chain.init_block()?.id,
        ))
    }

    /// Makes the next masterchain block a key block that installs `count` validators from
    /// `phrase` as the current set (param 34); rewrites `validators.json` if the devnet has a
    /// state folder. For tests and admin tools: a real network changes its set by elections.
    pub fn rotate_validators(&self, phrase: &str, count: u16) -> Result<()> {
        let now = self.node.now();
        self.node
            .lock()
            .rotate_validators(ValidatorKeys::from_phrase(phrase, count), now)?;
        if let Some(dir) = &self.state_dir {
            write(
                dir.join("validators.json"),
                pretty(&validators_json(
                    phrase,
                    &ValidatorKeys::from_phrase(phrase, count),
                )),
            )?;
        }
        Ok(())
    }

    /// The validators currently signing (what `validators.json` lists).
    pub fn validators_json(&self) -> serde_json::Value {
        let chain = self.node.lock();
        let keys = chain.validators();
        validators_json(keys.phrase(), keys)
    }

    fn write_files(&self, dir: &std::path::Path, config: &Config) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        write(
            dir.join("global-config.json"),
            pretty(&self.global_config()?),
        )?;
        let faucet = serde_json::json!({
            "wallet": "v4r2",
            "phrase": config.faucet_phrase,
            "seed_hex": hex::encode(seed_from_phrase(&config.faucet_phrase)),
            "public_key_hex": hex::encode(self.faucet.public_key()),
            "address": self.genesis.faucet.to_string(),
            "jetton_minter": self.genesis.jetton_minter.to_string(),
            "jetton_admin": self.genesis.jetton_admin.to_string(),
        });
        write(dir.join("faucet.json"), pretty(&faucet))?;
        write(dir.join("validators.json"), pretty(&self.validators_json()))
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// `validators.json`: the phrase (public on a devnet), and each validator's public key, short
/// node id and weight, in the order of config param 34.
fn validators_json(phrase: &str, keys: &ValidatorKeys) -> serde_json::Value {
    serde_json::json!({
        "phrase": phrase,
        "derivation": "validator i: ed25519 seed sha256(\"labelmint-devnet/\" + phrase + \"/validator/\" + i)",
        "config_param": 34,
        "validators": keys.published(),
    })
}
