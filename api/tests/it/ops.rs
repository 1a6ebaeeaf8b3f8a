//! The server's frame: problems for every bad input, OpenAPI, Swagger UI, health, readiness,
//! metrics, request ids, and the read-only role.

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::support::{Seeded, addr, send};

#[tokio::test]
async fn bad_input_is_a_problem_naming_the_parameter() {
    let s = Seeded::new(0).await;
    let other_list_cursor = {
        let p = s.get("/v1/payouts/batches?limit=1").await.ok();
        p["next_cursor"].as_str().expect("cursor").to_owned()
    };
    let cases: Vec<(String, u16, &str, Option<&str>)> = vec![
        (
            "/v1/projects/abc".into(),
            400,
            "invalid-parameter",
            Some("project_id"),
        ),
        (
            "/v1/projects/-1".into(),
            400,
            "invalid-parameter",
            Some("project_id"),
        ),
        (
            "/v1/projects/18446744073709551616".into(),
            400,
            "invalid-parameter",
            Some("project_id"),
        ),
        ("/v1/projects/999".into(), 404, "not-found", None),
        ("/v1/projects/999/events".into(), 404, "not-found", None),
        (
            "/v1/projects?limit=0".into(),
            400,
            "invalid-parameter",
            Some("limit"),
        ),
        (
            "/v1/projects?limit=201".into(),
            400,
            "invalid-parameter",
            Some("limit"),
        ),
        (
            "/v1/projects?limit=ten".into(),
            400,
            "invalid-parameter",
            Some("limit"),
        ),
        (
            "/v1/projects?cursor=%21%21".into(),
            400,
            "invalid-parameter",
            Some("cursor"),
        ),
        (
            format!("/v1/projects?cursor={other_list_cursor}"),
            400,
            "invalid-parameter",
            Some("cursor"),
        ),
        (
            "/v1/projects/101/events?cursor=ZTox".into(),
            400,
            "invalid-parameter",
            Some("cursor"),
        ),
        (
            "/v1/projects?colour=red".into(),
            400,
            "invalid-parameter",
            Some("query"),
        ),
        (
            "/v1/vaults/garbage".into(),
            400,
            "invalid-parameter",
            Some("address"),
        ),
        (
            format!("/v1/vaults/{}", addr(9).as_str()),
            404,
            "not-found",
            None,
        ),
        (
            "/v1/payouts/batches/0".into(),
            400,
            "invalid-parameter",
            Some("id"),
        ),
        (
            "/v1/payouts/batches/x".into(),
            400,
            "invalid-parameter",
            Some("id"),
        ),
        ("/v1/payouts/batches/424242".into(), 404, "not-found", None),
        (
            "/v1/payouts/batches?state=lost".into(),
            400,
            "invalid-parameter",
            Some("state"),
        ),
        (
            "/v1/payouts/batches?currency=usd".into(),
            400,
            "invalid-parameter",
            Some("currency"),
        ),
        (
            "/v1/workers/0:zz/earnings".into(),
            400,
            "invalid-parameter",
            Some("address"),
        ),
        (
            "/v1/workers/EQnope/payouts".into(),
            400,
            "invalid-parameter",
            Some("address"),
        ),
        (
            "/v1/transactions/zz".into(),
            400,
            "invalid-parameter",
            Some("hash"),
        ),
        (
            format!("/v1/transactions/{}", "ab".repeat(32)),
            404,
            "not-found",
            None,
        ),
        ("/v1/nope".into(), 404, "unknown-route", None),
    ];
    for (path, status, slug, parameter) in cases {
        let r = s.get(&path).await;
        let p = r.problem(status, slug);
        assert_eq!(
            p["instance"],
            path.split('?').next().expect("path"),
            "{path}"
        );
        if let Some(name) = parameter {
            assert_eq!(p["parameter"], name, "{path}: {p}");
        }
    }
    // A known route with another method.
    let (status, id) = send("PUT", &format!("{}/v1/projects", s.base), "req-405").await;
    assert_eq!(status, 405);
    assert_eq!(id.as_deref(), Some("req-405"));
}

#[tokio::test]
async fn openapi_lists_every_route_and_docs_are_served() {
    let s = Seeded::new(0).await;
    let doc = s.get("/openapi.json").await.ok();
    assert!(
        doc["openapi"].as_str().expect("version").starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/health",
        "/ready",
        "/metrics",
        "/v1/projects",
        "/v1/projects/{project_id}",
        "/v1/projects/{project_id}/events",
        "/v1/vaults",
        "/v1/vaults/{address}",
        "/v1/payouts/batches",
        "/v1/payouts/batches/{id}",
        "/v1/workers/{address}/earnings",
        "/v1/workers/{address}/payouts",
        "/v1/transactions/{hash}",
        "/v1/transactions/by-boc",
        "/v1/indexer/status",
    ] {
        assert!(paths[p]["get"].is_object(), "{p} missing from the document");
    }
    // The writes (tests/it/writes.rs), each documented with its Idempotency-Key header.
    for p in [
        "/v1/projects",
        "/v1/projects/{project_id}/deposits",
        "/v1/projects/{project_id}/close",
    ] {
        let post = &paths[p]["post"];
        assert!(post.is_object(), "POST {p} missing from the document");
        let params = post["parameters"].as_array().expect("parameters");
        assert!(
            params
                .iter()
                .any(|x| x["name"] == "Idempotency-Key" && x["in"] == "header"),
            "{p}: {post}"
        );
    }
    for schema in [
        "ProjectCreated",
        "SendTransaction",
        "TonConnectMessage",
        "CreateProjectRequest",
        "DepositRequest",
        "CloseRequested",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    // 15 reads and ops, 3 auth routes, 3 API key routes (tests/it/auth.rs checks those), 2
    // write-only paths, 2 event streams, 5 webhook paths, 13 labeling paths
    // (tests/it/labeling.rs).
    assert_eq!(paths.len(), 43, "{:?}", paths.keys().collect::<Vec<_>>());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["schemas"]["ProjectView"].is_object());

    let docs = s.get("/docs/").await;
    assert_eq!(docs.status, 200, "{}", docs.body);
    assert!(docs.content_type.starts_with("text/html"), "{docs:?}");
    assert!(docs.body.contains("swagger-ui"), "{}", docs.body);
    let js = s.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(js.status, 200);
    assert!(js.body.len() > 100_000, "the vendored bundle is served");
    let init = s.get("/docs/swagger-initializer.js").await;
    assert!(init.body.contains("/openapi.json"), "{}", init.body);
}

#[tokio::test]
async fn health_ready_metrics_and_request_ids() {
    let mut s = Seeded::new(0).await;
    let h = s.get("/health").await.ok();
    assert_eq!(h["status"], "ok");
    let r = s.get("/ready").await.ok();
    assert_eq!(r["status"], "ok");
    // A generated request id (UUID) on every answer, an incoming one echoed.
    let r = s.get("/v1/projects").await;
    assert_eq!(r.request_id.as_deref().map(str::len), Some(36), "{r:?}");
    let (status, id) = send("GET", &format!("{}/health", s.base), "abc-123").await;
    assert_eq!((status, id.as_deref()), (200, Some("abc-123")));
    let m = s.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(m.content_type.starts_with("text/plain"), "{m:?}");
    assert!(
        m.body.contains(
            "labelmint_api_requests_total{route=\"/v1/projects\",method=\"GET\",status=\"200\"} 1"
        ),
        "{}",
        m.body
    );
    assert!(
        m.body
            .contains("labelmint_api_request_duration_seconds_bucket")
    );

    // The indexer too far behind: 503 not-ready.
    s.server
        .take()
        .expect("server")
        .shutdown()
        .await
        .expect("shutdown");
    let url = s.db.as_ref().expect("db").url.clone();
    let mut cfg = labelmint_api::Config::test(&url);
    cfg.max_indexer_lag = std::time::Duration::from_secs(60);
    let lagging = labelmint_api::spawn(cfg).await.expect("spawn");
    let r = crate::support::get(&format!("http://{}/ready", lagging.addr())).await;
    let p = r.problem(503, "not-ready");
    assert!(
        p["detail"].as_str().expect("detail").contains("indexer"),
        "{p}"
    );
    lagging.shutdown().await.expect("shutdown");

    // The database gone: /ready 503, /health still 200, reads 503 (never a hang or a 500).
    let server = labelmint_api::spawn(labelmint_api::Config::test(&url))
        .await
        .expect("spawn");
    let base = format!("http://{}", server.addr());
    crate::support::get(&format!("{base}/ready")).await.ok();
    drop(s.db.take());
    let r = crate::support::get(&format!("{base}/ready")).await;
    let p = r.problem(503, "not-ready");
    assert!(
        p["detail"].as_str().expect("detail").contains("database"),
        "{p}"
    );
    assert!(
        !r.body.contains("labelmint_api_"),
        "no database name or URL: {}",
        r.body
    );
    crate::support::get(&format!("{base}/health")).await.ok();
    // Anonymous: 401 without touching the database; with a key: the lookup fails, 5xx.
    let r = crate::support::get(&format!("{base}/v1/projects")).await;
    r.problem(401, "authentication-required");
    let r = crate::support::request(
        "GET",
        &format!("{base}/v1/projects"),
        Some(&s.admin_key),
        None,
    )
    .await;
    assert_eq!(r.status / 100, 5, "{r:?}");
    assert_eq!(r.content_type, "application/problem+json");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn the_read_role_refuses_writes() {
    let s = Seeded::new(0).await;
    let url = s.db.as_ref().expect("db").url.clone();
    let opts: PgConnectOptions = url.parse().expect("url");
    let mut conn =
        PgConnection::connect_with(&opts.clone().options([("role", "labelmint_api_read")]))
            .await
            .expect("connect as the read role");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_projects")
        .fetch_one(&mut conn)
        .await
        .expect("it reads");
    assert_eq!(n, 2);
    for sql in [
        "INSERT INTO ledger_currencies (code, decimals) VALUES ('XYZ', 2)",
        "UPDATE ledger_projects SET state = 'closing'",
        "DELETE FROM events",
        "INSERT INTO checkpoint (id, mc_seqno) VALUES (TRUE, 9) ON CONFLICT (id) DO UPDATE SET mc_seqno = 9",
    ] {
        let e = sqlx::query(sql)
            .execute(&mut conn)
            .await
            .expect_err("a write through the read role");
        let code = e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("42501"), "{sql}: {e}");
    }
    // Nor does it read what it was not granted (the signer's and journal tables).
    let e = sqlx::query("SELECT count(*) FROM ledger_journal_lines")
        .execute(&mut conn)
        .await
        .expect_err("not granted");
    assert!(e.to_string().contains("permission denied"), "{e}");
    // Nor the auth tables (key hashes, sessions).
    for sql in [
        "SELECT count(*) FROM api_keys",
        "SELECT count(*) FROM api_sessions",
    ] {
        let e = sqlx::query(sql)
            .execute(&mut conn)
            .await
            .expect_err("not granted");
        assert!(e.to_string().contains("permission denied"), "{sql}: {e}");
    }
    // The auth role writes its tables and reads nothing else.
    let mut auth = PgConnection::connect_with(&opts.options([("role", "labelmint_api_auth")]))
        .await
        .expect("connect as the auth role");
    sqlx::query("DELETE FROM api_sessions WHERE false")
        .execute(&mut auth)
        .await
        .expect("its own table");
    let e = sqlx::query("SELECT count(*) FROM ledger_projects")
        .execute(&mut auth)
        .await
        .expect_err("not granted");
    assert!(e.to_string().contains("permission denied"), "{e}");
}

/// `/metrics` answers loopback peers only, unless `metrics_public`.
#[tokio::test]
async fn metrics_are_local_only_by_default() {
    let mut s = Seeded::new(0).await;
    s.get_as("/metrics", None).await;
    // This host's address on a non-loopback interface (no packet is sent: UDP connect only
    // picks the route).
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp");
    let ip = match probe
        .connect("10.255.255.255:9")
        .and_then(|()| probe.local_addr())
    {
        Ok(a) if !a.ip().is_loopback() && !a.ip().is_unspecified() => a.ip(),
        _ => {
            eprintln!("no non-loopback interface: only the loopback half is checked");
            return;
        }
    };
    s.server
        .take()
        .expect("server")
        .shutdown()
        .await
        .expect("shutdown");
    let url = s.db.as_ref().expect("db").url.clone();
    for public in [false, true] {
        let mut cfg = labelmint_api::Config::test(&url);
        cfg.listen = std::net::SocketAddr::new("0.0.0.0".parse().expect("any"), 0);
        cfg.metrics_public = public;
        let server = labelmint_api::spawn(cfg).await.expect("spawn");
        let port = server.addr().port();
        let local = crate::support::get(&format!("http://127.0.0.1:{port}/metrics")).await;
        assert_eq!(local.status, 200, "{local:?}");
        let remote = crate::support::get(&format!("http://{ip}:{port}/metrics")).await;
        if public {
            assert_eq!(remote.status, 200, "{remote:?}");
        } else {
            remote.problem(403, "insufficient-scope");
        }
        // /health is open to everyone either way.
        let h = crate::support::get(&format!("http://{ip}:{port}/health")).await;
        assert_eq!(h.status, 200);
        server.shutdown().await.expect("shutdown");
    }
}
