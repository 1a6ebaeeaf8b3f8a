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
//! The addresses are fixed before anything is sent ([`Plan`]), so a caller can register them
//! (with an indexer, a ledger, a signer's allowlist) first. Who signs is an [`Authorizer`]:
//! [`ThrowawaySigner`] signs in-process with a THROWAWAY key derived from a public phrase
//! ([`THROWAWAY_SIGNER_PHRASE`]; anyone can sign with it, it exists for this local chain
//! only); `make up` plugs in the payout-signer service instead. Each run uses a new project id,
//! batch query id and worker addresses, so the scenario can run again on a chain that
//! persisted from an earlier run.

mod authorizer;
mod describe;
mod plan;
mod session;

use std::io::Write;
use std::net::SocketAddrV4;
use std::time::Duration;

use labelmint_abi::Layout;
use labelmint_abi::escrow::{EscrowDeploy, EscrowDeposit, ReleaseRequest};
use labelmint_abi::state_init::{escrow_state_init, vault_state_init};
use labelmint_abi::vault::VaultTopUp;
use tycho_types::models::StdAddr;

pub use self::authorizer::{Authorizer, THROWAWAY_SIGNER_PHRASE, ThrowawaySigner};
pub use self::describe::TxLine;
pub use self::plan::{Plan, THROWAWAY_TREASURY_PHRASE};
pub use self::session::Session;
use crate::error::{Error, Result};
use crate::wallet::{Transfer, WalletV4R2};

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
    /// The last masterchain seqno whose transactions the scenario read.
    pub last_mc_seqno: u32,
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

/// Runs the scenario against the liteserver at `addr` (key `public_key`), sending from the
/// faucet wallet `faucet`, signed by the [`ThrowawaySigner`]; writes what it does to `out` and
/// returns the [`Report`]. The devnet must produce blocks on its own (a block time).
pub async fn run(
    addr: SocketAddrV4,
    public_key: [u8; 32],
    faucet: WalletV4R2,
    out: &mut dyn Write,
) -> Result<Report> {
    let mut session = Session::connect(addr, public_key, faucet, out).await?;
    let now = session.now().await?;
    let mut signer = ThrowawaySigner::new();
    let mut plan = Plan::new(
        now,
        now,
        session.faucet_address().clone(),
        signer.public_key(),
    )?;
    plan.global_id = session.global_id().await?;
    run_plan(&mut session, &plan, &mut signer).await
}

/// Runs the scenario of `plan` in `session`, with `auth` signing the release and the batch.
pub async fn run_plan<A: Authorizer>(
    s: &mut Session<'_>,
    plan: &Plan,
    auth: &mut A,
) -> Result<Report> {
    if plan.payouts.len() != plan.workers.len() || plan.payouts.contains(&0) {
        return Err(Error::BadMessage {
            reason: format!(
                "the plan pays {} amounts to {} workers; give one non-zero amount per worker",
                plan.payouts.len(),
                plan.workers.len()
            ),
        });
    }
    if auth.public_key() != plan.signer_key {
        return Err(Error::Authorizer {
            reason: "the authorizer's key is not the plan's signer key".into(),
        });
    }
    s.name(&plan.faucet, "faucet (client, vault admin)");
    s.name(&plan.vault, "ton-vault");
    s.name(&plan.escrow, &format!("escrow#{}", plan.run_id));
    s.name(&plan.treasury, "treasury");
    for (i, w) in plan.workers.iter().enumerate() {
        s.name(w, &format!("worker-{}", i + 1));
    }
    s.say(format!(
        "LabelMint Pay on the devnet, through the liteserver at {}",
        s.server()
    ));
    s.say(format!(
        "  signer key     {} ({})",
        hex::encode(plan.signer_key),
        auth.describe()
    ));
    for (label, a) in [
        ("faucet", &plan.faucet),
        ("TON vault", &plan.vault),
        ("escrow", &plan.escrow),
        ("treasury", &plan.treasury),
    ] {
        s.say(format!("  {label:<14} {a}"));
    }
    for (i, w) in plan.workers.iter().enumerate() {
        s.say(format!("  worker-{:<7} {w}", i + 1));
    }

    // 1. Deploy the vault, the escrow and the treasury wallet in one faucet external.
    let deploy = [
        Transfer {
            to: plan.vault.clone(),
            amount: VAULT_DEPLOY_TON,
            bounce: false,
            body: Some(
                VaultTopUp {
                    query_id: u64::from(plan.run_id),
                }
                .build()?,
            ),
            init: Some(vault_state_init(&plan.vault_config)?),
            mode: 3,
        },
        Transfer {
            to: plan.escrow.clone(),
            amount: ESCROW_DEPLOY_TON,
            bounce: false,
            body: Some(
                EscrowDeploy {
                    query_id: u64::from(plan.run_id),
                }
                .build()?,
            ),
            init: Some(escrow_state_init(&plan.escrow_params)?),
            mode: 3,
        },
        Transfer {
            to: plan.treasury.clone(),
            amount: TREASURY_DEPLOY_TON,
            bounce: false,
            body: None,
            init: Some(plan.treasury_wallet.state_init()?),
            mode: 3,
        },
    ];
    s.faucet_step(
        "deploy the TON vault, the escrow and the treasury wallet",
        &deploy,
    )
    .await?;

    // 2. Deposit.
    let deposit = Transfer {
        to: plan.escrow.clone(),
        amount: plan.deposit + DEPOSIT_GAS,
        bounce: true,
        body: Some(
            EscrowDeposit {
                query_id: 2,
                amount: plan.deposit,
            }
            .build()?,
        ),
        init: None,
        mode: 3,
    };
    s.faucet_step(
        &format!("the client deposits {} into the escrow", ton(plan.deposit)),
        &[deposit],
    )
    .await?;

    // 3. Signed release to the vault.
    let seqno = s.getter(&plan.escrow, "get_seqno").await?;
    let seqno = u32::try_from(*seqno.first().unwrap_or(&0)).map_err(|_| Error::BadMessage {
        reason: "escrow seqno out of range".into(),
    })?;
    let now = s.now().await?;
    let request = ReleaseRequest {
        escrow: plan.escrow.clone(),
        global_id: s.global_id().await?,
        seqno,
        valid_until: now + 600,
        amount: plan.release,
    };
    let body = auth.release(plan, request).await?;
    let release = Transfer {
        to: plan.escrow.clone(),
        amount: RELEASE_GAS,
        bounce: true,
        body: Some(body),
        init: None,
        mode: 3,
    };
    s.faucet_step(
        &format!(
            "the signer releases {} (+{} fee) from the escrow to the vault",
            ton(plan.release),
            ton(plan.escrow_params.release_fee(plan.release))
        ),
        &[release],
    )
    .await?;

    // 4. The vault pays a signed batch (an external message to the vault itself).
    let now = s.now().await?;
    let payouts: Vec<(StdAddr, u128)> = plan
        .workers
        .iter()
        .cloned()
        .zip(plan.payouts.iter().copied())
        .collect();
    let batch = auth.batch(plan, now, &payouts).await?;
    s.step(
        &format!("the vault pays a signed batch of {}", payouts.len()),
        &plan.vault,
        batch,
    )
    .await?;

    // Read back.
    s.say("\n== state, read back through the liteserver".into());
    let e = s.getter(&plan.escrow, "get_escrow_data").await?;
    let at = |v: &Vec<u128>, i: usize| v.get(i).copied().unwrap_or(0);
    // get_escrow_data: state, seqno, deposited, released, fees_paid, ...; the budget has its
    // own getter (its index in get_escrow_data moves when storage fields are added).
    let budget = s.getter(&plan.escrow, "get_budget").await?;
    let escrow_data = (at(&e, 2), at(&e, 3), at(&e, 4), at(&budget, 0));
    s.say(format!(
        "  escrow (get_escrow_data): deposited {}, released {}, fees {}, budget {}, seqno {}",
        ton(escrow_data.0),
        ton(escrow_data.1),
        ton(escrow_data.2),
        ton(escrow_data.3),
        at(&e, 1)
    ));
    let v = s.getter(&plan.vault, "get_vault_data").await?;
    let vault_data = (at(&v, 13), at(&v, 14), at(&v, 15));
    s.say(format!(
        "  vault (get_vault_data):   funded {}, paid {}, bounced {}",
        ton(vault_data.0),
        ton(vault_data.1),
        ton(vault_data.2)
    ));
    let mut balances = Vec::new();
    for a in [&plan.faucet, &plan.vault, &plan.escrow, &plan.treasury]
        .into_iter()
        .chain(plan.workers.iter())
    {
        let b = s.balance(a).await?;
        s.say(format!("  {:<30} {}", s.label(a), ton(b)));
        balances.push((a.clone(), b));
    }
    for a in [&plan.escrow, &plan.vault] {
        let history = s.history(a).await?;
        s.say(format!(
            "  getTransactions {}: {} transactions, lt {}",
            s.label(a),
            history.len(),
            history
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    Ok(Report {
        faucet: plan.faucet.clone(),
        vault: plan.vault.clone(),
        escrow: plan.escrow.clone(),
        treasury: plan.treasury.clone(),
        workers: plan.workers.clone(),
        transactions: s.transactions().to_vec(),
        escrow_data,
        vault_data,
        balances,
        last_mc_seqno: s.last_read_mc(),
    })
}
