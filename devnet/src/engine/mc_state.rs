//! The masterchain state's `McStateExtra` and the validator fields of a masterchain block's
//! header, computed from the previous state as TON's collator does
//! (`Collator::create_mc_state_extra` in ton-blockchain/ton `validator/impl/collator.cpp`; the
//! zero state as `crypto/block/create-state.cpp` builds it).
//!
//! ```text
//!  state N-1 (McStateExtra) ──> block N header: gen_catchain_seqno = cc(N-1),
//!                              │   gen_validator_list_hash_short = hash(cc(N-1), subset(N-1)),
//!                              │   prev_key_block_seqno, key_block (config changed)
//!                              v
//!  state N: shard_hashes (block N's McBlockExtra.shards), config (new on a key block),
//!           validator_info {hash(0, subset(N)), cc(N), nx_cc_updated},
//!           prev_blocks + (N-1, is key, ExtBlkRef of N-1), after_key_block = key_block(N),
//!           last_key_block, global_balance
//! ```
//!
//! `cc(N) = cc(N-1) + 1` when block N is a key block or `now / mc_catchain_lifetime` moved on
//! since block N-1. The validator list hash in `validator_info` is computed with catchain seqno
//! 0 (as TON does); the header's and the signature set's with the block's catchain seqno.

use labelmint_abi::proof::{mc_validator_subset, validator_set_hash_short};
use tycho_types::models::{
    BlockRef, CatchainConfig, CurrencyCollection, KeyBlockRef, KeyMaxLt, McStateExtra, ShardHashes,
    ValidatorInfo, ValidatorSet,
};

use crate::engine::ton_config::TonConfig;
use crate::error::{Error, Result};

fn err(e: impl std::fmt::Display) -> Error {
    Error::Config {
        reason: format!("McStateExtra: {e}"),
    }
}

/// The masterchain validator subset of `config` for `cc_seqno` and its short hash with
/// `hash_cc_seqno`.
fn subset_hash(config: &TonConfig, cc_seqno: u32, hash_cc_seqno: u32) -> Result<u32> {
    let set = config.validator_set()?;
    let cc = config.catchain_config()?;
    let subset = mc_validator_subset(&set, &cc, cc_seqno).map_err(err)?;
    Ok(validator_set_hash_short(&subset, hash_cc_seqno))
}

/// The zero state's `McStateExtra`: no shards, the config, catchain seqno 0, a key state.
pub fn zerostate_extra(
    config: &TonConfig,
    global_balance: CurrencyCollection,
) -> Result<McStateExtra> {
    Ok(McStateExtra {
        shards: ShardHashes::default(),
        config: config.raw.clone(),
        validator_info: ValidatorInfo {
            validator_list_hash_short: subset_hash(config, 0, 0)?,
            catchain_seqno: 0,
            nx_cc_updated: true,
        },
        prev_blocks: Default::default(),
        after_key_block: true,
        last_key_block: None,
        block_create_stats: None,
        global_balance,
    })
}

/// What the next masterchain block is made and signed with.
#[derive(Debug)]
pub struct NextMc {
    /// The new state's `McStateExtra`.
    pub extra: McStateExtra,
    /// Header: the block is a key block (its config differs from the previous state's).
    pub key_block: bool,
    /// Header: the catchain seqno of the session that makes (signs) the block.
    pub gen_catchain_seqno: u32,
    /// Header: the short hash of the signing subset, with `gen_catchain_seqno`.
    pub gen_validator_list_hash_short: u32,
    /// Header: the seqno of the last key block before this one (0: the zero state).
    pub prev_key_block_seqno: u32,
    /// The validator set that signs the block (the previous state's param 34).
    pub signing_set: ValidatorSet,
    /// Its catchain config (param 28 of the previous state).
    pub signing_cc_config: CatchainConfig,
}

/// Inputs of [`next`].
#[derive(Debug)]
pub struct Prev<'a> {
    /// The previous masterchain state's extra.
    pub extra: &'a McStateExtra,
    /// The previous block's reference (for the zero state: end_lt 0, seqno 0, its hashes).
    pub block: BlockRef,
    /// The previous block's creation time.
    pub gen_utime: u32,
    /// The previous state's config.
    pub config: &'a TonConfig,
}

/// The next state's extra and the next block's header fields.
pub fn next(
    prev: Prev<'_>,
    new_config: &TonConfig,
    key_block: bool,
    now: u32,
    shards: ShardHashes,
) -> Result<NextMc> {
    let prev_cc = prev.extra.validator_info.catchain_seqno;
    let signing_set = prev.config.validator_set()?;
    let signing_cc_config = prev.config.catchain_config()?;
    let gen_validator_list_hash_short = subset_hash(prev.config, prev_cc, prev_cc)?;

    // 5. validator_info
    let cc_config = new_config.catchain_config()?;
    let lifetime = cc_config.mc_catchain_lifetime.max(1);
    let shard_lifetime = cc_config.shard_catchain_lifetime.max(1);
    let cc_updated = key_block || now / lifetime > prev.gen_utime / lifetime;
    let update_shard_cc = key_block || now / shard_lifetime > prev.gen_utime / shard_lifetime;
    let cc = prev_cc + u32::from(cc_updated);
    let validator_info = ValidatorInfo {
        validator_list_hash_short: subset_hash(new_config, cc, 0)?,
        catchain_seqno: cc,
        nx_cc_updated: cc_updated && update_shard_cc,
    };

    // 6. prev_blocks += the previous block
    let prev_is_key = prev.extra.after_key_block;
    let mut prev_blocks = prev.extra.prev_blocks.clone();
    prev_blocks
        .set(
            prev.block.seqno,
            KeyMaxLt {
                has_key_block: prev_is_key,
                max_end_lt: prev.block.end_lt,
            },
            KeyBlockRef {
                is_key_block: prev_is_key,
                block_ref: prev.block.clone(),
            },
        )
        .map_err(err)?;

    // 7. last_key_block: the previous block if it was a key block (or the zero state), else
    // the previous state's
    let last_key_block = if prev_is_key {
        Some(prev.block.clone())
    } else {
        prev.extra.last_key_block.clone()
    };
    let prev_key_block_seqno = last_key_block.as_ref().map(|b| b.seqno).unwrap_or(0);

    Ok(NextMc {
        extra: McStateExtra {
            shards,
            config: new_config.raw.clone(),
            validator_info,
            prev_blocks,
            after_key_block: key_block,
            last_key_block,
            block_create_stats: None,
            // No minting or creation fees on the devnet: the total stays the genesis total.
            global_balance: prev.extra.global_balance.clone(),
        },
        key_block,
        gen_catchain_seqno: prev_cc,
        gen_validator_list_hash_short,
        prev_key_block_seqno,
        signing_set,
        signing_cc_config,
    })
}
