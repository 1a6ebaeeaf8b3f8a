//! The chain as the settler sees it, through any liteserver (the devnet's or a real network's
//! global config): the indexer's resilient client ([`labelmint_indexer::lite::Lite`]) for
//! time, account states, get-methods and `sendMessage`.
//!
//! Reads here decide only what to ASK for (how much a vault can pay, an escrow's seqno, the
//! relayer's seqno); whether something landed is decided from the indexed events in
//! Postgres, never from a getter alone.

use std::sync::Arc;
use std::time::Duration;

use labelmint_indexer::lite::{Lite, LiteOptions, LiteServer};
use labelmint_indexer::metrics::Metrics as LiteMetrics;
use ton_liteapi::tl::common::{AccountId, Int256};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, Load};
use tycho_types::models::{Account, AccountState, OptionalAccount, StdAddr};
use tycho_vm::{Stack, VmGetterMethodId};

use crate::error::{Error, Result};

/// One integer of a get-method's answer (`None`: not an integer, e.g. an address or null).
pub type StackInt = Option<i128>;

/// The liteserver side of the settler.
#[derive(Debug, Clone)]
pub struct Chain {
    lite: Lite,
}

fn account_id(a: &StdAddr) -> AccountId {
    AccountId {
        workchain: i32::from(a.workchain),
        id: Int256(a.address.0),
    }
}

impl Chain {
    /// A client over `servers`.
    pub fn new(servers: Vec<LiteServer>) -> Result<Self> {
        let opts = LiteOptions {
            request_timeout: Duration::from_secs(10),
            max_attempts: 6,
            ..LiteOptions::default()
        };
        let lite = Lite::new(
            servers,
            opts,
            Arc::new(LiteMetrics::new(Duration::from_secs(60))),
        )?;
        Ok(Self { lite })
    }

    /// Chain time (`liteServer.getTime`).
    pub async fn now(&mut self) -> Result<u32> {
        Ok(self.lite.time().await?)
    }

    /// The account at the last masterchain block (`None`: no account).
    pub async fn account(&mut self, a: &StdAddr) -> Result<Option<Account>> {
        let last = self.lite.masterchain_info().await?.last;
        let id = account_id(a);
        let state = self
            .lite
            .call("getAccountState", move |c| {
                let (last, id) = (last.clone(), id.clone());
                Box::pin(async move { Ok(c.get_account_state(last, id).await?.state) })
            })
            .await?;
        if state.is_empty() {
            return Ok(None);
        }
        let cell = Boc::decode(&state).map_err(|e| Error::chain("account state", e))?;
        Ok(cell
            .parse::<OptionalAccount>()
            .map_err(|e| Error::chain("account state", e))?
            .0)
    }

    /// Whether each of `addrs` is an active (deployed) account, at one masterchain block (one
    /// `getMasterchainInfo`, then one `getAccountState` per address).
    pub async fn active(&mut self, addrs: &[StdAddr]) -> Result<Vec<bool>> {
        if addrs.is_empty() {
            return Ok(Vec::new());
        }
        let last = self.lite.masterchain_info().await?.last;
        let mut out = Vec::with_capacity(addrs.len());
        for a in addrs {
            let id = account_id(a);
            let last = last.clone();
            let state = self
                .lite
                .call("getAccountState", move |c| {
                    let (last, id) = (last.clone(), id.clone());
                    Box::pin(async move { Ok(c.get_account_state(last, id).await?.state) })
                })
                .await?;
            let active = if state.is_empty() {
                false
            } else {
                let cell = Boc::decode(&state).map_err(|e| Error::chain("account state", e))?;
                matches!(
                    cell.parse::<OptionalAccount>()
                        .map_err(|e| Error::chain("account state", e))?
                        .0
                        .map(|acc| acc.state),
                    Some(AccountState::Active(_))
                )
            };
            out.push(active);
        }
        Ok(out)
    }

    /// The balance in nanoTON (0 without an account).
    pub async fn balance(&mut self, a: &StdAddr) -> Result<u128> {
        Ok(self
            .account(a)
            .await?
            .map(|acc| acc.balance.tokens.into_inner())
            .unwrap_or(0))
    }

    /// The persistent data of an active account.
    pub async fn data(&mut self, a: &StdAddr) -> Result<Option<Cell>> {
        Ok(match self.account(a).await?.map(|acc| acc.state) {
            Some(AccountState::Active(init)) => init.data,
            _ => None,
        })
    }

    /// Runs a get-method without arguments at the last masterchain block.
    pub async fn getter(&mut self, a: &StdAddr, method: &str) -> Result<Vec<StackInt>> {
        let last = self.lite.masterchain_info().await?.last;
        let id = account_id(a);
        let params = Boc::encode(
            CellBuilder::build_from(&Stack { items: Vec::new() })
                .map_err(|e| Error::chain(method, e))?,
        );
        let method_id = u64::from(method.as_getter_method_id());
        let res = self
            .lite
            .call("runSmcMethod", move |c| {
                let (last, id, params) = (last.clone(), id.clone(), params.clone());
                Box::pin(async move { c.run_smc_method(4, last, id, method_id, params).await })
            })
            .await?;
        if res.exit_code != 0 {
            return Err(Error::chain(
                format!("{method} on {a}"),
                format!("exit code {}", res.exit_code),
            ));
        }
        let cell =
            Boc::decode(res.result.unwrap_or_default()).map_err(|e| Error::chain(method, e))?;
        let stack = Stack::load_from(&mut cell.as_slice().map_err(|e| Error::chain(method, e))?)
            .map_err(|e| Error::chain(method, e))?;
        Ok(stack
            .items
            .iter()
            .map(|v| v.as_int().and_then(|n| n.to_string().parse::<i128>().ok()))
            .collect())
    }

    /// `liteServer.sendMessage` of a complete external message.
    pub async fn send(&mut self, message: &Cell) -> Result<()> {
        let boc = Boc::encode(message);
        self.lite
            .call("sendMessage", move |c| {
                let boc = boc.clone();
                Box::pin(async move { c.send_message(boc).await })
            })
            .await?;
        Ok(())
    }
}

/// The integer at `index` of a getter's answer, as a non-negative amount.
pub fn amount_at(stack: &[StackInt], index: usize, what: &str) -> Result<u128> {
    stack
        .get(index)
        .copied()
        .flatten()
        .and_then(|v| u128::try_from(v).ok())
        .ok_or_else(|| Error::chain(what, format!("no non-negative integer at {index}")))
}
