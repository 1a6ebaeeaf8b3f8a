//! TEP-74 jetton and TEP-89 wallet-discovery messages, the test USD minter's own messages, and
//! the jetton wallet / minter storage.
//!
//! Address fields follow the scheme: `MsgAddressInt` is a [`StdAddr`], `MsgAddress` is an
//! `Option<StdAddr>` (`None` = addr_none). Other address kinds (addr_extern, addr_var, anycast)
//! are parse errors: LabelMint never uses them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tycho_types::cell::{Cell, CellBuilder, CellSlice};
use tycho_types::models::StdAddr;

use crate::codec;
use crate::error::Result;
use crate::json;
use crate::layout::{Layout, tagged_layout};
use crate::opcodes;

/// `forward_payload:(Either Cell ^Cell)`: the payload a jetton transfer forwards to the
/// recipient's owner in `transfer_notification`.
///
/// JSON: `null` for an empty inline payload (the common "no payload"), `{"ref": "<boc hex>"}`,
/// `{"inline": "<boc hex>"}` for a non-empty inline payload, `"missing"` when the body ends
/// before the Either bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardPayload {
    /// Left branch: the payload follows inline (bits and refs of the cell). An empty cell is
    /// "no payload".
    Inline(Cell),
    /// Right branch: the payload is the referenced cell.
    Ref(Cell),
    /// Non-standard: the body ends before the Either bit. Some wallets send this; TEP-74 reads
    /// it as an empty payload. Kept so that parsing is lossless.
    Missing,
}

impl Default for ForwardPayload {
    fn default() -> Self {
        ForwardPayload::Inline(Cell::default())
    }
}

impl ForwardPayload {
    /// The payload as a cell: the referenced cell, or the inline bits and refs as a cell.
    /// `None` when there is no payload (empty inline, or missing).
    pub fn cell(&self) -> Option<&Cell> {
        match self {
            ForwardPayload::Inline(c) if c.is_empty() => None,
            ForwardPayload::Inline(c) | ForwardPayload::Ref(c) => Some(c),
            ForwardPayload::Missing => None,
        }
    }

    pub(crate) fn store(&self, b: &mut CellBuilder) -> Result<()> {
        match self {
            ForwardPayload::Inline(cell) => {
                b.store_bit_zero()?;
                b.store_slice(codec::open(cell.as_ref())?)?;
            }
            ForwardPayload::Ref(cell) => {
                b.store_bit_one()?;
                b.store_reference(cell.clone())?;
            }
            ForwardPayload::Missing => {}
        }
        Ok(())
    }

    /// Reads the rest of the body.
    pub(crate) fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        if s.is_empty() {
            return Ok(ForwardPayload::Missing);
        }
        if s.load_bit()? {
            // The right branch is the reference and nothing else; any data after it is left
            // for `parse` to reject as trailing data.
            Ok(ForwardPayload::Ref(s.load_reference_cloned()?))
        } else {
            Ok(ForwardPayload::Inline(codec::remainder_cell(s)?))
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ForwardPayloadJson {
    Inline(#[serde(with = "json::boc")] Cell),
    Ref(#[serde(with = "json::boc")] Cell),
    Missing,
}

impl Serialize for ForwardPayload {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ForwardPayload::Inline(c) if c.is_empty() => s.serialize_none(),
            ForwardPayload::Inline(c) => ForwardPayloadJson::Inline(c.clone()).serialize(s),
            ForwardPayload::Ref(c) => ForwardPayloadJson::Ref(c.clone()).serialize(s),
            ForwardPayload::Missing => ForwardPayloadJson::Missing.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ForwardPayload {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(match Option::<ForwardPayloadJson>::deserialize(d)? {
            None => ForwardPayload::default(),
            Some(ForwardPayloadJson::Inline(c)) => ForwardPayload::Inline(c),
            Some(ForwardPayloadJson::Ref(c)) => ForwardPayload::Ref(c),
            Some(ForwardPayloadJson::Missing) => ForwardPayload::Missing,
        })
    }
}

/// TL-B: `transfer#0f8a7ea5 query_id:uint64 amount:Coins destination:MsgAddress
/// response_destination:MsgAddress custom_payload:(Maybe ^Cell) forward_ton_amount:Coins
/// forward_payload:(Either Cell ^Cell) = JettonMsg;`
///
/// Owner -> own jetton wallet. The escrow's jetton legs and the vault's jetton payouts are
/// transfers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JettonTransfer {
    /// Echoed in the notification and the excesses.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// Jetton base units.
    #[serde(with = "json::dec")]
    pub amount: u128,
    /// The new owner of the jettons.
    #[serde(with = "json::opt_addr")]
    pub destination: Option<StdAddr>,
    /// Where excess TON goes.
    #[serde(with = "json::opt_addr")]
    pub response_destination: Option<StdAddr>,
    /// Unused by LabelMint; carried through.
    #[serde(with = "json::opt_boc")]
    pub custom_payload: Option<Cell>,
    /// nanoTON attached to the transfer notification.
    #[serde(with = "json::dec")]
    pub forward_ton_amount: u128,
    /// Forwarded to the destination in `transfer_notification`.
    pub forward_payload: ForwardPayload,
}

impl JettonTransfer {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_coins(b, self.amount)?;
        codec::store_opt_addr(b, self.destination.as_ref())?;
        codec::store_opt_addr(b, self.response_destination.as_ref())?;
        codec::store_maybe_ref(b, self.custom_payload.as_ref())?;
        codec::store_coins(b, self.forward_ton_amount)?;
        self.forward_payload.store(b)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            amount: codec::load_coins(s)?,
            destination: codec::load_opt_addr(s)?,
            response_destination: codec::load_opt_addr(s)?,
            custom_payload: codec::load_maybe_ref(s)?,
            forward_ton_amount: codec::load_coins(s)?,
            forward_payload: ForwardPayload::load(s)?,
        })
    }
}
tagged_layout!(JettonTransfer, "transfer", opcodes::TRANSFER);

/// TL-B: `internal_transfer#178d4519 query_id:uint64 amount:Coins from:MsgAddress
/// response_address:MsgAddress forward_ton_amount:Coins forward_payload:(Either Cell ^Cell)
/// = JettonMsg;`
///
/// Wallet -> wallet, or minter -> wallet when minting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalTransfer {
    /// Copied from the transfer.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// Jetton base units.
    #[serde(with = "json::dec")]
    pub amount: u128,
    /// The sending wallet's owner (addr_none for some mints).
    #[serde(with = "json::opt_addr")]
    pub from: Option<StdAddr>,
    /// Where excess TON goes.
    #[serde(with = "json::opt_addr")]
    pub response_address: Option<StdAddr>,
    /// nanoTON attached to the transfer notification.
    #[serde(with = "json::dec")]
    pub forward_ton_amount: u128,
    /// Forwarded in `transfer_notification`.
    pub forward_payload: ForwardPayload,
}

impl InternalTransfer {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_coins(b, self.amount)?;
        codec::store_opt_addr(b, self.from.as_ref())?;
        codec::store_opt_addr(b, self.response_address.as_ref())?;
        codec::store_coins(b, self.forward_ton_amount)?;
        self.forward_payload.store(b)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            amount: codec::load_coins(s)?,
            from: codec::load_opt_addr(s)?,
            response_address: codec::load_opt_addr(s)?,
            forward_ton_amount: codec::load_coins(s)?,
            forward_payload: ForwardPayload::load(s)?,
        })
    }
}
tagged_layout!(
    InternalTransfer,
    "internal_transfer",
    opcodes::INTERNAL_TRANSFER
);

/// TL-B: `transfer_notification#7362d09c query_id:uint64 amount:Coins sender:MsgAddress
/// forward_payload:(Either Cell ^Cell) = JettonMsg;`
///
/// Wallet -> its owner. An escrow trusts it only from its own jetton wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferNotification {
    /// Copied from the transfer.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// Jetton base units received.
    #[serde(with = "json::dec")]
    pub amount: u128,
    /// The previous owner of the jettons.
    #[serde(with = "json::opt_addr")]
    pub sender: Option<StdAddr>,
    /// The transfer's forward payload.
    pub forward_payload: ForwardPayload,
}

impl TransferNotification {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_coins(b, self.amount)?;
        codec::store_opt_addr(b, self.sender.as_ref())?;
        self.forward_payload.store(b)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            amount: codec::load_coins(s)?,
            sender: codec::load_opt_addr(s)?,
            forward_payload: ForwardPayload::load(s)?,
        })
    }
}
tagged_layout!(
    TransferNotification,
    "transfer_notification",
    opcodes::TRANSFER_NOTIFICATION
);

/// TL-B: `excesses#d53276db query_id:uint64 = JettonMsg;`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Excesses {
    /// Copied from the transfer.
    #[serde(with = "json::dec")]
    pub query_id: u64,
}

impl Excesses {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        Ok(b.store_u64(self.query_id)?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
        })
    }
}
tagged_layout!(Excesses, "excesses", opcodes::EXCESSES);

/// TL-B: `burn#595f07bc query_id:uint64 amount:Coins response_destination:MsgAddress
/// custom_payload:(Maybe ^Cell) = JettonMsg;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burn {
    /// Echoed in the burn notification.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// Jetton base units to burn.
    #[serde(with = "json::dec")]
    pub amount: u128,
    /// Where excess TON goes.
    #[serde(with = "json::opt_addr")]
    pub response_destination: Option<StdAddr>,
    /// Unused by LabelMint; carried through.
    #[serde(with = "json::opt_boc")]
    pub custom_payload: Option<Cell>,
}

impl Burn {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_coins(b, self.amount)?;
        codec::store_opt_addr(b, self.response_destination.as_ref())?;
        codec::store_maybe_ref(b, self.custom_payload.as_ref())
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            amount: codec::load_coins(s)?,
            response_destination: codec::load_opt_addr(s)?,
            custom_payload: codec::load_maybe_ref(s)?,
        })
    }
}
tagged_layout!(Burn, "burn", opcodes::BURN);

/// TL-B: `burn_notification#7bdd97de query_id:uint64 amount:Coins sender:MsgAddress
/// response_destination:MsgAddress = JettonMsg;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurnNotification {
    /// Copied from the burn.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// Jetton base units burnt.
    #[serde(with = "json::dec")]
    pub amount: u128,
    /// The burning wallet's owner.
    #[serde(with = "json::opt_addr")]
    pub sender: Option<StdAddr>,
    /// Where excess TON goes.
    #[serde(with = "json::opt_addr")]
    pub response_destination: Option<StdAddr>,
}

impl BurnNotification {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_coins(b, self.amount)?;
        codec::store_opt_addr(b, self.sender.as_ref())?;
        codec::store_opt_addr(b, self.response_destination.as_ref())
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            amount: codec::load_coins(s)?,
            sender: codec::load_opt_addr(s)?,
            response_destination: codec::load_opt_addr(s)?,
        })
    }
}
tagged_layout!(
    BurnNotification,
    "burn_notification",
    opcodes::BURN_NOTIFICATION
);

/// TL-B: `provide_wallet_address#2c76b973 query_id:uint64 owner_address:MsgAddress
/// include_address:Bool = JettonMsg;`
///
/// A jetton escrow sends this to its jetton master on deploy to learn its own wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvideWalletAddress {
    /// Echoed in the answer.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// Whose wallet to compute.
    #[serde(with = "json::opt_addr")]
    pub owner_address: Option<StdAddr>,
    /// Ask the minter to echo the owner in the answer.
    pub include_address: bool,
}

impl ProvideWalletAddress {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_opt_addr(b, self.owner_address.as_ref())?;
        Ok(b.store_bit(self.include_address)?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            owner_address: codec::load_opt_addr(s)?,
            include_address: s.load_bit()?,
        })
    }
}
tagged_layout!(
    ProvideWalletAddress,
    "provide_wallet_address",
    opcodes::PROVIDE_WALLET_ADDRESS
);

/// TL-B: `take_wallet_address#d1735400 query_id:uint64 wallet_address:MsgAddress
/// owner_address:(Maybe ^MsgAddress) = JettonMsg;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeWalletAddress {
    /// Copied from the question.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The wallet; addr_none when the owner cannot have one.
    #[serde(with = "json::opt_addr")]
    pub wallet_address: Option<StdAddr>,
    /// `None`: not included. `Some(None)`: included, addr_none. JSON: key absent, `null`, or
    /// the address.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "maybe_ref_addr"
    )]
    pub owner_address: Option<Option<StdAddr>>,
}

impl TakeWalletAddress {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_opt_addr(b, self.wallet_address.as_ref())?;
        match &self.owner_address {
            Some(owner) => {
                let cell = codec::build_with(|b| codec::store_opt_addr(b, owner.as_ref()))?;
                codec::store_maybe_ref(b, Some(&cell))
            }
            None => codec::store_maybe_ref(b, None),
        }
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        let query_id = s.load_u64()?;
        let wallet_address = codec::load_opt_addr(s)?;
        let owner_address = if s.load_bit()? {
            let mut r = codec::load_ref_slice(s)?;
            let owner = codec::load_opt_addr(&mut r)?;
            codec::ensure_end(&r)?;
            Some(owner)
        } else {
            None
        };
        Ok(Self {
            query_id,
            wallet_address,
            owner_address,
        })
    }
}
tagged_layout!(
    TakeWalletAddress,
    "take_wallet_address",
    opcodes::TAKE_WALLET_ADDRESS
);

/// `Maybe ^MsgAddress`: the key is absent when the Maybe is; `null` is an included addr_none.
mod maybe_ref_addr {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        v: &Option<Option<StdAddr>>,
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        json::opt_addr::serialize(&v.clone().flatten(), s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<Option<StdAddr>>, D::Error> {
        // Called only when the key is present: `null` is an included addr_none.
        Ok(Some(json::opt_addr::deserialize(d)?))
    }
}

/// TL-B: `labelmint_mint#3b6a9960 query_id:uint64 to:MsgAddressInt ton_amount:Coins
/// master_msg:^JettonMsg = MinterMsg;`
///
/// Admin -> test USD minter: the minter sends `master_msg` (an `internal_transfer`) with
/// `ton_amount` to the wallet of `to`, deploying it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelmintMint {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The owner of the wallet that receives the jettons.
    #[serde(with = "json::addr")]
    pub to: StdAddr,
    /// nanoTON sent with `master_msg`.
    #[serde(with = "json::dec")]
    pub ton_amount: u128,
    /// The internal transfer the minter forwards (the minter requires this constructor).
    pub master_msg: InternalTransfer,
}

impl LabelmintMint {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_addr(b, &self.to)?;
        codec::store_coins(b, self.ton_amount)?;
        Ok(b.store_reference(self.master_msg.build()?)?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            to: codec::load_addr(s)?,
            ton_amount: codec::load_coins(s)?,
            master_msg: InternalTransfer::parse(s.load_reference()?)?,
        })
    }
}
tagged_layout!(LabelmintMint, "labelmint_mint", opcodes::LABELMINT_MINT);

/// TL-B: `labelmint_change_admin#6009fc83 query_id:uint64 new_admin:MsgAddress = MinterMsg;`
///
/// `new_admin = None` (addr_none) drops the admin for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelmintChangeAdmin {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The new admin, or addr_none.
    #[serde(with = "json::opt_addr")]
    pub new_admin: Option<StdAddr>,
}

impl LabelmintChangeAdmin {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_opt_addr(b, self.new_admin.as_ref())
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            new_admin: codec::load_opt_addr(s)?,
        })
    }
}
tagged_layout!(
    LabelmintChangeAdmin,
    "labelmint_change_admin",
    opcodes::LABELMINT_CHANGE_ADMIN
);

/// TL-B: `call_to#235caf52 query_id:uint64 to_address:MsgAddressInt ton_amount:Coins
/// master_msg:^JettonMsg = MinterMsg;` (USDT's constructor and tag)
///
/// Admin -> test USD minter: the minter sends `master_msg` with `ton_amount` to the jetton wallet
/// of `to_address` (with its StateInit). The minter accepts [`SetStatus`], [`JettonTransfer`]
/// (a forced transfer) and [`Burn`] (a forced burn) there; `master_msg` is kept as the raw cell,
/// decode it with the `parse` of one of those.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallTo {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The owner whose wallet receives `master_msg`.
    #[serde(with = "json::addr")]
    pub to_address: StdAddr,
    /// nanoTON sent with `master_msg`.
    #[serde(with = "json::dec")]
    pub ton_amount: u128,
    /// The message for the wallet.
    #[serde(with = "json::boc")]
    pub master_msg: Cell,
}

impl CallTo {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        codec::store_addr(b, &self.to_address)?;
        codec::store_coins(b, self.ton_amount)?;
        Ok(b.store_reference(self.master_msg.clone())?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            to_address: codec::load_addr(s)?,
            ton_amount: codec::load_coins(s)?,
            master_msg: s.load_reference_cloned()?,
        })
    }
}
tagged_layout!(CallTo, "call_to", opcodes::CALL_TO);

/// TL-B: `set_status#eed236d3 query_id:uint64 status:uint4 = JettonMsg;` (USDT's constructor and
/// tag)
///
/// Minter -> jetton wallet only: the new lock nibble. Bit 1 ([`STATUS_SEND_LOCKED`]): the owner
/// cannot transfer or burn; bit 2 ([`STATUS_RECEIVE_LOCKED`]): the wallet refuses incoming
/// `internal_transfer` (it bounces to the sender's wallet, which restores its balance). Both
/// refusals use USDT's exit code 45 (`exit_codes::jetton::ERR_CONTRACT_LOCKED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    /// Query id.
    #[serde(with = "json::dec")]
    pub query_id: u64,
    /// The lock nibble (0..=15).
    #[serde(with = "json::dec")]
    pub status: u8,
}

/// [`SetStatus::status`] / [`JettonWalletStorage::status`] bit: the owner cannot send.
pub const STATUS_SEND_LOCKED: u8 = 1;
/// [`SetStatus::status`] / [`JettonWalletStorage::status`] bit: the wallet refuses incoming
/// transfers.
pub const STATUS_RECEIVE_LOCKED: u8 = 2;

impl SetStatus {
    fn store_fields(&self, b: &mut CellBuilder) -> Result<()> {
        b.store_u64(self.query_id)?;
        Ok(b.store_small_uint(self.status, 4)?)
    }

    fn load_fields(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            query_id: s.load_u64()?,
            status: s.load_small_uint(4)?,
        })
    }
}
tagged_layout!(SetStatus, "set_status", opcodes::SET_STATUS);

/// TL-B: `jetton_wallet_storage$_ status:uint4 balance:Coins owner:MsgAddressInt
/// minter:MsgAddressInt = JettonWalletStorage;`
///
/// A wallet's address is the hash of (wallet code, [`JettonWalletStorage::initial`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JettonWalletStorage {
    /// USDT's lock nibble (4 bits): [`STATUS_SEND_LOCKED`], [`STATUS_RECEIVE_LOCKED`]; set by the
    /// minter with [`SetStatus`].
    #[serde(with = "json::dec")]
    pub status: u8,
    /// Jetton base units held.
    #[serde(with = "json::dec")]
    pub balance: u128,
    /// The wallet's owner.
    #[serde(with = "json::addr")]
    pub owner: StdAddr,
    /// The jetton minter (master).
    #[serde(with = "json::addr")]
    pub minter: StdAddr,
}

impl JettonWalletStorage {
    /// The initial data of `owner`'s wallet: status 0, balance 0.
    pub fn initial(owner: StdAddr, minter: StdAddr) -> Self {
        Self {
            status: 0,
            balance: 0,
            owner,
            minter,
        }
    }
}

impl Layout for JettonWalletStorage {
    const NAME: &'static str = "jetton_wallet_storage";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        codec::check_width("status", self.status.into(), 4)?;
        b.store_small_uint(self.status, 4)?;
        codec::store_coins(b, self.balance)?;
        codec::store_addr(b, &self.owner)?;
        codec::store_addr(b, &self.minter)
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            status: s.load_small_uint(4)?,
            balance: codec::load_coins(s)?,
            owner: codec::load_addr(s)?,
            minter: codec::load_addr(s)?,
        })
    }
}

/// TL-B: `jetton_minter_storage$_ total_supply:Coins admin:MsgAddress wallet_code:^Cell
/// content:^Cell = JettonMinterStorage;`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JettonMinterStorage {
    /// Jetton base units in circulation.
    #[serde(with = "json::dec")]
    pub total_supply: u128,
    /// Who may mint; addr_none once dropped.
    #[serde(with = "json::opt_addr")]
    pub admin: Option<StdAddr>,
    /// Code of the jetton wallets (see [`crate::code::jetton_wallet_code`]).
    #[serde(with = "json::boc")]
    pub wallet_code: Cell,
    /// TEP-64 metadata: off-chain, `0x01` + URL, snake format.
    #[serde(with = "json::boc")]
    pub content: Cell,
}

impl Layout for JettonMinterStorage {
    const NAME: &'static str = "jetton_minter_storage";
    const OPCODE: Option<u32> = None;

    fn store(&self, b: &mut CellBuilder) -> Result<()> {
        codec::store_coins(b, self.total_supply)?;
        codec::store_opt_addr(b, self.admin.as_ref())?;
        b.store_reference(self.wallet_code.clone())?;
        Ok(b.store_reference(self.content.clone())?)
    }

    fn load(s: &mut CellSlice<'_>) -> Result<Self> {
        Ok(Self {
            total_supply: codec::load_coins(s)?,
            admin: codec::load_opt_addr(s)?,
            wallet_code: s.load_reference_cloned()?,
            content: s.load_reference_cloned()?,
        })
    }
}

/// TEP-64 off-chain content: `0x01` + the URL as a snake string (the minter's `content`).
pub fn offchain_content(url: &str) -> Result<Cell> {
    let mut bytes = Vec::with_capacity(url.len() + 1);
    bytes.push(0x01);
    bytes.extend_from_slice(url.as_bytes());
    crate::text::snake_cell(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use tycho_types::cell::HashBytes;

    fn addr(b: u8) -> StdAddr {
        StdAddr::new(0, HashBytes([b; 32]))
    }

    #[test]
    fn forward_payload_round_trips_every_branch() {
        let payload = codec::build_with(|b| Ok(b.store_u32(0xabcd)?)).unwrap();
        for fp in [
            ForwardPayload::default(),
            ForwardPayload::Inline(payload.clone()),
            ForwardPayload::Ref(payload.clone()),
            ForwardPayload::Missing,
        ] {
            let n = TransferNotification {
                query_id: 1,
                amount: 2,
                sender: Some(addr(3)),
                forward_payload: fp,
            };
            assert_eq!(TransferNotification::parse(&n.build().unwrap()).unwrap(), n);
            let json = serde_json::to_value(&n).unwrap();
            assert_eq!(
                serde_json::from_value::<TransferNotification>(json).unwrap(),
                n
            );
        }
    }

    #[test]
    fn ref_payload_followed_by_data_is_rejected() {
        let payload = Cell::default();
        let cell = codec::build_with(|b| {
            b.store_u32(opcodes::TRANSFER_NOTIFICATION)?;
            b.store_u64(1)?;
            codec::store_coins(b, 5)?;
            codec::store_opt_addr(b, None)?;
            b.store_bit_one()?;
            b.store_reference(payload)?;
            Ok(b.store_bit_one()?)
        })
        .unwrap();
        assert_eq!(
            TransferNotification::parse(&cell),
            Err(Error::TrailingData { bits: 1, refs: 0 })
        );
    }

    #[test]
    fn status_is_four_bits() {
        let mut s = JettonWalletStorage::initial(addr(1), addr(2));
        s.status = 16;
        assert_eq!(
            s.build(),
            Err(Error::IntTooLarge {
                field: "status",
                value: 16,
                bits: 4
            })
        );
    }

    #[test]
    fn mint_requires_an_internal_transfer() {
        let cell = codec::build_with(|b| {
            b.store_u32(opcodes::LABELMINT_MINT)?;
            b.store_u64(1)?;
            codec::store_addr(b, &addr(1))?;
            codec::store_coins(b, 5)?;
            Ok(b.store_reference(Excesses { query_id: 1 }.build()?)?)
        })
        .unwrap();
        assert!(matches!(
            LabelmintMint::parse(&cell),
            Err(Error::WrongOpcode {
                expected: opcodes::INTERNAL_TRANSFER,
                found: opcodes::EXCESSES
            })
        ));
    }
}
