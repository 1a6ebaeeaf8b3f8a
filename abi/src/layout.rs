//! The [`Layout`] trait: one TL-B constructor of scheme.tlb as a Rust type.

use tycho_types::cell::{Cell, CellBuilder, CellSlice, DynCell, HashBytes};

use crate::codec;
use crate::error::Result;

/// A Rust type stored in and loaded from cells exactly as one TL-B constructor of
/// `contracts/contracts/scheme.tlb` says.
///
/// Implementors write [`store`](Layout::store) and [`load`](Layout::load) (tag included);
/// [`build`](Layout::build) and [`parse`](Layout::parse) work on whole cells, and `parse`
/// rejects trailing data, as Tolk's `fromCell` does.
pub trait Layout: Sized {
    /// The TL-B constructor name, for example `escrow_deposit`.
    const NAME: &'static str;
    /// The constructor's 32-bit tag, if it has one (storage layouts and requests without a
    /// `#tag` have `None`).
    const OPCODE: Option<u32>;

    /// Appends the value (tag first) to `builder`.
    fn store(&self, builder: &mut CellBuilder) -> Result<()>;

    /// Reads the value (tag first) from `slice`, leaving whatever follows.
    fn load(slice: &mut CellSlice<'_>) -> Result<Self>;

    /// Builds a cell holding exactly this value.
    fn build(&self) -> Result<Cell> {
        codec::build_with(|b| self.store(b))
    }

    /// The representation hash of [`build`](Layout::build)'s cell.
    fn hash(&self) -> Result<HashBytes> {
        Ok(*self.build()?.repr_hash())
    }

    /// Parses a cell that holds exactly one value: no data may follow it.
    fn parse<C: AsRef<DynCell> + ?Sized>(cell: &C) -> Result<Self> {
        let mut slice = codec::open(cell.as_ref())?;
        let value = Self::load(&mut slice)?;
        codec::ensure_end(&slice)?;
        Ok(value)
    }
}

/// Implements [`Layout`] for a constructor whose `store_fields` / `load_fields` inherent
/// functions handle the fields after the tag.
macro_rules! tagged_layout {
    ($ty:ty, $name:literal, $op:expr) => {
        impl $crate::layout::Layout for $ty {
            const NAME: &'static str = $name;
            const OPCODE: Option<u32> = Some($op);

            fn store(
                &self,
                builder: &mut ::tycho_types::cell::CellBuilder,
            ) -> $crate::error::Result<()> {
                builder.store_u32($op)?;
                self.store_fields(builder)
            }

            fn load(slice: &mut ::tycho_types::cell::CellSlice<'_>) -> $crate::error::Result<Self> {
                $crate::codec::load_tag(slice, $op)?;
                Self::load_fields(slice)
            }
        }
    };
}

pub(crate) use tagged_layout;

/// Declares a message whose only field is `query_id:uint64`.
macro_rules! query_only {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $op:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $ty {
            /// Query id.
            #[serde(with = "crate::json::dec")]
            pub query_id: u64,
        }

        impl $ty {
            fn store_fields(
                &self,
                b: &mut ::tycho_types::cell::CellBuilder,
            ) -> $crate::error::Result<()> {
                Ok(b.store_u64(self.query_id)?)
            }

            fn load_fields(
                s: &mut ::tycho_types::cell::CellSlice<'_>,
            ) -> $crate::error::Result<Self> {
                Ok(Self {
                    query_id: s.load_u64()?,
                })
            }
        }
        $crate::layout::tagged_layout!($ty, $name, $op);
    };
}

pub(crate) use query_only;

/// Declares one of the payment messages that share
/// `query_id:uint64 project_id:uint64 amount:Coins` (vault_fund, platform_fee,
/// escrow_refund_payment): one layout, one place.
macro_rules! leg_payment {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $op:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $ty {
            /// A [`crate::escrow::LegQueryId`] when an escrow sends it.
            #[serde(with = "crate::json::dec")]
            pub query_id: u64,
            /// The project the money belongs to.
            #[serde(with = "crate::json::dec")]
            pub project_id: u64,
            /// nanoTON (the message's value) or jetton base units.
            #[serde(with = "crate::json::dec")]
            pub amount: u128,
        }

        impl $ty {
            fn store_fields(
                &self,
                b: &mut ::tycho_types::cell::CellBuilder,
            ) -> $crate::error::Result<()> {
                b.store_u64(self.query_id)?;
                b.store_u64(self.project_id)?;
                $crate::codec::store_coins(b, self.amount)
            }

            fn load_fields(
                s: &mut ::tycho_types::cell::CellSlice<'_>,
            ) -> $crate::error::Result<Self> {
                Ok(Self {
                    query_id: s.load_u64()?,
                    project_id: s.load_u64()?,
                    amount: $crate::codec::load_coins(s)?,
                })
            }
        }
        $crate::layout::tagged_layout!($ty, $name, $op);
    };
}

pub(crate) use leg_payment;
