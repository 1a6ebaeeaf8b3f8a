//! The liteserver client: ton_liteapi's `LiteClient`, made safe to tail a chain with.
//!
//! ton_liteapi 0.2.0's client takes `&mut self`, has no timeouts, no reconnect and no failover.
//! [`Lite`] wraps it:
//!
//! - every request (and every connect, handshake included) has a timeout;
//! - a transport failure or a timeout drops the connection and moves to the next liteserver
//!   of the global config (a failover); after a full round of failures it sleeps with an
//!   exponential backoff (with jitter, capped) before the next round;
//! - a `liteServer.error` answer is not a transport failure: it is returned at once as
//!   [`Error::Server`] (the caller decides, e.g. retries "block not applied yet") and the
//!   connection is kept;
//! - after `max_attempts` failed attempts in a row the request fails with
//!   [`Error::AllServersFailed`].
//!
//! Answers are never trusted for liveness only: the caller checks what it gets (ton_liteapi
//! does not verify proofs, [`crate::verify`] does). An answer that does not verify is handed
//! back to [`Lite::reject`]: counted, logged, and the server is failed over like a dead one.
//!
//! The server in use is shared by every clone (the catch-up workers): a failover by one moves
//! them all, so a lying server found by one worker is not asked again by the others.
//!
//! Note: ton_liteapi formats liteserver error strings with `unwrap()` on UTF-8 in its `Debug`
//! and `Display` impls, so this module never formats a `LiteError::ServerError`; it reads the
//! bytes through TL instead, and the binary keeps `ton_liteapi`'s own `log` output below debug.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use ton_liteapi::client::LiteClient;
use ton_liteapi::tl::common::{AccountId, BlockIdExt, Int256, TransactionId3};
use ton_liteapi::tl::response::{
    BlockTransactions, MasterchainInfo, PartialBlockProof, TransactionList,
};
use ton_liteapi::types::LiteError;

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::model::BlockRef;

/// One liteserver: address and ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteServer {
    /// `ip:port`.
    pub addr: SocketAddr,
    /// The server's ADNL public key.
    pub public_key: [u8; 32],
}

#[derive(Deserialize)]
struct GlobalConfig {
    liteservers: Vec<GlobalLiteServer>,
}

#[derive(Deserialize)]
struct GlobalValidator {
    validator: Option<ValidatorSection>,
}

#[derive(Deserialize)]
struct ValidatorSection {
    init_block: Option<GlobalBlockId>,
    zero_state: Option<GlobalBlockId>,
}

#[derive(Deserialize)]
struct GlobalBlockId {
    workchain: i32,
    shard: i64,
    seqno: u32,
    root_hash: String,
    file_hash: String,
}

/// The trusted block of a TON global config: `validator.init_block` (a key block), or the
/// `zero_state` when no init block is given; `None` when the config names neither.
pub fn parse_init_block(json: &str) -> Result<Option<BlockRef>> {
    let cfg: GlobalValidator =
        serde_json::from_str(json).map_err(|e| Error::GlobalConfig(e.to_string()))?;
    let Some(v) = cfg.validator else {
        return Ok(None);
    };
    let Some(b) = v.init_block.or(v.zero_state) else {
        return Ok(None);
    };
    let hash = |what: &str, s: &str| -> Result<[u8; 32]> {
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| {
                Error::GlobalConfig(format!("init_block.{what} is not 32 bytes of base64"))
            })
    };
    if b.workchain != -1 {
        return Err(Error::GlobalConfig(
            "init_block is not a masterchain block".into(),
        ));
    }
    Ok(Some(BlockRef {
        workchain: b.workchain,
        shard: u64::from_ne_bytes(b.shard.to_ne_bytes()),
        seqno: b.seqno,
        root_hash: hash("root_hash", &b.root_hash)?,
        file_hash: hash("file_hash", &b.file_hash)?,
    }))
}

#[derive(Deserialize)]
struct GlobalLiteServer {
    ip: IpField,
    port: u16,
    id: GlobalKey,
}

/// TON's configs write the IPv4 address as a signed 32-bit integer; accept a dotted string too.
#[derive(Deserialize)]
#[serde(untagged)]
enum IpField {
    Int(i64),
    Text(String),
}

#[derive(Deserialize)]
struct GlobalKey {
    #[serde(rename = "@type")]
    ty: String,
    key: String,
}

/// Reads the liteservers of a TON global config JSON (`{"liteservers": [{"ip": <int>,
/// "port": <int>, "id": {"@type": "pub.ed25519", "key": "<base64>"}}, ...], ...}`).
pub fn parse_global_config(json: &str) -> Result<Vec<LiteServer>> {
    let cfg: GlobalConfig =
        serde_json::from_str(json).map_err(|e| Error::GlobalConfig(e.to_string()))?;
    let mut out = Vec::with_capacity(cfg.liteservers.len());
    for (i, ls) in cfg.liteservers.into_iter().enumerate() {
        let ip = match ls.ip {
            IpField::Int(v) => {
                let bits = u32::try_from(v)
                    .ok()
                    .or_else(|| {
                        i32::try_from(v)
                            .ok()
                            .map(|s| u32::from_ne_bytes(s.to_ne_bytes()))
                    })
                    .ok_or_else(|| Error::GlobalConfig(format!("liteserver {i}: ip {v}")))?;
                Ipv4Addr::from(bits)
            }
            IpField::Text(s) => s
                .parse()
                .map_err(|_| Error::GlobalConfig(format!("liteserver {i}: ip {s:?}")))?,
        };
        if ls.id.ty != "pub.ed25519" {
            return Err(Error::GlobalConfig(format!(
                "liteserver {i}: key type {:?}, expected pub.ed25519",
                ls.id.ty
            )));
        }
        let key = base64::engine::general_purpose::STANDARD
            .decode(ls.id.key.as_bytes())
            .map_err(|e| Error::GlobalConfig(format!("liteserver {i}: key: {e}")))?;
        let public_key: [u8; 32] = key
            .try_into()
            .map_err(|_| Error::GlobalConfig(format!("liteserver {i}: key is not 32 bytes")))?;
        out.push(LiteServer {
            addr: SocketAddr::V4(SocketAddrV4::new(ip, ls.port)),
            public_key,
        });
    }
    if out.is_empty() {
        return Err(Error::GlobalConfig("no liteservers".into()));
    }
    Ok(out)
}

/// How long a liteserver holds a `waitMasterchainSeqno` request (ton_liteapi 0.2.0 always
/// asks for 10 s).
pub const WAIT_SEQNO: Duration = Duration::from_secs(10);

/// Timeouts and retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteOptions {
    /// Limit for one request.
    pub request_timeout: Duration,
    /// Limit for TCP connect + ADNL handshake.
    pub connect_timeout: Duration,
    /// Backoff after the first full round of failures.
    pub backoff_initial: Duration,
    /// Backoff cap.
    pub backoff_max: Duration,
    /// Attempts (over all servers) before a request fails.
    pub max_attempts: u32,
}

impl Default for LiteOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            max_attempts: 20,
        }
    }
}

/// A boxed request future borrowing the client.
pub type LiteFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, LiteError>> + Send + 'c>>;

/// The resilient client (see the module docs). One request at a time per `Lite`; run several
/// `Lite`s for parallel catch-up.
pub struct Lite {
    servers: Vec<LiteServer>,
    opts: LiteOptions,
    /// The server in use, shared by every clone.
    current: Arc<AtomicUsize>,
    /// The open connection and the index of its server.
    conn: Option<(usize, LiteClient)>,
    metrics: Arc<Metrics>,
}

/// A clone talks to the same servers over its own connection (opened on first use) and
/// shares the choice of server.
impl Clone for Lite {
    fn clone(&self) -> Self {
        Self {
            servers: self.servers.clone(),
            opts: self.opts.clone(),
            current: self.current.clone(),
            conn: None,
            metrics: self.metrics.clone(),
        }
    }
}

impl std::fmt::Debug for Lite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lite")
            .field("servers", &self.servers)
            .field("current", &self.current.load(Ordering::Relaxed))
            .field("connected", &self.conn.is_some())
            .finish()
    }
}

impl Lite {
    /// A client over `servers` (tried in order, starting with the first).
    pub fn new(servers: Vec<LiteServer>, opts: LiteOptions, metrics: Arc<Metrics>) -> Result<Self> {
        if servers.is_empty() {
            return Err(Error::GlobalConfig("no liteservers".into()));
        }
        Ok(Self {
            servers,
            opts,
            current: Arc::new(AtomicUsize::new(0)),
            conn: None,
            metrics,
        })
    }

    /// The figures this client counts into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The index of the server requests currently go to.
    pub fn current_index(&self) -> usize {
        self.current.load(Ordering::Relaxed) % self.servers.len()
    }

    /// The server requests currently go to.
    pub fn current_server(&self) -> &LiteServer {
        &self.servers[self.current_index()]
    }

    /// The index of the server the last answer came from (the open connection's), else of
    /// the current one.
    pub fn answering_index(&self) -> usize {
        match &self.conn {
            Some((i, _)) => *i,
            None => self.current_index(),
        }
    }

    /// The server the last answer came from (the open connection's), else the current one.
    pub fn answering_server(&self) -> &LiteServer {
        &self.servers[self.answering_index()]
    }

    fn failover(&mut self) {
        let from = match self.conn.take() {
            Some((i, _)) => i,
            None => self.current_index(),
        };
        if self.servers.len() > 1 {
            let next = (from + 1) % self.servers.len();
            // Only the first clone to fail this server moves the shared choice.
            if self
                .current
                .compare_exchange(from, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                self.metrics.liteserver_failover();
            }
        }
    }

    /// The last answer did not verify: counts and logs it, fails the server over, and returns
    /// the error the caller propagates (nothing of the answer may be kept).
    pub fn reject(&mut self, what: &'static str, reason: impl std::fmt::Display) -> Error {
        let server = self.answering_server().addr.to_string();
        let reason = reason.to_string();
        tracing::warn!(server = %server, what, reason = %reason, "liteserver answer does not verify; failing it over");
        self.metrics.liteserver_unverified();
        self.metrics.liteserver_error();
        self.failover();
        Error::Unverified { server, reason }
    }

    fn backoff(&self, round: u32) -> Duration {
        let base = self
            .opts
            .backoff_initial
            .saturating_mul(1u32 << round.min(16))
            .min(self.opts.backoff_max);
        // Up to +25% jitter so that several indexers do not retry in lockstep.
        let jitter_ms = u64::try_from(base.as_millis() / 4).unwrap_or(0);
        let jitter = if jitter_ms > 0 {
            Duration::from_millis(rand::random::<u64>() % jitter_ms)
        } else {
            Duration::ZERO
        };
        base + jitter
    }

    /// Runs one request with timeout, reconnect and failover. `what` names it in logs.
    pub async fn call<T, F>(&mut self, what: &'static str, request: F) -> Result<T>
    where
        F: for<'c> FnMut(&'c mut LiteClient) -> LiteFuture<'c, T>,
    {
        let timeout = self.opts.request_timeout;
        self.call_within(what, timeout, request).await
    }

    /// [`Lite::call`] with a per-attempt limit of its own (a request the server may hold).
    pub async fn call_within<T, F>(
        &mut self,
        what: &'static str,
        request_timeout: Duration,
        mut request: F,
    ) -> Result<T>
    where
        F: for<'c> FnMut(&'c mut LiteClient) -> LiteFuture<'c, T>,
    {
        let n = u32::try_from(self.servers.len()).unwrap_or(u32::MAX);
        let mut last: Option<Error> = None;
        for attempt in 0..self.opts.max_attempts {
            if attempt > 0 && attempt % n == 0 {
                tokio::time::sleep(self.backoff(attempt / n - 1)).await;
            }
            let index = self.current_index();
            let server = self.servers[index].clone();
            let name = server.addr.to_string();
            // Another clone failed the server over: follow it.
            if self.conn.as_ref().is_some_and(|(i, _)| *i != index) {
                self.conn = None;
            }
            if self.conn.is_none() {
                match tokio::time::timeout(
                    self.opts.connect_timeout,
                    LiteClient::connect(server.addr, server.public_key),
                )
                .await
                {
                    Ok(Ok(c)) => self.conn = Some((index, c)),
                    Ok(Err(e)) => {
                        let err = transport(&name, &e);
                        tracing::warn!(server = %name, what, error = %err, "liteserver connect failed");
                        self.metrics.liteserver_error();
                        last = Some(err);
                        self.failover();
                        continue;
                    }
                    Err(_) => {
                        tracing::warn!(server = %name, what, "liteserver connect timed out");
                        self.metrics.liteserver_error();
                        self.metrics.liteserver_timeout();
                        last = Some(Error::Timeout {
                            server: name,
                            timeout: self.opts.connect_timeout,
                        });
                        self.failover();
                        continue;
                    }
                }
            }
            let Some((_, conn)) = self.conn.as_mut() else {
                continue;
            };
            match tokio::time::timeout(request_timeout, request(conn)).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(LiteError::ServerError(e))) => {
                    self.metrics.liteserver_error();
                    return Err(Error::Server {
                        server: name,
                        code: e.code,
                        message: tl_string_lossy(&e.message),
                    });
                }
                Ok(Err(e)) => {
                    let err = transport(&name, &e);
                    tracing::warn!(server = %name, what, error = %err, "liteserver request failed");
                    self.metrics.liteserver_error();
                    last = Some(err);
                    self.failover();
                }
                Err(_) => {
                    tracing::warn!(server = %name, what, "liteserver request timed out");
                    self.metrics.liteserver_error();
                    self.metrics.liteserver_timeout();
                    last = Some(Error::Timeout {
                        server: name,
                        timeout: request_timeout,
                    });
                    self.failover();
                }
            }
        }
        Err(Error::AllServersFailed {
            attempts: self.opts.max_attempts,
            last: Box::new(last.unwrap_or_else(|| Error::GlobalConfig("no attempt made".into()))),
        })
    }

    /// `liteServer.getMasterchainInfo`.
    pub async fn masterchain_info(&mut self) -> Result<MasterchainInfo> {
        self.call("getMasterchainInfo", |c| Box::pin(c.get_masterchain_info()))
            .await
    }

    /// `liteServer.getMasterchainInfo` prefixed by `liteServer.waitMasterchainSeqno`: the
    /// server answers once masterchain block `seqno` exists, or after [`WAIT_SEQNO`] with a
    /// `liteServer.error` ([`Error::Server`]). Without an open connection (the first request,
    /// or after a failover) the answer comes at once, as a plain poll. The tailer uses it at
    /// the tip instead of polling.
    pub async fn masterchain_info_after(&mut self, seqno: u32) -> Result<MasterchainInfo> {
        if let Some((i, c)) = self.conn.take() {
            self.conn = Some((i, c.wait_masterchain_seqno(seqno)));
        }
        let limit = self.opts.request_timeout + WAIT_SEQNO;
        self.call_within(
            "getMasterchainInfo after waitMasterchainSeqno",
            limit,
            |c| Box::pin(c.get_masterchain_info()),
        )
        .await
    }

    /// `liteServer.getTime`.
    pub async fn time(&mut self) -> Result<u32> {
        self.call("getTime", |c| Box::pin(c.get_time())).await
    }

    /// `liteServer.lookupBlock` of masterchain seqno `seqno`: its full id.
    pub async fn lookup_master(&mut self, seqno: u32) -> Result<BlockIdExt> {
        self.call("lookupBlock", move |c| {
            let id = ton_liteapi::tl::common::BlockId {
                workchain: -1,
                shard: crate::model::SHARD_FULL,
                seqno,
            };
            Box::pin(async move {
                Ok(c.lookup_block(
                    (),
                    id,
                    Some(()),
                    None,
                    None,
                    false,
                    false,
                    false,
                    false,
                    false,
                )
                .await?
                .id)
            })
        })
        .await
    }

    /// `liteServer.getBlock`: the block's BOC.
    pub async fn block(&mut self, id: &BlockRef) -> Result<Vec<u8>> {
        let id = to_tl(id);
        self.call("getBlock", move |c| Box::pin(c.get_block(id.clone())))
            .await
    }

    /// `liteServer.getBlockProof` from `known` to `target`: the links to check.
    pub async fn block_proof(
        &mut self,
        known: &BlockRef,
        target: &BlockRef,
    ) -> Result<PartialBlockProof> {
        let (known, target) = (to_tl(known), to_tl(target));
        self.call("getBlockProof", move |c| {
            Box::pin(c.get_block_proof(known.clone(), Some(target.clone()), false, false))
        })
        .await
    }

    /// `liteServer.getAllShardsInfo`: the shard table BOC of a masterchain block.
    pub async fn all_shards_info(&mut self, mc: &BlockRef) -> Result<Vec<u8>> {
        let id = to_tl(mc);
        self.call("getAllShardsInfo", move |c| {
            let id = id.clone();
            Box::pin(async move { Ok(c.get_all_shards_info(id).await?.data) })
        })
        .await
    }

    /// `liteServer.listBlockTransactions`: up to `count` transaction ids after `after`.
    pub async fn list_block_transactions(
        &mut self,
        block: &BlockRef,
        count: u32,
        after: Option<([u8; 32], u64)>,
    ) -> Result<BlockTransactions> {
        let id = to_tl(block);
        self.call("listBlockTransactions", move |c| {
            let after = after.map(|(account, lt)| TransactionId3 {
                account: Int256(account),
                lt,
            });
            Box::pin(c.list_block_transactions(id.clone(), count, after, false, false))
        })
        .await
    }

    /// `liteServer.getTransactions`: up to `count` transactions of an account, newest first,
    /// starting at (`lt`, `hash`).
    pub async fn transactions(
        &mut self,
        account: (i32, [u8; 32]),
        lt: u64,
        hash: [u8; 32],
        count: u32,
    ) -> Result<TransactionList> {
        self.call("getTransactions", move |c| {
            let acc = AccountId {
                workchain: account.0,
                id: Int256(account.1),
            };
            Box::pin(c.get_transactions(count, acc, lt, Int256(hash)))
        })
        .await
    }

    /// `liteServer.getOneTransaction`: the transaction BOC.
    pub async fn one_transaction(
        &mut self,
        block: &BlockRef,
        account: (i32, [u8; 32]),
        lt: u64,
    ) -> Result<Vec<u8>> {
        let id = to_tl(block);
        self.call("getOneTransaction", move |c| {
            let id = id.clone();
            let acc = AccountId {
                workchain: account.0,
                id: Int256(account.1),
            };
            Box::pin(async move { Ok(c.get_one_transaction(id, acc, lt).await?.transaction) })
        })
        .await
    }

    /// `liteServer.getAccountState`: the account state BOC at `block`.
    pub async fn account_state(
        &mut self,
        block: &BlockRef,
        account: (i32, [u8; 32]),
    ) -> Result<Vec<u8>> {
        let id = to_tl(block);
        self.call("getAccountState", move |c| {
            let id = id.clone();
            let acc = AccountId {
                workchain: account.0,
                id: Int256(account.1),
            };
            Box::pin(async move { Ok(c.get_account_state(id, acc).await?.state) })
        })
        .await
    }
}

/// A block id in the liteserver protocol's form.
pub fn to_tl(b: &BlockRef) -> BlockIdExt {
    BlockIdExt {
        workchain: b.workchain,
        shard: b.shard,
        seqno: b.seqno,
        root_hash: Int256(b.root_hash),
        file_hash: Int256(b.file_hash),
    }
}

/// A block id from the liteserver protocol's form.
pub fn from_tl(b: &BlockIdExt) -> BlockRef {
    BlockRef {
        workchain: b.workchain,
        shard: b.shard,
        seqno: b.seqno,
        root_hash: b.root_hash.0,
        file_hash: b.file_hash.0,
    }
}

fn transport(server: &str, e: &LiteError) -> Error {
    let reason = match e {
        // Never Debug/Display this variant (see the module docs).
        LiteError::ServerError(s) => format!("server error {}", s.code),
        LiteError::TlError(t) => format!("TL: {t:?}"),
        LiteError::UnexpectedMessage => "unexpected TL message".to_owned(),
        LiteError::AdnlError(a) => format!("ADNL: {a}"),
        LiteError::UnknownError(u) => u.to_string(),
    };
    Error::Transport {
        server: server.to_owned(),
        reason,
    }
}

/// The bytes of a TL string, read back through TL (its fields are private), lossily as UTF-8.
fn tl_string_lossy(s: &ton_liteapi::tl::common::String) -> String {
    let bytes = tl_proto::serialize(s);
    match tl_proto::deserialize::<Vec<u8>>(&bytes) {
        Ok(raw) => String::from_utf8_lossy(&raw).into_owned(),
        Err(_) => "<unreadable error message>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_config_signed_and_dotted_ips() {
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let json = format!(
            r#"{{"@type":"config.global","liteservers":[
                {{"ip":-2018135749,"port":53312,"id":{{"@type":"pub.ed25519","key":"{key}"}}}},
                {{"ip":2130706433,"port":1,"id":{{"@type":"pub.ed25519","key":"{key}"}}}},
                {{"ip":"127.0.0.2","port":2,"id":{{"@type":"pub.ed25519","key":"{key}"}}}}]}}"#
        );
        let s = parse_global_config(&json).expect("config");
        assert_eq!(s.len(), 3);
        // -2018135749 = 0x87b5_b13b
        assert_eq!(s[0].addr.to_string(), "135.181.177.59:53312");
        assert_eq!(s[1].addr.to_string(), "127.0.0.1:1");
        assert_eq!(s[2].addr.to_string(), "127.0.0.2:2");
        assert_eq!(s[0].public_key, [7u8; 32]);
    }

    #[test]
    fn global_config_errors() {
        assert!(matches!(
            parse_global_config(r#"{"liteservers":[]}"#),
            Err(Error::GlobalConfig(_))
        ));
        assert!(parse_global_config("not json").is_err());
        let bad_key =
            r#"{"liteservers":[{"ip":1,"port":1,"id":{"@type":"pub.ed25519","key":"AAAA"}}]}"#;
        assert!(parse_global_config(bad_key).is_err());
        let bad_ip = r#"{"liteservers":[{"ip":99999999999,"port":1,"id":{"@type":"pub.ed25519","key":"AAAA"}}]}"#;
        assert!(parse_global_config(bad_ip).is_err());
    }

    #[test]
    fn init_block_from_the_validator_section() {
        let b64 = |b: u8| base64::engine::general_purpose::STANDARD.encode([b; 32]);
        let json = format!(
            r#"{{"liteservers":[],"validator":{{"@type":"validator.config.global",
                "zero_state":{{"workchain":-1,"shard":-9223372036854775808,"seqno":0,
                    "root_hash":"{}","file_hash":"{}"}},
                "init_block":{{"workchain":-1,"shard":-9223372036854775808,"seqno":34835953,
                    "root_hash":"{}","file_hash":"{}"}}}}}}"#,
            b64(1),
            b64(2),
            b64(3),
            b64(4)
        );
        let b = parse_init_block(&json).expect("parses").expect("named");
        assert_eq!(
            (b.workchain, b.shard, b.seqno),
            (-1, crate::model::SHARD_FULL, 34_835_953)
        );
        assert_eq!((b.root_hash, b.file_hash), ([3; 32], [4; 32]));
        // Without init_block: the zero state; without either: none.
        let zs_only = json.replace("init_block", "unused_block");
        assert_eq!(
            parse_init_block(&zs_only)
                .expect("parses")
                .expect("zero state")
                .seqno,
            0
        );
        assert_eq!(
            parse_init_block(r#"{"liteservers":[]}"#).expect("parses"),
            None
        );
        // A basechain block or a short hash is refused.
        assert!(parse_init_block(&json.replace("\"workchain\":-1", "\"workchain\":0")).is_err());
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 31]);
        assert!(parse_init_block(&json.replace(&b64(3), &short)).is_err());
    }

    #[test]
    fn tl_string_round_trip_is_lossy_not_panicking() {
        let s = ton_liteapi::tl::common::String::from("block is not applied");
        assert_eq!(tl_string_lossy(&s), "block is not applied");
        let bad = ton_liteapi::tl::common::String::new(
            String::from_utf8_lossy(&[0xff, 0xfe]).into_owned(),
        );
        assert!(!tl_string_lossy(&bad).is_empty());
    }
}
