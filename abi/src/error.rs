//! The crate's one error type.

/// What can go wrong building or parsing a LabelMint layout.
///
/// Parsing never panics: a malformed cell becomes one of these variants. Variants carry the
/// offending values so callers (and tests) can match on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body starts with another opcode than the layout's.
    #[error("wrong opcode: expected {expected:#010x}, found {found:#010x}")]
    WrongOpcode {
        /// The layout's opcode.
        expected: u32,
        /// The first 32 bits of the body.
        found: u32,
    },
    /// The body starts with an opcode no decoder here knows (for example [`crate::Event`]).
    #[error("unknown opcode {found:#010x}")]
    UnknownOpcode {
        /// The first 32 bits of the body.
        found: u32,
    },
    /// A string that is not a TON address in the expected form ([`crate::address`]).
    #[error("{input:?} is not a TON address: {reason}")]
    BadAddress {
        /// The input (at most 100 characters of it).
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The cell ends (bits or refs) before the layout does.
    #[error("cell underflow: the cell ends before the layout does")]
    CellUnderflow,
    /// The layout does not fit into one cell (1023 bits, 4 refs).
    #[error("cell overflow: the value does not fit into a cell")]
    CellOverflow,
    /// The layout ended but the cell holds more data.
    #[error("trailing data after the layout: {bits} bits and {refs} refs left")]
    TrailingData {
        /// Bits left unread.
        bits: u16,
        /// References left unread.
        refs: u8,
    },
    /// An exotic cell (pruned branch, library, Merkle proof) where an ordinary cell was expected.
    #[error("exotic cell where an ordinary cell was expected")]
    ExoticCell,
    /// A `Coins` amount must be below 2^120.
    #[error("amount {value} does not fit in Coins (at most 2^120 - 1)")]
    AmountTooLarge {
        /// The rejected amount.
        value: u128,
    },
    /// A fixed-width integer field got a value wider than the field.
    #[error("{field} = {value} does not fit in {bits} bits")]
    IntTooLarge {
        /// The TL-B field name.
        field: &'static str,
        /// The rejected value.
        value: u64,
        /// The field's width.
        bits: u16,
    },
    /// A field holds a value that the scheme does not define (an enum out of range).
    #[error("{field} = {value} is not a defined value")]
    InvalidValue {
        /// The TL-B field name.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// A payout item id must be below 10^17, so its decimal form has at most 17 digits.
    #[error("item id {item_id} has more than 17 decimal digits (must be < 10^17)")]
    ItemIdTooLarge {
        /// The rejected item id.
        item_id: u64,
    },
    /// A payout item's `digits` are not the decimal form of its `item_id`.
    #[error("payout item {item_id}: digits {found:?} are not its decimal form")]
    DigitsMismatch {
        /// The item id stored in the item.
        item_id: u64,
        /// The digits stored in the item (raw bytes, lossily shown as text).
        found: String,
    },
    /// A text comment that is not `LabelMint #<digits>`.
    #[error("not a LabelMint payout comment")]
    NotPayoutComment,
    /// `addr_none` where the scheme requires an internal address (`MsgAddressInt`).
    #[error("addr_none where an internal address is required")]
    MissingAddress,
    /// An address kind LabelMint never uses: `addr_extern` (tag 0b01) or `addr_var` (0b11).
    #[error("unsupported address kind (tag {tag:#04b}); only addr_std and addr_none are used")]
    UnsupportedAddress {
        /// The 2-bit address tag.
        tag: u8,
    },
    /// An `addr_std` with anycast info (the scheme says "no anycast").
    #[error("anycast addresses are not used by LabelMint")]
    AnycastAddress,
    /// A payout batch holds more items than a batch may.
    #[error("batch of {count} items; at most {max} allowed")]
    TooManyItems {
        /// Items in the batch.
        count: usize,
        /// The maximum ([`crate::vault::MAX_BATCH_ITEMS`]).
        max: usize,
    },
    /// A payout batch must hold at least one item.
    #[error("a payout batch must hold at least one item")]
    EmptyBatch,
    /// A batch's declared `count` differs from its item list.
    #[error("batch declares {declared} items but holds {actual}")]
    CountMismatch {
        /// The `count` field.
        declared: u64,
        /// Items in the list.
        actual: u64,
    },
    /// A batch's declared `total` differs from the sum of its items.
    #[error("batch declares total {declared} but its items sum to {actual}")]
    TotalMismatch {
        /// The `total` field.
        declared: u128,
        /// The sum of the items' amounts.
        actual: u128,
    },
    /// An escrow's `fee_bps` above the on-chain maximum: such an escrow refuses every message.
    #[error("fee_bps {fee_bps} is above the maximum {max}")]
    FeeTooHigh {
        /// The escrow's fee in basis points.
        fee_bps: u16,
        /// [`crate::escrow::MAX_FEE_BPS`].
        max: u16,
    },
    /// An ed25519 public key that is not a valid curve point.
    #[error("invalid ed25519 public key")]
    InvalidPublicKey,
    /// The signature does not verify against the request hash and key.
    #[error("signature does not verify")]
    InvalidSignature,
    /// Any other cell-library error (kept for context).
    #[error("cell error: {0}")]
    Cell(tycho_types::error::Error),
    /// TEP-467 normalizes external-in messages only; this message is internal or external-out.
    #[error("not an external-in message (TEP-467 normalizes ext_in_msg_info only)")]
    NotExternalIn,
}

impl From<tycho_types::error::Error> for Error {
    fn from(e: tycho_types::error::Error) -> Self {
        use tycho_types::error::Error as E;
        match e {
            E::CellUnderflow => Error::CellUnderflow,
            E::CellOverflow => Error::CellOverflow,
            E::UnexpectedExoticCell => Error::ExoticCell,
            other => Error::Cell(other),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
