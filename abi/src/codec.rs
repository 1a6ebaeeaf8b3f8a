//! Field codecs shared by every layout: tags, Coins, addresses, fixed-width integers, refs.
//! Private: the public surface is the typed layouts.

use tycho_types::cell::{Cell, CellBuilder, CellSlice, DynCell, HashBytes};
use tycho_types::models::StdAddr;

use crate::error::{Error, Result};

/// 2^120: `Coins` (VarUInteger 16) holds at most 15 bytes.
pub(crate) const COINS_LIMIT: u128 = 1 << 120;

/// Opens an ordinary cell for reading.
pub(crate) fn open(cell: &DynCell) -> Result<CellSlice<'_>> {
    if cell.is_exotic() {
        return Err(Error::ExoticCell);
    }
    Ok(cell.as_slice()?)
}

/// Fails unless the slice is fully read.
pub(crate) fn ensure_end(slice: &CellSlice<'_>) -> Result<()> {
    if slice.is_empty() {
        Ok(())
    } else {
        Err(Error::TrailingData {
            bits: slice.size_bits(),
            refs: slice.size_refs(),
        })
    }
}

/// Reads a 32-bit tag and checks it.
pub(crate) fn load_tag(slice: &mut CellSlice<'_>, expected: u32) -> Result<()> {
    let found = slice.load_u32()?;
    if found == expected {
        Ok(())
    } else {
        Err(Error::WrongOpcode { expected, found })
    }
}

/// Checks that `value` fits in `bits` bits.
pub(crate) fn check_width(field: &'static str, value: u64, bits: u16) -> Result<()> {
    if bits < 64 && value >> bits != 0 {
        return Err(Error::IntTooLarge { field, value, bits });
    }
    Ok(())
}

/// Checks that an amount fits in `Coins`.
pub(crate) fn check_coins(value: u128) -> Result<u128> {
    if value < COINS_LIMIT {
        Ok(value)
    } else {
        Err(Error::AmountTooLarge { value })
    }
}

/// `Coins`: 4-bit byte length, then that many bytes, big-endian, shortest form.
pub(crate) fn store_coins(b: &mut CellBuilder, value: u128) -> Result<()> {
    check_coins(value)?;
    let bytes = (128 - value.leading_zeros()).div_ceil(8) as u16;
    b.store_small_uint(bytes as u8, 4)?;
    let be = value.to_be_bytes();
    let start = 16 - bytes as usize;
    b.store_raw(&be[start..], bytes * 8)?;
    Ok(())
}

/// Reads `Coins` (any byte length, as the TVM's LDVARUINT16 does).
pub(crate) fn load_coins(s: &mut CellSlice<'_>) -> Result<u128> {
    let len = s.load_small_uint(4)? as usize;
    let mut be = [0u8; 16];
    s.load_raw(&mut be[16 - len..], (len * 8) as u16)?;
    Ok(u128::from_be_bytes(be))
}

/// `MsgAddressInt` (addr_std without anycast).
pub(crate) fn store_addr(b: &mut CellBuilder, addr: &StdAddr) -> Result<()> {
    if addr.anycast.is_some() {
        return Err(Error::AnycastAddress);
    }
    b.store_small_uint(0b10, 2)?;
    b.store_bit_zero()?;
    b.store_u8(addr.workchain as u8)?;
    b.store_u256(&addr.address)?;
    Ok(())
}

/// `MsgAddress` restricted to addr_none (`None`) and addr_std.
pub(crate) fn store_opt_addr(b: &mut CellBuilder, addr: Option<&StdAddr>) -> Result<()> {
    match addr {
        Some(addr) => store_addr(b, addr),
        None => Ok(b.store_small_uint(0b00, 2)?),
    }
}

/// Reads `MsgAddress`: `None` for addr_none, the address for addr_std; other kinds are errors.
pub(crate) fn load_opt_addr(s: &mut CellSlice<'_>) -> Result<Option<StdAddr>> {
    let tag = s.load_small_uint(2)?;
    match tag {
        0b00 => Ok(None),
        0b10 => {
            if s.load_bit()? {
                return Err(Error::AnycastAddress);
            }
            let workchain = s.load_u8()? as i8;
            let address = s.load_u256()?;
            Ok(Some(StdAddr::new(workchain, address)))
        }
        tag => Err(Error::UnsupportedAddress { tag }),
    }
}

/// Reads `MsgAddressInt`: addr_std only.
pub(crate) fn load_addr(s: &mut CellSlice<'_>) -> Result<StdAddr> {
    load_opt_addr(s)?.ok_or(Error::MissingAddress)
}

/// `int32` (two's complement).
pub(crate) fn store_i32(b: &mut CellBuilder, value: i32) -> Result<()> {
    Ok(b.store_u32(value as u32)?)
}

/// `int32` (two's complement).
pub(crate) fn load_i32(s: &mut CellSlice<'_>) -> Result<i32> {
    Ok(s.load_u32()? as i32)
}

/// `uint256` from 32 bytes.
pub(crate) fn store_u256(b: &mut CellBuilder, bytes: &[u8; 32]) -> Result<()> {
    Ok(b.store_u256(&HashBytes(*bytes))?)
}

/// `uint256` as 32 bytes.
pub(crate) fn load_u256(s: &mut CellSlice<'_>) -> Result<[u8; 32]> {
    Ok(s.load_u256()?.0)
}

/// `bits512` from 64 bytes.
pub(crate) fn store_bits512(b: &mut CellBuilder, bytes: &[u8; 64]) -> Result<()> {
    Ok(b.store_raw(bytes, 512)?)
}

/// `bits512` as 64 bytes.
pub(crate) fn load_bits512(s: &mut CellSlice<'_>) -> Result<[u8; 64]> {
    let mut out = [0u8; 64];
    s.load_raw(&mut out, 512)?;
    Ok(out)
}

/// `Maybe ^Cell`.
pub(crate) fn store_maybe_ref(b: &mut CellBuilder, cell: Option<&Cell>) -> Result<()> {
    match cell {
        Some(cell) => {
            b.store_bit_one()?;
            b.store_reference(cell.clone())?;
        }
        None => b.store_bit_zero()?,
    }
    Ok(())
}

/// Reads `Maybe ^Cell`.
pub(crate) fn load_maybe_ref(s: &mut CellSlice<'_>) -> Result<Option<Cell>> {
    if s.load_bit()? {
        Ok(Some(s.load_reference_cloned()?))
    } else {
        Ok(None)
    }
}

/// Reads a reference and opens it as an ordinary cell.
pub(crate) fn load_ref_slice<'a>(s: &mut CellSlice<'a>) -> Result<CellSlice<'a>> {
    let cell = s.load_reference()?;
    open(cell)
}

/// Builds a cell from a closure that stores into a fresh builder.
pub(crate) fn build_with(f: impl FnOnce(&mut CellBuilder) -> Result<()>) -> Result<Cell> {
    let mut b = CellBuilder::new();
    f(&mut b)?;
    Ok(b.build()?)
}

/// Copies the rest of a slice (bits and refs) into a new cell.
pub(crate) fn remainder_cell(s: &mut CellSlice<'_>) -> Result<Cell> {
    let rest = s.load_remaining();
    build_with(|b| Ok(b.store_slice(rest)?))
}
