//! `labelmint project create`: the escrow of its parameters, made and registered by
//! `labelmint_api::escrow::create_escrow` (the same function `POST /v1/projects` calls),
//! which puts it on the signer's allowlist, the indexer's watched accounts and the ledger, and prints
//! a deposit link (`ton://transfer/...`) with a QR code.
//!
//! Every step is idempotent (a re-run with the same parameters changes nothing), and a
//! registration that differs from an earlier one is refused by its owner (the signer's allowlist
//! never changes silently; the ledger refuses another escrow for a registered project id).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Args;
use labelmint_abi::escrow::{JETTON_DEPOSIT_FORWARD_TON, MAX_FEE_BPS};
use labelmint_abi::state_init::jetton_wallet_address;
use labelmint_api::escrow::plan::{ESCROW_FLOAT_TON, Funding};
use labelmint_api::escrow::register::{raw_addr, std_addr};
use labelmint_api::escrow::{NewEscrow, create_escrow};
use labelmint_ledger::{CurrencyCode, Ledger, RawAddress};
use serde_json::json;
use tycho_types::boc::Boc;
use tycho_types::cell::Cell;

use crate::common::{
    AddrKind, Cur, Global, UsageError, cur, currencies, parse_address, print_json,
};
use crate::payout::parse_currency;

pub(crate) use labelmint_api::escrow::parse_units;
pub(crate) use labelmint_api::escrow::plan::{JETTON_TRANSFER_TON, TON_DEPOSIT_GAS};

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

fn b64(cell: &Cell) -> String {
    URL_SAFE_NO_PAD.encode(Boc::encode(cell))
}

/// `ton://transfer/<address>?amount=<nanoTON>&bin=<body>[&init=<StateInit>]`.
fn transfer_link(f: &Funding, testnet: bool) -> String {
    let to = labelmint_abi::address::friendly(&f.to, f.bounce, testnet);
    let mut link = format!(
        "ton://transfer/{to}?amount={}&bin={}",
        f.amount,
        b64(&f.body)
    );
    if let Some(init) = &f.state_init {
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
    // Midnight UTC, so that a re-run on the same day computes the same escrow (the deadline is
    // one of the parameters that fix its address).
    let deadline = u32::try_from((now() / 86_400 + u64::from(a.deadline_days)) * 86_400)
        .map_err(|_| anyhow!("the deadline does not fit uint32"))?;
    let reg = create_escrow(
        ledger.pool(),
        &NewEscrow {
            project_id: a.id,
            client: std_addr(&a.client)?,
            currency: a.currency.clone(),
            deadline,
            fee_bps: a.fee_bps,
            treasury: std_addr(&a.treasury)?,
            signer_key: a.signer_key,
        },
    )
    .await
    .context("create and register the escrow")?;
    let newly = reg.newly;
    let plan = &reg.plan;
    let escrow_raw = raw_addr(&plan.address);
    let query_id = now();
    // Deploying carries the escrow's code (a few KB: too long for a QR code), so it is its own
    // link; the deposit link is short.
    let deploy_link = transfer_link(&plan.deploy(query_id)?, out.testnet());
    let deposit_link = match &reg.currency.jetton_master {
        None => transfer_link(&plan.ton_deposit(query_id, deposit, false)?, out.testnet()),
        Some(master) => {
            let client_wallet = jetton_wallet_address(&plan.params.client, &std_addr(master)?)?;
            transfer_link(
                &plan.jetton_deposit(query_id, deposit, client_wallet)?,
                out.testnet(),
            )
        }
    };
    let currency = reg.currency;
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
