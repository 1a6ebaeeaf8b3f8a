//! The demo project `make up` sets up on the chain, entirely through the liteserver protocol,
//! as a client and an operator would on mainnet: what the settler then pays by itself.
//!
//! Every step is a `liteServer.sendMessage` of a faucet wallet external; its effects are read
//! back with `getMasterchainInfo`, `lookupBlock`, `getAllShardsInfo`, `listBlockTransactions`,
//! `getOneTransaction` (each new block's transactions), `runSmcMethod` (get-methods),
//! `getAccountState` (balances) and `getTransactions` (account histories).
//!
//! 1. [`deploy`]: one faucet external deploys (or tops up) the TON payout vault, deploys the
//!    project escrow and the treasury wallet, and funds the settler's relayer wallet;
//! 2. [`deposit`]: the client (the faucet) deposits into the escrow;
//! 3. the settler service releases and batches the approved earnings (not here: the settler
//!    is its own process, see [`crate::settler`]);
//! 4. [`read_back`]: the contracts' getters and the balances, through the liteserver.
//!
//! The addresses are fixed before anything is sent ([`Plan`]), so the stack registers them
//! (with the indexer, the ledger, the signer's allowlist) first. Nothing here signs a release
//! or a batch: the contracts trust the payout signer's key, and only the settler asks it.

mod describe;
mod plan;
mod session;

use std::io::Write;
use std::time::Duration;

use labelmint_abi::Layout;
use labelmint_abi::escrow::{EscrowDeploy, EscrowDeposit};
use labelmint_abi::state_init::{escrow_state_init, vault_state_init};
use labelmint_abi::vault::VaultTopUp;
use labelmint_devnet::wallet::{Transfer, WalletV4R2};
use tycho_types::models::{Base64StdAddrFlags, DisplayBase64StdAddr, StdAddr};

pub use self::describe::TxLine;
pub use self::plan::{Plan, THROWAWAY_TREASURY_PHRASE};
pub use self::session::Session;
use crate::error::Result;

/// nanoTON per TON.
pub const TON: u128 = 1_000_000_000;
/// The vault's TON float: it pays each batch's fees from its own balance. Sent with its
/// deploy, and again whenever its balance is below it.
pub const VAULT_FLOAT: u128 = TON;
/// TON sent with the escrow's deploy (`EscrowAttach.deploy`).
pub const ESCROW_DEPLOY_TON: u128 = TON / 10;
/// TON sent to deploy the treasury wallet.
pub const TREASURY_DEPLOY_TON: u128 = TON / 2;
/// TON sent to the settler's relayer wallet when it holds less than [`RELAYER_MIN`] (it pays
/// the gas each release carries, 0.05 TON a release).
pub const RELAYER_FUNDING: u128 = 5 * TON;
/// Below this the relayer wallet is funded again.
pub const RELAYER_MIN: u128 = 2 * TON;
/// The client's deposit (also the top-up when the remaining budget runs low).
pub const DEPOSIT: u128 = 100 * TON;
/// Attached on top of a deposit (`EscrowAttach.deposit`).
pub const DEPOSIT_GAS: u128 = TON / 100;
/// The platform fee, basis points.
pub const FEE_BPS: u16 = 250;
/// The first earnings approved, one per worker.
pub const EARNINGS: [u128; 3] = [12 * TON, 7 * TON + TON / 2, 3 * TON];
/// How long one step may take before the stack gives up.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// What the chain says at the end, read back through the liteserver.
#[derive(Debug, Clone)]
pub struct Report {
    /// `get_escrow_data` and `get_budget`: (deposited, released, fees paid, budget).
    pub escrow_data: (u128, u128, u128, u128),
    /// `get_vault_data`: (funded, paid, bounced).
    pub vault_data: (u128, u128, u128),
    /// Balances (nanoTON), by address.
    pub balances: Vec<(StdAddr, u128)>,
}

/// nanoTON as TON with 9 decimals, trailing zeros trimmed: `12.5 TON`.
pub fn ton(v: u128) -> String {
    let frac = format!("{:09}", v % TON);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{} TON", v / TON)
    } else {
        format!("{}.{frac} TON", v / TON)
    }
}

/// The user-friendly (base64url) form of `a`: bounceable (`EQ…`) for contracts, non-bounceable
/// (`UQ…`) for wallets, as TON wallets and explorers show them.
pub fn friendly(a: &StdAddr, bounceable: bool) -> String {
    DisplayBase64StdAddr {
        addr: a,
        flags: Base64StdAddrFlags {
            testnet: false,
            base64_url: true,
            bounceable,
        },
    }
    .to_string()
}

/// Names the plan's addresses in what `s` prints, and prints them.
pub fn introduce(s: &mut Session, plan: &Plan, relayer: &StdAddr, out: &mut dyn Write) {
    s.name(&plan.faucet, "faucet (client, vault admin)");
    s.name(&plan.vault, "ton-vault");
    s.name(&plan.escrow, &format!("escrow#{}", plan.run_id));
    s.name(&plan.treasury, "treasury");
    s.name(relayer, "relayer (settler)");
    for (i, w) in plan.workers.iter().enumerate() {
        s.name(w, &format!("worker-{}", i + 1));
    }
    say(out, format!("\n== project {} on the devnet", plan.run_id));
    for (label, a, bounceable) in [
        ("faucet/client", &plan.faucet, false),
        ("TON vault", &plan.vault, true),
        ("escrow", &plan.escrow, true),
        ("treasury", &plan.treasury, false),
        ("relayer", relayer, false),
    ] {
        say(
            out,
            format!("  {label:<14} {}  ({a})", friendly(a, bounceable)),
        );
    }
    for (i, w) in plan.workers.iter().enumerate() {
        say(
            out,
            format!("  worker-{:<7} {}  ({w})", i + 1, friendly(w, false)),
        );
    }
}

/// Prints one line (best effort: a closed stdout must not stop the stack).
pub(crate) fn say(out: &mut dyn Write, line: String) {
    let _ = writeln!(out, "{line}");
}

/// The faucet's transfer that deploys the vault with its float, or tops its float up.
fn vault_transfer(plan: &Plan, deployed: bool) -> Result<Transfer> {
    Ok(Transfer {
        to: plan.vault.clone(),
        amount: VAULT_FLOAT,
        bounce: false,
        body: Some(
            VaultTopUp {
                query_id: u64::from(plan.run_id),
            }
            .build()?,
        ),
        init: (!deployed)
            .then(|| vault_state_init(&plan.vault_config))
            .transpose()?,
        mode: 3,
    })
}

/// One faucet external: deploys the vault (or, when `top_up_vault`, adds [`VAULT_FLOAT`] to
/// it), the plan's new escrow and the treasury (when not deployed), and funds the relayer
/// wallet (deployed with its first funding) when it holds less than [`RELAYER_MIN`].
pub async fn deploy(
    s: &mut Session,
    plan: &Plan,
    relayer: &WalletV4R2,
    top_up_vault: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let mut transfers = Vec::new();
    let mut what = Vec::new();
    let vault_active = s.is_active(&plan.vault).await?;
    if !vault_active || top_up_vault {
        transfers.push(vault_transfer(plan, vault_active)?);
        what.push(if vault_active {
            "tops up the TON vault's float"
        } else {
            "deploys the TON vault"
        });
    }
    transfers.push(Transfer {
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
    });
    what.push("deploys the escrow");
    if !s.is_active(&plan.treasury).await? {
        transfers.push(Transfer {
            to: plan.treasury.clone(),
            amount: TREASURY_DEPLOY_TON,
            bounce: false,
            body: None,
            init: Some(plan.treasury_wallet.state_init()?),
            mode: 3,
        });
        what.push("deploys the treasury wallet");
    }
    let relayer_addr = relayer.address()?;
    let relayer_active = s.is_active(&relayer_addr).await?;
    if !relayer_active || s.balance(&relayer_addr).await? < RELAYER_MIN {
        transfers.push(Transfer {
            to: relayer_addr,
            amount: RELAYER_FUNDING,
            bounce: false,
            body: None,
            init: (!relayer_active)
                .then(|| relayer.state_init())
                .transpose()?,
            mode: 3,
        });
        what.push("funds the settler's relayer wallet");
    }
    let title = format!("the faucet {}", what.join(", "));
    s.faucet_step(&title, &transfers, out).await
}

/// The faucet adds [`VAULT_FLOAT`] to the vault (the fees of its batches come from it).
pub async fn top_up_vault(s: &mut Session, plan: &Plan, out: &mut dyn Write) -> Result<()> {
    let t = vault_transfer(plan, true)?;
    s.faucet_step(
        &format!(
            "the faucet tops up the TON vault's float by {}",
            ton(VAULT_FLOAT)
        ),
        &[t],
        out,
    )
    .await
}

/// The client (the faucet) deposits `amount` into the plan's escrow.
pub async fn deposit(
    s: &mut Session,
    plan: &Plan,
    amount: u128,
    query_id: u64,
    out: &mut dyn Write,
) -> Result<()> {
    let deposit = Transfer {
        to: plan.escrow.clone(),
        amount: amount + DEPOSIT_GAS,
        bounce: true,
        body: Some(EscrowDeposit { query_id, amount }.build()?),
        init: None,
        mode: 3,
    };
    s.faucet_step(
        &format!("the client deposits {} into the escrow", ton(amount)),
        &[deposit],
        out,
    )
    .await
}

/// The escrow's remaining budget (`get_budget`).
pub async fn budget(s: &mut Session, plan: &Plan) -> Result<u128> {
    Ok(s.getter(&plan.escrow, "get_budget")
        .await?
        .first()
        .copied()
        .unwrap_or(0))
}

/// Reads the contracts' getters and the balances back through the liteserver and prints them.
pub async fn read_back(
    s: &mut Session,
    plan: &Plan,
    others: &[&StdAddr],
    out: &mut dyn Write,
) -> Result<Report> {
    say(
        out,
        "\n== state, read back through the liteserver".to_string(),
    );
    let at = |v: &Vec<u128>, i: usize| v.get(i).copied().unwrap_or(0);
    // get_escrow_data: state, seqno, deposited, released, fees_paid, ...; the budget has its
    // own getter (its index in get_escrow_data moves when storage fields are added).
    let e = s.getter(&plan.escrow, "get_escrow_data").await?;
    let escrow_data = (at(&e, 2), at(&e, 3), at(&e, 4), budget(s, plan).await?);
    say(
        out,
        format!(
            "  escrow (get_escrow_data): deposited {}, released {}, fees {}, budget left {}, seqno {}",
            ton(escrow_data.0),
            ton(escrow_data.1),
            ton(escrow_data.2),
            ton(escrow_data.3),
            at(&e, 1)
        ),
    );
    let v = s.getter(&plan.vault, "get_vault_data").await?;
    let vault_data = (at(&v, 13), at(&v, 14), at(&v, 15));
    say(
        out,
        format!(
            "  vault (get_vault_data):   funded {}, paid {}, bounced {} (all runs on this chain)",
            ton(vault_data.0),
            ton(vault_data.1),
            ton(vault_data.2)
        ),
    );
    let mut balances = Vec::new();
    for a in [&plan.vault, &plan.escrow, &plan.treasury]
        .into_iter()
        .chain(others.iter().copied())
        .chain(plan.workers.iter())
    {
        let b = s.balance(a).await?;
        say(out, format!("  {:<30} {}", s.label(a), ton(b)));
        balances.push((a.clone(), b));
    }
    Ok(Report {
        escrow_data,
        vault_data,
        balances,
    })
}
