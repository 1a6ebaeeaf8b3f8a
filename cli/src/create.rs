//! `labelmint project create`: computes the escrow's address from its parameters (labelmint-abi),
//! puts it on the signer's allowlist, the indexer's watched accounts and the ledger, and prints
//! a deposit link (`ton://transfer/...`) with a QR code.
//!
//! Every step is idempotent (a re-run with the same parameters changes nothing), and a
//! registration that differs from an earlier one is refused by its owner (the signer's allowlist
//! never changes silently; the ledger refuses another escrow for a registered project id).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Args;
use labelmint_abi::Layout as _;
use labelmint_abi::escrow::{
    EscrowDeploy, EscrowDeposit, EscrowParams, EscrowRoutes, JETTON_DEPOSIT_FORWARD_TON,
    MAX_FEE_BPS,
};
use labelmint_abi::jetton::{ForwardPayload, JettonTransfer};
use labelmint_abi::state_init::{
    address_of, escrow_state_init, jetton_wallet_address, state_init_cell,
};
use labelmint_indexer::model::{AccountKind, WatchedAccount};
use labelmint_ledger::{CurrencyCode, Ledger, Project, ProjectId, RawAddress};
use serde_json::json;
use tycho_types::boc::Boc;
use tycho_types::cell::{Cell, CellFamily as _, HashBytes};
use tycho_types::models::StdAddr;

use crate::common::{
    AddrKind, Cur, Global, UsageError, cur, currencies, parse_address, print_json,
};
use crate::payout::parse_currency;

/// TON attached to the escrow's deploy (`escrow_deploy` with its StateInit): it stays as the
/// escrow's gas float (0.1 TON, the devnet scenario's `ESCROW_DEPLOY_TON`).
pub(crate) const ESCROW_FLOAT_TON: u128 = 100_000_000;
/// TON attached on top of a TON deposit for the escrow's gas (0.01 TON, the devnet scenario's
/// `DEPOSIT_GAS`); what is not spent stays as float.
pub(crate) const TON_DEPOSIT_GAS: u128 = 10_000_000;
/// TON for the jetton transfer itself, on top of [`JETTON_DEPOSIT_FORWARD_TON`] (0.1 TON; the
/// excess comes back to the client).
pub(crate) const JETTON_TRANSFER_TON: u128 = 100_000_000;

/// `project create` arguments.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The project id (uint64; the escrow stores it).
    #[arg(long)]
    id: u64,
    /// The client's wallet: funds the project, gets refunds.
    #[arg(long, value_parser = parse_address)]
    client: RawAddress,
    /// The project's currency (TON, or a registered jetton such as USD).
    #[arg(long, value_parser = parse_currency, default_value = "TON")]
    currency: CurrencyCode,
    /// The payout signer's ed25519 PUBLIC key (64 hex; `payout-signer` prints it).
    #[arg(long, env = "LABELMINT_SIGNER_PUBLIC_KEY", value_parser = parse_key)]
    signer_key: [u8; 32],
    /// Where platform fees go.
    #[arg(long, env = "LABELMINT_TREASURY", value_parser = parse_address)]
    treasury: RawAddress,
    /// Platform fee in basis points of each release (at most 2000 = 20%).
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=i64::from(MAX_FEE_BPS)))]
    fee_bps: u16,
    /// Days until the client may refund without a close (the deadline is that day's midnight
    /// UTC, so re-running on the same day gives the same escrow).
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    deadline_days: u32,
    /// The amount the deposit link asks for, in the currency's unit (e.g. 12.5).
    #[arg(long)]
    deposit: String,
    /// Do not print QR codes.
    #[arg(long)]
    no_qr: bool,
}

fn parse_key(s: &str) -> std::result::Result<[u8; 32], String> {
    let mut k = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut k)
        .map_err(|_| format!("{s:?} is not a 32-byte public key in hex (64 characters)"))?;
    Ok(k)
}

/// `12.5` in a currency of `decimals` decimals -> base units; more decimals than the currency
/// has, or anything but digits and one dot, is a usage error.
pub(crate) fn parse_units(s: &str, decimals: u8) -> std::result::Result<u128, String> {
    let bad = || format!("{s:?} is not an amount with at most {decimals} decimals");
    let (int, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > usize::from(decimals)
    {
        return Err(bad());
    }
    let scale = 10u128.checked_pow(u32::from(decimals)).ok_or_else(bad)?;
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let frac_v: u128 = if frac.is_empty() {
        0
    } else {
        let padded = format!("{frac:0<width$}", width = usize::from(decimals));
        padded.parse().map_err(|_| bad())?
    };
    int.checked_mul(scale)
        .and_then(|v| v.checked_add(frac_v))
        .filter(|v| *v > 0)
        .ok_or_else(bad)
}

fn std_addr(a: &RawAddress) -> Result<StdAddr> {
    let wc = i8::try_from(a.workchain()).map_err(|_| anyhow!("workchain of {a} out of range"))?;
    Ok(StdAddr::new(wc, HashBytes(a.account())))
}

fn raw_of(a: &StdAddr) -> RawAddress {
    RawAddress::from_parts(a.workchain, a.address.as_array())
}

fn b64(cell: &Cell) -> String {
    URL_SAFE_NO_PAD.encode(Boc::encode(cell))
}

/// `ton://transfer/<address>?amount=<nanoTON>&bin=<body>[&init=<StateInit>]`.
fn transfer_link(to: &str, amount: u128, body: &Cell, init: Option<&Cell>) -> String {
    let mut link = format!("ton://transfer/{to}?amount={amount}&bin={}", b64(body));
    if let Some(init) = init {
        link.push_str("&init=");
        link.push_str(&b64(init));
    }
    link
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) async fn create(ledger: &Ledger, g: &Global, a: CreateArgs) -> Result<()> {
    let out = g.out();
    let curs = currencies(ledger).await?;
    let c: Cur = cur(&curs, a.currency.as_str())?.clone();
    let deposit =
        parse_units(&a.deposit, c.decimals).map_err(|e| UsageError(format!("--deposit {e}")))?;
    let currency = ledger
        .currency(&a.currency)
        .await?
        .ok_or_else(|| anyhow!("currency {} is not registered in the ledger", a.currency))?;
    let vault = ledger.vault(&a.currency).await?.ok_or_else(|| {
        anyhow!(
            "no {} vault is registered in the ledger: deploy and register the vault first",
            a.currency
        )
    })?;
    // Midnight UTC, so that a re-run on the same day computes the same escrow (the deadline is
    // one of the parameters that fix its address).
    let deadline = u32::try_from((now() / 86_400 + u64::from(a.deadline_days)) * 86_400)
        .map_err(|_| anyhow!("the deadline does not fit uint32"))?;
    let params = EscrowParams {
        project_id: a.id,
        signer_key: a.signer_key,
        deadline,
        fee_bps: a.fee_bps,
        client: std_addr(&a.client)?,
        jetton_master: currency.jetton_master.as_ref().map(std_addr).transpose()?,
        routes: EscrowRoutes {
            vault: std_addr(&vault.address)?,
            treasury: std_addr(&a.treasury)?,
        },
    };
    params.check_fee()?;
    let init = escrow_state_init(&params)?;
    let escrow = address_of(&init)?;
    let escrow_raw = raw_of(&escrow);
    if let Some(p) = ledger.project(ProjectId(a.id)).await?
        && p.escrow != escrow_raw
    {
        bail!(
            "project {} is already registered with escrow {} (other parameters: a deadline is \
             part of them, so a re-run on another day gives another address); nothing changed",
            a.id,
            out.addr(p.escrow.as_str(), AddrKind::Contract)
        );
    }
    // 1. The signer's allowlist (same database as the ledger).
    let signer_ready: bool =
        sqlx::query_scalar("SELECT to_regclass('signer_contracts') IS NOT NULL")
            .fetch_one(ledger.pool())
            .await?;
    if !signer_ready {
        bail!(
            "this database has no signer allowlist (signer_contracts): start the payout signer \
             once on it (it applies its migrations), then run this again"
        );
    }
    labelmint_payout_signer::store::register(
        ledger.pool(),
        &labelmint_payout_signer::store::Registration::Escrow {
            address: escrow.clone(),
            project_id: a.id,
        },
    )
    .await
    .context("put the escrow on the signer's allowlist")?;
    // 2. The indexer's watched accounts.
    labelmint_indexer::store::Store::from_pool(ledger.pool().clone())
        .watch(&WatchedAccount {
            address: escrow_raw.as_str().to_owned(),
            kind: AccountKind::Escrow,
            project_id: Some(a.id),
            owner: None,
            currency: Some(
                currency
                    .jetton_master
                    .as_ref()
                    .map_or_else(|| "TON".to_owned(), |m| m.as_str().to_owned()),
            ),
        })
        .await
        .context("add the escrow to the indexer's watched accounts")?;
    // 3. The ledger.
    let newly = ledger
        .register_project(&Project {
            id: ProjectId(a.id),
            escrow: escrow_raw.clone(),
            currency: a.currency.clone(),
            client: a.client.clone(),
        })
        .await
        .context("register the project in the ledger")?;

    let init_cell = state_init_cell(&init)?;
    let escrow_friendly = crate::common::friendly(escrow_raw.as_str(), true, out.testnet())
        .unwrap_or_else(|| escrow_raw.as_str().to_owned());
    let query_id = now();
    // Deploying carries the escrow's code (a few KB: too long for a QR code), so it is its own
    // link; the deposit link is short.
    let deploy = EscrowDeploy { query_id }.build()?;
    let deploy_link = transfer_link(
        &escrow_friendly,
        ESCROW_FLOAT_TON,
        &deploy,
        Some(&init_cell),
    );
    let deposit_link = match &currency.jetton_master {
        None => {
            let body = EscrowDeposit {
                query_id,
                amount: deposit,
            }
            .build()?;
            transfer_link(&escrow_friendly, deposit + TON_DEPOSIT_GAS, &body, None)
        }
        Some(master) => {
            let client_wallet = jetton_wallet_address(&params.client, &std_addr(master)?)?;
            let wallet_friendly =
                crate::common::friendly(raw_of(&client_wallet).as_str(), true, out.testnet())
                    .unwrap_or_default();
            let body = JettonTransfer {
                query_id,
                amount: deposit,
                destination: Some(escrow.clone()),
                response_destination: Some(params.client.clone()),
                custom_payload: None,
                forward_ton_amount: JETTON_DEPOSIT_FORWARD_TON,
                forward_payload: ForwardPayload::Inline(Cell::empty_cell()),
            }
            .build()?;
            transfer_link(
                &wallet_friendly,
                JETTON_TRANSFER_TON + JETTON_DEPOSIT_FORWARD_TON,
                &body,
                None,
            )
        }
    };
    if g.json {
        return print_json(&json!({
            "project_id": a.id.to_string(),
            "escrow": escrow_raw.as_str(),
            "currency": c.code,
            "decimals": c.decimals,
            "deposit": deposit.to_string(),
            "deadline": deadline,
            "fee_bps": a.fee_bps,
            "newly_registered": newly,
            "deploy_link": deploy_link,
            "deposit_link": deposit_link,
        }));
    }
    let rows = vec![
        ("project", a.id.to_string()),
        ("escrow", out.addr(escrow_raw.as_str(), AddrKind::Contract)),
        ("client", out.addr(a.client.as_str(), AddrKind::Wallet)),
        ("currency", c.code.clone()),
        ("fee", format!("{} bps", a.fee_bps)),
        ("deadline", crate::common::rfc3339(i64::from(deadline))),
        (
            "registered",
            if newly {
                "signer allowlist, indexer, ledger".to_owned()
            } else {
                "already (same parameters)".to_owned()
            },
        ),
    ];
    println!("{}", out.kv_table(rows));
    let ton = Cur {
        code: "TON".into(),
        decimals: 9,
    };
    let i = |v: u128| i128::try_from(v).unwrap_or(i128::MAX);
    println!(
        "\n1. Deploy the escrow once ({}, stays as its gas float{}; this link carries its code, \
         too long for a QR code: open it in a wallet here):\n{deploy_link}",
        out.amount(i(ESCROW_FLOAT_TON), &ton),
        if currency.jetton_master.is_some() {
            "; it then learns its jetton wallet"
        } else {
            ""
        }
    );
    if currency.jetton_master.is_some() {
        println!(
            "\n2. Deposit {}: a jetton transfer from the client's jetton wallet (forward {}):",
            out.amount(i(deposit), &c),
            out.amount(i(JETTON_DEPOSIT_FORWARD_TON), &ton)
        );
    } else {
        println!(
            "\n2. Deposit {} (plus {} for the escrow's gas):",
            out.amount(i(deposit), &c),
            out.amount(i(TON_DEPOSIT_GAS), &ton)
        );
    }
    println!("{deposit_link}");
    if !a.no_qr {
        let code = qrcode::QrCode::new(deposit_link.as_bytes())
            .context("the deposit link does not fit a QR code")?;
        let qr = code
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build();
        println!("\n{qr}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_units("12.5", 9), Ok(12_500_000_000));
        assert_eq!(parse_units("3.25", 6), Ok(3_250_000));
        assert_eq!(parse_units("0.000001", 6), Ok(1));
        assert_eq!(parse_units("7", 0), Ok(7));
        assert_eq!(parse_units(".5", 9), Ok(500_000_000));
        for bad in ["", ".", "1.0000001", "-1", "1e3", "0", "1.2.3", "abc"] {
            assert!(parse_units(bad, 6).is_err(), "{bad}");
        }
    }
}
