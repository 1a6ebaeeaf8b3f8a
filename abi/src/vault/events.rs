//! Vault events: external-out messages to addr_none, body inline. (`ev_jetton_wallet_learned`
//! is shared with the escrow: [`crate::escrow::EvJettonWalletLearned`].)

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tycho_types::cell::{CellBuilder, CellSlice};
use tycho_types::models::StdAddr;

use crate::codec;
use crate::error::{Error, Result};
use crate::json;
use crate::layout::tagged_layout;
use crate::opcodes;
use crate::vault::AdminChange;

/// TL-B: `ev_vault_funded#3e4def1b query_id:uint64 project_id:uint64 from:MsgAddressInt
/// amount:Coins = VaultEvent;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvVaultFunded {
    /// The funding message's query id (an escrow's leg-1 query id).
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The project the money came from.
    #[serde(with = "json::dec")]
    pub project_id: u64,
    /// The funder (an escrow; jetton: the transfer's sender).
    #[serde(with = "json::addr")]
    pub from: StdAddr,
    /// Credited.
    #[serde(with = "json::dec")]
    pub amount: u128,
}

impl EvVaultFunded {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        b.store_u64(self.project_id)?;
        codec::store_addr(b, &self.from)?;
        codec::store_coins(b, self.amount)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            project_id: s.load_u64()?,
            from: codec::load_addr(s)?,
            amount: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(EvVaultFunded, "ev_vault_funded", opcodes::EV_VAULT_FUNDED);

/// TL-B: `ev_batch_executed#3b5e76c5 query_id:uint64 created_at:uint32 count:uint8 total:Coins
/// window_used:Coins = VaultEvent;`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvBatchExecuted {
    /// The batch's query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The batch's created_at.
    #[serde(with = "json::dec")]
    pub created_at: u32,
    /// Items paid.
    #[serde(with = "json::dec")]
    pub count: u8,
    /// Sum paid.
    #[serde(with = "json::dec")]
    pub total: u128,
    /// The rolling window's use after this batch.
    #[serde(with = "json::dec")]
    pub window_used: u128,
}

impl EvBatchExecuted {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        b.store_u32(self.created_at)?;
        b.store_u8(self.count)?;
        codec::store_coins(b, self.total)?;
        codec::store_coins(b, self.window_used)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            created_at: s.load_u32()?,
            count: s.load_u8()?,
            total: codec::load_coins(s)?,
            window_used: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(
    EvBatchExecuted,
    "ev_batch_executed",
    opcodes::EV_BATCH_EXECUTED
);

/// TL-B: `ev_payout_bounced#7d2aa311 item_id:uint64 amount:Coins = VaultEvent;`
///
/// TON: `amount` is the value that came back; jetton: the jetton amount restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvPayoutBounced {
    /// The bounced payout's item id.
    #[serde(with = "json::dec")]
    pub item_id: u64,
    /// Credited back.
    #[serde(with = "json::dec")]
    pub amount: u128,
}

impl EvPayoutBounced {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.item_id)?;
        codec::store_coins(b, self.amount)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            item_id: s.load_u64()?,
            amount: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(
    EvPayoutBounced,
    "ev_payout_bounced",
    opcodes::EV_PAYOUT_BOUNCED
);

/// `action:uint8` of [`EvAdminChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminAction {
    /// 1: frozen.
    Freeze = 1,
    /// 2: unfrozen.
    Unfreeze = 2,
    /// 3: limits changed.
    SetLimits = 3,
    /// 4: signer key rotated.
    SetSigner = 4,
    /// 5: admin changed.
    SetAdmin = 5,
}

impl TryFrom<u8> for AdminAction {
    type Error = Error;

    fn try_from(v: u8) -> Result<Self> {
        Ok(match v {
            1 => AdminAction::Freeze,
            2 => AdminAction::Unfreeze,
            3 => AdminAction::SetLimits,
            4 => AdminAction::SetSigner,
            5 => AdminAction::SetAdmin,
            other => {
                return Err(Error::InvalidValue {
                    field: "action",
                    value: other.into(),
                });
            }
        })
    }
}

impl Serialize for AdminAction {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        json::dec::serialize(&(*self as u8), s)
    }
}

impl<'de> Deserialize<'de> for AdminAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v: u8 = json::dec::deserialize(d)?;
        AdminAction::try_from(v).map_err(serde::de::Error::custom)
    }
}

/// TL-B: `ev_admin_change#7c77eb8e query_id:uint64 action:uint8 frozen:Bool window_len:uint32
/// window_limit:Coins signer_key:uint256 admin:MsgAddressInt = VaultEvent;`
///
/// The fields are the vault's state after the change. `query_id` is the admin message's for a
/// change made at once, and the proposal's for a change applied after its delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvAdminChange {
    /// The admin message's query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// What changed.
    pub action: AdminAction,
    /// Frozen after the change.
    pub frozen: bool,
    /// Window length after the change.
    #[serde(with = "json::dec")]
    pub window_len: u32,
    /// Window limit after the change.
    #[serde(with = "json::dec")]
    pub window_limit: u128,
    /// Signer key after the change.
    #[serde(with = "json::bytes")]
    pub signer_key: [u8; 32],
    /// Admin after the change.
    #[serde(with = "json::addr")]
    pub admin: StdAddr,
}

impl EvAdminChange {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        b.store_u8(self.action as u8)?;
        b.store_bit(self.frozen)?;
        b.store_u32(self.window_len)?;
        codec::store_coins(b, self.window_limit)?;
        codec::store_u256(b, &self.signer_key)?;
        codec::store_addr(b, &self.admin)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            action: AdminAction::try_from(s.load_u8()?)?,
            frozen: s.load_bit()?,
            window_len: s.load_u32()?,
            window_limit: codec::load_coins(s)?,
            signer_key: codec::load_u256(s)?,
            admin: codec::load_addr(s)?,
        })
    }
}
tagged_layout!(EvAdminChange, "ev_admin_change", opcodes::EV_ADMIN_CHANGE);

/// TL-B: `ev_admin_change_proposed#40204909 query_id:uint64 apply_after:uint32 change:AdminChange
/// = VaultEvent;`
///
/// A change that raises a power waits until `apply_after`; anyone applies it then
/// (`ev_admin_change` with the proposal's query id), the admin may cancel it before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvAdminChangeProposed {
    /// The proposal's query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// `vault_apply_change` is accepted from this time on.
    #[serde(with = "json::dec")]
    pub apply_after: u32,
    /// What it changes.
    pub change: AdminChange,
}

impl EvAdminChangeProposed {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        b.store_u32(self.apply_after)?;
        self.change.store(b)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            apply_after: s.load_u32()?,
            change: AdminChange::load(s)?,
        })
    }
}
tagged_layout!(
    EvAdminChangeProposed,
    "ev_admin_change_proposed",
    opcodes::EV_ADMIN_CHANGE_PROPOSED
);

/// TL-B: `ev_admin_change_cancelled#718db47a query_id:uint64 change:AdminChange = VaultEvent;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvAdminChangeCancelled {
    /// The proposal's query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// What it would have changed.
    pub change: AdminChange,
}

impl EvAdminChangeCancelled {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        self.change.store(b)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            change: AdminChange::load(s)?,
        })
    }
}
tagged_layout!(
    EvAdminChangeCancelled,
    "ev_admin_change_cancelled",
    opcodes::EV_ADMIN_CHANGE_CANCELLED
);

/// TL-B: `ev_gas_topped_up#56c78fe8 query_id:uint64 from:MsgAddressInt amount:Coins
/// = VaultEvent;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvGasToppedUp {
    /// The top-up's query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// Who topped up.
    #[serde(with = "json::addr")]
    pub from: StdAddr,
    /// nanoTON added to the gas float.
    #[serde(with = "json::dec")]
    pub amount: u128,
}

impl EvGasToppedUp {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_addr(b, &self.from)?;
        codec::store_coins(b, self.amount)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            from: codec::load_addr(s)?,
            amount: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(EvGasToppedUp, "ev_gas_topped_up", opcodes::EV_GAS_TOPPED_UP);
