//! The demo project's addresses and parameters, fixed before anything is sent.

use labelmint_abi::escrow::{EscrowParams, EscrowRoutes};
use labelmint_abi::state_init::{escrow_address, vault_address};
use labelmint_abi::vault::{DEFAULT_ADMIN_DELAY, VaultConfig};
use tycho_types::cell::HashBytes;
use tycho_types::models::StdAddr;

use labelmint_devnet::config::seed_from_phrase;
use labelmint_devnet::engine::ton_config::DEVNET_GLOBAL_ID;
use labelmint_devnet::wallet::WalletV4R2;

use super::{FEE_BPS, TON};
use crate::error::Result;

/// The phrase the demo's treasury wallet key comes from. THROWAWAY: public, for the devnet
/// only.
pub const THROWAWAY_TREASURY_PHRASE: &str = "THROWAWAY labelmint devnet demo treasury";

/// Everything `make up` will create, derived from the run id, the chain time, the faucet
/// (client and vault admin) and the signer's public key. Pure: nothing is sent.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The run's id (the project id, the vault's top-up query id).
    pub run_id: u32,
    /// The chain's global id (config param 19) every signed request is bound to.
    /// [`Plan::new`] assumes the devnet's ([`DEVNET_GLOBAL_ID`]); the stack sets the chain's,
    /// as its blocks state it.
    pub global_id: i32,
    /// The faucet: the project's client and the vault's admin.
    pub faucet: StdAddr,
    /// The ed25519 key both contracts trust.
    pub signer_key: [u8; 32],
    /// The TON payout vault's configuration.
    pub vault_config: VaultConfig,
    /// Its address.
    pub vault: StdAddr,
    /// The project escrow's parameters.
    pub escrow_params: EscrowParams,
    /// Its address.
    pub escrow: StdAddr,
    /// The treasury wallet (THROWAWAY key).
    pub treasury_wallet: WalletV4R2,
    /// Its address.
    pub treasury: StdAddr,
    /// The workers (addresses with no account behind them until paid).
    pub workers: Vec<StdAddr>,
    /// What the client deposits first (default [`super::DEPOSIT`]).
    pub deposit: u128,
    /// The first earnings approved, one per worker in `workers` order (default
    /// [`super::EARNINGS`]).
    pub earnings: Vec<u128>,
}

impl Plan {
    /// The plan of run `run_id` at chain time `now`.
    pub fn new(run_id: u32, now: u32, faucet: StdAddr, signer_key: [u8; 32]) -> Result<Plan> {
        let treasury_wallet = WalletV4R2::from_seed(seed_from_phrase(THROWAWAY_TREASURY_PHRASE));
        let treasury = treasury_wallet.address()?;
        let vault_config = VaultConfig {
            signer_key,
            timeout: 3600,
            window_len: 86_400,
            window_limit: 1_000_000 * TON,
            admin: faucet.clone(),
            jetton_master: None,
            vault_id: 1,
            admin_delay: DEFAULT_ADMIN_DELAY,
        };
        let vault = vault_address(&vault_config)?;
        let escrow_params = EscrowParams {
            project_id: u64::from(run_id),
            signer_key,
            deadline: now + 30 * 86_400,
            fee_bps: FEE_BPS,
            client: faucet.clone(),
            jetton_master: None,
            routes: EscrowRoutes {
                vault: vault.clone(),
                treasury: treasury.clone(),
            },
        };
        let escrow = escrow_address(&escrow_params)?;
        let workers = (0..super::EARNINGS.len())
            .map(|i| worker(run_id, i))
            .collect();
        Ok(Plan {
            run_id,
            global_id: DEVNET_GLOBAL_ID,
            faucet,
            signer_key,
            vault_config,
            vault,
            escrow_params,
            escrow,
            treasury_wallet,
            treasury,
            workers,
            deposit: super::DEPOSIT,
            earnings: super::EARNINGS.to_vec(),
        })
    }
}

/// A worker address of run `run` (no account behind it until paid).
fn worker(run: u32, i: usize) -> StdAddr {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(format!("labelmint devnet demo worker {run}:{i}").as_bytes());
    StdAddr::new(0, HashBytes(h.finalize().into()))
}
