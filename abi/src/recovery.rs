//! Jetton recovery, shared by the escrow and the vault (`contracts/common/recovery.tolk`).
//!
//! A contract books jettons its own jetton wallet holds beyond its books: tokens that came back
//! from a recipient's wallet that refused them (a locked USDT wallet returns them to the
//! sender's wallet without telling the sender) or that arrived without a notification.
//!
//! ```text
//! anyone --jetton_recover(amount X)--> contract --transfer(A = books + X, to itself,
//!     forward_payload: jetton_recovery(nonce))--> own wallet --internal_transfer--> own wallet
//!     --transfer_notification(A, sender: the contract)--> contract: books max(0, A - books now)
//! ```
//!
//! Only a wallet that holds A can make the transfer, so a recovery can never book more than
//! the wallet really holds: a leaked signer or admin key gains nothing from it. The escrow's
//! nonce (and the self-transfer's query id) is `LegQueryId { leg: Leg::Recovery, seqno:
//! recoveries }`.

use serde::{Deserialize, Serialize};
use tycho_types::cell::{CellBuilder, CellSlice};

use crate::codec;
use crate::error::Result;
use crate::json;
use crate::layout::tagged_layout;
use crate::opcodes;

/// TL-B: `jetton_recover#25951450 query_id:uint64 amount:Coins = RecoverMsg;`
///
/// Anyone; `amount` is the claimed extra X beyond the contract's books. The caller pays the gas
/// and gets the excess back from the wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JettonRecover {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The claimed extra (jetton base units).
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

/// TL-B: `jetton_recovery#1015e2f5 nonce:uint64 = RecoveryMarker;`
///
/// The forward payload of a recovery's self-transfer; the answer books only with the pending
/// nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JettonRecovery {
    /// The recovery's nonce.
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
    /// What was booked (0 when the wallet held no more than the books by then).
    #[serde(with = "json::dec")]
    pub amount: u128,
    /// The contract's jetton books after it: the escrow's remaining budget, the vault's
    /// `jetton_balance`.
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

/// TL-B: `ev_jetton_recovery_failed#6e05cfbc query_id:uint64 = Event;`
///
/// The own wallet refused the self-transfer (it does not hold books + X): nothing was booked.
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
