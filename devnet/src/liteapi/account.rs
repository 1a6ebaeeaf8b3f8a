//! getAccountState, getAccountStatePrunned and runSmcMethod with TON's proofs:
//!
//! ```text
//!  shard_proof  = [mc block: state_root_proof, mc state: shard_info_proof]   (basechain only)
//!  proof        = [shard block: state_root_proof, shard state: account_proof]
//!  state_proof  = the Account cell with what the get-method read            (runSmcMethod mode 2)
//! ```

use ton_liteapi::tl::request::{GetAccountState, RunSmcMethod};
use ton_liteapi::tl::response::{AccountState, Response, RunMethodResult};
use tycho_types::boc::Boc;
use tycho_types::cell::Cell;
use tycho_types::models::{AccountState as TonAccountState, StdAddr};

use crate::engine::Chain;
use crate::engine::getter::run_getter;
use crate::engine::shard::StoredBlock;
use crate::error::{Error, Result};
use crate::liteapi::convert::{block_id_ext, multi_root_boc};
use crate::liteapi::handler::{find_block, shard_block_of, std_addr};
use crate::liteapi::proofs;

/// runSmcMethod mode bits TON accepts (0..5).
pub const RUN_METHOD_MODES: u32 = 0x3f;
/// The exit code TON answers for an account that does not exist or has no code.
pub const NO_ACCOUNT_EXIT_CODE: i32 = -0x100;

/// `shard_proof` of an account answer: empty for a masterchain account, else the mc block's
/// state root proof and the mc state's proof down to the workchain's shard tree.
pub fn shard_proof(mc: &StoredBlock, workchain: i32) -> Result<Vec<u8>> {
    if workchain == -1 {
        return Ok(Vec::new());
    }
    Ok(multi_root_boc(&[
        mc_state_root_proof(mc)?,
        proofs::shard_info_proof(&mc.state, workchain)?.1,
    ]))
}

/// The state root proof of a masterchain block (for the zero state, which has no block, a
/// proof of the state root itself: its hash is the block id's root hash).
pub fn mc_state_root_proof(mc: &StoredBlock) -> Result<Cell> {
    if mc.zerostate {
        let p = proofs::Prover::new(&mc.state);
        let _ = p.tracked_root().data();
        return p.build();
    }
    proofs::state_root_proof(mc)
}

struct AccountAt<'a> {
    addr: StdAddr,
    /// The reference masterchain block; None when the client named the shard block itself.
    mc: Option<&'a StoredBlock>,
    shard_block: &'a StoredBlock,
}

impl AccountAt<'_> {
    fn shard_proof(&self) -> Result<Vec<u8>> {
        match self.mc {
            Some(mc) => shard_proof(mc, i32::from(self.addr.workchain)),
            None => Ok(Vec::new()),
        }
    }
}

fn locate<'a>(
    chain: &'a Chain,
    id: &ton_liteapi::tl::common::BlockIdExt,
    account: &ton_liteapi::tl::common::AccountId,
) -> Result<AccountAt<'a>> {
    let addr = std_addr(account)?;
    let block = find_block(chain, id)?;
    if !block.id.shard.is_masterchain() {
        // As TON: a block of the account's own workchain may be the reference (no shard
        // proof then: the client already trusts that block).
        if block.id.shard.workchain() != account.workchain {
            return Err(Error::BadMessage {
                reason: "reference block for an account state must belong to the masterchain \
                         or to the account's workchain"
                    .into(),
            });
        }
        return Ok(AccountAt {
            addr,
            mc: None,
            shard_block: block,
        });
    }
    let shard_block = shard_block_of(chain, block, account.workchain)?;
    Ok(AccountAt {
        addr,
        mc: Some(block),
        shard_block,
    })
}

/// `proof` of an account answer and the account cell (None: no such account).
fn state_proof(at: &AccountAt<'_>) -> Result<(Option<Cell>, Vec<u8>)> {
    let (shard_account, account_proof) =
        proofs::account_proof(&at.shard_block.state, &at.addr.address)?;
    let root = if at.shard_block.zerostate {
        mc_state_root_proof(at.shard_block)?
    } else {
        proofs::state_root_proof(at.shard_block)?
    };
    let account = shard_account.map(|sa| sa.account.inner().clone());
    Ok((account, multi_root_boc(&[root, account_proof])))
}

/// getAccountState (`pruned`: getAccountStatePrunned, the account as a Merkle proof without
/// its code, data and libraries).
pub fn account_state(chain: &Chain, r: GetAccountState, pruned: bool) -> Result<Response> {
    let at = locate(chain, &r.id, &r.account)?;
    let shard_proof = at.shard_proof()?;
    let (account, proof) = state_proof(&at)?;
    let state = match account {
        None => Vec::new(),
        Some(cell)
            if cell
                .parse::<tycho_types::models::OptionalAccount>()?
                .0
                .is_none() =>
        {
            Vec::new()
        }
        Some(cell) if pruned => Boc::encode(proofs::pruned_account(&cell)?),
        Some(cell) => Boc::encode(&cell),
    };
    Ok(Response::AccountState(AccountState {
        id: r.id,
        shardblk: block_id_ext(&at.shard_block.id),
        shard_proof,
        proof,
        state,
    }))
}

/// runSmcMethod's init_c7 (mode 8): the SmartContractInfo tuple as TON's liteserver builds
/// it without the config (mode 32 is not distinguished): time and lt of the shard state, the
/// account's balance and address, a zero random seed.
fn init_c7(at: &AccountAt<'_>, account: Option<&Cell>) -> Result<Vec<u8>> {
    use tycho_vm::{SmcInfo, SmcInfoBase, StackValue};
    let balance = match account {
        Some(cell) => cell
            .parse::<tycho_types::models::OptionalAccount>()?
            .0
            .map(|a| a.balance)
            .unwrap_or_default(),
        None => Default::default(),
    };
    let c7 = SmcInfoBase::new()
        .with_now(at.shard_block.gen_utime)
        .with_block_lt(at.shard_block.end_lt)
        .with_tx_lt(at.shard_block.end_lt)
        .with_raw_rand_seed(tycho_types::cell::HashBytes::ZERO)
        .with_account_balance(balance)
        .with_account_addr(at.addr.clone().into())
        .build_c7();
    let mut b = tycho_types::cell::CellBuilder::new();
    c7.store_as_stack_value(
        &mut b,
        <tycho_types::cell::Cell as tycho_types::cell::CellFamily>::empty_context(),
    )?;
    Ok(Boc::encode(b.build()?))
}

/// runSmcMethod, honouring TON's mode bits: 1 shard_proof and proof, 2 state_proof (the
/// account cells the method read), 4 result, 8 init_c7, 16 lib_extras (always empty: the
/// devnet has no libraries).
pub fn run_smc_method(chain: &Chain, r: RunSmcMethod, now: u32) -> Result<Response> {
    if r.mode & !RUN_METHOD_MODES != 0 {
        return Err(Error::BadMessage {
            reason: format!("unsupported mode {} in runSmcMethod", r.mode),
        });
    }
    let at = locate(chain, &r.id, &r.account)?;
    let (shard_proof, (account, proof)) = if r.mode & 1 != 0 {
        (at.shard_proof()?, state_proof(&at)?)
    } else {
        let account = at
            .shard_block
            .accounts()?
            .get(at.addr.address)?
            .map(|(_, sa)| sa.account.inner().clone());
        (Vec::new(), (account, Vec::new()))
    };
    let (outcome, account_proof) = match &account {
        None => (None, None),
        Some(cell) => {
            let (out, proof) = proofs::with_account_proof(cell, |acc| match acc {
                Some(acc) if matches!(acc.state, TonAccountState::Active(_)) => Ok(Some(
                    run_getter(chain.config(), &acc, r.method_id, &r.params, now)?,
                )),
                _ => Ok(None),
            })?;
            (out, Some(proof))
        }
    };
    let (exit_code, result) = match outcome {
        Some(out) => (out.exit_code, out.stack_boc),
        None => (NO_ACCOUNT_EXIT_CODE, Vec::new()),
    };
    let bit = |b: u32| r.mode & b != 0;
    Ok(Response::RunMethodResult(RunMethodResult {
        mode: (),
        id: r.id,
        shardblk: block_id_ext(&at.shard_block.id),
        shard_proof: bit(1).then_some(shard_proof),
        proof: bit(1).then_some(proof),
        state_proof: if bit(2) {
            Some(match account_proof {
                Some(p) => Boc::encode(p),
                None => Vec::new(),
            })
        } else {
            None
        },
        init_c7: if bit(8) {
            Some(init_c7(&at, account.as_ref())?)
        } else {
            None
        },
        lib_extras: bit(16).then(Vec::new),
        exit_code,
        result: bit(4).then_some(result),
    }))
}
