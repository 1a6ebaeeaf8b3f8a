//! [`Event`]: any escrow or vault event body, decoded by its opcode.
//!
//! Events are external-out messages to addr_none whose body is the event (opcode first). The
//! indexer decodes facts from them, never from message flows.

use serde::{Deserialize, Serialize};
use tycho_types::cell::{Cell, DynCell};

use crate::codec;
use crate::error::{Error, Result};
use crate::escrow::{
    EvClosed, EvDeposit, EvJettonWalletLearned, EvRefund, EvRefundBounced, EvRelease,
    EvReleaseBounced,
};
use crate::layout::Layout;
use crate::opcodes;
use crate::recovery::{EvJettonRecovered, EvJettonRecoveryFailed};
use crate::vault::{EvAdminChange, EvBatchExecuted, EvGasToppedUp, EvPayoutBounced, EvVaultFunded};

/// Every event of scheme.tlb. JSON: `{"kind": "<TL-B constructor>", "fields": {...}}`, the
/// same shape as the test vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "fields", rename_all = "snake_case")]
pub enum Event {
    /// `ev_deposit` (escrow).
    EvDeposit(EvDeposit),
    /// `ev_release` (escrow).
    EvRelease(EvRelease),
    /// `ev_release_bounced` (escrow).
    EvReleaseBounced(EvReleaseBounced),
    /// `ev_refund` (escrow).
    EvRefund(EvRefund),
    /// `ev_refund_bounced` (escrow).
    EvRefundBounced(EvRefundBounced),
    /// `ev_closed` (escrow).
    EvClosed(EvClosed),
    /// `ev_jetton_wallet_learned` (escrow or vault: the emitter tells which).
    EvJettonWalletLearned(EvJettonWalletLearned),
    /// `ev_jetton_recovered` (escrow or vault: the emitter tells which).
    EvJettonRecovered(EvJettonRecovered),
    /// `ev_jetton_recovery_failed` (escrow or vault).
    EvJettonRecoveryFailed(EvJettonRecoveryFailed),
    /// `ev_vault_funded` (vault).
    EvVaultFunded(EvVaultFunded),
    /// `ev_batch_executed` (vault).
    EvBatchExecuted(EvBatchExecuted),
    /// `ev_payout_bounced` (vault).
    EvPayoutBounced(EvPayoutBounced),
    /// `ev_admin_change` (vault).
    EvAdminChange(EvAdminChange),
    /// `ev_gas_topped_up` (vault).
    EvGasToppedUp(EvGasToppedUp),
}

impl Event {
    /// Decodes an event body. Unknown opcodes are [`Error::UnknownOpcode`]; malformed bodies
    /// are errors, never panics.
    pub fn parse<C: AsRef<DynCell> + ?Sized>(body: &C) -> Result<Self> {
        let body = body.as_ref();
        let op = codec::open(body)?.load_u32()?;
        Ok(match op {
            opcodes::EV_DEPOSIT => Event::EvDeposit(Layout::parse(body)?),
            opcodes::EV_RELEASE => Event::EvRelease(Layout::parse(body)?),
            opcodes::EV_RELEASE_BOUNCED => Event::EvReleaseBounced(Layout::parse(body)?),
            opcodes::EV_REFUND => Event::EvRefund(Layout::parse(body)?),
            opcodes::EV_REFUND_BOUNCED => Event::EvRefundBounced(Layout::parse(body)?),
            opcodes::EV_CLOSED => Event::EvClosed(Layout::parse(body)?),
            opcodes::EV_JETTON_WALLET_LEARNED => Event::EvJettonWalletLearned(Layout::parse(body)?),
            opcodes::EV_JETTON_RECOVERED => Event::EvJettonRecovered(Layout::parse(body)?),
            opcodes::EV_JETTON_RECOVERY_FAILED => {
                Event::EvJettonRecoveryFailed(Layout::parse(body)?)
            }
            opcodes::EV_VAULT_FUNDED => Event::EvVaultFunded(Layout::parse(body)?),
            opcodes::EV_BATCH_EXECUTED => Event::EvBatchExecuted(Layout::parse(body)?),
            opcodes::EV_PAYOUT_BOUNCED => Event::EvPayoutBounced(Layout::parse(body)?),
            opcodes::EV_ADMIN_CHANGE => Event::EvAdminChange(Layout::parse(body)?),
            opcodes::EV_GAS_TOPPED_UP => Event::EvGasToppedUp(Layout::parse(body)?),
            found => return Err(Error::UnknownOpcode { found }),
        })
    }

    /// Builds the event body.
    pub fn build(&self) -> Result<Cell> {
        match self {
            Event::EvDeposit(e) => e.build(),
            Event::EvRelease(e) => e.build(),
            Event::EvReleaseBounced(e) => e.build(),
            Event::EvRefund(e) => e.build(),
            Event::EvRefundBounced(e) => e.build(),
            Event::EvClosed(e) => e.build(),
            Event::EvJettonWalletLearned(e) => e.build(),
            Event::EvJettonRecovered(e) => e.build(),
            Event::EvJettonRecoveryFailed(e) => e.build(),
            Event::EvVaultFunded(e) => e.build(),
            Event::EvBatchExecuted(e) => e.build(),
            Event::EvPayoutBounced(e) => e.build(),
            Event::EvAdminChange(e) => e.build(),
            Event::EvGasToppedUp(e) => e.build(),
        }
    }

    /// The TL-B constructor name (`ev_deposit`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Event::EvDeposit(_) => EvDeposit::NAME,
            Event::EvRelease(_) => EvRelease::NAME,
            Event::EvReleaseBounced(_) => EvReleaseBounced::NAME,
            Event::EvRefund(_) => EvRefund::NAME,
            Event::EvRefundBounced(_) => EvRefundBounced::NAME,
            Event::EvClosed(_) => EvClosed::NAME,
            Event::EvJettonWalletLearned(_) => EvJettonWalletLearned::NAME,
            Event::EvJettonRecovered(_) => EvJettonRecovered::NAME,
            Event::EvJettonRecoveryFailed(_) => EvJettonRecoveryFailed::NAME,
            Event::EvVaultFunded(_) => EvVaultFunded::NAME,
            Event::EvBatchExecuted(_) => EvBatchExecuted::NAME,
            Event::EvPayoutBounced(_) => EvPayoutBounced::NAME,
            Event::EvAdminChange(_) => EvAdminChange::NAME,
            Event::EvGasToppedUp(_) => EvGasToppedUp::NAME,
        }
    }

    /// The event's opcode.
    pub fn opcode(&self) -> u32 {
        match self {
            Event::EvDeposit(_) => opcodes::EV_DEPOSIT,
            Event::EvRelease(_) => opcodes::EV_RELEASE,
            Event::EvReleaseBounced(_) => opcodes::EV_RELEASE_BOUNCED,
            Event::EvRefund(_) => opcodes::EV_REFUND,
            Event::EvRefundBounced(_) => opcodes::EV_REFUND_BOUNCED,
            Event::EvClosed(_) => opcodes::EV_CLOSED,
            Event::EvJettonWalletLearned(_) => opcodes::EV_JETTON_WALLET_LEARNED,
            Event::EvJettonRecovered(_) => opcodes::EV_JETTON_RECOVERED,
            Event::EvJettonRecoveryFailed(_) => opcodes::EV_JETTON_RECOVERY_FAILED,
            Event::EvVaultFunded(_) => opcodes::EV_VAULT_FUNDED,
            Event::EvBatchExecuted(_) => opcodes::EV_BATCH_EXECUTED,
            Event::EvPayoutBounced(_) => opcodes::EV_PAYOUT_BOUNCED,
            Event::EvAdminChange(_) => opcodes::EV_ADMIN_CHANGE,
            Event::EvGasToppedUp(_) => opcodes::EV_GAS_TOPPED_UP,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tycho_types::cell::HashBytes;
    use tycho_types::models::StdAddr;

    #[test]
    fn decodes_by_opcode_and_names_match() {
        let ev = Event::EvClosed(EvClosed {
            seqno: u32::MAX,
            remaining: 7,
        });
        let body = ev.build().unwrap();
        assert_eq!(Event::parse(&body).unwrap(), ev);
        assert_eq!(ev.opcode(), opcodes::EV_CLOSED);
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["kind"], "ev_closed");
        assert_eq!(json["fields"]["seqno"], "4294967295");
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), ev);

        let learned = Event::EvJettonWalletLearned(EvJettonWalletLearned {
            wallet: StdAddr::new(0, HashBytes([1; 32])),
        });
        assert_eq!(learned.opcode(), opcodes::EV_JETTON_WALLET_LEARNED);
    }

    #[test]
    fn unknown_and_short_bodies_are_errors() {
        let body = codec::build_with(|b| Ok(b.store_u32(0xdead_beef)?)).unwrap();
        assert_eq!(
            Event::parse(&body),
            Err(Error::UnknownOpcode { found: 0xdead_beef })
        );
        let short = codec::build_with(|b| Ok(b.store_u16(1)?)).unwrap();
        assert_eq!(Event::parse(&short), Err(Error::CellUnderflow));
    }
}
