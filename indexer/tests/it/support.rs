//! Shared test support: one real Postgres database per test, the committed sandbox fixtures,
//! and a tiny in-process liteserver.

use std::collections::HashMap;
use std::net::SocketAddr;

use adnl::AdnlPeer;
use adnl::crypto::{KeyPair, SecretKey};
use base64::Engine as _;
use labelmint_indexer::decode::{DecodedTransaction, decode_transaction};
use labelmint_indexer::lite::LiteServer;
use labelmint_indexer::model::{BlockRef, SHARD_FULL};
use labelmint_indexer::store::Store;
use labelmint_testdb::ScratchDb;
use serde::Deserialize;
use sqlx::AssertSqlSafe;
use tokio::net::TcpListener;
use ton_liteapi::layers::UnwrapMessagesLayer;
use ton_liteapi::peer::LitePeer;
use ton_liteapi::tl::request::WrappedRequest;
use ton_liteapi::tl::response::Response;
use ton_liteapi::types::LiteError;
use tower::ServiceBuilder;

/// A fresh database with the migrations applied, dropped when the value is dropped (also when
/// the test panics).
pub(crate) struct TestDb {
    pub(crate) store: Store,
    /// The database's own URL (for an indexer started on it).
    pub(crate) url: String,
    _db: ScratchDb,
}

impl TestDb {
    pub(crate) async fn new() -> TestDb {
        let db = ScratchDb::create("labelmint_it").await;
        let pool = db.pool(4).await;
        let url = db.url.clone();
        let store = Store::from_pool(pool);
        store.migrate().await.expect("migrations");
        TestDb {
            store,
            url,
            _db: db,
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

/// `indexer/tests/fixtures/jetton_bounces.json` (written by contracts/scripts/indexerFixtures.ts):
/// transfers refused by jetton wallets that the test USD's admin locked.
pub(crate) fn jetton_bounces() -> Flows {
    let text = include_str!("../fixtures/jetton_bounces.json");
    serde_json::from_str(text).expect("fixtures/jetton_bounces.json")
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
