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
