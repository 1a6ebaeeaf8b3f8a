//! Get-methods (runSmcMethod) with tycho-vm.

use tycho_types::boc::Boc;
use tycho_types::cell::{CellBuilder, Load};
use tycho_types::dict::Dict;
use tycho_types::models::Account;
use tycho_vm::{Stack, VmCaller, VmGetterArgs};

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
    let caller = VmCaller {
        libraries: Dict::new(),
        behaviour_modifiers: Default::default(),
        config: config.raw.params.clone(),
    };
    let mut args = VmGetterArgs::default();
    args.now = now;
    let out = caller
        .call_getter_ext(account, method_id, stack, &args, None)
        .map_err(|e| Error::GetMethod {
            reason: e.to_string(),
        })?;
    let result = Stack { items: out.stack };
    let cell = CellBuilder::build_from(&result)?;
    Ok(GetterResult {
        exit_code: out.exit_code,
        stack_boc: Boc::encode(&cell),
        gas_used: out.gas_used,
    })
}
