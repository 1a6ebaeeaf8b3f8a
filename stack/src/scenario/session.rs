//! A liteserver session: one client, the faucet wallet that sends every step, and the reading
//! of each step's transactions block by block.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use labelmint_devnet::wallet::{Transfer, WalletV4R2, seqno_of};
use ton_liteapi::client::LiteClient;
use ton_liteapi::tl::common::{AccountId, BlockId, BlockIdExt, Int256, TransactionId3};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, HashBytes, Load};
use tycho_types::models::{
    AccountState, Block, OptionalAccount, ShardHashes, StdAddr, Transaction,
};
use tycho_vm::{Stack, VmGetterMethodId};

use super::describe::{TxLine, describe};
use super::{STEP_TIMEOUT, say, ton};
use crate::error::{Error, Result};

fn lite(e: ton_liteapi::types::LiteError) -> Error {
    let reason = match e {
        ton_liteapi::types::LiteError::ServerError(e) => {
            format!("liteServer.error {}: {}", e.code, e.message)
        }
        other => format!("{other:?}"),
    };
    Error::Liteserver { reason }
}

fn account_id(addr: &StdAddr) -> AccountId {
    AccountId {
        workchain: i32::from(addr.workchain),
        id: Int256(addr.address.0),
    }
}

/// A liteserver session that sends `make up`'s steps and prints what they did.
pub struct Session {
    server: SocketAddrV4,
    client: LiteClient,
    faucet: WalletV4R2,
    faucet_addr: StdAddr,
    names: HashMap<HashBytes, String>,
    /// The next masterchain seqno whose transactions were not read yet.
    next_mc: u32,
    transactions: Vec<TxLine>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.server)
            .field("faucet", &self.faucet_addr)
            .field("next_mc", &self.next_mc)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects to the liteserver at `addr` (key `public_key`); steps are sent from `faucet`.
    /// Only blocks after the current one are read.
    pub async fn connect(
        addr: SocketAddrV4,
        public_key: [u8; 32],
        faucet: WalletV4R2,
    ) -> Result<Session> {
        let client = LiteClient::connect(addr, public_key).await.map_err(lite)?;
        let faucet_addr = faucet.address()?;
        let mut s = Session {
            server: addr,
            client,
            faucet,
            faucet_addr,
            names: HashMap::new(),
            next_mc: 0,
            transactions: Vec::new(),
        };
        s.next_mc = s.last_mc().await?.seqno + 1;
        Ok(s)
    }

    /// The liteserver's address.
    pub fn server(&self) -> SocketAddrV4 {
        self.server
    }

    /// The faucet's address (the scenario's client and vault admin).
    pub fn faucet_address(&self) -> &StdAddr {
        &self.faucet_addr
    }

    /// The chain's time (`liteServer.getTime`).
    pub async fn now(&mut self) -> Result<u32> {
        self.client.get_time().await.map_err(lite)
    }

    /// The chain's global id (config param 19), as the last masterchain block states it.
    /// Signed requests carry it; the contracts refuse any other.
    pub async fn global_id(&mut self) -> Result<i32> {
        // The zero state is not a block: wait for the first masterchain block.
        let started = std::time::Instant::now();
        let mut mc = self.last_mc().await?;
        while mc.seqno == 0 {
            if started.elapsed() > STEP_TIMEOUT {
                return Err(Error::Liteserver {
                    reason: format!("no masterchain block after {STEP_TIMEOUT:?}"),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            mc = self.last_mc().await?;
        }
        let boc = self.client.get_block(mc).await.map_err(lite)?;
        Ok(Boc::decode(&boc)
            .map_err(Error::bad_answer)?
            .parse::<Block>()?
            .global_id)
    }

    /// The last masterchain block's seqno.
    pub async fn last_mc_seqno(&mut self) -> Result<u32> {
        Ok(self.last_mc().await?.seqno)
    }

    /// Every transaction the steps made, in the order read.
    pub fn transactions(&self) -> &[TxLine] {
        &self.transactions
    }

    /// The last masterchain seqno whose transactions were read.
    pub fn last_read_mc(&self) -> u32 {
        self.next_mc.saturating_sub(1)
    }
}

impl Session {
    /// Gives `a` a name in what is printed.
    pub fn name(&mut self, a: &StdAddr, name: &str) {
        self.names.insert(a.address, name.to_string());
    }

    /// `a`'s name, or its shortened user-friendly form.
    pub fn label(&self, a: &StdAddr) -> String {
        match self.names.get(&a.address) {
            Some(n) => n.clone(),
            None => {
                let s = super::friendly(a, true);
                format!("{}..{}", &s[..8], &s[s.len() - 4..])
            }
        }
    }

    async fn last_mc(&mut self) -> Result<BlockIdExt> {
        Ok(self.client.get_masterchain_info().await.map_err(lite)?.last)
    }

    async fn account_state(&mut self, a: &StdAddr) -> Result<Option<tycho_types::models::Account>> {
        let mc = self.last_mc().await?;
        let state = self
            .client
            .get_account_state(mc, account_id(a))
            .await
            .map_err(lite)?;
        if state.state.is_empty() {
            return Ok(None);
        }
        Ok(Boc::decode(&state.state)
            .map_err(Error::bad_answer)?
            .parse::<OptionalAccount>()?
            .0)
    }

    /// Whether `a` is an active account (deployed, with code).
    pub async fn is_active(&mut self, a: &StdAddr) -> Result<bool> {
        Ok(matches!(
            self.account_state(a).await?.map(|acc| acc.state),
            Some(AccountState::Active(_))
        ))
    }

    /// `a`'s balance in nanoTON (0 when it has no account).
    pub async fn balance(&mut self, a: &StdAddr) -> Result<u128> {
        Ok(self
            .account_state(a)
            .await?
            .map(|acc| acc.balance.tokens.into_inner())
            .unwrap_or(0))
    }

    /// Runs a get-method that returns integers (non-integers read as 0).
    pub async fn getter(&mut self, a: &StdAddr, method: &str) -> Result<Vec<u128>> {
        let mc = self.last_mc().await?;
        let empty = Boc::encode(CellBuilder::build_from(&Stack { items: Vec::new() })?);
        let res = self
            .client
            .run_smc_method(
                4,
                mc,
                account_id(a),
                u64::from(method.as_getter_method_id()),
                empty,
            )
            .await
            .map_err(lite)?;
        if res.exit_code != 0 {
            return Err(Error::GetMethod {
                reason: format!("{method} on {a}: exit code {}", res.exit_code),
            });
        }
        let cell = Boc::decode(res.result.unwrap_or_default()).map_err(Error::bad_answer)?;
        let stack = Stack::load_from(&mut cell.as_slice()?)?;
        Ok(stack
            .items
            .iter()
            .map(|v| {
                v.as_int()
                    .and_then(|n| n.to_string().parse::<u128>().ok())
                    .unwrap_or(0)
            })
            .collect())
    }

    /// The account's transaction lts through getTransactions, from its last transaction back.
    pub async fn history(&mut self, a: &StdAddr) -> Result<Vec<u64>> {
        let Some(last) = self.transactions.iter().rev().find(|t| t.account == *a) else {
            return Ok(Vec::new());
        };
        let (lt, hash) = (last.lt, last.hash);
        let list = self
            .client
            .get_transactions(16, account_id(a), lt, Int256(hash.0))
            .await
            .map_err(lite)?;
        let mut lts = Vec::new();
        for root in labelmint_devnet::liteapi::convert::boc_roots(&list.transactions)? {
            lts.push(root.parse::<Transaction>()?.lt);
        }
        Ok(lts)
    }

    /// The seqno of the faucet, through getAccountState.
    async fn faucet_seqno(&mut self) -> Result<u32> {
        let addr = self.faucet_addr.clone();
        match self.account_state(&addr).await?.map(|a| a.state) {
            Some(AccountState::Active(init)) => Ok(seqno_of(&init.data.unwrap_or_default())?),
            _ => Err(Error::Step {
                step: "faucet".into(),
                reason: format!("the faucet {addr} is not active"),
            }),
        }
    }

    /// Sends `transfers` from the faucet wallet as one external ([`Session::step`]).
    pub async fn faucet_step(
        &mut self,
        title: &str,
        transfers: &[Transfer],
        out: &mut dyn Write,
    ) -> Result<()> {
        let seqno = self.faucet_seqno().await?;
        let now = self.client.get_time().await.map_err(lite)?;
        let msg = self
            .faucet
            .external_transfer(seqno, now + 600, transfers, false)?;
        let to = self.faucet_addr.clone();
        self.step(title, &to, msg, out).await
    }

    /// Sends the external `msg` to `to`, waits for its transaction and for the chain to go
    /// quiet, and prints the step's transactions.
    pub async fn step(
        &mut self,
        title: &str,
        to: &StdAddr,
        msg: Cell,
        out: &mut dyn Write,
    ) -> Result<()> {
        say(out, format!("\n== {title}"));
        let hash = *msg.repr_hash();
        // Only blocks from now on can hold the external's transaction.
        self.next_mc = self.next_mc.max(self.last_mc().await?.seqno + 1);
        self.client
            .send_message(Boc::encode(&msg))
            .await
            .map_err(lite)?;
        say(
            out,
            format!("  sendMessage: external {hash} to {}", self.label(to)),
        );
        let deadline = Instant::now() + STEP_TIMEOUT;
        // The step's transactions: the external's, then, in lt order, those on accounts its
        // messages reached. Settled at the first later block with none (other activity on
        // the devnet does not hold it up, nor is it printed).
        let mut reached: Option<HashSet<HashBytes>> = None;
        loop {
            let last = self.last_mc().await?.seqno;
            while self.next_mc <= last {
                let seqno = self.next_mc;
                let mut txs = self.block_transactions(seqno).await?;
                self.next_mc += 1;
                txs.sort_by_key(|t| t.lt);
                let mut any = false;
                for tx in txs {
                    let reached = match &mut reached {
                        Some(r) if r.contains(&tx.account.address) => r,
                        Some(_) => continue,
                        None if tx.in_msg == Some(hash) => reached.insert(HashSet::new()),
                        None => continue,
                    };
                    reached.extend(tx.out_to.iter().map(|a| a.address));
                    any = true;
                    self.print_tx(seqno, &tx, out);
                    self.transactions.push(tx);
                }
                if reached.is_some() && !any {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Step {
                    step: title.to_string(),
                    reason: format!("not settled within {STEP_TIMEOUT:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn print_tx(&self, mc_seqno: u32, tx: &TxLine, out: &mut dyn Write) {
        let result = match (tx.exit_code, tx.aborted) {
            (Some(c), false) => format!("exit {c}"),
            (Some(c), true) => format!("exit {c} ABORTED"),
            (None, _) => "compute skipped".to_string(),
        };
        let line = format!(
            "  mc {mc_seqno:<5} {:<30} lt {:<10} {:<48} {result:<9} fees {:<14} tx {}",
            self.label(&tx.account),
            tx.lt,
            tx.what,
            ton(tx.fees),
            tx.hash
        );
        say(out, line);
        for e in &tx.events {
            say(out, format!("{:>48} event {e}", ""));
        }
    }

    /// The basechain transactions registered by masterchain block `seqno`.
    async fn block_transactions(&mut self, seqno: u32) -> Result<Vec<TxLine>> {
        let mc = self
            .client
            .lookup_block(
                (),
                BlockId {
                    workchain: -1,
                    shard: 1 << 63,
                    seqno,
                },
                Some(()),
                None,
                None,
                false,
                false,
                false,
                false,
                false,
            )
            .await
            .map_err(lite)?
            .id;
        let shards = self.client.get_all_shards_info(mc).await.map_err(lite)?;
        let hashes = Boc::decode(&shards.data)
            .map_err(Error::bad_answer)?
            .parse::<ShardHashes>()?;
        let mut out = Vec::new();
        for entry in hashes.iter() {
            let (ident, descr) = entry?;
            let id = BlockIdExt {
                workchain: ident.workchain(),
                shard: ident.prefix(),
                seqno: descr.seqno,
                root_hash: Int256(descr.root_hash.0),
                file_hash: Int256(descr.file_hash.0),
            };
            let mut after = None;
            loop {
                let list = self
                    .client
                    .list_block_transactions(id.clone(), 256, after.take(), false, false)
                    .await
                    .map_err(lite)?;
                for t in &list.ids {
                    let (Some(account), Some(lt)) = (t.account.clone(), t.lt) else {
                        continue;
                    };
                    let addr = StdAddr::new(ident.workchain() as i8, HashBytes(account.0));
                    let one = self
                        .client
                        .get_one_transaction(id.clone(), account_id(&addr), lt)
                        .await
                        .map_err(lite)?;
                    let cell = Boc::decode(&one.transaction).map_err(Error::bad_answer)?;
                    out.push(describe(addr, &cell)?);
                    after = Some(TransactionId3 { account, lt });
                }
                if !list.incomplete {
                    break;
                }
            }
        }
        Ok(out)
    }
}
