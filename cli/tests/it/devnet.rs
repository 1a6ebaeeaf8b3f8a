//! `labelmint devnet ...` against a real devnet started in-process (its liteserver on port 0,
//! 200 ms blocks, state folder in a temp dir): a new wallet funded by the faucet, an escrow
//! deployed with `project create`'s deploy link, and a real escrow_deposit.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Run, Seeded, addr};

/// Runs the binary off the runtime's threads (the devnet serves on them meanwhile).
async fn cli(s: &Seeded, args: Vec<String>) -> Run {
    let url = s.url.clone();
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::support::labelmint_with(&a, &[("DATABASE_URL", url.as_str())])
    })
    .await
    .expect("join")
}

fn v(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Polls `devnet wallet balance` until `done` holds (15 s at most).
async fn wait_balance(
    s: &Seeded,
    dir: &str,
    address: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let r = cli(
            s,
            v(&[
                "devnet",
                "wallet",
                "balance",
                address,
                "--devnet-dir",
                dir,
                "--json",
            ]),
        )
        .await;
        let j = r.json();
        if done(&j) {
            return j;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "still {j}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn nano(j: &Value) -> u128 {
    j["balance"]
        .as_str()
        .and_then(|b| b.parse().ok())
        .expect("balance")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_wallet_deploys_an_escrow_and_deposits_into_it() {
    let state = tempfile::tempdir().expect("tempdir");
    let _devnet = labelmint_devnet::spawn(labelmint_devnet::Config {
        state_dir: Some(state.path().to_path_buf()),
        block_time: Some(Duration::from_millis(200)),
        ..labelmint_devnet::Config::test()
    })
    .await
    .expect("devnet");
    let dir = state.path().to_str().expect("utf-8").to_owned();
    let s = Seeded::new().await;
    labelmint_payout_signer::store::migrate(&s.pool)
        .await
        .expect("signer migrations");

    // A new wallet, funded by the faucet.
    let files = tempfile::tempdir().expect("tempdir");
    let wfile = files.path().join("client.json");
    let wpath = wfile.to_str().expect("utf-8").to_owned();
    let w = cli(
        &s,
        v(&["devnet", "wallet", "new", "--out", &wpath, "--json"]),
    )
    .await
    .json();
    let me = w["address"].as_str().expect("address").to_owned();
    let again = cli(&s, v(&["devnet", "wallet", "new", "--out", &wpath])).await;
    assert_eq!(again.code, 2, "never overwrites a seed: {}", again.stderr);
    let r = cli(
        &s,
        v(&[
            "devnet",
            "wallet",
            "send",
            "--faucet",
            "--to",
            &me,
            "--amount",
            "20",
            "--devnet-dir",
            &dir,
        ]),
    )
    .await;
    assert!(r.ok().contains("sent from"), "{}", r.stdout);
    let funded = wait_balance(&s, &dir, &me, |j| nano(j) >= 20_000_000_000).await;
    assert_eq!(funded["status"], "uninit");

    // A project whose client is that wallet; its escrow deployed by the deploy link.
    let created = cli(
        &s,
        v(&[
            "project",
            "create",
            "--id",
            "401",
            "--client",
            &me,
            "--signer-key",
            &hex::encode([5u8; 32]),
            "--treasury",
            addr(231).as_str(),
            "--fee-bps",
            "300",
            "--deposit",
            "12.5",
            "--json",
        ]),
    )
    .await
    .json();
    let escrow = created["escrow"].as_str().expect("escrow").to_owned();
    let deploy = created["deploy_link"]
        .as_str()
        .expect("deploy link")
        .to_owned();
    // Not deployed yet: a deposit is refused before anything is sent.
    let early = cli(
        &s,
        v(&[
            "devnet",
            "deposit",
            "401",
            "12.5",
            "--wallet",
            &wpath,
            "--devnet-dir",
            &dir,
        ]),
    )
    .await;
    assert_eq!(early.code, 1);
    assert!(early.stderr.contains("deploy it first"), "{}", early.stderr);
    cli(
        &s,
        v(&[
            "devnet",
            "wallet",
            "send",
            "--wallet",
            &wpath,
            "--link",
            &deploy,
            "--devnet-dir",
            &dir,
        ]),
    )
    .await
    .ok();
    let deployed = wait_balance(&s, &dir, &escrow, |j| j["status"] == "active").await;
    let float = nano(&deployed);
    assert!(float > 0 && float <= 100_000_000, "{deployed}");

    // The deposit: 12.5 TON credited (plus the gas float).
    let d = cli(
        &s,
        v(&[
            "devnet",
            "deposit",
            "401",
            "12.5",
            "--wallet",
            &wpath,
            "--devnet-dir",
            &dir,
            "--json",
        ]),
    )
    .await
    .json();
    assert_eq!(
        (d["amount"].as_str(), d["escrow"].as_str()),
        (Some("12500000000"), Some(escrow.as_str()))
    );
    let after = wait_balance(&s, &dir, &escrow, |j| nano(j) >= float + 12_500_000_000).await;
    assert!(nano(&after) <= float + 12_510_000_000, "{after}");
    let human = cli(
        &s,
        v(&["devnet", "wallet", "balance", &escrow, "--devnet-dir", &dir]),
    )
    .await;
    assert!(
        human.ok().contains(" TON") && human.stdout.contains("(active)"),
        "{}",
        human.stdout
    );

    // Bad input and a missing devnet.
    let r = cli(
        &s,
        v(&[
            "devnet",
            "deposit",
            "401",
            "1.0000000001",
            "--faucet",
            "--devnet-dir",
            &dir,
        ]),
    )
    .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = cli(
        &s,
        v(&[
            "devnet",
            "wallet",
            "balance",
            &me,
            "--devnet-dir",
            "/nonexistent",
        ]),
    )
    .await;
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("global-config.json"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jetton_deposit_reaches_the_escrows_jetton_wallet() {
    let state = tempfile::tempdir().expect("tempdir");
    let _devnet = labelmint_devnet::spawn(labelmint_devnet::Config {
        state_dir: Some(state.path().to_path_buf()),
        block_time: Some(Duration::from_millis(200)),
        ..labelmint_devnet::Config::test()
    })
    .await
    .expect("devnet");
    let dir = state.path().to_str().expect("utf-8").to_owned();
    let s = Seeded::new().await;
    labelmint_payout_signer::store::migrate(&s.pool)
        .await
        .expect("signer migrations");
    // The devnet's own test USD minter as a ledger currency, with a vault.
    let faucet: Value = serde_json::from_str(
        &std::fs::read_to_string(state.path().join("faucet.json")).expect("faucet.json"),
    )
    .expect("json");
    let minter =
        labelmint_ledger::RawAddress::parse(faucet["jetton_minter"].as_str().expect("minter"))
            .expect("raw minter");
    let tusd = labelmint_ledger::CurrencyCode::new("TUSD").expect("code");
    s.ledger
        .register_currency(&labelmint_ledger::Currency {
            code: tusd.clone(),
            decimals: 6,
            jetton_master: Some(minter.clone()),
        })
        .await
        .expect("currency");
    s.ledger
        .register_vault(&labelmint_ledger::Vault {
            currency: tusd,
            address: addr(252),
        })
        .await
        .expect("vault");

    // A client wallet with TON and 100 test USD (minted by the faucet, the jetton admin).
    let files = tempfile::tempdir().expect("tempdir");
    let wpath = files
        .path()
        .join("client.json")
        .to_str()
        .expect("utf-8")
        .to_owned();
    let me = cli(
        &s,
        v(&["devnet", "wallet", "new", "--out", &wpath, "--json"]),
    )
    .await
    .json()["address"]
        .as_str()
        .expect("address")
        .to_owned();
    cli(
        &s,
        v(&[
            "devnet",
            "wallet",
            "send",
            "--faucet",
            "--to",
            &me,
            "--amount",
            "5",
            "--devnet-dir",
            &dir,
        ]),
    )
    .await
    .ok();
    wait_balance(&s, &dir, &me, |j| nano(j) >= 5_000_000_000).await;
    let me_std = tycho_types::models::StdAddr::new(
        0,
        tycho_types::cell::HashBytes(
            labelmint_ledger::RawAddress::parse(&me)
                .expect("raw")
                .account(),
        ),
    );
    labelmint_devnet::client::faucet(
        state.path(),
        &me_std,
        labelmint_devnet::client::FaucetAmount::Usd(100_000_000),
    )
    .await
    .expect("mint test USD");
    let jetton = |j: &Value| {
        j["jetton_balance"]
            .as_str()
            .and_then(|b| b.parse::<u128>().ok())
            .unwrap_or(0)
    };
    let started = Instant::now();
    loop {
        let j = cli(
            &s,
            v(&[
                "devnet",
                "wallet",
                "balance",
                &me,
                "--jetton-master",
                minter.as_str(),
                "--devnet-dir",
                &dir,
                "--json",
            ]),
        )
        .await
        .json();
        if jetton(&j) == 100_000_000 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no test USD yet: {j}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The jetton escrow: deployed by its deploy link, then a deposit of 3.25 test USD.
    let created = cli(
        &s,
        v(&[
            "project",
            "create",
            "--id",
            "402",
            "--currency",
            "TUSD",
            "--client",
            &me,
            "--signer-key",
            &hex::encode([5u8; 32]),
            "--treasury",
            addr(231).as_str(),
            "--fee-bps",
            "300",
            "--deposit",
            "3.25",
            "--json",
        ]),
    )
    .await
    .json();
    let escrow = created["escrow"].as_str().expect("escrow").to_owned();
    cli(
        &s,
        v(&[
            "devnet",
            "wallet",
            "send",
            "--wallet",
            &wpath,
            "--link",
            created["deploy_link"].as_str().expect("deploy"),
            "--devnet-dir",
            &dir,
        ]),
    )
    .await
    .ok();
    wait_balance(&s, &dir, &escrow, |j| j["status"] == "active").await;
    // Let the escrow learn its jetton wallet (TEP-89 round trip with the minter).
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let d = cli(
        &s,
        v(&[
            "devnet",
            "deposit",
            "402",
            "3.25",
            "--wallet",
            &wpath,
            "--devnet-dir",
            &dir,
            "--json",
        ]),
    )
    .await
    .json();
    assert_eq!(
        (
            d["amount"].as_str(),
            d["currency"].as_str(),
            d["decimals"].as_u64()
        ),
        (Some("3250000"), Some("TUSD"), Some(6))
    );
    let started = Instant::now();
    loop {
        let j = cli(
            &s,
            v(&[
                "devnet",
                "wallet",
                "balance",
                &escrow,
                "--jetton-master",
                minter.as_str(),
                "--devnet-dir",
                &dir,
                "--json",
            ]),
        )
        .await
        .json();
        if jetton(&j) == 3_250_000 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the escrow holds no test USD yet: {j}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mine = cli(
        &s,
        v(&[
            "devnet",
            "wallet",
            "balance",
            &me,
            "--jetton-master",
            minter.as_str(),
            "--devnet-dir",
            &dir,
            "--json",
        ]),
    )
    .await
    .json();
    assert_eq!(jetton(&mine), 100_000_000 - 3_250_000);
}
