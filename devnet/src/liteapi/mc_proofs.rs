//! Masterchain answers with TON's proofs: getAllShardsInfo (a proof of the mc block down to
//! McBlockExtra), getShardInfo (the mc state's shard tree leaf, with shard_proof) and
//! getConfigAll / getConfigParams (state_proof = the mc block's state root proof,
//! config_proof = a proof of the mc state keeping ConfigParams and the asked params).

use ton_liteapi::tl::common::BlockIdExt;
use ton_liteapi::tl::common::{Int256, LibraryEntry};
use ton_liteapi::tl::request::{
    GetAllShardsInfo, GetConfigAll, GetConfigParams, GetLibrariesWithProof, GetShardInfo,
};
use ton_liteapi::tl::response::{
    AllShardsInfo, ConfigInfo, LibraryResultWithProof, Response, ShardInfo,
};
use tycho_types::boc::Boc;
use tycho_types::cell::HashBytes;
use tycho_types::models::{McStateExtra, ShardDescription, ShardIdent, ShardStateUnsplit};

use crate::engine::Chain;
use crate::engine::shard::StoredBlock;
use crate::error::{Error, Result};
use crate::liteapi::account::mc_state_root_proof;
use crate::liteapi::convert::{block_id_ext, multi_root_boc};
use crate::liteapi::handler::find_block;
use crate::liteapi::proofs;

/// The config mode bit asking for the config of the previous key block (not served).
pub const EXTRACT_FROM_KEY_BLOCK: u32 = 0x8000;

fn masterchain<'a>(chain: &'a Chain, id: &BlockIdExt) -> Result<&'a StoredBlock> {
    let block = find_block(chain, id)?;
    if !block.id.shard.is_masterchain() {
        return Err(Error::BadMessage {
            reason: format!("{id} is not a masterchain block"),
        });
    }
    Ok(block)
}

/// getAllShardsInfo: the mc block's shard hashes, proved by the block itself.
pub fn all_shards_info(chain: &Chain, r: GetAllShardsInfo) -> Result<Response> {
    let block = masterchain(chain, &r.id)?;
    let (proof, data) = proofs::shard_hashes_block_proof(block)?;
    Ok(Response::AllShardsInfo(AllShardsInfo {
        id: r.id,
        proof: Boc::encode(proof),
        data: Boc::encode(data),
    }))
}

/// getShardInfo: the shard tree leaf holding `shard` in the mc state's McStateExtra and the
/// two-root proof [mc block state root proof, mc state proof down to the leaf]. The devnet's
/// workchains have one shard each, so the leaf is the root of the workchain's tree.
pub fn shard_info(chain: &Chain, r: GetShardInfo) -> Result<Response> {
    let block = masterchain(chain, &r.id)?;
    let not_found = || Error::BlockNotFound {
        block: format!("shard ({},{:x}) in {}", r.workchain, r.shard, r.id),
    };
    let wanted = ShardIdent::new(r.workchain, r.shard).ok_or_else(not_found)?;
    let (leaf, state_proof) = proofs::shard_info_proof(&block.state, r.workchain)?;
    let leaf = leaf.ok_or_else(not_found)?;
    let extra = block
        .state
        .parse::<ShardStateUnsplit>()?
        .load_custom()?
        .ok_or_else(not_found)?;
    let (ident, descr) = find_descr(&extra, wanted, r.exact)?.ok_or_else(not_found)?;
    let proof = multi_root_boc(&[mc_state_root_proof(block)?, state_proof]);
    Ok(Response::ShardInfo(ShardInfo {
        id: r.id,
        shardblk: block_id_ext(&descr.as_block_id(ident)),
        shard_proof: proof,
        shard_descr: Boc::encode(&leaf),
    }))
}

fn find_descr(
    extra: &McStateExtra,
    wanted: ShardIdent,
    exact: bool,
) -> Result<Option<(ShardIdent, ShardDescription)>> {
    for item in extra.shards.iter() {
        let (ident, descr) = item?;
        if ident.workchain() == wanted.workchain()
            && (!exact || ident == wanted)
            && ident.intersects(&wanted)
        {
            return Ok(Some((ident, descr)));
        }
    }
    Ok(None)
}

/// getConfigAll.
pub fn config_all(chain: &Chain, r: GetConfigAll) -> Result<Response> {
    let mode = ConfigMode {
        with_state_root: r.with_state_root,
        with_libraries: r.with_libraries,
        with_state_extra_root: r.with_state_extra_root,
        with_shard_hashes: r.with_shard_hashes,
        with_validator_set: r.with_validator_set,
        with_special_smc: r.with_special_smc,
        with_accounts_root: r.with_accounts_root,
        with_prev_blocks: r.with_prev_blocks,
        with_workchain_info: r.with_workchain_info,
        with_capabilities: r.with_capabilities,
        extract_from_key_block: r.extract_from_key_block,
    };
    config_info(chain, r.id, mode, None)
}

/// getConfigParams.
pub fn config_params(chain: &Chain, r: GetConfigParams) -> Result<Response> {
    let mode = ConfigMode {
        with_state_root: r.with_state_root,
        with_libraries: r.with_libraries,
        with_state_extra_root: r.with_state_extra_root,
        with_shard_hashes: r.with_shard_hashes,
        with_validator_set: r.with_validator_set,
        with_special_smc: r.with_special_smc,
        with_accounts_root: r.with_accounts_root,
        with_prev_blocks: r.with_prev_blocks,
        with_workchain_info: r.with_workchain_info,
        with_capabilities: r.with_capabilities,
        extract_from_key_block: r.extract_from_key_block,
    };
    config_info(chain, r.id, mode, Some(&r.param_list))
}

/// The request's mode bits, echoed in the answer as TON does (`mode & 0xffff`).
struct ConfigMode {
    with_state_root: Option<()>,
    with_libraries: Option<()>,
    with_state_extra_root: Option<()>,
    with_shard_hashes: Option<()>,
    with_validator_set: Option<()>,
    with_special_smc: Option<()>,
    with_accounts_root: Option<()>,
    with_prev_blocks: Option<()>,
    with_workchain_info: Option<()>,
    with_capabilities: Option<()>,
    extract_from_key_block: Option<()>,
}

fn config_info(
    chain: &Chain,
    id: BlockIdExt,
    mode: ConfigMode,
    params: Option<&[i32]>,
) -> Result<Response> {
    if mode.extract_from_key_block.is_some() {
        return Err(Error::BadMessage {
            reason: format!(
                "config mode {EXTRACT_FROM_KEY_BLOCK:#x} (from the previous key block) is not \
                 served; ask without it for the config of the block's state"
            ),
        });
    }
    if params.is_some_and(|p| p.len() > 256) {
        return Err(Error::BadMessage {
            reason: "too long param list".into(),
        });
    }
    let block = masterchain(chain, &id)?;
    let state_proof = mc_state_root_proof(block)?;
    let config_proof = proofs::config_proof(&block.state, params)?;
    Ok(Response::ConfigInfo(ConfigInfo {
        mode: (),
        id,
        state_proof: Boc::encode(state_proof),
        config_proof: Boc::encode(config_proof),
        with_state_root: mode.with_state_root,
        with_libraries: mode.with_libraries,
        with_state_extra_root: mode.with_state_extra_root,
        with_shard_hashes: mode.with_shard_hashes,
        with_validator_set: mode.with_validator_set,
        with_special_smc: mode.with_special_smc,
        with_accounts_root: mode.with_accounts_root,
        with_prev_blocks: mode.with_prev_blocks,
        with_workchain_info: mode.with_workchain_info,
        with_capabilities: mode.with_capabilities,
        extract_from_key_block: None,
    }))
}

/// Most libraries one getLibrariesWithProof answers (TON's limit).
pub const MAX_LIBRARIES: usize = 16;

/// getLibrariesWithProof: the asked libraries found in the masterchain state (the devnet
/// publishes none), with `state_proof` = the mc block's state root proof and `data_proof` =
/// the mc state down to each asked key of its libraries dictionary.
pub fn libraries_with_proof(chain: &Chain, r: GetLibrariesWithProof) -> Result<Response> {
    let block = masterchain(chain, &r.id)?;
    let mut wanted: Vec<HashBytes> = r
        .library_list
        .iter()
        .take(MAX_LIBRARIES)
        .map(|h| HashBytes(h.0))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let (found, data_proof) = proofs::libraries_proof(&block.state, &wanted)?;
    Ok(Response::LibraryResultWithProof(LibraryResultWithProof {
        id: r.id,
        mode: (),
        result: found
            .iter()
            .map(|(hash, lib)| LibraryEntry {
                hash: Int256(hash.0),
                data: Boc::encode(lib),
            })
            .collect(),
        state_proof: Boc::encode(mc_state_root_proof(block)?),
        data_proof: Boc::encode(data_proof),
    }))
}
