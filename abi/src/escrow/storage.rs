//! An escrow's persistent data: state, counters, the learned jetton wallet and the immutable
//! parameters (which, with the code, fix its address).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tycho_types::cell::{CellBuilder, CellSlice};
use tycho_types::models::StdAddr;

use crate::codec;
use crate::error::{Error, Result};
use crate::json;
use crate::layout::Layout;

/// TL-B: `escrow_routes$_ vault:MsgAddressInt treasury:MsgAddressInt = EscrowRoutes;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowRoutes {
    /// The payout vault of the escrow's currency.
    #[serde(with = "json::addr")]
    pub vault: StdAddr,
    /// Where platform fees go.
    #[serde(with = "json::addr")]
    pub treasury: StdAddr,
}

impl Layout for EscrowRoutes {
    const NAME: &'static str = "escrow_routes";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        codec::store_addr(b, &self.vault)?;
        codec::store_addr(b, &self.treasury)
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            vault: codec::load_addr(s)?,
            treasury: codec::load_addr(s)?,
        })
    }
}

/// The largest `fee_bps` an escrow accepts (`MAX_FEE_BPS` in contracts/escrow/storage.tolk):
/// 2000 basis points, 20% of a release. An escrow above it refuses every message
/// (`ERR_FEE_TOO_HIGH`); check [`EscrowParams::check_fee`] before offering one for deposits.
pub const MAX_FEE_BPS: u16 = 2000;

/// Seconds a jetton recovery stays in flight (`RECOVERY_TIMEOUT` in storage.tolk): meanwhile
/// releases and refunds are refused (`ERR_RECOVERY_PENDING`).
pub const RECOVERY_TIMEOUT: u32 = 3600;

/// TL-B: `escrow_params$_ project_id:uint64 signer_key:uint256 deadline:uint32 fee_bps:uint16
/// client:MsgAddressInt jetton_master:MsgAddress routes:^EscrowRoutes = EscrowParams;`
///
/// Immutable; with the code it fixes the escrow's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowParams {
    /// The LabelMint project.
    #[serde(with = "json::dec")]
    pub project_id: u64,
    /// The ed25519 public key of the payout signer.
    #[serde(with = "json::bytes")]
    pub signer_key: [u8; 32],
    /// Unix time from which the client may refund without a close.
    #[serde(with = "json::dec")]
    pub deadline: u32,
    /// Platform fee in basis points of each release; at most [`MAX_FEE_BPS`].
    #[serde(with = "json::dec")]
    pub fee_bps: u16,
    /// The client who funds the project and gets refunds.
    #[serde(with = "json::addr")]
    pub client: StdAddr,
    /// The jetton master; `None` for a TON escrow.
    #[serde(with = "json::opt_addr")]
    pub jetton_master: Option<StdAddr>,
    /// Vault and treasury.
    pub routes: EscrowRoutes,
}

impl EscrowParams {
    /// `Err(FeeTooHigh)` when `fee_bps` is above [`MAX_FEE_BPS`]: such an escrow refuses every
    /// message, so nobody should be asked to deposit into it.
    pub fn check_fee(&self) -> Result<()> {
        if self.fee_bps > MAX_FEE_BPS {
            return Err(Error::FeeTooHigh {
                fee_bps: self.fee_bps,
                max: MAX_FEE_BPS,
            });
        }
        Ok(())
    }

    /// The platform fee the escrow adds to a release of `amount`:
    /// `floor(amount * fee_bps / 10000)` (the escrow's `mulDivFloor`). A release needs
    /// `amount + fee` of remaining budget.
    pub fn release_fee(&self, amount: u128) -> u128 {
        // amount < 2^120 and fee_bps < 2^16 cannot overflow u128 when split this way.
        let bps = u128::from(self.fee_bps);
        (amount / 10_000) * bps + (amount % 10_000) * bps / 10_000
    }
}

impl Layout for EscrowParams {
    const NAME: &'static str = "escrow_params";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.project_id)?;
        codec::store_u256(b, &self.signer_key)?;
        b.store_u32(self.deadline)?;
        b.store_u16(self.fee_bps)?;
        codec::store_addr(b, &self.client)?;
        codec::store_opt_addr(b, self.jetton_master.as_ref())?;
        Ok(b.store_reference(self.routes.build()?)?)
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            project_id: s.load_u64()?,
            signer_key: codec::load_u256(s)?,
            deadline: s.load_u32()?,
            fee_bps: s.load_u16()?,
            client: codec::load_addr(s)?,
            jetton_master: codec::load_opt_addr(s)?,
            routes: EscrowRoutes::parse(s.load_reference()?)?,
        })
    }
}

/// `state:uint8` of an escrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EscrowState {
    /// 0: deposits and releases accepted.
    #[default]
    Active = 0,
    /// 1: closed by a signed close (or a deadline refund); only refunds remain.
    Closed = 1,
}

impl TryFrom<u8> for EscrowState {
    type Error = Error;

    fn try_from(v: u8) -> Result<Self> {
        match v {
            0 => Ok(EscrowState::Active),
            1 => Ok(EscrowState::Closed),
            other => Err(Error::InvalidValue {
                field: "state",
                value: other.into(),
            }),
        }
    }
}

impl Serialize for EscrowState {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        json::dec::serialize(&(*self as u8), s)
    }
}

impl<'de> Deserialize<'de> for EscrowState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v: u8 = json::dec::deserialize(d)?;
        EscrowState::try_from(v).map_err(serde::de::Error::custom)
    }
}

/// TL-B: `escrow_storage$_ state:uint8 seqno:uint32 deposited:Coins released:Coins
/// fees_paid:Coins refunded:Coins recovered:Coins recoveries:uint32 recovery_since:uint32
/// jetton_wallet:MsgAddress params:^EscrowParams = EscrowStorage;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowStorage {
    /// Active or closed.
    pub state: EscrowState,
    /// Replay counter of signed requests.
    #[serde(with = "json::dec")]
    pub seqno: u32,
    /// Total credited to the budget.
    #[serde(with = "json::dec")]
    pub deposited: u128,
    /// Total released to the vault.
    #[serde(with = "json::dec")]
    pub released: u128,
    /// Total platform fees paid.
    #[serde(with = "json::dec")]
    pub fees_paid: u128,
    /// Total refunded to the client.
    #[serde(with = "json::dec")]
    pub refunded: u128,
    /// Total booked by jetton recoveries (`ev_jetton_recovered`): tokens that came back to the
    /// escrow's jetton wallet without telling it.
    #[serde(with = "json::dec")]
    pub recovered: u128,
    /// Jetton recoveries started; the latest one's nonce is
    /// `LegQueryId { leg: Leg::Recovery, seqno: recoveries }`.
    #[serde(with = "json::dec")]
    pub recoveries: u32,
    /// Unix time the latest recovery started, 0 once it was answered or refused. It is in flight
    /// while `now < recovery_since + RECOVERY_TIMEOUT`.
    #[serde(with = "json::dec")]
    pub recovery_since: u32,
    /// The escrow's own jetton wallet once learned (TEP-89); `None` before and for TON.
    #[serde(with = "json::opt_addr")]
    pub jetton_wallet: Option<StdAddr>,
    /// The immutable parameters.
    pub params: EscrowParams,
}

impl EscrowStorage {
    /// The initial data: state 0, seqno 0, counters 0, jetton_wallet addr_none.
    pub fn initial(params: EscrowParams) -> Self {
        Self {
            state: EscrowState::Active,
            seqno: 0,
            deposited: 0,
            released: 0,
            fees_paid: 0,
            refunded: 0,
            recovered: 0,
            recoveries: 0,
            recovery_since: 0,
            jetton_wallet: None,
            params,
        }
    }

    /// Whether a jetton recovery is in flight at unix time `now` (releases and refunds wait).
    pub fn recovery_in_flight(&self, now: u32) -> bool {
        self.recovery_since != 0
            && u64::from(now) < u64::from(self.recovery_since) + u64::from(RECOVERY_TIMEOUT)
    }

    /// The remaining budget: deposited + recovered - released - fees_paid - refunded (`None`
    /// if the counters are inconsistent).
    pub fn remaining(&self) -> Option<u128> {
        self.deposited
            .checked_add(self.recovered)?
            .checked_sub(self.released)?
            .checked_sub(self.fees_paid)?
            .checked_sub(self.refunded)
    }
}

impl Layout for EscrowStorage {
    const NAME: &'static str = "escrow_storage";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u8(self.state as u8)?;
        b.store_u32(self.seqno)?;
        codec::store_coins(b, self.deposited)?;
        codec::store_coins(b, self.released)?;
        codec::store_coins(b, self.fees_paid)?;
        codec::store_coins(b, self.refunded)?;
        codec::store_coins(b, self.recovered)?;
        b.store_u32(self.recoveries)?;
        b.store_u32(self.recovery_since)?;
        codec::store_opt_addr(b, self.jetton_wallet.as_ref())?;
        Ok(b.store_reference(self.params.build()?)?)
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            state: EscrowState::try_from(s.load_u8()?)?,
            seqno: s.load_u32()?,
            deposited: codec::load_coins(s)?,
            released: codec::load_coins(s)?,
            fees_paid: codec::load_coins(s)?,
            refunded: codec::load_coins(s)?,
            recovered: codec::load_coins(s)?,
            recoveries: s.load_u32()?,
            recovery_since: s.load_u32()?,
            jetton_wallet: codec::load_opt_addr(s)?,
            params: EscrowParams::parse(s.load_reference()?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tycho_types::cell::HashBytes;

    fn addr(b: u8) -> StdAddr {
        StdAddr::new(0, HashBytes([b; 32]))
    }

    fn params() -> EscrowParams {
        EscrowParams {
            project_id: 42,
            signer_key: [7; 32],
            deadline: 1_900_000_000,
            fee_bps: 250,
            client: addr(1),
            jetton_master: None,
            routes: EscrowRoutes {
                vault: addr(2),
                treasury: addr(3),
            },
        }
    }

    #[test]
    fn release_fee_is_floor_of_bps() {
        let mut p = params();
        assert_eq!(p.release_fee(10_000), 250);
        assert_eq!(p.release_fee(39), 0);
        assert_eq!(p.release_fee(41), 1);
        p.fee_bps = u16::MAX;
        let max = (1u128 << 120) - 1;
        assert_eq!(
            p.release_fee(max),
            max / 10_000 * 65_535 + (max % 10_000) * 65_535 / 10_000
        );
        assert_eq!(p.release_fee(12_345), 12_345 * 65_535 / 10_000);
    }

    #[test]
    fn storage_round_trips() {
        let mut s = EscrowStorage::initial(params());
        assert_eq!(EscrowStorage::parse(&s.build().unwrap()).unwrap(), s);
        s.state = EscrowState::Closed;
        s.deposited = 10;
        s.released = 3;
        s.fees_paid = 1;
        s.jetton_wallet = Some(addr(9));
        s.params.jetton_master = Some(addr(8));
        assert_eq!(EscrowStorage::parse(&s.build().unwrap()).unwrap(), s);
        assert_eq!(s.remaining(), Some(6));
        s.recovered = 4;
        s.recoveries = 2;
        s.recovery_since = 1_900_000_000;
        assert_eq!(EscrowStorage::parse(&s.build().unwrap()).unwrap(), s);
        assert_eq!(s.remaining(), Some(10));
        assert!(s.recovery_in_flight(1_900_000_000 + RECOVERY_TIMEOUT - 1));
        assert!(!s.recovery_in_flight(1_900_000_000 + RECOVERY_TIMEOUT));
        s.recovery_since = u32::MAX;
        assert!(s.recovery_in_flight(u32::MAX));
        s.recovery_since = 0;
        assert!(!s.recovery_in_flight(0));
    }

    #[test]
    fn widest_storage_fits_one_cell() {
        let max = (1u128 << 120) - 1;
        let mut s = EscrowStorage::initial(params());
        s.deposited = max;
        s.released = max;
        s.fees_paid = max;
        s.refunded = max;
        s.recovered = max;
        s.recoveries = u32::MAX;
        s.recovery_since = u32::MAX;
        s.jetton_wallet = Some(addr(9));
        let cell = s.build().unwrap();
        assert_eq!(cell.bit_len(), 8 + 32 + 5 * 124 + 32 + 32 + 267);
        assert_eq!(EscrowStorage::parse(&cell).unwrap(), s);
    }

    #[test]
    fn fee_cap() {
        let mut p = params();
        p.fee_bps = MAX_FEE_BPS;
        assert_eq!(p.check_fee(), Ok(()));
        p.fee_bps = MAX_FEE_BPS + 1;
        assert_eq!(
            p.check_fee(),
            Err(Error::FeeTooHigh {
                fee_bps: 2001,
                max: 2000
            })
        );
    }

    #[test]
    fn unknown_state_is_an_error() {
        let mut cell = EscrowStorage::initial(params()).build().unwrap();
        let mut b = CellBuilder::new();
        b.store_u8(2).unwrap();
        let mut rest = cell.as_slice().unwrap();
        rest.skip_first(8, 0).unwrap();
        b.store_slice(rest).unwrap();
        cell = b.build().unwrap();
        assert_eq!(
            EscrowStorage::parse(&cell),
            Err(Error::InvalidValue {
                field: "state",
                value: 2
            })
        );
    }
}
