//! What a settlement pass reports while it works: a seam for progress bars (`labelmint settle
//! --once`) and for timing (the settler benchmark), never for decisions.
//!
//! [`crate::settle::Settler::with_progress`] plugs a [`Progress`] in; the service runs with
//! [`Silent`]. A [`Progress`] is called inline, on the pass's own task: it must return at once
//! (record, draw, never block or await).

use labelmint_ledger::{Batch, CurrencyCode, IngestReport, RawAddress};

/// One step of a pass, in the order a pass takes them.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// The indexed events are being taken into the ledger.
    Ingesting,
    /// ... and were (`ingest_chain_events`' report).
    Ingested(&'a IngestReport),
    /// The releases start: this many projects (escrows with a vault of their currency) are
    /// looked at.
    Releases {
        /// Projects to look at.
        projects: usize,
    },
    /// The next project's escrow is looked at (a release signed, or none needed).
    ReleaseProject,
    /// The relayer handed this many signed releases to the liteserver.
    ReleasesCarried {
        /// Releases in the relayer's external.
        count: usize,
    },
    /// The relayer's external carries a `jetton_recover` to a jetton vault or escrow (its
    /// unbooked tokens, per the ledger).
    RecoverySent {
        /// The contract.
        contract: &'a RawAddress,
        /// The claimed extra (jetton base units).
        amount: u128,
    },
    /// One vault's turn starts.
    Vault {
        /// Its currency.
        currency: &'a CurrencyCode,
        /// Its address.
        address: &'a RawAddress,
    },
    /// A dead batch expired in chain time (its earnings are payable again).
    BatchExpired(&'a Batch),
    /// A new batch was formed from approved earnings.
    BatchFormed(&'a Batch),
    /// The signer answered for a batch (new or replayed bytes) and the ledger recorded it.
    BatchSigned(&'a Batch),
    /// The batch's external was handed to the liteserver and recorded as sent.
    BatchSent(&'a Batch),
    /// The liteserver did not take the batch's external (the same bytes go again later).
    BatchNotSent(&'a Batch),
    /// The vault's turn ended.
    VaultDone {
        /// Its currency.
        currency: &'a CurrencyCode,
    },
}

/// Receives the [`Step`]s of every pass.
pub trait Progress: Send + Sync {
    /// One step; called inline, must not block.
    fn step(&self, step: Step<'_>);
}

/// Reports nothing (the service's default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn step(&self, _step: Step<'_>) {}
}
