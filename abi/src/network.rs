//! Network global ids (config param 19, TVM `GLOBALID`). Every signed request carries one
//! (`global_id`, directly after the contract's address) and the contracts refuse any other than
//! their chain's, so a signature made for one network is worthless on every other, even for a
//! contract with the same address. The LabelMint devnet's id (2026) is `DEVNET_GLOBAL_ID` in the
//! devnet crate.

/// TON mainnet.
pub const MAINNET_GLOBAL_ID: i32 = -239;
/// TON testnet.
pub const TESTNET_GLOBAL_ID: i32 = -3;
