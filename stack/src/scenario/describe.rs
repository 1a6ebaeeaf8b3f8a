//! One transaction as the scenario prints it: inbound message, result, fees, events.

use labelmint_abi::events::Event;
use labelmint_abi::opcodes;
use labelmint_abi::vault::parse_payout_comment;
use tycho_types::cell::{Cell, CellBuilder, HashBytes};
use tycho_types::models::{ComputePhase, IntAddr, MsgInfo, StdAddr, Transaction, TxInfo};

use super::ton;
use crate::error::Result;

/// One transaction as the scenario reads it back.
#[derive(Debug, Clone)]
pub struct TxLine {
    /// The account.
    pub account: StdAddr,
    /// Logical time.
    pub lt: u64,
    /// Transaction hash.
    pub hash: HashBytes,
    /// Hash of the inbound message.
    pub in_msg: Option<HashBytes>,
    /// `ext` or `int`, the op name, the value.
    pub what: String,
    /// Compute phase exit code (`None`: skipped).
    pub exit_code: Option<i32>,
    /// Whether the transaction was aborted.
    pub aborted: bool,
    /// Total fees, nanoTON.
    pub fees: u128,
    /// Decoded LabelMint events (external-out messages).
    pub events: Vec<String>,
    /// Destinations of the internal messages it sent.
    pub out_to: Vec<StdAddr>,
}

fn body_op(body: &tycho_types::cell::CellSlice<'_>) -> Option<u32> {
    (body.size_bits() >= 32)
        .then(|| body.get_u32(0).ok())
        .flatten()
}

/// A transaction as one line: inbound message, result, fees, events.
pub(super) fn describe(account: StdAddr, cell: &Cell) -> Result<TxLine> {
    let tx = cell.parse::<Transaction>()?;
    let (exit_code, aborted) = match tx.load_info()? {
        TxInfo::Ordinary(info) => (
            match info.compute_phase {
                ComputePhase::Executed(c) => Some(c.exit_code),
                ComputePhase::Skipped(_) => None,
            },
            info.aborted,
        ),
        TxInfo::TickTock(_) => (None, false),
    };
    let what = match tx.load_in_msg()? {
        None => "-".to_string(),
        Some(m) => {
            let op_name = match body_op(&m.body) {
                None => "empty".to_string(),
                Some(0) => {
                    let mut b = CellBuilder::new();
                    b.store_slice(m.body)?;
                    match parse_payout_comment(&b.build()?) {
                        Ok(id) => format!("comment \"LabelMint #{id}\""),
                        Err(_) => "comment".to_string(),
                    }
                }
                Some(op) => opcodes::name_of(op)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("op {op:#010x}")),
            };
            match m.info {
                // An external's body starts with its signature, not an op.
                MsgInfo::ExtIn(_) => "ext-in (signed)".to_string(),
                MsgInfo::Int(i) => format!(
                    "int {}{op_name} {}",
                    if i.bounced { "bounced " } else { "" },
                    ton(i.value.tokens.into_inner())
                ),
                MsgInfo::ExtOut(_) => "ext-out?".to_string(),
            }
        }
    };
    let mut events = Vec::new();
    let mut out_to = Vec::new();
    for out in tx.out_msgs.values() {
        let out = out?;
        let msg = out.parse::<tycho_types::models::Message<'_>>()?;
        match &msg.info {
            MsgInfo::Int(i) => {
                if let IntAddr::Std(a) = &i.dst {
                    out_to.push(a.clone());
                }
                continue;
            }
            MsgInfo::ExtIn(_) => continue,
            MsgInfo::ExtOut(_) => {}
        }
        let mut b = CellBuilder::new();
        b.store_slice(msg.body)?;
        let body = b.build()?;
        match Event::parse(&body) {
            Ok(e) => {
                let fields = serde_json::to_value(&e)
                    .ok()
                    .and_then(|v| v.get("fields").map(|f| f.to_string()))
                    .unwrap_or_default();
                events.push(format!("{} {fields}", e.name()));
            }
            Err(_) => events.push(format!("unknown ({} bits)", body.bit_len())),
        }
    }
    Ok(TxLine {
        account,
        lt: tx.lt,
        hash: *cell.repr_hash(),
        in_msg: tx.in_msg.as_ref().map(|c| *c.repr_hash()),
        what,
        exit_code,
        aborted,
        fees: tx.total_fees.tokens.into_inner(),
        events,
        out_to,
    })
}
