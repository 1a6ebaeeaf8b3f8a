//! Messages to and from an escrow: deposits, signed requests and their carriers, refunds,
//! and the outgoing TON legs with their query ids.

use serde::{Deserialize, Serialize};
use tycho_types::cell::{CellBuilder, CellSlice};
use tycho_types::models::StdAddr;

use crate::codec;
use crate::error::{Error, Result};
use crate::json;
use crate::layout::{Layout, leg_payment, query_only, tagged_layout};
use crate::opcodes;
use crate::signing::SignedRequest;

query_only!(
    /// TL-B: `escrow_deploy#27dd0fac query_id:uint64 = EscrowMsg;`
    ///
    /// Anyone. A jetton escrow asks its jetton master for its own wallet (TEP-89); a TON escrow only
    /// keeps the attached TON as gas float.
    EscrowDeploy,
    "escrow_deploy",
    opcodes::ESCROW_DEPLOY
);

/// TL-B: `escrow_deposit#17e68fcf query_id:uint64 amount:Coins = EscrowMsg;`
///
/// Anyone, TON escrow only: credits exactly `amount` to the budget; the rest of the attached
/// value stays as gas float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowDeposit {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// nanoTON credited to the budget.
    #[serde(with = "json::dec")]
    pub amount: u128,
}

impl EscrowDeposit {
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
tagged_layout!(EscrowDeposit, "escrow_deposit", opcodes::ESCROW_DEPOSIT);

/// TL-B: `release_request#65e2f320 escrow:MsgAddressInt global_id:int32 seqno:uint32
/// valid_until:uint32 amount:Coins = ReleaseRequest;`
///
/// The payload the signer signs: ed25519 over [`SignedRequest::signing_hash`] (the cell's
/// representation hash). Bound to one escrow by its address and to one network by
/// `global_id`; fresh by `seqno` and `valid_until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The escrow this request is for.
    #[serde(with = "json::addr")]
    pub escrow: StdAddr,
    /// The network the request is for (config param 19; see [`crate::network`]): the escrow
    /// refuses any other than its chain's (`ERR_WRONG_NETWORK`).
    #[serde(with = "json::dec")]
    pub global_id: i32,
    /// Must equal the escrow's current seqno.
    #[serde(with = "json::dec")]
    pub seqno: u32,
    /// Unix time after which the escrow refuses the request.
    #[serde(with = "json::dec")]
    pub valid_until: u32,
    /// Budget units released to the vault (the platform fee comes on top, from `fee_bps`).
    #[serde(with = "json::dec")]
    pub amount: u128,
}

impl ReleaseRequest {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        codec::store_addr(b, &self.escrow)?;
        codec::store_i32(b, self.global_id)?;
        b.store_u32(self.seqno)?;
        b.store_u32(self.valid_until)?;
        codec::store_coins(b, self.amount)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            escrow: codec::load_addr(s)?,
            global_id: codec::load_i32(s)?,
            seqno: s.load_u32()?,
            valid_until: s.load_u32()?,
            amount: codec::load_coins(s)?,
        })
    }
}
tagged_layout!(ReleaseRequest, "release_request", opcodes::RELEASE_REQUEST);
impl SignedRequest for ReleaseRequest {}

/// TL-B: `escrow_release#1c7a11eb query_id:uint64 signature:bits512 request:^ReleaseRequest
/// = EscrowMsg;`
///
/// Anyone may carry a signed release; the escrow checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowRelease {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// ed25519(signer, hash(request)).
    #[serde(with = "json::bytes")]
    pub signature: [u8; 64],
    /// The signed request.
    pub request: ReleaseRequest,
}

impl EscrowRelease {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_bits512(b, &self.signature)?;
        Ok(b.store_reference(self.request.build()?)?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            signature: codec::load_bits512(s)?,
            request: ReleaseRequest::parse(s.load_reference()?)?,
        })
    }
}
tagged_layout!(EscrowRelease, "escrow_release", opcodes::ESCROW_RELEASE);

/// TL-B: `close_request#734ef89e escrow:MsgAddressInt global_id:int32 seqno:uint32
/// valid_until:uint32 = CloseRequest;`
///
/// Signed like [`ReleaseRequest`]; closes the project so the client can take the remainder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// The escrow this request is for.
    #[serde(with = "json::addr")]
    pub escrow: StdAddr,
    /// The network the request is for (config param 19; see [`crate::network`]).
    #[serde(with = "json::dec")]
    pub global_id: i32,
    /// Must equal the escrow's current seqno.
    #[serde(with = "json::dec")]
    pub seqno: u32,
    /// Unix time after which the escrow refuses the request.
    #[serde(with = "json::dec")]
    pub valid_until: u32,
}

impl CloseRequest {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        codec::store_addr(b, &self.escrow)?;
        codec::store_i32(b, self.global_id)?;
        b.store_u32(self.seqno)?;
        Ok(b.store_u32(self.valid_until)?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            escrow: codec::load_addr(s)?,
            global_id: codec::load_i32(s)?,
            seqno: s.load_u32()?,
            valid_until: s.load_u32()?,
        })
    }
}
tagged_layout!(CloseRequest, "close_request", opcodes::CLOSE_REQUEST);
impl SignedRequest for CloseRequest {}

/// TL-B: `escrow_close#409e2dec query_id:uint64 signature:bits512 request:^CloseRequest
/// = EscrowMsg;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowClose {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// ed25519(signer, hash(request)).
    #[serde(with = "json::bytes")]
    pub signature: [u8; 64],
    /// The signed request.
    pub request: CloseRequest,
}

impl EscrowClose {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_bits512(b, &self.signature)?;
        Ok(b.store_reference(self.request.build()?)?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            signature: codec::load_bits512(s)?,
            request: CloseRequest::parse(s.load_reference()?)?,
        })
    }
}
tagged_layout!(EscrowClose, "escrow_close", opcodes::ESCROW_CLOSE);

query_only!(
    /// TL-B: `escrow_refund#6eca230e query_id:uint64 = EscrowMsg;`
    ///
    /// Client only: refund of the unreleased remainder once closed or at/after the deadline.
    EscrowRefund,
    "escrow_refund",
    opcodes::ESCROW_REFUND
);

leg_payment!(
    /// TL-B: `platform_fee#206f96a6 query_id:uint64 project_id:uint64 amount:Coins = TreasuryMsg;`
    ///
    /// Leg 2: escrow -> treasury, value = amount (TON escrow).
    PlatformFee,
    "platform_fee",
    opcodes::PLATFORM_FEE
);

leg_payment!(
    /// TL-B: `escrow_refund_payment#64cea0bd query_id:uint64 project_id:uint64 amount:Coins
    /// = ClientMsg;`
    ///
    /// Leg 3: escrow -> client, value = amount (TON escrow).
    EscrowRefundPayment,
    "escrow_refund_payment",
    opcodes::ESCROW_REFUND_PAYMENT
);

/// Which outgoing jetton or TON message of an escrow a query id belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Leg {
    /// 1: release to the vault.
    Vault = 1,
    /// 2: platform fee to the treasury.
    Fee = 2,
    /// 3: refund to the client.
    Refund = 3,
    /// 4: not a payment: a jetton recovery's self-transfer; the `seqno` part is the recovery's
    /// number (`recoveries`), and the whole id is the `jetton_recovery` nonce.
    Recovery = 4,
}

/// `leg_query_id$_ leg:uint32 seqno:uint32 = LegQueryId;` (a uint64 on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LegQueryId {
    /// The payment leg.
    pub leg: Leg,
    /// The escrow seqno the leg was sent under.
    pub seqno: u32,
}

impl LegQueryId {
    /// `(leg << 32) | seqno`.
    pub fn to_u64(self) -> u64 {
        ((self.leg as u64) << 32) | u64::from(self.seqno)
    }
}

impl From<LegQueryId> for u64 {
    fn from(q: LegQueryId) -> u64 {
        q.to_u64()
    }
}

impl TryFrom<u64> for LegQueryId {
    type Error = Error;

    fn try_from(v: u64) -> Result<Self> {
        let leg = match v >> 32 {
            1 => Leg::Vault,
            2 => Leg::Fee,
            3 => Leg::Refund,
            4 => Leg::Recovery,
            other => {
                return Err(Error::InvalidValue {
                    field: "leg",
                    value: other,
                });
            }
        };
        Ok(Self {
            leg,
            seqno: v as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leg_query_ids() {
        let q = LegQueryId {
            leg: Leg::Fee,
            seqno: 0xffff_fffe,
        };
        assert_eq!(q.to_u64(), 0x0000_0002_ffff_fffe);
        assert_eq!(LegQueryId::try_from(q.to_u64()).unwrap(), q);
        assert!(LegQueryId::try_from(7).is_err());
        assert_eq!(
            LegQueryId::try_from((4 << 32) | 1).unwrap(),
            LegQueryId {
                leg: Leg::Recovery,
                seqno: 1
            }
        );
        assert!(LegQueryId::try_from(5 << 32).is_err());
    }
}
