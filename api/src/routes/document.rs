//! The last touches on the generated OpenAPI document, applied to every operation at once so
//! no route can forget them: a description on every response (OpenAPI 3.1 requires one;
//! utoipa leaves it empty when an annotation gives none), the 429 every rate-limited route can
//! answer (with `Retry-After`), and the 413 / 415 of every route that takes a body.

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

use crate::problem::PROBLEM_JSON;

/// The description of a status an annotation left without one.
fn describe(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "Done; no content",
        "400" => "A parameter or the body is malformed or out of range (problem+json naming it)",
        "401" => "No credential, or not a live API key or session token (problem+json)",
        "403" => "The credential's scope or wallet does not reach this (problem+json)",
        "404" => "No such resource (problem+json)",
        "409" => "Conflicts with the current state (problem+json)",
        "413" => "The body is larger than the server takes (problem+json)",
        "415" => "The body is not application/json (problem+json)",
        "429" => "Too many requests: retry after `Retry-After` seconds (problem+json)",
        "503" => "A dependency (database, liteserver, indexer) is not available (problem+json)",
        _ => "See the problem document",
    }
}

fn problem(status: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(describe(status))
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .into()
}

fn rate_limited() -> RefOr<utoipa::openapi::Response> {
    let int = || {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
    };
    ResponseBuilder::new()
        .description(describe("429"))
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(int()))
                .description(Some("Seconds until the bucket has a token again"))
                .build(),
        )
        .header(
            "RateLimit-Limit",
            HeaderBuilder::new()
                .schema(Some(int()))
                .description(Some("The bucket's size (burst)"))
                .build(),
        )
        .header(
            "RateLimit-Remaining",
            HeaderBuilder::new()
                .schema(Some(int()))
                .description(Some("Tokens left: 0"))
                .build(),
        )
        .into()
}

/// Routes the rate limiter never counts (probes).
const UNLIMITED: [&str; 2] = ["/health", "/ready"];

fn finish_operation(path: &str, op: &mut Operation) {
    let responses = &mut op.responses.responses;
    for (status, r) in responses.iter_mut() {
        if let RefOr::T(r) = r
            && r.description.is_empty()
        {
            r.description = describe(status).to_owned();
        }
    }
    if !UNLIMITED.contains(&path) {
        responses
            .entry("429".to_owned())
            .or_insert_with(rate_limited);
    }
    if op.request_body.is_some() {
        for status in ["400", "413", "415"] {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| problem(status));
        }
    }
}

/// Applies the touches to every operation of `doc`.
pub fn finish(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            finish_operation(path, op);
        }
    }
}
