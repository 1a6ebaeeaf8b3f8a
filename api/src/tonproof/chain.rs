//! `get_public_key` of a deployed wallet through a liteserver (the indexer's client
//! [`labelmint_indexer::lite::Lite`], made from a global config as the settler makes it).
//!
//! Used only when a ton_proof comes without a StateInit. ton_liteapi 0.2.0 does not verify
//! the liteserver's proofs, so the key is as trustworthy as the configured liteserver (the
//! project's own devnet or the operator's own node); the StateInit path needs no server.

use std::sync::Arc;
use std::time::Duration;

use labelmint_indexer::lite::{Lite, LiteOptions, LiteServer};
use labelmint_indexer::metrics::Metrics as LiteMetrics;
use ton_liteapi::tl::common::{AccountId, Int256};
use tycho_types::boc::Boc;
use tycho_types::cell::{CellBuilder, Load as _};
use tycho_types::models::StdAddr;
use tycho_vm::{OwnedCellSlice, RcStackValue, Stack, VmGetterMethodId as _};

/// What asking for the key can end in.
#[derive(Debug)]
pub enum KeyAnswer {
    /// The wallet's key.
    Key([u8; 32]),
    /// The account does not answer `get_public_key` (not deployed, or no such getter).
    NoKey(String),
    /// The liteserver did not answer.
    Unavailable(String),
}

/// A liteserver client for `get_public_key` (one request at a time).
#[derive(Debug)]
pub struct KeyReader {
    lite: tokio::sync::Mutex<Lite>,
}

impl KeyReader {
    /// A reader over `servers` (a few quick attempts: a login waits on it).
    pub fn new(servers: Vec<LiteServer>) -> Result<KeyReader, labelmint_indexer::Error> {
        let opts = LiteOptions {
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            max_attempts: 2,
            ..LiteOptions::default()
        };
        let lite = Lite::new(
            servers,
            opts,
            Arc::new(LiteMetrics::new(Duration::from_secs(60))),
        )?;
        Ok(KeyReader {
            lite: tokio::sync::Mutex::new(lite),
        })
    }

    /// The BOC of a getter's argument stack (built before any await: stack values are not
    /// `Send`).
    pub fn stack_boc(args: Vec<RcStackValue>) -> Result<Vec<u8>, KeyAnswer> {
        CellBuilder::build_from(&Stack { items: args })
            .map(Boc::encode)
            .map_err(|e| KeyAnswer::Unavailable(format!("stack: {e}")))
    }

    /// Runs the getter `method` of `workchain:hash` with the argument stack `params` (a BOC,
    /// [`KeyReader::stack_boc`]) at the last masterchain block: its result stack, or why not.
    pub async fn run_get(
        &self,
        workchain: i32,
        hash: [u8; 32],
        method: &str,
        params: Vec<u8>,
    ) -> Result<Stack, KeyAnswer> {
        let mut lite = self.lite.lock().await;
        let last = match lite.masterchain_info().await {
            Ok(info) => info.last,
            Err(e) => return Err(KeyAnswer::Unavailable(e.to_string())),
        };
        let id = AccountId {
            workchain,
            id: Int256(hash),
        };
        let method_id = u64::from(method.as_getter_method_id());
        let res = lite
            .call("runSmcMethod", move |c| {
                let (last, id, params) = (last.clone(), id.clone(), params.clone());
                Box::pin(async move { c.run_smc_method(4, last, id, method_id, params).await })
            })
            .await;
        let res = match res {
            Ok(r) => r,
            Err(labelmint_indexer::Error::Server { code, message, .. }) => {
                return Err(KeyAnswer::NoKey(format!(
                    "liteserver error {code}: {message}"
                )));
            }
            Err(e) => return Err(KeyAnswer::Unavailable(e.to_string())),
        };
        if res.exit_code != 0 {
            return Err(KeyAnswer::NoKey(format!(
                "{method} exit code {}",
                res.exit_code
            )));
        }
        let Some(cell) = res.result.and_then(|b| Boc::decode(b).ok()) else {
            return Err(KeyAnswer::NoKey(format!("{method} answered no stack")));
        };
        let Ok(mut slice) = cell.as_slice() else {
            return Err(KeyAnswer::NoKey(format!("{method} answered a bad stack")));
        };
        Stack::load_from(&mut slice)
            .map_err(|_| KeyAnswer::NoKey(format!("{method} answered a bad stack")))
    }

    /// `get_wallet_address(owner)` of the jetton master `master`: the owner's jetton wallet
    /// (TEP-74), as the master computes it.
    pub async fn jetton_wallet(
        &self,
        master: &StdAddr,
        owner: &StdAddr,
    ) -> Result<StdAddr, KeyAnswer> {
        let params = {
            let arg = CellBuilder::build_from(owner)
                .map_err(|e| KeyAnswer::Unavailable(format!("owner cell: {e}")))?;
            KeyReader::stack_boc(vec![RcStackValue::new_dyn_value(
                OwnedCellSlice::new_allow_exotic(arg),
            )])?
        };
        let stack = self
            .run_get(
                i32::from(master.workchain),
                master.address.0,
                "get_wallet_address",
                params,
            )
            .await?;
        let slice = stack
            .items
            .first()
            .and_then(|v| v.as_cell_slice())
            .ok_or_else(|| KeyAnswer::NoKey("get_wallet_address answered no slice".into()))?;
        StdAddr::load_from(&mut slice.apply())
            .map_err(|_| KeyAnswer::NoKey("get_wallet_address answered no address".into()))
    }

    /// Runs `get_public_key` on `workchain:hash` at the last masterchain block.
    pub async fn public_key(&self, workchain: i32, hash: [u8; 32]) -> KeyAnswer {
        let params = match KeyReader::stack_boc(Vec::new()) {
            Ok(p) => p,
            Err(a) => return a,
        };
        let stack = match self
            .run_get(workchain, hash, "get_public_key", params)
            .await
        {
            Ok(s) => s,
            Err(a) => return a,
        };
        let Some(n) = stack.items.first().and_then(|v| v.as_int()) else {
            return KeyAnswer::NoKey("get_public_key answered no integer".into());
        };
        let (sign, bytes) = n.to_bytes_be();
        if sign == num_bigint::Sign::Minus || bytes.len() > 32 {
            return KeyAnswer::NoKey("get_public_key answered no 256-bit key".into());
        }
        let mut key = [0u8; 32];
        key[32 - bytes.len()..].copy_from_slice(&bytes);
        KeyAnswer::Key(key)
    }
}
