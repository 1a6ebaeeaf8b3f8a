//! `labelmint devnet wallet new|balance|send` and `labelmint devnet deposit PROJECT AMOUNT`:
//! local use against the devnet through its liteserver (the `global-config.json` in the devnet's
//! state folder). Wallets are v4r2 from a seed kept in a file (`seed_hex`, `address`; the
//! devnet's `faucet.json` has the same fields), never on the command line.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use clap::{Args, Subcommand};
use labelmint_abi::Layout as _;
use labelmint_abi::escrow::{EscrowDeposit, JETTON_DEPOSIT_FORWARD_TON};
use labelmint_abi::jetton::{ForwardPayload, JettonTransfer, JettonWalletStorage};
use labelmint_abi::state_init::jetton_wallet_address;
use labelmint_devnet::client::read_global_config;
use labelmint_devnet::wallet::{Transfer, WalletV4R2, seqno_of};
use labelmint_ledger::{ProjectId, RawAddress};
use serde_json::json;
use ton_liteapi::client::LiteClient;
use ton_liteapi::tl::common::{AccountId, Int256};
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellFamily as _, HashBytes};
use tycho_types::models::{AccountState, OptionalAccount, StateInit, StdAddr};

use crate::common::{
    AddrKind, Cur, Global, UsageError, cur, currencies, friendly, parse_address, print_json,
};
use crate::create::{JETTON_TRANSFER_TON, TON_DEPOSIT_GAS, parse_units};

/// Devnet subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Wallets (v4r2, seed in a file).
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// A real `escrow_deposit` (TON) or jetton transfer (test USD) into a project's escrow.
    #[command(after_help = "Example:\n  labelmint devnet deposit 301 12.5 --faucet")]
    Deposit {
        /// The project id (its escrow and currency come from the ledger).
        project: u64,
        /// The amount, in the project's currency (e.g. 12.5).
        amount: String,
        #[command(flatten)]
        from: From,
        #[command(flatten)]
        dev: DevnetDir,
    },
}

/// Wallet subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum WalletCommand {
    /// Make a new wallet: a random seed written to FILE (mode 600), its address printed.
    #[command(after_help = "Example:\n  labelmint devnet wallet new --out client.json")]
    New {
        /// Where to write the seed (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
    /// An account's TON balance and status on the devnet (with --jetton-master: also its
    /// jetton wallet's balance, in base units).
    #[command(after_help = "Example:\n  labelmint devnet wallet balance 0QDm...pEQ --json")]
    Balance {
        /// Any account (user-friendly or raw).
        #[arg(value_parser = parse_address)]
        address: RawAddress,
        /// A jetton master: show the account's jetton wallet balance too.
        #[arg(long, value_parser = parse_address)]
        jetton_master: Option<RawAddress>,
        #[command(flatten)]
        dev: DevnetDir,
    },
    /// Send TON (or open a ton://transfer link, e.g. `project create`'s deploy link).
    #[command(
        after_help = "Examples:\n  labelmint devnet wallet send --faucet --to 0QDm...pEQ --amount 50\n  \
                            labelmint devnet wallet send --wallet client.json --link 'ton://transfer/kQ...?amount=..&bin=..&init=..'"
    )]
    Send {
        #[command(flatten)]
        from: From,
        /// The destination (with --amount).
        #[arg(long, value_parser = parse_address, requires = "amount", conflicts_with = "link")]
        to: Option<RawAddress>,
        /// TON to send (e.g. 1.5).
        #[arg(long)]
        amount: Option<String>,
        /// A ton://transfer link (amount in nanoTON, bin and init as base64url BoCs).
        #[arg(long, required_unless_present = "to")]
        link: Option<String>,
        #[command(flatten)]
        dev: DevnetDir,
    },
}

/// The devnet's state folder.
#[derive(Debug, Args)]
pub(crate) struct DevnetDir {
    /// The devnet's state folder (its global-config.json and faucet.json); `make up` uses
    /// .data/devnet.
    #[arg(long, env = "LABELMINT_DEVNET_DIR", default_value = ".data/devnet")]
    devnet_dir: PathBuf,
}

/// Who pays.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct From {
    /// A wallet file (from `devnet wallet new`).
    #[arg(long)]
    wallet: Option<PathBuf>,
    /// The devnet's faucet (its faucet.json in the state folder).
    #[arg(long)]
    faucet: bool,
}

pub(crate) async fn run(g: Global, cmd: Command) -> Result<()> {
    match cmd {
        Command::Wallet(WalletCommand::New { out }) => new_wallet(&g, &out),
        Command::Wallet(WalletCommand::Balance {
            address,
            jetton_master,
            dev,
        }) => balance(&g, &dev, &address, jetton_master.as_ref()).await,
        Command::Wallet(WalletCommand::Send {
            from,
            to,
            amount,
            link,
            dev,
        }) => {
            let t = match (to, amount, link) {
                (_, _, Some(link)) => transfer_of_link(&link)?,
                (Some(to), Some(amount), None) => Transfer {
                    to: std_of(&to)?,
                    amount: parse_units(&amount, 9)
                        .map_err(|e| UsageError(format!("--amount {e}")))?,
                    bounce: false,
                    body: None,
                    init: None,
                    mode: 3,
                },
                _ => return Err(UsageError("give --link, or --to and --amount".into()).into()),
            };
            let wallet = load_wallet(&from, &dev)?;
            let hash = send(&dev, &wallet, &[t]).await?;
            report_sent(&g, &wallet, hash)
        }
        Command::Deposit {
            project,
            amount,
            from,
            dev,
        } => deposit(&g, project, &amount, &from, &dev).await,
    }
}

fn std_of(a: &RawAddress) -> Result<StdAddr> {
    let wc = i8::try_from(a.workchain()).map_err(|_| anyhow!("workchain of {a} out of range"))?;
    Ok(StdAddr::new(wc, HashBytes(a.account())))
}

fn raw_of(a: &StdAddr) -> RawAddress {
    RawAddress::from_parts(a.workchain, a.address.as_array())
}

fn new_wallet(g: &Global, out: &Path) -> Result<()> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness for the seed: {e}"))?;
    let wallet = WalletV4R2::from_seed(seed);
    let address = raw_of(&wallet.address()?);
    let text = serde_json::to_string_pretty(&json!({
        "wallet": "v4r2",
        "seed_hex": hex::encode(seed),
        "public_key_hex": hex::encode(wallet.public_key()),
        "address": address.as_str(),
    }))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(out).map_err(|e| {
        UsageError(format!(
            "--out {}: cannot create it ({e}); it must not exist yet",
            out.display()
        ))
    })?;
    std::io::Write::write_all(&mut f, text.as_bytes())
        .with_context(|| format!("write {}", out.display()))?;
    if g.json {
        return print_json(
            &json!({ "address": address.as_str(), "file": out.display().to_string() }),
        );
    }
    println!(
        "new wallet {} (seed in {}); fund it: labelmint devnet wallet send --faucet --to {} --amount 10",
        g.out().addr(address.as_str(), AddrKind::Wallet),
        out.display(),
        g.out().addr(address.as_str(), AddrKind::Wallet)
    );
    Ok(())
}

fn load_wallet(from: &From, dev: &DevnetDir) -> Result<WalletV4R2> {
    let path = match (&from.wallet, from.faucet) {
        (Some(p), _) => p.clone(),
        (None, true) => dev.devnet_dir.join("faucet.json"),
        (None, false) => return Err(UsageError("give --wallet FILE or --faucet".into()).into()),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow!("cannot read the wallet file {}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("{}: not JSON: {e}", path.display()))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(v["seed_hex"].as_str().unwrap_or(""), &mut seed)
        .map_err(|_| anyhow!("{}: seed_hex is not 32 bytes of hex", path.display()))?;
    Ok(WalletV4R2::from_seed(seed))
}

async fn connect(dev: &DevnetDir) -> Result<LiteClient> {
    let path = dev.devnet_dir.join("global-config.json");
    let ls = read_global_config(&path).map_err(|e| {
        anyhow!(
            "cannot read the devnet's liteserver config {}: {e}; is `make up` (or `devnet`) running? \
             (--devnet-dir)",
            path.display()
        )
    })?;
    let connect = LiteClient::connect(ls.addr, ls.public_key);
    match tokio::time::timeout(crate::common::CONNECT_TIMEOUT, connect).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => bail!(
            "cannot reach the devnet's liteserver at {}: {e:?}; is it running?",
            ls.addr
        ),
        Err(_) => bail!(
            "cannot reach the devnet's liteserver at {}: no answer; is it running?",
            ls.addr
        ),
    }
}

/// (balance in nanoTON, status, seqno of an active v4 wallet).
async fn account(
    client: &mut LiteClient,
    a: &StdAddr,
) -> Result<(u128, &'static str, Option<u32>)> {
    let (bal, status, data) = account_data(client, a).await?;
    Ok((bal, status, data.as_ref().and_then(|d| seqno_of(d).ok())))
}

/// (balance in nanoTON, status, data of an active account).
async fn account_data(
    client: &mut LiteClient,
    a: &StdAddr,
) -> Result<(u128, &'static str, Option<Cell>)> {
    let last = client
        .get_masterchain_info()
        .await
        .map_err(|e| anyhow!("liteserver: {e:?}"))?
        .last;
    let id = AccountId {
        workchain: i32::from(a.workchain),
        id: Int256(a.address.0),
    };
    let state = client
        .get_account_state(last, id)
        .await
        .map_err(|e| anyhow!("liteserver: {e:?}"))?;
    if state.state.is_empty() {
        return Ok((0, "nonexist", None));
    }
    let account = Boc::decode(&state.state)
        .context("account state BoC")?
        .parse::<OptionalAccount>()
        .context("account state")?
        .0;
    Ok(match account {
        None => (0, "nonexist", None),
        Some(acc) => {
            let balance = acc.balance.tokens.into_inner();
            match acc.state {
                AccountState::Active(init) => (balance, "active", init.data),
                AccountState::Uninit => (balance, "uninit", None),
                AccountState::Frozen(_) => (balance, "frozen", None),
            }
        }
    })
}

async fn balance(
    g: &Global,
    dev: &DevnetDir,
    a: &RawAddress,
    master: Option<&RawAddress>,
) -> Result<()> {
    let mut client = connect(dev).await?;
    let (bal, status, _) = account(&mut client, &std_of(a)?).await?;
    // The jetton wallet's balance: 0 until the wallet exists.
    let jetton = match master {
        None => None,
        Some(m) => {
            let w = jetton_wallet_address(&std_of(a)?, &std_of(m)?)?;
            let (_, _, data) = account_data(&mut client, &w).await?;
            let held = match data {
                Some(d) => {
                    JettonWalletStorage::load(&mut d.as_slice().context("jetton wallet data")?)
                        .context("jetton wallet data")?
                        .balance
                }
                None => 0,
            };
            Some((raw_of(&w), held))
        }
    };
    if g.json {
        return print_json(&json!({
            "address": a.as_str(), "status": status, "currency": "TON", "decimals": 9,
            "balance": bal.to_string(),
            "jetton_wallet": jetton.as_ref().map(|(w, _)| w.as_str().to_owned()),
            "jetton_balance": jetton.as_ref().map(|(_, b)| b.to_string()),
        }));
    }
    if let Some((w, held)) = &jetton {
        println!(
            "jetton wallet {}  {held} base units",
            g.out().addr(w.as_str(), AddrKind::Contract)
        );
    }
    let ton = Cur {
        code: "TON".into(),
        decimals: 9,
    };
    let out = g.out();
    let kind = if status == "active" {
        AddrKind::Contract
    } else {
        AddrKind::Wallet
    };
    println!(
        "{}  {}  ({status})",
        out.addr(a.as_str(), kind),
        out.amount(i128::try_from(bal).unwrap_or(i128::MAX), &ton)
    );
    Ok(())
}

/// Signs and sends `transfers` from `wallet` (deploying it with the first send); returns the
/// external message's hash.
async fn send(dev: &DevnetDir, wallet: &WalletV4R2, transfers: &[Transfer]) -> Result<HashBytes> {
    let mut client = connect(dev).await?;
    let me = wallet.address()?;
    let (bal, status, seqno) = account(&mut client, &me).await?;
    let need: u128 = transfers.iter().map(|t| t.amount).sum();
    if bal < need {
        bail!(
            "the wallet {} holds {} nanoTON, the transfer needs {need} plus fees: fund it \
             (`labelmint devnet wallet send --faucet --to ... --amount ...`)",
            friendly(raw_of(&me).as_str(), false, true).unwrap_or_default(),
            bal
        );
    }
    let (seqno, with_init) = match (status, seqno) {
        ("active", Some(s)) => (s, false),
        ("active", None) => bail!("{me} is active but not a v4 wallet"),
        _ => (0, true),
    };
    let now = client
        .get_time()
        .await
        .map_err(|e| anyhow!("liteserver: {e:?}"))?;
    let msg = wallet.external_transfer(seqno, now + 120, transfers, with_init)?;
    client
        .send_message(Boc::encode(&msg))
        .await
        .map_err(|e| anyhow!("the liteserver refused the message: {e:?}"))?;
    Ok(*msg.repr_hash())
}

fn report_sent(g: &Global, wallet: &WalletV4R2, hash: HashBytes) -> Result<()> {
    let from = raw_of(&wallet.address()?);
    if g.json {
        return print_json(&json!({
            "from": from.as_str(), "message_hash": hex::encode(hash.as_slice()),
        }));
    }
    println!(
        "sent from {} (external message {}); it lands in the next block",
        g.out().addr(from.as_str(), AddrKind::Wallet),
        hex::encode(hash.as_slice())
    );
    Ok(())
}

fn b64_cell(what: &str, s: &str) -> Result<Cell> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(s))
        .map_err(|_| UsageError(format!("--link: {what} is not base64")))?;
    Ok(Boc::decode(bytes).map_err(|e| UsageError(format!("--link: {what} is not a BoC: {e}")))?)
}

/// A transfer from `ton://transfer/<addr>?amount=<nanoTON>[&bin=..][&init=..]`.
fn transfer_of_link(link: &str) -> Result<Transfer> {
    let bad = |why: &str| UsageError(format!("--link {link:?}: {why}"));
    let rest = link
        .strip_prefix("ton://transfer/")
        .ok_or_else(|| bad("not a ton://transfer/ link"))?;
    let (to, query) = rest.split_once('?').unwrap_or((rest, ""));
    let to = parse_address(to).map_err(|e| bad(&e))?;
    let bounce = tycho_types::models::StdAddr::from_str_ext(
        rest.split_once('?').map_or(rest, |(a, _)| a),
        tycho_types::models::StdAddrFormat::any(),
    )
    .map(|(_, f)| f.bounceable)
    .unwrap_or(true);
    let (mut amount, mut body, mut init) = (None, None, None);
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| bad("a parameter without '='"))?;
        match k {
            "amount" => {
                amount = Some(
                    v.parse::<u128>()
                        .map_err(|_| bad("amount is not nanoTON"))?,
                )
            }
            "bin" => body = Some(b64_cell("bin", v)?),
            "init" => {
                init = Some(
                    b64_cell("init", v)?
                        .parse::<StateInit>()
                        .map_err(|e| bad(&format!("init is not a StateInit: {e}")))?,
                )
            }
            _ => {}
        }
    }
    Ok(Transfer {
        to: std_of(&to)?,
        amount: amount.ok_or_else(|| bad("no amount"))?,
        // An undeployed destination is reached with its init, or not bounceable.
        bounce: bounce || init.is_some(),
        body,
        init,
        mode: 3,
    })
}

async fn deposit(
    g: &Global,
    project: u64,
    amount: &str,
    from: &From,
    dev: &DevnetDir,
) -> Result<()> {
    let ledger = g.ledger().await?;
    let p = ledger.project(ProjectId(project)).await?.ok_or_else(|| {
        anyhow!("no project {project} in the ledger (`labelmint project create` first)")
    })?;
    let curs = currencies(&ledger).await?;
    let c = cur(&curs, p.currency.as_str())?.clone();
    let units = parse_units(amount, c.decimals).map_err(|e| UsageError(format!("AMOUNT {e}")))?;
    let wallet = load_wallet(from, dev)?;
    let escrow = std_of(&p.escrow)?;
    {
        let mut client = connect(dev).await?;
        let (_, status, _) = account(&mut client, &escrow).await?;
        if status != "active" {
            bail!(
                "the escrow of project {project} is {status} on the devnet: deploy it first with the \
                 deploy link `labelmint project create` printed (`labelmint devnet wallet send --link ...`)"
            );
        }
    }
    let query_id = u64::from(crate::common::unix_now());
    let currency = ledger
        .currency(&p.currency)
        .await?
        .ok_or_else(|| anyhow!("currency {} is not registered", p.currency))?;
    let transfer = match &currency.jetton_master {
        None => Transfer {
            to: escrow.clone(),
            amount: units + TON_DEPOSIT_GAS,
            bounce: true,
            body: Some(
                EscrowDeposit {
                    query_id,
                    amount: units,
                }
                .build()?,
            ),
            init: None,
            mode: 3,
        },
        Some(master) => {
            let me = wallet.address()?;
            Transfer {
                to: jetton_wallet_address(&me, &std_of(master)?)?,
                amount: JETTON_TRANSFER_TON + JETTON_DEPOSIT_FORWARD_TON,
                bounce: true,
                body: Some(
                    JettonTransfer {
                        query_id,
                        amount: units,
                        destination: Some(escrow.clone()),
                        response_destination: Some(me),
                        custom_payload: None,
                        forward_ton_amount: JETTON_DEPOSIT_FORWARD_TON,
                        forward_payload: ForwardPayload::Inline(Cell::empty_cell()),
                    }
                    .build()?,
                ),
                init: None,
                mode: 3,
            }
        }
    };
    let hash = send(dev, &wallet, &[transfer]).await?;
    if g.json {
        return print_json(&json!({
            "project_id": project.to_string(), "escrow": p.escrow.as_str(),
            "currency": c.code, "decimals": c.decimals, "amount": units.to_string(),
            "query_id": query_id.to_string(), "message_hash": hex::encode(hash.as_slice()),
        }));
    }
    println!(
        "deposit of {} into the escrow {} of project {project} sent (query id {query_id}, \
         external message {}); `labelmint project status {project}` shows it once indexed",
        g.out()
            .amount(i128::try_from(units).unwrap_or(i128::MAX), &c),
        g.out().addr(p.escrow.as_str(), AddrKind::Contract),
        hex::encode(hash.as_slice())
    );
    Ok(())
}
