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

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::audit::Record;
use crate::config::Token;
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
    /// The network global id bound into release and close requests.
    pub global_id: i32,
}

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/escrow/release", post(release))
        .route("/v1/escrow/close", post(close))
        .route("/v1/vault/batch", post(batch))
        .route("/v1/pubkey", get(pubkey))
        .route("/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
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
    headers: &HeaderMap,
    body: &[u8],
    kind: &str,
    validate: impl FnOnce(T) -> Result<Request, Error>,
) -> Response {
    if !authorized(headers, &state.token) {
        tracing::warn!(kind, "unauthorized request");
        return unauthorized();
    }
    let request = match parse::<T>(body).and_then(validate) {
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

async fn release(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    handle(&s, &headers, &body, "escrow_release", |b: ReleaseBody| {
        b.validate(s.global_id).map(Request::Release)
    })
    .await
}

async fn close(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    handle(&s, &headers, &body, "escrow_close", |b: CloseBody| {
        b.validate(s.global_id).map(Request::Close)
    })
    .await
}

async fn batch(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    handle(&s, &headers, &body, "vault_batch", |b: BatchBody| {
        b.validate().map(Request::Batch)
    })
    .await
}

async fn pubkey(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if !authorized(&headers, &s.token) {
        return unauthorized();
    }
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
