//! Genesis: the accounts the chain starts with.

use labelmint_abi::Layout;
use labelmint_abi::jetton::{JettonMinterStorage, offchain_content};
use tycho_types::models::{
    Account, AccountState, CurrencyCollection, IntAddr, StateInit, StdAddr, StorageInfo,
};

use crate::error::Result;
use crate::wallet::WalletV4R2;

/// The faucet's starting balance: one billion TON.
pub const DEFAULT_FAUCET_BALANCE: u128 = 1_000_000_000 * 1_000_000_000;

/// The test USD minter's starting balance (it pays for its own storage and bounces).
pub const MINTER_BALANCE: u128 = 10 * 1_000_000_000;

/// The test USD jetton's metadata URL (TEP-64 off-chain content).
pub const TEST_USD_CONTENT_URL: &str = "https://labelmint.dev/devnet/test-usd.json";

/// What the chain starts with.
#[derive(Debug, Clone)]
pub struct Genesis {
    /// The faucet's ed25519 seed (its secret key).
    pub faucet_seed: [u8; 32],
    /// The faucet's starting balance in nanoTON.
    pub faucet_balance: u128,
    /// The test USD minter's admin; `None` makes the faucet the admin.
    pub jetton_admin: Option<StdAddr>,
    /// More v4r2 wallets (by seed) funded at genesis with [`EXTRA_WALLET_BALANCE`] each
    /// (benchmarks, tests).
    pub extra_wallets: Vec<[u8; 32]>,
}

/// Starting balance of each [`Genesis::extra_wallets`] wallet: 1000 TON.
pub const EXTRA_WALLET_BALANCE: u128 = 1_000 * 1_000_000_000;

/// The addresses genesis created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenesisAccounts {
    /// The faucet wallet (v4r2).
    pub faucet: StdAddr,
    /// The test USD jetton minter.
    pub jetton_minter: StdAddr,
    /// The minter's admin.
    pub jetton_admin: StdAddr,
}

/// A funded active account as @ton/sandbox's `createShardAccount` makes one: no storage stats
/// yet and `last_paid = 0` (no storage fee until its first transaction), so the first
/// transaction is identical on both.
fn active_account(address: &StdAddr, balance: u128, init: StateInit) -> Account {
    Account {
        address: IntAddr::Std(address.clone()),
        storage_stat: StorageInfo {
            used: Default::default(),
            storage_extra: Default::default(),
            last_paid: 0,
            due_payment: None,
        },
        last_trans_lt: 0,
        balance: CurrencyCollection::new(balance),
        state: AccountState::Active(init),
    }
}

impl Genesis {
    /// The genesis accounts: (addresses, accounts to install).
    pub fn accounts(&self) -> Result<(GenesisAccounts, Vec<Account>)> {
        let faucet_wallet = WalletV4R2::from_seed(self.faucet_seed);
        let faucet = faucet_wallet.address()?;
        let admin = self.jetton_admin.clone().unwrap_or_else(|| faucet.clone());
        let minter_data = JettonMinterStorage {
            total_supply: 0,
            admin: Some(admin.clone()),
            wallet_code: labelmint_abi::code::jetton_wallet_code(),
            content: offchain_content(TEST_USD_CONTENT_URL)?,
        }
        .build()?;
        let minter_init = labelmint_abi::state_init::state_init(
            labelmint_abi::code::jetton_minter_code(),
            minter_data,
        );
        let minter = labelmint_abi::state_init::address_of(&minter_init)?;
        let mut accounts = vec![
            active_account(&faucet, self.faucet_balance, faucet_wallet.state_init()?),
            active_account(&minter, MINTER_BALANCE, minter_init),
        ];
        for seed in &self.extra_wallets {
            let wallet = WalletV4R2::from_seed(*seed);
            accounts.push(active_account(
                &wallet.address()?,
                EXTRA_WALLET_BALANCE,
                wallet.state_init()?,
            ));
        }
        Ok((
            GenesisAccounts {
                faucet,
                jetton_minter: minter,
                jetton_admin: admin,
            },
            accounts,
        ))
    }
}
