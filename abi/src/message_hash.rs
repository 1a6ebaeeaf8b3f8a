//! The normalized hash of an external-in message (TEP-467).
//!
//! A wallet's external message can reach the chain in several cell forms that all run the same
//! transaction: a relayer or a liteserver may rewrite `src`, `import_fee`, whether the body is
//! inline or a reference, and the StateInit is dropped once the wallet is deployed. TEP-467
//! names one form so that the BoC a wallet returns (TonConnect's `sendTransaction` answer) can
//! be found in the chain: `ext_in_msg_info$10 src:addr_none dest:<the same> import_fee:0`, no
//! StateInit (`init:(Maybe ...)` = 0) and the body always as a reference (`Either` = 1). Its
//! representation hash is the normalized hash; the indexer stores it with every ext-in message.

use tycho_types::cell::{Cell, CellBuilder};
use tycho_types::models::{ExtInMsgInfo, Message, MessageLayout, MsgInfo};
use tycho_types::num::Tokens;

use crate::{Error, Result};

/// The TEP-467 normalized hash of an external-in message cell; [`Error::NotExternalIn`] for
/// an internal or external-out message, a parse error for a cell that is not a message.
pub fn normalized_hash(message: &Cell) -> Result<[u8; 32]> {
    let msg: Message<'_> = message.parse()?;
    let MsgInfo::ExtIn(info) = msg.info else {
        return Err(Error::NotExternalIn);
    };
    let normalized = Message {
        info: MsgInfo::ExtIn(ExtInMsgInfo {
            src: None,
            dst: info.dst,
            import_fee: Tokens::ZERO,
        }),
        init: None,
        body: msg.body,
        layout: Some(MessageLayout {
            init_to_cell: false,
            body_to_cell: true,
        }),
    };
    Ok(*CellBuilder::build_from(normalized)?.repr_hash().as_array())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tycho_types::cell::{CellFamily as _, HashBytes};
    use tycho_types::models::{IntAddr, StateInit, StdAddr};

    fn dst() -> StdAddr {
        StdAddr::new(0, HashBytes([0x5a; 32]))
    }

    fn body() -> Cell {
        let mut b = CellBuilder::new();
        b.store_u32(0x7369_676e).expect("bits");
        b.store_u64(42).expect("bits");
        b.build().expect("cell")
    }

    /// The normalized form written bit by bit, independently of tycho's Message layout:
    /// `10` ext_in, `00` addr_none, `100` addr_std without anycast, wc (8), hash (256),
    /// `0000` Coins zero, `0` no init, `1` body in a reference.
    fn by_hand(dst: &StdAddr, body: &Cell) -> [u8; 32] {
        let mut b = CellBuilder::new();
        b.store_small_uint(0b10, 2).expect("bits");
        b.store_small_uint(0b00, 2).expect("bits");
        b.store_small_uint(0b100, 3).expect("bits");
        b.store_u8(dst.workchain as u8).expect("bits");
        b.store_u256(&dst.address).expect("bits");
        b.store_small_uint(0, 4).expect("bits");
        b.store_bit_zero().expect("bits");
        b.store_bit_one().expect("bits");
        b.store_reference(body.clone()).expect("ref");
        *b.build().expect("cell").repr_hash().as_array()
    }

    fn message(init: Option<StateInit>, inline: bool, fee: u128) -> Cell {
        let body = body();
        let msg = Message {
            info: MsgInfo::ExtIn(ExtInMsgInfo {
                src: None,
                dst: IntAddr::Std(dst()),
                import_fee: Tokens::new(fee),
            }),
            init,
            body: body.as_slice().expect("slice"),
            layout: Some(MessageLayout {
                init_to_cell: false,
                body_to_cell: !inline,
            }),
        };
        CellBuilder::build_from(msg).expect("message")
    }

    #[test]
    fn every_form_of_one_message_has_the_hash_written_by_hand() {
        let want = by_hand(&dst(), &body());
        let init = StateInit {
            code: Some(Cell::empty_cell()),
            ..Default::default()
        };
        let forms = [
            message(None, false, 0),
            message(None, true, 0),
            message(Some(init.clone()), false, 0),
            message(Some(init), true, 0),
            message(None, false, 1_000),
        ];
        // The already-normalized form hashes to itself; the others differ from their plain hash.
        assert_eq!(*forms[0].repr_hash().as_array(), want);
        for (i, m) in forms.iter().enumerate() {
            assert_eq!(normalized_hash(m).expect("ext-in"), want, "form {i}");
            if i > 0 {
                assert_ne!(
                    *m.repr_hash().as_array(),
                    want,
                    "form {i} is not normalized"
                );
            }
        }
    }

    #[test]
    fn another_destination_or_body_is_another_hash() {
        let a = normalized_hash(&message(None, false, 0)).expect("ext-in");
        let other = by_hand(&StdAddr::new(-1, HashBytes([0x5a; 32])), &body());
        assert_ne!(a, other);
        assert_ne!(a, by_hand(&dst(), &Cell::empty_cell()));
    }

    #[test]
    fn only_external_in_messages_are_normalized() {
        assert_eq!(
            normalized_hash(&Cell::empty_cell()).map(|_| ()),
            Err(Error::CellUnderflow)
        );
        let ext_out = Message {
            info: MsgInfo::ExtOut(Default::default()),
            init: None,
            body: Cell::empty_cell_ref().as_slice().expect("slice"),
            layout: None,
        };
        let cell = CellBuilder::build_from(ext_out).expect("message");
        assert_eq!(normalized_hash(&cell), Err(Error::NotExternalIn));
    }
}
