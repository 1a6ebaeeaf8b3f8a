//! liteServer.* requests -> answers. Every failure becomes a `liteServer.error`; nothing here
//! panics on input.

use std::sync::Arc;
use std::time::Duration;

use ton_liteapi::tl::common::{AccountId, BlockIdExt, ZeroStateIdExt};
use ton_liteapi::tl::request::{Request, WrappedRequest};
use ton_liteapi::tl::response::{
    AccountState, AllShardsInfo, BlockData, BlockHeader, BlockState, BlockTransactions, ConfigInfo,
    CurrentTime, LibraryResult, MasterchainInfo, MasterchainInfoExt, Response, RunMethodResult,
    SendMsgStatus, ShardInfo, TransactionId, TransactionInfo, TransactionList, Version,
};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, HashBytes};
use tycho_types::merkle::MerkleProof;
use tycho_types::models::{McBlockExtra, ShardIdent, StdAddr};

use crate::engine::Chain;
use crate::engine::getter::run_getter;
use crate::engine::shard::StoredBlock;
use crate::error::{Error, Result};
use crate::liteapi::convert::{block_id, block_id_ext, int256, multi_root_boc};
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

/// Answers one request (after waiting for the requested masterchain seqno, if any).
pub async fn handle(node: Arc<Node>, req: WrappedRequest) -> Response {
    if let Some(wait) = &req.wait_masterchain_seqno {
        let timeout = Duration::from_millis(u64::from(wait.timeout_ms)).min(MAX_WAIT);
        let mut rx = node.subscribe();
        let target = wait.seqno;
        let waited = tokio::time::timeout(timeout, rx.wait_for(|s| *s >= target)).await;
        if !matches!(waited, Ok(Ok(_))) {
            return Response::Error(ton_liteapi::tl::response::Error {
                code: codes::TIMEOUT,
                message: format!("masterchain seqno {target} not reached")
                    .as_str()
                    .into(),
            });
        }
    }
    match answer(&node, req.request) {
        Ok(r) => r,
        Err(e) => Response::Error(to_wire(&e)),
    }
}

fn unsupported(method: &'static str) -> Result<Response> {
    Err(Error::Unsupported { method })
}

fn std_addr(id: &AccountId) -> Result<StdAddr> {
    let wc = i8::try_from(id.workchain).map_err(|_| Error::BadMessage {
        reason: format!("workchain {} out of range", id.workchain),
    })?;
    Ok(StdAddr::new(wc, HashBytes(id.id.0)))
}

fn find_block<'a>(chain: &'a Chain, id: &BlockIdExt) -> Result<&'a StoredBlock> {
    let wanted = block_id(id)?;
    chain
        .shard(wanted.shard.workchain())
        .and_then(|s| s.block_by_id(&wanted))
        .ok_or_else(|| Error::BlockNotFound {
            block: id.to_string(),
        })
}

/// The block holding `workchain`'s state as of masterchain block `mc`.
fn shard_block_of<'a>(
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

/// A Merkle proof of the block root with its header (BlockInfo) visible.
fn header_proof(block: &StoredBlock) -> Result<Vec<u8>> {
    let mut keep = std::collections::HashSet::new();
    keep.insert(*block.root.repr_hash());
    if let Some(info) = block.root.reference(0) {
        keep.insert(*info.repr_hash());
    }
    let proof = MerkleProof::create(block.root.as_ref(), keep).build()?;
    Ok(Boc::encode(CellBuilder::build_from(&proof)?))
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

fn header(block: &StoredBlock) -> Result<Response> {
    not_zerostate(block)?;
    Ok(Response::BlockHeader(BlockHeader {
        id: block_id_ext(&block.id),
        mode: (),
        with_state_update: None,
        with_value_flow: None,
        with_extra: None,
        with_shard_hashes: None,
        with_prev_blk_signatures: None,
        header_proof: header_proof(block)?,
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
        Request::GetBlockHeader(r) => header(find_block(&node.lock(), &r.id)?),
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
            header(block.ok_or_else(|| Error::BlockNotFound {
                block: format!("({},{:x},{})", r.id.workchain, r.id.shard, r.id.seqno),
            })?)
        }
        Request::GetAllShardsInfo(r) => {
            let chain = node.lock();
            let block = find_block(&chain, &r.id)?;
            let extra = block
                .root
                .parse::<tycho_types::models::Block>()?
                .load_extra()?;
            let shards = extra
                .load_custom()?
                .map(|c: McBlockExtra| c.shards)
                .ok_or_else(|| Error::BadMessage {
                    reason: "not a masterchain block".into(),
                })?;
            Ok(Response::AllShardsInfo(AllShardsInfo {
                id: r.id,
                proof: Vec::new(),
                data: Boc::encode(CellBuilder::build_from(&shards)?),
            }))
        }
        Request::ListBlockTransactions(r) => {
            let chain = node.lock();
            let block = find_block(&chain, &r.id)?;
            let mut txs: Vec<_> = block
                .transactions
                .iter()
                .filter(|t| match &r.after {
                    Some(after) => {
                        let key = (HashBytes(after.account.0), after.lt);
                        if r.reverse_order.is_some() {
                            (t.account, t.lt) < key
                        } else {
                            (t.account, t.lt) > key
                        }
                    }
                    None => true,
                })
                .collect();
            if r.reverse_order.is_some() {
                txs.reverse();
            }
            let count = r.count.min(MAX_LIST) as usize;
            let incomplete = txs.len() > count;
            let ids = txs
                .into_iter()
                .take(count)
                .map(|t| TransactionId {
                    mode: (),
                    account: Some(int256(&t.account)),
                    lt: Some(t.lt),
                    hash: Some(int256(&t.hash)),
                    metadata: None,
                })
                .collect();
            Ok(Response::BlockTransactions(BlockTransactions {
                id: r.id,
                req_count: r.count,
                incomplete,
                ids,
                proof: Vec::new(),
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
        Request::GetOneTransaction(r) => {
            let chain = node.lock();
            let block = find_block(&chain, &r.id)?;
            let tx = block
                .transactions
                .iter()
                .find(|t| t.account.0 == r.account.id.0 && t.lt == r.lt)
                .ok_or_else(|| Error::TransactionNotFound {
                    account: format!("{}:{}", r.account.workchain, r.account.id),
                    lt: r.lt,
                })?;
            Ok(Response::TransactionInfo(TransactionInfo {
                id: r.id,
                proof: Vec::new(),
                transaction: Boc::encode(&tx.cell),
            }))
        }
        Request::GetAccountState(r) | Request::GetAccountStatePrunned(r) => {
            let chain = node.lock();
            let addr = std_addr(&r.account)?;
            let mc = find_block(&chain, &r.id)?;
            let shard_block = shard_block_of(&chain, mc, r.account.workchain)?;
            let (state, proof) = account_state_and_proof(shard_block, &addr)?;
            Ok(Response::AccountState(AccountState {
                id: r.id,
                shardblk: block_id_ext(&shard_block.id),
                shard_proof: Vec::new(),
                proof,
                state,
            }))
        }
        Request::RunSmcMethod(r) => {
            let chain = node.lock();
            let addr = std_addr(&r.account)?;
            let mc = find_block(&chain, &r.id)?;
            let shard_block = shard_block_of(&chain, mc, r.account.workchain)?;
            let account = shard_block
                .accounts()?
                .get(addr.address)?
                .and_then(|(_, sa)| sa.load_account().ok().flatten())
                .ok_or_else(|| Error::GetMethod {
                    reason: format!("account {addr} does not exist"),
                })?;
            let out = run_getter(chain.config(), &account, r.method_id, &r.params, now)?;
            Ok(Response::RunMethodResult(RunMethodResult {
                mode: (),
                id: r.id,
                shardblk: block_id_ext(&shard_block.id),
                shard_proof: None,
                proof: None,
                state_proof: None,
                init_c7: None,
                lib_extras: None,
                exit_code: out.exit_code,
                result: Some(out.stack_boc),
            }))
        }
        Request::GetConfigAll(r) => config_info(node, r.id, None),
        Request::GetConfigParams(r) => config_info(node, r.id, Some(r.param_list)),
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
        Request::GetShardInfo(r) => {
            let chain = node.lock();
            let block = find_block(&chain, &r.id)?;
            not_zerostate(block)?;
            let extra = block
                .root
                .parse::<tycho_types::models::Block>()?
                .load_extra()?;
            let shards = extra.load_custom()?.map(|c| c.shards).unwrap_or_default();
            let wanted = ShardIdent::new(r.workchain, r.shard);
            let found = shards.iter().filter_map(Result::ok).find(|(ident, _)| {
                ident.workchain() == r.workchain
                    && (!r.exact || Some(*ident) == wanted)
                    && wanted.is_some_and(|w| ident.intersects(&w))
            });
            let (ident, descr) = found.ok_or_else(|| Error::BlockNotFound {
                block: format!("shard ({},{:x}) in {}", r.workchain, r.shard, r.id),
            })?;
            Ok(Response::ShardInfo(ShardInfo {
                id: r.id,
                shardblk: block_id_ext(&descr.as_block_id(ident)),
                shard_proof: Vec::new(),
                shard_descr: Boc::encode(CellBuilder::build_from(&descr)?),
            }))
        }
        Request::LookupBlockWithProof(_) => unsupported("liteServer.lookupBlockWithProof"),
        Request::ListBlockTransactionsExt(_) => unsupported("liteServer.listBlockTransactionsExt"),
        Request::GetBlockProof(r) => Ok(Response::PartialBlockProof(
            crate::liteapi::block_proof::get_block_proof(&node.lock(), &r)?,
        )),
        Request::GetValidatorStats(_) => unsupported("liteServer.getValidatorStats"),
        Request::GetLibrariesWithProof(_) => unsupported("liteServer.getLibrariesWithProof"),
        Request::GetShardBlockProof(r) => Ok(Response::ShardBlockProof(
            crate::liteapi::block_proof::get_shard_block_proof(&node.lock(), &r.id)?,
        )),
        Request::GetOutMsgQueueSizes(_) => unsupported("liteServer.getOutMsgQueueSizes"),
        Request::GetBlockOutMsgQueueSize(_) => unsupported("liteServer.getBlockOutMsgQueueSize"),
        Request::GetDispatchQueueInfo(_) => unsupported("liteServer.getDispatchQueueInfo"),
        Request::GetDispatchQueueMessages(_) => unsupported("liteServer.getDispatchQueueMessages"),
    }
}

/// The account's BOC (empty when it does not exist) and a two-root proof BOC: the shard
/// block's header proof, then a Merkle proof of the shard state down to the account (so the
/// ShardAccount's last_trans_lt / last_trans_hash are readable, as from a real liteserver).
fn account_state_and_proof(block: &StoredBlock, addr: &StdAddr) -> Result<(Vec<u8>, Vec<u8>)> {
    let Some((_, shard_account)) = block.accounts()?.get(addr.address)? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let account_cell = shard_account.account.inner().clone();
    if shard_account.load_account()?.is_none() {
        return Ok((Vec::new(), Vec::new()));
    }
    let state_proof =
        MerkleProof::create_for_cell(block.state.as_ref(), account_cell.repr_hash()).build()?;
    let header = Boc::decode(header_proof(block)?).map_err(Error::bad_boc)?;
    let proof = multi_root_boc(&[header, CellBuilder::build_from(&state_proof)?]);
    Ok((Boc::encode(&account_cell), proof))
}

/// getConfigAll / getConfigParams: `config_proof` holds the ConfigParams cell
/// (`config_addr:bits256 config:^(Hashmap 32 ^Cell)`), trimmed to the asked params.
fn config_info(node: &Node, id: BlockIdExt, params: Option<Vec<i32>>) -> Result<Response> {
    let chain = node.lock();
    let block = find_block(&chain, &id)?;
    if !block.id.shard.is_masterchain() {
        return Err(Error::BadMessage {
            reason: "config lives in masterchain blocks".into(),
        });
    }
    let raw = &chain.config().raw;
    let config = match params {
        None => raw.clone(),
        Some(list) => {
            let mut trimmed = tycho_types::models::BlockchainConfig::new_empty(raw.address);
            for p in list {
                let Ok(p) = u32::try_from(p) else { continue };
                if let Some(cell) = raw.params.get_raw_cell(p)? {
                    trimmed.params.set_raw(p, cell)?;
                }
            }
            trimmed
        }
    };
    let cell = CellBuilder::build_from(&config)?;
    Ok(Response::ConfigInfo(ConfigInfo {
        mode: (),
        id,
        state_proof: Vec::new(),
        config_proof: Boc::encode(&cell),
        with_state_root: None,
        with_libraries: None,
        with_state_extra_root: None,
        with_shard_hashes: None,
        with_validator_set: None,
        with_special_smc: None,
        with_accounts_root: None,
        with_prev_blocks: None,
        with_workchain_info: None,
        with_capabilities: None,
        extract_from_key_block: None,
    }))
}
