//! Escrow events: external-out messages to addr_none, body inline.

use serde::{Deserialize, Serialize};
use tycho_types::cell::{CellBuilder, CellSlice};
use tycho_types::models::StdAddr;

use crate::codec;
use crate::error::Result;
use crate::json;
use crate::layout::tagged_layout;
use crate::opcodes;

/// TL-B: `ev_deposit#534cbe30 query_id:uint64 from:MsgAddressInt amount:Coins deposited:Coins
/// = EscrowEvent;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvDeposit {
    /// The deposit's query id (TON) or the transfer's (jetton).
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The depositor (jetton: the transfer's sender).
    #[serde(with = "json::addr")]
    pub from: StdAddr,
    /// Credited to the budget.
    #[serde(with = "json::dec")]
    pub amount: u128,
    /// Total deposited after this deposit.
    #[serde(with = "json::dec")]
    pub deposited: u128,
}

impl EvDeposit {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_addr(b, &self.from)?;
        codec::store_coins(b, self.amount)?;
        codec::store_coins(b, self.deposited)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            from: codec::load_addr(s)?,
            amount: codec::load_coins(s)?,
            deposited: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(EvDeposit, "ev_deposit", opcodes::EV_DEPOSIT);

/// TL-B: `ev_release#58d02014 seqno:uint32 amount:Coins fee:Coins remaining:Coins
/// = EscrowEvent;`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvRelease {
    /// The seqno of the executed request.
    #[serde(with = "json::dec")]
    pub seqno: u32,
    /// Sent to the vault.
    #[serde(with = "json::dec")]
    pub amount: u128,
    /// Sent to the treasury.
    #[serde(with = "json::dec")]
    pub fee: u128,
    /// Budget left.
    #[serde(with = "json::dec")]
    pub remaining: u128,
}

impl EvRelease {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u32(self.seqno)?;
        codec::store_coins(b, self.amount)?;
        codec::store_coins(b, self.fee)?;
        codec::store_coins(b, self.remaining)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            seqno: s.load_u32()?,
            amount: codec::load_coins(s)?,
            fee: codec::load_coins(s)?,
            remaining: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(EvRelease, "ev_release", opcodes::EV_RELEASE);

/// TL-B: `ev_release_bounced#625750ef query_id:uint64 amount:Coins remaining:Coins
/// = EscrowEvent;`
///
/// `query_id` is the [`LegQueryId`](super::LegQueryId) of the bounced leg (1 or 2); the amount is back in the
/// budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvReleaseBounced {
    /// The bounced leg's query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// Back in the budget.
    #[serde(with = "json::dec")]
    pub amount: u128,
    /// Budget left after crediting it back.
    #[serde(with = "json::dec")]
    pub remaining: u128,
}

impl EvReleaseBounced {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_coins(b, self.amount)?;
        codec::store_coins(b, self.remaining)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            amount: codec::load_coins(s)?,
            remaining: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(
    EvReleaseBounced,
    "ev_release_bounced",
    opcodes::EV_RELEASE_BOUNCED
);

/// TL-B: `ev_refund#25b164f7 query_id:uint64 to:MsgAddressInt amount:Coins = EscrowEvent;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvRefund {
    /// The refund leg's query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The client.
    #[serde(with = "json::addr")]
    pub to: StdAddr,
    /// Refunded.
    #[serde(with = "json::dec")]
    pub amount: u128,
}

impl EvRefund {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_addr(b, &self.to)?;
        codec::store_coins(b, self.amount)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            to: codec::load_addr(s)?,
            amount: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(EvRefund, "ev_refund", opcodes::EV_REFUND);

/// TL-B: `ev_refund_bounced#1da6db86 query_id:uint64 amount:Coins = EscrowEvent;`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvRefundBounced {
    /// The bounced refund leg's query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// Back in the budget.
    #[serde(with = "json::dec")]
    pub amount: u128,
}

impl EvRefundBounced {
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
tagged_layout!(
    EvRefundBounced,
    "ev_refund_bounced",
    opcodes::EV_REFUND_BOUNCED
);

/// `seqno` of an [`EvClosed`] emitted by a deadline refund rather than a signed close.
pub const CLOSED_BY_DEADLINE: u32 = u32::MAX;

/// TL-B: `ev_closed#7a5a3d4b seqno:uint32 remaining:Coins = EscrowEvent;`
///
/// `seqno` = [`CLOSED_BY_DEADLINE`] (0xffffffff) for a deadline refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvClosed {
    /// The close request's seqno, or [`CLOSED_BY_DEADLINE`].
    #[serde(with = "json::dec")]
    pub seqno: u32,
    /// Budget left at closing.
    #[serde(with = "json::dec")]
    pub remaining: u128,
}

impl EvClosed {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u32(self.seqno)?;
        codec::store_coins(b, self.remaining)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            seqno: s.load_u32()?,
            remaining: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(EvClosed, "ev_closed", opcodes::EV_CLOSED);

/// TL-B: `ev_jetton_wallet_learned#189fe399 wallet:MsgAddressInt = EscrowEvent;` (and
/// `= VaultEvent;`: the escrow and the vault emit the same event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvJettonWalletLearned {
    /// The contract's own jetton wallet (from TEP-89 `take_wallet_address`).
    #[serde(with = "json::addr")]
    pub wallet: StdAddr,
}

impl EvJettonWalletLearned {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        codec::store_addr(b, &self.wallet)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            wallet: codec::load_addr(s)?,
        })
    }
}
tagged_layout!(
    EvJettonWalletLearned,
    "ev_jetton_wallet_learned",
    opcodes::EV_JETTON_WALLET_LEARNED
);
