//! The OpenAPI document (issue 14 point 7): every route the server serves is in it, with
//! every method it answers, and it validates against the official OpenAPI 3.1 schema
//! (vendored in tests/data/oas-3.1, no network).

use jsonschema::Registry;
use serde_json::Value;

use crate::raw::raw;
use crate::support::Seeded;

/// The methods a route can have in an OpenAPI path item.
pub(crate) const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "trace"];

/// (path template, method) of every operation in the document.
pub(crate) fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.push((path.clone(), m.to_owned()));
            }
        }
    }
    ops
}

/// A concrete path for a template: each `{param}` replaced by `value`.
pub(crate) fn fill(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        out.push_str(value);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn load(rel: &str) -> Value {
    let path = format!("{}/tests/data/oas-3.1/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("vendored schema");
    serde_json::from_str(&text).expect("schema JSON")
}

#[tokio::test]
async fn the_document_validates_against_the_openapi_3_1_schema() {
    let s = Seeded::new(0).await;
    let doc = s.get(labelmint_api::server::OPENAPI_PATH).await.ok();
    assert_eq!(doc["openapi"], "3.1.0");
    // schema-base = schema (the document's structure) + every Schema Object checked against
    // the OpenAPI 3.1 JSON Schema dialect (its meta-schema and vocabulary).
    let registry = Registry::new()
        .add(
            "https://spec.openapis.org/oas/3.1/schema/2022-10-07",
            load("schema.json"),
        )
        .and_then(|r| {
            r.add(
                "https://spec.openapis.org/oas/3.1/dialect/base",
                load("dialect/base.schema.json"),
            )
        })
        .and_then(|r| {
            r.add(
                "https://spec.openapis.org/oas/3.1/meta/base",
                load("meta/base.schema.json"),
            )
        })
        .and_then(|r| r.prepare())
        .expect("registry");
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&load("schema-base.json"))
        .expect("the OpenAPI 3.1 schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );

    // The check has teeth: a broken document fails it.
    let mut broken = doc.clone();
    broken["paths"]["/v1/projects"]["get"]["responses"] = Value::String("none".into());
    assert!(!validator.is_valid(&broken));
    let mut broken = doc;
    broken["info"] = Value::Null;
    assert!(!validator.is_valid(&broken));
}

#[tokio::test]
async fn every_route_served_is_in_the_document_with_every_method() {
    let s = Seeded::new(0).await;
    let doc = s.get(labelmint_api::server::OPENAPI_PATH).await.ok();
    let ops = operations(&doc);
    assert!(ops.len() >= 20, "{ops:?}");
    let auth = format!("Bearer {}", s.admin_key);
    let problem_type = |body: &[u8]| -> String {
        serde_json::from_slice::<Value>(body).map_or_else(
            |_| String::new(),
            |v| v["type"].as_str().unwrap_or("").to_owned(),
        )
    };
    let paths = doc["paths"].as_object().expect("paths");
    for (template, item) in paths {
        let url = format!("{}{}", s.base, fill(template, "1"));
        for m in METHODS {
            let r = raw(
                &m.to_uppercase(),
                &url,
                &[("authorization", auth.as_bytes())],
                Vec::new(),
            )
            .await
            .expect("answer");
            let t = problem_type(&r.body);
            if item.get(m).is_some() {
                // The document's method is served: a handler answered, not a fallback.
                assert!(
                    !t.ends_with("/unknown-route") && !t.ends_with("/method-not-allowed"),
                    "{m} {template} is in the document but not served: {} {t}",
                    r.status
                );
            } else if m == "head" && item.get("get").is_some() {
                // HEAD is GET without a body (HTTP); not an operation of its own.
                assert_ne!(r.status, 405, "HEAD {template}");
            } else if m == "head" {
                // No body in a HEAD answer: the status and the media type tell.
                assert_eq!(
                    r.status, 405,
                    "HEAD {template} is served but not in the document"
                );
                assert_eq!(r.header("content-type"), Some("application/problem+json"));
            } else {
                // Every method the server answers on this path is in the document.
                assert_eq!(
                    (r.status, t.as_str()),
                    (405, "https://labelmint.dev/problems/method-not-allowed"),
                    "{m} {template} is served but not in the document"
                );
            }
        }
    }
    // Paths outside the document are the fallback's, except the document and its UI.
    for extra in [
        labelmint_api::server::OPENAPI_PATH,
        labelmint_api::server::DOCS_PATH,
    ] {
        assert!(!paths.contains_key(extra));
        let r = raw("GET", &format!("{}{extra}/", s.base), &[], Vec::new()).await;
        assert!(r.is_ok(), "{extra}");
    }

    // No route bypasses the document: the routers register handlers only through
    // `utoipa_axum::routes!` (which writes the document's entry from the handler), and the
    // app adds only the document and Swagger UI. A plain axum `.route(` would not be listed.
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut files = vec![format!("{src}/server.rs")];
    let mut dirs = vec![std::path::PathBuf::from(format!("{src}/routes"))];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).expect("routes dir") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path.display().to_string());
            }
        }
    }
    assert!(files.len() > 10, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        for needle in [".route(", ".route_service(", ".nest(", ".nest_service("] {
            assert!(
                !text.contains(needle),
                "{f} registers a route with `{needle}`, outside the OpenAPI document"
            );
        }
    }
}
