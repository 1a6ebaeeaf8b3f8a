//! The relayer wallet's externals, one at a time.
//!
//! A v4r2 wallet executes one external per seqno: two different externals sent at the same
//! seqno before the first lands race, one executes, and what the other carried is lost until
//! its own retry (a release after `resend_after`, a recovery once found lost, ~70 s) while a
//! vault's batches wait. So the settler keeps its last relayer external ([`Carried`]: seqno,
//! valid_until, the message's bytes and hash, what it carried; and when a liteserver last
//! took it, beside the other resend timers) and each pass first decides
//! ([`decide`]) from the wallet's seqno and the chain time:
//!
//! - **landed** (the wallet's seqno moved past it; or someone else used the seqno) or nothing
//!   sent this term: the relayer is free; the next external, at the wallet's seqno, carries
//!   what is pending;
//! - **in flight** (the seqno did not move and its valid_until has not passed): nothing new is
//!   sent; the same bytes go again after `resend_after` (the wallet executes them once); new
//!   work waits for the next external: releases are signed again (the signer's journal replays
//!   the same bytes), recoveries are not decided while the relayer is busy;
//! - **dead** (the chain time is past its valid_until + the finality margin, the seqno did not
//!   move): it can no longer land; its releases are due at once and its recoveries are found
//!   lost by their own records (same valid_until); the relayer is free at the same seqno;
//! - **behind** (the wallet shows a seqno below the last external's: a liteserver behind):
//!   nothing is sent.
//!
//! The record is in memory, for one leadership term. A restarted (or new) leader does not
//! know an external its predecessor sent: it reads the wallet's seqno and may send another at
//! the same seqno while that one can still land. The wallet executes only one of them, so the
//! worst case is one lost carry, retried like any lost external (a release after
//! `resend_after`, a recovery once its attempt is found lost); nothing is paid twice (the
//! escrow consumes a seqno once, a contract refuses a second recovery in flight).

use tycho_types::cell::{Cell, HashBytes};
use tycho_types::models::StdAddr;

use labelmint_ledger::RawAddress;

/// The last relayer external of this term.
pub(super) struct Carried {
    pub(super) seqno: u32,
    pub(super) valid_until: u32,
    /// The complete external, resent byte for byte (its hash names it in logs).
    pub(super) message: Cell,
    pub(super) carries: Vec<Carry>,
}

/// One message of a relayer external.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Carry {
    /// A signed release to this escrow.
    Release(StdAddr),
    /// A `jetton_recover` to this contract.
    Recovery(RawAddress),
}

impl Carried {
    /// The escrows whose releases it carries.
    pub(super) fn releases(&self) -> impl Iterator<Item = &StdAddr> {
        self.carries.iter().filter_map(|c| match c {
            Carry::Release(to) => Some(to),
            Carry::Recovery(_) => None,
        })
    }

    /// Its hash (logs).
    pub(super) fn hash(&self) -> HashBytes {
        *self.message.repr_hash()
    }
}

/// Why the relayer is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Free {
    /// No external sent this term.
    First,
    /// The wallet's seqno moved past the last one: it executed (or the seqno went to another).
    Landed,
    /// The last one can no longer land (its valid_until + the margin passed, seqno unchanged).
    Expired,
}

/// What the relayer does this pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Build the next external at the wallet's seqno with everything pending.
    Build(Free),
    /// The last external can still land: send nothing new; send its bytes again if `resend`.
    Wait {
        /// Resend the same bytes now.
        resend: bool,
    },
    /// The wallet shows a seqno below the last external's (a liteserver behind): send nothing.
    Behind,
}

/// The relayer's decision. `last`: the last external's (seqno, valid_until); `wallet_seqno`:
/// the wallet's seqno now; `chain_now`: chain time read BEFORE the wallet's state (so a block
/// that could still take the external at a time before valid_until is in the state read);
/// `margin`: the finality margin (liteservers that lag); `resend_due`: `resend_after` passed
/// since it was last taken (or it never was).
pub(super) fn decide(
    last: Option<(u32, u32)>,
    wallet_seqno: u32,
    chain_now: u32,
    margin: u32,
    resend_due: bool,
) -> Decision {
    let Some((seqno, valid_until)) = last else {
        return Decision::Build(Free::First);
    };
    if wallet_seqno > seqno {
        return Decision::Build(Free::Landed);
    }
    if wallet_seqno < seqno {
        return Decision::Behind;
    }
    if u64::from(chain_now) > u64::from(valid_until) + u64::from(margin) {
        return Decision::Build(Free::Expired);
    }
    // The wallet refuses it once valid_until <= now: resending then is useless.
    Decision::Wait {
        resend: resend_due && chain_now < valid_until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_relayer_external_only_when_the_last_one_cannot_land() {
        use Decision::*;
        let m = 10;
        // (last (seqno, valid_until), wallet seqno, chain now, resend due) -> decision
        for (last, wallet, now, due, want) in [
            (None, 7, 1_000, false, Build(Free::First)),
            (None, 7, 1_000, true, Build(Free::First)),
            // landed (or the seqno went to another message): free, next seqno
            (Some((7, 1_060)), 8, 1_001, false, Build(Free::Landed)),
            (Some((7, 1_060)), 8, 2_000, true, Build(Free::Landed)),
            (Some((7, 1_060)), 9, 1_001, false, Build(Free::Landed)),
            // in flight: nothing new; the same bytes again when due
            (Some((7, 1_060)), 7, 1_001, false, Wait { resend: false }),
            (Some((7, 1_060)), 7, 1_001, true, Wait { resend: true }),
            (Some((7, 1_060)), 7, 1_059, true, Wait { resend: true }),
            // past valid_until but within the margin: it may still be in a block not seen
            (Some((7, 1_060)), 7, 1_060, true, Wait { resend: false }),
            (Some((7, 1_060)), 7, 1_060 + m, true, Wait { resend: false }),
            // dead: a new external at the same seqno with everything pending
            (Some((7, 1_060)), 7, 1_061 + m, false, Build(Free::Expired)),
            (Some((7, 1_060)), 7, 1_061 + m, true, Build(Free::Expired)),
            // a liteserver behind the one that gave the seqno: nothing
            (Some((7, 1_060)), 6, 1_001, true, Behind),
            (Some((7, 1_060)), 6, 5_000, true, Behind),
            // no overflow at the end of time
            (
                Some((7, u32::MAX)),
                7,
                u32::MAX,
                true,
                Wait { resend: false },
            ),
        ] {
            assert_eq!(
                decide(last, wallet, now, m, due),
                want,
                "{last:?} {wallet} {now} {due}"
            );
        }
    }
}
