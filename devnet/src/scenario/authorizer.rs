//! Who signs the scenario's release and payout batch.

use std::future::Future;

use ed25519_dalek::{Signer, SigningKey};
use labelmint_abi::escrow::{EscrowRelease, ReleaseRequest};
use labelmint_abi::vault::{PayoutItem, VaultBatch, VaultBatchRequest};
use labelmint_abi::{Layout, SignedRequest};
use tycho_types::cell::Cell;
use tycho_types::models::StdAddr;

use super::Plan;
use crate::config::seed_from_phrase;
use crate::error::Result;
use crate::wallet::external_message;

/// The phrase the [`ThrowawaySigner`]'s key comes from. THROWAWAY: public, for the devnet only.
pub const THROWAWAY_SIGNER_PHRASE: &str = "THROWAWAY labelmint devnet demo signer";

/// Signs what the scenario sends: the escrow release and the vault's payout batch.
pub trait Authorizer {
    /// The ed25519 public key the plan's contracts trust.
    fn public_key(&self) -> [u8; 32];

    /// One line saying what signs (printed by the scenario).
    fn describe(&self) -> String;

    /// The `escrow_release` body carrying `request`'s signature, for the client's wallet to
    /// send to the escrow.
    fn release(
        &mut self,
        plan: &Plan,
        request: ReleaseRequest,
    ) -> impl Future<Output = Result<Cell>> + Send;

    /// The signed external message to the plan's vault paying `payouts` (destination, amount),
    /// created at chain time `created_at`; the authorizer picks the query id and item ids.
    fn batch(
        &mut self,
        plan: &Plan,
        created_at: u32,
        payouts: &[(StdAddr, u128)],
    ) -> impl Future<Output = Result<Cell>> + Send;
}

/// Signs in-process with the THROWAWAY key of [`THROWAWAY_SIGNER_PHRASE`].
#[derive(Debug)]
pub struct ThrowawaySigner {
    key: SigningKey,
}

impl ThrowawaySigner {
    /// The signer of [`THROWAWAY_SIGNER_PHRASE`].
    pub fn new() -> Self {
        Self {
            key: SigningKey::from_bytes(&seed_from_phrase(THROWAWAY_SIGNER_PHRASE)),
        }
    }
}

impl Default for ThrowawaySigner {
    fn default() -> Self {
        Self::new()
    }
}

impl Authorizer for ThrowawaySigner {
    fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    fn describe(&self) -> String {
        format!("THROWAWAY, from the public phrase {THROWAWAY_SIGNER_PHRASE:?}")
    }

    async fn release(&mut self, _plan: &Plan, request: ReleaseRequest) -> Result<Cell> {
        let signature = self.key.sign(&request.signing_hash()?).to_bytes();
        Ok(EscrowRelease {
            query_id: 3,
            signature,
            request,
        }
        .build()?)
    }

    async fn batch(
        &mut self,
        plan: &Plan,
        created_at: u32,
        payouts: &[(StdAddr, u128)],
    ) -> Result<Cell> {
        let run = u64::from(plan.run_id);
        let request = VaultBatchRequest {
            vault: plan.vault.clone(),
            global_id: plan.global_id,
            query_id: run,
            created_at,
            attach: 0,
            forward_ton: 0,
            items: payouts
                .iter()
                .enumerate()
                .map(|(i, (dest, amount))| PayoutItem {
                    item_id: run * 1000 + i as u64 + 1,
                    bounceable: false,
                    dest: dest.clone(),
                    amount: *amount,
                })
                .collect(),
        };
        let signature = self.key.sign(&request.signing_hash()?).to_bytes();
        external_message(
            &plan.vault,
            None,
            VaultBatch { signature, request }.build()?,
        )
    }
}
