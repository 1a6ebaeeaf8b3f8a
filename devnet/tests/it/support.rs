//! Fixtures: a devnet, a connected liteclient, and helpers to read answers.

use labelmint_devnet::{Config, Devnet, spawn};
use ton_liteapi::client::LiteClient;
use ton_liteapi::tl::common::{AccountId, BlockIdExt, Int256};
use tycho_types::boc::Boc;
use tycho_types::models::{Account, OptionalAccount, StdAddr};

pub(crate) const TON: u128 = 1_000_000_000;

pub(crate) async fn devnet() -> Devnet {
    spawn(Config::test()).await.expect("devnet starts")
}

pub(crate) async fn client(devnet: &Devnet) -> LiteClient {
    LiteClient::connect(devnet.addr(), devnet.public_key())
        .await
        .expect("liteclient connects")
}

pub(crate) fn account_id(addr: &StdAddr) -> AccountId {
    AccountId {
        workchain: i32::from(addr.workchain),
        id: Int256(addr.address.0),
    }
}

pub(crate) async fn last_mc(client: &mut LiteClient) -> BlockIdExt {
    client
        .get_masterchain_info()
        .await
        .expect("masterchain info")
        .last
}

/// The account through getAccountState at the last masterchain block (None if it does not
/// exist).
pub(crate) async fn account(client: &mut LiteClient, addr: &StdAddr) -> Option<Account> {
    let mc = last_mc(client).await;
    let state = client
        .get_account_state(mc, account_id(addr))
        .await
        .expect("getAccountState");
    if state.state.is_empty() {
        return None;
    }
    let cell = Boc::decode(&state.state).expect("account BOC");
    cell.parse::<OptionalAccount>().expect("Account").0
}

pub(crate) async fn balance(client: &mut LiteClient, addr: &StdAddr) -> u128 {
    account(client, addr)
        .await
        .map(|a| a.balance.tokens.into_inner())
        .unwrap_or(0)
}

/// Every root of a multi-root BOC.
pub(crate) fn roots(boc: &[u8]) -> Vec<tycho_types::cell::Cell> {
    let header = tycho_types::boc::de::BocHeader::decode(boc, &Default::default()).expect("BOC");
    let cells = header
        .finalize(<tycho_types::cell::Cell as tycho_types::cell::CellFamily>::empty_context())
        .expect("cells");
    header
        .roots()
        .iter()
        .map(|i| cells.get(*i).expect("root"))
        .collect()
}
