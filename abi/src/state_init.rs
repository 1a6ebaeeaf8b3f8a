//! StateInit and address derivation: a contract's address is workchain 0 + the representation
//! hash of its StateInit (code + initial data, no split depth, no special flags, no libraries).

use tycho_types::cell::{Cell, CellBuilder, HashBytes};
use tycho_types::models::{StateInit, StdAddr};

use crate::code;
use crate::error::Result;
use crate::escrow::{EscrowParams, EscrowStorage};
use crate::jetton::JettonWalletStorage;
use crate::layout::Layout;
use crate::vault::{VaultConfig, VaultStorage};

/// Every LabelMint contract lives in the basechain.
pub const WORKCHAIN: i8 = 0;

/// A StateInit holding only `code` and `data`.
pub fn state_init(code: Cell, data: Cell) -> StateInit {
    StateInit {
        split_depth: None,
        special: None,
        code: Some(code),
        data: Some(data),
        libraries: Default::default(),
    }
}

/// The StateInit as a cell (what a deploy message carries in its `init`).
pub fn state_init_cell(init: &StateInit) -> Result<Cell> {
    Ok(CellBuilder::build_from(init)?)
}

/// The representation hash of a StateInit cell.
pub fn state_init_hash(init: &StateInit) -> Result<HashBytes> {
    Ok(*state_init_cell(init)?.repr_hash())
}

/// The basechain address of a StateInit.
pub fn address_of(init: &StateInit) -> Result<StdAddr> {
    Ok(StdAddr::new(WORKCHAIN, state_init_hash(init)?))
}

/// An escrow's StateInit: the embedded escrow code + [`EscrowStorage::initial`].
pub fn escrow_state_init(params: &EscrowParams) -> Result<StateInit> {
    let data = EscrowStorage::initial(params.clone()).build()?;
    Ok(state_init(code::escrow_code(), data))
}

/// An escrow's address.
pub fn escrow_address(params: &EscrowParams) -> Result<StdAddr> {
    address_of(&escrow_state_init(params)?)
}

/// A vault's StateInit: the embedded vault code + [`VaultStorage::initial`].
pub fn vault_state_init(config: &VaultConfig) -> Result<StateInit> {
    let data = VaultStorage::initial(config.clone()).build()?;
    Ok(state_init(code::vault_code(), data))
}

/// A vault's address.
pub fn vault_address(config: &VaultConfig) -> Result<StdAddr> {
    address_of(&vault_state_init(config)?)
}

/// The StateInit of `owner`'s test USD jetton wallet: the embedded wallet code +
/// [`JettonWalletStorage::initial`].
pub fn jetton_wallet_state_init(owner: &StdAddr, minter: &StdAddr) -> Result<StateInit> {
    let data = JettonWalletStorage::initial(owner.clone(), minter.clone()).build()?;
    Ok(state_init(code::jetton_wallet_code(), data))
}

/// The address of `owner`'s test USD jetton wallet.
pub fn jetton_wallet_address(owner: &StdAddr, minter: &StdAddr) -> Result<StdAddr> {
    address_of(&jetton_wallet_state_init(owner, minter)?)
}
