//! Internal messages to a vault: funding, the gas top-up and the admin's messages (which cannot
//! move funds).

use serde::{Deserialize, Serialize};
use tycho_types::cell::{CellBuilder, CellSlice};
use tycho_types::models::StdAddr;

use crate::codec;
use crate::error::Result;
use crate::json;
use crate::layout::{leg_payment, query_only, tagged_layout};
use crate::opcodes;

leg_payment!(
    /// TL-B: `vault_fund#2c4547ea query_id:uint64 project_id:uint64 amount:Coins = VaultMsg;`
    ///
    /// Funding a vault: leg 1 of an escrow release (TON: the message body, value = amount; jetton:
    /// the forward payload of the transfer), or anyone funding a TON vault.
    VaultFund,
    "vault_fund",
    opcodes::VAULT_FUND
);

query_only!(
    /// TL-B: `vault_top_up#730b0b0e query_id:uint64 = VaultMsg;` — TON gas float (any vault).
    VaultTopUp,
    "vault_top_up",
    opcodes::VAULT_TOP_UP
);
query_only!(
    /// TL-B: `vault_freeze#011bc462 query_id:uint64 = VaultAdminMsg;` — admin: stop batches.
    VaultFreeze,
    "vault_freeze",
    opcodes::VAULT_FREEZE
);
query_only!(
    /// TL-B: `vault_unfreeze#6c772644 query_id:uint64 = VaultAdminMsg;` — admin: resume.
    VaultUnfreeze,
    "vault_unfreeze",
    opcodes::VAULT_UNFREEZE
);

query_only!(
    /// TL-B: `vault_apply_change#3d5dee05 query_id:uint64 = VaultMsg;` — anyone: applies the
    /// pending admin change once its `apply_after` has come.
    VaultApplyChange,
    "vault_apply_change",
    opcodes::VAULT_APPLY_CHANGE
);
query_only!(
    /// TL-B: `vault_cancel_change#49418297 query_id:uint64 = VaultAdminMsg;` — admin: drops the
    /// pending admin change.
    VaultCancelChange,
    "vault_cancel_change",
    opcodes::VAULT_CANCEL_CHANGE
);

/// TL-B: `vault_set_limits#3c0a471b query_id:uint64 window_len:uint32 window_limit:Coins
/// = VaultAdminMsg;`
///
/// Applies at once when it raises nothing (window not shorter, limit not larger); otherwise it is
/// proposed and waits `admin_delay` ([`crate::vault::VaultPendingChange`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSetLimits {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// Length of the rolling window, seconds.
    #[serde(with = "json::dec")]
    pub window_len: u32,
    /// At most this much may leave per window.
    #[serde(with = "json::dec")]
    pub window_limit: u128,
}

impl VaultSetLimits {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        b.store_u32(self.window_len)?;
        codec::store_coins(b, self.window_limit)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            window_len: s.load_u32()?,
            window_limit: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(
    VaultSetLimits,
    "vault_set_limits",
    opcodes::VAULT_SET_LIMITS
);

/// TL-B: `vault_set_signer#00a61232 query_id:uint64 signer_key:uint256 = VaultAdminMsg;`
/// (proposed: waits `admin_delay`)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSetSigner {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The new signer's ed25519 public key.
    #[serde(with = "json::bytes")]
    pub signer_key: [u8; 32],
}

impl VaultSetSigner {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_u256(b, &self.signer_key)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            signer_key: codec::load_u256(s)?,
        })
    }
}
tagged_layout!(
    VaultSetSigner,
    "vault_set_signer",
    opcodes::VAULT_SET_SIGNER
);

/// TL-B: `vault_set_admin#143694f2 query_id:uint64 new_admin:MsgAddressInt = VaultAdminMsg;`
/// (proposed: waits `admin_delay`)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSetAdmin {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The new admin (cold wallet or multisig).
    #[serde(with = "json::addr")]
    pub new_admin: StdAddr,
}

impl VaultSetAdmin {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_addr(b, &self.new_admin)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            new_admin: codec::load_addr(s)?,
        })
    }
}
tagged_layout!(VaultSetAdmin, "vault_set_admin", opcodes::VAULT_SET_ADMIN);
