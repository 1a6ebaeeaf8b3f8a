//! A lying liteserver, for tests of clients that must not believe one: a second ADNL
//! listener over the same chain as the honest one, whose answers are altered in one chosen
//! way. Nothing in the devnet's own serving path uses it.
//!
//! ```text
//!  Devnet (one chain) ── liteapi::server (honest port)
//!            └────────── tamper::serve_tampering(node, Tamper) (lying port, own ADNL key)
//!                          handler::handle, then Tamper alters the answer
//! ```
//!
//! The lies: one transaction of every basechain block changed (`getBlock`), one account
//! balance raised by 1 TON (`getAccountState`), a masterchain block header rewritten under a
//! new, self-consistent id (`lookupBlock` names it, `getBlock` serves it), or a flipped byte
//! in every validator signature (`getBlockProof`).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use adnl::AdnlPeer;
use adnl::crypto::{KeyPair, SecretKey};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use ton_liteapi::tl::common::{BlockIdExt, Int256};
use ton_liteapi::tl::request::{Request, WrappedRequest};
use ton_liteapi::tl::response::Response;
use ton_liteapi::types::LiteError;
use tycho_types::boc::Boc;
use tycho_types::cell::{CellBuilder, Lazy};
use tycho_types::models::{Block, OptionalAccount};

use crate::config::seed_from_phrase;
use crate::error::{Error, Result};
use crate::liteapi::handler::handle;
use crate::liteapi::server::{Incoming, LiteTransport, Outgoing};
use crate::node::Node;

/// The phrase of the lying liteserver's ADNL key.
pub const TAMPER_SERVER_PHRASE: &str = "labelmint devnet tampering liteserver";

/// What the lying liteserver alters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// `getBlock` of a basechain block: its first transaction's `now` moved by one second.
    Transaction,
    /// `getAccountState`: the account's balance raised by 1 TON.
    AccountBalance,
    /// `lookupBlock` of a masterchain block: a header with another `gen_utime`, under the
    /// new block's own (consistent) root and file hashes; `getBlock` serves it.
    BlockHeader,
    /// `getBlockProof`: one byte of every signature flipped.
    ForgedSignature,
}

/// A running lying liteserver (stopped on drop).
#[derive(Debug)]
pub struct TamperingServer {
    /// Where it listens.
    pub addr: SocketAddrV4,
    /// Its ADNL public key.
    pub public_key: [u8; 32],
    altered: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl TamperingServer {
    /// How many answers it has altered so far.
    pub fn altered(&self) -> u64 {
        self.altered.load(Ordering::Relaxed)
    }
}

impl Drop for TamperingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forged masterchain blocks by (seqno, root hash): their BOCs.
type Forged = HashMap<(u32, [u8; 32]), Vec<u8>>;

struct Liar {
    node: Arc<Node>,
    tamper: Tamper,
    altered: Arc<AtomicU64>,
    forged: Mutex<Forged>,
}

/// Serves `node`'s chain on 127.0.0.1 (port 0), lying as `tamper` says.
pub async fn serve_tampering(node: Arc<Node>, tamper: Tamper) -> Result<TamperingServer> {
    let listen = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0);
    let io = |source| Error::Io {
        path: listen.to_string().into(),
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(io)?;
    let addr = match listener.local_addr().map_err(io)? {
        std::net::SocketAddr::V4(a) => a,
        other => {
            return Err(Error::BadMessage {
                reason: format!("listening on {other}: IPv4 only"),
            });
        }
    };
    let key = KeyPair::from(&SecretKey::from_bytes(seed_from_phrase(
        TAMPER_SERVER_PHRASE,
    )));
    let public_key = key.public_key.to_bytes();
    let altered = Arc::new(AtomicU64::new(0));
    let liar = Arc::new(Liar {
        node,
        tamper,
        altered: altered.clone(),
        forged: Mutex::new(HashMap::new()),
    });
    let task = tokio::spawn(accept(listener, key, liar));
    Ok(TamperingServer {
        addr,
        public_key,
        altered,
        task,
    })
}

async fn accept(listener: TcpListener, key: KeyPair, liar: Arc<Liar>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let liar = liar.clone();
        tokio::spawn(async move {
            let Ok(adnl) = AdnlPeer::handle_handshake(socket, |_| Some(key)).await else {
                return;
            };
            let service = tower::service_fn(move |incoming: Incoming| {
                let liar = liar.clone();
                async move { Ok::<_, LiteError>(liar.answer(incoming).await) }
            });
            let server = tokio_tower::multiplex::Server::new(LiteTransport::new(adnl), service);
            let _ = server.await;
        });
    }
}

impl Liar {
    async fn answer(&self, incoming: Incoming) -> Outgoing {
        use ton_liteapi::tl::adnl::Message;
        Outgoing::Message(Box::new(match incoming {
            Incoming::Query { query_id, request } => Message::Answer {
                query_id,
                answer: self.respond(request).await,
            },
            Incoming::Undecodable { query_id, .. } => Message::Answer {
                query_id,
                answer: Response::Error(ton_liteapi::tl::response::Error {
                    code: crate::liteapi::handler::codes::PROTOVIOLATION,
                    message: "cannot decode the request".into(),
                }),
            },
            Incoming::Auth { reply: Some(bytes) } => return Outgoing::Raw(bytes),
            Incoming::Auth { reply: None } => return Outgoing::Nothing,
            Incoming::Ping { random_id } => Message::Pong { random_id },
        }))
    }

    async fn respond(&self, req: WrappedRequest) -> Response {
        if let Request::GetBlock(r) = &req.request
            && let Some(boc) = self.forged_boc(&r.id)
        {
            return Response::BlockData(ton_liteapi::tl::response::BlockData {
                id: r.id.clone(),
                data: boc,
            });
        }
        let request = req.request.clone();
        let answer = handle(self.node.clone(), req).await;
        match self.alter(&request, answer) {
            Ok((r, true)) => {
                self.altered.fetch_add(1, Ordering::Relaxed);
                r
            }
            Ok((r, false)) => r,
            Err(e) => Response::Error(crate::liteapi::handler::to_wire(&e)),
        }
    }

    fn forged_boc(&self, id: &BlockIdExt) -> Option<Vec<u8>> {
        let forged = self.forged.lock().unwrap_or_else(|p| p.into_inner());
        forged.get(&(id.seqno, id.root_hash.0)).cloned()
    }

    /// The answer, altered when it is the kind this liar lies about (and whether it was).
    fn alter(&self, request: &Request, answer: Response) -> Result<(Response, bool)> {
        Ok(match (self.tamper, request, answer) {
            (Tamper::Transaction, Request::GetBlock(r), Response::BlockData(mut b))
                if r.id.workchain == 0 =>
            {
                match alter_first_transaction(&b.data)? {
                    Some(data) => {
                        b.data = data;
                        (Response::BlockData(b), true)
                    }
                    None => (Response::BlockData(b), false),
                }
            }
            (Tamper::AccountBalance, _, Response::AccountState(mut s)) if !s.state.is_empty() => {
                s.state = raise_balance(&s.state)?;
                (Response::AccountState(s), true)
            }
            (Tamper::BlockHeader, Request::LookupBlock(_), Response::BlockHeader(mut h))
                if h.id.workchain == -1 && h.id.seqno > 0 =>
            {
                let real = self.real_block(&h.id)?;
                let (boc, root, file) = forge_header(&real)?;
                self.forged
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((h.id.seqno, root), boc);
                h.id.root_hash = Int256(root);
                h.id.file_hash = Int256(file);
                (Response::BlockHeader(h), true)
            }
            (Tamper::ForgedSignature, _, Response::PartialBlockProof(mut p)) => {
                let mut flipped = false;
                for step in &mut p.steps {
                    if let ton_liteapi::tl::common::BlockLink::BlockLinkForward {
                        signatures, ..
                    } = step
                    {
                        for s in &mut signatures.signatures {
                            if let Some(b) = s.signature.get_mut(7) {
                                *b ^= 0x40;
                                flipped = true;
                            }
                        }
                    }
                }
                (Response::PartialBlockProof(p), flipped)
            }
            (_, _, answer) => (answer, false),
        })
    }

    fn real_block(&self, id: &BlockIdExt) -> Result<Vec<u8>> {
        let chain = self.node.lock();
        chain
            .master
            .blocks
            .get(id.seqno as usize)
            .map(|b| b.boc())
            .ok_or_else(|| Error::BlockNotFound {
                block: format!("masterchain {}", id.seqno),
            })
    }
}

fn parse_block(boc: &[u8]) -> Result<Block> {
    let cell = Boc::decode(boc).map_err(Error::bad_boc)?;
    Ok(cell.parse::<Block>()?)
}

fn encode(block: &Block) -> Result<(Vec<u8>, [u8; 32], [u8; 32])> {
    let root = CellBuilder::build_from(block)?;
    let boc = Boc::encode(&root);
    let file = Boc::file_hash(&boc).0;
    Ok((boc, root.repr_hash().0, file))
}

/// The block with its first transaction's `now` moved by one second (`None`: no
/// transaction).
fn alter_first_transaction(boc: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut block = parse_block(boc)?;
    let mut extra = block.load_extra()?;
    let mut blocks = extra.account_blocks.load()?;
    let Some(entry) = blocks.iter().next() else {
        return Ok(None);
    };
    let (account, fees, mut ab) = entry?;
    let Some(tx) = ab.transactions.iter().next() else {
        return Ok(None);
    };
    let (lt, tx_fees, lazy) = tx?;
    let mut t = lazy.load()?;
    t.now = t.now.wrapping_add(1);
    ab.transactions.set(lt, &tx_fees, &Lazy::new(&t)?)?;
    blocks.set(account, &fees, &ab)?;
    extra.account_blocks = Lazy::new(&blocks)?;
    block.extra = Lazy::new(&extra)?;
    Ok(Some(encode(&block)?.0))
}

/// The account with 1 TON more.
fn raise_balance(state: &[u8]) -> Result<Vec<u8>> {
    let cell = Boc::decode(state).map_err(Error::bad_boc)?;
    let mut acc: OptionalAccount = cell.parse()?;
    if let Some(a) = acc.0.as_mut() {
        let more = a.balance.tokens.into_inner().saturating_add(1_000_000_000);
        a.balance.tokens = tycho_types::num::Tokens::new(more);
    }
    Ok(Boc::encode(CellBuilder::build_from(&acc)?))
}

/// The block with `gen_utime` moved by one second: BOC, root hash, file hash.
fn forge_header(boc: &[u8]) -> Result<(Vec<u8>, [u8; 32], [u8; 32])> {
    let mut block = parse_block(boc)?;
    let mut info = block.load_info()?;
    info.gen_utime = info.gen_utime.wrapping_add(1);
    block.info = Lazy::new(&info)?;
    encode(&block)
}
