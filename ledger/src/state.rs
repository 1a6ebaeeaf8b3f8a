//! The two state machines (earnings and batches). The same tables are enforced by triggers in
//! the migration, so a writer that goes around this crate is refused too.
//!
//! ```text
//!  earning:  approved --form_batch--> batched --mark_signed--> signed --mark_sent--> sent
//!               |  ^                     |                       |                    |
//!               |  +---- expire_batch ---+-----------------------+--------------------+
//!               |  |                     +---- batch executed on chain (confirm) -----+--> confirmed
//!               |  +------------------------- payout bounced ----------------------------------+
//!               +--revoke_earning--> revoked   (only while approved; never once batched or paid)
//!
//!  batch:    batched -> signed -> sent -> confirmed
//!               \---------\--------\----> expired   (valid_until passed in chain time, not executed)
//!            batched/signed/sent -> confirmed   (the chain is the truth: executed is executed)
//!
//!  project:  active --request_close--> closing --ev_closed--> closed
//!               \---------------- ev_closed (the client's refund at the deadline) ---^
//! ```

use std::fmt;

use crate::error::{Error, Result};

/// Where an earning is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EarningState {
    /// Approved and in no live batch: payable.
    Approved,
    /// In a batch that is not signed yet.
    Batched,
    /// In a signed batch.
    Signed,
    /// In a batch sent to the chain.
    Sent,
    /// Paid: its batch executed on chain (and no bounce came back).
    Confirmed,
    /// Withdrawn before it was ever batched (a re-estimate disagreed). Terminal.
    Revoked,
}

/// Where a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchState {
    /// Formed; not signed.
    Batched,
    /// The signer signed its vault request.
    Signed,
    /// The external message was sent.
    Sent,
    /// Executed on chain (`ev_batch_executed`). Terminal.
    Confirmed,
    /// `valid_until` passed in chain time without execution; its items are approved again.
    /// Terminal.
    Expired,
}

/// Where a project (its escrow) is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProjectState {
    /// Takes approvals; its escrow releases to the vault.
    Active,
    /// A close was asked for ([`crate::Ledger::request_close`]): no new earnings; the final
    /// release and then the escrow's close may be signed. One way.
    Closing,
    /// The escrow emitted `ev_closed`. Terminal.
    Closed,
}

impl ProjectState {
    /// Every state.
    pub const ALL: [ProjectState; 3] = [
        ProjectState::Active,
        ProjectState::Closing,
        ProjectState::Closed,
    ];

    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectState::Active => "active",
            ProjectState::Closing => "closing",
            ProjectState::Closed => "closed",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::corrupt("project state", s))
    }

    /// Whether `self -> to` is a legal transition.
    pub fn can_become(self, to: ProjectState) -> bool {
        use ProjectState::*;
        matches!((self, to), (Active, Closing | Closed) | (Closing, Closed))
    }
}

impl fmt::Display for ProjectState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EarningState {
    /// Every state.
    pub const ALL: [EarningState; 6] = [
        EarningState::Approved,
        EarningState::Batched,
        EarningState::Signed,
        EarningState::Sent,
        EarningState::Confirmed,
        EarningState::Revoked,
    ];

    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EarningState::Approved => "approved",
            EarningState::Batched => "batched",
            EarningState::Signed => "signed",
            EarningState::Sent => "sent",
            EarningState::Confirmed => "confirmed",
            EarningState::Revoked => "revoked",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::corrupt("earning state", s))
    }

    /// Whether `self -> to` is a legal transition.
    pub fn can_become(self, to: EarningState) -> bool {
        use EarningState::*;
        matches!(
            (self, to),
            (Approved, Batched | Revoked)
                | (Batched, Signed | Confirmed | Approved)
                | (Signed, Sent | Confirmed | Approved)
                | (Sent, Confirmed | Approved)
                | (Confirmed, Approved)
        )
    }

    /// The earning's state while its (live) batch is in `batch`.
    pub fn in_batch(batch: BatchState) -> EarningState {
        match batch {
            BatchState::Batched => EarningState::Batched,
            BatchState::Signed => EarningState::Signed,
            BatchState::Sent => EarningState::Sent,
            BatchState::Confirmed => EarningState::Confirmed,
            BatchState::Expired => EarningState::Approved,
        }
    }
}

impl BatchState {
    /// Every state.
    pub const ALL: [BatchState; 5] = [
        BatchState::Batched,
        BatchState::Signed,
        BatchState::Sent,
        BatchState::Confirmed,
        BatchState::Expired,
    ];

    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Batched => "batched",
            BatchState::Signed => "signed",
            BatchState::Sent => "sent",
            BatchState::Confirmed => "confirmed",
            BatchState::Expired => "expired",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::corrupt("batch state", s))
    }

    /// Live: its items are held and may still be paid (batched, signed, sent).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            BatchState::Batched | BatchState::Signed | BatchState::Sent
        )
    }

    /// Whether `self -> to` is a legal transition.
    pub fn can_become(self, to: BatchState) -> bool {
        use BatchState::*;
        matches!(
            (self, to),
            (Batched, Signed | Confirmed | Expired)
                | (Signed, Sent | Confirmed | Expired)
                | (Sent, Confirmed | Expired)
        )
    }
}

impl fmt::Display for EarningState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for BatchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a transition call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Transition {
    /// The state changed now.
    Applied,
    /// It was already in the target state with the same evidence (a retry after a crash):
    /// nothing changed.
    AlreadyApplied,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earning_table() {
        use EarningState::*;
        let legal = [
            (Approved, Batched),
            (Approved, Revoked),
            (Batched, Signed),
            (Batched, Confirmed),
            (Batched, Approved),
            (Signed, Sent),
            (Signed, Confirmed),
            (Signed, Approved),
            (Sent, Confirmed),
            (Sent, Approved),
            (Confirmed, Approved),
        ];
        for from in EarningState::ALL {
            for to in EarningState::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
            assert_eq!(EarningState::parse(from.as_str()).unwrap(), from);
        }
    }

    #[test]
    fn batch_table() {
        use BatchState::*;
        let legal = [
            (Batched, Signed),
            (Batched, Confirmed),
            (Batched, Expired),
            (Signed, Sent),
            (Signed, Confirmed),
            (Signed, Expired),
            (Sent, Confirmed),
            (Sent, Expired),
        ];
        for from in BatchState::ALL {
            for to in BatchState::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
            assert_eq!(BatchState::parse(from.as_str()).unwrap(), from);
        }
        assert!(EarningState::parse("paid").is_err());
    }

    #[test]
    fn project_table() {
        use ProjectState::*;
        let legal = [(Active, Closing), (Active, Closed), (Closing, Closed)];
        for from in ProjectState::ALL {
            for to in ProjectState::ALL {
                assert_eq!(
                    from.can_become(to),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
            assert_eq!(ProjectState::parse(from.as_str()).unwrap(), from);
        }
        assert!(ProjectState::parse("open").is_err());
    }
}
