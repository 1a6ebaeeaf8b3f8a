//! A devnet for load: the real devnet engine (`labelmint_devnet::engine::Chain`) with many
//! wallets funded at genesis, served over the real liteserver protocol by one or more
//! liteservers, each in a tokio runtime of its own so that stopping one really closes its
//! connections (as a process exit would). Blocks are produced by the caller.
//!
//! Shared by the integration tests and the benchmark (`benches/indexer.rs` includes this
//! file). The wallet and server keys come from public phrases: THROWAWAY keys.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use adnl::crypto::{KeyPair, SecretKey};
use labelmint_devnet::config::{DEFAULT_FAUCET_PHRASE, seed_from_phrase};
use labelmint_devnet::engine::genesis::{DEFAULT_FAUCET_BALANCE, Genesis};
use labelmint_devnet::engine::{Chain, ProducedBlocks};
use labelmint_devnet::node::{Node, unix_now};
use labelmint_devnet::wallet::{Transfer, WalletV4R2, seqno_of};
use tycho_types::boc::Boc;
use tycho_types::cell::HashBytes;
use tycho_types::models::{AccountState, StdAddr};

/// Transfers per wallet external (wallet v4r2 takes at most 4).
pub const TRANSFERS_PER_EXTERNAL: usize = 4;
/// Transactions per external: the wallet's own, then one delivery per transfer.
pub const TXS_PER_EXTERNAL: usize = 1 + TRANSFERS_PER_EXTERNAL;
/// nanoTON per transfer.
const TRANSFER_AMOUNT: u128 = 1_000_000;

/// THROWAWAY: the load wallets' keys come from this public phrase and their index.
fn wallet_seed(i: usize) -> [u8; 32] {
    seed_from_phrase(&format!("THROWAWAY indexer load wallet {i}"))
}

/// THROWAWAY: liteserver `i`'s ADNL key.
fn server_key(i: usize) -> KeyPair {
    KeyPair::from(&SecretKey::from_bytes(seed_from_phrase(&format!(
        "THROWAWAY indexer load liteserver {i}"
    ))))
}

struct Server {
    port: u16,
    public_key: [u8; 32],
    runtime: Option<tokio::runtime::Runtime>,
}

/// The chain, its liteservers and the load wallets.
pub struct LoadNet {
    /// The chain (lock it to read).
    pub node: Arc<Node>,
    servers: Vec<Server>,
    wallets: Vec<(WalletV4R2, StdAddr, u32)>,
    cursor: usize,
    next_dest: u64,
    dir: Option<PathBuf>,
}

impl LoadNet {
    /// A new chain (kept in `dir` when given) with `wallets` funded wallets, and `servers`
    /// liteservers on free ports.
    pub fn start(wallets: usize, servers: usize, dir: Option<&Path>) -> LoadNet {
        let ports = vec![0; servers];
        Self::open(wallets, &ports, dir)
    }

    fn open(wallets: usize, ports: &[u16], dir: Option<&Path>) -> LoadNet {
        let seeds: Vec<[u8; 32]> = (0..wallets).map(wallet_seed).collect();
        let genesis = Genesis {
            faucet_seed: seed_from_phrase(DEFAULT_FAUCET_PHRASE),
            faucet_balance: DEFAULT_FAUCET_BALANCE,
            jetton_admin: None,
            extra_wallets: seeds.clone(),
        };
        let chain = Chain::open(&genesis, unix_now(), dir).expect("chain");
        let wallets = seeds
            .into_iter()
            .map(|s| {
                let w = WalletV4R2::from_seed(s);
                let a = w.address().expect("address");
                let seqno = match chain
                    .account(&a)
                    .expect("account")
                    .load_account()
                    .expect("load")
                    .map(|x| x.state)
                {
                    Some(AccountState::Active(init)) => {
                        seqno_of(&init.data.unwrap_or_default()).expect("seqno")
                    }
                    _ => 0,
                };
                (w, a, seqno)
            })
            .collect();
        let node = Arc::new(Node::new(chain));
        let mut net = LoadNet {
            node,
            servers: Vec::new(),
            wallets,
            cursor: 0,
            next_dest: 0,
            dir: dir.map(Path::to_path_buf),
        };
        for (i, port) in ports.iter().enumerate() {
            let s = net.serve(i, *port);
            net.servers.push(s);
        }
        net
    }

    fn serve(&self, i: usize, port: u16) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        // Bound without block_on: the caller may be inside another runtime.
        let std_listener =
            std::net::TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
                .expect("bind liteserver");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener).expect("listener")
        };
        let port = listener.local_addr().expect("addr").port();
        let key = server_key(i);
        let public_key = key.public_key.to_bytes();
        runtime.spawn(labelmint_devnet::liteapi::server::serve(
            listener,
            key,
            self.node.clone(),
        ));
        Server {
            port,
            public_key,
            runtime: Some(runtime),
        }
    }

    /// Stops liteserver `i`: its listener and every connection close.
    pub fn stop_server(&mut self, i: usize) {
        if let Some(rt) = self.servers[i].runtime.take() {
            rt.shutdown_background();
        }
    }

    /// Starts liteserver `i` again on its port.
    pub fn start_server(&mut self, i: usize) {
        self.stop_server(i);
        let s = self.serve(i, self.servers[i].port);
        self.servers[i] = s;
    }

    /// Stops everything (the chain stays in its folder), then opens the folder again with the
    /// liteservers on the same ports: a devnet restart.
    /// `down` is how long it stays stopped.
    pub fn restart_after(self, down: std::time::Duration) -> LoadNet {
        let ports: Vec<u16> = self.servers.iter().map(|s| s.port).collect();
        let wallets = self.wallets.len();
        let dir = self.dir.clone().expect("a restart needs a state folder");
        drop(self);
        std::thread::sleep(down);
        Self::open(wallets, &ports, Some(&dir))
    }

    /// A TON global config naming the liteservers and the trusted init block (the zero state).
    pub fn global_config(&self) -> String {
        use base64::Engine as _;
        let servers: Vec<serde_json::Value> = self
            .servers
            .iter()
            .map(|s| {
                serde_json::json!({
                    "ip": i32::from_be_bytes(Ipv4Addr::LOCALHOST.octets()),
                    "port": s.port,
                    "id": {
                        "@type": "pub.ed25519",
                        "key": base64::engine::general_purpose::STANDARD.encode(s.public_key),
                    },
                })
            })
            .collect();
        let init = self.init_block();
        let b64 = |h: [u8; 32]| base64::engine::general_purpose::STANDARD.encode(h);
        let block = serde_json::json!({
            "workchain": init.workchain,
            "shard": i64::from_ne_bytes(init.shard.to_ne_bytes()),
            "seqno": init.seqno,
            "root_hash": b64(init.root_hash),
            "file_hash": b64(init.file_hash),
        });
        serde_json::json!({
            "@type": "config.global",
            "liteservers": servers,
            "validator": {
                "@type": "validator.config.global",
                "zero_state": block,
                "init_block": block,
                "hardforks": [],
            },
        })
        .to_string()
    }

    /// The chain's init block (its genesis key block, as the devnet's global config names
    /// it): the trusted block the indexer verifies from.
    pub fn init_block(&self) -> labelmint_indexer::model::BlockRef {
        let chain = self.node.lock();
        let b = chain.init_block().expect("init block");
        labelmint_indexer::model::BlockRef {
            workchain: b.id.shard.workchain(),
            shard: b.id.shard.prefix(),
            seqno: b.id.seqno,
            root_hash: b.id.root_hash.0,
            file_hash: b.id.file_hash.0,
        }
    }

    /// The liteservers, as the indexer's config names them.
    pub fn liteservers(&self) -> Vec<labelmint_indexer::lite::LiteServer> {
        self.servers
            .iter()
            .map(|s| labelmint_indexer::lite::LiteServer {
                addr: SocketAddrV4::new(Ipv4Addr::LOCALHOST, s.port).into(),
                public_key: s.public_key,
            })
            .collect()
    }

    /// Submits `externals` wallet externals of [`TRANSFERS_PER_EXTERNAL`] transfers each to new
    /// addresses (at most one per wallet and block: call [`LoadNet::produce`] in between).
    /// Returns the transactions they will make.
    pub fn submit(&mut self, externals: usize) -> usize {
        assert!(
            externals <= self.wallets.len(),
            "one external per wallet and block"
        );
        let now = self.node.now();
        let mut bocs = Vec::with_capacity(externals);
        for _ in 0..externals {
            let i = self.cursor;
            self.cursor = (self.cursor + 1) % self.wallets.len();
            let transfers: Vec<Transfer> = (0..TRANSFERS_PER_EXTERNAL)
                .map(|_| {
                    self.next_dest += 1;
                    let mut to = [0u8; 32];
                    to[..8].copy_from_slice(&self.next_dest.to_be_bytes());
                    to[8..16].copy_from_slice(&u64::from(now).to_be_bytes());
                    to[16] = 0x1d;
                    Transfer {
                        to: StdAddr::new(0, HashBytes(to)),
                        amount: TRANSFER_AMOUNT,
                        bounce: false,
                        body: None,
                        init: None,
                        mode: 3,
                    }
                })
                .collect();
            let (w, _, seqno) = &mut self.wallets[i];
            let msg = w
                .external_transfer(*seqno, now + 600, &transfers, false)
                .expect("external");
            *seqno += 1;
            bocs.push(Boc::encode(&msg));
        }
        let mut chain = self.node.lock();
        for b in &bocs {
            chain.submit_external(b, now).expect("external accepted");
        }
        externals * TXS_PER_EXTERNAL
    }

    /// Produces the next masterchain and basechain blocks.
    pub fn produce(&self) -> ProducedBlocks {
        self.node.produce_block().expect("block")
    }

    /// The last masterchain seqno.
    pub fn head(&self) -> u32 {
        self.node.lock().last_master().expect("head").id.seqno
    }

    /// Every transaction hash on the chain (both workchains).
    pub fn tx_hashes(&self) -> HashSet<[u8; 32]> {
        let chain = self.node.lock();
        chain
            .master
            .history
            .values()
            .chain(chain.base.history.values())
            .flat_map(|h| h.values().map(|(_, hash, _)| hash.0))
            .collect()
    }
}

impl Drop for LoadNet {
    fn drop(&mut self) {
        for i in 0..self.servers.len() {
            self.stop_server(i);
        }
    }
}
