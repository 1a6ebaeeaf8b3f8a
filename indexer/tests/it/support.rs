//! Shared test support: one real Postgres database per test, the committed sandbox fixtures,
//! and a tiny in-process liteserver.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::OnceLock;

use adnl::AdnlPeer;
use adnl::crypto::{KeyPair, SecretKey};
use base64::Engine as _;
use labelmint_indexer::decode::{DecodedTransaction, decode_transaction};
use labelmint_indexer::lite::LiteServer;
use labelmint_indexer::model::{BlockRef, SHARD_FULL};
use labelmint_indexer::store::Store;
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tokio::net::TcpListener;
use ton_liteapi::layers::UnwrapMessagesLayer;
use ton_liteapi::peer::LitePeer;
use ton_liteapi::tl::request::WrappedRequest;
use ton_liteapi::tl::response::Response;
use ton_liteapi::types::LiteError;
use tower::ServiceBuilder;

/// DATABASE_URL, or the private cluster of scripts/pg.sh (started if needed: idempotent).
pub(crate) fn database_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return url;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg.sh");
        let out = Command::new("bash")
            .arg(script)
            .output()
            .expect("run scripts/pg.sh");
        assert!(
            out.status.success(),
            "scripts/pg.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("DATABASE_URL="))
            .next_back()
            .expect("scripts/pg.sh prints DATABASE_URL")
            .to_owned()
    })
    .clone()
}

/// A fresh database with the migrations applied, dropped when the value is dropped (also when
/// the test panics).
pub(crate) struct TestDb {
    pub(crate) store: Store,
    /// The database's own URL (for an indexer started on it).
    pub(crate) url: String,
    name: String,
    admin: String,
}

impl TestDb {
    pub(crate) async fn new() -> TestDb {
        let admin = database_url();
        let name = format!("labelmint_it_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::connect(&admin).await.expect("connect admin");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        let opts: PgConnectOptions = admin
            .parse::<PgConnectOptions>()
            .expect("url")
            .database(&name);
        let url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("DATABASE_URL without a database name: {admin}"),
        };
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .expect("connect test database");
        let store = Store::from_pool(pool);
        store.migrate().await.expect("migrations");
        TestDb {
            store,
            url,
            name,
            admin,
        }
    }

    /// `SELECT count(*) FROM <table>`.
    pub(crate) async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(self.store.pool())
            .await
            .expect("count")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (name, admin) = (self.name.clone(), self.admin.clone());
        // A runtime of its own: Drop cannot await, and the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    let _ = sqlx::query(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut c)
                    .await;
                }
            });
        })
        .join();
    }
}

/// `indexer/tests/fixtures/flows.json` (written by contracts/scripts/indexerFixtures.ts).
#[derive(Debug, Deserialize)]
pub(crate) struct Flows {
    pub(crate) accounts: HashMap<String, String>,
    pub(crate) steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Step {
    pub(crate) name: String,
    pub(crate) transactions: Vec<FxTx>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FxTx {
    pub(crate) account: String,
    pub(crate) lt: String,
    pub(crate) hash: String,
    pub(crate) now: u32,
    pub(crate) orig_status: String,
    pub(crate) end_status: String,
    pub(crate) total_fees: String,
    pub(crate) compute_exit_code: Option<i32>,
    pub(crate) aborted: Option<bool>,
    pub(crate) out_msg_count: u16,
    pub(crate) messages: Vec<FxMsg>,
    pub(crate) boc: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FxMsg {
    pub(crate) direction: String,
    pub(crate) idx: u16,
    pub(crate) kind: String,
    pub(crate) src: Option<String>,
    pub(crate) dst: Option<String>,
    pub(crate) value: Option<String>,
    pub(crate) bounce: Option<bool>,
    pub(crate) bounced: Option<bool>,
    pub(crate) body_hash: String,
}

impl FxTx {
    pub(crate) fn boc(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.boc)
            .expect("fixture base64")
    }
}

pub(crate) fn flows() -> Flows {
    let text = include_str!("../fixtures/flows.json");
    serde_json::from_str(text).expect("fixtures/flows.json")
}

impl Flows {
    pub(crate) fn step(&self, name: &str) -> &Step {
        self.steps
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no step {name}"))
    }

    pub(crate) fn account(&self, name: &str) -> String {
        self.accounts[name].clone()
    }
}

/// A synthetic basechain block for fixture transactions.
pub(crate) fn block(seqno: u32) -> BlockRef {
    let mut h = [0u8; 32];
    h[..4].copy_from_slice(&seqno.to_be_bytes());
    BlockRef {
        workchain: 0,
        shard: SHARD_FULL,
        seqno,
        root_hash: h,
        file_hash: h,
    }
}

/// Decodes every transaction of a step.
pub(crate) fn decode_step(step: &Step, seqno: u32) -> Vec<DecodedTransaction> {
    step.transactions
        .iter()
        .map(|t| decode_transaction(&t.boc(), block(seqno)).expect("decode fixture"))
        .collect()
}

/// A liteserver on 127.0.0.1:<free port> answering every query with `answer(request)`.
pub(crate) async fn liteserver<F>(answer: F) -> (LiteServer, tokio::task::JoinHandle<()>)
where
    F: Fn(WrappedRequest) -> Option<Response> + Send + Sync + Clone + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let key = KeyPair::from(&SecretKey::from_bytes([9u8; 32]));
    let public_key = key.public_key.to_bytes();
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let Ok(adnl) = AdnlPeer::handle_handshake(socket, |_| Some(key)).await else {
                    return;
                };
                let service = ServiceBuilder::new().layer(UnwrapMessagesLayer).service_fn(
                    move |req: WrappedRequest| {
                        let answer = answer.clone();
                        async move {
                            match answer(req) {
                                Some(r) => Ok::<_, LiteError>(r),
                                // "Never answers": park this request forever.
                                None => std::future::pending().await,
                            }
                        }
                    },
                );
                let _ = tokio_tower::multiplex::Server::new(LitePeer::new(adnl), service).await;
            });
        }
    });
    (LiteServer { addr, public_key }, task)
}
