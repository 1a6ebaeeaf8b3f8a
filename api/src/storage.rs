//! Contract storage as the indexer keeps it (`account_states.data`, the data cell of an active
//! account as of its last indexed transaction), decoded with labelmint-abi: an escrow's
//! deadline and own state, a vault's rolling window, frozen flag and pending admin change.
//!
//! A cell that does not decode (not an escrow's or a vault's layout, which a watched account
//! always has) is logged and shown as unknown (`null`), never an error for the caller.

use labelmint_abi::Layout as _;
use labelmint_abi::escrow::EscrowStorage;
use labelmint_abi::vault::VaultStorage;
use tycho_types::boc::Boc;
use tycho_types::cell::Cell;

fn cell(address: &str, data: Option<&[u8]>) -> Option<Cell> {
    let data = data?;
    match Boc::decode(data) {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!(address, error = %e, "indexed account data is not a BOC");
            None
        }
    }
}

/// The escrow's storage, when its data is indexed and decodes.
pub fn escrow(address: &str, data: Option<&[u8]>) -> Option<EscrowStorage> {
    let c = cell(address, data)?;
    EscrowStorage::parse(&c)
        .inspect_err(|e| tracing::warn!(address, error = %e, "escrow data does not decode"))
        .ok()
}

/// The vault's storage, when its data is indexed and decodes.
pub fn vault(address: &str, data: Option<&[u8]>) -> Option<VaultStorage> {
    let c = cell(address, data)?;
    VaultStorage::parse(&c)
        .inspect_err(|e| tracing::warn!(address, error = %e, "vault data does not decode"))
        .ok()
}
