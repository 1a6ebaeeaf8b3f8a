//! liteServer.* requests -> answers. Every failure becomes a `liteServer.error`; nothing here
//! panics on input.

use std::sync::Arc;
use std::time::Duration;

use ton_liteapi::tl::common::{AccountId, BlockIdExt, ZeroStateIdExt};
use ton_liteapi::tl::request::{Request, WrappedRequest};
use ton_liteapi::tl::response::{
    BlockData, BlockHeader, BlockState, CurrentTime, LibraryResult, MasterchainInfo,
    MasterchainInfoExt, Response, SendMsgStatus, TransactionList, Version,
};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, HashBytes};
use tycho_types::models::{ShardIdent, StdAddr};

use crate::engine::Chain;
use crate::engine::shard::StoredBlock;
use crate::error::{Error, Result};
use crate::liteapi::convert::{block_id, block_id_ext, int256, multi_root_boc};
use crate::liteapi::{account, mc_proofs, proofs, tx_proofs};
use crate::node::Node;

/// The liteserver protocol version the devnet reports (1.1).
pub const LS_VERSION: u32 = 0x101;
/// Capabilities reported by getVersion / getMasterchainInfoExt.
pub const LS_CAPABILITIES: u64 = 7;
/// Longest wait honoured for `liteServer.waitMasterchainSeqno`.
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// Most transactions returned by one getTransactions.
pub const MAX_TRANSACTIONS: u32 = 256;
/// Most transaction ids returned by one listBlockTransactions.
pub const MAX_LIST: u32 = 1024;

/// `liteServer.error` codes, as TON's validator uses them.
pub mod codes {
    /// Generic error.
    pub const ERROR: i32 = 601;
    /// Protocol violation (bad request).
    pub const PROTOVIOLATION: i32 = 621;
    /// Not ready (block not found yet).
    pub const NOTREADY: i32 = 651;
    /// Timeout.
    pub const TIMEOUT: i32 = 652;
}

/// The one place errors become wire errors.
pub fn to_wire(e: &Error) -> ton_liteapi::tl::response::Error {
    let code = match e {
        Error::BlockNotFound { .. } | Error::TransactionNotFound { .. } => codes::NOTREADY,
        Error::BadBoc { .. } | Error::BadMessage { .. } | Error::Cell(_) => codes::PROTOVIOLATION,
        Error::Executor { .. } | Error::Io { .. } | Error::Config { .. } | Error::Abi(_) => {
            tracing::error!(error = %e, "internal error answering a liteserver query");
            return ton_liteapi::tl::response::Error {
                code: codes::ERROR,
                message: "internal error (see the devnet log)".into(),
            };
        }
        _ => codes::ERROR,
    };
    ton_liteapi::tl::response::Error {
        code,
        message: e.to_string().as_str().into(),
    }
}

/// An answer: a `liteServer.*` object ton_liteapi can serialize, or one it has no type for
/// (`liteServer.blockTransactionsExt`), already TL-serialized (boxed).
#[derive(Debug)]
pub enum Answer {
    /// A typed answer.
    Tl(Box<Response>),
    /// A serialized answer.
    Raw(Vec<u8>),
}

/// Answers one request, including those ton_liteapi's `Response` has no variant for.
pub async fn handle_any(node: Arc<Node>, req: WrappedRequest) -> Answer {
    if let Request::ListBlockTransactionsExt(r) = &req.request {
        if let Err(timeout) = wait_for_seqno(&node, &req).await {
            return Answer::Tl(Box::new(timeout));
        }
        return match tx_proofs::list_ext(&node.lock(), r.clone()) {
            Ok(bytes) => Answer::Raw(bytes),
            Err(e) => Answer::Tl(Box::new(Response::Error(to_wire(&e)))),
        };
    }
    Answer::Tl(Box::new(handle(node, req).await))
}

async fn wait_for_seqno(node: &Node, req: &WrappedRequest) -> std::result::Result<(), Response> {
    if let Some(wait) = &req.wait_masterchain_seqno {
        let timeout = Duration::from_millis(u64::from(wait.timeout_ms)).min(MAX_WAIT);
        let mut rx = node.subscribe();
        let target = wait.seqno;
        let waited = tokio::time::timeout(timeout, rx.wait_for(|s| *s >= target)).await;
        if !matches!(waited, Ok(Ok(_))) {
            return Err(Response::Error(ton_liteapi::tl::response::Error {
                code: codes::TIMEOUT,
                message: format!("masterchain seqno {target} not reached")
                    .as_str()
                    .into(),
            }));
        }
    }
    Ok(())
}

/// Answers one request (after waiting for the requested masterchain seqno, if any).
pub async fn handle(node: Arc<Node>, req: WrappedRequest) -> Response {
    if let Err(timeout) = wait_for_seqno(&node, &req).await {
        return timeout;
    }
    match answer(&node, req.request) {
        Ok(r) => r,
        Err(e) => Response::Error(to_wire(&e)),
    }
}

fn unsupported(method: &'static str) -> Result<Response> {
    Err(Error::Unsupported { method })
}

pub(crate) fn std_addr(id: &AccountId) -> Result<StdAddr> {
    let wc = i8::try_from(id.workchain).map_err(|_| Error::BadMessage {
        reason: format!("workchain {} out of range", id.workchain),
    })?;
    Ok(StdAddr::new(wc, HashBytes(id.id.0)))
}

pub(crate) fn find_block<'a>(chain: &'a Chain, id: &BlockIdExt) -> Result<&'a StoredBlock> {
    let wanted = block_id(id)?;
    chain
        .shard(wanted.shard.workchain())
        .and_then(|s| s.block_by_id(&wanted))
        .ok_or_else(|| Error::BlockNotFound {
            block: id.to_string(),
        })
}

/// The block holding `workchain`'s state as of masterchain block `mc`.
pub(crate) fn shard_block_of<'a>(
    chain: &'a Chain,
    mc: &'a StoredBlock,
    workchain: i32,
) -> Result<&'a StoredBlock> {
    if workchain == -1 {
        return Ok(mc);
    }
    chain
        .shard(workchain)
        .and_then(|s| s.block(mc.link_seqno))
        .ok_or_else(|| Error::BlockNotFound {
            block: format!("workchain {workchain} at masterchain {}", mc.id.seqno),
        })
}

fn zero_state(chain: &Chain) -> Result<ZeroStateIdExt> {
    let first = chain.master.block(0).ok_or_else(|| Error::BlockNotFound {
        block: "masterchain 0".into(),
    })?;
    Ok(ZeroStateIdExt {
        workchain: -1,
        root_hash: int256(&first.id.root_hash),
        file_hash: int256(&first.id.file_hash),
    })
}

fn not_zerostate(block: &StoredBlock) -> Result<()> {
    if block.zerostate {
        return Err(Error::BadMessage {
            reason: format!(
                "{} is a zero state, not a block: use liteServer.getState",
                block_id_ext(&block.id)
            ),
        });
    }
    Ok(())
}

/// The header modes of getBlockHeader (and lookupBlock), TON's bits 0, 1, 4, 5 and 6.
#[derive(Debug, Clone, Copy, Default)]
struct HeaderMode {
    state_update: Option<()>,
    value_flow: Option<()>,
    extra: Option<()>,
    shard_hashes: Option<()>,
    prev_blk_signatures: Option<()>,
}

impl HeaderMode {
    fn bits(&self) -> u32 {
        [
            (self.state_update, 1),
            (self.value_flow, 2),
            (self.extra, 16),
            (self.shard_hashes, 32),
            (self.prev_blk_signatures, 64),
        ]
        .iter()
        .filter(|(on, _)| on.is_some())
        .map(|(_, bit)| bit)
        .sum()
    }
}

fn header(block: &StoredBlock, mode: HeaderMode) -> Result<Response> {
    not_zerostate(block)?;
    let proof = proofs::header_proof(block, mode.bits())?;
    Ok(Response::BlockHeader(BlockHeader {
        id: block_id_ext(&block.id),
        mode: (),
        with_state_update: mode.state_update,
        with_value_flow: mode.value_flow,
        with_extra: mode.extra,
        with_shard_hashes: mode.shard_hashes,
        with_prev_blk_signatures: mode.prev_blk_signatures,
        header_proof: Boc::encode(proof),
    }))
}

fn answer(node: &Node, request: Request) -> Result<Response> {
    let now = node.now();
    match request {
        Request::GetTime => Ok(Response::CurrentTime(CurrentTime { now })),
        Request::GetVersion => Ok(Response::Version(Version {
            mode: 0,
            version: LS_VERSION,
            capabilities: LS_CAPABILITIES,
            now,
        })),
        Request::SendMessage(m) => {
            node.lock().submit_external(&m.body, now)?;
            Ok(Response::SendMsgStatus(SendMsgStatus { status: 1 }))
        }
        Request::GetMasterchainInfo => {
            let chain = node.lock();
            let last = chain.last_master()?;
            Ok(Response::MasterchainInfo(MasterchainInfo {
                last: block_id_ext(&last.id),
                state_root_hash: int256(last.state.repr_hash()),
                init: zero_state(&chain)?,
            }))
        }
        Request::GetMasterchainInfoExt(_) => {
            let chain = node.lock();
            let last = chain.last_master()?;
            Ok(Response::MasterchainInfoExt(MasterchainInfoExt {
                mode: (),
                version: LS_VERSION,
                capabilities: LS_CAPABILITIES,
                last: block_id_ext(&last.id),
                last_utime: last.gen_utime,
                now,
                state_root_hash: int256(last.state.repr_hash()),
                init: zero_state(&chain)?,
            }))
        }
        Request::GetBlock(r) => {
            let chain = node.lock();
            let block = find_block(&chain, &r.id)?;
            not_zerostate(block)?;
            Ok(Response::BlockData(BlockData {
                id: r.id,
                data: block.boc(),
            }))
        }
        Request::GetBlockHeader(r) => header(
            find_block(&node.lock(), &r.id)?,
            HeaderMode {
                state_update: r.with_state_update,
                value_flow: r.with_value_flow,
                extra: r.with_extra,
                shard_hashes: r.with_shard_hashes,
                prev_blk_signatures: r.with_prev_blk_signatures,
            },
        ),
        Request::LookupBlock(r) => {
            let chain = node.lock();
            let shard = ShardIdent::new(r.id.workchain, r.id.shard)
                .and_then(|s| chain.shard(s.workchain()))
                .ok_or_else(|| Error::BlockNotFound {
                    block: format!("({},{:x})", r.id.workchain, r.id.shard),
                })?;
            let block = if let Some(lt) = r.lt {
                shard.block_by_lt(lt)
            } else if let Some(utime) = r.utime {
                shard.block_by_utime(utime)
            } else {
                shard.block(r.id.seqno)
            };
            let mode = HeaderMode {
                state_update: r.with_state_update,
                value_flow: r.with_value_flow,
                extra: r.with_extra,
                shard_hashes: r.with_shard_hashes,
                prev_blk_signatures: r.with_prev_blk_signatures,
            };
            header(
                block.ok_or_else(|| Error::BlockNotFound {
                    block: format!("({},{:x},{})", r.id.workchain, r.id.shard, r.id.seqno),
                })?,
                mode,
            )
        }
        Request::GetAllShardsInfo(r) => mc_proofs::all_shards_info(&node.lock(), r),
        Request::ListBlockTransactions(r) => tx_proofs::list(&node.lock(), r),
        // Answered by `handle_any` (ton_liteapi's Response has no type for it).
        Request::ListBlockTransactionsExt(_) => unsupported("liteServer.listBlockTransactionsExt"),
        Request::GetTransactions(r) if r.lt == 0 => {
            // TON's liteserver: no transaction before lt 0, an empty list (not an error).
            Ok(Response::TransactionList(TransactionList {
                ids: Vec::new(),
                transactions: Vec::new(),
            }))
        }
        Request::GetTransactions(r) => {
            let chain = node.lock();
            let addr = std_addr(&r.account)?;
            let shard = chain
                .shard(r.account.workchain)
                .ok_or(Error::TransactionNotFound {
                    account: addr.to_string(),
                    lt: r.lt,
                })?;
            let not_found = || Error::TransactionNotFound {
                account: addr.to_string(),
                lt: r.lt,
            };
            let history = shard.history.get(&addr.address).ok_or_else(not_found)?;
            let mut ids = Vec::new();
            let mut cells: Vec<Cell> = Vec::new();
            for (i, (lt, (seqno, hash, cell))) in history.range(..=r.lt).rev().enumerate() {
                if i == 0 && (*lt != r.lt || hash.0 != r.hash.0) {
                    return Err(not_found());
                }
                if i as u32 >= r.count.min(MAX_TRANSACTIONS) {
                    break;
                }
                let block = shard.block(*seqno).ok_or_else(not_found)?;
                ids.push(block_id_ext(&block.id));
                cells.push(cell.clone());
            }
            if cells.is_empty() {
                return Err(not_found());
            }
            Ok(Response::TransactionList(TransactionList {
                ids,
                transactions: multi_root_boc(&cells),
            }))
        }
        Request::GetOneTransaction(r) => tx_proofs::one(&node.lock(), r),
        Request::GetAccountState(r) => account::account_state(&node.lock(), r, false),
        Request::GetAccountStatePrunned(r) => account::account_state(&node.lock(), r, true),
        Request::RunSmcMethod(r) => account::run_smc_method(&node.lock(), r, now),
        Request::GetConfigAll(r) => mc_proofs::config_all(&node.lock(), r),
        Request::GetConfigParams(r) => mc_proofs::config_params(&node.lock(), r),
        Request::GetLibraries(_) => Ok(Response::LibraryResult(LibraryResult {
            result: Vec::new(),
        })),
        Request::GetState(r) => {
            let chain = node.lock();
            let block = find_block(&chain, &r.id)?;
            Ok(Response::BlockState(BlockState {
                id: r.id,
                root_hash: int256(block.state.repr_hash()),
                file_hash: int256(&Boc::file_hash(Boc::encode(&block.state))),
                data: Boc::encode(&block.state),
            }))
        }
        Request::GetShardInfo(r) => mc_proofs::shard_info(&node.lock(), r),
        Request::LookupBlockWithProof(r) => Ok(Response::LookupBlockResult(
            crate::liteapi::block_proof::lookup_block_with_proof(&node.lock(), &r)?,
        )),
        Request::GetBlockProof(r) => Ok(Response::PartialBlockProof(
            crate::liteapi::block_proof::get_block_proof(&node.lock(), &r)?,
        )),
        Request::GetValidatorStats(_) => unsupported("liteServer.getValidatorStats"),
        Request::GetLibrariesWithProof(r) => mc_proofs::libraries_with_proof(&node.lock(), r),
        Request::GetShardBlockProof(r) => Ok(Response::ShardBlockProof(
            crate::liteapi::block_proof::get_shard_block_proof(&node.lock(), &r.id)?,
        )),
        Request::GetOutMsgQueueSizes(_) => unsupported("liteServer.getOutMsgQueueSizes"),
        Request::GetBlockOutMsgQueueSize(_) => unsupported("liteServer.getBlockOutMsgQueueSize"),
        Request::GetDispatchQueueInfo(_) => unsupported("liteServer.getDispatchQueueInfo"),
        Request::GetDispatchQueueMessages(_) => unsupported("liteServer.getDispatchQueueMessages"),
    }
}
