//! Get-methods (runSmcMethod) with tycho-vm.
//!
//! A getter runs with the same VM version as the chain's transactions: the global version of
//! config param 8, capped at what tycho-vm implements ([`MAX_VM_VERSION`], which the executor
//! also uses for every transaction). tycho-vm's own `call_getter_ext` would run version 11, where
//! a version-12 opcode (for example BTOS, used by the test USD minter's `get_wallet_address`)
//! fails with exit code 6; that is why the VM is built here.

use num_bigint::BigInt;
use tycho_types::boc::Boc;
use tycho_types::cell::{CellBuilder, HashBytes, Load};
use tycho_types::dict::Dict;
use tycho_types::models::{Account, AccountState, IntAddr};
use tycho_vm::{RcStackValue, SmcInfoBase, Stack, VmGetterArgs, VmState, VmVersion};

use crate::engine::ton_config::TonConfig;
use crate::error::{Error, Result};

/// The result of a get-method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetterResult {
    /// TVM exit code (0 or 1 on success).
    pub exit_code: i32,
    /// The resulting stack as a VmStack BOC.
    pub stack_boc: Vec<u8>,
    /// Gas used.
    pub gas_used: u64,
}

/// Runs get-method `method_id` of `account` with the VmStack BOC `params` (empty = no args).
pub fn run_getter(
    config: &TonConfig,
    account: &Account,
    method_id: u64,
    params: &[u8],
    now: u32,
) -> Result<GetterResult> {
    let method_id = u32::try_from(method_id).map_err(|_| Error::GetMethod {
        reason: format!("method id {method_id} does not fit 32 bits"),
    })?;
    let stack = if params.is_empty() {
        Vec::new()
    } else {
        let cell = Boc::decode(params).map_err(Error::bad_boc)?;
        Stack::load_from(&mut cell.as_slice()?)
            .map_err(|e| Error::GetMethod {
                reason: format!("params are not a VmStack: {e}"),
            })?
            .items
    };
    let mut args = VmGetterArgs::default();
    args.now = now;
    let (exit_code, items, gas_used) = execute(config, account, method_id, stack, &args)?;
    let result = Stack { items };
    let cell = CellBuilder::build_from(&result)?;
    Ok(GetterResult {
        exit_code,
        stack_boc: Boc::encode(&cell),
        gas_used,
    })
}

/// The highest TVM version tycho-vm implements; transactions run with it too.
pub const MAX_VM_VERSION: u32 = 12;

/// The VM version getters run with: config param 8's global version, capped at
/// [`MAX_VM_VERSION`].
pub fn vm_version(config: &TonConfig) -> Result<u32> {
    let global = config
        .raw
        .params
        .get_global_version()
        .map_err(|e| Error::GetMethod {
            reason: format!("config param 8 (global version): {e}"),
        })?;
    Ok(global.version.min(MAX_VM_VERSION))
}

/// Runs the VM the way tycho-vm's `call_getter_ext` does, with the chain's VM version.
fn execute(
    config: &TonConfig,
    account: &Account,
    method_id: u32,
    mut stack: Vec<RcStackValue>,
    args: &VmGetterArgs,
) -> Result<(i32, Vec<RcStackValue>, u64)> {
    let no_code = || Error::GetMethod {
        reason: "the account has no code".to_owned(),
    };
    let state = match &account.state {
        AccountState::Active(state_init) => state_init,
        _ => return Err(no_code()),
    };
    let code = state.code.clone().ok_or_else(no_code)?;
    stack.push(RcStackValue::new_dyn_value(BigInt::from(method_id)));
    let address_hash = match &account.address {
        IntAddr::Std(addr) => addr.address,
        IntAddr::Var(_) => HashBytes::ZERO,
    };
    let smc_info = SmcInfoBase::new()
        .with_now(args.now)
        .with_block_lt(account.last_trans_lt)
        .with_tx_lt(account.last_trans_lt)
        .with_mixed_rand_seed(&args.rand_seed, &address_hash)
        .with_account_balance(account.balance.clone())
        .with_account_addr(account.address.clone())
        .with_config(config.raw.params.clone())
        .require_ton_v4()
        .with_code(code.clone())
        .require_ton_v6()
        .fill_unpacked_config()
        .map_err(|e| Error::GetMethod {
            reason: format!("unpacking the config: {e}"),
        })?
        .require_ton_v11();
    let data = state.data.clone().unwrap_or_default();
    let chain_libraries: Dict<HashBytes, tycho_types::models::LibDescr> = Dict::new();
    let libraries = (&state.libraries, &chain_libraries);
    let mut vm = VmState::builder()
        .with_smc_info(smc_info)
        .with_version(VmVersion::Ton(vm_version(config)?))
        .with_code(code)
        .with_data(data)
        .with_libraries(&libraries)
        .with_init_selector(false)
        .with_stack(stack)
        .with_gas(args.gas_params)
        .build();
    let exit_code = !vm.run();
    Ok((exit_code, vm.stack.items.clone(), vm.gas.consumed()))
}
