//! Issue 14, point 7 (the writes' part), on the real in-process devnet with the indexer, the
//! payout signer and the ledger (`labelmint-settler-testkit`'s `Stack`): a v4r2 and a v5r1
//! test wallet (THROWAWAY keys) log in with ton_proof, create a TON and a test-USD project,
//! sign the returned `sendTransaction` requests as their wallet apps would (one external
//! message each) and send them through the liteserver; then the API shows the deposits, and
//! the transactions are found by the TEP-467 normalized hash of the BoCs sent.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use labelmint_api::auth::keys::{self, Scope};
use labelmint_api::config::WriteConfig;
use labelmint_devnet::wallet::Transfer;
use labelmint_indexer::lite::{Lite, LiteOptions};
use labelmint_settler_testkit::{Options, Stack, TON, USD, wait_for};
use serde_json::{Value, json};
use tycho_types::boc::Boc;
use tycho_types::cell::Cell;

use crate::support::{Resp, request, request_with};
use crate::wallets::TestWallet;

/// How long a step on the devnet may take.
const STEP: Duration = Duration::from_secs(90);

struct Api {
    base: String,
}

impl Api {
    async fn post(&self, path: &str, bearer: &str, key: &str, body: Option<Value>) -> Resp {
        request_with(
            "POST",
            &format!("{}{path}", self.base),
            Some(bearer),
            body.map(|b| b.to_string()),
            &[("idempotency-key", key)],
        )
        .await
    }

    async fn get(&self, path: &str, bearer: &str) -> Resp {
        request("GET", &format!("{}{path}", self.base), Some(bearer), None).await
    }

    /// A ton_proof session for `w`.
    async fn login(&self, w: &TestWallet) -> String {
        let p = request(
            "POST",
            &format!("{}/v1/auth/ton-proof/payload", self.base),
            None,
            None,
        )
        .await
        .ok();
        let payload = p["payload"].as_str().expect("payload").to_owned();
        let v = request(
            "POST",
            &format!("{}/v1/auth/ton-proof", self.base),
            None,
            Some(w.proof(&payload).to_string()),
        )
        .await
        .ok();
        assert_eq!(v["wallet"], w.kind.as_str(), "{v}");
        v["token"].as_str().expect("token").to_owned()
    }
}

async fn send(lite: &mut Lite, msg: &Cell) {
    let boc = Boc::encode(msg);
    lite.call("sendMessage", move |c| {
        let boc = boc.clone();
        Box::pin(async move { c.send_message(boc).await })
    })
    .await
    .expect("sendMessage");
}

#[tokio::test]
async fn v4r2_and_v5r1_wallets_create_and_fund_projects_and_find_their_transactions() {
    let stack = Stack::start(Options {
        projects: Vec::new(),
        ..Options::new("api_writes_devnet")
    })
    .await;
    let mut cfg = labelmint_api::Config::test(&stack.db.url);
    cfg.liteservers = stack.liteservers();
    cfg.writes = Some(WriteConfig {
        signer_key: stack.signer.public_key,
        treasury: stack.treasury.clone(),
        fee_bps: 250,
    });
    let server = labelmint_api::spawn(cfg).await.expect("spawn the API");
    let api = Api {
        base: format!("http://{}", server.addr()),
    };
    let admin = keys::create(&stack.pool, Scope::Admin, None, "point 7")
        .await
        .expect("admin key")
        .key
        .expose()
        .to_owned();
    let mut lite = Lite::new(
        stack.liteservers(),
        LiteOptions::default(),
        Arc::new(labelmint_indexer::metrics::Metrics::new(
            Duration::from_secs(60),
        )),
    )
    .expect("lite client");

    // THROWAWAY test wallets (keys [0x41; 32] and [0x42; 32]), funded by the faucet; the v5r1
    // one gets 1,000 test USD.
    let v4 = TestWallet::new("v4r2", 0x41);
    let v5 = TestWallet::new("v5r1", 0x42);
    let fund = |w: &TestWallet| Transfer {
        to: w.std_addr(),
        amount: 50 * TON,
        bounce: false,
        body: None,
        init: None,
        mode: 3,
    };
    stack
        .faucet_all(&[
            fund(&v4),
            fund(&v5),
            labelmint_devnet::faucet::usd_mint(&stack.minter, &v5.std_addr(), 1_000 * USD, 41)
                .expect("mint"),
        ])
        .await;
    wait_for("the wallets funded", STEP, || async {
        (stack.balance(&v4.std_addr()) >= 50 * TON
            && stack.balance(&v5.std_addr()) >= 50 * TON
            && stack.usd_balance(&v5.std_addr()) >= 1_000 * USD)
            .then_some(())
    })
    .await;

    let s4 = api.login(&v4).await;
    let s5 = api.login(&v5).await;
    let deadline = crate::wallets::now() + 30 * 86_400;

    // v4r2: a TON project, deployed and funded by one message.
    let ton = api
        .post(
            "/v1/projects",
            &s4,
            "v4-ton",
            Some(
                json!({"currency": "TON", "budget": "3", "deadline": deadline,
                        "title": "Point 7, TON"}),
            ),
        )
        .await
        .json(201);
    let ton_id = ton["project"]["project_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(ton["send_transaction"]["from"], v4.address.as_str());
    let ext_ton = v4.external(0, &ton["send_transaction"], true);
    send(&mut lite, &ext_ton).await;

    // v5r1: a test-USD project: the deploy first ...
    let usd = api
        .post(
            "/v1/projects",
            &s5,
            "v5-usd",
            Some(
                json!({"currency": "USD", "budget": "250", "deadline": deadline,
                        "title": "Point 7, USD"}),
            ),
        )
        .await
        .json(201);
    let usd_id = usd["project"]["project_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ext_deploy = v5.external(0, &usd["send_transaction"], true);
    send(&mut lite, &ext_deploy).await;
    // ... then, once the escrow learned its jetton wallet (indexed), the jetton transfer.
    let mut attempt = 0;
    let deposit = wait_for("the escrow's jetton wallet learned", STEP, || {
        attempt += 1;
        let key = format!("v5-usd-deposit-{attempt}");
        let (api, s5, usd_id) = (&api, &s5, &usd_id);
        async move {
            let r = api
                .post(
                    &format!("/v1/projects/{usd_id}/deposits"),
                    s5,
                    &key,
                    Some(json!({"amount": "250"})),
                )
                .await;
            if r.status == 409 {
                r.problem(409, "escrow-not-ready");
                return None;
            }
            Some(r.json(200))
        }
    })
    .await;
    // The transfer goes to the v5r1 wallet's own jetton wallet, as the minter computes it.
    let own = labelmint_abi::state_init::jetton_wallet_address(&v5.std_addr(), &stack.minter)
        .expect("jetton wallet");
    let m = &deposit["send_transaction"]["messages"][0];
    assert_eq!(
        labelmint_abi::address::parse_any(m["address"].as_str().expect("address"))
            .expect("address"),
        own
    );
    let ext_usd = v5.external(1, &deposit["send_transaction"], false);
    send(&mut lite, &ext_usd).await;

    // The API shows the deposits once indexed.
    for (id, bearer, want) in [
        (&ton_id, &s4, (3 * TON).to_string()),
        (&usd_id, &s5, (250 * USD).to_string()),
    ] {
        let v = wait_for("the deposit indexed", STEP, || async {
            stack.index_to_head().await;
            let v = api.get(&format!("/v1/projects/{id}"), bearer).await.ok();
            (v["deposited"] == want.as_str()).then_some(v)
        })
        .await;
        assert_eq!(v["account_status"], "active", "{v}");
        assert_eq!(v["budget"], want.as_str(), "{v}");
        assert_eq!(v["state"], "active");
    }

    // Each external message is found by the TEP-467 normalized hash of the BoC sent, and by
    // the BoC itself. Two of the three carry the wallet's StateInit (its first message).
    let mut normalized_only = 0;
    for (ext, wallet) in [(&ext_ton, &v4), (&ext_deploy, &v5), (&ext_usd, &v5)] {
        let norm = labelmint_abi::message_hash::normalized_hash(ext).expect("normalized hash");
        let v = wait_for("the wallet transaction indexed", STEP, || async {
            stack.index_to_head().await;
            let r = api
                .get(&format!("/v1/transactions/{}", hex::encode(norm)), &admin)
                .await;
            (r.status == 200).then(|| r.ok())
        })
        .await;
        // A message with a StateInit normalizes to another hash than its own; one without
        // (body in a reference, no source, no import fee) is its own normal form.
        let plain = ext.repr_hash().0;
        let how = if plain == norm {
            "message_hash"
        } else {
            "normalized_message_hash"
        };
        assert_eq!(v["matched_by"], how, "{v}");
        assert_eq!(v["in_msg"]["msg_hash"], hex::encode(plain), "{v}");
        assert_eq!(v["account"]["raw"], wallet.address.as_str(), "{v}");
        assert_eq!(v["aborted"], false, "{v}");
        let boc = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Boc::encode(ext));
        let by_boc = api
            .get(&format!("/v1/transactions/by-boc?boc={boc}"), &admin)
            .await
            .ok();
        assert_eq!(by_boc["hash"], v["hash"]);
        normalized_only += usize::from(plain != norm);
    }
    assert_eq!(
        normalized_only, 2,
        "the two deploying externals differ from their normal form"
    );
    server.shutdown().await.expect("shutdown");
}
