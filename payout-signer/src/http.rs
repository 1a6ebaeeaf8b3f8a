//! The HTTP API (axum): typed requests only, bearer-token auth compared in constant time, and
//! one function mapping errors to `{ "error", "rule"?, "message" }` answers.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /v1/escrow/release` | [`ReleaseBody`] | [`Signed`](crate::wire::Signed) |
//! | `POST /v1/escrow/close` | [`CloseBody`] | [`Signed`](crate::wire::Signed) |
//! | `POST /v1/vault/batch` | [`BatchBody`] | [`Signed`](crate::wire::Signed) |
//! | `GET /v1/pubkey` | | [`PubkeyBody`] |
//! | `GET /health` | | `{"status":"ok"}` (no auth; 503 when the lock is lost or the committer stopped) |
//!
//! The token is checked by a middleware before any handler runs, so an unauthenticated request
//! is answered 401 without its body being read. Each signing route reads its body itself, up
//! to its cap ([`HttpLimits`]; 413 `application/problem+json` naming the cap, at once when
//! `Content-Length` says so) and within the body timeout (408). Header and idle timeouts are
//! the connection's (`service.rs`).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::audit::Record;
use crate::config::{HttpLimits, Token};
use crate::error::Error;
use crate::signer::{Request, Signer};
use crate::store::now;
use crate::wire::{BatchBody, CloseBody, ErrorBody, PubkeyBody, ReleaseBody};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The signer.
    pub signer: Arc<Signer>,
    /// The expected bearer token.
    pub token: Arc<Token>,
    /// Body caps and the body timeout.
    pub http: HttpLimits,
    /// The network global id bound into release, close and batch requests.
    pub global_id: i32,
}

/// The router.
pub fn router(state: AppState) -> Router {
    // Every route but /health needs the token, checked before the handler (and its body).
    let authed = Router::new()
        .route("/v1/escrow/release", post(release))
        .route("/v1/escrow/close", post(close))
        .route("/v1/vault/batch", post(batch))
        .route("/v1/pubkey", get(pubkey))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .merge(authed)
        .route("/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// The token check: a request without the right bearer token is answered 401 here, before
/// its handler runs, so its body is never read.
async fn require_token(State(s): State<AppState>, req: HttpRequest, next: Next) -> Response {
    if !authorized(req.headers(), &s.token) {
        tracing::warn!(path = %req.uri().path(), "unauthorized request");
        return unauthorized();
    }
    next.run(req).await
}

/// A `application/problem+json` answer (RFC 9457) that also carries the `error` / `message`
/// fields of every other error body.
fn problem(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: String,
    extra: serde_json::Value,
) -> Response {
    let mut body = serde_json::json!({
        "type": format!("urn:labelmint:signer:problem:{code}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "error": code,
        "message": detail,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

fn too_large(limit: usize, declared: Option<u64>) -> Response {
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "Request body too large",
        match declared {
            Some(n) => format!("the body is {n} bytes; this route takes at most {limit} bytes"),
            None => format!("the body is above this route's cap of {limit} bytes"),
        },
        serde_json::json!({ "limit": limit }),
    )
}

/// Reads a body of at most `limit` bytes within the body timeout; refuses a larger declared
/// `Content-Length` without reading anything.
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    http: &HttpLimits,
) -> Result<Bytes, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit, declared));
    }
    match tokio::time::timeout(http.body_timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let inner = e.into_inner();
            if inner
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(too_large(limit, None))
            } else {
                Err(error_response(&Error::bad(
                    "bad_body",
                    format!("the request body could not be read: {inner}"),
                )))
            }
        }
        Err(_) => Err(problem(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "Request body too slow",
            format!(
                "the body did not arrive within {} s",
                http.body_timeout.as_secs_f64()
            ),
            serde_json::json!({}),
        )),
    }
}

/// Maps an error to its HTTP answer. Internal errors are logged and answered generically.
pub fn error_response(e: &Error) -> Response {
    let (status, body) = match e {
        Error::BadRequest { code, message } => (
            StatusCode::BAD_REQUEST,
            ErrorBody {
                error: (*code).into(),
                rule: None,
                message: message.clone(),
            },
        ),
        Error::Refused { rule, message } => (
            StatusCode::from_u16(rule.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            ErrorBody {
                error: "refused".into(),
                rule: Some(rule.as_str().into()),
                message: message.clone(),
            },
        ),
        other => {
            tracing::error!(error = %other, "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorBody {
                    error: "internal".into(),
                    rule: None,
                    message: "internal error; see the signer's log".into(),
                },
            )
        }
    };
    (status, Json(body)).into_response()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(ErrorBody {
            error: "unauthorized".into(),
            rule: None,
            message: "missing or wrong bearer token (Authorization: Bearer <token>)".into(),
        }),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap, token: &Token) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return false;
    };
    let Some(given) = value.as_bytes().strip_prefix(b"Bearer ") else {
        return false;
    };
    let expected = token.expose().as_bytes();
    // Constant time in the content; the length of the expected token is not secret.
    given.len() == expected.len() && bool::from(given.ct_eq(expected))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| {
        let msg = e.to_string();
        let code = if msg.contains("unknown field") {
            "unknown_field"
        } else if msg.contains("missing field") {
            "missing_field"
        } else {
            "bad_json"
        };
        Error::bad(code, msg)
    })
}

async fn handle<T: DeserializeOwned>(
    state: &AppState,
    req: HttpRequest,
    limit: usize,
    kind: &str,
    validate: impl FnOnce(T) -> Result<Request, Error>,
) -> Response {
    // The token was checked by `require_token`; only now is the body read.
    let (parts, body) = req.into_parts();
    let body = match read_body(&parts.headers, body, limit, &state.http).await {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let request = match parse::<T>(&body).and_then(validate) {
        Ok(r) => r,
        Err(e) => {
            let mut rec = Record::new(now(), kind, "bad_request");
            if let Error::BadRequest { code, message } = &e {
                rec.rule = Some((*code).into());
                rec.detail = Some(message.chars().take(200).collect());
            }
            if let Err(a) = state.signer.audit(&rec).await {
                tracing::error!(error = %a, "cannot append a bad request to the audit log");
            }
            return error_response(&e);
        }
    };
    match state.signer.sign(request).await {
        Ok(signed) => (StatusCode::OK, Json(signed)).into_response(),
        Err(e) => error_response(&e),
    }
}

async fn release(State(s): State<AppState>, req: HttpRequest) -> Response {
    let limit = s.http.max_escrow_body;
    let global_id = s.global_id;
    handle(&s, req, limit, "escrow_release", |b: ReleaseBody| {
        b.validate(global_id).map(Request::Release)
    })
    .await
}

async fn close(State(s): State<AppState>, req: HttpRequest) -> Response {
    let limit = s.http.max_escrow_body;
    let global_id = s.global_id;
    handle(&s, req, limit, "escrow_close", |b: CloseBody| {
        b.validate(global_id).map(Request::Close)
    })
    .await
}

async fn batch(State(s): State<AppState>, req: HttpRequest) -> Response {
    let limit = s.http.max_batch_body;
    let global_id = s.global_id;
    handle(&s, req, limit, "vault_batch", |b: BatchBody| {
        b.validate(global_id).map(Request::Batch)
    })
    .await
}

async fn pubkey(State(s): State<AppState>) -> Response {
    Json(PubkeyBody {
        public_key: hex::encode(s.signer.public_key()),
        backend: s.signer.backend_kind().into(),
    })
    .into_response()
}

async fn health(State(s): State<AppState>) -> Response {
    let status = if !s.signer.lock_held() {
        "lock_lost"
    } else if !s.signer.committer_running() {
        "committer_stopped"
    } else {
        return (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))).into_response();
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(serde_json::json!({ "status": status })),
    )
        .into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(ErrorBody {
            error: "not_found".into(),
            rule: None,
            message: "no such endpoint; the signer only has /v1/escrow/release, /v1/escrow/close, /v1/vault/batch, /v1/pubkey and /health".into(),
        }),
    )
        .into_response()
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(ErrorBody {
            error: "method_not_allowed".into(),
            rule: None,
            message: "signing endpoints take POST; /v1/pubkey and /health take GET".into(),
        }),
    )
        .into_response()
}
