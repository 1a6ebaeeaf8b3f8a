//! `devnet up`: LabelMint's money flow on a running devnet, entirely through the liteserver
//! protocol, as the settler and the indexer will drive it.
//!
//! Every step is a `liteServer.sendMessage` (a faucet wallet external, or the vault's signed
//! batch external); the effects are read back with `getMasterchainInfo`, `lookupBlock`,
//! `getAllShardsInfo`, `listBlockTransactions`, `getOneTransaction` (each new block's
//! transactions), `runSmcMethod` (get-methods), `getAccountState` (balances) and
//! `getTransactions` (account histories).
//!
//! 1. deploy: one faucet external deploys a TON payout vault, a TON project escrow and a
//!    treasury wallet (v4r2);
//! 2. the client (the faucet) deposits into the escrow;
//! 3. a signed release moves part of the budget to the vault (+ the platform fee to the
//!    treasury);
//! 4. the vault pays a signed batch to new worker addresses.
//!
//! The signer key is a THROWAWAY key derived from a public phrase
//! ([`THROWAWAY_SIGNER_PHRASE`]): anyone can sign with it; it exists for this local chain only.
//! Each run uses a new project id, batch query id and worker addresses, so the scenario can run
//! again on a chain that persisted from an earlier run.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use labelmint_abi::escrow::{
    EscrowDeploy, EscrowDeposit, EscrowParams, EscrowRelease, EscrowRoutes, ReleaseRequest,
};
use labelmint_abi::events::Event;
use labelmint_abi::state_init::{
    escrow_address, escrow_state_init, vault_address, vault_state_init,
};
use labelmint_abi::vault::{
    PayoutItem, VaultBatch, VaultBatchRequest, VaultConfig, VaultTopUp, parse_payout_comment,
};
use labelmint_abi::{Layout, SignedRequest, opcodes};
use ton_liteapi::client::LiteClient;
use ton_liteapi::tl::common::{AccountId, BlockId, BlockIdExt, Int256, TransactionId3};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellBuilder, HashBytes, Load};
use tycho_types::models::{
    AccountState, ComputePhase, IntAddr, MsgInfo, OptionalAccount, ShardHashes, StdAddr,
    Transaction, TxInfo,
};
use tycho_vm::{Stack, VmGetterMethodId};

use crate::config::seed_from_phrase;
use crate::error::{Error, Result};
use crate::wallet::{Transfer, WalletV4R2, external_message, seqno_of};

/// The phrase the scenario's signer key comes from. THROWAWAY: public, for the devnet only.
pub const THROWAWAY_SIGNER_PHRASE: &str = "THROWAWAY labelmint devnet demo signer";
/// The phrase the scenario's treasury wallet key comes from. THROWAWAY, like the signer's.
pub const THROWAWAY_TREASURY_PHRASE: &str = "THROWAWAY labelmint devnet demo treasury";

const TON: u128 = 1_000_000_000;
/// TON sent with the vault's deploy (its gas float).
pub const VAULT_DEPLOY_TON: u128 = TON;
/// TON sent with the escrow's deploy (`EscrowAttach.deploy`).
pub const ESCROW_DEPLOY_TON: u128 = TON / 10;
/// TON sent to deploy the treasury wallet.
pub const TREASURY_DEPLOY_TON: u128 = TON / 2;
/// The client's deposit.
pub const DEPOSIT: u128 = 100 * TON;
/// Attached on top of a deposit (`EscrowAttach.deposit`).
pub const DEPOSIT_GAS: u128 = TON / 100;
/// Released from the budget to the vault.
pub const RELEASE: u128 = 40 * TON;
/// Attached to a TON release (`EscrowAttach.releaseTon`).
pub const RELEASE_GAS: u128 = 4 * TON / 100;
/// The platform fee, basis points.
pub const FEE_BPS: u16 = 250;
/// The worker payouts of the batch.
pub const PAYOUTS: [u128; 3] = [12 * TON, 7 * TON + TON / 2, 3 * TON];
/// How long one step may take before the scenario gives up.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// One transaction as the scenario reads it back.
#[derive(Debug, Clone)]
pub struct TxLine {
    /// The account.
    pub account: StdAddr,
    /// Logical time.
    pub lt: u64,
    /// Transaction hash.
    pub hash: HashBytes,
    /// Hash of the inbound message.
    pub in_msg: Option<HashBytes>,
    /// `ext` or `int`, the op name, the value.
    pub what: String,
    /// Compute phase exit code (`None`: skipped).
    pub exit_code: Option<i32>,
    /// Whether the transaction was aborted.
    pub aborted: bool,
    /// Total fees, nanoTON.
    pub fees: u128,
    /// Decoded LabelMint events (external-out messages).
    pub events: Vec<String>,
    /// Destinations of the internal messages it sent.
    pub out_to: Vec<StdAddr>,
}

/// What the scenario did: addresses, transactions and the state read back at the end.
#[derive(Debug, Clone)]
pub struct Report {
    /// The faucet (also the project's client and the vault's admin).
    pub faucet: StdAddr,
    /// The payout vault.
    pub vault: StdAddr,
    /// The project escrow.
    pub escrow: StdAddr,
    /// The treasury wallet.
    pub treasury: StdAddr,
    /// The workers paid by the batch.
    pub workers: Vec<StdAddr>,
    /// Every transaction of every step.
    pub transactions: Vec<TxLine>,
    /// `get_escrow_data`: (deposited, released, fees paid, budget).
    pub escrow_data: (u128, u128, u128, u128),
    /// `get_vault_data`: (funded, paid, bounced).
    pub vault_data: (u128, u128, u128),
    /// Balances at the end (nanoTON), by address.
    pub balances: Vec<(StdAddr, u128)>,
}

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

/// nanoTON as TON with 9 decimals, trailing zeros trimmed.
pub fn ton(v: u128) -> String {
    let frac = format!("{:09}", v % TON);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{} TON", v / TON)
    } else {
        format!("{}.{frac} TON", v / TON)
    }
}

fn signer() -> SigningKey {
    SigningKey::from_bytes(&seed_from_phrase(THROWAWAY_SIGNER_PHRASE))
}

/// A worker address of run `run` (no account behind it until paid).
fn worker(run: u32, i: usize) -> StdAddr {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(format!("labelmint devnet demo worker {run}:{i}").as_bytes());
    StdAddr::new(0, HashBytes(h.finalize().into()))
}

struct Run<'w> {
    client: LiteClient,
    faucet: WalletV4R2,
    faucet_addr: StdAddr,
    names: HashMap<HashBytes, String>,
    /// The next masterchain seqno whose transactions were not read yet.
    next_mc: u32,
    out: &'w mut dyn Write,
    transactions: Vec<TxLine>,
}

/// Runs the scenario against the liteserver at `addr` (key `public_key`), sending from the
/// faucet wallet `faucet`; writes what it does to `out` and returns the [`Report`]. The devnet
/// must produce blocks on its own (a block time).
pub async fn run(
    addr: SocketAddrV4,
    public_key: [u8; 32],
    faucet: WalletV4R2,
    out: &mut dyn Write,
) -> Result<Report> {
    let client = LiteClient::connect(addr, public_key).await.map_err(lite)?;
    let faucet_addr = faucet.address()?;
    let mut r = Run {
        client,
        faucet,
        faucet_addr: faucet_addr.clone(),
        names: HashMap::new(),
        next_mc: 0,
        out,
        transactions: Vec::new(),
    };
    r.next_mc = r.last_mc().await?.seqno + 1;
    let now = r.client.get_time().await.map_err(lite)?;
    let run_id = now;

    let signer = signer();
    let treasury_wallet = WalletV4R2::from_seed(seed_from_phrase(THROWAWAY_TREASURY_PHRASE));
    let treasury = treasury_wallet.address()?;
    let vault_config = VaultConfig {
        signer_key: signer.verifying_key().to_bytes(),
        timeout: 3600,
        window_len: 86_400,
        window_limit: 1_000_000 * TON,
        admin: faucet_addr.clone(),
        jetton_master: None,
        vault_id: 1,
    };
    let vault = vault_address(&vault_config)?;
    let params = EscrowParams {
        project_id: u64::from(run_id),
        signer_key: signer.verifying_key().to_bytes(),
        deadline: now + 30 * 86_400,
        fee_bps: FEE_BPS,
        client: faucet_addr.clone(),
        jetton_master: None,
        routes: EscrowRoutes {
            vault: vault.clone(),
            treasury: treasury.clone(),
        },
    };
    let escrow = escrow_address(&params)?;
    let workers: Vec<StdAddr> = (0..PAYOUTS.len()).map(|i| worker(run_id, i)).collect();
    r.name(&faucet_addr, "faucet (client, vault admin)");
    r.name(&vault, "ton-vault");
    r.name(&escrow, &format!("escrow#{run_id}"));
    r.name(&treasury, "treasury");
    for (i, w) in workers.iter().enumerate() {
        r.name(w, &format!("worker-{}", i + 1));
    }

    r.say(format!(
        "LabelMint Pay on the devnet, through the liteserver at {addr}"
    ));
    r.say(format!(
        "  signer key     {} (THROWAWAY, from the public phrase {THROWAWAY_SIGNER_PHRASE:?})",
        hex::encode(signer.verifying_key().to_bytes())
    ));
    for (label, a) in [
        ("faucet", &faucet_addr),
        ("TON vault", &vault),
        ("escrow", &escrow),
        ("treasury", &treasury),
    ] {
        r.say(format!("  {label:<14} {a}"));
    }
    for (i, w) in workers.iter().enumerate() {
        r.say(format!("  worker-{:<7} {w}", i + 1));
    }

    // 1. Deploy the vault, the escrow and the treasury wallet in one faucet external.
    let deploy = [
        Transfer {
            to: vault.clone(),
            amount: VAULT_DEPLOY_TON,
            bounce: false,
            body: Some(
                VaultTopUp {
                    query_id: u64::from(run_id),
                }
                .build()?,
            ),
            init: Some(vault_state_init(&vault_config)?),
            mode: 3,
        },
        Transfer {
            to: escrow.clone(),
            amount: ESCROW_DEPLOY_TON,
            bounce: false,
            body: Some(
                EscrowDeploy {
                    query_id: u64::from(run_id),
                }
                .build()?,
            ),
            init: Some(escrow_state_init(&params)?),
            mode: 3,
        },
        Transfer {
            to: treasury.clone(),
            amount: TREASURY_DEPLOY_TON,
            bounce: false,
            body: None,
            init: Some(treasury_wallet.state_init()?),
            mode: 3,
        },
    ];
    r.faucet_step(
        "deploy the TON vault, the escrow and the treasury wallet",
        &deploy,
    )
    .await?;

    // 2. Deposit.
    let deposit = Transfer {
        to: escrow.clone(),
        amount: DEPOSIT + DEPOSIT_GAS,
        bounce: true,
        body: Some(
            EscrowDeposit {
                query_id: 2,
                amount: DEPOSIT,
            }
            .build()?,
        ),
        init: None,
        mode: 3,
    };
    r.faucet_step(
        &format!("the client deposits {} into the escrow", ton(DEPOSIT)),
        &[deposit],
    )
    .await?;

    // 3. Signed release to the vault.
    let seqno = r.getter(&escrow, "get_seqno").await?;
    let seqno = u32::try_from(*seqno.first().unwrap_or(&0)).map_err(|_| Error::BadMessage {
        reason: "escrow seqno out of range".into(),
    })?;
    let now = r.client.get_time().await.map_err(lite)?;
    let request = ReleaseRequest {
        escrow: escrow.clone(),
        seqno,
        valid_until: now + 600,
        amount: RELEASE,
    };
    let signature = signer.sign(&request.signing_hash()?).to_bytes();
    let release = Transfer {
        to: escrow.clone(),
        amount: RELEASE_GAS,
        bounce: true,
        body: Some(
            EscrowRelease {
                query_id: 3,
                signature,
                request,
            }
            .build()?,
        ),
        init: None,
        mode: 3,
    };
    r.faucet_step(
        &format!(
            "the signer releases {} (+{} fee) from the escrow to the vault",
            ton(RELEASE),
            ton(params.release_fee(RELEASE))
        ),
        &[release],
    )
    .await?;

    // 4. The vault pays a signed batch (an external message to the vault itself).
    let now = r.client.get_time().await.map_err(lite)?;
    let request = VaultBatchRequest {
        vault: vault.clone(),
        query_id: u64::from(run_id),
        created_at: now,
        attach: 0,
        forward_ton: 0,
        items: workers
            .iter()
            .zip(PAYOUTS)
            .enumerate()
            .map(|(i, (dest, amount))| PayoutItem {
                item_id: u64::from(run_id) * 1000 + i as u64 + 1,
                bounceable: false,
                dest: dest.clone(),
                amount,
            })
            .collect(),
    };
    let signature = signer.sign(&request.signing_hash()?).to_bytes();
    let batch = external_message(&vault, None, VaultBatch { signature, request }.build()?)?;
    r.step(
        &format!("the vault pays a signed batch of {}", PAYOUTS.len()),
        &vault,
        batch,
    )
    .await?;

    // Read back.
    r.say("\n== state, read back through the liteserver".into());
    let e = r.getter(&escrow, "get_escrow_data").await?;
    let at = |v: &Vec<u128>, i: usize| v.get(i).copied().unwrap_or(0);
    let escrow_data = (at(&e, 2), at(&e, 3), at(&e, 4), at(&e, 15));
    r.say(format!(
        "  escrow (get_escrow_data): deposited {}, released {}, fees {}, budget {}, seqno {}",
        ton(escrow_data.0),
        ton(escrow_data.1),
        ton(escrow_data.2),
        ton(escrow_data.3),
        at(&e, 1)
    ));
    let v = r.getter(&vault, "get_vault_data").await?;
    let vault_data = (at(&v, 13), at(&v, 14), at(&v, 15));
    r.say(format!(
        "  vault (get_vault_data):   funded {}, paid {}, bounced {}",
        ton(vault_data.0),
        ton(vault_data.1),
        ton(vault_data.2)
    ));
    let mut balances = Vec::new();
    for a in [&faucet_addr, &vault, &escrow, &treasury]
        .into_iter()
        .chain(workers.iter())
    {
        let b = r.balance(a).await?;
        r.say(format!("  {:<30} {}", r.label(a), ton(b)));
        balances.push((a.clone(), b));
    }
    for a in [&escrow, &vault] {
        let history = r.history(a).await?;
        r.say(format!(
            "  getTransactions {}: {} transactions, lt {}",
            r.label(a),
            history.len(),
            history
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    Ok(Report {
        faucet: faucet_addr,
        vault,
        escrow,
        treasury,
        workers,
        transactions: r.transactions,
        escrow_data,
        vault_data,
        balances,
    })
}

impl Run<'_> {
    fn say(&mut self, line: String) {
        // Output is best effort (a closed stdout must not stop the devnet).
        let _ = writeln!(self.out, "{line}");
    }

    fn name(&mut self, a: &StdAddr, name: &str) {
        self.names.insert(a.address, name.to_string());
    }

    fn label(&self, a: &StdAddr) -> String {
        match self.names.get(&a.address) {
            Some(n) => n.clone(),
            None => {
                let s = a.to_string();
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
            .map_err(Error::bad_boc)?
            .parse::<OptionalAccount>()?
            .0)
    }

    async fn balance(&mut self, a: &StdAddr) -> Result<u128> {
        Ok(self
            .account_state(a)
            .await?
            .map(|acc| acc.balance.tokens.into_inner())
            .unwrap_or(0))
    }

    /// Runs a get-method that returns integers (non-integers read as 0).
    async fn getter(&mut self, a: &StdAddr, method: &str) -> Result<Vec<u128>> {
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
        let cell = Boc::decode(res.result.unwrap_or_default()).map_err(Error::bad_boc)?;
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
    async fn history(&mut self, a: &StdAddr) -> Result<Vec<u64>> {
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
        for root in crate::liteapi::convert::boc_roots(&list.transactions)? {
            lts.push(root.parse::<Transaction>()?.lt);
        }
        Ok(lts)
    }

    /// The seqno of the faucet, through getAccountState.
    async fn faucet_seqno(&mut self) -> Result<u32> {
        let addr = self.faucet_addr.clone();
        match self.account_state(&addr).await?.map(|a| a.state) {
            Some(AccountState::Active(init)) => seqno_of(&init.data.unwrap_or_default()),
            _ => Err(Error::BadMessage {
                reason: format!("the faucet {addr} is not active"),
            }),
        }
    }

    async fn faucet_step(&mut self, title: &str, transfers: &[Transfer]) -> Result<()> {
        let seqno = self.faucet_seqno().await?;
        let now = self.client.get_time().await.map_err(lite)?;
        let msg = self
            .faucet
            .external_transfer(seqno, now + 600, transfers, false)?;
        let to = self.faucet_addr.clone();
        self.step(title, &to, msg).await
    }

    /// Sends the external `msg` to `to`, waits for its transaction and for the chain to go
    /// quiet, and prints the step's transactions.
    async fn step(&mut self, title: &str, to: &StdAddr, msg: Cell) -> Result<()> {
        self.say(format!("\n== {title}"));
        let hash = *msg.repr_hash();
        self.client
            .send_message(Boc::encode(&msg))
            .await
            .map_err(lite)?;
        self.say(format!(
            "  sendMessage: external {hash} to {}",
            self.label(to)
        ));
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
                    self.print_tx(seqno, &tx);
                    self.transactions.push(tx);
                }
                if reached.is_some() && !any {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(Error::BadMessage {
                    reason: format!("{title}: not settled within {STEP_TIMEOUT:?}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn print_tx(&mut self, mc_seqno: u32, tx: &TxLine) {
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
        self.say(line);
        for e in &tx.events {
            self.say(format!("{:>48} event {e}", ""));
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
            .map_err(Error::bad_boc)?
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
                    let cell = Boc::decode(&one.transaction).map_err(Error::bad_boc)?;
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

fn body_op(body: &tycho_types::cell::CellSlice<'_>) -> Option<u32> {
    (body.size_bits() >= 32)
        .then(|| body.get_u32(0).ok())
        .flatten()
}

/// A transaction as one line: inbound message, result, fees, events.
fn describe(account: StdAddr, cell: &Cell) -> Result<TxLine> {
    let tx = cell.parse::<Transaction>()?;
    let (exit_code, aborted) = match tx.load_info()? {
        TxInfo::Ordinary(info) => (
            match info.compute_phase {
                ComputePhase::Executed(c) => Some(c.exit_code),
                ComputePhase::Skipped(_) => None,
            },
            info.aborted,
        ),
        TxInfo::TickTock(_) => (None, false),
    };
    let what = match tx.load_in_msg()? {
        None => "-".to_string(),
        Some(m) => {
            let op_name = match body_op(&m.body) {
                None => "empty".to_string(),
                Some(0) => {
                    let mut b = CellBuilder::new();
                    b.store_slice(m.body)?;
                    match parse_payout_comment(&b.build()?) {
                        Ok(id) => format!("comment \"LabelMint #{id}\""),
                        Err(_) => "comment".to_string(),
                    }
                }
                Some(op) => opcodes::name_of(op)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("op {op:#010x}")),
            };
            match m.info {
                // An external's body starts with its signature, not an op.
                MsgInfo::ExtIn(_) => "ext-in (signed)".to_string(),
                MsgInfo::Int(i) => format!(
                    "int {}{op_name} {}",
                    if i.bounced { "bounced " } else { "" },
                    ton(i.value.tokens.into_inner())
                ),
                MsgInfo::ExtOut(_) => "ext-out?".to_string(),
            }
        }
    };
    let mut events = Vec::new();
    let mut out_to = Vec::new();
    for out in tx.out_msgs.values() {
        let out = out?;
        let msg = out.parse::<tycho_types::models::Message<'_>>()?;
        match &msg.info {
            MsgInfo::Int(i) => {
                if let IntAddr::Std(a) = &i.dst {
                    out_to.push(a.clone());
                }
                continue;
            }
            MsgInfo::ExtIn(_) => continue,
            MsgInfo::ExtOut(_) => {}
        }
        let mut b = CellBuilder::new();
        b.store_slice(msg.body)?;
        let body = b.build()?;
        match Event::parse(&body) {
            Ok(e) => {
                let fields = serde_json::to_value(&e)
                    .ok()
                    .and_then(|v| v.get("fields").map(|f| f.to_string()))
                    .unwrap_or_default();
                events.push(format!("{} {fields}", e.name()));
            }
            Err(_) => events.push(format!("unknown ({} bits)", body.bit_len())),
        }
    }
    Ok(TxLine {
        account,
        lt: tx.lt,
        hash: *cell.repr_hash(),
        in_msg: tx.in_msg.as_ref().map(|c| *c.repr_hash()),
        what,
        exit_code,
        aborted,
        fees: tx.total_fees.tokens.into_inner(),
        events,
        out_to,
    })
}
