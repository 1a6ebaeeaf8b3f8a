//! Auth: API keys (hashed at rest, rotate, revoke, scopes), wallet sessions, the
//! authorization matrix of every route, and the bearer scheme in the OpenAPI document.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use labelmint_api::auth::keys::Scope;
use labelmint_api::auth::sessions;
use serde_json::json;

use crate::support::{Seeded, TON_PROJECT, addr};

#[tokio::test]
async fn api_keys_are_hashed_rotated_revoked_and_scoped() {
    let s = Seeded::new(0).await;
    let admin = Some(s.admin_key.as_str());
    // Create through the admin route: the key is in the answer once.
    let r = s
        .send_as(
            "POST",
            "/v1/admin/api-keys",
            admin,
            Some(json!({"scope": "read", "label": "dashboard"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let key = made["key"].as_str().expect("key").to_owned();
    let id = made["key_id"].as_str().expect("id").to_owned();
    assert!(key.starts_with(&format!("lmk_{id}_")), "{key}");
    assert_eq!(made["scope"], "read");
    s.get_as("/v1/projects", Some(&key)).await.ok();

    // Hashed at rest: neither the key nor its secret part is anywhere in the table.
    let secret = key.rsplit('_').next().expect("secret").to_owned();
    let dump: Vec<String> = sqlx::query_scalar("SELECT row_to_json(k)::text FROM api_keys k")
        .fetch_all(&s.pool)
        .await
        .expect("dump");
    assert_eq!(dump.len(), 3, "admin, read and the new one");
    for row in &dump {
        assert!(!row.contains(&secret) && !row.contains(&key), "{row}");
    }
    // The list shows no secret either.
    let list = s.get("/v1/admin/api-keys").await;
    assert!(!list.body.contains(&secret), "{}", list.body);
    assert_eq!(list.ok().as_array().map(Vec::len), Some(3));

    // A wrong secret with a real id, or a made-up key: 401 invalid-credentials.
    let forged = format!("lmk_{id}_{}", "A".repeat(43));
    s.get_as("/v1/projects", Some(&forged))
        .await
        .problem(401, "invalid-credentials");
    for bad in ["nonsense", "lms_short", &format!("lmk_{id}")] {
        s.get_as("/v1/projects", Some(bad))
            .await
            .problem(401, "invalid-credentials");
    }
    let r = crate::support::request("GET", &format!("{}/v1/projects", s.base), None, None).await;
    r.problem(401, "authentication-required");

    // Rotate: the old text fails, the new one works, same id.
    let r = s
        .send_as(
            "POST",
            &format!("/v1/admin/api-keys/{id}/rotate"),
            admin,
            None,
        )
        .await;
    let rotated: serde_json::Value = r.ok();
    let new_key = rotated["key"].as_str().expect("key").to_owned();
    assert_eq!(rotated["key_id"], id.as_str());
    assert_ne!(new_key, key);
    s.get_as("/v1/projects", Some(&key))
        .await
        .problem(401, "invalid-credentials");
    s.get_as("/v1/projects", Some(&new_key)).await.ok();

    // Revoke: it fails; rotating a revoked key is a 404.
    let r = s
        .send_as("DELETE", &format!("/v1/admin/api-keys/{id}"), admin, None)
        .await;
    assert!(r.ok()["revoked_at"].is_string());
    s.get_as("/v1/projects", Some(&new_key))
        .await
        .problem(401, "invalid-credentials");
    s.send_as(
        "POST",
        &format!("/v1/admin/api-keys/{id}/rotate"),
        admin,
        None,
    )
    .await
    .problem(404, "not-found");
    s.send_as("DELETE", "/v1/admin/api-keys/0123456789abcdef", admin, None)
        .await
        .problem(404, "not-found");
    s.send_as("DELETE", "/v1/admin/api-keys/XYZ", admin, None)
        .await
        .problem(400, "invalid-parameter");

    // Scopes: a read key cannot manage keys; bad bodies are 400s naming the field.
    s.send_as(
        "POST",
        "/v1/admin/api-keys",
        Some(&s.read_key),
        Some(json!({"scope": "admin", "label": "escalate"})),
    )
    .await
    .problem(403, "insufficient-scope");
    for (body, param) in [
        (json!({"scope": "client", "label": "no client"}), "body"),
        (
            json!({"scope": "read", "label": "x", "client": "0:00"}),
            "client",
        ),
        (json!({"scope": "root", "label": "x"}), "scope"),
        (json!({"scope": "read"}), "body"),
        (json!({"scope": "read", "label": "x", "extra": 1}), "body"),
        (json!({"scope": "read", "label": "  "}), "body"),
    ] {
        let p = s
            .send_as("POST", "/v1/admin/api-keys", admin, Some(body.clone()))
            .await
            .problem(400, "invalid-parameter");
        assert_eq!(p["parameter"], param, "{body}: {p}");
    }
    let r = crate::support::request(
        "POST",
        &format!("{}/v1/admin/api-keys", s.base),
        admin,
        Some("{not json".into()),
    )
    .await;
    r.problem(400, "invalid-parameter");

    // A client key sees its client's projects only.
    let r = s
        .send_as(
            "POST",
            "/v1/admin/api-keys",
            admin,
            Some(json!({"scope": "client", "label": "acme", "client": addr(230).as_str()})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let client_key = serde_json::from_str::<serde_json::Value>(&r.body).expect("json")["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let page = s.get_as("/v1/projects", Some(&client_key)).await.ok();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn sessions_expire_and_log_out() {
    let s = Seeded::new(0).await;
    let (token, _) = sessions::create(&s.pool, addr(230).as_str(), "v4r2", Duration::from_secs(60))
        .await
        .expect("session");
    let token = token.expose().to_owned();
    assert!(token.starts_with("lms_"));
    // Stored hashed.
    let dump: Vec<String> = sqlx::query_scalar("SELECT row_to_json(x)::text FROM api_sessions x")
        .fetch_all(&s.pool)
        .await
        .expect("dump");
    assert!(dump.iter().all(|r| !r.contains(&token[4..])), "{dump:?}");
    s.get_as("/v1/projects", Some(&token)).await.ok();
    // Logout ends it; a second logout is 401.
    let r = s
        .send_as("DELETE", "/v1/auth/session", Some(&token), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    s.get_as("/v1/projects", Some(&token))
        .await
        .problem(401, "invalid-credentials");
    s.send_as("DELETE", "/v1/auth/session", Some(&token), None)
        .await
        .problem(401, "invalid-credentials");
    s.send_as("DELETE", "/v1/auth/session", Some(&s.admin_key), None)
        .await
        .problem(401, "invalid-credentials");
    // Expired: refused.
    let (old, _) = sessions::create(&s.pool, addr(230).as_str(), "v4r2", Duration::from_secs(60))
        .await
        .expect("session");
    sqlx::query("UPDATE api_sessions SET expires_at = now() - interval '1 second'")
        .execute(&s.pool)
        .await
        .expect("expire");
    s.get_as("/v1/projects", Some(old.expose()))
        .await
        .problem(401, "invalid-credentials");
}

/// Who calls, in the matrix's order.
const WHO: [&str; 8] = [
    "anonymous",
    "read key",
    "client key",
    "admin key",
    "client session owner",
    "client session other",
    "worker session owner",
    "worker session other",
];

#[tokio::test]
async fn authorization_matrix() {
    let s = Seeded::new(0).await;
    let session = |a: u8| {
        let pool = s.pool.clone();
        async move {
            sessions::create(&pool, addr(a).as_str(), "v4r2", Duration::from_secs(600))
                .await
                .expect("session")
                .0
                .expose()
                .to_owned()
        }
    };
    // The client of projects 101 and 201 is addr(230); ann, addr(1), is paid in the TON batch.
    let bearers: [Option<String>; 8] = [
        None,
        Some(s.read_key.clone()),
        Some(s.key(Scope::Client, Some(addr(230).as_str())).await),
        Some(s.admin_key.clone()),
        Some(session(230).await),
        Some(session(231).await),
        Some(session(1).await),
        Some(session(4).await),
    ];
    let ton_batch = s.ton_batch.0;
    let usd_batch = s.usd_batch.0;
    let tx = hex::encode(s.release_tx);
    let boc = s.release_boc().await;
    let ann = addr(1);
    // Expected status per WHO column.
    let all = [401, 200, 200, 200, 200, 200, 200, 200];
    let full_read = [401, 200, 403, 200, 403, 403, 403, 403];
    let client_owned = [401, 200, 200, 200, 200, 403, 403, 403];
    let worker_owned = [401, 200, 403, 200, 403, 403, 200, 403];
    let admin_only = [401, 403, 403, 200, 403, 403, 403, 403];
    let public = [200; 8];
    let cases: Vec<(String, &str, [u16; 8])> = vec![
        ("/v1/projects".into(), "/v1/projects", all),
        (
            format!("/v1/projects/{TON_PROJECT}"),
            "/v1/projects/{project_id}",
            client_owned,
        ),
        (
            format!("/v1/projects/{TON_PROJECT}/events"),
            "/v1/projects/{project_id}/events",
            client_owned,
        ),
        ("/v1/vaults".into(), "/v1/vaults", full_read),
        (
            format!("/v1/vaults/{}", addr(250).as_str()),
            "/v1/vaults/{address}",
            full_read,
        ),
        ("/v1/payouts/batches".into(), "/v1/payouts/batches", all),
        // The TON batch pays ann out of the client's project 101.
        (
            format!("/v1/payouts/batches/{ton_batch}"),
            "/v1/payouts/batches/{id}",
            [401, 200, 200, 200, 200, 403, 200, 403],
        ),
        // The USD batch pays cat (not ann) out of the client's project 201.
        (
            format!("/v1/payouts/batches/{usd_batch}"),
            "/v1/payouts/batches/{id}",
            client_owned,
        ),
        (
            format!("/v1/workers/{}/earnings", ann.as_str()),
            "/v1/workers/{address}/earnings",
            worker_owned,
        ),
        (
            format!("/v1/workers/{}/payouts", ann.as_str()),
            "/v1/workers/{address}/payouts",
            worker_owned,
        ),
        (
            format!("/v1/transactions/{tx}"),
            "/v1/transactions/{hash}",
            full_read,
        ),
        (
            format!("/v1/transactions/by-boc?boc={boc}"),
            "/v1/transactions/by-boc",
            full_read,
        ),
        ("/v1/indexer/status".into(), "/v1/indexer/status", all),
        (
            "/v1/admin/api-keys".into(),
            "/v1/admin/api-keys",
            admin_only,
        ),
        ("/health".into(), "/health", public),
        ("/ready".into(), "/ready", public),
        ("/metrics".into(), "/metrics", public),
        ("/openapi.json".into(), "/openapi.json", public),
    ];
    let mut failures = Vec::new();
    for (path, _, want) in &cases {
        for (i, bearer) in bearers.iter().enumerate() {
            let r = s.get_as(path, bearer.as_deref()).await;
            if r.status != want[i] {
                failures.push(format!(
                    "GET {path} as {}: {} ({})",
                    WHO[i], r.status, r.body
                ));
                continue;
            }
            let slug = match r.status {
                401 => Some("authentication-required"),
                403 => Some(
                    if path.contains("/vaults")
                        || path.contains("/transactions")
                        || path.contains("/admin")
                    {
                        "insufficient-scope"
                    } else {
                        "not-owner"
                    },
                ),
                _ => None,
            };
            if let Some(slug) = slug {
                r.problem(want[i], slug);
            }
        }
    }
    // The key routes' writes, for each caller (on a throwaway key).
    let spare = s.key(Scope::Read, None).await;
    let spare_id = spare[4..20].to_owned();
    let writes: [(&str, String, Option<serde_json::Value>, [u16; 8]); 3] = [
        (
            "POST",
            "/v1/admin/api-keys".into(),
            Some(json!({"scope": "read", "label": "matrix"})),
            [401, 403, 403, 201, 403, 403, 403, 403],
        ),
        (
            "POST",
            format!("/v1/admin/api-keys/{spare_id}/rotate"),
            None,
            admin_only,
        ),
        (
            "DELETE",
            format!("/v1/admin/api-keys/{spare_id}"),
            None,
            admin_only,
        ),
    ];
    for (method, path, body, want) in &writes {
        for (i, bearer) in bearers.iter().enumerate() {
            let r = s
                .send_as(method, path, bearer.as_deref(), body.clone())
                .await;
            if r.status != want[i] {
                failures.push(format!(
                    "{method} {path} as {}: {} ({})",
                    WHO[i], r.status, r.body
                ));
            } else if r.status == 403 {
                r.problem(403, "insufficient-scope");
            } else if r.status == 401 {
                r.problem(401, "authentication-required");
            }
        }
    }
    // The event streams: opened (and closed at once) for each caller.
    let streams: [(String, &str, [u16; 8]); 2] = [
        (
            format!("/v1/projects/{TON_PROJECT}/stream"),
            "/v1/projects/{project_id}/stream",
            client_owned,
        ),
        (
            format!("/v1/workers/{}/stream", ann.as_str()),
            "/v1/workers/{address}/stream",
            worker_owned,
        ),
    ];
    for (path, _, want) in &streams {
        for (i, bearer) in bearers.iter().enumerate() {
            let url = format!("{}{path}", s.base);
            match crate::sse::open(&url, bearer.as_deref(), None).await {
                Ok(_) if want[i] == 200 => {}
                Ok(_) => failures.push(format!("GET {path} as {}: 200", WHO[i])),
                Err(r) if r.status == want[i] => {
                    let slug = if r.status == 401 {
                        "authentication-required"
                    } else {
                        "not-owner"
                    };
                    r.problem(want[i], slug);
                }
                Err(r) => failures.push(format!(
                    "GET {path} as {}: {} ({})",
                    WHO[i], r.status, r.body
                )),
            }
        }
    }
    // Webhooks: a read key may not use them; a scoped caller manages its own endpoints only
    // (the client's, made by the client key below); an admin all of them.
    let made = s
        .send_as(
            "POST",
            "/v1/webhooks",
            bearers[2].as_deref(),
            Some(json!({"url": "http://127.0.0.1:9/hook"})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let made: serde_json::Value = serde_json::from_str(&made.body).expect("json");
    let ep = made["endpoint_id"]
        .as_str()
        .expect("endpoint id")
        .to_owned();
    let hooks_any = [401, 403, 200, 200, 200, 200, 200, 200];
    let hooks_owned = [401, 403, 200, 200, 200, 403, 403, 403];
    let hooks: [(&str, String, Option<serde_json::Value>, [u16; 8]); 6] = [
        (
            "POST",
            "/v1/webhooks".into(),
            Some(json!({"url": "http://127.0.0.1:9/matrix"})),
            [401, 403, 201, 201, 201, 201, 201, 201],
        ),
        ("GET", "/v1/webhooks".into(), None, hooks_any),
        (
            "POST",
            format!("/v1/webhooks/{ep}/rotate-secret"),
            None,
            hooks_owned,
        ),
        ("POST", format!("/v1/webhooks/{ep}/test"), None, hooks_owned),
        (
            "GET",
            format!("/v1/webhooks/{ep}/deliveries"),
            None,
            hooks_owned,
        ),
        ("DELETE", format!("/v1/webhooks/{ep}"), None, hooks_owned),
    ];
    for (method, path, body, want) in &hooks {
        for (i, bearer) in bearers.iter().enumerate() {
            let r = s
                .send_as(method, path, bearer.as_deref(), body.clone())
                .await;
            if r.status != want[i] {
                failures.push(format!(
                    "{method} {path} as {}: {} ({})",
                    WHO[i], r.status, r.body
                ));
            } else if r.status == 403 {
                r.problem(
                    403,
                    if i == 1 {
                        "insufficient-scope"
                    } else {
                        "not-owner"
                    },
                );
            } else if r.status == 401 {
                r.problem(401, "authentication-required");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Scoped lists are filtered: the client sees its 2 projects and both batches, ann's
    // session only the TON batch, the others nothing.
    let count = |v: serde_json::Value| v["items"].as_array().map(Vec::len).unwrap_or(99);
    let lists = [
        ("/v1/projects", [2, 2, 2, 2, 0, 0, 0]),
        ("/v1/payouts/batches", [2, 2, 2, 2, 0, 1, 0]),
    ];
    for (path, want) in lists {
        for (i, bearer) in bearers.iter().enumerate().skip(1) {
            let n = count(s.get_as(path, bearer.as_deref()).await.ok());
            assert_eq!(n, want[i - 1], "{path} as {}", WHO[i]);
        }
    }
    // Ann's session sees only ann's item of the TON batch (ben's is not hers).
    let b = s
        .get_as(
            &format!("/v1/payouts/batches/{ton_batch}"),
            bearers[6].as_deref(),
        )
        .await
        .ok();
    let items = b["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{b}");
    assert_eq!(items[0]["payout_address"]["raw"], ann.as_str());

    // The project writes: creation (for the client addr(230)), then the deposit request and
    // the close of a project made by the admin for it. The close applies once (the client
    // key's, the first caller allowed); the later allowed callers find it closing (409).
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 86_400;
    let made = s
        .post_idem(
            "/v1/projects",
            Some(&s.admin_key),
            Some("matrix-setup"),
            Some(
                json!({"currency": "TON", "budget": "1", "deadline": deadline,
                        "title": "matrix", "client": addr(230).as_str()}),
            ),
        )
        .await
        .json(201);
    let made = made["project"]["project_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let project_writes: [(String, &str, [u16; 8]); 3] = [
        (
            "/v1/projects".into(),
            "/v1/projects",
            [401, 403, 201, 201, 201, 403, 403, 403],
        ),
        (
            format!("/v1/projects/{made}/deposits"),
            "/v1/projects/{project_id}/deposits",
            [401, 403, 200, 200, 200, 403, 403, 403],
        ),
        (
            format!("/v1/projects/{made}/close"),
            "/v1/projects/{project_id}/close",
            [401, 403, 202, 409, 409, 403, 403, 403],
        ),
    ];

    // Every route of the document is in this matrix or is a login route.
    let doc = s.get("/openapi.json").await.ok();
    let covered: BTreeSet<&str> = cases
        .iter()
        .map(|c| c.1)
        .chain(streams.iter().map(|c| c.1))
        .collect();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if path.starts_with("/v1/auth/") {
            continue;
        }
        if path.starts_with("/v1/webhooks") {
            let p = path.replace("{endpoint_id}", &ep);
            assert!(
                hooks.iter().any(|h| h.1 == p),
                "{path} is not in the matrix"
            );
            continue;
        }
        if path.starts_with("/v1/admin/api-keys/") {
            assert!(
                writes
                    .iter()
                    .any(|w| path.ends_with("{key_id}") && w.0 == "DELETE"
                        || path.ends_with("/rotate") && w.1.ends_with("/rotate")),
                "{path} is not in the matrix"
            );
            continue;
        }
        // The labeling routes have their own matrix (tests/it/labeling.rs: wallet sessions
        // for tasks, the project's client for task sets and views, 401 without a credential).
        let labeling = path.starts_with("/v1/tasks/")
            || [
                "/task-set",
                "/tasks",
                "/progress",
                "/worker-quality",
                "/labels",
                "/balance",
                "/withdrawals",
                "/payout-threshold",
            ]
            .iter()
            .any(|suffix| path.ends_with(suffix));
        if labeling {
        } else if item["get"].is_null() {
            assert!(
                project_writes.iter().any(|w| w.1 == path.as_str()),
                "{path} is not in the matrix"
            );
        } else {
            assert!(
                covered.contains(path.as_str()),
                "{path} is not in the matrix"
            );
        }
        // Every /v1 route declares the bearer scheme.
        if path.starts_with("/v1/") {
            for m in ["get", "post"] {
                if !item[m].is_null() {
                    assert_eq!(item[m]["security"], json!([{"bearer": []}]), "{m} {path}");
                }
            }
        }
    }
    for (path, _, want) in &project_writes {
        for (i, bearer) in bearers.iter().enumerate() {
            let body = if path.ends_with("/deposits") {
                Some(json!({"amount": "1"}))
            } else if path.ends_with("/close") {
                None
            } else {
                Some(
                    json!({"currency": "TON", "budget": "1", "deadline": deadline,
                            "title": "matrix", "client": addr(230).as_str()}),
                )
            };
            let r = s
                .post_idem(
                    path,
                    bearer.as_deref(),
                    Some(&format!("matrix-{i}-{path}")),
                    body,
                )
                .await;
            assert_eq!(r.status, want[i], "POST {path} as {}: {}", WHO[i], r.body);
            match r.status {
                401 => {
                    r.problem(401, "authentication-required");
                }
                403 => {
                    r.problem(
                        403,
                        if i == 1 {
                            "insufficient-scope"
                        } else {
                            "not-owner"
                        },
                    );
                }
                409 => {
                    r.problem(409, "project-not-active");
                }
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn openapi_has_the_auth_routes_and_the_bearer_scheme() {
    let s = Seeded::new(0).await;
    let doc = s.get_as("/openapi.json", None).await.ok();
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/v1/auth/ton-proof/payload", "post"),
        ("/v1/auth/ton-proof", "post"),
        ("/v1/auth/session", "delete"),
        ("/v1/admin/api-keys", "post"),
        ("/v1/admin/api-keys", "get"),
        ("/v1/admin/api-keys/{key_id}/rotate", "post"),
        ("/v1/admin/api-keys/{key_id}", "delete"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let schemas = &doc["components"]["schemas"];
    for name in [
        "ProofRequest",
        "SessionView",
        "PayloadView",
        "IssuedKey",
        "KeyInfo",
    ] {
        assert!(schemas[name].is_object(), "{name}");
    }
}

/// A browser dApp may send the bearer header cross-origin: the preflight lists it (a `*`
/// would not cover `Authorization`).
#[tokio::test]
async fn cors_preflight_allows_the_bearer_header() {
    use http_body_util::{BodyExt as _, Full};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let s = Seeded::new(0).await;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::builder()
        .method("OPTIONS")
        .uri(format!("{}/v1/auth/ton-proof", s.base))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .body(Full::new(Bytes::new()))
        .expect("request");
    let res = client.request(req).await.expect("preflight");
    let allowed = res
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let methods = res
        .headers()
        .get("access-control-allow-methods")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let _ = res.into_body().collect().await;
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
    assert!(
        methods.contains("POST") && methods.contains("DELETE"),
        "{methods}"
    );
}
