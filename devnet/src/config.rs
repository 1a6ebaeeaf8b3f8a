//! The devnet's configuration.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use sha2::Digest;

use crate::engine::genesis::DEFAULT_FAUCET_BALANCE;
pub use crate::engine::validators::DEFAULT_VALIDATOR_PHRASE;

/// Port of the liteserver by default.
pub const DEFAULT_PORT: u16 = 4924;
/// Block interval by default: 400 ms, like mainnet since 2026.
pub const DEFAULT_BLOCK_TIME: Duration = Duration::from_millis(400);
/// The phrase the faucet key is derived from by default (see [`seed_from_phrase`]).
pub const DEFAULT_FAUCET_PHRASE: &str = "labelmint devnet faucet";
/// The phrase the liteserver's ADNL key is derived from by default.
pub const DEFAULT_SERVER_PHRASE: &str = "labelmint devnet liteserver";

/// An ed25519 seed from a phrase: `sha256("labelmint-devnet/" + phrase)`. Deterministic, so a
/// devnet restarted with the same phrase has the same faucet and server key. (Not a BIP-39 or
/// TON mnemonic: the devnet key is for a local chain only.)
pub fn seed_from_phrase(phrase: &str) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(b"labelmint-devnet/");
    h.update(phrase.as_bytes());
    h.finalize().into()
}

/// How to run a devnet.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the liteserver listens (port 0 picks a free port).
    pub listen: SocketAddrV4,
    /// `Some(interval)`: a block every interval. `None`: blocks only on
    /// [`Devnet::produce_block`](crate::Devnet::produce_block) (tests).
    pub block_time: Option<Duration>,
    /// The state folder: the chain (blocks, queue; stop and start continue it),
    /// `global-config.json`, `faucet.json` and `validators.json`. `None` keeps the chain in memory only.
    pub state_dir: Option<PathBuf>,
    /// The phrase the faucet's key comes from.
    pub faucet_phrase: String,
    /// The phrase the liteserver's ADNL key comes from.
    pub server_phrase: String,
    /// The phrase the validator keys come from (see `engine::validators`).
    pub validator_phrase: String,
    /// The faucet's starting balance in nanoTON.
    pub faucet_balance: u128,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddrV4::new(Ipv4Addr::LOCALHOST, DEFAULT_PORT),
            block_time: Some(DEFAULT_BLOCK_TIME),
            state_dir: None,
            faucet_phrase: DEFAULT_FAUCET_PHRASE.into(),
            server_phrase: DEFAULT_SERVER_PHRASE.into(),
            validator_phrase: DEFAULT_VALIDATOR_PHRASE.into(),
            faucet_balance: DEFAULT_FAUCET_BALANCE,
        }
    }
}

impl Config {
    /// For tests: 127.0.0.1 port 0, on-demand blocks, no files.
    pub fn test() -> Self {
        Self {
            listen: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
            block_time: None,
            ..Self::default()
        }
    }
}
