//! The client side: talking to a running devnet (or any liteserver) with ton_liteapi, for the
//! `devnet faucet` command.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;
use ton_liteapi::client::LiteClient;
use ton_liteapi::tl::common::{AccountId, Int256};
use tycho_types::boc::Boc;
use tycho_types::cell::HashBytes;
use tycho_types::models::{AccountState, OptionalAccount, StdAddr};

use crate::error::{Error, Result};
use crate::faucet;
use crate::wallet::{WalletV4R2, seqno_of};

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaucetAmount {
    /// nanoTON.
    Ton(u128),
    /// Test USD base units (6 decimals).
    Usd(u128),
}

/// One liteserver of a global config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liteserver {
    /// Its address.
    pub addr: SocketAddrV4,
    /// Its ed25519 key.
    pub public_key: [u8; 32],
}

fn config_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Config {
        reason: format!("{}: {e}", path.display()),
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| config_err(path, e))
}

/// The first liteserver of a global config file.
pub fn read_global_config(path: &Path) -> Result<Liteserver> {
    #[derive(Deserialize)]
    struct Id {
        key: String,
    }
    #[derive(Deserialize)]
    struct Ls {
        ip: i64,
        port: u16,
        id: Id,
    }
    #[derive(Deserialize)]
    struct Global {
        liteservers: Vec<Ls>,
    }
    let global: Global = read_json(path)?;
    let ls = global
        .liteservers
        .first()
        .ok_or_else(|| config_err(path, "no liteservers"))?;
    let ip = Ipv4Addr::from(ls.ip as i32 as u32);
    let key = base64::engine::general_purpose::STANDARD
        .decode(&ls.id.key)
        .map_err(|e| config_err(path, e))?;
    let public_key: [u8; 32] = key
        .try_into()
        .map_err(|_| config_err(path, "key is not 32 bytes"))?;
    Ok(Liteserver {
        addr: SocketAddrV4::new(ip, ls.port),
        public_key,
    })
}

fn lite(e: impl std::fmt::Debug) -> Error {
    Error::Liteserver {
        reason: format!("{e:?}"),
    }
}

fn parse_addr(s: &str) -> Result<StdAddr> {
    s.parse::<StdAddr>().map_err(|e| Error::BadMessage {
        reason: format!("address {s}: {e}"),
    })
}

/// Sends TON or test USD from the faucet of the devnet whose state folder is `state_dir`
/// (its `global-config.json` and `faucet.json`), through the liteserver protocol. Returns the
/// external message's hash; the transfer lands in the next block.
pub async fn faucet(state_dir: &Path, to: &StdAddr, amount: FaucetAmount) -> Result<HashBytes> {
    #[derive(Deserialize)]
    struct FaucetFile {
        seed_hex: String,
        address: String,
        jetton_minter: String,
        jetton_admin: String,
    }
    let ls = read_global_config(&state_dir.join("global-config.json"))?;
    let path = state_dir.join("faucet.json");
    let file: FaucetFile = read_json(&path)?;
    let seed: [u8; 32] = hex::decode(&file.seed_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| config_err(&path, "seed_hex is not 32 bytes of hex"))?;
    let wallet = WalletV4R2::from_seed(seed);
    let address = parse_addr(&file.address)?;

    let mut client = LiteClient::connect(ls.addr, ls.public_key)
        .await
        .map_err(lite)?;
    let last = client.get_masterchain_info().await.map_err(lite)?.last;
    let id = AccountId {
        workchain: i32::from(address.workchain),
        id: Int256(address.address.0),
    };
    let state = client.get_account_state(last, id).await.map_err(lite)?;
    let account = Boc::decode(&state.state)
        .map_err(Error::bad_boc)?
        .parse::<OptionalAccount>()?
        .0;
    let seqno = match account.map(|a| a.state) {
        Some(AccountState::Active(init)) => seqno_of(&init.data.unwrap_or_default())?,
        _ => {
            return Err(Error::BadMessage {
                reason: format!("the faucet {address} is not active"),
            });
        }
    };
    let now = client.get_time().await.map_err(lite)?;
    let transfer = match amount {
        FaucetAmount::Ton(n) => faucet::ton_transfer(to, n),
        FaucetAmount::Usd(n) => {
            if file.jetton_admin != file.address {
                return Err(Error::BadMessage {
                    reason: "the faucet is not the test USD admin on this chain".into(),
                });
            }
            faucet::usd_mint(&parse_addr(&file.jetton_minter)?, to, n, now)?
        }
    };
    let msg = wallet.external_transfer(seqno, now + 600, &[transfer], false)?;
    client.send_message(Boc::encode(&msg)).await.map_err(lite)?;
    Ok(*msg.repr_hash())
}
