//! Labeling through the HTTP API: a client's task set and uploads, workers' sessions taking
//! and answering tasks, every bad input a 4xx problem with its reason, consensus approving
//! into the ledger, the client's views and the worker's balance.

use std::time::Duration;

use labelmint_api::auth::keys::Scope;
use labelmint_api::auth::sessions;

use crate::support::{Resp, Seeded, TON_PROJECT, addr, request_with};

async fn session(s: &Seeded, n: u8) -> String {
    let (token, _) = sessions::create(&s.pool, addr(n).as_str(), "v4r2", Duration::from_secs(600))
        .await
        .expect("session");
    token.expose().to_owned()
}

async fn upload(s: &Seeded, bearer: &str, content_type: &str, body: &str) -> Resp {
    request_with(
        "POST",
        &format!("{}/v1/projects/{TON_PROJECT}/tasks", s.base),
        Some(bearer),
        Some(body.to_owned()),
        &[("content-type", content_type)],
    )
    .await
}

async fn next(s: &Seeded, bearer: &str) -> Resp {
    s.send_as(
        "POST",
        "/v1/tasks/next",
        Some(bearer),
        Some(serde_json::json!({"project_id": TON_PROJECT.to_string()})),
    )
    .await
}

async fn answer(s: &Seeded, bearer: &str, task: &str, label: serde_json::Value) -> Resp {
    s.send_as(
        "POST",
        &format!("/v1/tasks/{task}/submit"),
        Some(bearer),
        Some(label),
    )
    .await
}

#[tokio::test]
async fn labeling_over_http_answers_every_bad_input_with_a_4xx_problem() {
    let mut s = Seeded::new(0).await;
    s.respawn(|c| c.labeling = true).await;
    let client = session(&s, 230).await;
    let (ann, bob, cid) = (
        session(&s, 1).await,
        session(&s, 2).await,
        session(&s, 3).await,
    );
    let read_key = s.key(Scope::Read, None).await;
    let set = serde_json::json!({
        "labels": ["cat", "dog"], "overlap": 2, "max_overlap": 3, "price": "10000000",
        "gold_rate_per_mille": 0,
    });
    let path = format!("/v1/projects/{TON_PROJECT}/task-set");
    // Only the project's client writes its task set.
    s.send_as("POST", &path, Some(&ann), Some(set.clone()))
        .await
        .problem(403, "not-owner");
    s.send_as("POST", &path, Some(&read_key), Some(set.clone()))
        .await
        .problem(403, "insufficient-scope");
    let bad = serde_json::json!({"labels": ["cat"], "overlap": 2, "price": "1"});
    s.send_as("POST", &path, Some(&client), Some(bad))
        .await
        .problem(400, "invalid-parameter");
    let v = s
        .send_as("POST", &path, Some(&client), Some(set))
        .await
        .ok();
    assert_eq!(v["labels"], serde_json::json!(["cat", "dog"]));
    assert_eq!(
        (v["currency"].as_str(), v["decimals"].as_u64()),
        (Some("TON"), Some(9))
    );
    assert_eq!(v["reservation_secs"], 1800);
    let left: u128 = v["budget_left"]
        .as_str()
        .expect("budget")
        .parse()
        .expect("amount");
    assert!(left > 0, "the seeded deposit funds it: {v}");

    // Uploads: a bad row is a 422 naming its line; nothing is loaded.
    let p = upload(&s, &client, "text/csv", "name,url\na,1\nb\n")
        .await
        .problem(422, "invalid-upload");
    assert_eq!(p["line"], 3, "{p}");
    upload(&s, &client, "text/plain", "x")
        .await
        .problem(415, "unsupported-media-type");
    upload(&s, &ann, "text/csv", "name\na\n")
        .await
        .problem(403, "not-owner");
    let ok = upload(
        &s,
        &client,
        "application/x-ndjson",
        "{\"name\":\"img-1\",\"payload\":{\"url\":\"u1\"}}\n",
    )
    .await
    .ok();
    assert_eq!(ok["loaded"], 1);

    // Workers: a wallet session only.
    next(&s, &read_key).await.problem(403, "insufficient-scope");
    s.send_as(
        "POST",
        "/v1/tasks/next",
        Some(&ann),
        Some(serde_json::json!({"project": 1})),
    )
    .await
    .problem(400, "invalid-parameter");
    let t = next(&s, &ann).await.ok();
    let task = t["task_id"].as_str().expect("task id").to_owned();
    assert_eq!(t["payload"], serde_json::json!({"url": "u1"}));
    assert!(
        t["reserved_until"]
            .as_str()
            .is_some_and(|r| r.ends_with('Z')),
        "{t}"
    );
    // Overlap 2: bob gets the same task; cid gets nothing (204).
    assert_eq!(next(&s, &bob).await.ok()["task_id"], task.as_str());
    assert_eq!(next(&s, &cid).await.status, 204);

    // Bad input, each with its reason.
    answer(&s, &ann, "9999999", serde_json::json!({"label": "cat"}))
        .await
        .problem(404, "not-found");
    answer(&s, &ann, "zero", serde_json::json!({"label": "cat"}))
        .await
        .problem(400, "invalid-parameter");
    answer(&s, &ann, &task, serde_json::json!({"labl": "cat"}))
        .await
        .problem(400, "invalid-parameter");
    answer(&s, &ann, &task, serde_json::json!({"label": 7}))
        .await
        .problem(400, "invalid-parameter");
    answer(&s, &ann, &task, serde_json::json!({"label": "cow"}))
        .await
        .problem(422, "label-not-in-set");
    answer(&s, &cid, &task, serde_json::json!({"label": "cat"}))
        .await
        .problem(403, "not-reservation-holder");
    // bob's reservation runs out: as if its 30 minutes had passed (the server's clock is the
    // wall clock; the labeling crate's tests move an injected clock instead).
    sqlx::query(
        "WITH r AS (UPDATE labeling_reservations SET expires_ms = created_ms + 1 \
             WHERE worker = $1 RETURNING task_id, expires_ms) \
         UPDATE labeling_tasks t SET soonest_expiry_ms = r.expires_ms FROM r WHERE t.id = r.task_id",
    )
    .bind(addr(2).as_str())
    .execute(&s.pool)
    .await
    .expect("expire");
    answer(&s, &bob, &task, serde_json::json!({"label": "cat"}))
        .await
        .problem(409, "reservation-expired");
    // ann answers; the same answer again is the same submission; another label is refused.
    let a1 = answer(&s, &ann, &task, serde_json::json!({"label": "cat"}))
        .await
        .ok();
    let a2 = answer(&s, &ann, &task, serde_json::json!({"label": "cat"}))
        .await
        .ok();
    assert_eq!(
        (a1["replayed"].as_bool(), a2["replayed"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(a1["submission_id"], a2["submission_id"]);
    answer(&s, &ann, &task, serde_json::json!({"label": "dog"}))
        .await
        .problem(409, "answer-conflict");
    let skip = format!("/v1/tasks/{task}/skip");
    s.send_as("POST", &skip, Some(&ann), None)
        .await
        .problem(409, "already-done");
    // cid takes the task bob lost and agrees: the task is decided, both answers approved.
    assert_eq!(next(&s, &cid).await.ok()["task_id"], task.as_str());
    answer(&s, &cid, &task, serde_json::json!({"label": "cat"}))
        .await
        .ok();
    let mut decided = false;
    for _ in 0..100 {
        let p = s
            .get_as(
                &format!("/v1/projects/{TON_PROJECT}/progress"),
                Some(&client),
            )
            .await
            .ok();
        if p["decided"] == 1 {
            assert_eq!(
                (p["tasks"].as_u64(), p["answers"].as_u64()),
                (Some(1), Some(2))
            );
            decided = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(decided, "the background consensus pass decided the task");
    // The decision is committed before the engine approves: wait for the two approvals.
    let mut earned = 0i64;
    for _ in 0..100 {
        earned = sqlx::query_scalar(
            "SELECT count(*) FROM ledger_earnings WHERE decision_id IN \
             (SELECT decision_id FROM consensus_decisions) AND amount = 10000000",
        )
        .fetch_one(&s.pool)
        .await
        .expect("earnings");
        if earned == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(earned, 2, "both agreeing answers approved");

    // Views: export, quality, history (the client sees all, a worker only their own).
    let csv = s
        .get_as(
            &format!("/v1/projects/{TON_PROJECT}/labels?format=csv"),
            Some(&client),
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    assert!(
        csv.body
            .starts_with("name,label,confidence,answers\nimg-1,cat,"),
        "{}",
        csv.body
    );
    let jsonl = s
        .get_as(&format!("/v1/projects/{TON_PROJECT}/labels"), Some(&client))
        .await;
    assert!(
        jsonl
            .body
            .starts_with("{\"name\":\"img-1\",\"label\":\"cat\""),
        "{}",
        jsonl.body
    );
    s.get_as(
        &format!("/v1/projects/{TON_PROJECT}/labels?format=xml"),
        Some(&client),
    )
    .await
    .problem(400, "invalid-parameter");
    s.get_as(&format!("/v1/projects/{TON_PROJECT}/progress"), Some(&ann))
        .await
        .problem(403, "not-owner");
    let q = s
        .get_as(
            &format!("/v1/projects/{TON_PROJECT}/worker-quality"),
            Some(&client),
        )
        .await
        .ok();
    assert_eq!(q.as_array().map(Vec::len), Some(2));
    let all = s
        .get_as(&format!("/v1/tasks/{task}/history"), Some(&client))
        .await
        .ok();
    let events: Vec<&str> = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(
        events.contains(&"decided") && events.iter().filter(|e| **e == "answered").count() == 2,
        "{events:?}"
    );
    let mine = s
        .get_as(&format!("/v1/tasks/{task}/history"), Some(&bob))
        .await
        .ok();
    assert!(
        mine["events"]
            .as_array()
            .expect("events")
            .iter()
            .all(|e| e["worker"] == addr(2).as_str()),
        "{mine}"
    );

    // The worker's balance and a withdrawal.
    let b = s
        .get_as(
            &format!("/v1/workers/{}/balance", addr(3).as_str()),
            Some(&cid),
        )
        .await
        .ok();
    let ton = b["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .find(|x| x["currency"] == "TON")
        .expect("TON")
        .clone();
    assert_eq!(ton["approved"], "10000000");
    s.get_as(
        &format!("/v1/workers/{}/balance", addr(3).as_str()),
        Some(&ann),
    )
    .await
    .problem(403, "not-owner");
    let w = s
        .send_as(
            "POST",
            &format!("/v1/workers/{}/withdrawals", addr(3).as_str()),
            Some(&cid),
            Some(serde_json::json!({"currency": "TON"})),
        )
        .await
        .json(202);
    assert_eq!(w["amount"], "10000000");
    s.send_as(
        "POST",
        &format!("/v1/workers/{}/withdrawals", addr(3).as_str()),
        Some(&cid),
        Some(serde_json::json!({"currency": "USD"})),
    )
    .await
    .problem(422, "withdrawal-refused");
}

#[tokio::test]
async fn every_labeling_route_needs_a_credential() {
    let mut s = Seeded::new(0).await;
    s.respawn(|c| c.labeling = true).await;
    let p = format!("/v1/projects/{TON_PROJECT}");
    let w = format!("/v1/workers/{}", addr(1).as_str());
    let routes = [
        ("POST", "/v1/tasks/next".to_owned()),
        ("POST", "/v1/tasks/1/submit".to_owned()),
        ("POST", "/v1/tasks/1/skip".to_owned()),
        ("POST", "/v1/tasks/1/release".to_owned()),
        ("GET", "/v1/tasks/1/history".to_owned()),
        ("POST", format!("{p}/task-set")),
        ("GET", format!("{p}/task-set")),
        ("POST", format!("{p}/tasks")),
        ("GET", format!("{p}/progress")),
        ("GET", format!("{p}/worker-quality")),
        ("GET", format!("{p}/labels")),
        ("GET", format!("{w}/balance")),
        ("POST", format!("{w}/withdrawals")),
        ("POST", format!("{w}/payout-threshold")),
    ];
    for (method, path) in &routes {
        s.send_as(method, path, None, None)
            .await
            .problem(401, "authentication-required");
    }
    // A read key reads a project's views, never takes tasks nor writes task sets.
    let read_key = s.key(Scope::Read, None).await;
    s.get_as(&format!("{p}/progress"), Some(&read_key))
        .await
        .problem(404, "not-found");
    s.send_as("POST", "/v1/tasks/1/skip", Some(&read_key), None)
        .await
        .problem(403, "insufficient-scope");
}

#[tokio::test]
async fn labeling_routes_answer_503_when_the_server_does_not_run_labeling() {
    let s = Seeded::new(0).await;
    let ann = session(&s, 1).await;
    next(&s, &ann).await.problem(503, "labeling-unavailable");
}
