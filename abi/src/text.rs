//! Text in cells: snake strings and text comments (`0x00000000` + UTF-8), as wallets show them.

use tycho_types::cell::{Cell, CellBuilder, DynCell};

use crate::codec;
use crate::error::{Error, Result};
use crate::opcodes;

/// Appends bytes as a snake string: as many whole bytes as fit in `b`, the rest in a chain of
/// cells (127 bytes each) linked by their first reference. Built from the tail, without
/// recursion.
fn snake_into(mut b: CellBuilder, bytes: &[u8]) -> Result<Cell> {
    let room = (b.spare_capacity_bits() / 8) as usize;
    let (head, tail) = bytes.split_at(room.min(bytes.len()));
    let mut next: Option<Cell> = None;
    for chunk in tail.chunks(127).rev() {
        let mut c = CellBuilder::new();
        c.store_raw(chunk, (chunk.len() * 8) as u16)?;
        if let Some(n) = next.take() {
            c.store_reference(n)?;
        }
        next = Some(c.build()?);
    }
    b.store_raw(head, (head.len() * 8) as u16)?;
    if let Some(n) = next {
        b.store_reference(n)?;
    }
    Ok(b.build()?)
}

/// A snake cell holding `bytes`.
pub fn snake_cell(bytes: &[u8]) -> Result<Cell> {
    snake_into(CellBuilder::new(), bytes)
}

/// A text comment body: opcode 0, then the UTF-8 text as a snake string.
pub fn comment_body(text: &str) -> Result<Cell> {
    let mut b = CellBuilder::new();
    b.store_u32(opcodes::TEXT_COMMENT)?;
    snake_into(b, text.as_bytes())
}

/// Reads a text comment body written in a single cell (opcode 0, then bytes, no refs) as raw
/// bytes. Payout comments are always single-cell.
pub fn single_cell_comment<C: AsRef<DynCell> + ?Sized>(body: &C) -> Result<Vec<u8>> {
    let mut s = codec::open(body.as_ref())?;
    codec::load_tag(&mut s, opcodes::TEXT_COMMENT)?;
    if s.size_bits() % 8 != 0 || s.size_refs() != 0 {
        return Err(Error::TrailingData {
            bits: s.size_bits() % 8,
            refs: s.size_refs(),
        });
    }
    let mut out = vec![0u8; (s.size_bits() / 8) as usize];
    let bits = s.size_bits();
    s.load_raw(&mut out, bits)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_snakes_across_cells() {
        let text = "x".repeat(123 + 127 + 5);
        let body = comment_body(&text).unwrap();
        assert_eq!(body.bit_len(), 32 + 123 * 8);
        let second = body.reference(0).unwrap();
        assert_eq!(second.bit_len(), 127 * 8);
        assert_eq!(second.reference(0).unwrap().bit_len(), 5 * 8);
        assert_eq!(
            single_cell_comment(&comment_body("hi").unwrap()).unwrap(),
            b"hi"
        );
        assert!(single_cell_comment(&body).is_err());
    }
}
