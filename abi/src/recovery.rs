//! Jetton recovery, shared by the escrow and the vault (`contracts/common/recovery.tolk`): a
//! contract asks its own jetton wallet to transfer A = booked + X to the contract itself; the
//! notification that comes back proves the wallet held A, and the contract books what it holds
//! beyond its books (tokens a locked recipient's wallet bounced back, or tokens sent without a
//! notification).

use serde::{Deserialize, Serialize};
use tycho_types::cell::{CellBuilder, CellSlice};

use crate::codec;
use crate::error::Result;
use crate::json;
use crate::layout::tagged_layout;
use crate::opcodes;

/// TL-B: `jetton_recover#25951450 query_id:uint64 amount:Coins = RecoverMsg;` — anyone;
/// `amount` = the claimed extra X beyond the contract's books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JettonRecover {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The claimed extra.
    #[serde(with = "json::dec")]
    pub amount: u128,
}

impl JettonRecover {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_coins(b, self.amount)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            amount: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(JettonRecover, "jetton_recover", opcodes::JETTON_RECOVER);

/// TL-B: `jetton_recovery#1015e2f5 nonce:uint64 = RecoveryMarker;` — the forward payload of the
/// self-transfer (vault nonces are `2^63 | n`; escrow nonces are leg query ids of leg 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JettonRecovery {
    /// The recovery's nonce (also the self-transfer's TEP-74 query id).
    #[serde(with = "json::dec")]
    pub nonce: u64,
}

impl JettonRecovery {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        Ok(b.store_u64(self.nonce)?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            nonce: s.load_u64()?,
        })
    }
}
tagged_layout!(JettonRecovery, "jetton_recovery", opcodes::JETTON_RECOVERY);

/// TL-B: `ev_jetton_recovered#1bd976cd query_id:uint64 amount:Coins booked:Coins = Event;`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvJettonRecovered {
    /// The recovery's nonce.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// What was booked (0 when the wallet held no more than the books).
    #[serde(with = "json::dec")]
    pub amount: u128,
    /// The contract's jetton books after it (vault: jetton_balance; escrow: remaining budget).
    #[serde(with = "json::dec")]
    pub booked: u128,
}

impl EvJettonRecovered {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_coins(b, self.amount)?;
        codec::store_coins(b, self.booked)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            amount: codec::load_coins(s)?,
            booked: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(
    EvJettonRecovered,
    "ev_jetton_recovered",
    opcodes::EV_JETTON_RECOVERED
);

/// TL-B: `ev_jetton_recovery_failed#6e05cfbc query_id:uint64 = Event;` — the own wallet refused
/// the self-transfer (it does not hold A): nothing booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvJettonRecoveryFailed {
    /// The recovery's nonce.
    #[serde(with = "json::dec")]
    pub query_id: u64,
}

impl EvJettonRecoveryFailed {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        Ok(b.store_u64(self.query_id)?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
        })
    }
}
tagged_layout!(
    EvJettonRecoveryFailed,
    "ev_jetton_recovery_failed",
    opcodes::EV_JETTON_RECOVERY_FAILED
);
