//! A seeded scratch database (the indexer's and the ledger's migrations, the ledger's own API
//! for projects, earnings and batches, indexer-shaped rows for the chain), the server on it,
//! and a tiny HTTP client.

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use labelmint_api::auth::keys::{self, Scope};
use labelmint_api::{Config, Handle};
use labelmint_ledger::{
    BatchId, BatchRequest, Currency, CurrencyCode, Ledger, NewEarning, Project, ProjectId,
    RawAddress, Vault,
};
use labelmint_testdb::ScratchDb;
use sqlx::postgres::PgPool;

pub(crate) const TON_PROJECT: u64 = 101;
pub(crate) const USD_PROJECT: u64 = 201;
pub(crate) const TON: u128 = 1_000_000_000;

/// `0:<n repeated 32 times>`.
pub(crate) fn addr(n: u8) -> RawAddress {
    RawAddress::from_parts(0, &[n; 32])
}

/// THROWAWAY escrow settings of the test server: signer key [7; 32] (no one holds its
/// secret), treasury addr(249), 2.5 %.
pub(crate) fn test_writes() -> labelmint_api::config::WriteConfig {
    labelmint_api::config::WriteConfig {
        signer_key: [7; 32],
        treasury: labelmint_abi::address::parse_raw(addr(249).as_str()).expect("treasury"),
        fee_bps: 250,
    }
}

/// What [`Seeded::new`] made, and the server on it.
pub(crate) struct Seeded {
    pub(crate) pool: PgPool,
    pub(crate) server: Option<Handle>,
    pub(crate) base: String,
    pub(crate) ton_batch: BatchId,
    pub(crate) usd_batch: BatchId,
    /// The TON release's transaction hash and its in-message hash.
    pub(crate) release_tx: [u8; 32],
    pub(crate) release_msg: [u8; 32],
    next_tx: u8,
    pub(crate) db: Option<ScratchDb>,
    /// An admin key (what [`Seeded::get`] sends) and a read key.
    pub(crate) admin_key: String,
    pub(crate) read_key: String,
    /// The webhook key every server of this database uses (secrets made by one open in the
    /// next after a restart).
    pub(crate) hook_key: labelmint_api::webhooks::SealKey,
}

impl Seeded {
    /// TON (9) and USD (6); projects 101 (TON) and 201 (USD) of client addr(230); vaults
    /// addr(250) (TON) and addr(251) (USD). TON: deposit 10, release 0.5 + fee 0.012 (fee leg
    /// bounced back), vault funded 0.5, batch 1 pays ann addr(1) 0.3 (paid) and ben addr(2)
    /// 0.2 (bounced, 0.19 back). USD: deposit 5, cat addr(3) 3.25 in a sent batch. Then
    /// `extra_deposits` more 1-nanoTON deposits on project 101 (paging). Chain time 2,000.
    pub(crate) async fn new(extra_deposits: u8) -> Seeded {
        let db = ScratchDb::create("labelmint_api").await;
        let pool = db.pool(4).await;
        labelmint_indexer::store::Store::from_pool(pool.clone())
            .migrate()
            .await
            .expect("indexer migrations");
        let ledger = Ledger::from_pool(pool.clone());
        ledger.migrate().await.expect("ledger migrations");
        labelmint_payout_signer::store::migrate(&pool)
            .await
            .expect("signer migrations");
        let ton = CurrencyCode::ton();
        let usd = CurrencyCode::new("USD").expect("USD");
        for (code, decimals, master) in [(&ton, 9, None), (&usd, 6, Some(addr(240)))] {
            ledger
                .register_currency(&Currency {
                    code: code.clone(),
                    decimals,
                    jetton_master: master,
                })
                .await
                .expect("currency");
        }
        for (p, c, v) in [(TON_PROJECT, &ton, 250), (USD_PROJECT, &usd, 251)] {
            ledger
                .register_project(&Project {
                    id: ProjectId(p),
                    escrow: addr(p as u8),
                    currency: c.clone(),
                    client: addr(230),
                })
                .await
                .expect("project");
            ledger
                .register_vault(&Vault {
                    currency: c.clone(),
                    address: addr(v),
                })
                .await
                .expect("vault");
        }
        let mut s = Seeded {
            pool,
            server: None,
            base: String::new(),
            ton_batch: BatchId(0),
            usd_batch: BatchId(0),
            release_tx: [0; 32],
            release_msg: [0xee; 32],
            next_tx: 1,
            db: Some(db),
            admin_key: String::new(),
            read_key: String::new(),
            hook_key: labelmint_api::webhooks::SealKey::random(),
        };
        s.set_chain_time(2_000).await;
        let approve =
            |key: &str, worker: &str, to: RawAddress, project: u64, amount: u128| NewEarning {
                submission_key: key.to_owned(),
                worker: worker.to_owned(),
                payout_address: to,
                project: ProjectId(project),
                amount,
                decision_id: format!("decision-of-{key}"),
            };
        ledger
            .approve_earning(&approve("t1/s1", "ann", addr(1), TON_PROJECT, 3 * TON / 10))
            .await
            .expect("ann");
        let ben = ledger
            .approve_earning(&approve("t1/s2", "ben", addr(2), TON_PROJECT, 2 * TON / 10))
            .await
            .expect("ben")
            .earning_id;
        let esc = addr(TON_PROJECT as u8);
        s.event(&esc, "ev_deposit", 10 * TON, None, None, None)
            .await;
        s.release_tx = s
            .event(
                &esc,
                "ev_release",
                TON / 2,
                Some(12 * TON / 1000),
                None,
                None,
            )
            .await;
        s.event(
            &esc,
            "ev_release_bounced",
            12 * TON / 1000,
            None,
            None,
            None,
        )
        .await;
        s.event(
            &addr(250),
            "ev_vault_funded",
            TON / 2,
            None,
            None,
            Some(TON_PROJECT),
        )
        .await;
        let batch = ledger
            .form_batch(&BatchRequest {
                currency: ton.clone(),
                max_items: 250,
                max_total: 10 * TON,
                query_id: 77,
                created_at: 1_000,
                valid_until: 1_100,
            })
            .await
            .expect("form")
            .expect("a TON batch");
        s.ton_batch = batch.id;
        let _ = ledger.mark_signed(batch.id, [7; 32]).await.expect("signed");
        s.event(
            &addr(250),
            "ev_batch_executed",
            TON / 2,
            None,
            Some(77),
            None,
        )
        .await;
        // The bounce carries the payout item id: ben's item (one earning: the item id is
        // the one the ledger gave it).
        let ben_item: i64 = sqlx::query_scalar(
            "SELECT p.id FROM ledger_payout_items p JOIN ledger_batch_items i \
             ON i.batch_id = p.batch_id AND i.position = p.position WHERE i.earning_id = $1",
        )
        .bind(ben.get() as i64)
        .fetch_one(&s.pool)
        .await
        .expect("ben's item");
        s.event_item(
            &addr(250),
            "ev_payout_bounced",
            19 * TON / 100,
            ben_item as u64,
        )
        .await;
        s.event(
            &addr(USD_PROJECT as u8),
            "ev_deposit",
            5_000_000,
            None,
            None,
            None,
        )
        .await;
        ledger
            .approve_earning(&approve("t9/s1", "cat", addr(3), USD_PROJECT, 3_250_000))
            .await
            .expect("cat");
        let usd_batch = ledger
            .form_batch(&BatchRequest {
                currency: usd,
                max_items: 250,
                max_total: 5_000_000,
                query_id: 9,
                created_at: 1_000,
                valid_until: 1_050,
            })
            .await
            .expect("form")
            .expect("a USD batch");
        s.usd_batch = usd_batch.id;
        let _ = ledger
            .mark_signed(usd_batch.id, [8; 32])
            .await
            .expect("signed");
        let _ = ledger.mark_sent(usd_batch.id, [9; 32]).await.expect("sent");
        for _ in 0..extra_deposits {
            s.event(&esc, "ev_deposit", 1, None, None, None).await;
        }
        while ledger.ingest_chain_events(100).await.expect("ingest").seen > 0 {}
        // The release's inbound message (an external, as a relayer sends it).
        sqlx::query(
            "INSERT INTO messages (tx_hash, direction, idx, msg_hash, msg_kind, dst, body_hash) \
             VALUES ($1, 'in', 0, $2, 'ext_in', $3, $2)",
        )
        .bind(s.release_tx.to_vec())
        .bind(s.release_msg.to_vec())
        .bind(esc.as_str())
        .execute(&s.pool)
        .await
        .expect("message");
        let url = s.db.as_ref().expect("db").url.clone();
        let mut config = Config::test(&url);
        config.writes = Some(test_writes());
        config.webhooks.key = Some(s.hook_key.clone());
        let server = labelmint_api::spawn(config).await.expect("spawn the API");
        s.base = format!("http://{}", server.addr());
        s.server = Some(server);
        s.admin_key = s.key(Scope::Admin, None).await;
        s.read_key = s.key(Scope::Read, None).await;
        s
    }

    /// Stops the server and starts a new one on the same database with `config` changed.
    pub(crate) async fn respawn(&mut self, change: impl FnOnce(&mut Config)) {
        if let Some(old) = self.server.take() {
            old.shutdown().await.expect("shut down");
        }
        let url = self.db.as_ref().expect("db").url.clone();
        let mut config = Config::test(&url);
        config.webhooks.key = Some(self.hook_key.clone());
        change(&mut config);
        let server = labelmint_api::spawn(config).await.expect("spawn the API");
        self.base = format!("http://{}", server.addr());
        self.server = Some(server);
    }

    /// A new API key (through the crate's own function, as the CLI makes them).
    pub(crate) async fn key(&self, scope: Scope, client: Option<&str>) -> String {
        keys::create(&self.pool, scope, client, "test")
            .await
            .expect("key")
            .key
            .expose()
            .to_owned()
    }

    /// GET `path` with `bearer` (`None`: anonymous).
    pub(crate) async fn get_as(&self, path: &str, bearer: Option<&str>) -> Resp {
        request("GET", &format!("{}{path}", self.base), bearer, None).await
    }

    /// `method` `path` with `bearer` and a JSON body.
    pub(crate) async fn send_as(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Resp {
        request(
            method,
            &format!("{}{path}", self.base),
            bearer,
            body.map(|b| b.to_string()),
        )
        .await
    }

    /// POST `path` with `bearer`, an `Idempotency-Key` (when given) and a JSON body.
    pub(crate) async fn post_idem(
        &self,
        path: &str,
        bearer: Option<&str>,
        key: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Resp {
        let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
        request_with(
            "POST",
            &format!("{}{path}", self.base),
            bearer,
            body.map(|b| b.to_string()),
            &headers,
        )
        .await
    }

    /// Moves the indexer's checkpoint to a new masterchain block at unix time `t`.
    pub(crate) async fn set_chain_time(&self, t: i64) {
        labelmint_testdb::set_chain_time(&self.pool, t).await;
    }

    async fn event_item(&mut self, contract: &RawAddress, kind: &str, amount: u128, item: u64) {
        let tx = self.event(contract, kind, amount, None, None, None).await;
        sqlx::query("UPDATE events SET payout_item_id = $2::text::numeric WHERE tx_hash = $1")
            .bind(tx.to_vec())
            .bind(item.to_string())
            .execute(&self.pool)
            .await
            .expect("item id");
    }

    /// Writes one event and its transaction as the indexer does for a watched contract.
    pub(crate) async fn event(
        &mut self,
        contract: &RawAddress,
        kind: &str,
        amount: u128,
        fee: Option<u128>,
        query_id: Option<u64>,
        project_id: Option<u64>,
    ) -> [u8; 32] {
        self.event_with(
            contract,
            kind,
            amount,
            fee,
            query_id,
            project_id,
            serde_json::json!({}),
        )
        .await
    }

    /// [`Seeded::event`] with its `fields`, in one transaction (as the indexer commits).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn event_with(
        &mut self,
        contract: &RawAddress,
        kind: &str,
        amount: u128,
        fee: Option<u128>,
        query_id: Option<u64>,
        project_id: Option<u64>,
        fields: serde_json::Value,
    ) -> [u8; 32] {
        let mut db = self.pool.begin().await.expect("begin");
        let tx_hash = [self.next_tx; 32];
        self.next_tx += 1;
        let lt = 1_000 + i64::from(self.next_tx) * 10;
        let now: i64 = 1_500 + i64::from(self.next_tx);
        sqlx::query(
            "INSERT INTO transactions (account, lt, hash, block_workchain, block_shard, block_seqno, \
                 mc_seqno, now, prev_trans_hash, prev_trans_lt, orig_status, end_status, total_fees, \
                 tx_kind, aborted, destroyed, out_msg_count, boc) \
             VALUES ($1, $2, $3, 0, -9223372036854775808, 1, 1, $4, $5, 0, 'active', 'active', 0, \
                 'ordinary', false, false, 1, '\\x00')",
        )
        .bind(contract.as_str())
        .bind(lt)
        .bind(tx_hash.to_vec())
        .bind(now)
        .bind([0u8; 32].to_vec())
        .execute(&mut *db)
        .await
        .expect("transaction");
        let ckind = if kind.starts_with("ev_vault")
            || kind.starts_with("ev_batch")
            || kind.starts_with("ev_payout")
        {
            "vault"
        } else {
            "escrow"
        };
        sqlx::query(
            "INSERT INTO events (tx_hash, msg_idx, contract, contract_kind, lt, now, mc_seqno, kind, \
                 project_id, query_id, amount, fee, fields) \
             VALUES ($1, 0, $2, $3, $4, $5, 1, $6, $7::text::numeric, $8::text::numeric, \
                 $9::text::numeric, $10::text::numeric, $11)",
        )
        .bind(tx_hash.to_vec())
        .bind(contract.as_str())
        .bind(ckind)
        .bind(lt)
        .bind(now)
        .bind(kind)
        .bind(project_id.map(|v| v.to_string()))
        .bind(query_id.map(|v| v.to_string()))
        .bind(amount.to_string())
        .bind(fee.map(|v| v.to_string()))
        .bind(fields)
        .execute(&mut *db)
        .await
        .expect("event");
        db.commit().await.expect("commit");
        tx_hash
    }

    /// An external message BoC (url-safe base64) whose TEP-467 normalized hash is now the
    /// release transaction's in-message's: what a `by-boc` lookup of it finds.
    pub(crate) async fn release_boc(&self) -> String {
        use base64::Engine as _;
        use tycho_types::cell::{CellBuilder, HashBytes};
        use tycho_types::models::{ExtInMsgInfo, IntAddr, Message, MsgInfo, StdAddr};
        use tycho_types::num::Tokens;
        let mut body = CellBuilder::new();
        body.store_u32(0x0ddba11).expect("bits");
        let body = body.build().expect("body");
        let msg = CellBuilder::build_from(Message {
            info: MsgInfo::ExtIn(ExtInMsgInfo {
                src: None,
                dst: IntAddr::Std(StdAddr::new(0, HashBytes([TON_PROJECT as u8; 32]))),
                import_fee: Tokens::ZERO,
            }),
            init: None,
            body: body.as_slice().expect("slice"),
            layout: None,
        })
        .expect("message");
        let norm = labelmint_abi::message_hash::normalized_hash(&msg).expect("ext-in");
        sqlx::query("UPDATE messages SET norm_hash = $2 WHERE tx_hash = $1 AND direction = 'in'")
            .bind(self.release_tx.to_vec())
            .bind(norm.to_vec())
            .execute(&self.pool)
            .await
            .expect("norm_hash");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tycho_types::boc::Boc::encode(&msg))
    }

    /// GET `path` as the admin key: status, content type, body.
    pub(crate) async fn get(&self, path: &str) -> Resp {
        self.get_as(path, Some(&self.admin_key)).await
    }
}

/// An answer.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) request_id: Option<String>,
    pub(crate) body: String,
    /// `Idempotent-Replayed: true` was set.
    pub(crate) replayed: bool,
}

impl Resp {
    /// The body as JSON, asserting 200 and application/json.
    pub(crate) fn ok(&self) -> serde_json::Value {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(
            self.content_type.starts_with("application/json"),
            "{self:?}"
        );
        serde_json::from_str(&self.body).expect("JSON")
    }

    /// The body as JSON, asserting `status` and application/json.
    pub(crate) fn json(&self, status: u16) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(
            self.content_type.starts_with("application/json"),
            "{self:?}"
        );
        serde_json::from_str(&self.body).expect("JSON")
    }

    /// The problem document, asserting status, media type and `type` slug.
    pub(crate) fn problem(&self, status: u16, slug: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "{self:?}");
        let p: serde_json::Value = serde_json::from_str(&self.body).expect("problem JSON");
        assert_eq!(
            p["type"],
            format!("https://labelmint.dev/problems/{slug}"),
            "{p}"
        );
        assert_eq!(p["status"], status);
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
        assert!(p["detail"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
        assert!(
            p["instance"].as_str().is_some_and(|t| t.starts_with('/')),
            "{p}"
        );
        assert_eq!(p["request_id"].as_str(), self.request_id.as_deref(), "{p}");
        p
    }
}

/// GET `url`, anonymous.
pub(crate) async fn get(url: &str) -> Resp {
    request("GET", url, None, None).await
}

/// `method` `url` with an optional bearer and JSON body.
pub(crate) async fn request(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<String>,
) -> Resp {
    request_with(method, url, bearer, body, &[]).await
}

/// [`request`] with more headers.
pub(crate) async fn request_with(
    method: &str,
    url: &str,
    bearer: Option<&str>,
    body: Option<String>,
    headers: &[(&str, &str)],
) -> Resp {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = hyper::Request::builder().method(method).uri(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    if let Some(b) = bearer {
        req = req.header("authorization", format!("Bearer {b}"));
    }
    if body.is_some()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request");
    let res = client.request(req).await.expect("request");
    let status = res.status().as_u16();
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let request_id = header("x-request-id");
    let replayed = header("idempotent-replayed").as_deref() == Some("true");
    let body = res.into_body().collect().await.expect("body").to_bytes();
    Resp {
        status,
        content_type,
        request_id,
        body: String::from_utf8_lossy(&body).into_owned(),
        replayed,
    }
}

/// `method` `url` with an `x-request-id`: status and the echoed id.
pub(crate) async fn send(method: &str, url: &str, request_id: &str) -> (u16, Option<String>) {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("x-request-id", request_id)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let res = client.request(req).await.expect("send");
    let id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (res.status().as_u16(), id)
}
