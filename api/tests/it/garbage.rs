//! Bad input of every kind at every route of the OpenAPI document (issue 14 point 6): each
//! answer is a 4xx application/problem+json with a `type`, never a 5xx, never a dropped
//! connection. The cases come from the document itself: its paths, methods, path and query
//! parameters, request bodies and security.

use serde_json::Value;

use crate::openapi::{METHODS, fill};
use crate::raw::{RawResp, raw};
use crate::support::Seeded;

/// Values no path or query parameter of this API takes.
const BAD_VALUES: [&str; 16] = [
    "-1",
    "0",
    "18446744073709551616",
    "99999999999999999999999999999999999999999",
    "1e309",
    "NaN",
    "abc",
    "%00",
    "%FF%FE",
    "..%2F..%2Fetc%2Fpasswd",
    "'%3B%20DROP%20TABLE%20transactions%3B--",
    "0:zz",
    "0:000000000000000000000000000000000000000000000000000000000000000",
    "%F0%9F%98%80",
    "!!!not-base64!!!",
    "AAAA====",
];

/// Authorization headers that are not a live credential.
const BAD_AUTH: [&[u8]; 9] = [
    b"Bearer",
    b"Bearer ",
    b"Basic dXNlcjpwYXNz",
    b"Bearer lmk_",
    b"Bearer lmk_0000000000000000_AAAA",
    b"Bearer lms_\xff\xfe",
    b"Bearer lmk_zzzz_!!!!",
    b"bearer lms_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    b"\xc3\xa9\xc3\xa9",
];

/// Request headers, owned.
type Headers = Vec<(&'static str, Vec<u8>)>;

struct Case {
    method: String,
    url: String,
    headers: Headers,
    body: Vec<u8>,
    /// Whether the route reads what was broken (so the answer must be 4xx); otherwise the
    /// route may ignore it and answer 2xx, but never 5xx.
    must_refuse: bool,
    what: String,
}

fn check(case: &Case, r: Result<RawResp, String>, failures: &mut Vec<String>) {
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            failures.push(format!("{}: connection failed: {e}", case.what));
            return;
        }
    };
    if r.status >= 500 {
        failures.push(format!(
            "{}: {} {}",
            case.what,
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
        return;
    }
    if r.status < 400 {
        if case.must_refuse {
            failures.push(format!("{}: {} (expected a 4xx)", case.what, r.status));
        }
        return;
    }
    let ok_type = r.header("content-type") == Some("application/problem+json");
    let p = r.json();
    let t = p["type"].as_str().unwrap_or("");
    if !ok_type || !t.starts_with("https://labelmint.dev/problems/") || p["status"] != r.status {
        failures.push(format!(
            "{}: {} {:?} {}",
            case.what,
            r.status,
            r.header("content-type"),
            String::from_utf8_lossy(&r.body)
        ));
    }
}

fn cases(base: &str, doc: &Value, auth: &str) -> Vec<Case> {
    let mut out = Vec::new();
    let good_auth = || vec![("authorization", auth.as_bytes().to_vec())];
    for (template, item) in doc["paths"].as_object().expect("paths") {
        let has_path_params = template.contains('{');
        for m in METHODS {
            let Some(op) = item.get(m) else {
                // A method the route does not have: 405 (HEAD of a GET route is a GET).
                if m != "head" && m != "trace" {
                    out.push(Case {
                        method: m.to_uppercase(),
                        url: format!("{base}{}", fill(template, "1")),
                        headers: good_auth(),
                        body: b"{}".to_vec(),
                        must_refuse: true,
                        what: format!("wrong method {m} {template}"),
                    });
                }
                continue;
            };
            let method = m.to_uppercase();
            let secured = op.get("security").is_some_and(|s| {
                s.as_array().is_some_and(|a| {
                    a.iter()
                        .any(|r| r.as_object().is_some_and(|o| !o.is_empty()))
                })
            });
            let params: Vec<&Value> = op["parameters"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let query: Vec<&str> = params
                .iter()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str())
                .collect();
            let has_body = op.get("requestBody").is_some();
            let good_path = fill(template, "1");
            // Path parameters: every bad value (the route must refuse them all: none is an id,
            // a hash or an address of ours), plus one of 4,000 characters.
            if has_path_params {
                for v in BAD_VALUES
                    .iter()
                    .map(|v| (*v).to_owned())
                    .chain(["9".repeat(4000)])
                {
                    out.push(Case {
                        method: method.clone(),
                        url: format!("{base}{}", fill(template, &v)),
                        headers: good_auth(),
                        body: Vec::new(),
                        must_refuse: true,
                        what: format!("{method} {template} with path {:.40}", v),
                    });
                }
            }
            // Query parameters: bad values, each alone; an unknown one; a repeated one.
            for q in &query {
                for v in BAD_VALUES
                    .iter()
                    .map(|v| (*v).to_owned())
                    .chain(["9".repeat(4000)])
                {
                    // A free-text filter (the ledger's worker id) may legitimately match
                    // nothing: 2xx is allowed there, 5xx is not.
                    let free_text = *q == "worker";
                    out.push(Case {
                        method: method.clone(),
                        url: format!("{base}{good_path}?{q}={v}"),
                        headers: good_auth(),
                        body: Vec::new(),
                        must_refuse: !free_text,
                        what: format!("{method} {template}?{q}={:.40}", v),
                    });
                }
                out.push(Case {
                    method: method.clone(),
                    url: format!("{base}{good_path}?{q}=1&{q}=2"),
                    headers: good_auth(),
                    body: Vec::new(),
                    must_refuse: false,
                    what: format!("{method} {template}?{q} twice"),
                });
            }
            out.push(Case {
                method: method.clone(),
                url: format!("{base}{good_path}?no_such_parameter=1"),
                headers: good_auth(),
                body: Vec::new(),
                // Routes with a query struct refuse unknown parameters; others ignore queries.
                must_refuse: !query.is_empty(),
                what: format!("{method} {template}?no_such_parameter"),
            });
            // Authorization: every malformed or dead credential.
            for a in BAD_AUTH {
                out.push(Case {
                    method: method.clone(),
                    url: format!("{base}{good_path}"),
                    headers: vec![("authorization", a.to_vec())],
                    body: Vec::new(),
                    must_refuse: secured,
                    what: format!(
                        "{method} {template} with Authorization {:?}",
                        String::from_utf8_lossy(a)
                    ),
                });
            }
            // Bodies: broken JSON, wrong shapes, wrong or no Content-Type, too large, too deep.
            let json = |b: &[u8]| b.to_vec();
            let mut bodies: Vec<(Headers, Vec<u8>, &str)> = vec![
                (
                    vec![("content-type", json(b"application/json"))],
                    json(b"{"),
                    "truncated JSON",
                ),
                (
                    vec![("content-type", json(b"application/json"))],
                    json(b"null"),
                    "null",
                ),
                (
                    vec![("content-type", json(b"application/json"))],
                    json(b"[]"),
                    "an array",
                ),
                (
                    vec![("content-type", json(b"application/json"))],
                    json(b"\"x\""),
                    "a string",
                ),
                (
                    vec![("content-type", json(b"application/json"))],
                    json(b"{\"scope\": 12, \"proof\": []}"),
                    "wrong types",
                ),
                (
                    vec![("content-type", json(b"application/json"))],
                    json(b"\xff\xfe{}"),
                    "not UTF-8",
                ),
                (
                    vec![("content-type", json(b"text/plain"))],
                    json(b"{}"),
                    "text/plain",
                ),
                (vec![], json(b"{}"), "no Content-Type"),
                (
                    vec![("content-type", json(b"application/json; charset=utf-16"))],
                    json(b"{}"),
                    "another charset",
                ),
                (
                    vec![("content-type", json(b"application/json"))],
                    vec![b'['; 60_000],
                    "60,000 nested arrays",
                ),
                (
                    vec![("content-type", json(b"application/json"))],
                    {
                        let mut b = b"{\"label\": \"".to_vec();
                        b.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
                        b.extend(b"\"}");
                        b
                    },
                    "2 MiB",
                ),
            ];
            if m == "get" || m == "delete" {
                bodies.truncate(1);
            }
            for (headers, body, what) in bodies {
                let mut h = good_auth();
                h.extend(headers);
                out.push(Case {
                    method: method.clone(),
                    url: format!("{base}{good_path}"),
                    headers: h,
                    body,
                    must_refuse: has_body,
                    what: format!("{method} {template} with a body: {what}"),
                });
            }
        }
    }
    out
}

#[tokio::test]
async fn garbage_at_every_route_is_a_4xx_problem_never_a_5xx() {
    let mut s = Seeded::new(0).await;
    // The labeling routes too (a server without labeling answers them 503).
    s.respawn(|c| {
        c.labeling = true;
        c.writes = Some(crate::support::test_writes());
    })
    .await;
    let doc = s.get(labelmint_api::server::OPENAPI_PATH).await.ok();
    let cases = cases(&s.base, &doc, &format!("Bearer {}", s.admin_key));
    assert!(cases.len() > 500, "{} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let headers: Vec<(&str, &[u8])> =
            c.headers.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        let r = raw(&c.method, &c.url, &headers, c.body.clone()).await;
        check(c, r, &mut failures);
    }
    // Not in the document, still the server's: unknown paths, and odd ones.
    for path in [
        "/nope",
        "/v1",
        "/v1/",
        "/v1/projects/1/2/3",
        "//v1//projects",
        "/%00",
        "/v1/projects/%2e%2e",
    ] {
        let c = Case {
            method: "GET".into(),
            url: format!("{}{path}", s.base),
            headers: Vec::new(),
            body: Vec::new(),
            must_refuse: true,
            what: format!("GET {path}"),
        };
        let r = raw("GET", &c.url, &[], Vec::new()).await;
        check(&c, r, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // The server is still fine afterwards.
    assert_eq!(s.get("/v1/projects").await.status, 200);
}
