//! The exact messages the signer returns, built with labelmint-abi (never by hand):
//!
//! - escrow release / close: the `escrow_release` / `escrow_close` body (signature + the
//!   request in a reference) that any wallet carries to the escrow in an internal message;
//! - vault batch: the complete external message to the vault (`ext_in_msg_info`, no init, the
//!   `vault_batch` body in a reference), ready for `liteServer.sendMessage`.
//!
//! The carrier's query id of an escrow message is the request's seqno, so the whole message
//! is a function of the signed request and the signature: the same request always gives the
//! same bytes.

use labelmint_abi::Layout;
use labelmint_abi::escrow::{CloseRequest, EscrowClose, EscrowRelease, ReleaseRequest};
use labelmint_abi::vault::{VaultBatch, VaultBatchRequest};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder};
use tycho_types::models::{ExtInMsgInfo, IntAddr, Message, MessageLayout, MsgInfo, StdAddr};
use tycho_types::num::Tokens;

use crate::error::{Error, Result};

/// The body of the internal message that carries a signed release to its escrow.
pub fn release_body(request: &ReleaseRequest, signature: [u8; 64]) -> Result<Cell> {
    Ok(EscrowRelease {
        query_id: u64::from(request.seqno),
        signature,
        request: request.clone(),
    }
    .build()?)
}

/// The body of the internal message that carries a signed close to its escrow.
pub fn close_body(request: &CloseRequest, signature: [u8; 64]) -> Result<Cell> {
    Ok(EscrowClose {
        query_id: u64::from(request.seqno),
        signature,
        request: request.clone(),
    }
    .build()?)
}

/// The external message that executes a signed batch on its vault.
pub fn batch_external(request: &VaultBatchRequest, signature: [u8; 64]) -> Result<Cell> {
    batch_external_with_cell(&request.vault, signature, request.build()?)
}

/// [`batch_external`] from the request cell that was signed (already built).
pub fn batch_external_with_cell(
    vault: &StdAddr,
    signature: [u8; 64],
    request_cell: Cell,
) -> Result<Cell> {
    external_message(
        vault,
        VaultBatch::build_with_request_cell(&signature, request_cell)?,
    )
}

/// `ext_in_msg_info$10 src:addr_none dest:<to> import_fee:0`, no init, the body in a reference.
pub fn external_message(to: &StdAddr, body: Cell) -> Result<Cell> {
    let msg = Message {
        info: MsgInfo::ExtIn(ExtInMsgInfo {
            src: None,
            dst: IntAddr::Std(to.clone()),
            import_fee: Tokens::ZERO,
        }),
        init: None,
        body: body
            .as_slice()
            .map_err(|e| Error::Client(format!("body cell: {e}")))?,
        layout: Some(MessageLayout {
            init_to_cell: false,
            body_to_cell: true,
        }),
    };
    CellBuilder::build_from(msg).map_err(|e| Error::Abi(e.into()))
}

/// A cell as a BOC (bytes).
pub fn to_boc(cell: &Cell) -> Vec<u8> {
    Boc::encode(cell)
}
